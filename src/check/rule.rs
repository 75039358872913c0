//! What a baseline rule is and what it sees: rules, the view of a stack, findings.

use std::collections::BTreeMap;

use crate::model::{Live, Props, Resource, Value, Waiver};
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

pub struct Rule {
    /// Stable id, `ZS-<AREA>-<NNN>`.
    pub id: &'static str,
    /// What holds when the rule passes, in one line.
    pub title: &'static str,
    /// The sentence of the security baseline it enforces, quoted (shown in docs/rules.md).
    pub seed: &'static str,
    pub severity: Severity,
    /// Corresponding checkov / Trivy ids, where they exist.
    pub equivalents: &'static [&'static str],
    /// The kind it inspects; `stack` for rules about the stack as a whole.
    pub kind: &'static str,
    pub check: Check,
}

pub enum Check {
    /// One resource of `kind`, with the whole graph at hand.
    Resource(fn(&View, &Item) -> Option<Fail>),
    /// The stack as a whole (e.g. threat detection is on).
    Stack(fn(&View) -> Option<Fail>),
}

/// Why a rule failed: the offending field (for the file location) and what is wrong with it.
pub struct Fail {
    pub field: Option<&'static str>,
    pub message: String,
}

pub fn fail(field: &'static str, message: impl Into<String>) -> Option<Fail> {
    Some(Fail {
        field: Some(field),
        message: message.into(),
    })
}

/// One resource as the rules see it: its declared props (references unresolved) or its live props.
pub struct Item<'a> {
    pub address: &'a str,
    pub kind: &'a str,
    pub props: &'a Props,
    outputs: Option<&'a BTreeMap<String, String>>,
}

impl Item<'_> {
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.props.get(field).filter(|v| !v.is_null())
    }
    pub fn str(&self, field: &str) -> Option<&str> {
        self.get(field).and_then(Value::as_str)
    }
    /// A value only live state has (`check --live`), such as a certificate's signature algorithm.
    pub fn output(&self, name: &str) -> Option<&str> {
        self.outputs?.get(name).map(String::as_str)
    }
    pub fn bool(&self, field: &str) -> Option<bool> {
        self.get(field).and_then(Value::as_bool)
    }
    pub fn int(&self, field: &str) -> Option<i64> {
        self.get(field).and_then(Value::as_int)
    }
    pub fn list(&self, field: &str) -> &[Value] {
        self.get(field).map(Value::as_list).unwrap_or(&[])
    }
    pub fn json(&self, field: &str) -> Option<&serde_json::Value> {
        match self.get(field) {
            Some(Value::Json(j)) => Some(j),
            _ => None,
        }
    }
}

/// The graph the rules run over: the stack file's resources, or what is live.
pub struct View<'a> {
    pub items: Vec<Item<'a>>,
    pub live: bool,
}

impl<'a> View<'a> {
    pub fn desired(resources: &'a [Resource]) -> View<'a> {
        View {
            items: resources
                .iter()
                .map(|r| Item {
                    address: &r.address,
                    kind: &r.kind,
                    props: &r.props,
                    outputs: None,
                })
                .collect(),
            live: false,
        }
    }

    pub fn live(live: &'a [Live]) -> View<'a> {
        View {
            items: live
                .iter()
                .map(|l| Item {
                    address: &l.address,
                    kind: &l.kind,
                    props: &l.props,
                    outputs: Some(&l.outputs),
                })
                .collect(),
            live: true,
        }
    }

    pub fn of_kind<'s>(&'s self, kind: &'s str) -> impl Iterator<Item = &'s Item<'a>> + 's {
        self.items.iter().filter(move |i| i.kind == kind)
    }

    /// The resource of `kind` a reference field points at: by address in the file, by id or ARN when
    /// live (names repeat across kinds, e.g. a subnet group and a user group both `zenoo-dev-redis`).
    pub fn target(&self, v: &Value, kind: &str) -> Option<&Item<'a>> {
        self.items
            .iter()
            .find(|i| i.kind == kind && self.points_at(v, i))
    }

    /// Whether `v` points at `item`.
    pub fn points_at(&self, v: &Value, item: &Item) -> bool {
        match v {
            Value::Ref(r) => r.address == item.address,
            Value::Str(s) if self.live => item.outputs.is_some_and(|o| o.values().any(|x| x == s)),
            _ => false,
        }
    }

    /// Resources of `kind` whose `field` (a reference or a list of them) points at `item`.
    pub fn referrers<'s>(
        &'s self,
        kind: &'s str,
        field: &'s str,
        item: &'s Item,
    ) -> impl Iterator<Item = &'s Item<'a>> + 's {
        self.of_kind(kind).filter(move |r| match r.get(field) {
            Some(Value::List(l)) => l.iter().any(|v| self.points_at(v, item)),
            Some(v) => self.points_at(v, item),
            None => false,
        })
    }
}

/// One rule failing on one resource (or on the stack), perhaps waived.
#[derive(Clone, Debug)]
pub struct Finding {
    pub rule: &'static Rule,
    /// `stack` for stack-level rules.
    pub address: String,
    pub field: Option<&'static str>,
    pub message: String,
    /// The waiver in force, if any.
    pub waived: Option<Waiver>,
    /// A waiver that was written but has expired.
    pub expired: Option<Waiver>,
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id)
    }
}

impl Finding {
    pub fn blocks(&self) -> bool {
        self.waived.is_none() && self.rule.severity == Severity::Error
    }
}
