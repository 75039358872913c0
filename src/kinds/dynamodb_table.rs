//! `dynamodb_table`: schema and checks. AWS calls: `src/drivers/dynamodb.rs`; tests: `tests/drivers/dynamodb.rs`.

use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, Holds, KindDef, Ty};

static ATTR_TYPE: Ty = Ty::Enum(&["S", "N", "B"]);

/// The longest one operation waits for AWS: a table or its indexes turning ACTIVE.
/// The driver's deadline; a resource's `timeout` overrides it.
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(10 * 60);

pub static KIND: KindDef = KindDef {
    name: "dynamodb_table",
    doc: "A DynamoDB table: encrypted at rest (with a CMK when `kms_key` is set), TTL and point-in-time recovery on.",
    notes: NOTES,
    fields: &[
        Field::new(
            "table_name",
            Ty::Str,
            "Table name; `<stack>-<name>` by default.",
        )
        .default(FieldDefault::PhysicalName)
        .force_new(),
        Field::new("hash_key", Ty::Str, "Partition key attribute.")
            .required()
            .force_new(),
        Field::new("range_key", Ty::Str, "Sort key attribute.").force_new(),
        Field::new(
            "attributes",
            Ty::Map(&ATTR_TYPE),
            "Key attribute types: `{ pk = \"S\" }`.",
        )
        .required()
        .force_new(),
        Field::new(
            "billing_mode",
            Ty::Enum(&["PAY_PER_REQUEST", "PROVISIONED"]),
            "Capacity mode.",
        )
        .default(FieldDefault::Str("PAY_PER_REQUEST")),
        Field::new("read_capacity", Ty::Int, "With PROVISIONED."),
        Field::new("write_capacity", Ty::Int, "With PROVISIONED."),
        Field::new(
            "kms_key",
            Ty::Ref(&["kms_key"], "arn"),
            "Customer-managed key for encryption at rest.",
        ),
        Field::new(
            "ttl_attribute",
            Ty::Str,
            "Attribute holding each item's expiry time.",
        )
        .default(FieldDefault::Str("expires_at")),
        Field::new("point_in_time_recovery", Ty::Bool, "Continuous backups.")
            .default(FieldDefault::Bool(true)),
        Field::new("deletion_protection", Ty::Bool, "Refuse deletion while on.")
            .default(FieldDefault::Bool(false)),
    ],
    physical_name: Some("table_name"),
    taggable: true,
    outputs: &["id", "arn"],
    validate,
    create_before_delete: false,
    holds: Some(Holds::always("its items")),
    adoptable: true,
    wait: Some(WAIT),
    account_singleton: false,
};

fn validate(cx: &ResourceCx<'_>) {
    if let Some(name) = cx.str("table_name")
        && (!(3..=255).contains(&name.len())
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)))
    {
        cx.error_at_value(
            "table_name",
            "invalid DynamoDB table name",
            "3 to 255 characters: letters, digits, `_`, `-` and `.`",
        );
    }
    for key in ["hash_key", "range_key"] {
        if let Some(k) = cx.str(key)
            && !cx.map_has("attributes", k)
        {
            cx.error_at_value(
                key,
                "key attribute has no type",
                &format!("add `{k} = \"S\"` to `attributes`"),
            );
        }
    }
    if cx.str("billing_mode") == Some("PAY_PER_REQUEST") {
        for f in ["read_capacity", "write_capacity"] {
            if !cx.is_null(f) {
                cx.error_at_value(
                    f,
                    "capacity is only for PROVISIONED tables",
                    "remove it, or set `billing_mode = \"PROVISIONED\"`",
                );
            }
        }
    }
    if cx.str("billing_mode") == Some("PROVISIONED")
        && (cx.is_null("read_capacity") || cx.is_null("write_capacity"))
    {
        cx.error_at_value(
            "billing_mode",
            "PROVISIONED needs capacity",
            "set `read_capacity` and `write_capacity`",
        );
    }
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"Checks:

- `table_name` is 3 to 255 characters: letters, digits, `_`, `-` and `.`.
- `hash_key` and `range_key` must have a type in `attributes`.
- `read_capacity` and `write_capacity` are required with `PROVISIONED` and not allowed with
  `PAY_PER_REQUEST`.

Limits:

- AWS allows one TTL change per table per hour. Moving TTL to another `ttl_attribute` takes two
  changes: disable on the old attribute, then enable on the new one. On AWS the second change therefore
  fails with a message that says so (`AWS allows one TTL change per table per hour; apply again
  later`), and the table has no TTL until you apply again an hour later.
- Without `kms_key`, the table is encrypted with an AWS owned key.
"##;
