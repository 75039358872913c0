//! `internet_gateway`: schema and checks. AWS calls: `src/drivers/ec2.rs`; tests: `tests/drivers/ec2.rs`.

use crate::schema::{Field, KindDef, Ty, no_validation};

pub static KIND: KindDef = KindDef {
    name: "internet_gateway",
    doc: "An internet gateway attached to a VPC.",
    notes: NOTES,
    fields: &[Field::new("vpc", Ty::Ref(&["vpc"], "id"), "The VPC it is attached to.").required()],
    physical_name: None,
    taggable: true,
    outputs: &["id", "arn"],
    validate: no_validation,
    create_before_delete: false,
    holds: None,
    adoptable: false,
    wait: None,
    account_singleton: false,
};

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"Changing `vpc` moves the gateway to the other VPC in place.
"##;
