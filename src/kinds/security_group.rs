//! `security_group`: schema and checks. AWS calls: `src/drivers/ec2.rs`; tests: `tests/drivers/ec2.rs`.

use crate::model::Value;
use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, KindDef, Ty};

static CIDR: Ty = Ty::Cidr;
static SG_REF: Ty = Ty::Ref(&["security_group"], "id");
pub static RULE: Ty = Ty::Object(&[
    // Spelled as AWS reports them, so what is written reads back equal.
    Field::new(
        "protocol",
        Ty::Enum(&["tcp", "udp", "icmp", "-1"]),
        "`tcp`, `udp`, `icmp` or `-1` for all.",
    )
    .default(FieldDefault::Str("tcp")),
    Field::new("from_port", Ty::Int, "First port (0 with protocol `-1`).").required(),
    Field::new("to_port", Ty::Int, "Last port (0 with protocol `-1`).").required(),
    Field::new(
        "cidr_blocks",
        Ty::Set(&CIDR),
        "Source (ingress) or destination (egress) ranges.",
    )
    .default(FieldDefault::Empty),
    Field::new(
        "security_groups",
        Ty::Set(&SG_REF),
        "Other security groups, by address.",
    )
    .default(FieldDefault::Empty),
    Field::new("self", Ty::Bool, "Allow the group itself.").default(FieldDefault::Bool(false)),
    Field::new("description", Ty::Str, "Rule description.").default(FieldDefault::Str("")),
]);

pub static KIND: KindDef = KindDef {
    name: "security_group",
    doc: "A security group. Only the rules you declare exist: AWS's default allow-all egress is removed, and rules added outside zinfra show as drift.",
    notes: NOTES,
    fields: &[
        Field::new("vpc", Ty::Ref(&["vpc"], "id"), "The VPC.")
            .required()
            .force_new(),
        Field::new(
            "group_name",
            Ty::Str,
            "Group name; `<stack>-<name>` by default.",
        )
        .default(FieldDefault::PhysicalName)
        .force_new(),
        Field::new(
            "description",
            Ty::Str,
            "Group description (AWS cannot change it).",
        )
        .default(FieldDefault::Str("Managed by zinfra"))
        .force_new(),
        Field::new(
            "ingress",
            Ty::Set(&RULE),
            "Inbound rules; none unless declared.",
        )
        .default(FieldDefault::Empty),
        Field::new(
            "egress",
            Ty::Set(&RULE),
            "Outbound rules; none unless declared.",
        )
        .default(FieldDefault::Empty),
    ],
    physical_name: Some("group_name"),
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
            let path = format!("{dir}[{i}]");
            let empty = |f: &str| m.get(f).is_none_or(|v| v.as_list().is_empty());
            if empty("cidr_blocks")
                && empty("security_groups")
                && m.get("self") != Some(&Value::Bool(true))
            {
                cx.error_at_value(
                    &path,
                    "security group rule without a source",
                    "give `cidr_blocks`, `security_groups` or `self = true`",
                );
            }
            let port = |f: &str| m.get(f).and_then(Value::as_int);
            if m.get("protocol").and_then(Value::as_str) == Some("-1") {
                if port("from_port") != Some(0) || port("to_port") != Some(0) {
                    cx.error_at_value(
                        &path,
                        "protocol \"-1\" covers every port",
                        "write `from_port = 0, to_port = 0`",
                    );
                }
            } else if let (Some(from), Some(to)) = (port("from_port"), port("to_port"))
                && (from > to || !(-1..=65535).contains(&from) || !(-1..=65535).contains(&to))
            {
                cx.error_at_value(
                    &path,
                    "invalid port range",
                    "ports run from 0 to 65535, `from_port` first",
                );
            }
            // AWS merges rules with the same protocol and ports; one rule per (protocol, ports, description) reads back as declared.
            let key = (
                m.get("protocol").cloned(),
                port("from_port"),
                port("to_port"),
                m.get("description").cloned(),
            );
            if seen.contains(&key) {
                cx.error_at_value(
                    &path,
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
    // EC2's model has no constraint on these; its API reference has (CreateSecurityGroup, IpRange).
    let mut texts: Vec<(String, &str)> = ["group_name", "description"]
        .into_iter()
        .filter_map(|f| Some((f.to_owned(), cx.str(f)?)))
        .collect();
    for list in ["ingress", "egress"] {
        if let Some(rules) = cx.get(list) {
            for (i, r) in rules.as_list().iter().enumerate() {
                if let Some(d) = r
                    .as_map()
                    .and_then(|m| m.get("description"))
                    .and_then(Value::as_str)
                {
                    texts.push((format!("{list}[{i}].description"), d));
                }
            }
        }
    }
    for (path, text) in texts {
        if let Some(bad) = text.chars().find(|c| !ec2_text_char(*c)) {
            cx.error_at_value(
                &path,
                &format!("`{path}` has a character EC2 refuses: {bad:?}"),
                "EC2 takes a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$* here (up to 255 characters)",
            );
        } else if text.chars().count() > 255 {
            cx.error_at_value(
                &path,
                &format!(
                    "`{path}` is {} characters long; EC2 accepts at most 255",
                    text.chars().count()
                ),
                "shorten it",
            );
        }
    }
}

/// The characters EC2 takes in a security group's name and description and in a rule's description.
fn ec2_text_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || " ._-:/()#,@[]+=&;{}!$*".contains(c)
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"Fields of each rule in `ingress` and `egress`:

| Field | Type | Required / default | Forces replacement | Description |
|---|---|---|---|---|
| `protocol` | `"tcp"` \| `"udp"` \| `"icmp"` \| `"-1"` | `"tcp"` | no | `tcp`, `udp`, `icmp` or `-1` for all. |
| `from_port` | integer | **required** | no | First port (0 with protocol `-1`). |
| `to_port` | integer | **required** | no | Last port (0 with protocol `-1`). |
| `cidr_blocks` | array of CIDR strings, compared as a set | `[]` | no | Source (ingress) or destination (egress) ranges. |
| `security_groups` | array of references to `security_group.<name>` (reads their `id`), compared as a set | `[]` | no | Other security groups, by address. |
| `self` | boolean | `false` | no | Allow the group itself. |
| `description` | string | `""` | no | Rule description. |

Checks:

- `protocol` is exactly `tcp`, `udp`, `icmp` or `-1`; any other spelling is an error.
- A rule has a source: `cidr_blocks`, `security_groups` or `self = true`.
- With `-1`, the ports are `from_port = 0, to_port = 0`.
- Otherwise `from_port` is not above `to_port`, and both lie between -1 and 65535. For `icmp`, the two
  ports hold the ICMP type and code.
- Two rules in the same direction with the same protocol, ports and description are an error: merge
  their sources into one rule. One rule may list several `cidr_blocks`, several `security_groups` and
  `self`.
- `group_name` is at most 255 characters and does not start with `sg-`.

Behaviour:

- When zinfra creates a group, AWS's default allow-all egress rule is removed, unless you declare it.
- A direction left out has no rules. A rule added outside zinfra shows in the next plan as drift, and
  apply removes it.
- A change to a rule's description alone is made in place. Clearing a description re-creates the rule.
"##;
