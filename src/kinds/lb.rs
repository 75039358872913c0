//! `lb`: schema and checks. AWS calls: `src/drivers/elbv2.rs`; tests: `tests/drivers/elbv2.rs`.

use crate::model::Value;
use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, KindDef, Ty};

static SUBNET: Ty = Ty::Ref(&["subnet"], "id");
static SG: Ty = Ty::Ref(&["security_group"], "id");

/// The longest one operation waits for AWS: a load balancer turning active, or released after deletion.
/// The driver's deadline; a resource's `timeout` overrides it.
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(15 * 60);

pub static KIND: KindDef = KindDef {
    name: "lb",
    doc: "An internet-facing Application Load Balancer in public subnets, dropping invalid header fields.",
    notes: NOTES,
    fields: &[
        Field::new(
            "name",
            Ty::Str,
            "Load balancer name; `<stack>-<name>` by default.",
        )
        .default(FieldDefault::PhysicalName)
        .force_new(),
        Field::new(
            "scheme",
            Ty::Enum(&["internet-facing", "internal"]),
            "Internet-facing ALBs sit in public subnets.",
        )
        .default(FieldDefault::Str("internet-facing"))
        .force_new(),
        Field::new(
            "subnets",
            Ty::Set(&SUBNET),
            "At least two subnets in different availability zones.",
        )
        .required(),
        Field::new(
            "security_groups",
            Ty::Set(&SG),
            "Security groups of the ALB.",
        )
        .required(),
        Field::new(
            "drop_invalid_header_fields",
            Ty::Bool,
            "Drop HTTP headers that are not valid (request smuggling protection).",
        )
        .default(FieldDefault::Bool(true)),
        Field::new(
            "deletion_protection",
            Ty::Bool,
            "AWS refuses to delete the ALB, and zinfra refuses to destroy it, while on.",
        )
        .default(FieldDefault::Bool(false)),
        Field::new(
            "idle_timeout",
            Ty::Int,
            "Seconds a connection may stay idle.",
        )
        .default(FieldDefault::Int(60)),
    ],
    physical_name: Some("name"),
    taggable: true,
    outputs: &["id", "arn", "dns_name", "zone_id", "alias_target"],
    validate,
    create_before_delete: false,
    holds: None,
    adoptable: false,
    wait: Some(WAIT),
    account_singleton: false,
};

fn validate(cx: &ResourceCx<'_>) {
    if let Some(name) = cx.str("name")
        && let Err(why) = lb_name(name)
    {
        cx.error_at_value("name", "invalid load balancer name", why);
    }
    if let Some(t) = cx.int("idle_timeout")
        && !(1..=4000).contains(&t)
    {
        cx.error_at_value("idle_timeout", "invalid idle timeout", "1 to 4000 seconds");
    }
    let subnets = cx.get("subnets").map(Value::as_list).unwrap_or(&[]);
    if subnets.len() < 2 {
        cx.error_at_value(
            "subnets",
            "an Application Load Balancer needs two subnets",
            "give subnets in at least two availability zones",
        );
    }
    // ALBs need two availability zones; two subnets in one zone do not count.
    let mut zones: Vec<&str> = subnets
        .iter()
        .filter_map(|s| match s {
            Value::Ref(r) => cx.stack.iter().find(|x| x.address == r.address),
            _ => None,
        })
        .filter_map(|s| s.props.get("availability_zone").and_then(Value::as_str))
        .collect();
    zones.sort_unstable();
    zones.dedup();
    if subnets.len() >= 2 && zones.len() == 1 {
        cx.error_at_value(
            "subnets",
            &format!("all the load balancer's subnets are in {}", zones[0]),
            "give subnets in at least two availability zones",
        );
    }
    if cx.str("scheme") == Some("internet-facing") {
        for (i, s) in subnets.iter().enumerate() {
            let Value::Ref(r) = s else { continue };
            if let Some(subnet) = cx.stack.iter().find(|x| x.address == r.address)
                && subnet.props.get("tier").and_then(Value::as_str) != Some("public")
            {
                cx.error_at_value(
                    &format!("subnets[{i}]"),
                    &format!(
                        "internet-facing load balancer in private subnet {}",
                        r.address
                    ),
                    "use subnets with `tier = \"public\"`, or set `scheme = \"internal\"`",
                );
            }
        }
    }
}

/// ELB names for load balancers and target groups: 1-32 letters, digits and hyphens, no hyphen at either end.
pub fn lb_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > 32 {
        return Err("1 to 32 characters");
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err("use only letters, digits and `-`");
    }
    if name.starts_with('-') || name.ends_with('-') || name.starts_with("internal-") {
        return Err("no `-` at either end, and no `internal-` prefix");
    }
    Ok(())
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"Checks:

- `name` has 1 to 32 letters, digits and `-`, no `-` at either end, and no `internal-` prefix.
- At least two subnets, in at least two availability zones; an internet-facing load balancer only in
  subnets with `tier = "public"`.
- `idle_timeout` is between 1 and 4000.

Behaviour: the type is always `application`. Subnets and security groups change in place
(`SetSubnets`, `SetSecurityGroups`), the attributes with `ModifyLoadBalancerAttributes`. Create waits
until the load balancer is `active`; delete waits until it is gone, so its name and target groups are free.

Example:

```toml
[lb.web]
subnets = ["subnet.public_a", "subnet.public_b"]
security_groups = ["security_group.alb", "security_group.alb_ingress"]
```

Outputs: `id` and `arn` are the load balancer ARN; `dns_name`; `zone_id` (its canonical hosted zone);
`alias_target` = `<zone_id>/<dns_name>`, for `route53_record.alias`.
"##;
