//! `iam_role`: schema and checks. AWS calls: `src/drivers/iam.rs`; tests: `tests/drivers/iam.rs`.

use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, Grammar, KindDef, Ty};

static STR: Ty = Ty::Str;
static JSON: Ty = Ty::Json;

pub static KIND: KindDef = KindDef {
    name: "iam_role",
    doc: "An IAM role: trust policy, managed policy attachments and inline policies.",
    notes: NOTES,
    fields: &[
        Field::new(
            "role_name",
            Ty::Str,
            "Role name; `<stack>-<name>` by default.",
        )
        .default(FieldDefault::PhysicalName)
        .force_new(),
        Field::new("path", Ty::Str, "Role path.")
            .default(FieldDefault::Str("/"))
            .force_new(),
        Field::new("description", Ty::Str, "Description.").default(FieldDefault::Str("")),
        Field::new("assume_role_policy", Ty::Json, "Trust policy.")
            .required()
            .policy(Grammar::Trust),
        Field::new(
            "managed_policy_arns",
            Ty::Set(&STR),
            "Managed policies to attach; none unless declared.",
        )
        .default(FieldDefault::Empty),
        Field::new(
            "inline_policies",
            Ty::Map(&JSON),
            "Inline policies by name; none unless declared.",
        )
        .default(FieldDefault::Empty)
        .policy(Grammar::Identity),
        Field::new("max_session_duration", Ty::Int, "Seconds, 3600 to 43200.")
            .default(FieldDefault::Int(3600)),
    ],
    physical_name: Some("role_name"),
    taggable: true,
    outputs: &["id", "arn", "name"],
    validate,
    create_before_delete: false,
    holds: None,
    adoptable: true,
    wait: None,
    account_singleton: false,
};

fn validate(cx: &ResourceCx<'_>) {
    if let Some(name) = cx.str("role_name")
        && (name.is_empty()
            || name.len() > 64
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)))
    {
        cx.error_at_value(
            "role_name",
            "invalid IAM role name",
            "1 to 64 characters: letters, digits and `+=,.@_-`",
        );
    }
    if let Some(d) = cx.int("max_session_duration")
        && !(3600..=43200).contains(&d)
    {
        cx.error_at_value(
            "max_session_duration",
            "session duration out of range",
            "must be between 3600 and 43200 seconds",
        );
    }
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"Checks:

- `role_name` is 1 to 64 characters: letters, digits and `+=,.@_-`.
- `max_session_duration` is between 3600 and 43200.

A policy attached or an inline policy added outside zinfra shows in the next plan as drift, and apply
removes it.

Outputs: `id` and `name` are the role name, `arn` is the role ARN.
"##;
