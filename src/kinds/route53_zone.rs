//! `route53_zone`: schema and checks. AWS calls: `src/drivers/route53.rs`; tests: `tests/drivers/route53.rs`.

use crate::schema::{Default, Field, Holds, KindDef, Ty};
use crate::validate::ResourceCx;

pub static KIND: KindDef = KindDef {
    name: "route53_zone",
    doc: "A public Route53 hosted zone: the environment's domain, where its records and certificate validation records live.",
    fields: &[
        Field::new(
            "name",
            Ty::Str,
            "Domain name, e.g. `dev.zenoo.example` (no trailing dot needed).",
        )
        .required()
        .force_new(),
        Field::new("comment", Ty::Str, "Zone comment.").default(Default::Str("Managed by zinfra")),
    ],
    physical_name: Some("name"),
    taggable: true,
    outputs: &["id", "arn", "zone_id", "name_servers"],
    validate,
    create_before_delete: false,
    holds: Some(Holds::always(
        "its records and delegation: a new zone gets new name servers",
    )),
    adoptable: false,
    wait: None,
    account_singleton: false,
};

fn validate(cx: &ResourceCx<'_>) {
    if let Some(name) = cx.str("name")
        && let Err(why) = domain_name(name, false)
    {
        cx.error_at_value("name", "invalid domain name", why);
    }
}

/// DNS name rules: labels of 1-63 letters, digits and hyphens (a leading `*` label where `wildcard`),
/// at most 253 characters, one trailing dot allowed.
pub fn domain_name(name: &str, wildcard: bool) -> Result<(), &'static str> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.len() > 253 {
        return Err("a domain name has 1 to 253 characters");
    }
    for (i, label) in name.split('.').enumerate() {
        if wildcard && i == 0 && label == "*" {
            continue;
        }
        let ok = (1..=63).contains(&label.len())
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(
                "each label has 1 to 63 letters, digits, `-` or `_`, and does not start or end with `-`",
            );
        }
    }
    Ok(())
}

/// A name without its trailing dot, in lower case, as zinfra compares DNS names.
pub fn normalize(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}
