//! `route_table`: schema and checks. AWS calls: `src/drivers/ec2.rs`; tests: `tests/drivers/ec2.rs`.

use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, KindDef, Ty};

static ROUTE: Ty = Ty::Object(&[
    Field::new(
        "destination",
        Ty::Cidr,
        "Destination range, e.g. `0.0.0.0/0`.",
    )
    .required(),
    Field::new(
        "gateway",
        Ty::Ref(&["internet_gateway"], "id"),
        "Target internet gateway (public subnets).",
    ),
    Field::new(
        "nat_gateway",
        Ty::Ref(&["nat_gateway"], "id"),
        "Target NAT gateway (private subnets' way out).",
    ),
]);
static SUBNET_REF: Ty = Ty::Ref(&["subnet"], "id");

pub static KIND: KindDef = KindDef {
    name: "route_table",
    doc: "A route table, its routes and the subnets associated with it.",
    notes: NOTES,
    fields: &[
        Field::new("vpc", Ty::Ref(&["vpc"], "id"), "The VPC.")
            .required()
            .force_new(),
        Field::new(
            "routes",
            Ty::Set(&ROUTE),
            "Routes besides the VPC's local route.",
        )
        .default(FieldDefault::Empty),
        Field::new("subnets", Ty::Set(&SUBNET_REF), "Subnets using this table.")
            .default(FieldDefault::Empty),
    ],
    physical_name: None,
    taggable: true,
    outputs: &["id", "arn"],
    validate,
    create_before_delete: false,
    holds: None,
    adoptable: false,
    wait: None,
    account_singleton: false,
};

/// Each route goes to exactly one target.
fn validate(cx: &ResourceCx<'_>) {
    let routes = cx.get("routes").map(|v| v.as_list()).unwrap_or(&[]);
    for (i, route) in routes.iter().enumerate() {
        let Some(m) = route.as_map() else { continue };
        let set = |f: &str| m.get(f).is_some_and(|v| !v.is_null());
        if set("gateway") == set("nat_gateway") {
            cx.error_at_value(
                &format!("routes[{i}]"),
                "a route needs exactly one target",
                "give either `gateway` (an internet gateway) or `nat_gateway`",
            );
        }
    }
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"Fields of each entry in `routes`:

| Field | Type | Required / default | Forces replacement | Description |
|---|---|---|---|---|
| `destination` | CIDR string | **required** | no | Destination range, e.g. `0.0.0.0/0`. |
| `gateway` | reference to `internet_gateway.<name>` (reads its `id`) | optional | no | Target internet gateway (public subnets). |
| `nat_gateway` | reference to `nat_gateway.<name>` (reads its `id`) | optional | no | Target NAT gateway (private subnets' way out). |

Checks: each route gives exactly one of `gateway` and `nat_gateway`.

A route can target an internet gateway or a NAT gateway, and zinfra reads only such routes. A route to
another target (peering, endpoints, …) added outside zinfra is neither shown nor removed. Changing a
route's target is made in place (`ReplaceRoute`).

```toml
[route_table.private]
vpc = "vpc.main"
routes = [{ destination = "0.0.0.0/0", nat_gateway = "nat_gateway.a" }]
subnets = ["subnet.private_a"]
```
"##;
