//! Human and JSON views of a plan. Secrets show as `(sensitive, version N)`, never their values.

use std::fmt::Write;

use crate::model::Value;
use crate::plan::{Action, Plan, ResourcePlan};

#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }
    fn green(&self, s: &str) -> String {
        self.paint("32", s)
    }
    fn yellow(&self, s: &str) -> String {
        self.paint("33", s)
    }
    fn red(&self, s: &str) -> String {
        self.paint("31", s)
    }
    fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
}

/// One value on one line, TOML-like.
pub fn value(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Str(s) => format!("{s:?}"),
        Value::List(l) => format!("[{}]", l.iter().map(value).collect::<Vec<_>>().join(", ")),
        Value::Map(m) => {
            if m.is_empty() {
                "{}".into()
            } else {
                format!(
                    "{{ {} }}",
                    m.iter()
                        .map(|(k, v)| format!("{} = {}", key(k), value(v)))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        }
        Value::Json(j) => serde_json::to_string(j).unwrap_or_default(),
        Value::Ref(_) | Value::Unknown => "(known after apply)".into(),
        Value::Secret(s) => format!("(sensitive, version {})", s.version),
    }
}

fn key(k: &str) -> String {
    if k.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_owned()
    } else {
        format!("{k:?}")
    }
}

/// A value as plain JSON for `--json`, secrets and unknowns as marker strings.
pub fn json_value(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => (*b).into(),
        Value::Int(i) => (*i).into(),
        Value::Str(s) => s.clone().into(),
        Value::List(l) => l.iter().map(json_value).collect(),
        Value::Map(m) => {
            serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), json_value(v))).collect())
        }
        Value::Json(j) => j.clone(),
        Value::Ref(_) | Value::Unknown => "(known after apply)".into(),
        Value::Secret(s) => format!("(sensitive, version {})", s.version).into(),
    }
}

fn verb(a: Action) -> &'static str {
    match a {
        Action::Create => "will be created",
        Action::Update => "will be updated in place",
        Action::Replace => "must be replaced",
        Action::Delete => "will be destroyed",
        Action::NoOp => "is unchanged",
    }
}

/// The guard line of a delete or replace that loses data, if any.
pub fn guard(r: &ResourcePlan) -> Option<String> {
    let what = r.holds.as_deref()?;
    if !matches!(r.action, Action::Delete | Action::Replace) {
        return None;
    }
    Some(if r.allowed {
        format!(
            "{} holds {what}: deleting it is allowed for this run",
            r.address
        )
    } else {
        format!(
            "{} holds {what}: apply refuses to delete it unless run with --allow-destroy {} (or the file sets `allow_destroy = true` on it)",
            r.address, r.address
        )
    })
}

