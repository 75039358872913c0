//! `eip`: schema and checks. AWS calls: `src/drivers/ec2.rs`; tests: `tests/drivers/ec2.rs`.

use crate::schema::{KindDef, no_validation};

pub static KIND: KindDef = KindDef {
    name: "eip",
    doc: "An Elastic IP address (VPC domain), e.g. the public address of a NAT gateway.",
    fields: &[],
    physical_name: None,
    taggable: true,
    // AWS reports no owner for an address, so zinfra cannot build its ARN from a read.
    outputs: &["id", "public_ip"],
    validate: no_validation,
    create_before_delete: false,
    holds: None,
    adoptable: false,
    wait: None,
    account_singleton: false,
};
