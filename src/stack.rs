//! Stack file → typed resources: TOML with spans, checked against each kind's schema.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::model::{Adopt, Move, Ref, Resource, Secret, Tags, Value, Waiver};
use crate::provider::StackInfo;
use crate::schema::Spans;
use crate::schema::{Field, FieldDefault, KindDef, Ty};

#[derive(Clone, Debug)]
pub struct Stack {
    pub path: String,
    pub source: String,
    pub info: StackInfo,
    /// In file order.
    pub resources: Vec<Resource>,
    pub spans: Spans,
}

impl Stack {
    pub fn get(&self, address: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.address == address)
    }
}

/// A stack file that failed to load, with everything wrong in it.
#[derive(Debug)]
pub struct Invalid {
    pub path: String,
    pub source: String,
    pub diags: Vec<Diagnostic>,
}

impl Invalid {
    pub fn render(&self, color: bool) -> String {
        crate::diagnostic::render(&self.path, &self.source, &self.diags, color)
    }
}

/// Where secret values come from; the process environment outside tests.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The TOML and schema layer: types, fields, defaults.
pub fn parse(path: &str, source: &str, env: EnvLookup<'_>) -> Result<Stack, Vec<Diagnostic>> {
    parse_named(path, source, env, None)
}

pub fn parse_named(
    path: &str,
    source: &str,
    env: EnvLookup<'_>,
    name: Option<&str>,
) -> Result<Stack, Vec<Diagnostic>> {
    let root = match DeTable::parse(source) {
        Ok(t) => t,
        Err(e) => {
            let span = e.span();
            let msg = e.message().trim().to_owned();
            return Err(vec![Diagnostic::new(
                format!("invalid TOML: {msg}"),
                span,
                "here",
            )]);
        }
    };
    let mut p = Parser {
        diags: Vec::new(),
        spans: Spans::default(),
        env,
        stack_name: String::new(),
        vars: BTreeMap::new(),
    };
    let root = root.into_inner();
    let mut info = p.stack_info(&root);
    // Before any resource: their string values may use `${var.NAME}`.
    if let Some(v) = root.get("variables") {
        p.variables(v);
    }
    if let Some(name) = name {
        if valid_stack_name(name) {
            p.stack_name = name.to_owned();
            if let Some(i) = &mut info {
                i.name = name.to_owned();
            }
        } else {
            p.diags.push(
                Diagnostic::new(
                    format!("invalid stack name \"{name}\" given by --stack-name"),
                    None,
                    "",
                )
                .help(STACK_NAME_HELP),
            );
        }
    }
    let mut resources = Vec::new();
    let mut moved = Vec::new();
    let mut adopt = Vec::new();
    let mut outputs = Vec::new();
    // Every address in the file, valid or not, so an invalid resource is reported once.
    let mut declared = Vec::new();
    for (kind_key, kind_val) in root.iter() {
        let kind_name: &str = kind_key.get_ref();
        if kind_name == "stack" {
            continue;
        }
        if kind_name == "moved" {
            moved = p.moves(kind_val);
            continue;
        }
        if kind_name == "adopt" {
            adopt = p.adoptions(kind_val);
            continue;
        }
        if kind_name == "outputs" {
            outputs = p.outputs(kind_val);
            continue;
        }
        if kind_name == "variables" {
            continue;
        }
        let Some(kind) = crate::kinds::kind(kind_name) else {
            let help = match did_you_mean(kind_name, crate::kinds::kind_names()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("known kinds: {}", crate::kinds::kind_names().join(", ")),
            };
            p.error(
                format!("unknown resource kind `{kind_name}`"),
                kind_key.span(),
                "unknown kind",
                help,
            );
            continue;
        };
        let DeValue::Table(tables) = kind_val.get_ref() else {
            p.error(
                format!("`{kind_name}` must be a table of resources"),
                kind_key.span(),
                "not a table",
                format!("write `[{kind_name}.<name>]`"),
            );
            continue;
        };
        for (name_key, body) in tables.iter() {
            declared.push(format!("{kind_name}.{}", name_key.get_ref()));
            if let Some(r) = p.resource(kind, name_key, body) {
                resources.push(r);
            }
        }
    }
    p.check_moves(&moved, &resources);
    p.check_adoptions(&adopt, &resources);
    p.check_outputs(&outputs, &resources, &declared);
    if !p.diags.is_empty() {
        return Err(p.diags);
    }
    let mut info = info.expect("stack info parsed without diagnostics");
    info.moved = moved.into_iter().map(|(m, _)| m).collect();
    info.adopt = adopt;
    info.outputs = outputs.into_iter().map(|(n, r, _)| (n, r)).collect();
    info.variables = p.vars.into_iter().map(|(k, (v, _))| (k, v)).collect();
    Ok(Stack {
        path: path.to_owned(),
        source: source.to_owned(),
        info,
        resources,
        spans: p.spans,
    })
}

struct Parser<'e> {
    diags: Vec<Diagnostic>,
    spans: Spans,
    env: EnvLookup<'e>,
    stack_name: String,
    /// `[variables]`: each one's value for this run, and whether one was found (a variable without a
    /// value is reported once, where it is declared, and its uses stay quiet).
    vars: BTreeMap<String, (String, bool)>,
}

