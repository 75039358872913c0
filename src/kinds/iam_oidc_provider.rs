//! `iam_oidc_provider`: schema and checks. AWS calls: `src/drivers/iam.rs`; tests: `tests/drivers/iam.rs`.

use crate::schema::ResourceCx;
use crate::schema::{Field, KindDef, Ty};

static STR: Ty = Ty::Str;

pub static KIND: KindDef = KindDef {
    name: "iam_oidc_provider",
    doc: "An IAM OpenID Connect identity provider, e.g. GitHub Actions' `https://token.actions.githubusercontent.com`.",
    notes: NOTES,
    fields: &[
        Field::new("url", Ty::Str, "Issuer URL (https).")
            .required()
            .force_new(),
        Field::new(
            "client_ids",
            Ty::Set(&STR),
            "Audiences, e.g. `sts.amazonaws.com`.",
        )
        .required(),
        Field::new(
            "thumbprints",
            Ty::Set(&STR),
            "Server certificate thumbprints (40 hex digits).",
        ),
    ],
    physical_name: Some("url"),
    taggable: true,
    outputs: &["id", "arn"],
    validate,
    create_before_delete: false,
    holds: None,
    adoptable: false,
    wait: None,
    account_singleton: false,
};

fn validate(cx: &ResourceCx<'_>) {
    if let Some(url) = cx.str("url")
        && !url.starts_with("https://")
    {
        cx.error_at_value(
            "url",
            "OIDC provider URLs use https",
            "start the URL with `https://`",
        );
    }
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"Checks: `url` starts with `https://`.

Outputs: `id` and `arn` are both the provider ARN. An account has at most one provider per URL; see
[Limits and known gaps](limits.md#limits-and-known-gaps).
"##;