fn resource(out: &mut String, r: &ResourcePlan, st: Style) {
    let verb = match &r.moved_from {
        _ if r.adopted => "will be adopted (tagged and converged in place)".to_owned(),
        Some(from) if r.action == Action::Update => {
            format!("has moved from {from} (re-tagged in place)")
        }
        _ => verb(r.action).to_owned(),
    };
    let _ = writeln!(out, "  {} {verb}", st.bold(&format!("# {}", r.address)));
    if let Some(reason) = &r.reason {
        let _ = writeln!(out, "  # ({reason})");
    }
    if r.protected && matches!(r.action, Action::Delete | Action::Replace) {
        let _ = writeln!(out, "  {}", st.red("# (deletion_protection is on: apply will refuse to change anything until it is turned off)"));
    }
    if let Some(why) = &r.exists {
        let _ = writeln!(out, "  {}", st.red(&format!("# ({why})")));
    }
    if let Some(g) = guard(r) {
        let line = format!("# ({g})");
        let _ = writeln!(
            out,
            "  {}",
            if r.allowed {
                st.yellow(&line)
            } else {
                st.red(&line)
            }
        );
    }
    let (sym, painted) = match r.action {
        Action::Create => ("+", st.green("+")),
        Action::Update => ("~", st.yellow("~")),
        Action::Replace => ("-/+", format!("{}/{}", st.red("-"), st.green("+"))),
        Action::Delete => ("-", st.red("-")),
        Action::NoOp => (" ", " ".to_owned()),
    };
    let pad = " ".repeat(3usize.saturating_sub(sym.len()));
    let id =
        r.id.as_deref()
            .map(|i| format!(" ({i})"))
            .unwrap_or_default();
    if r.action == Action::Delete {
        let _ = writeln!(out, "{pad}{painted} {}{id}\n", r.address);
        return;
    }
    let _ = writeln!(out, "{pad}{painted} {}{id} {{", r.address);
    let width = r.changes.iter().map(|c| c.field.len()).max().unwrap_or(0);
    for c in &r.changes {
        let after = c.after.as_ref().map(value).unwrap_or_else(|| "null".into());
        let line = match (&c.before, r.action) {
            (None, _) | (_, Action::Create) => {
                format!("{} {:width$} = {after}", st.green("+"), c.field)
            }
            (Some(before), _) => {
                let force = if c.forces_replacement {
                    st.red(" # forces replacement")
                } else {
                    String::new()
                };
                format!(
                    "{} {:width$} = {} -> {after}{force}",
                    st.yellow("~"),
                    c.field,
                    value(before)
                )
            }
        };
        let _ = writeln!(out, "      {line}");
    }
    let _ = writeln!(out, "    }}\n");
}

/// Secrets that exist and stay as they are: write-only, so never read; their version says what was
/// written last, and the plan needed none of their variables.
fn secrets_set(plan: &Plan) -> String {
    let mut set = Vec::new();
    for r in plan.resources.iter().filter(|r| r.action == Action::NoOp) {
        let Some(d) = plan.desired.iter().find(|d| d.address == r.address) else {
            continue;
        };
        for (field, v) in &d.props {
            if let Value::Secret(s) = v {
                set.push(format!("{}.{field} (version {})", r.address, s.version));
            }
        }
    }
    if set.is_empty() {
        return String::new();
    }
    format!(
        "Secrets set, unchanged (write-only, never read): {}.\n",
        set.join(", ")
    )
}

