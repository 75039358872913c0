//! `route_table`: schema and checks. AWS calls: `src/drivers/ec2.rs`; tests: `tests/drivers/ec2.rs`.

use crate::schema::{Default, Field, KindDef, Ty, no_validation};

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
        "Target internet gateway.",
    )
    .required(),
]);
static SUBNET_REF: Ty = Ty::Ref(&["subnet"], "id");

pub static KIND: KindDef = KindDef {
    name: "route_table",
    doc: "A route table, its routes and the subnets associated with it.",
    fields: &[
        Field::new("vpc", Ty::Ref(&["vpc"], "id"), "The VPC.")
            .required()
            .force_new(),
        Field::new(
            "routes",
            Ty::Set(&ROUTE),
            "Routes besides the VPC's local route.",
        )
        .default(Default::Empty),
        Field::new("subnets", Ty::Set(&SUBNET_REF), "Subnets using this table.")
            .default(Default::Empty),
    ],
    physical_name: None,
    taggable: true,
    outputs: &["id", "arn"],
    validate: no_validation,
};
