//! `ecs_service`: schema and checks. AWS calls: `src/drivers/ecs.rs`; tests: `tests/drivers/ecs.rs`.

use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, KindDef, Ty};

static SUBNET: Ty = Ty::Ref(&["subnet"], "id");
static SG: Ty = Ty::Ref(&["security_group"], "id");
pub static LOAD_BALANCER: Ty = Ty::Object(&[
    Field::new(
        "target_group",
        Ty::Ref(&["lb_target_group"], "arn"),
        "The ALB target group tasks register with.",
    )
    .required(),
    Field::new(
        "container_name",
        Ty::Str,
        "Container receiving the traffic.",
    )
    .required(),
    Field::new("container_port", Ty::Int, "Its port.").required(),
]);

/// The longest one operation waits for AWS: a deployment rolling out (every task replaced and healthy), or a deleted service draining.
/// The driver's deadline; a resource's `timeout` overrides it.
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(30 * 60);

pub static KIND: KindDef = KindDef {
    name: "ecs_service",
    doc: "A Fargate service in private subnets, without public IPs, with a deployment circuit breaker that rolls back failed deployments.",
    notes: NOTES,
    fields: &[
        Field::new(
            "service_name",
            Ty::Str,
            "Service name; `<stack>-<name>` by default.",
        )
        .default(FieldDefault::PhysicalName)
        .force_new(),
        Field::new("cluster", Ty::Ref(&["ecs_cluster"], "arn"), "The cluster.")
            .required()
            .force_new(),
        Field::new(
            "task_definition",
            Ty::Ref(&["ecs_task_definition"], "arn"),
            "The task definition; a new revision starts a new deployment.",
        )
        .required(),
        Field::new("desired_count", Ty::Int, "Tasks to keep running.")
            .default(FieldDefault::Int(1)),
        Field::new(
            "subnets",
            Ty::Set(&SUBNET),
            "Subnets for the tasks: private ones.",
        )
        .required(),
        Field::new(
            "security_groups",
            Ty::Set(&SG),
            "Security groups of the tasks.",
        )
        .required(),
        Field::new(
            "assign_public_ip",
            Ty::Bool,
            "Always false: tasks reach the internet through NAT or VPC endpoints.",
        )
        .default(FieldDefault::Bool(false)),
        Field::new(
            "circuit_breaker",
            Ty::Bool,
            "Stop a failing deployment and roll back to the last working one.",
        )
        .default(FieldDefault::Bool(true)),
        Field::new(
            "load_balancers",
            Ty::Set(&LOAD_BALANCER),
            "Target groups the tasks register with.",
        )
        .default(FieldDefault::Empty),
    ],
    physical_name: Some("service_name"),
    taggable: true,
    outputs: &["id", "arn", "name"],
    validate,
    create_before_delete: false,
    holds: None,
    adoptable: false,
    wait: Some(WAIT),
    account_singleton: false,
};

fn validate(cx: &ResourceCx<'_>) {
    if let Some(name) = cx.str("service_name")
        && !(!name.is_empty()
            && name.len() <= 255
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    {
        cx.error_at_value(
            "service_name",
            "invalid ECS service name",
            "1 to 255 characters: letters, digits, `-` and `_`",
        );
    }
    if cx.get("assign_public_ip") == Some(&crate::model::Value::Bool(true)) {
        cx.error_at_value(
            "assign_public_ip",
            "services never get public IP addresses",
            "remove `assign_public_ip`: tasks run in private subnets and take traffic from the load balancer",
        );
    }
    if let Some(n) = cx.int("desired_count")
        && n < 0
    {
        cx.error_at_value("desired_count", "negative task count", "use 0 or more");
    }
    for (i, s) in cx
        .get("subnets")
        .map(|v| v.as_list())
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        if let crate::model::Value::Ref(r) = s
            && let Some(subnet) = cx.stack.iter().find(|x| x.address == r.address)
            && subnet.props.get("tier").and_then(|v| v.as_str()) == Some("public")
        {
            cx.error_at_value(
                &format!("subnets[{i}]"),
                "services run in private subnets",
                &format!("{} is a public subnet: use a private one", r.address),
            );
        }
    }
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"Checks:

- `assign_public_ip = true` is rejected, and so is a subnet whose `tier` is `"public"`.
- `service_name` is 1 to 255 letters, digits, `-` and `_`; `desired_count` is not negative.

The launch type is always `FARGATE`. Changes are made in place with one `UpdateService`; a new
`task_definition` (or new subnets, security groups or load balancers) starts a new deployment, and apply
waits until it is `COMPLETED` (30 minutes by default, or the resource's `timeout`); one the circuit
breaker stops fails the run, naming the deployment and the revision ECS rolled back to (`apply
--no-wait` does not wait). Destroy scales the service to 0, deletes it, and waits until ECS reports it
`INACTIVE` (bounded by the resource's `timeout`, 20 minutes by default).

```toml
[ecs_service.hub]
cluster = "ecs_cluster.main"
task_definition = "ecs_task_definition.hub"
desired_count = 2
subnets = ["subnet.private_a", "subnet.private_b"]
security_groups = ["security_group.services"]
```

Outputs: `id` and `arn` are the service ARN, `name` its name.
"##;
