//! `ecs_task_definition`: schema and checks. AWS calls: `src/drivers/ecs.rs`; tests: `tests/drivers/ecs.rs`.

use std::collections::BTreeSet;

use crate::model::Value;
use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, KindDef, Ty};

/// Every field of a task definition forces a new revision.
const NEW_REVISION: &str = "task definitions are immutable, so a new revision is registered, the service moves to it, and this revision is deregistered";

static STR: Ty = Ty::Str;
static PARAMETER: Ty = Ty::Ref(&["ssm_parameter"], "arn");
static PORT: Ty = Ty::Object(&[
    Field::new("container_port", Ty::Int, "Port the container listens on.").required(),
    Field::new("protocol", Ty::Enum(&["tcp", "udp"]), "`tcp` or `udp`.")
        .default(FieldDefault::Str("tcp")),
]);
const LOGS: Ty = Ty::Object(&[
    Field::new(
        "group",
        Ty::Str,
        "CloudWatch Logs group name (the group must exist).",
    )
    .required(),
    Field::new(
        "stream_prefix",
        Ty::Str,
        "Prefix of each task's log stream.",
    )
    .required(),
]);
pub static CONTAINER: Ty = Ty::Object(&[
    Field::new("name", Ty::Str, "Container name.").required(),
    Field::new("image", Ty::Str, "A full image reference, e.g. `public.ecr.aws/nginx/nginx:1.27`."),
    Field::new(
        "repository",
        Ty::Ref(&["ecr_repository"], "repository_url"),
        "An ECR repository of the stack; the image is `<repository URL>:<tag>`.",
    ),
    Field::new("tag", Ty::Str, "Image tag in `repository`."),
    Field::new(
        "essential",
        Ty::Bool,
        "The task stops when this container stops.",
    )
    .default(FieldDefault::Bool(true)),
    Field::new("port_mappings", Ty::Set(&PORT), "Ports the container exposes.")
        .default(FieldDefault::Empty),
    Field::new(
        "environment",
        Ty::Map(&STR),
        "Plain environment variables (never secrets).",
    )
    .default(FieldDefault::Empty),
    Field::new(
        "secrets",
        Ty::Map(&PARAMETER),
        "Environment variables taken from SSM parameters at start (`valueFrom` = the parameter's ARN).",
    )
    .default(FieldDefault::Empty),
    Field::new("logs", LOGS, "Send output to CloudWatch Logs (`awslogs` driver)."),
]);

pub static KIND: KindDef = KindDef {
    name: "ecs_task_definition",
    doc: "A Fargate task definition (network mode `awsvpc`) in the family `<stack>-<name>`. Task definitions are immutable revisions: any change registers a new revision, the service moves to it, and the old revision is deregistered.",
    notes: NOTES,
    fields: &[
        Field::new(
            "cpu",
            Ty::Int,
            "CPU units: 256, 512, 1024, 2048, 4096, 8192 or 16384.",
        )
        .required()
        .force_new_because(NEW_REVISION),
        Field::new(
            "memory",
            Ty::Int,
            "Memory in MiB, one of the values Fargate allows for `cpu`.",
        )
        .required()
        .force_new_because(NEW_REVISION),
        Field::new("network_mode", Ty::Str, "Always `awsvpc` on Fargate.")
            .default(FieldDefault::Str("awsvpc"))
            .force_new_because(NEW_REVISION),
        Field::new(
            "execution_role",
            Ty::Ref(&["iam_role"], "arn"),
            "Role ECS uses to pull images, read `secrets` and write logs.",
        )
        .required()
        .force_new_because(NEW_REVISION),
        Field::new(
            "task_role",
            Ty::Ref(&["iam_role"], "arn"),
            "Role the application's AWS calls use; distinct from `execution_role`.",
        )
        .force_new_because(NEW_REVISION),
        Field::new(
            "container_definitions",
            Ty::List(&CONTAINER),
            "The task's containers.",
        )
        .required()
        .force_new_because(NEW_REVISION),
    ],
    // The family is always `<stack>-<name>`, so two stacks or two task definitions never share one.
    physical_name: None,
    taggable: true,
    outputs: &["id", "arn"],
    validate,
    create_before_delete: true,
    holds: None,
    adoptable: false,
    wait: None,
    account_singleton: false,
};

