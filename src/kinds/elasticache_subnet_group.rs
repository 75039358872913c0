//! `elasticache_subnet_group`: schema and checks. AWS calls: `src/drivers/elasticache.rs`; tests: `tests/drivers/elasticache.rs`.

use crate::model::Value;
use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, KindDef, Ty};

static SUBNET: Ty = Ty::Ref(&["subnet"], "id");

pub static KIND: KindDef = KindDef {
    name: "elasticache_subnet_group",
    doc: "The subnets an ElastiCache replication group runs in: private subnets only, so the cache is reachable only inside the VPC.",
    notes: NOTES,
    fields: &[
        Field::new(
            "name",
            Ty::Str,
            "Subnet group name; `<stack>-<name>` by default.",
        )
        .default(FieldDefault::PhysicalName)
        .force_new(),
        Field::new("description", Ty::Str, "Description.")
            .default(FieldDefault::Str("Managed by zinfra")),
        Field::new(
            "subnets",
            Ty::Set(&SUBNET),
            "Private subnets of one VPC, e.g. `[\"subnet.private_a\", \"subnet.private_b\"]`.",
        )
        .required(),
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
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !ok {
            cx.error_at_value(
                "name",
                "invalid ElastiCache subnet group name",
                "at most 255 lowercase letters, digits and hyphens",
            );
        }
    }
    let subnets = cx.get("subnets").map(Value::as_list).unwrap_or(&[]);
    if subnets.is_empty() {
        cx.error_at_value(
            "subnets",
            "a subnet group needs at least one subnet",
            "list the stack's private subnets",
        );
    }
    let mut vpc = None;
    for (i, s) in subnets.iter().enumerate() {
        let Value::Ref(r) = s else { continue };
        let Some(subnet) = cx.stack.iter().find(|x| x.address == r.address) else {
            continue;
        };
        let path = format!("subnets[{i}]");
        if subnet.props.get("tier").and_then(Value::as_str) != Some("private") {
            cx.error_at_value(
                &path,
                &format!("{} is a public subnet", subnet.address),
                "the data layer lives in private subnets only: list subnets with `tier = \"private\"`",
            );
        }
        let this_vpc = subnet.props.get("vpc");
        match vpc {
            None => vpc = this_vpc,
            Some(v) if Some(v) != this_vpc => cx.error_at_value(
                &path,
                &format!("{} is in another VPC", subnet.address),
                "all subnets of a subnet group belong to one VPC",
            ),
            _ => {}
        }
    }
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"Checks:

- Every subnet has `tier = "private"` (`subnet.public_a is a public subnet`), and all are in one VPC.
- `name` is at most 255 lowercase letters, digits and hyphens.

```toml
[elasticache_subnet_group.redis]
subnets = ["subnet.private_a", "subnet.private_b"]
```
"##;
