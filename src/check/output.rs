//! `zinfra check` output: grouped human text with file:line, JSON, and SARIF 2.1.0 for code scanning.

use std::fmt::Write;

use codespan_reporting::diagnostic::{Diagnostic as Cs, Label, Severity as CsSeverity};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, Config, termcolor};

use super::rule::{Finding, Severity};
use super::rules::RULES;
use crate::diagnostic::line_col;
use crate::stack::Stack;

fn waiver_note(f: &Finding) -> Option<String> {
    if let Some(w) = &f.waived {
        let until = w
            .expires
            .as_deref()
            .map(|e| format!(" (until {e})"))
            .unwrap_or_default();
        return Some(format!("waived: {}{until}", w.reason));
    }
    f.expired.as_ref().map(|w| {
        format!(
            "the waiver of this rule expired on {}",
            w.expires.as_deref().unwrap_or("?")
        )
    })
}

/// Findings grouped by resource, each pointing at the offending field in the stack file (or naming
/// the live resource), then one summary line.
pub fn human(stack: &Stack, findings: &[Finding], live: bool, color: bool) -> String {
    let file = SimpleFile::new(&stack.path, &stack.source);
    let config = Config {
        chars: term::Chars::ascii(),
        ..Config::default()
    };
    let mut buf = if color {
        termcolor::Buffer::ansi()
    } else {
        termcolor::Buffer::no_color()
    };
    let mut order: Vec<&str> = Vec::new();
    for f in findings {
        if !order.contains(&f.address.as_str()) {
            order.push(&f.address);
        }
    }
    for address in &order {
        let _ = std::io::Write::write_all(
            &mut buf,
            format!(
                "{}{address}{}\n",
                if live { "live " } else { "" },
                if live {
                    String::new()
                } else {
                    location_suffix(stack, address)
                }
            )
            .as_bytes(),
        );
        for f in findings.iter().filter(|f| f.address == *address) {
            let severity = match (&f.waived, f.rule.severity) {
                (Some(_), _) => CsSeverity::Note,
                (None, Severity::Error) => CsSeverity::Error,
                (None, Severity::Warning) => CsSeverity::Warning,
            };
            let mut cs = Cs::new(severity)
                .with_code(f.rule.id)
                .with_message(f.rule.title);
            let mut notes = Vec::new();
            match (live, location(stack, f)) {
                (false, Some((span, _, _))) => {
                    cs = cs.with_labels(vec![Label::primary((), span).with_message(&f.message)]);
                }
                _ => notes.push(format!("live: {}", f.message)),
            }
            if let Some(n) = waiver_note(f) {
                notes.push(n);
            }
            notes.push(format!("seed: \"{}\"", f.rule.seed));
            if !f.rule.equivalents.is_empty() {
                notes.push(format!("also: {}", f.rule.equivalents.join("; ")));
            }
            cs = cs.with_notes(notes);
            let _ = term::emit(&mut buf, &config, &file, &cs);
        }
    }
    let mut out = String::from_utf8_lossy(buf.as_slice()).into_owned();
    out.push_str(&summary_line(stack, findings, live));
    out.push('\n');
    out
}

fn location_suffix(stack: &Stack, address: &str) -> String {
    let key = if address == "stack" { "stack" } else { address };
    stack
        .spans
        .get(key)
        .map(|s| {
            let (line, _) = crate::diagnostic::line_col(&stack.source, s.start);
            format!(" ({}:{line})", stack.path)
        })
        .unwrap_or_default()
}

pub fn summary_line(stack: &Stack, findings: &[Finding], live: bool) -> String {
    let errors = findings.iter().filter(|f| f.blocks()).count();
    let warnings = findings
        .iter()
        .filter(|f| f.waived.is_none() && f.rule.severity == Severity::Warning)
        .count();
    let waived = findings.iter().filter(|f| f.waived.is_some()).count();
    let what = if live {
        format!("live resources of stack {}", stack.info.name)
    } else {
        stack.path.clone()
    };
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let waived = if waived > 0 {
        format!(", {waived} waived")
    } else {
        String::new()
    };
    if errors == 0 && warnings == 0 {
        format!(
            "check: {what} meets the {} rules of the security baseline{waived}",
            RULES.len()
        )
    } else {
        format!(
            "check: {what}: {}, {}{waived}",
            plural(errors, "error"),
            plural(warnings, "warning")
        )
    }
}