/// The environment variable that sets stack variable `name` (`--var name=…` sets it too).
pub fn var_env(name: &str) -> String {
    format!("ZINFRA_VAR_{name}")
}

const STACK_NAME_HELP: &str =
    "1 to 64 characters: letters, digits and `-` (it names and tags every resource)";

fn valid_stack_name(n: &str) -> bool {
    !n.is_empty() && n.len() <= 64 && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

type DeSpanned<'a> = Spanned<DeValue<'a>>;

const STACK_FIELDS: &[&str] = &[
    "name",
    "environment",
    "region",
    "tags",
    "protected",
    "waivers",
];

impl Parser<'_> {
    fn error(
        &mut self,
        msg: impl Into<String>,
        span: Range<usize>,
        label: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.diags
            .push(Diagnostic::new(msg, Some(span), label).help(help));
    }

    /// `waivers = [{ rule = "ZS-…", reason = "…", expires = "YYYY-MM-DD" }]`; which rules exist is
    /// checked in validation (`check::waiver_diagnostics`).
    fn waivers(&mut self, v: &DeSpanned<'_>, owner: &str) -> Vec<Waiver> {
        const HELP: &str = "write `waivers = [{ rule = \"ZS-S3-002\", reason = \"why\", expires = \"2027-03-31\" }]`";
        let DeValue::Array(items) = v.get_ref() else {
            self.error(
                format!("`waivers` in {owner} must be a list"),
                v.span(),
                "not a list",
                HELP,
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            self.spans
                .insert(format!("{owner}.waivers[{i}]"), item.span());
            let DeValue::Table(t) = item.get_ref() else {
                self.error(
                    format!("a waiver in {owner} must be a table"),
                    item.span(),
                    "not a table",
                    HELP,
                );
                continue;
            };
            let field = |name: &str, p: &mut Self| -> Option<String> {
                let v = t.get(name)?;
                p.spans
                    .insert(format!("{owner}.waivers[{i}].{name}"), v.span());
                match v.get_ref() {
                    DeValue::String(s) => Some(s.to_string()),
                    _ => {
                        p.error(
                            format!("`{name}` of a waiver in {owner} must be a string"),
                            v.span(),
                            "expected a string",
                            HELP,
                        );
                        None
                    }
                }
            };
            let rule = field("rule", self);
            let reason = field("reason", self);
            let expires = field("expires", self);
            for (k, _) in t.iter() {
                if !["rule", "reason", "expires"].contains(&k.get_ref().as_ref()) {
                    self.error(
                        format!("unknown field `{}` in a waiver of {owner}", k.get_ref()),
                        k.span(),
                        "unknown field",
                        "a waiver has `rule`, `reason` and optionally `expires`",
                    );
                }
            }
            match (rule, reason) {
                (Some(rule), Some(reason)) => out.push(Waiver {
                    rule,
                    reason,
                    expires,
                }),
                (r, _) => self.error(
                    format!(
                        "a waiver in {owner} needs `{}`",
                        if r.is_none() { "rule" } else { "reason" }
                    ),
                    item.span(),
                    "incomplete waiver",
                    HELP,
                ),
            }
        }
        out
    }

    /// `[[moved]]` tables: `from` and `to` addresses, with the span of each declaration.
    fn moves(&mut self, v: &DeSpanned<'_>) -> Vec<(Move, Range<usize>)> {
        const HELP: &str = "write `[[moved]]` with `from = \"dynamodb_table.old\"` and `to = \"dynamodb_table.new\"`";
        self.declarations(v, "moved", ["from", "to"], HELP)
            .into_iter()
            .map(|([from, to], span)| (Move { from, to }, span))
            .collect()
    }

    /// `[[adopt]]` tables: the `address` in the file that takes over the existing resource `id`.
    fn adoptions(&mut self, v: &DeSpanned<'_>) -> Vec<Adopt> {
        const HELP: &str = "write `[[adopt]]` with `address = \"s3_bucket.assets\"` and `id = \"the-existing-bucket\"`";
        self.declarations(v, "adopt", ["address", "id"], HELP)
            .into_iter()
            .map(|([address, id], _)| Adopt { address, id })
            .collect()
    }

    /// `[variables.NAME]` with `type` (string, number, bool), optional `default`, `description`,
    /// `allowed` values and a `pattern` the whole value must match. The value comes from `--var
    /// NAME=…` / `ZINFRA_VAR_NAME`, else the default.
    fn variables(&mut self, v: &DeSpanned<'_>) {
        const HELP: &str = "write `[variables.image_tag]` with `type = \"string\"` and optionally `default`, `description`, `allowed = [...]`, `pattern = \"^...$\"`";
        let DeValue::Table(t) = v.get_ref() else {
            self.error("`variables` must be a table", v.span(), "not a table", HELP);
            return;
        };
        for (k, body) in t.iter() {
            let name: &str = k.get_ref();
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                self.error(
                    format!("invalid variable name `{name}`"),
                    k.span(),
                    "not a variable name",
                    "letters, digits and `_` (it is also an environment variable's name)",
                );
                continue;
            }
            let DeValue::Table(fields) = body.get_ref() else {
                self.error(
                    format!("variable `{name}` must be a table"),
                    body.span(),
                    "not a table",
                    HELP,
                );
                continue;
            };
            let mut ok = true;
            let mut text = |f: &str, p: &mut Self| -> Option<(String, Range<usize>)> {
                let v = fields.get(f)?;
                match v.get_ref() {
                    DeValue::String(s) => Some((s.to_string(), v.span())),
                    DeValue::Integer(i) => Some((i.as_str().replace('_', ""), v.span())),
                    DeValue::Float(x) => Some((x.as_str().to_owned(), v.span())),
                    DeValue::Boolean(b) => Some((b.to_string(), v.span())),
                    _ => {
                        p.error(
                            format!("`{f}` of variable `{name}` must be a single value"),
                            v.span(),
                            "not a value",
                            HELP,
                        );
                        ok = false;
                        None
                    }
                }
            };
            let ty = text("type", self);
            let default = text("default", self);
            let pattern = text("pattern", self);
            let _ = text("description", self);
            let allowed: Option<Vec<String>> =
                fields.get("allowed").and_then(|a| match a.get_ref() {
                    DeValue::Array(items) => Some(
                        items
                            .iter()
                            .filter_map(|i| match i.get_ref() {
                                DeValue::String(s) => Some(s.to_string()),
                                DeValue::Integer(n) => Some(n.as_str().to_owned()),
                                DeValue::Boolean(b) => Some(b.to_string()),
                                _ => None,
                            })
                            .collect(),
                    ),
                    _ => None,
                });
            for (f, _) in fields.iter() {
                let f: &str = f.get_ref();
                if !["type", "default", "description", "allowed", "pattern"].contains(&f) {
                    let fk = fields
                        .get_key_value(f)
                        .map(|(k, _)| k.span())
                        .unwrap_or(k.span());
                    self.error(
                        format!("unknown field `{f}` in variable `{name}`"),
                        fk,
                        "unknown field",
                        HELP,
                    );
                    ok = false;
                }
            }
            let ty_name = ty.as_ref().map(|(t, _)| t.as_str()).unwrap_or("string");
            if !["string", "number", "bool"].contains(&ty_name) {
                let span = ty.as_ref().map(|(_, s)| s.clone()).unwrap_or(k.span());
                self.error(
                    format!("unknown variable type `{ty_name}`"),
                    span,
                    "not a type",
                    "`string`, `number` or `bool`",
                );
                ok = false;
            }
            let regex = match &pattern {
                Some((p, span)) => match regex::Regex::new(&format!("^(?:{p})$")) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        self.error(
                            format!("invalid pattern of variable `{name}`: {e}"),
                            span.clone(),
                            "not a regular expression",
                            "a Rust `regex` pattern, matched against the whole value",
                        );
                        ok = false;
                        None
                    }
                },
                None => None,
            };
            let env = var_env(name);
            let given = (self.env)(&env);
            let (value, from, span) = match (given, &default) {
                (Some(v), _) => (v, format!("--var {name}= / {env}"), k.span()),
                (None, Some((d, s))) => (d.clone(), "its default".to_owned(), s.clone()),
                (None, None) => {
                    self.error(
                        format!("variable `{name}` has no value"),
                        k.span(),
                        "declared without a default",
                        format!("set it with `--var {name}=…` or the environment variable `{env}`"),
                    );
                    self.vars.insert(name.to_owned(), (String::new(), false));
                    continue;
                }
            };
            let type_ok = match ty_name {
                "number" => value.parse::<f64>().is_ok(),
                "bool" => value == "true" || value == "false",
                _ => true,
            };
            let problem = if !type_ok {
                Some(format!("is not a {ty_name}"))
            } else if let Some(a) = allowed.as_ref().filter(|a| !a.contains(&value)) {
                Some(format!("is not one of {}", a.join(", ")))
            } else {
                regex.as_ref().filter(|r| !r.is_match(&value)).map(|r| {
                    // As written: without the `^(?:…)$` that anchors it.
                    let p = r.as_str();
                    format!("does not match the pattern `{}`", &p[4..p.len() - 2])
                })
            };
            if let Some(problem) = problem
                && ok
            {
                self.error(
                    format!("variable `{name}` = \"{value}\" (from {from}) {problem}"),
                    span,
                    "invalid value",
                    format!("give `{name}` a valid value"),
                );
                ok = false;
            }
            self.vars.insert(name.to_owned(), (value, ok));
        }
    }

    /// A string with its `${var.NAME}` replaced, or `None` (reported) when one names no variable.
    fn substitute(&mut self, s: &str, span: Range<usize>) -> Option<String> {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find("${var.") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 6..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[i..]);
                rest = "";
                break;
            };
            let name = &after[..end];
            match self.vars.get(name) {
                Some((v, _)) => out.push_str(v),
                None => {
                    let help = did_you_mean(name, self.vars.keys().map(String::as_str))
                        .map(|s| format!("did you mean `${{var.{s}}}`?"))
                        .unwrap_or_else(|| format!("declare it: `[variables.{name}]`"));
                    self.error(
                        format!("`${{var.{name}}}` names no declared variable"),
                        span,
                        "unknown variable",
                        help,
                    );
                    return None;
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Some(out)
    }

    /// `[outputs]`: `name = "kind.name.attr"`, each with the span of its value.
    fn outputs(&mut self, v: &DeSpanned<'_>) -> Vec<(String, Ref, Range<usize>)> {
        const HELP: &str = "write `[outputs]` with lines like `alb_dns_name = \"lb.web.dns_name\"`";
        let DeValue::Table(t) = v.get_ref() else {
            self.error("`outputs` must be a table", v.span(), "not a table", HELP);
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, val) in t.iter() {
            let name: &str = k.get_ref();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                self.error(
                    format!("invalid output name `{name}`"),
                    k.span(),
                    "not an output name",
                    "letters, digits, `_` and `-` (it becomes a GitHub Actions step output)",
                );
                continue;
            }
            let parsed = match val.get_ref() {
                DeValue::String(s) => s
                    .rsplit_once('.')
                    .filter(|(a, attr)| a.contains('.') && !attr.is_empty())
                    .map(|(a, attr)| Ref {
                        address: a.to_owned(),
                        attr: attr.to_owned(),
                    }),
                _ => None,
            };
            match parsed {
                Some(r) => out.push((name.to_owned(), r, val.span())),
                None => self.error(
                    format!("output `{name}` must name a resource's output"),
                    val.span(),
                    "expected \"kind.name.attribute\"",
                    HELP,
                ),
            }
        }
        out
    }

    fn check_outputs(
        &mut self,
        outputs: &[(String, Ref, Range<usize>)],
        resources: &[Resource],
        declared: &[String],
    ) {
        for (name, r, span) in outputs {
            let Some(res) = resources.iter().find(|x| x.address == r.address) else {
                if declared.contains(&r.address) {
                    continue; // declared but invalid: reported where it is
                }
                let help = did_you_mean(&r.address, resources.iter().map(|x| x.address.as_str()))
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| "name a resource declared in this file".into());
                self.error(
                    format!(
                        "output `{name}` names {}, which the file does not declare",
                        r.address
                    ),
                    span.clone(),
                    "no such resource",
                    help,
                );
                continue;
            };
            let kind = crate::kinds::kind(&res.kind).expect("declared kinds are known");
            if !kind.outputs.contains(&r.attr.as_str()) {
                self.error(
                    format!("{} has no output `{}`", r.address, r.attr),
                    span.clone(),
                    "no such output",
                    format!("outputs of {}: {}", kind.name, kind.outputs.join(", ")),
                );
            }
        }
    }

    /// An array of tables `[[table]]` with exactly two string fields, each one's span kept as
    /// `table[i].field`.
    fn declarations(
        &mut self,
        v: &DeSpanned<'_>,
        table: &str,
        fields: [&str; 2],
        help: &str,
    ) -> Vec<([String; 2], Range<usize>)> {
        let DeValue::Array(items) = v.get_ref() else {
            self.error(
                format!("`{table}` must be a list of tables"),
                v.span(),
                "not a list",
                help,
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let DeValue::Table(t) = item.get_ref() else {
                self.error(
                    format!("each `[[{table}]]` must be a table"),
                    item.span(),
                    "not a table",
                    help,
                );
                continue;
            };
            for (k, _) in t.iter() {
                if !fields.contains(&k.get_ref().as_ref()) {
                    self.error(
                        format!("unknown field `{}` in [[{table}]]", k.get_ref()),
                        k.span(),
                        "unknown field",
                        help,
                    );
                }
            }
            let mut field = |name: &str| -> Option<String> {
                let Some(v) = t.get(name) else {
                    self.error(
                        format!("[[{table}]] needs `{name}`"),
                        item.span(),
                        format!("no `{name}`"),
                        help,
                    );
                    return None;
                };
                self.spans.insert(format!("{table}[{i}].{name}"), v.span());
                match v.get_ref() {
                    DeValue::String(s) => Some(s.to_string()),
                    _ => {
                        self.error(
                            format!("`{name}` of [[{table}]] must be a string"),
                            v.span(),
                            "expected a string",
                            help,
                        );
                        None
                    }
                }
            };
            if let (Some(a), Some(b)) = (field(fields[0]), field(fields[1])) {
                out.push(([a, b], item.span()));
            }
        }
        out
    }

    /// An adoption names a resource the file declares, of a kind zinfra can adopt, each address once.
    fn check_adoptions(&mut self, adopt: &[Adopt], resources: &[Resource]) {
        let mut seen = std::collections::BTreeSet::new();
        for (i, a) in adopt.iter().enumerate() {
            let at = self
                .spans
                .get(&format!("adopt[{i}].address"))
                .unwrap_or(0..0);
            match resources.iter().find(|r| r.address == a.address) {
                None => self.error(
                    format!("`{}` is adopted but not declared", a.address),
                    at.clone(),
                    "not in the file",
                    format!(
                        "declare `[{}]` with the settings the resource is to have",
                        a.address
                    ),
                ),
                Some(r) if crate::kinds::kind(&r.kind).is_some_and(|k| !k.adoptable) => self.error(
                    format!("{} resources cannot be adopted", r.kind),
                    at.clone(),
                    "not adoptable",
                    "adoptable kinds: s3_bucket, dynamodb_table, iam_role, ecr_repository, ssm_parameter, kms_key (by its alias), route53_record",
                ),
                Some(_) => {}
            }
            if !seen.insert(a.address.clone()) {
                self.error(
                    format!("`{}` is in more than one [[adopt]]", a.address),
                    at,
                    "again here",
                    "each address adopts one resource",
                );
            }
        }
    }

    /// A move names a resource the file no longer declares (`from`) and one it does (`to`), of one
    /// taggable kind (zinfra re-tags the resource in place), each address at most once.
    fn check_moves(&mut self, moved: &[(Move, Range<usize>)], resources: &[Resource]) {
        let declared = |a: &str| resources.iter().any(|r| r.address == a);
        let mut seen = std::collections::BTreeSet::new();
        for (i, (m, _)) in moved.iter().enumerate() {
            let span = |p: &Self, f: &str| p.spans.get(&format!("moved[{i}].{f}"));
            let at = |p: &Self, f: &str| span(p, f).unwrap_or(0..0);
            if declared(&m.from) {
                let s = at(self, "from");
                self.error(
                    format!("`{}` is moved away but still declared", m.from),
                    s,
                    "still in the file",
                    format!("remove `[{}]`, or drop this [[moved]]", m.from),
                );
            }
            if !declared(&m.to) {
                let s = at(self, "to");
                self.error(
                    format!("`{}` is the target of a move but is not declared", m.to),
                    s,
                    "not in the file",
                    format!("declare `[{}]` (the resource's new address)", m.to),
                );
            }
            let (fk, tk) = (crate::model::kind_of(&m.from), crate::model::kind_of(&m.to));
            if fk != tk {
                let s = at(self, "to");
                self.error(
                    format!(
                        "a move keeps the kind: `{}` is a {fk}, `{}` a {tk}",
                        m.from, m.to
                    ),
                    s,
                    "another kind",
                    "a resource cannot change kind; declare the new one and let the old be deleted",
                );
            } else if crate::kinds::kind(fk).is_some_and(|k| !k.taggable) {
                let s = at(self, "from");
                self.error(
                    format!("{fk} resources cannot be moved"),
                    s,
                    "not movable",
                    "zinfra moves a resource by re-tagging it, and this kind carries no tags",
                );
            }
            for (f, a) in [("from", &m.from), ("to", &m.to)] {
                if !seen.insert(a.clone()) {
                    let s = at(self, f);
                    self.error(
                        format!("`{a}` is in more than one [[moved]]"),
                        s,
                        "again here",
                        "each address moves at most once",
                    );
                }
            }
        }
    }

    fn stack_info(&mut self, root: &DeTable<'_>) -> Option<StackInfo> {
        let Some((key, val)) = root.get_key_value("stack") else {
            self.diags.push(
                Diagnostic::new("missing `[stack]` table", Some(0..0), "expected here")
                    .help("add `[stack]` with `name`, `environment` and `region`"),
            );
            return None;
        };
        let DeValue::Table(t) = val.get_ref() else {
            self.error(
                "`stack` must be a table",
                key.span(),
                "not a table",
                "write `[stack]`",
            );
            return None;
        };
        for (k, _) in t.iter() {
            if !STACK_FIELDS.contains(&k.get_ref().as_ref()) {
                let help = did_you_mean(k.get_ref(), STACK_FIELDS.iter().copied())
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| format!("fields of [stack]: {}", STACK_FIELDS.join(", ")));
                self.error(
                    format!("unknown field `{}` in [stack]", k.get_ref()),
                    k.span(),
                    "unknown field",
                    help,
                );
            }
        }
        let get = |name: &str, p: &mut Self| -> Option<String> {
            match t.get(name) {
                Some(v) => {
                    match v.get_ref() {
                        DeValue::String(s) => Some(s.to_string()),
                        other => {
                            p.error(
                            format!("wrong type for `{name}` in [stack]: expected a string, found {}", other.type_str()),
                            v.span(),
                            "expected a string",
                            "",
                        );
                            None
                        }
                    }
                }
                None => {
                    p.error(
                        format!("missing required field `{name}` in [stack]"),
                        key.span(),
                        format!("[stack] needs `{name}`"),
                        "",
                    );
                    None
                }
            }
        };
        let name = get("name", self);
        let environment = get("environment", self);
        let region = get("region", self);
        let mut tags = Tags::new();
        if let Some(v) = t.get("tags")
            && let Some(Value::Map(m)) = self.value(&Ty::Map(&Ty::Str), v, "stack", "tags")
        {
            tags = m
                .into_iter()
                .filter_map(|(k, v)| Some((k, v.as_str()?.to_owned())))
                .collect();
        }
        if let Some(n) = &name {
            if !valid_stack_name(n) {
                let span = t.get("name").map(|v| v.span()).unwrap_or(key.span());
                self.error("invalid stack name", span, "in [stack]", STACK_NAME_HELP);
            }
            self.stack_name = n.clone();
        }
        self.spans.insert("stack".into(), key.span());
        let waivers = t
            .get("waivers")
            .map(|v| self.waivers(v, "stack"))
            .unwrap_or_default();
        for field in ["protected", "region", "tags"] {
            if let Some(v) = t.get(field) {
                self.spans.insert(format!("stack.{field}"), v.span());
            }
        }
        let protected = match t.get("protected") {
            None => false,
            Some(v) => match v.get_ref() {
                DeValue::Boolean(b) => *b,
                other => {
                    self.error(
                        format!(
                            "wrong type for `protected` in [stack]: expected a boolean, found {}",
                            other.type_str()
                        ),
                        v.span(),
                        "expected true or false",
                        "`protected = true` makes `zinfra destroy` refuse to run on this stack",
                    );
                    false
                }
            },
        };
        Some(StackInfo {
            name: name?,
            environment: environment?,
            region: region?,
            tags,
            protected,
            waivers,
            moved: Vec::new(),
            adopt: Vec::new(),
            outputs: BTreeMap::new(),
            variables: BTreeMap::new(),
        })
    }

    fn resource(
        &mut self,
        kind: &'static KindDef,
        name_key: &Spanned<std::borrow::Cow<'_, str>>,
        body: &DeSpanned<'_>,
    ) -> Option<Resource> {
        let name: &str = name_key.get_ref();
        let address = format!("{}.{name}", kind.name);
        self.spans.insert(address.clone(), name_key.span());
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            self.error(
                format!("invalid resource name `{name}`"),
                name_key.span(),
                "in this address",
                "use letters, digits, `_` and `-`",
            );
            return None;
        }
        let DeValue::Table(table) = body.get_ref() else {
            self.error(
                format!("`{address}` must be a table"),
                body.span(),
                "not a table",
                format!("write `[{address}]` followed by its fields"),
            );
            return None;
        };
        let before = self.diags.len();
        let mut tags = Tags::new();
        let mut depends_on = Vec::new();
        let mut timeout = None;
        let mut waivers = Vec::new();
        let mut allow_destroy = false;
        for (k, v) in table.iter() {
            let key: &str = k.get_ref();
            self.spans.insert(format!("{address}.{key}:key"), k.span());
            self.spans.insert(format!("{address}.{key}"), v.span());
            match key {
                "tags" if kind.taggable => {
                    if let Some(Value::Map(m)) = self.value(&Ty::Map(&Ty::Str), v, &address, "tags")
                    {
                        tags = m
                            .into_iter()
                            .filter_map(|(k, v)| Some((k, v.as_str()?.to_owned())))
                            .collect();
                    }
                }
                "depends_on" => {
                    static ANY: Ty = Ty::Str;
                    if let Some(Value::List(l)) =
                        self.value(&Ty::List(&ANY), v, &address, "depends_on")
                    {
                        depends_on = l
                            .into_iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect();
                    }
                }
                "waivers" => waivers = self.waivers(v, &address),
                "allow_destroy" => match v.get_ref() {
                    DeValue::Boolean(b) => allow_destroy = *b,
                    other => self.error(
                        format!(
                            "wrong type for `allow_destroy` in {address}: expected a boolean, found {}",
                            other.type_str()
                        ),
                        v.span(),
                        "expected true or false",
                        "`allow_destroy = true` lets apply delete or replace this resource and what it holds",
                    ),
                },
                "timeout" => match v.get_ref().as_str().and_then(crate::wait::parse) {
                    Some(d) => timeout = Some(d.as_secs()),
                    None => self.error(
                        format!("invalid timeout in {address}"),
                        v.span(),
                        "not a duration",
                        "write a duration such as \"90s\", \"20m\" or \"1h30m\"",
                    ),
                },
                _ if kind.field(key).is_none() => {
                    let mut names: Vec<&str> = kind.fields.iter().map(|f| f.name).collect();
                    names.push("depends_on");
                    names.push("timeout");
                    names.push("waivers");
                    names.push("allow_destroy");
                    if kind.taggable {
                        names.push("tags");
                    }
                    // A secret written as a value: its field is `x_from_env`.
                    let from_env = format!("{key}_from_env");
                    let help = names
                        .iter()
                        .find(|n| **n == from_env)
                        .copied()
                        .or_else(|| did_you_mean(key, names.iter().copied()))
                        .map(|s| format!("did you mean `{s}`?"))
                        .unwrap_or_else(|| {
                            format!("fields of {}: {}", kind.name, names.join(", "))
                        });
                    self.error(
                        format!("unknown field `{key}` in {address}"),
                        k.span(),
                        "unknown field",
                        help,
                    );
                }
                _ => {}
            }
        }
        let props = self.object(kind.fields, table, &address, "", name_key.span(), name);
        if self.diags.len() > before {
            return None;
        }
        Some(Resource {
            address,
            kind: kind.name.to_owned(),
            name: name.to_owned(),
            props: props?,
            tags,
            depends_on,
            timeout,
            waivers,
            allow_destroy,
        })
    }

    /// Fields of a resource or of a nested object: types, required fields, defaults.
    fn object(
        &mut self,
        fields: &[Field],
        table: &DeTable<'_>,
        address: &str,
        prefix: &str,
        header: Range<usize>,
        name: &str,
    ) -> Option<BTreeMap<String, Value>> {
        let mut out = BTreeMap::new();
        let mut ok = true;
        for f in fields {
            let path = format!("{prefix}{}", f.name);
            match table.get(f.name) {
                Some(v) => match self.value(&f.ty, v, address, &path) {
                    Some(val) => {
                        // `x_from_env` fields hold the secret that becomes `x`.
                        let key = f.name.strip_suffix("_from_env").unwrap_or(f.name);
                        out.insert(key.to_owned(), val);
                    }
                    None => ok = false,
                },
                None if f.required => {
                    let what = if prefix.is_empty() {
                        address.to_owned()
                    } else {
                        format!("{address}.{}", prefix.trim_end_matches('.'))
                    };
                    self.error(
                        format!("missing required field `{}` in {what}", f.name),
                        header.clone(),
                        format!("`{}` is required here", f.name),
                        format!("{}: {}", f.name, f.doc),
                    );
                    ok = false;
                }
                None => {
                    let d = match f.default {
                        FieldDefault::None => None,
                        FieldDefault::Bool(b) => Some(Value::Bool(b)),
                        FieldDefault::Int(i) => Some(Value::Int(i)),
                        FieldDefault::Str(s) => Some(Value::Str(s.to_owned())),
                        FieldDefault::Empty => Some(match f.ty {
                            Ty::Map(_) => Value::Map(BTreeMap::new()),
                            _ => Value::List(vec![]),
                        }),
                        FieldDefault::PhysicalName => Some(Value::Str(format!(
                            "{}-{}",
                            self.stack_name,
                            name.replace('_', "-")
                        ))),
                    };
                    if let Some(d) = d {
                        out.insert(f.name.to_owned(), d);
                    }
                }
            }
        }
        // A secret's version (`x_version`) rides on the secret `x`, which compares by it alone.
        let versions: Vec<(String, i64)> = out
            .iter()
            .filter(|(_, v)| matches!(v, Value::Secret(_)))
            .filter_map(|(k, _)| match out.get(&format!("{k}_version")) {
                Some(Value::Int(n)) => Some((k.clone(), *n)),
                _ => None,
            })
            .collect();
        for (k, n) in versions {
            if let Some(Value::Secret(s)) = out.get_mut(&k) {
                s.version = n;
            }
        }
        if !prefix.is_empty() {
            for (k, _) in table.iter() {
                let key: &str = k.get_ref();
                if !fields.iter().any(|f| f.name == key) {
                    let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
                    let help = did_you_mean(key, names.iter().copied())
                        .map(|s| format!("did you mean `{s}`?"))
                        .unwrap_or_else(|| format!("fields here: {}", names.join(", ")));
                    self.error(
                        format!(
                            "unknown field `{key}` in {address}.{}",
                            prefix.trim_end_matches('.')
                        ),
                        k.span(),
                        "unknown field",
                        help,
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    fn type_error(&mut self, ty: &Ty, v: &DeSpanned<'_>, address: &str, path: &str) {
        self.error(
            format!(
                "wrong type for `{path}` in {address}: expected {}, found {}",
                ty.describe(),
                v.get_ref().type_str()
            ),
            v.span(),
            format!("expected {}", ty.describe()),
            "",
        );
    }

    fn value(&mut self, ty: &Ty, v: &DeSpanned<'_>, address: &str, path: &str) -> Option<Value> {
        if let DeValue::String(s) = v.get_ref()
            && s.contains("${var.")
        {
            let s = self.substitute(s, v.span())?;
            let v = Spanned::new(v.span(), DeValue::String(s.into()));
            return self.value(ty, &v, address, path);
        }
        self.spans.insert(format!("{address}.{path}"), v.span());
        let dv = v.get_ref();
        match (ty, dv) {
            (Ty::Str, DeValue::String(s)) => Some(Value::Str(s.to_string())),
            (Ty::Int, DeValue::Integer(i)) => match i64::from_str_radix(
                i.as_str()
                    .replace('_', "")
                    .trim_start_matches('+')
                    .trim_start_matches("0x")
                    .trim_start_matches("0o")
                    .trim_start_matches("0b"),
                i.radix(),
            ) {
                Ok(n) => Some(Value::Int(n)),
                Err(_) => {
                    self.error(
                        format!("integer out of range for `{path}` in {address}"),
                        v.span(),
                        "too large",
                        "",
                    );
                    None
                }
            },
            (Ty::Bool, DeValue::Boolean(b)) => Some(Value::Bool(*b)),
            (Ty::Enum(options), DeValue::String(s)) => {
                if options.contains(&s.as_ref()) {
                    Some(Value::Str(s.to_string()))
                } else {
                    let help = match did_you_mean(s, options.iter().copied()) {
                        Some(m) => format!("did you mean \"{m}\"?"),
                        None => format!("expected {}", ty.describe()),
                    };
                    self.error(
                        format!("invalid value \"{s}\" for `{path}` in {address}"),
                        v.span(),
                        "not allowed here",
                        help,
                    );
                    None
                }
            }
            (Ty::Cidr, DeValue::String(s)) => match s.parse::<ipnet::Ipv4Net>() {
                Ok(net) if net.trunc() == net => Some(Value::Str(s.to_string())),
                Ok(net) => {
                    self.error(
                        format!("invalid CIDR block \"{s}\" for `{path}` in {address}: host bits are set"),
                        v.span(),
                        "not a network address",
                        format!("did you mean \"{}\"?", net.trunc()),
                    );
                    None
                }
                Err(_) => {
                    self.error(
                        format!("invalid CIDR block \"{s}\" for `{path}` in {address}"),
                        v.span(),
                        "not an IPv4 CIDR block",
                        "write it as `a.b.c.d/n`, e.g. \"10.0.0.0/16\"",
                    );
                    None
                }
            },
            (Ty::Ref(_, attr), DeValue::String(s)) => match s.split_once('.') {
                Some((k, n)) if !k.is_empty() && !n.is_empty() && !n.contains('.') => {
                    Some(Value::Ref(Ref {
                        address: s.to_string(),
                        attr: (*attr).to_owned(),
                    }))
                }
                _ => {
                    self.error(
                        format!("invalid reference \"{s}\" for `{path}` in {address}"),
                        v.span(),
                        "not an address",
                        format!(
                            "references name a resource as `kind.name`, e.g. \"{}.main\"",
                            match ty {
                                Ty::Ref(k, _) => k[0],
                                _ => "vpc",
                            }
                        ),
                    );
                    None
                }
            },
            (Ty::List(inner) | Ty::Set(inner), DeValue::Array(items)) => {
                let mut out = Vec::new();
                let mut ok = true;
                for (i, item) in items.iter().enumerate() {
                    match self.value(inner, item, address, &format!("{path}[{i}]")) {
                        Some(x) => out.push(x),
                        None => ok = false,
                    }
                }
                ok.then_some(Value::List(out))
            }
            (Ty::Map(inner), DeValue::Table(t)) => {
                let mut out = BTreeMap::new();
                let mut ok = true;
                for (k, item) in t.iter() {
                    match self.value(inner, item, address, &format!("{path}.{}", k.get_ref())) {
                        Some(x) => {
                            out.insert(k.get_ref().to_string(), x);
                        }
                        None => ok = false,
                    }
                }
                ok.then_some(Value::Map(out))
            }
            (Ty::Object(fields), DeValue::Table(t)) => {
                let name = address
                    .split_once('.')
                    .map(|(_, n)| n)
                    .unwrap_or(address)
                    .to_owned();
                self.object(fields, t, address, &format!("{path}."), v.span(), &name)
                    .map(Value::Map)
            }
            (Ty::Json, DeValue::String(s)) => match serde_json::from_str::<serde_json::Value>(s) {
                Ok(j) => Some(Value::Json(j)),
                Err(e) => {
                    self.error(
                        format!("invalid JSON for `{path}` in {address}: {e}"),
                        v.span(),
                        "not valid JSON",
                        "or write the document as a TOML table",
                    );
                    None
                }
            },
            (Ty::Json, DeValue::Table(_)) => to_json(dv).map(Value::Json),
            (Ty::SecretEnv, DeValue::String(s)) => {
                if s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    self.error(
                        format!("invalid environment variable name \"{s}\""),
                        v.span(),
                        "not a variable name",
                        "use letters, digits and `_`",
                    );
                    return None;
                }
                // Write-only: the value is needed only when apply writes it, which apply checks.
                Some(Value::Secret(Secret {
                    env: s.to_string(),
                    version: 1,
                    value: (self.env)(s),
                }))
            }
            _ => {
                self.type_error(ty, v, address, path);
                None
            }
        }
    }
}

fn to_json(v: &DeValue<'_>) -> Option<serde_json::Value> {
    Some(match v {
        DeValue::String(s) => serde_json::Value::String(s.to_string()),
        DeValue::Integer(i) => {
            serde_json::Value::from(i.as_str().replace('_', "").parse::<i64>().ok()?)
        }
        DeValue::Float(f) => serde_json::Value::from(f.as_str().parse::<f64>().ok()?),
        DeValue::Boolean(b) => serde_json::Value::Bool(*b),
        DeValue::Datetime(d) => serde_json::Value::String(d.to_string()),
        DeValue::Array(a) => serde_json::Value::Array(
            a.iter()
                .map(|x| to_json(x.get_ref()))
                .collect::<Option<_>>()?,
        ),
        DeValue::Table(t) => serde_json::Value::Object(
            t.iter()
                .map(|(k, x)| Some((k.get_ref().to_string(), to_json(x.get_ref())?)))
                .collect::<Option<_>>()?,
        ),
    })
}

/// `${kind.name.attr}` references inside a policy document's strings.
pub fn json_refs(j: &serde_json::Value) -> Vec<Ref> {
    let mut out = Vec::new();
    fn walk(j: &serde_json::Value, out: &mut Vec<Ref>) {
        match j {
            serde_json::Value::String(s) => {
                let mut rest = s.as_str();
                while let Some(start) = rest.find("${") {
                    let Some(end) = rest[start..].find('}') else {
                        break;
                    };
                    let inner = &rest[start + 2..start + end];
                    let parts: Vec<&str> = inner.split('.').collect();
                    if parts.len() == 3 {
                        out.push(Ref {
                            address: format!("{}.{}", parts[0], parts[1]),
                            attr: parts[2].to_owned(),
                        });
                    } else {
                        out.push(Ref {
                            address: inner.to_owned(),
                            attr: String::new(),
                        });
                    }
                    rest = &rest[start + end + 1..];
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            serde_json::Value::Object(o) => o.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    walk(j, &mut out);
    out
}

/// Every reference a value holds: plain references and those inside policy documents.
pub fn value_refs(v: &Value, out: &mut Vec<Ref>) {
    match v {
        Value::Ref(r) => out.push(r.clone()),
        Value::Json(j) => out.extend(json_refs(j)),
        Value::List(l) => l.iter().for_each(|x| value_refs(x, out)),
        Value::Map(m) => m.values().for_each(|x| value_refs(x, out)),
        _ => {}
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
