//! `vpc`: schema and checks. AWS calls: `src/drivers/ec2.rs`; tests: `tests/drivers/ec2.rs`.

use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, KindDef, Ty};

pub static KIND: KindDef = KindDef {
    name: "vpc",
    doc: "A VPC. Each environment gets its own.",
    notes: NOTES,
    fields: &[
        Field::new("cidr_block", Ty::Cidr, "IPv4 range, e.g. `10.0.0.0/16`.")
            .required()
            .force_new(),
        Field::new(
            "enable_dns_support",
            Ty::Bool,
            "Amazon DNS resolution in the VPC.",
        )
        .default(FieldDefault::Bool(true)),
        Field::new(
            "enable_dns_hostnames",
            Ty::Bool,
            "DNS hostnames for instances.",
        )
        .default(FieldDefault::Bool(true)),
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

/// AWS allows a VPC's (and a subnet's) IPv4 block between /16 and /28.
pub fn check_block_size(cx: &ResourceCx<'_>, what: &str) {
    let Some(net) = cx
        .str("cidr_block")
        .and_then(|s| s.parse::<ipnet::Ipv4Net>().ok())
    else {
        return;
    };
    if !(16..=28).contains(&net.prefix_len()) {
        cx.error_at_value(
            "cidr_block",
            &format!(
                "{what} CIDR {net} is /{}: AWS allows a {what} between /16 (65,536 addresses) and /28 (16)",
                net.prefix_len()
            ),
            "pick a prefix length from 16 to 28",
        );
    }
}

fn validate(cx: &ResourceCx<'_>) {
    check_block_size(cx, "VPC");
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"A CIDR with host bits set, such as `10.0.0.1/16`, is an error; zinfra suggests the network address.
"##;
