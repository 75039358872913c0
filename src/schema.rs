//! The shape of every resource kind: fields, types, defaults and which changes force replacement.

use crate::kinds;

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
pub enum Default {
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

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
    pub default: Default,
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
    /// (`crate::policy::grammar_errors` checks it).
    pub policy: Option<Grammar>,
    pub doc: &'static str,
}

impl Field {
    pub const fn new(name: &'static str, ty: Ty, doc: &'static str) -> Field {
        Field {
            name,
            ty,
            required: false,
            default: Default::None,
            force_new: false,
            write_only: false,
            replace_note: None,
            rewrites_secret: false,
            policy: None,
            doc,
        }
    }
    /// An IAM policy document following `g`.
    pub const fn policy(mut self, g: Grammar) -> Field {
        self.policy = Some(g);
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
    pub const fn default(mut self, d: Default) -> Field {
        self.default = d;
        self
    }
}

pub struct KindDef {
    pub name: &'static str,
    pub doc: &'static str,
    pub fields: &'static [Field],
    /// The field holding the AWS name, for duplicate-name checks.
    pub physical_name: Option<&'static str>,
    /// Whether the kind accepts `tags`.
    pub taggable: bool,
    /// Attributes other resources can reference (`${kind.name.attr}`).
    pub outputs: &'static [&'static str],
    /// Checks that need only this resource (names, ranges); cross-resource checks live in `validate`.
    pub validate: fn(&crate::validate::ResourceCx<'_>),
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
    /// the driver's deadline). A resource's `timeout` overrides it. [`crate::graph::Graph::longest_wait`]
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
}

pub fn kind(name: &str) -> Option<&'static KindDef> {
    kinds::ALL.iter().copied().find(|k| k.name == name)
}

pub fn kind_names() -> Vec<&'static str> {
    kinds::ALL.iter().map(|k| k.name).collect()
}

pub fn no_validation(_: &crate::validate::ResourceCx<'_>) {}

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

/// Every kind's fields, flattened to paths (`container_definitions[].name` for a field of the objects
/// in a list), with their types: what tools outside the crate need to know of the schema.
pub fn to_json() -> serde_json::Value {
    fn ty_name(t: &Ty) -> String {
        match t {
            Ty::Str => "string".into(),
            Ty::Int => "integer".into(),
            Ty::Bool => "boolean".into(),
            Ty::Enum(_) => "enum".into(),
            Ty::Cidr => "cidr".into(),
            Ty::Ref(..) => "reference".into(),
            Ty::List(t) | Ty::Set(t) => format!("list<{}>", ty_name(t)),
            Ty::Map(t) => format!("map<{}>", ty_name(t)),
            Ty::Object(_) => "object".into(),
            Ty::Json => "json".into(),
            Ty::SecretEnv => "secret".into(),
        }
    }
    fn walk(prefix: &str, fields: &[Field], out: &mut Vec<serde_json::Value>) {
        for f in fields {
            let path = format!("{prefix}{}", f.name);
            out.push(serde_json::json!({ "path": path, "type": ty_name(&f.ty) }));
            match f.ty {
                Ty::Object(inner) => walk(&format!("{path}."), inner, out),
                Ty::List(Ty::Object(inner)) | Ty::Set(Ty::Object(inner)) => {
                    walk(&format!("{path}[]."), inner, out)
                }
                Ty::Map(Ty::Object(inner)) => walk(&format!("{path}{{}}."), inner, out),
                _ => {}
            }
        }
    }
    let kinds: serde_json::Map<String, serde_json::Value> = kinds::ALL
        .iter()
        .map(|k| {
            let mut fields = Vec::new();
            walk("", k.fields, &mut fields);
            (k.name.to_owned(), serde_json::Value::Array(fields))
        })
        .collect();
    serde_json::Value::Object(kinds)
}