/// Fargate's valid task sizes: CPU units → the memory values (MiB) allowed with them.
pub fn fargate_memory(cpu: i64) -> Option<Vec<i64>> {
    let (from, to, step) = match cpu {
        256 => return Some(vec![512, 1024, 2048]),
        512 => (1024, 4096, 1024),
        1024 => (2048, 8192, 1024),
        2048 => (4096, 16384, 1024),
        4096 => (8192, 30720, 1024),
        8192 => (16384, 61440, 4096),
        16384 => (32768, 122880, 8192),
        _ => return None,
    };
    Some((from..=to).step_by(step).collect())
}

fn gib(mib: i64) -> String {
    if mib % 1024 == 0 {
        format!("{} GiB", mib / 1024)
    } else {
        format!("{mib} MiB")
    }
}

fn validate(cx: &ResourceCx<'_>) {
    if let Some(mode) = cx.str("network_mode")
        && mode != "awsvpc"
    {
        cx.error_at_value(
            "network_mode",
            "Fargate tasks use the `awsvpc` network mode",
            "remove `network_mode` (it defaults to \"awsvpc\")",
        );
    }
    match (cx.int("cpu"), cx.int("memory")) {
        (Some(cpu), _) if fargate_memory(cpu).is_none() => cx.error_at_value(
            "cpu",
            "not a Fargate CPU size",
            "use 256, 512, 1024, 2048, 4096, 8192 or 16384",
        ),
        (Some(cpu), Some(memory)) => {
            let allowed = fargate_memory(cpu).unwrap_or_default();
            if !allowed.contains(&memory) {
                let first = allowed.first().copied().unwrap_or(0);
                let last = allowed.last().copied().unwrap_or(0);
                let help = if cpu == 256 {
                    "with cpu = 256, memory is 512, 1024 or 2048".to_owned()
                } else {
                    format!(
                        "with cpu = {cpu}, memory is {first} to {last} ({} to {}) in steps of {}",
                        gib(first),
                        gib(last),
                        allowed[1] - allowed[0]
                    )
                };
                cx.error_at_value("memory", "memory does not fit the Fargate CPU size", &help);
            }
        }
        _ => {}
    }
    if let (Some(Value::Ref(exec)), Some(Value::Ref(task))) =
        (cx.get("execution_role"), cx.get("task_role"))
        && exec.address == task.address
    {
        cx.error_at_value(
            "task_role",
            "the task role and the execution role must be distinct roles",
            "the execution role (pulling images, reading secrets) and the application's role need separate `iam_role` resources",
        );
    }
    let containers = cx
        .get("container_definitions")
        .map(Value::as_list)
        .unwrap_or(&[]);
    if containers.is_empty() {
        cx.error_at_value(
            "container_definitions",
            "a task definition needs at least one container",
            "add `[[ecs_task_definition.<name>.container_definitions]]` with a `name` and an image",
        );
    }
    let mut names = BTreeSet::new();
    let mut essential = false;
    for (i, c) in containers.iter().enumerate() {
        let Some(m) = c.as_map() else { continue };
        let path = format!("container_definitions[{i}]");
        let has = |f: &str| m.get(f).is_some_and(|v| !v.is_null());
        if let Some(name) = m.get("name").and_then(Value::as_str)
            && !names.insert(name.to_owned())
        {
            cx.error_at_value(
                &format!("{path}.name"),
                "duplicate container name",
                "each container of a task definition has its own name",
            );
        }
        essential |= m.get("essential") != Some(&Value::Bool(false));
        match (has("image"), has("repository")) {
            (true, true) | (false, false) => cx.error_at_value(
                &path,
                "a container needs exactly one of `image` and `repository`",
                "give `repository = \"ecr_repository.<name>\"` with a `tag`, or a full `image`",
            ),
            (false, true) if !has("tag") => cx.error_at_value(
                &format!("{path}.repository"),
                "an image from a repository needs a `tag`",
                "add `tag = \"<image tag>\"`",
            ),
            (true, false) if has("tag") => cx.error_at_value(
                &format!("{path}.tag"),
                "`tag` goes with `repository`",
                "put the tag in `image`, or use `repository`",
            ),
            _ => {}
        }
        let env = m.get("environment").and_then(Value::as_map);
        let secrets = m.get("secrets").and_then(Value::as_map);
        for (field, vars) in [("environment", env), ("secrets", secrets)] {
            for k in vars.into_iter().flat_map(|v| v.keys()) {
                if k.is_empty()
                    || k.starts_with(|c: char| c.is_ascii_digit())
                    || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    cx.error_at_value(
                        &format!("{path}.{field}.{k}"),
                        "invalid environment variable name",
                        "letters, digits and `_`, not starting with a digit",
                    );
                }
            }
        }
        if let (Some(env), Some(secrets)) = (env, secrets)
            && let Some(k) = env.keys().find(|k| secrets.contains_key(*k))
        {
            cx.error_at_value(
                &format!("{path}.secrets.{k}"),
                "a variable is set twice",
                "give each variable either in `environment` or in `secrets`",
            );
        }
        for (j, p) in m
            .get("port_mappings")
            .map(Value::as_list)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            if let Some(port) = p
                .as_map()
                .and_then(|p| p.get("container_port"))
                .and_then(Value::as_int)
                && !(1..=65535).contains(&port)
            {
                cx.error_at_value(
                    &format!("{path}.port_mappings[{j}]"),
                    "invalid container port",
                    "ports run from 1 to 65535",
                );
            }
        }
    }
    if !containers.is_empty() && !essential {
        cx.error_at_value(
            "container_definitions",
            "a task definition needs an essential container",
            "leave `essential` at its default (true) on the main container",
        );
    }
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"Each container:

