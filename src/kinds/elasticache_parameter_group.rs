//! `elasticache_parameter_group`: schema and checks. AWS calls: `src/drivers/elasticache.rs`; tests: `tests/drivers/elasticache.rs`.

use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, KindDef, Ty};

static VALUE: Ty = Ty::Str;

pub static KIND: KindDef = KindDef {
    name: "elasticache_parameter_group",
    doc: "Redis engine parameters for a replication group. Only the parameters you declare differ from the engine's defaults: one set outside zinfra shows as drift and the next apply resets it.",
    notes: NOTES,
    fields: &[
        Field::new(
            "name",
            Ty::Str,
            "Parameter group name; `<stack>-<name>` by default.",
        )
        .default(FieldDefault::PhysicalName)
        .force_new(),
        Field::new(
            "family",
            Ty::Str,
            "Engine family, e.g. `redis7` for Redis 7.x.",
        )
        .required()
        .force_new(),
        Field::new(
            "description",
            Ty::Str,
            "Description (AWS cannot change it).",
        )
        .default(FieldDefault::Str("Managed by zinfra"))
        .force_new(),
        Field::new(
            "parameters",
            Ty::Map(&VALUE),
            "Parameter values by name, e.g. `{ maxmemory-policy = \"allkeys-lru\" }`.",
        )
        .default(FieldDefault::Empty),
    ],
    physical_name: Some("name"),
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
    if let Some(name) = cx.str("name") {
        let ok = !name.is_empty()
            && name.len() <= 255
            && name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !name.ends_with('-')
            && !name.contains("--");
        if !ok {
            cx.error_at_value(
                "name",
                "invalid ElastiCache parameter group name",
                "at most 255 letters, digits and single hyphens, starting with a letter",
            );
        }
    }
    if let Some(family) = cx.str("family")
        && !family.strip_prefix("redis").is_some_and(|v| {
            // `redis7`, `redis6.x`, `redis5.0` …
            v.starts_with(|c: char| c.is_ascii_digit())
                && v.chars()
                    .all(|c| c.is_ascii_digit() || c == '.' || c == 'x')
        })
    {
        cx.error_at_value(
            "family",
            "unknown Redis parameter group family",
            "use the family of the engine version, e.g. `redis7` for 7.x or `redis6.x` for 6.x",
        );
    }
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"Redis engine parameters for a replication group. Only the parameters you declare differ from the engine's
defaults: one set outside zinfra shows as drift, and the next apply resets it.

Checks: `family` is a Redis family (`redis7`, `redis6.x`, …), and a replication group using the group
runs a version of that family (`… is for family redis6.x, not Redis 7.1`).

Parameters are read with `DescribeCacheParameters` (`Source = user`), set with
`ModifyCacheParameterGroup` and removed with `ResetCacheParameterGroup` (20 a call).

```toml
[elasticache_parameter_group.redis]
family = "redis7"
parameters = { maxmemory-policy = "volatile-lru" }
```
"##;
