//! Checks on the parsed stack that need more than one field: references, names, CIDRs.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;

use crate::diagnostic::Diagnostic;
use crate::model::Value;
use crate::schema::ResourceCx;

/// Parse and fully validate a stack file. No network.
pub fn load(
    path: &str,
    source: String,
    env: crate::stack::EnvLookup<'_>,
) -> Result<crate::stack::Stack, Box<crate::stack::Invalid>> {
    load_named(path, source, env, None)
}

/// [`load`], with the stack's name replaced (`--stack-name`: one file, many ephemeral environments).
/// The name is set before defaults are applied, so every physical name follows it.
pub fn load_named(
    path: &str,
    source: String,
    env: crate::stack::EnvLookup<'_>,
    name: Option<&str>,
) -> Result<crate::stack::Stack, Box<crate::stack::Invalid>> {
    let invalid = |diags| {
        Box::new(crate::stack::Invalid {
            path: path.to_owned(),
            source: source.clone(),
            diags,
        })
    };
    let stack = crate::stack::parse_named(path, &source, env, name).map_err(invalid)?;
    let diags = check(&stack);
    if !diags.is_empty() {
        return Err(invalid(diags));
    }
    Ok(stack)
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
        let kind = crate::kinds::kind(&r.kind).expect("parsed kinds exist");
        let cx = ResourceCx {
            resource: r,
            region: &stack.info.region,
            stack: &stack.resources,
            spans: &stack.spans,
            diags: &diags,
        };
        (kind.validate)(&cx);
    }
    check_aws_constraints(stack, &diags);
    check_policy_grammar(stack, &diags);
    check_tags(stack, &diags);
    check_region_and_zones(stack, &diags);
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
        let kind = crate::kinds::kind(&r.kind).expect("parsed kinds exist");
        for f in kind.fields {
            let key = f.name.strip_suffix("_from_env").unwrap_or(f.name);
            if let Some(v) = r.props.get(key) {
                crate::stack::walk_refs(&f.ty, v, f.name, &mut |path, target_kinds, reference| {
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

fn check_physical_names(stack: &crate::stack::Stack, diags: &RefCell<Vec<Diagnostic>>) {
    let mut seen: HashMap<(&str, &str), &str> = HashMap::new();
    for r in &stack.resources {
        let kind = crate::kinds::kind(&r.kind).expect("parsed kinds exist");
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
    crate::kinds::kind(kind).map(|k| k.outputs).unwrap_or(&[])
}

/// Every value zinfra sends, against the constraint AWS's model documents for its API member
/// (src/constraints): lengths, patterns, ranges and enums.
/// A value the kind's own checks already reported keeps only their (more specific) diagnostic; an
/// empty string in an optional field means "none" in zinfra and is not sent.
fn check_aws_constraints(stack: &crate::stack::Stack, diags: &RefCell<Vec<Diagnostic>>) {
    let reported: std::collections::HashSet<Option<Range<usize>>> =
        diags.borrow().iter().map(|d| d.span.clone()).collect();
    for r in &stack.resources {
        let kind = crate::kinds::kind(&r.kind).expect("parsed kinds exist");
        for (path, entry) in crate::constraints::entries(&r.kind) {
            let crate::constraints::Entry::Aws(api, c) = entry else {
                continue;
            };
            let required = kind.field(path).is_some_and(|f| f.required);
            for (at, v) in crate::constraints::values_at(&r.props, path) {
                if matches!(v, Value::Str(s) if s.is_empty()) && !required {
                    continue;
                }
                let span = stack.spans.value(&r.address, &at);
                if reported.contains(&span) {
                    continue;
                }
                if let Some(problem) = crate::constraints::violation(c, v) {
                    let shown = match v {
                        Value::Str(s) => format!("\"{s}\""),
                        Value::Int(i) => i.to_string(),
                        _ => String::new(),
                    };
                    diags.borrow_mut().push(
                        Diagnostic::new(
                            format!("`{at}` = {shown} {problem}"),
                            span,
                            format!("in {}", r.address),
                        )
                        .help(format!("AWS would refuse it at apply ({api})")),
                    );
                }
            }
        }
    }
}

/// AWS's tag limit per resource; zinfra's own tags (`crate::model::ownership_tags`, and
/// `zinfra:secret-version` on a resource holding a secret) count against it.
const MAX_TAGS: usize = 50;

/// AWS's tag rules: keys 1 to 128 characters, values up to 256, letters, digits, spaces and
/// `_ . : / = + - @`, no `aws:` prefix (reserved), at most 50 per resource with zinfra's own.
fn check_tags(stack: &crate::stack::Stack, diags: &RefCell<Vec<Diagnostic>>) {
    static ALLOWED: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$").expect("tag pattern")
    });
    let report = |msg: String, span: Option<Range<usize>>, label: String, help: &str| {
        diags
            .borrow_mut()
            .push(Diagnostic::new(msg, span, label).help(help.to_owned()));
    };
    let check_set = |tags: &crate::model::Tags, owner: &str, span: Option<Range<usize>>| {
        for (k, v) in tags {
            let key_chars = k.chars().count();
            if k.to_ascii_lowercase().starts_with("aws:") || k.starts_with("zinfra:") {
                report(
                    format!("tag key `{k}` uses a reserved prefix"),
                    span.clone(),
                    format!("in {owner}"),
                    "`aws:` belongs to AWS and `zinfra:` to zinfra's ownership tags; pick another key",
                );
            } else if key_chars == 0 || key_chars > 128 {
                report(
                    format!("tag key `{k}` is {key_chars} characters long; AWS accepts 1 to 128"),
                    span.clone(),
                    format!("in {owner}"),
                    "shorten the key",
                );
            } else if v.chars().count() > 256 {
                report(
                    format!(
                        "the value of tag `{k}` is {} characters long; AWS accepts at most 256",
                        v.chars().count()
                    ),
                    span.clone(),
                    format!("in {owner}"),
                    "shorten the value",
                );
            } else if let Some(bad) = [k, v].into_iter().find(|s| !ALLOWED.is_match(s)) {
                report(
                    format!("tag `{k}` = \"{v}\" has a character AWS refuses in `{bad}`"),
                    span.clone(),
                    format!("in {owner}"),
                    "tags take letters, digits, spaces and _ . : / = + - @",
                );
            }
        }
    };
    check_set(&stack.info.tags, "[stack]", stack.spans.get("stack.tags"));
    for r in &stack.resources {
        if !r.tags.is_empty() {
            check_set(&r.tags, &r.address, stack.spans.value(&r.address, "tags"));
        }
        let taggable = crate::kinds::kind(&r.kind).is_some_and(|k| k.taggable);
        if !taggable {
            continue;
        }
        let mut all = stack.info.tags.clone();
        all.extend(r.tags.clone());
        let secret = r.props.values().any(|v| matches!(v, Value::Secret(_)));
        let ours = crate::model::ownership_tags(&stack.info.name, &r.address, &stack.info.region)
            .len()
            + usize::from(secret);
        if all.len() + ours > MAX_TAGS {
            diags.borrow_mut().push(
                Diagnostic::new(
                    format!(
                        "{} would carry {} tags: {} of the stack and its own, and {ours} of zinfra's; AWS allows {MAX_TAGS}",
                        r.address,
                        all.len() + ours,
                        all.len()
                    ),
                    stack.spans.value(&r.address, "tags"),
                    format!("in {}", r.address),
                )
                .help({
                    let over = all.len() + ours - MAX_TAGS;
                    format!(
                        "zinfra adds zinfra:stack, zinfra:address and zinfra:region{}; drop {over} tag{}",
                        if secret { " and zinfra:secret-version" } else { "" },
                        if over == 1 { "" } else { "s" }
                    )
                }),
            );
        }
    }
}

/// The stack's region exists (in the `aws` partition), and every availability zone is one of it.
fn check_region_and_zones(stack: &crate::stack::Stack, diags: &RefCell<Vec<Diagnostic>>) {
    let region = stack.info.region.as_str();
    let Some(zones) = crate::constraints::zones(region) else {
        let help = match crate::diagnostic::did_you_mean(region, crate::constraints::regions()) {
            Some(s) => format!("did you mean \"{s}\"?"),
            None => "use a region code such as \"eu-west-1\"".to_owned(),
        };
        diags.borrow_mut().push(
            Diagnostic::new(
                format!("region \"{region}\" does not exist"),
                stack.spans.get("stack.region"),
                "in [stack]",
            )
            .help(help),
        );
        return;
    };
    for r in &stack.resources {
        let Some(az) = r.props.get("availability_zone").and_then(Value::as_str) else {
            continue;
        };
        // A region whose zones the table does not list yet: only the prefix can be checked.
        let known = if zones.is_empty() {
            az.strip_prefix(region)
                .is_some_and(|l| l.len() == 1 && l.chars().all(|c| c.is_ascii_lowercase()))
        } else {
            zones.contains(&az)
        };
        if !known {
            let help = if zones.is_empty() {
                format!("zones of {region} are named {region}a, {region}b, …")
            } else {
                format!("{region} has {}", zones.join(", "))
            };
            diags.borrow_mut().push(
                Diagnostic::new(
                    format!("availability zone \"{az}\" is not in the stack's region {region}"),
                    stack.spans.value(&r.address, "availability_zone"),
                    format!("in {}", r.address),
                )
                .help(help),
            );
        }
    }
}

/// Policy documents follow AWS's grammar (crate::policy::grammar_errors): Version, Effect, the
/// elements a statement may have, and what a trust, role or resource policy must name.
fn check_policy_grammar(stack: &crate::stack::Stack, diags: &RefCell<Vec<Diagnostic>>) {
    for r in &stack.resources {
        let kind = crate::kinds::kind(&r.kind).expect("parsed kinds exist");
        for f in kind.fields {
            let (Some(grammar), Some(v)) = (f.policy, r.props.get(f.name)) else {
                continue;
            };
            let field = f.name;
            let docs: Vec<(String, &serde_json::Value)> = match v {
                Value::Json(j) => vec![(field.to_owned(), j)],
                Value::Map(m) => m
                    .iter()
                    .filter_map(|(k, v)| match v {
                        Value::Json(j) => Some((format!("{field}.{k}"), j)),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            for (at, doc) in docs {
                for (element, problem) in crate::policy::grammar_errors(doc, grammar) {
                    let shown = if element.is_empty() {
                        at.clone()
                    } else {
                        format!("{at}: {element}")
                    };
                    diags.borrow_mut().push(
                        Diagnostic::new(
                            format!("invalid policy in `{shown}`: {problem}"),
                            stack.spans.value(&r.address, &at),
                            format!("in {}", r.address),
                        )
                        .help("AWS would refuse the document at apply; see the IAM JSON policy element reference"),
                    );
                }
            }
        }
    }
}
