//! `lb_target_group`: schema and checks. AWS calls: `src/drivers/elbv2.rs`; tests: `tests/drivers/elbv2.rs`.

use crate::model::Value;
use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, KindDef, Ty};

pub static HEALTH_CHECK: Ty = Ty::Object(&[
    Field::new("path", Ty::Str, "Path requested.").default(FieldDefault::Str("/")),
    Field::new(
        "matcher",
        Ty::Str,
        "Healthy HTTP codes, e.g. `200` or `200-299`.",
    )
    .default(FieldDefault::Str("200")),
    Field::new(
        "interval_seconds",
        Ty::Int,
        "Seconds between checks (5-300).",
    )
    .default(FieldDefault::Int(30)),
    Field::new(
        "timeout_seconds",
        Ty::Int,
        "Seconds before a check fails (2-120).",
    )
    .default(FieldDefault::Int(5)),
    Field::new(
        "healthy_threshold",
        Ty::Int,
        "Passes before healthy (2-10).",
    )
    .default(FieldDefault::Int(5)),
    Field::new(
        "unhealthy_threshold",
        Ty::Int,
        "Failures before unhealthy (2-10).",
    )
    .default(FieldDefault::Int(2)),
]);

/// The longest one operation waits for AWS: a target group released by its listeners after they are deleted.
/// The driver's deadline; a resource's `timeout` overrides it.
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(15 * 60);

pub static KIND: KindDef = KindDef {
    name: "lb_target_group",
    doc: "A target group for ALB listeners; `ip` targets, as Fargate tasks need.",
    notes: NOTES,
    fields: &[
        Field::new(
            "name",
            Ty::Str,
            "Target group name; `<stack>-<name>` by default.",
        )
        .default(FieldDefault::PhysicalName)
        .force_new(),
        Field::new("vpc", Ty::Ref(&["vpc"], "id"), "The VPC of the targets.")
            .required()
            .force_new(),
        Field::new(
            "target_type",
            Ty::Enum(&["ip", "instance"]),
            "`ip` for Fargate tasks.",
        )
        .default(FieldDefault::Str("ip"))
        .force_new(),
        Field::new(
            "protocol",
            Ty::Enum(&["HTTP", "HTTPS"]),
            "Protocol to the targets.",
        )
        .default(FieldDefault::Str("HTTP"))
        .force_new(),
        Field::new("port", Ty::Int, "Port of the targets.")
            .required()
            .force_new(),
        Field::new(
            "health_check",
            HEALTH_CHECK,
            "Health check, changed in place; AWS's defaults (unmanaged) when left out.",
        ),
        Field::new(
            "deregistration_delay",
            Ty::Int,
            "Seconds to drain a target before it is removed.",
        )
        .default(FieldDefault::Int(300)),
    ],
    physical_name: Some("name"),
    taggable: true,
    outputs: &["id", "arn"],
    validate,
    create_before_delete: false,
    holds: None,
    adoptable: false,
    wait: Some(WAIT),
    account_singleton: false,
};

fn validate(cx: &ResourceCx<'_>) {
    if let Some(name) = cx.str("name")
        && let Err(why) = crate::kinds::lb::lb_name(name)
    {
        cx.error_at_value("name", "invalid target group name", why);
    }
    if let Some(p) = cx.int("port")
        && !(1..=65535).contains(&p)
    {
        cx.error_at_value("port", "invalid port", "1 to 65535");
    }
    if let Some(d) = cx.int("deregistration_delay")
        && !(0..=3600).contains(&d)
    {
        cx.error_at_value(
            "deregistration_delay",
            "invalid deregistration delay",
            "0 to 3600 seconds",
        );
    }
    let Some(hc) = cx.get("health_check").and_then(Value::as_map) else {
        return;
    };
    let int = |k: &str| hc.get(k).and_then(Value::as_int);
    for (k, lo, hi) in [
        ("interval_seconds", 5, 300),
        ("timeout_seconds", 2, 120),
        ("healthy_threshold", 2, 10),
        ("unhealthy_threshold", 2, 10),
    ] {
        if let Some(v) = int(k)
            && !(lo..=hi).contains(&v)
        {
            cx.error_at_value(
                &format!("health_check.{k}"),
                &format!("invalid health check `{k}`"),
                &format!("{lo} to {hi}"),
            );
        }
    }
    if let (Some(t), Some(i)) = (int("timeout_seconds"), int("interval_seconds"))
        && t >= i
    {
        cx.error_at_value(
            "health_check.timeout_seconds",
            "health check timeout must be shorter than its interval",
            "lower `timeout_seconds` or raise `interval_seconds`",
        );
    }
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"Fields of `health_check`:

| Field | Type | Required / default | Forces replacement | Description |
|---|---|---|---|---|
| `path` | string | `"/"` | no | Path requested. |
| `matcher` | string | `"200"` | no | Healthy HTTP codes, e.g. `200` or `200-299`. |
| `interval_seconds` | integer | `30` | no | Seconds between checks (5-300). |
| `timeout_seconds` | integer | `5` | no | Seconds before a check fails (2-120). |
| `healthy_threshold` | integer | `5` | no | Passes before healthy (2-10). |
| `unhealthy_threshold` | integer | `2` | no | Failures before unhealthy (2-10). |

Checks: the name rules of `lb`; `port` 1 to 65535; `deregistration_delay` 0 to 3600; the health check
ranges above, and `timeout_seconds` below `interval_seconds`.

Behaviour: delete retries while a listener or load balancer still uses the group (`ResourceInUse`). Note
that a replacement deletes the old group before it creates the new one: replacing a group that a rule
forwards to waits for that release on AWS.

Example:

```toml
[lb_target_group.api]
vpc = "vpc.main"
port = 8080
health_check = { path = "/health" }
```

Outputs: `id` and `arn` are the target group ARN.
"##;
