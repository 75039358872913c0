//! The resource kinds reference (docs/kinds.md), generated from the schema: every kind's fields with
//! their types, defaults and whether a change replaces the resource, its notes, outputs and longest
//! wait, and an example taken from the reference stacks. `src/tests/docs.rs` keeps the file current.

use std::fmt::Write;

use crate::schema::{Field, FieldDefault, KindDef, Ty};

const INTRO: &str = "# Resource kinds

Generated from the schema (`src/kinds/<kind>.rs`) by `cargo test --lib kinds_doc_is_current`
(`ZINFRA_UPDATE_DOCS=1` rewrites it); do not edit by hand. The columns mean:

- **Required / default**: *required* means the field must be given. A value is the default used when
  the field is left out. *optional* means no default: the field is unmanaged when left out (AWS's
  value stands, see [Unmanaged fields](stack-file.md#unmanaged-fields)).
- **Replaces**: *yes* means a change to the field deletes the resource and creates it again (the plan
  marks it `# forces replacement`); *no* means the change is made in place. The schema alone decides
  this: plan and apply both read it, drivers never decide.
- **Write-only** fields are used when zinfra writes, and are never read back or compared.

Every kind also accepts `depends_on` (an array of addresses) and `timeout`, and every kind that AWS can
tag accepts `tags` (a table of strings). Every kind exposes `id`, most also `arn`,
and some more attributes, listed under each kind's *Outputs* (see
[References](stack-file.md#references)).
";

/// The reference: `example` gives a kind's example block from the reference stacks, if any.
pub fn reference(kinds: &[&KindDef], example: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::from(INTRO);
    out.push_str("\n| Kind | What it is |\n|---|---|\n");
    for k in kinds {
        let _ = writeln!(out, "| [`{0}`](#{0}) | {1} |", k.name, one_line(k.doc));
    }
    for k in kinds {
        kind_section(&mut out, k, example(k.name));
    }
    out
}

fn kind_section(out: &mut String, k: &KindDef, example: Option<String>) {
    let _ = write!(out, "\n## `{}`\n", k.name);
    // Notes that open with a longer form of the one-line doc replace it.
    let lead: Vec<&str> = k.doc.split_whitespace().take(4).collect();
    let notes_lead: Vec<&str> = k.notes.split_whitespace().take(4).collect();
    if lead != notes_lead {
        let _ = write!(out, "\n{}\n", k.doc);
    }
    if !k.fields.is_empty() {
        fields_table(out, k.fields);
        for f in k.fields {
            if let Some(inner) = object_fields(&f.ty) {
                let _ = write!(out, "\nFields of each `{}` entry:\n", f.name);
                fields_table(out, inner);
            }
        }
    }
    if !k.notes.trim().is_empty() {
        let _ = write!(out, "\n{}\n", k.notes.trim_end());
    }
    let mut facts = Vec::new();
    if !k.notes.contains("Outputs") {
        facts.push(format!(
            "Outputs: {}.",
            k.outputs
                .iter()
                .map(|o| format!("`{o}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some(w) = k.wait {
        facts.push(format!(
            "Longest wait for AWS: {} (a resource's `timeout` overrides it).",
            crate::wait::human(w)
        ));
    }
    if let Some(h) = k.holds {
        facts.push(format!(
            "Holds data ({}): a delete or replacement needs `--allow-destroy` or `allow_destroy = true`.",
            h.what
        ));
    }
    if k.adoptable {
        facts.push("An existing one can be taken over with `[[adopt]]`.".into());
    }
    if !facts.is_empty() {
        let _ = write!(out, "\n{}\n", facts.join(" "));
    }
    if let Some(ex) = example {
        let _ = write!(
            out,
            "\nFrom the reference stacks:\n\n```toml\n{}\n```\n",
            ex.trim_end()
        );
    }
}

fn fields_table(out: &mut String, fields: &[Field]) {
    out.push_str(
        "\n| Field | Type | Required / default | Replaces | Description |\n|---|---|---|---|---|\n",
    );
    for f in fields {
        let mut doc = one_line(f.doc);
        if f.write_only {
            doc.push_str(" **Write-only.**");
        }
        if let Some((_, how)) = f.normalize {
            let _ = write!(doc, " Compared {how}.");
        }
        if let Some(note) = f.replace_note {
            let _ = write!(doc, " Replaces: {note}.");
        }
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} |",
            f.name,
            ty_doc(&f.ty),
            default_doc(f),
            if f.force_new { "yes" } else { "no" },
            doc.replace('|', "\\|")
        );
    }
}

fn object_fields(ty: &Ty) -> Option<&'static [Field]> {
    match ty {
        Ty::Object(inner) => Some(inner),
        Ty::List(t) | Ty::Set(t) | Ty::Map(t) => object_fields(t),
        _ => None,
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn default_doc(f: &Field) -> String {
    if f.required {
        return "**required**".into();
    }
    match f.default {
        FieldDefault::None => "optional".into(),
        FieldDefault::Bool(b) => format!("`{b}`"),
        FieldDefault::Int(i) => format!("`{i}`"),
        FieldDefault::Str(s) => format!("`\"{s}\"`"),
        FieldDefault::PhysicalName => "`<stack>-<name>`".into(),
        FieldDefault::Empty => "empty".into(),
    }
}

fn refs(kinds: &[&str]) -> String {
    kinds
        .iter()
        .map(|k| format!("`{k}.<name>`"))
        .collect::<Vec<_>>()
        .join(" or ")
}

fn ty_doc(ty: &Ty) -> String {
    match ty {
        Ty::Str => "string".into(),
        Ty::Int => "integer".into(),
        Ty::Bool => "boolean".into(),
        Ty::Enum(v) => v
            .iter()
            .map(|s| format!("`\"{s}\"`"))
            .collect::<Vec<_>>()
            .join(" \\| "),
        Ty::Cidr => "CIDR string".into(),
        Ty::Ref(kinds, attr) => format!("reference to {} (reads its `{attr}`)", refs(kinds)),
        Ty::List(t) => format!("array of {}", plural(t)),
        Ty::Set(t) => format!("array of {}, compared as a set", plural(t)),
        Ty::Map(t) => format!("table of {}", plural(t)),
        Ty::Object(_) => "table with the fields below".into(),
        Ty::Json => "policy document (table or JSON string)".into(),
        Ty::SecretEnv => "name of an environment variable".into(),
    }
}

fn plural(ty: &Ty) -> String {
    match ty {
        Ty::Str => "strings".into(),
        Ty::Int => "integers".into(),
        Ty::Bool => "booleans".into(),
        Ty::Cidr => "CIDR strings".into(),
        Ty::Ref(kinds, attr) => format!("references to {} (reads their `{attr}`)", refs(kinds)),
        Ty::Object(_) => "tables with the fields below".into(),
        Ty::Json => "policy documents".into(),
        other => ty_doc(other),
    }
}
