use crate::schema::{Default, Field, KindDef, Ty};
use crate::validate::ResourceCx;

static CIDR: Ty = Ty::Cidr;
static SG_REF: Ty = Ty::Ref(&["security_group"], "id");
pub static RULE: Ty = Ty::Object(&[
    Field::new("protocol", Ty::Str, "`tcp`, `udp`, `icmp` or `-1` for all.")
        .default(Default::Str("tcp")),
    Field::new("from_port", Ty::Int, "First port.").required(),
    Field::new("to_port", Ty::Int, "Last port.").required(),
    Field::new(
        "cidr_blocks",
        Ty::Set(&CIDR),
        "Source (ingress) or destination (egress) ranges.",
    ),
    Field::new(
        "security_groups",
        Ty::Set(&SG_REF),
        "Other security groups, by address.",
    ),
    Field::new("self", Ty::Bool, "Allow the group itself.").default(Default::Bool(false)),
    Field::new("description", Ty::Str, "Rule description.").default(Default::Str("")),
]);

pub static KIND: KindDef = KindDef {
    name: "security_group",
    doc: "A security group. Only the rules you declare exist: AWS's default allow-all egress is removed.",
    fields: &[
        Field::new("vpc", Ty::Ref(&["vpc"], "id"), "The VPC.")
            .required()
            .force_new(),
        Field::new(
            "group_name",
            Ty::Str,
            "Group name; `<stack>-<name>` by default.",
        )
        .default(Default::PhysicalName)
        .force_new(),
        Field::new(
            "description",
            Ty::Str,
            "Group description (AWS cannot change it).",
        )
        .default(Default::Str("Managed by zinfra"))
        .force_new(),
        Field::new("ingress", Ty::Set(&RULE), "Inbound rules."),
        Field::new(
            "egress",
            Ty::Set(&RULE),
            "Outbound rules; none unless declared.",
        ),
    ],
    physical_name: Some("group_name"),
    taggable: true,
    validate,
};

fn validate(cx: &ResourceCx<'_>) {
    // AWS merges rules with the same protocol and ports; one rule per (protocol, ports, description) reads back as declared.
    for dir in ["ingress", "egress"] {
        let mut seen = Vec::new();
        for (i, rule) in cx
            .get(dir)
            .map(|v| v.as_list())
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            let Some(m) = rule.as_map() else { continue };
            let key = (
                m.get("protocol").cloned(),
                m.get("from_port").cloned(),
                m.get("to_port").cloned(),
                m.get("description").cloned(),
            );
            if seen.contains(&key) {
                cx.error_at_value(
                    &format!("{dir}[{i}]"),
                    "duplicate security group rule",
                    "another rule has the same protocol, ports and description: merge their sources into one rule",
                );
            }
            seen.push(key);
        }
    }
    if let Some(name) = cx.str("group_name")
        && (name.len() > 255 || name.starts_with("sg-"))
    {
        cx.error_at_value(
            "group_name",
            "invalid security group name",
            "at most 255 characters and not starting with `sg-`",
        );
    }
}