/// The plan header's account of `--target`, `--exclude` and `--replace`.
fn selection(plan: &Plan) -> String {
    let sel = &plan.selection;
    let mut out = String::new();
    if !sel.target.is_empty() {
        let _ = writeln!(
            out,
            "Targeted (--target): only {} and what {} on; the rest of the stack is not planned.",
            sel.target.join(", "),
            if sel.target.len() == 1 {
                "it depends"
            } else {
                "they depend"
            }
        );
    }
    if !sel.exclude.is_empty() {
        let _ = writeln!(
            out,
            "Excluded (--exclude): {} and what depends on {}.",
            sel.exclude.join(", "),
            if sel.exclude.len() == 1 { "it" } else { "them" }
        );
    }
    if !sel.replace.is_empty() {
        let _ = writeln!(
            out,
            "Replaced on request (--replace): {}.",
            sel.replace.join(", ")
        );
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

pub fn human(plan: &Plan, st: Style) -> String {
    let mut out = String::new();
    if !plan.stack.variables.is_empty() {
        let vars: Vec<String> = plan
            .stack
            .variables
            .iter()
            .map(|(k, v)| format!("{k} = \"{v}\""))
            .collect();
        let _ = writeln!(out, "Variables: {}\n", vars.join(", "));
    }
    out.push_str(&selection(plan));
    if !plan.has_changes() {
        out.push_str(&format!(
            "{} Live infrastructure matches the stack file ({} resources).\n",
            st.green("No changes."),
            plan.resources.len()
        ));
        out.push_str(&secrets_set(plan));
        out.push_str(&foreign(plan));
        out.push_str(&waivers(plan));
        return out;
    }
    out.push_str(&foreign(plan));
    out.push_str("zinfra will perform the following actions:\n\n");
    for r in plan.resources.iter().filter(|r| r.action != Action::NoOp) {
        resource(&mut out, r, st);
    }
    let s = plan.summary();
    let _ = writeln!(
        out,
        "{} {} to add, {} to change, {} to destroy.",
        st.bold("Plan:"),
        s.add,
        s.change,
        s.destroy
    );
    out.push_str(&waivers(plan));
    out
}

/// Resources of the same stack name owned from other regions: named, so the user knows they are seen
/// and left alone.
fn foreign(plan: &Plan) -> String {
    let mut regions: std::collections::BTreeMap<&str, usize> = Default::default();
    for f in &plan.foreign {
        *regions.entry(f.region.as_str()).or_default() += 1;
    }
    regions
        .iter()
        .map(|(region, n)| {
            format!(
                "Left alone: {n} resource{} of stack {} in {region} (another stack of the same name; this one is in {}).\n\n",
                if *n == 1 { "" } else { "s" },
                plan.stack.name,
                plan.stack.region
            )
        })
        .collect()
}

/// Every baseline exception of the stack, in every plan, so none goes unnoticed.
fn waivers(plan: &Plan) -> String {
    let all: Vec<(&str, &crate::model::Waiver)> = plan
        .stack
        .waivers
        .iter()
        .map(|w| ("[stack]", w))
        .chain(
            plan.desired
                .iter()
                .flat_map(|r| r.waivers.iter().map(move |w| (r.address.as_str(), w))),
        )
        .collect();
    if all.is_empty() {
        return String::new();
    }
    let mut out = String::from("\nBaseline waivers in force:\n");
    for (at, w) in all {
        let until = w
            .expires
            .as_deref()
            .map(|e| format!(" (until {e})"))
            .unwrap_or_default();
        let _ = writeln!(out, "  {} on {at}: {}{until}", w.rule, w.reason);
    }
    out
}

pub fn json(plan: &Plan) -> serde_json::Value {
    let changes: Vec<serde_json::Value> = plan
        .resources
        .iter()
        .map(|r| {
            serde_json::json!({
                "address": r.address,
                "kind": r.kind,
                "action": r.action,
                "id": r.id,
                "reason": r.reason,
                "moved_from": r.moved_from,
                "adopted": r.adopted,
                "exists": r.exists,
                "holds": r.holds,
                "destroy_allowed": r.holds.is_some().then_some(r.allowed),
                "changes": r.changes.iter().map(|c| serde_json::json!({
                    "field": c.field,
                    "before": c.before.as_ref().map(json_value),
                    "after": c.after.as_ref().map(json_value),
                    "forces_replacement": c.forces_replacement,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut out = serde_json::json!({
        "format_version": crate::plan::PLAN_FORMAT,
        "stack": plan.stack.name,
        "environment": plan.stack.environment,
        "region": plan.stack.region,
        "destroy": plan.destroy,
        "summary": plan.summary(),
        "waivers": plan.stack.waivers.iter().map(|w| (String::from("stack"), w))
            .chain(plan.desired.iter().flat_map(|r| r.waivers.iter().map(move |w| (r.address.clone(), w))))
            .map(|(a, w)| serde_json::json!({"address": a, "rule": w.rule, "reason": w.reason, "expires": w.expires}))
            .collect::<Vec<_>>(),
        "resource_changes": changes,
    });
    // Only when used, so plans without them read as before.
    if !plan.stack.variables.is_empty() {
        out["variables"] = serde_json::json!(plan.stack.variables);
    }
    if !plan.selection.is_empty() {
        out["selection"] = serde_json::json!(plan.selection);
    }
    out
}

/// Markdown for a job summary: one table row per change with the reason for replacements, then the
/// full plan in a collapsed block. Secrets show as `(sensitive, version N)`, as everywhere.
pub fn markdown_plan(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### zinfra {} · `{}` ({}, {})\n",
        if plan.destroy { "destroy plan" } else { "plan" },
        plan.stack.name,
        plan.stack.environment,
        plan.stack.region
    );
    if !plan.has_changes() {
        let _ = writeln!(
            out,
            "**No changes.** Live infrastructure matches the stack file ({} resources).\n",
            plan.resources.len()
        );
        return out;
    }
    let s = plan.summary();
    let _ = writeln!(
        out,
        "**Plan:** {} to add, {} to change, {} to destroy.\n",
        s.add, s.change, s.destroy
    );
    out.push_str("| Resource | Action | Why |\n|---|---|---|\n");
    for r in plan.resources.iter().filter(|r| r.action != Action::NoOp) {
        let action = match r.action {
            Action::Create => "create",
            Action::Update => "update in place",
            Action::Replace => "**replace**",
            Action::Delete => "**destroy**",
            Action::NoOp => "",
        };
        let why = match (&r.reason, r.action) {
            _ if r.exists.is_some() => r.exists.clone().unwrap_or_default(),
            _ if guard(r).is_some() => guard(r).unwrap_or_default(),
            (_, Action::Update) if r.adopted => "adopted".to_owned(),
            (_, Action::Update) if r.moved_from.is_some() => {
                format!(
                    "moved from `{}`",
                    r.moved_from.as_deref().unwrap_or_default()
                )
            }
            (Some(reason), _) => reason.clone(),
            (None, Action::Update) => r
                .changes
                .iter()
                .map(|c| format!("`{}`", c.field))
                .collect::<Vec<_>>()
                .join(", "),
            _ => String::new(),
        };
        let _ = writeln!(out, "| `{}` | {action} | {} |", r.address, table_cell(&why));
    }
    let _ = writeln!(
        out,
        "\n<details><summary>Full plan</summary>\n\n```\n{}```\n\n</details>\n",
        human(plan, Style::default())
    );
    out
}

/// Markdown for what an apply or destroy did, step by step.
pub fn markdown_report(
    plan: &Plan,
    report: &crate::apply::Report,
    what: &str,
    elapsed: std::time::Duration,
) -> String {
    let mut out = String::new();
    let (a, c, d) = report.counts();
    let _ = writeln!(
        out,
        "### zinfra {} · `{}` ({}, {}): {}\n",
        what.to_lowercase(),
        plan.stack.name,
        plan.stack.environment,
        plan.stack.region,
        if report.ok() {
            "done"
        } else if report.signalled {
            "**interrupted**"
        } else {
            "**failed**"
        }
    );
    let _ = writeln!(
        out,
        "**Resources:** {a} added, {c} changed, {d} destroyed in {:.1} s.\n",
        elapsed.as_secs_f64()
    );
    if report.done.is_empty()
        && report.failed.is_empty()
        && report.errors.is_empty()
        && report.not_started.is_empty()
        && report.interrupted.is_empty()
    {
        return out;
    }
    out.push_str("| Resource | Step | Result | Time |\n|---|---|---|---|\n");
    for (addr, step, took, id) in &report.done {
        let id = id
            .as_deref()
            .map(|i| format!(" (`{i}`)"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "| `{addr}` | {} | {}{id} | {:.1} s |",
            step.verb(),
            step.done(),
            took.as_secs_f64()
        );
    }
    for (addr, step, err) in &report.failed {
        let _ = writeln!(
            out,
            "| `{addr}` | {} | **failed**: {} | |",
            step.verb(),
            table_cell(err)
        );
    }
    for err in &report.errors {
        let _ = writeln!(out, "| (the run) | | **failed**: {} | |", table_cell(err));
    }
    for (addr, step) in &report.interrupted {
        let _ = writeln!(
            out,
            "| `{addr}` | {} | interrupted: may or may not be done | |",
            step.verb()
        );
    }
    for (addr, step) in &report.not_started {
        let _ = writeln!(out, "| `{addr}` | {} | not started | |", step.verb());
    }
    if !report.ok() {
        out.push_str(
            "\nNothing else was changed. Fix the cause and run the same command again: it picks up where this run stopped.\n",
        );
    }
    out.push('\n');
    out
}

/// Text safe inside one Markdown table cell.
fn table_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
