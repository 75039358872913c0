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
        self.get(&format!("{address}.{path}")).or_else(|| self.header(address))
    }
    pub fn key(&self, address: &str, path: &str) -> Option<Range<usize>> {
        self.get(&format!("{address}.{path}:key")).or_else(|| self.header(address))
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
        self.spans.get(&format!("{}.{field}:key", self.resource.address)).is_some()
    }
    pub fn map_has(&self, field: &str, key: &str) -> bool {
        self.get(field).and_then(Value::as_map).is_some_and(|m| m.contains_key(key))
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
        self.diags.borrow_mut().push(Diagnostic::new(message, span, label).help(help));
    }
    pub fn error_at_header(&self, message: &str, help: &str) {
        let span = self.spans.header(&self.resource.address);
        let label = format!("in {}", self.resource.address);
        self.diags.borrow_mut().push(Diagnostic::new(message, span, label).help(help));
    }
    pub fn error(&self, d: Diagnostic) {
        self.diags.borrow_mut().push(d);
    }
}
