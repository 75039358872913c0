//! `kms_key`: schema and checks. AWS calls: `src/drivers/kms.rs`; tests: `tests/drivers/kms.rs`.

use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, Grammar, Holds, KindDef, Ty};

pub static KIND: KindDef = KindDef {
    name: "kms_key",
    doc: "A symmetric customer-managed KMS key, with an alias and automatic rotation.",
    notes: NOTES,
    fields: &[
        Field::new("description", Ty::Str, "Description shown in the console."),
        Field::new(
            "alias",
            Ty::Str,
            "Alias, `alias/...`; moved in place when changed.",
        ),
        Field::new(
            "enable_key_rotation",
            Ty::Bool,
            "Yearly automatic rotation.",
        )
        .default(FieldDefault::Bool(true)),
        Field::new(
            "deletion_window_in_days",
            Ty::Int,
            "Waiting period (7-30) before a destroyed key is deleted.",
        )
        .default(FieldDefault::Int(7))
        .write_only(),
        Field::new(
            "policy",
            Ty::Json,
            "Key policy; AWS's default key policy when omitted.",
        )
        .policy(Grammar::Resource),
    ],
    physical_name: Some("alias"),
    taggable: true,
    outputs: &["id", "arn"],
    validate,
    create_before_delete: false,
    holds: Some(Holds::always(
        "the key material: whatever it encrypted cannot be decrypted after deletion",
    )),
    adoptable: true,
    wait: None,
    account_singleton: false,
};

fn validate(cx: &ResourceCx<'_>) {
    if let Some(alias) = cx.str("alias") {
        if !alias.starts_with("alias/") || alias.starts_with("alias/aws/") || alias.len() > 256 {
            cx.error_at_value(
                "alias",
                "invalid KMS alias",
                "must start with `alias/`, not `alias/aws/`, at most 256 characters",
            );
        } else if !alias["alias/".len()..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_-".contains(c))
            || alias.len() == 6
        {
            cx.error_at_value(
                "alias",
                "invalid KMS alias",
                "after `alias/` use letters, digits, `/`, `_` and `-`",
            );
        }
    }
    if let Some(days) = cx.int("deletion_window_in_days")
        && !(7..=30).contains(&days)
    {
        cx.error_at_value(
            "deletion_window_in_days",
            "deletion window out of range",
            "must be between 7 and 30 days",
        );
    }
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"Checks:

- `alias` starts with `alias/` but not with `alias/aws/`. It is at most 256 characters. After
  `alias/` it uses only letters, digits, `/`, `_` and `-`.
- `deletion_window_in_days` is between 7 and 30.

Outputs: `id` is the key id, `arn` is the key ARN.
"##;
