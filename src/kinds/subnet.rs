use crate::schema::{Default, Field, KindDef, Ty, no_validation};

pub static KIND: KindDef = KindDef {
    name: "subnet",
    doc: "A subnet of a VPC in one availability zone; `tier` says whether it is public or private.",
    fields: &[
        Field::new("vpc", Ty::Ref(&["vpc"], "id"), "The VPC, e.g. `vpc.main`.").required().force_new(),
        Field::new("cidr_block", Ty::Cidr, "IPv4 range inside the VPC's.").required().force_new(),
        Field::new("availability_zone", Ty::Str, "e.g. `eu-west-1a`.").required().force_new(),
        Field::new("tier", Ty::Enum(&["public", "private"]), "Public subnets route to an internet gateway; data services belong in private ones.")
            .default(Default::Str("private")),
        Field::new("map_public_ip_on_launch", Ty::Bool, "Give instances public IPs. Off unless you need it.")
            .default(Default::Bool(false)),
    ],
    physical_name: None,
    taggable: true,
    validate: no_validation,
};
