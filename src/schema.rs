//! The shape of every resource kind: fields, types, defaults and which changes force replacement.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;

use crate::diagnostic::Diagnostic;
use crate::model::{Resource, Value};

#[derive(Debug, Clone, Copy)]
pub enum Ty {
    Str,
    Int,
    Bool,
    Enum(&'static [&'static str]),
    Cidr,
    /// A reference to another resource by address: allowed kinds and the output it reads.
    Ref(&'static [&'static str], &'static str),
    List(&'static Ty),
    /// A list whose order does not matter (compared as a set).
    Set(&'static Ty),
    /// A table of string keys to values of one type.
    Map(&'static Ty),
    Object(&'static [Field]),
    /// A policy document: a TOML table or a JSON string; `${kind.name.attr}` inside strings is resolved.
    Json,
    /// The name of an environment variable holding a secret.
    SecretEnv,
}

#[derive(Debug, Clone, Copy)]
pub enum FieldDefault {
    None,
    Bool(bool),
    Int(i64),
    Str(&'static str),
    /// `{stack}-{name}` with underscores as hyphens.
    PhysicalName,
    /// An empty list or table: nothing unless declared, so anything added outside zinfra shows as drift.
    Empty,
}

/// Which grammar a policy document follows: who it is attached to decides what it must name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grammar {
    /// A role's trust policy: names a principal, never a resource.
    Trust,
    /// A policy attached to a role: names resources, never a principal.
    Identity,
    /// A bucket, key or repository policy: names a principal.
    Resource,
}

/// How a field's value is read back and compared: the function, and what it does in words.
pub type Normalize = (fn(&str) -> String, &'static str);

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
    pub default: FieldDefault,
    /// A change to this field cannot be made in place.
    pub force_new: bool,
    /// Not readable from AWS: used when writing, never compared.
    pub write_only: bool,
    /// Why a change to this force-new field replaces the resource, shown in the plan's reason.
    pub replace_note: Option<&'static str>,
    /// Changing this field in place writes the resource's secret again (the API takes the value with
    /// every write), so apply needs the secret's environment variable for it.
    pub rewrites_secret: bool,
    /// An IAM policy document (or a table of them), and the grammar it follows
    /// (the policy module checks it).
    pub policy: Option<Grammar>,
    /// How a value is read back and compared: the file's value and the live one both pass through it
    /// before the plan compares them (a DNS name in lower case, without its trailing dot). Types
    /// normalise by themselves too: sets ignore order, policy documents their layout.
    pub normalize: Option<Normalize>,
    pub doc: &'static str,
}

impl Field {
    pub const fn new(name: &'static str, ty: Ty, doc: &'static str) -> Field {
        Field {
            name,
            ty,
            required: false,
            default: FieldDefault::None,
            force_new: false,
            write_only: false,
            replace_note: None,
            rewrites_secret: false,
            policy: None,
            normalize: None,
            doc,
        }
    }
    /// An IAM policy document following `g`.
    pub const fn policy(mut self, g: Grammar) -> Field {
        self.policy = Some(g);
        self
    }
    /// Compared after `f` (on the file's value and the live one alike); `how` says what it does.
    pub const fn normalized(mut self, f: fn(&str) -> String, how: &'static str) -> Field {
        self.normalize = Some((f, how));
        self
    }
    pub const fn rewrites_secret(mut self) -> Field {
        self.rewrites_secret = true;
        self
    }
    pub const fn required(mut self) -> Field {
        self.required = true;
        self
    }
    pub const fn force_new(mut self) -> Field {
        self.force_new = true;
        self
    }
    /// Force-new, with the reason the plan gives for the replacement.
    pub const fn force_new_because(mut self, note: &'static str) -> Field {
        self.force_new = true;
        self.replace_note = Some(note);
        self
    }
    pub const fn write_only(mut self) -> Field {
        self.write_only = true;
        self
    }
    pub const fn default(mut self, d: FieldDefault) -> Field {
        self.default = d;
        self
    }
}

pub struct KindDef {
    pub name: &'static str,
    /// One line: what the kind is.
    pub doc: &'static str,
    /// The reference's notes (Markdown, docs/kinds.md): behaviour, checks and examples beyond the
    /// fields' own docs.
    pub notes: &'static str,
    pub fields: &'static [Field],
    /// The field holding the AWS name, for duplicate-name checks.
    pub physical_name: Option<&'static str>,
    /// Whether the kind accepts `tags`.
    pub taggable: bool,
    /// Attributes other resources can reference (`${kind.name.attr}`).
    pub outputs: &'static [&'static str],
    /// Checks that need only this resource (names, ranges); cross-resource checks live in `validate`.
    pub validate: fn(&ResourceCx<'_>),
    /// A replacement creates the new resource before deleting the old one (immutable revisions that
    /// dependents move to, such as ECS task definitions).
    pub create_before_delete: bool,
    /// Data or identity that a delete loses for good: apply deletes or replaces such a resource only
    /// when the run names it (`--allow-destroy`) or the file says so (`allow_destroy = true`).
    pub holds: Option<Holds>,
    /// An existing resource of this kind can be handed to a stack with `[[adopt]]`: its driver finds
    /// it by name (`Driver::find`) and can record the stack's ownership on it.
    pub adoptable: bool,
    /// The longest one create, update or delete of this kind waits for AWS (the kind file's `WAIT`,
    /// the driver's deadline). A resource's `timeout` overrides it. `Graph::longest_wait`
    /// adds them up along dependency chains: the time a CI job must allow.
    pub wait: Option<std::time::Duration>,
    /// One per account and region (a GuardDuty detector, Security Hub), often enabled before the
    /// stack, by hand or by the organisation: an existing one is adopted without `[[adopt]]`, its
    /// settings as found are recorded on it, and destroy puts them back instead of deleting it.
    pub account_singleton: bool,
}

/// What a stateful kind keeps, and when it counts as stateful.
#[derive(Debug, Clone, Copy)]
pub struct Holds {
    /// What is lost, in words: "its items".
    pub what: &'static str,
    /// Stateful only when the live resource's props say so (an SSM parameter only as a SecureString).
    pub only_if: Option<fn(&crate::model::Props) -> bool>,
    /// Stateful only while another resource uses it (a certificate that listeners serve).
    pub when_used: bool,
}

impl Holds {
    pub const fn always(what: &'static str) -> Holds {
        Holds {
            what,
            only_if: None,
            when_used: false,
        }
    }
    pub const fn only_if(f: fn(&crate::model::Props) -> bool, what: &'static str) -> Holds {
        Holds {
            what,
            only_if: Some(f),
            when_used: false,
        }
    }
    pub const fn when_used(what: &'static str) -> Holds {
        Holds {
            what,
            only_if: None,
            when_used: true,
        }
    }
}

impl KindDef {
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Whether a change to `field` is made in place: the one place that decides. The plan replaces
    /// the resource for any other change; apply asks a driver to update only these, and a driver
    /// never refuses one.
    pub fn in_place(&self, field: &str) -> bool {
        (field == "tags" && self.taggable) || self.field(field).is_some_and(|f| !f.force_new)
    }

    /// Whether a change to `field` replaces the resource (the other side of [`KindDef::in_place`]
    /// for the kind's own fields).
    pub fn replaces(&self, field: &str) -> bool {
        self.field(field).is_some_and(|f| f.force_new)
    }
}

pub fn no_validation(_: &ResourceCx<'_>) {}

impl Ty {
    pub fn describe(&self) -> String {
        match self {
            Ty::Str => "a string".into(),
            Ty::Int => "an integer".into(),
            Ty::Bool => "a boolean".into(),
            Ty::Enum(v) => format!(
                "one of {}",
                v.iter()
                    .map(|s| format!("\"{s}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Ty::Cidr => "a CIDR block string".into(),
            Ty::Ref(kinds, _) => format!(
                "a reference to {}",
                kinds
                    .iter()
                    .map(|k| format!("{k}.<name>"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
            Ty::List(_) | Ty::Set(_) => "an array".into(),
            Ty::Map(_) | Ty::Object(_) => "a table".into(),
            Ty::Json => "a table or a JSON string".into(),
            Ty::SecretEnv => "the name of an environment variable".into(),
        }
    }
}

/// Where each piece of a resource sits in the file.
#[derive(Clone, Debug, Default)]
pub struct Spans {
    map: HashMap<String, Range<usize>>,
}

impl Spans {
    /// `kind.name` → its table header; `kind.name.field` → the field's value; `kind.name.field:key` → the key.
    pub fn insert(&mut self, key: String, span: Range<usize>) {
        self.map.insert(key, span);
    }
    pub fn get(&self, key: &str) -> Option<Range<usize>> {
        self.map.get(key).cloned()
    }
    pub fn header(&self, address: &str) -> Option<Range<usize>> {
        self.get(address)
    }
    pub fn value(&self, address: &str, path: &str) -> Option<Range<usize>> {
        self.get(&format!("{address}.{path}"))
            .or_else(|| self.header(address))
    }
    pub fn key(&self, address: &str, path: &str) -> Option<Range<usize>> {
        self.get(&format!("{address}.{path}:key"))
            .or_else(|| self.header(address))
    }
}

/// What a kind's `validate` sees: its resource, the whole stack, and a place to report errors.
pub struct ResourceCx<'a> {
    pub resource: &'a Resource,
    /// The stack's region.
    pub region: &'a str,
    pub stack: &'a [Resource],
    pub spans: &'a Spans,
    pub diags: &'a RefCell<Vec<Diagnostic>>,
}

impl ResourceCx<'_> {
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.resource.props.get(field)
    }
    pub fn str(&self, field: &str) -> Option<&str> {
        self.get(field).and_then(Value::as_str)
    }
    pub fn int(&self, field: &str) -> Option<i64> {
        self.get(field).and_then(Value::as_int)
    }
    pub fn is_null(&self, field: &str) -> bool {
        self.get(field).is_none_or(Value::is_null)
    }
    /// Whether the file itself sets the field (defaults don't count).
    pub fn has_field(&self, field: &str) -> bool {
        self.spans
            .get(&format!("{}.{field}:key", self.resource.address))
            .is_some()
    }
    pub fn map_has(&self, field: &str, key: &str) -> bool {
        self.get(field)
            .and_then(Value::as_map)
            .is_some_and(|m| m.contains_key(key))
    }
    /// The resource a reference field points at, when it exists.
    pub fn referenced(&self, field: &str) -> Option<&Resource> {
        match self.get(field)? {
            Value::Ref(r) => self.stack.iter().find(|x| x.address == r.address),
            _ => None,
        }
    }
    /// The region a referenced certificate is requested in: its `region`, else the stack's.
    pub fn certificate_region(&self, field: &str) -> Option<(String, &str)> {
        let cert = self.referenced(field)?;
        let region = cert
            .props
            .get("region")
            .and_then(Value::as_str)
            .unwrap_or(self.region);
        Some((cert.address.clone(), region))
    }
    pub fn error_at_value(&self, field: &str, message: &str, help: &str) {
        let span = self.spans.value(&self.resource.address, field);
        let label = format!("in {}", self.resource.address);
        self.diags
            .borrow_mut()
            .push(Diagnostic::new(message, span, label).help(help));
    }
    pub fn error_at_header(&self, message: &str, help: &str) {
        let span = self.spans.header(&self.resource.address);
        let label = format!("in {}", self.resource.address);
        self.diags
            .borrow_mut()
            .push(Diagnostic::new(message, span, label).help(help));
    }
    pub fn error(&self, d: Diagnostic) {
        self.diags.borrow_mut().push(d);
    }
}
