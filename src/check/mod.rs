//! The security baseline as code: rules over the resolved graph, evaluated on the stack file before
//! every plan and apply, or on live state (`zinfra check --live`). No AWS types: rules see props.
//!
//! A rule lives in `rules.rs`, one entry per control of the seed; adding one for a new kind is a
//! table entry and a small function. Waivers are written in the stack file next to the resource.

use std::collections::BTreeMap;

use crate::diagnostic::Diagnostic;
use crate::model::{Live, Waiver};
use crate::stack::Stack;

mod output;
pub mod rule;
pub mod rules;

pub use rule::*;

pub use output::{human, json, location, sarif};

/// Every finding of every rule over `view`; waivers come from the stack file (`stack` for the stack's own).
pub fn evaluate(view: &View, waivers: &BTreeMap<String, Vec<Waiver>>, today: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in rules::RULES {
        let mut found: Vec<(String, Fail)> = Vec::new();
        match rule.check {
            Check::Resource(f) => {
                for item in view.of_kind(rule.kind) {
                    if let Some(fail) = f(view, item) {
                        found.push((item.address.to_owned(), fail));
                    }
                }
            }
            Check::Stack(f) => {
                if let Some(fail) = f(view) {
                    found.push(("stack".to_owned(), fail));
                }
            }
        }
        for (address, fail) in found {
            let w = waivers
                .get(&address)
                .and_then(|ws| ws.iter().find(|w| w.rule == rule.id));
            let (waived, expired) = match w {
                Some(w) if w.expires.as_deref().is_some_and(|e| e < today) => (None, Some(w)),
                Some(w) => (Some(w), None),
                None => (None, None),
            };
            out.push(Finding {
                rule,
                address,
                field: fail.field,
                message: fail.message,
                waived: waived.cloned(),
                expired: expired.cloned(),
            });
        }
    }
    out
}

/// Waivers of the stack file by address (`stack` for the `[stack]` table's).
pub fn waivers(stack: &Stack) -> BTreeMap<String, Vec<Waiver>> {
    let mut out: BTreeMap<String, Vec<Waiver>> = stack
        .resources
        .iter()
        .filter(|r| !r.waivers.is_empty())
        .map(|r| (r.address.clone(), r.waivers.clone()))
        .collect();
    if !stack.info.waivers.is_empty() {
        out.insert("stack".into(), stack.info.waivers.clone());
    }
    out
}

/// Check the stack file.
pub fn check_stack(stack: &Stack) -> Vec<Finding> {
    evaluate(&View::desired(&stack.resources), &waivers(stack), &today())
}

/// Check live state, with the stack file's waivers.
pub fn check_live(stack: &Stack, live: &[Live]) -> Vec<Finding> {
    evaluate(&View::live(live), &waivers(stack), &today())
}

/// Today's date in UTC, `YYYY-MM-DD`, for waiver expiry.
pub fn today() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()[..10].to_owned()
}

pub fn rule(id: &str) -> Option<&'static Rule> {
    rules::RULES.iter().find(|r| r.id == id)
}

/// Problems with the waivers themselves: unknown rule ids, rules that do not apply there, bad dates.
/// Part of validation, so a bad waiver stops every command.
pub fn waiver_diagnostics(stack: &Stack) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut one = |address: &str, kind: &str, i: usize, w: &Waiver| {
        let at = |field: &str| {
            stack
                .spans
                .get(&format!("{address}.waivers[{i}].{field}"))
                .or_else(|| stack.spans.get(&format!("{address}.waivers")))
        };
        match rule(&w.rule) {
            None => {
                let ids = rules::RULES.iter().map(|r| r.id);
                let help = crate::diagnostic::did_you_mean(&w.rule, ids)
                    .map(|s| format!("did you mean `{s}`? `zinfra check --list` shows every rule"))
                    .unwrap_or_else(|| "`zinfra check --list` shows every rule".into());
                out.push(
                    Diagnostic::new(
                        format!("unknown rule `{}` in a waiver of {address}", w.rule),
                        at("rule"),
                        "no such rule",
                    )
                    .help(help),
                );
            }
            Some(r) if r.kind != kind => out.push(
                Diagnostic::new(
                    format!(
                        "rule `{}` does not apply to {address}: it checks {}",
                        w.rule,
                        if r.kind == "stack" {
                            "the stack as a whole".to_owned()
                        } else {
                            format!("{} resources", r.kind)
                        }
                    ),
                    at("rule"),
                    "not applicable here",
                )
                .help(if r.kind == "stack" {
                    "write this waiver under `[stack]`".to_owned()
                } else {
                    format!("write this waiver on the {} it concerns", r.kind)
                }),
            ),
            Some(_) => {}
        }
        if w.reason.trim().is_empty() {
            out.push(
                Diagnostic::new(
                    format!("waiver of `{}` in {address} has no reason", w.rule),
                    at("reason"),
                    "empty reason",
                )
                .help("say why the exception is acceptable: it shows in every plan"),
            );
        }
        if let Some(e) = &w.expires
            && !valid_date(e)
        {
            out.push(
                Diagnostic::new(
                    format!("invalid expiry date \"{e}\" in a waiver of {address}"),
                    at("expires"),
                    "not a date",
                )
                .help("write it as YYYY-MM-DD, e.g. \"2027-03-31\""),
            );
        }
    };
    for (i, w) in stack.info.waivers.iter().enumerate() {
        one("stack", "stack", i, w);
    }
    for r in &stack.resources {
        for (i, w) in r.waivers.iter().enumerate() {
            one(&r.address, &r.kind, i, w);
        }
    }
    out
}

fn valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && s.chars()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && (1..=12).contains(&s[5..7].parse::<u32>().unwrap_or(0))
        && (1..=31).contains(&s[8..10].parse::<u32>().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert!(valid_date("2027-03-31"));
        for bad in [
            "2027-3-31",
            "2027-13-01",
            "tomorrow",
            "2027-03-32",
            "2027/03/31",
        ] {
            assert!(!valid_date(bad), "{bad}");
        }
        assert_eq!(today().len(), 10);
    }

    #[test]
    fn rule_ids_are_unique_and_well_formed() {
        let mut ids: Vec<&str> = rules::RULES.iter().map(|r| r.id).collect();
        for id in &ids {
            let parts: Vec<&str> = id.split('-').collect();
            assert!(
                parts.len() == 3 && parts[0] == "ZS" && parts[2].len() == 3,
                "{id}"
            );
        }
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate rule ids");
        for r in rules::RULES {
            assert!(
                r.kind == "stack" || crate::kinds::kind(r.kind).is_some(),
                "{}: unknown kind {}",
                r.id,
                r.kind
            );
        }
    }
}
