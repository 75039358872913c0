//! Checks on the parsed stack that need more than one field: references, names, CIDRs.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;

use crate::diagnostic::Diagnostic;
use crate::model::{Resource, Value};

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

/// Every check that needs the whole stack; returns what is wrong, in file order.
pub fn check(stack: &crate::stack::Stack) -> Vec<Diagnostic> {
    let diags = RefCell::new(crate::check::waiver_diagnostics(stack));
    check_references(stack, &diags);
    if !diags.borrow().is_empty() {
        // Kind checks follow references; dangling ones would only add noise.
        return diags.into_inner();
    }
    for r in &stack.resources {
        let kind = crate::schema::kind(&r.kind).expect("parsed kinds exist");
        let cx = ResourceCx {
            resource: r,
            stack: &stack.resources,
            spans: &stack.spans,
            diags: &diags,
        };
        (kind.validate)(&cx);
    }
    check_physical_names(stack, &diags);
    if diags.borrow().is_empty()
        && let Err(d) = crate::graph::Graph::new(stack)
    {
        diags.borrow_mut().push(*d);
    }
    diags.into_inner()
}

fn check_references(stack: &crate::stack::Stack, diags: &RefCell<Vec<Diagnostic>>) {
    let addresses: Vec<&str> = stack.resources.iter().map(|r| r.address.as_str()).collect();
    let dangling = |target: &str, span: Option<Range<usize>>, from: &str| {
        let help = match crate::diagnostic::did_you_mean(target, addresses.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("declare `[{target}]` or reference an existing resource"),
        };
        Diagnostic::new(
            format!("reference to undeclared resource `{target}`"),
            span,
            format!("in {from}"),
        )
        .help(help)
    };
    for r in &stack.resources {
        let kind = crate::schema::kind(&r.kind).expect("parsed kinds exist");
        for f in kind.fields {
            let key = f.name.strip_suffix("_from_env").unwrap_or(f.name);
            if let Some(v) = r.props.get(key) {
                walk_refs(&f.ty, v, f.name, &mut |path, target_kinds, reference| {
                    let span = stack.spans.value(&r.address, path);
                    match stack.get(&reference.address) {
                        None => {
                            diags
                                .borrow_mut()
                                .push(dangling(&reference.address, span, &r.address))
                        }
                        Some(t)
                            if !target_kinds.is_empty()
                                && !target_kinds.contains(&t.kind.as_str()) =>
                        {
                            let expected = target_kinds
                                .iter()
                                .map(|k| format!("`{k}`"))
                                .collect::<Vec<_>>()
                                .join(" or ");
                            diags.borrow_mut().push(
                                Diagnostic::new(
                                    format!(
                                        "`{path}` in {} must reference {expected}, not `{}`",
                                        r.address, t.kind
                                    ),
                                    span,
                                    format!("this is a {}", t.kind),
                                )
                                .help(format!(
                                    "reference a resource like \"{}.<name>\"",
                                    target_kinds[0]
                                )),
                            );
                        }
                        Some(t)
                            if target_kinds.is_empty()
                                && !kind_outputs(&t.kind).contains(&reference.attr.as_str()) =>
                        {
                            diags.borrow_mut().push(
                                Diagnostic::new(
                                    format!(
                                        "unknown attribute `{}` of `{}`",
                                        reference.attr, t.address
                                    ),
                                    span,
                                    format!("in {}", r.address),
                                )
                                .help(format!(
                                    "{} exposes {}",
                                    t.kind,
                                    kind_outputs(&t.kind).join(", ")
                                )),
                            );
                        }
                        Some(_) => {}
                    }
                });
            }
        }
        for (i, d) in r.depends_on.iter().enumerate() {
            if stack.get(d).is_none() {
                diags.borrow_mut().push(dangling(
                    d,
                    stack.spans.value(&r.address, &format!("depends_on[{i}]")),
                    &r.address,
                ));
            }
        }
    }
}

/// Calls `f(path, allowed kinds, reference)` for each reference inside a value of type `ty`.
/// Policy-document references allow any kind (empty slice).
pub fn walk_refs(
    ty: &crate::schema::Ty,
    v: &Value,
    path: &str,
    f: &mut dyn FnMut(&str, &[&str], &crate::model::Ref),
) {
    use crate::schema::Ty;
    match (ty, v) {
        (Ty::Ref(kinds, _), Value::Ref(r)) => f(path, kinds, r),
        (Ty::List(inner) | Ty::Set(inner), Value::List(items)) => {
            for (i, item) in items.iter().enumerate() {
                walk_refs(inner, item, &format!("{path}[{i}]"), f);
            }
        }
        (Ty::Map(inner), Value::Map(m)) => {
            for (k, item) in m {
                walk_refs(inner, item, &format!("{path}.{k}"), f);
            }
        }
        (Ty::Object(fields), Value::Map(m)) => {
            for field in fields.iter() {
                if let Some(item) = m.get(field.name) {
                    walk_refs(&field.ty, item, &format!("{path}.{}", field.name), f);
                }
            }
        }
        (Ty::Json, Value::Json(j)) => {
            for r in crate::stack::json_refs(j) {
                f(path, &[], &r);
            }
        }
        _ => {}
    }
}

fn check_physical_names(stack: &crate::stack::Stack, diags: &RefCell<Vec<Diagnostic>>) {
    let mut seen: HashMap<(&str, &str), &str> = HashMap::new();
    for r in &stack.resources {
        let kind = crate::schema::kind(&r.kind).expect("parsed kinds exist");
        let Some(field) = kind.physical_name else {
            continue;
        };
        let Some(name) = r.props.get(field).and_then(Value::as_str) else {
            continue;
        };
        if let Some(first) = seen.insert((kind.name, name), &r.address) {
            diags.borrow_mut().push(
                Diagnostic::new(
                    format!("duplicate {} `{field}` \"{name}\"", kind.name),
                    stack.spans.value(&r.address, field),
                    format!("{} already uses this name", first),
                )
                .help("physical names must be unique within a stack"),
            );
        }
    }
}

fn kind_outputs(kind: &str) -> &'static [&'static str] {
    crate::schema::kind(kind).map(|k| k.outputs).unwrap_or(&[])
}
