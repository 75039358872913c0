//! `cloudfront_origin_access_control`: schema and checks. AWS calls: `src/drivers/cloudfront.rs`;
//! tests: `tests/drivers/cloudfront.rs`.

use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, KindDef, Ty};

pub static KIND: KindDef = KindDef {
    name: "cloudfront_origin_access_control",
    doc: "A CloudFront origin access control for S3 origins: CloudFront signs every origin request with SigV4, so the bucket can stay private.",
    notes: NOTES,
    fields: &[
        Field::new(
            "name",
            Ty::Str,
            "Name, unique in the account; `<stack>-<name>` by default.",
        )
        .default(FieldDefault::PhysicalName),
        Field::new(
            "signing_behavior",
            Ty::Enum(&["always"]),
            "CloudFront signs every request to the origin (the only setting zinfra allows).",
        )
        .default(FieldDefault::Str("always")),
    ],
    physical_name: Some("name"),
    // CloudFront cannot tag origin access controls: zinfra marks its own in their description.
    taggable: false,
    outputs: &["id"],
    validate,
    create_before_delete: false,
    holds: None,
    adoptable: false,
    wait: None,
    account_singleton: false,
};

fn validate(cx: &ResourceCx<'_>) {
    if let Some(name) = cx.str("name")
        && (name.is_empty() || name.len() > 64)
    {
        cx.error_at_value(
            "name",
            "invalid origin access control name",
            "1 to 64 characters",
        );
    }
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"An origin access control for S3 origins: CloudFront signs every request to the bucket with SigV4
(`signing_behavior = "always"`, protocol `sigv4`, origin type `s3`), so the bucket stays private.

Behaviour: CloudFront cannot tag origin access controls, so zinfra writes `zinfra <stack> <address>` as
the description and finds its own by listing them. Does not accept `tags`.

Outputs: `id`.
"##;
