//! `vpc`: schema and checks. AWS calls: `src/drivers/ec2.rs`; tests: `tests/drivers/ec2.rs`.

use crate::schema::{Default, Field, KindDef, Ty, no_validation};

pub static KIND: KindDef = KindDef {
    name: "vpc",
    doc: "A VPC. Each environment gets its own.",
    fields: &[
        Field::new("cidr_block", Ty::Cidr, "IPv4 range, e.g. `10.0.0.0/16`.")
            .required()
            .force_new(),
        Field::new(
            "enable_dns_support",
            Ty::Bool,
            "Amazon DNS resolution in the VPC.",
        )
        .default(Default::Bool(true)),
        Field::new(
            "enable_dns_hostnames",
            Ty::Bool,
            "DNS hostnames for instances.",
        )
        .default(Default::Bool(true)),
    ],
    physical_name: None,
    taggable: true,
    outputs: &["id", "arn"],
    validate: no_validation,
    create_before_delete: false,
    holds: None,
    adoptable: false,
    wait: None,
};