pub fn json(stack: &Stack, findings: &[Finding], live: bool) -> serde_json::Value {
    let items: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            let at = (!live).then(|| location(stack, f)).flatten();
            serde_json::json!({
                "rule": f.rule.id,
                "title": f.rule.title,
                "severity": f.rule.severity,
                "address": f.address,
                "field": f.field,
                "message": f.message,
                "file": at.as_ref().map(|_| &stack.path),
                "line": at.as_ref().map(|a| a.1),
                "column": at.as_ref().map(|a| a.2),
                "waived": f.waived.as_ref().map(|w| serde_json::json!({"reason": w.reason, "expires": w.expires})),
                "seed": f.rule.seed,
                "equivalents": f.rule.equivalents,
            })
        })
        .collect();
    serde_json::json!({
        "stack": stack.info.name,
        "live": live,
        "rules": RULES.len(),
        "errors": findings.iter().filter(|f| f.blocks()).count(),
        "warnings": findings.iter().filter(|f| f.waived.is_none() && f.rule.severity == Severity::Warning).count(),
        "waived": findings.iter().filter(|f| f.waived.is_some()).count(),
        "findings": items,
    })
}

/// SARIF 2.1.0, as GitHub code scanning reads it: every rule in the tool's driver, one result per finding,
/// waived findings as in-source suppressions.
pub fn sarif(stack: &Stack, findings: &[Finding], live: bool) -> serde_json::Value {
    let rules: Vec<serde_json::Value> = RULES
        .iter()
        .map(|r| {
            let mut help = format!("Seed: \"{}\"", r.seed);
            if !r.equivalents.is_empty() {
                let _ = write!(help, " Equivalents: {}.", r.equivalents.join("; "));
            }
            serde_json::json!({
                "id": r.id,
                "name": r.id.replace('-', ""),
                "shortDescription": { "text": r.title },
                "fullDescription": { "text": r.seed },
                "help": { "text": help },
                "defaultConfiguration": { "level": level(r.severity) },
                "properties": { "tags": ["security", r.kind], "kind": r.kind },
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            let at = location(stack, f);
            let region = match (&at, live) {
                (Some((_, line, col)), false) => {
                    serde_json::json!({ "startLine": line, "startColumn": col })
                }
                _ => serde_json::json!({ "startLine": 1 }),
            };
            let mut r = serde_json::json!({
                "ruleId": f.rule.id,
                "ruleIndex": RULES.iter().position(|r| r.id == f.rule.id),
                "level": level(f.rule.severity),
                "message": { "text": format!("{}: {}", f.address, f.message) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": stack.path },
                        "region": region,
                    },
                    "logicalLocations": [{ "name": f.address, "kind": "resource" }],
                }],
            });
            if let Some(w) = &f.waived {
                r["suppressions"] =
                    serde_json::json!([{ "kind": "inSource", "justification": w.reason }]);
            }
            r
        })
        .collect();
    serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "zinfra",
                "informationUri": "https://github.com/zenoo/zinfra",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// Where a finding points in the stack file: the field's value, else the resource's header.
pub fn location(stack: &Stack, f: &Finding) -> Option<(std::ops::Range<usize>, usize, usize)> {
    let span = match (f.address.as_str(), f.field) {
        ("stack", _) => stack.spans.get("stack"),
        (a, Some(field)) => stack
            .spans
            .value(a, field)
            .or_else(|| stack.spans.header(a)),
        (a, None) => stack.spans.header(a),
    }?;
    let (line, col) = line_col(&stack.source, span.start);
    Some((span, line, col))
}
