//! `route53_record`: schema and checks. AWS calls: `src/drivers/route53.rs`; tests: `tests/drivers/route53.rs`.

use crate::kinds::route53_zone::{domain_name, normalize};
use crate::model::Value;
use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, KindDef, Ty};

static RECORD: Ty = Ty::Str;

pub static KIND: KindDef = KindDef {
    name: "route53_record",
    doc: "A DNS record in the stack's zone: plain values, or an alias to a load balancer or distribution by its name (never a static IP).",
    notes: NOTES,
    fields: &[
        Field::new(
            "zone",
            Ty::Ref(&["route53_zone"], "id"),
            "The zone, e.g. `route53_zone.main`.",
        )
        .required()
        .force_new(),
        Field::new(
            "name",
            Ty::Str,
            "Full record name inside the zone, e.g. `api.dev.zenoo.example`.",
        )
        .required()
        .force_new(),
        Field::new(
            "type",
            Ty::Enum(&["A", "AAAA", "CNAME", "TXT", "MX", "CAA", "SRV"]),
            "Record type.",
        )
        .required()
        .force_new(),
        Field::new(
            "ttl",
            Ty::Int,
            "Seconds; required with `records`, not allowed with `alias`.",
        ),
        Field::new(
            "records",
            Ty::Set(&RECORD),
            "Values (TXT values in double quotes); or give `alias`.",
        ),
        Field::new(
            "alias",
            Ty::Ref(&["lb", "cloudfront_distribution"], "alias_target"),
            "Alias to a load balancer or distribution, e.g. `lb.web`.",
        ),
        Field::new(
            "evaluate_target_health",
            Ty::Bool,
            "With `alias`: answer only while the target is healthy.",
        )
        .default(FieldDefault::Bool(false)),
    ],
    physical_name: None,
    // Route53 records carry no tags; they are found from their zone (see docs/kinds.md, `route53_record`).
    taggable: false,
    outputs: &["id", "fqdn"],
    validate,
    create_before_delete: false,
    holds: None,
    adoptable: true,
    wait: None,
    account_singleton: false,
};

fn validate(cx: &ResourceCx<'_>) {
    let has_records = !cx.is_null("records");
    let has_alias = !cx.is_null("alias");
    match (has_records, has_alias) {
        (true, true) => cx.error_at_value(
            "alias",
            "a record has either `records` or `alias`, not both",
            "remove `records` to point at the target by name, or remove `alias`",
        ),
        (false, false) => cx.error_at_header(
            "record without values",
            "give `records = [...]` with `ttl`, or `alias = \"lb.<name>\"`",
        ),
        _ => {}
    }
    if has_records && cx.is_null("ttl") {
        cx.error_at_value("records", "`records` need a `ttl`", "add e.g. `ttl = 300`");
    }
    if has_alias && !cx.is_null("ttl") {
        cx.error_at_value(
            "ttl",
            "an alias record has no TTL",
            "remove `ttl`: Route53 answers with the target's TTL",
        );
    }
    if has_alias && !matches!(cx.str("type"), Some("A" | "AAAA")) {
        cx.error_at_value(
            "type",
            "an alias to a load balancer or distribution is an `A` or `AAAA` record",
            "write `type = \"A\"`",
        );
    }
    if !has_alias && cx.get("evaluate_target_health") == Some(&Value::Bool(true)) {
        cx.error_at_value(
            "evaluate_target_health",
            "`evaluate_target_health` needs `alias`",
            "remove it, or point the record at a target with `alias`",
        );
    }
    if let Some(ttl) = cx.int("ttl")
        && !(0..=2_147_483_647).contains(&ttl)
    {
        cx.error_at_value("ttl", "invalid TTL", "0 to 2147483647 seconds");
    }
    let Some(name) = cx.str("name") else { return };
    if let Err(why) = domain_name(name, true) {
        cx.error_at_value("name", "invalid record name", why);
        return;
    }
    if let Some(zone) = cx.referenced("zone")
        && let Some(zone_name) = zone.props.get("name").and_then(Value::as_str)
    {
        let (n, z) = (normalize(name), normalize(zone_name));
        if n != z && !n.ends_with(&format!(".{z}")) {
            cx.error_at_value(
                "name",
                &format!("record name `{name}` is outside its zone `{zone_name}`"),
                &format!("write the full name, ending in `{z}`"),
            );
        }
    }
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"Checks:

- Exactly one of `records` (with `ttl`) and `alias` (without `ttl`).
- An alias is an `A` or `AAAA` record; `evaluate_target_health = true` needs `alias`.
- `name` is a valid DNS name (a leading `*` label is allowed) and lies inside the zone's `name`.

Behaviour:

- Records carry no tags, so zinfra finds them from their zone. A record belongs to the stack when its
  ownership record says so: a TXT record `zinfra-<type>.<name>` (`zinfra-<type>-wildcard.<rest>` for a
  wildcard) holding `"heritage=zinfra,zinfra/stack=<stack>,zinfra/address=<address>"`, external-dns's
  registry. It is created and deleted in the same atomic batch as the record, so there is no limit on
  how many records a stack owns per zone, and a record removed from the file is still found (and
  deleted) by it. Records written before the registry are owned through zone tags
  `zinfra:record:<name>`; they are still read, and their next change writes the registry entry.
- A new record is created with `CREATE`, never `UPSERT`: a record of that name and type made by hand is
  an error in the plan (and the batch would fail), never overwritten, unless the file adopts it
  (`[[adopt]]` with id `<zone id>_<name>_<TYPE>`; see [docs/guards.md](../docs/guards.md)).
- A change to `ttl`, `records`, `alias` or `evaluate_target_health` deletes the old record set and creates
  the new one in one atomic `ChangeResourceRecordSets` batch, so a plain record can become an alias in
  place.
- An alias target publishes `alias_target` = `<hosted zone id>/<dns name>`: `lb` does; so must any other
  kind listed in `alias`.

Example:

```toml
[route53_record.api]
zone = "route53_zone.main"
name = "api.dev.zenoo.example"
type = "A"
alias = "lb.web"
evaluate_target_health = true
```

Outputs: `id` is `<zone id>_<name>_<type>`, `fqdn` is the record name. Records have no ARN.
"##;