| Field | Type | Required / default | Description |
|---|---|---|---|
| `name` | string | **required** | Container name. |
| `image` | string | optional | A full image reference, e.g. `public.ecr.aws/nginx/nginx:1.27`. |
| `repository` | reference to `ecr_repository.<name>` (reads its `repository_url`) | optional | An ECR repository of the stack; the image is `<repository URL>:<tag>`. |
| `tag` | string | optional | Image tag in `repository`. |
| `essential` | boolean | `true` | The task stops when this container stops. |
| `port_mappings` | array of `{ container_port, protocol = "tcp" }`, compared as a set | `[]` | Ports the container exposes (the host port is the container port). |
| `environment` | table of strings | `{}` | Plain environment variables (never secrets). |
| `secrets` | table of references to `ssm_parameter.<name>` (reads its `arn`) | `{}` | Environment variables taken from SSM parameters when the task starts (`valueFrom` = the parameter's ARN). |
| `logs` | `{ group, stream_prefix }` | optional | Send output to CloudWatch Logs with the `awslogs` driver, in the stack's region. |

Checks:

- `cpu` and `memory` form a valid Fargate size: 256 CPU with 512, 1024 or 2048 MiB; 512 with 1–4 GiB;
  1024 with 2–8 GiB; 2048 with 4–16 GiB; 4096 with 8–30 GiB (1 GiB steps); 8192 with 16–60 GiB (4 GiB
  steps); 16384 with 32–120 GiB (8 GiB steps).
- `network_mode` is `awsvpc`.
- `task_role` and `execution_role` are different `iam_role` resources.
- At least one container, each with a unique `name`, exactly one of `image` and `repository`, a `tag`
  with `repository` only; at least one essential container; valid variable names, none set both in
  `environment` and `secrets`; ports from 1 to 65535.

Any change registers a new revision. The plan shows it as a replacement whose reason says so:
`` (`container_definitions` cannot be changed in place: task definitions are immutable, so a new revision is registered, the service moves to it, and this revision is deregistered) ``.
Apply registers the new revision first, then updates the services that use it, and deregisters the old
revision last. zinfra reads only ACTIVE revisions; if an old one is still ACTIVE (an apply stopped before
deregistering it), the next plan deletes it.

The log group named in `logs` must exist before tasks start: declare it as a
[`cloudwatch_log_group`](#cloudwatch_log_group) and give the task definition `depends_on` on it (a group
made by hand earlier is taken over with `[[adopt]]`).

```toml
[ecs_task_definition.hub]
cpu = 512
memory = 1024
execution_role = "iam_role.task_execution"
task_role = "iam_role.task"

[[ecs_task_definition.hub.container_definitions]]
name = "hub"
repository = "ecr_repository.hub"
tag = "1.0.0"
port_mappings = [{ container_port = 8080 }]
environment = { ENVIRONMENT = "dev" }
secrets = { DB_PASSWORD = "ssm_parameter.db_password" }
logs = { group = "/ecs/zenoo-dev/hub", stream_prefix = "hub" }
```

Outputs: `id` and `arn` are both the revision's ARN (`…:task-definition/<family>:<revision>`).
"##;
