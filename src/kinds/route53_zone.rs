//! `route53_zone`: schema and checks. AWS calls: `src/drivers/route53.rs`; tests: `tests/drivers/route53.rs`.

use crate::model::Value;
use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, Holds, KindDef, Ty};

pub static KIND: KindDef = KindDef {
    name: "route53_zone",
    doc: "A public Route53 hosted zone: the environment's domain, where its records and certificate validation records live.",
    notes: NOTES,
    fields: &[
        Field::new(
            "name",
            Ty::Str,
            "Domain name, e.g. `dev.zenoo.example` (no trailing dot needed).",
        )
        .required()
        .force_new()
        .normalized(normalize, "in lower case, without a trailing dot"),
        Field::new("comment", Ty::Str, "Zone comment.").default(FieldDefault::Str("Managed by zinfra")),
        Field::new(
            "parent_zone",
            Ty::Ref(&["route53_zone"], "id"),
            "For a subdomain: the stack's zone of the parent domain, where zinfra writes the NS record that delegates to this zone's name servers.",
        )
        // Not set: no delegation by the stack (one it wrote before is removed), not "unmanaged".
        .default(FieldDefault::Str("")),
        Field::new(
            "delegation",
            Ty::Enum(&["external"]),
            "For a subdomain whose parent zone is not in the stack: `external` says it is delegated there by hand, with this zone's `name_servers` output.",
        )
        .write_only(),
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
    let Some(name) = cx.str("name") else {
        return;
    };
    if let Err(why) = domain_name(name, false) {
        cx.error_at_value("name", "invalid domain name", why);
        return;
    }
    let name = normalize(name);
    match (cx.referenced("parent_zone"), cx.str("delegation")) {
        (Some(_), Some(_)) => cx.error_at_value(
            "delegation",
            "a zone is delegated either by its `parent_zone` or by hand (`delegation = \"external\"`), not both",
            "remove one",
        ),
        (Some(parent), None) => {
            let parent_name = parent
                .props
                .get("name")
                .and_then(Value::as_str)
                .map(normalize)
                .unwrap_or_default();
            if !name.ends_with(&format!(".{parent_name}")) {
                cx.error_at_value(
                    "parent_zone",
                    &format!("{} ({parent_name}) is not a parent domain of {name}", parent.address),
                    "a parent zone's name is a suffix of this zone's, e.g. zenoo.example for dev.zenoo.example",
                );
            }
        }
        // A subdomain that says nothing is the baseline's to report (ZS-DNS-001).
        _ => {}
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

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"Checks: `name` is a valid DNS name (labels of 1 to 63 letters, digits, `-` or `_`; at most 253 characters);
`parent_zone` names a zone whose name is a suffix of this one's, and not together with `delegation`. A
subdomain (three labels or more, `dev.zenoo.example`) that sets neither is a baseline finding
(ZS-DNS-001): nobody can resolve it until its parent delegates to it, so the file says who does.

Behaviour:

- Route53 is global and outside the Resource Groups Tagging API, so zones are found by listing hosted
  zones and reading their tags (`ListTagsForResources`, 10 zones per call). A plan does this once, and
  reads each stack zone's records once, for zones, records and certificates together.
- The caller reference of a zone zinfra creates is `zinfra/<stack>/<address>/<time>`. A zone left untagged
  by a create that was cut off is recognised by it and taken over; another stack's zone never is.
- Destroying a zone also removes the ACM validation CNAMEs that `acm_certificate` wrote into it (see
  below). Any other record not managed by zinfra stops the delete with AWS's `HostedZoneNotEmpty`.
- With `parent_zone`, the zone's NS record (its four name servers, TTL two days) is CREATEd in the parent
  zone with its ownership record (`zinfra-ns.<name>`) in one change batch, so a delegation made by hand
  is never overwritten. Dropping `parent_zone` deletes it; destroying the zone deletes it first. With
  `delegation = "external"`, `zinfra output STACK route53_zone.main.name_servers` prints what to put in
  the parent.

Example:

```toml
[route53_zone.main]
name = "dev.zenoo.example"
comment = "zenoo-dev public zone"
```

Outputs: `id` and `zone_id` are the zone id (`Z…`, without `/hostedzone/`), `arn` is
`arn:aws:route53:::hostedzone/<id>`, `name_servers` is the delegation set, comma-separated.
"##;
