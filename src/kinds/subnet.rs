//! `subnet`: schema and checks. AWS calls: `src/drivers/ec2.rs`; tests: `tests/drivers/ec2.rs`.

use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, KindDef, Ty};

pub static KIND: KindDef = KindDef {
    name: "subnet",
    doc: "A subnet of a VPC in one availability zone; `tier` says whether it is public or private.",
    notes: NOTES,
    fields: &[
        Field::new("vpc", Ty::Ref(&["vpc"], "id"), "The VPC, e.g. `vpc.main`.")
            .required()
            .force_new(),
        Field::new("cidr_block", Ty::Cidr, "IPv4 range inside the VPC's.")
            .required()
            .force_new(),
        Field::new("availability_zone", Ty::Str, "e.g. `eu-west-1a`.")
            .required()
            .force_new(),
        Field::new(
            "tier",
            Ty::Enum(&["public", "private"]),
            "Public subnets route to an internet gateway; data services belong in private ones.",
        )
        .default(FieldDefault::Str("private")),
        Field::new(
            "map_public_ip_on_launch",
            Ty::Bool,
            "Give instances public IPs. Off unless you need it.",
        )
        .default(FieldDefault::Bool(false)),
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

fn net(cx_value: Option<&str>) -> Option<ipnet::Ipv4Net> {
    cx_value?.parse().ok()
}

/// The subnet must sit inside its VPC and must not overlap a sibling declared before it.
fn validate(cx: &ResourceCx<'_>) {
    super::vpc::check_block_size(cx, "subnet");
    let Some(mine) = net(cx.str("cidr_block")) else {
        return;
    };
    let Some(vpc) = cx.referenced("vpc") else {
        return;
    };
    if let Some(vpc_net) = net(vpc.props.get("cidr_block").and_then(|v| v.as_str()))
        && !vpc_net.contains(&mine)
    {
        cx.error_at_value(
            "cidr_block",
            &format!("subnet CIDR {mine} is outside its VPC's {vpc_net}"),
            &format!("{} has {vpc_net}; pick a range inside it", vpc.address),
        );
        return;
    }
    for other in cx
        .stack
        .iter()
        .take_while(|o| o.address != cx.resource.address)
    {
        if other.kind != "subnet" || other.props.get("vpc") != cx.get("vpc") {
            continue;
        }
        if let Some(theirs) = net(other.props.get("cidr_block").and_then(|v| v.as_str()))
            && (theirs.contains(&mine.network()) || mine.contains(&theirs.network()))
        {
            cx.error_at_value(
                "cidr_block",
                &format!("subnet CIDR {mine} overlaps {} ({theirs})", other.address),
                "subnets of one VPC must not overlap",
            );
            return;
        }
    }
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"Checks:

- `cidr_block` lies inside the VPC's range.
- `cidr_block` does not overlap another subnet of the same VPC.

`tier` is stored as the tag `zinfra:tier`. It records your intent, but it is not enforced: the routing
comes from `route_table`.
"##;
