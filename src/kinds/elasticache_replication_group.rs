//! `elasticache_replication_group`: schema and checks. AWS calls: `src/drivers/elasticache.rs`; tests: `tests/drivers/elasticache.rs`.

use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, Holds, KindDef, Ty};

static SG: Ty = Ty::Ref(&["security_group"], "id");

/// The longest one operation waits for AWS: a replication group created or modified (AWS: up to an hour for a multi-AZ group).
/// The driver's deadline; a resource's `timeout` overrides it.
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(60 * 60);

pub static KIND: KindDef = KindDef {
    name: "elasticache_replication_group",
    doc: "A Redis replication group (cluster mode disabled: one primary and its replicas) in a private subnet group, encrypted at rest with a CMK and in transit (TLS required), with RBAC users from a user group. Creation takes minutes on AWS: apply waits for `available` (default timeout 60m, or the resource's `timeout`).",
    notes: NOTES,
    fields: &[
        Field::new(
            "replication_group_id",
            Ty::Str,
            "Group id; `<stack>-<name>` by default (at most 40 characters).",
        )
        .default(FieldDefault::PhysicalName)
        .force_new(),
        Field::new("description", Ty::Str, "Description.")
            .default(FieldDefault::Str("Managed by zinfra")),
        Field::new("engine", Ty::Enum(&["redis"]), "Engine.")
            .default(FieldDefault::Str("redis"))
            .force_new(),
        Field::new(
            "engine_version",
            Ty::Str,
            "Redis version, e.g. `7.1`; upgrades are made in place.",
        )
        .required(),
        Field::new("node_type", Ty::Str, "Node type, e.g. `cache.t4g.small`.").required(),
        Field::new(
            "replicas",
            Ty::Int,
            "Read replicas beside the primary (0 to 5); changed in place.",
        )
        .default(FieldDefault::Int(0)),
        Field::new(
            "subnet_group",
            Ty::Ref(&["elasticache_subnet_group"], "id"),
            "The private subnet group.",
        )
        .required()
        .force_new(),
        Field::new(
            "security_groups",
            Ty::Set(&SG),
            "Security groups of the nodes.",
        )
        .required(),
        Field::new(
            "at_rest_encryption",
            Ty::Bool,
            "Encrypt data at rest (AWS cannot change it later).",
        )
        .default(FieldDefault::Bool(true))
        .force_new(),
        Field::new(
            "kms_key",
            Ty::Ref(&["kms_key"], "arn"),
            "Customer-managed key for encryption at rest (AWS cannot change it later).",
        )
        .required()
        .force_new(),
        Field::new(
            "transit_encryption",
            Ty::Bool,
            "TLS between clients and nodes.",
        )
        .default(FieldDefault::Bool(true)),
        Field::new(
            "transit_encryption_mode",
            Ty::Enum(&["required", "preferred"]),
            "`required`: clients must use TLS.",
        )
        .default(FieldDefault::Str("required")),
        Field::new(
            "automatic_failover",
            Ty::Bool,
            "Promote a replica when the primary fails; needs replicas.",
        )
        .default(FieldDefault::Bool(false)),
        Field::new(
            "multi_az",
            Ty::Bool,
            "Replicas in other availability zones; needs automatic failover.",
        )
        .default(FieldDefault::Bool(false)),
        Field::new(
            "user_group",
            Ty::Ref(&["elasticache_user_group"], "id"),
            "The RBAC user group clients authenticate against.",
        )
        .required(),
        Field::new(
            "parameter_group",
            Ty::Ref(&["elasticache_parameter_group"], "id"),
            "Engine parameters; AWS's default group for the engine when omitted.",
        ),
        Field::new(
            "snapshot_retention_limit",
            Ty::Int,
            "Days of automatic snapshots (0 = none, at most 35).",
        )
        .default(FieldDefault::Int(0)),
        Field::new(
            "snapshot_window",
            Ty::Str,
            "Daily UTC snapshot window, e.g. `03:00-04:00`; AWS picks one when omitted.",
        ),
        Field::new(
            "maintenance_window",
            Ty::Str,
            "Weekly UTC window, e.g. `sun:05:00-sun:06:00`; AWS picks one when omitted.",
        ),
    ],
    physical_name: Some("replication_group_id"),
    taggable: true,
    outputs: &["id", "arn", "primary_endpoint", "reader_endpoint"],
    validate,
    create_before_delete: false,
    holds: Some(Holds::always("its data")),
    adoptable: false,
    wait: Some(WAIT),
    account_singleton: false,
};

fn validate(cx: &ResourceCx<'_>) {
    if let Some(id) = cx.str("replication_group_id") {
        let ok = !id.is_empty()
            && id.len() <= 40
            && id.starts_with(|c: char| c.is_ascii_lowercase())
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !id.ends_with('-')
            && !id.contains("--");
        if !ok {
            cx.error_at_value(
                "replication_group_id",
                "invalid replication group id",
                "at most 40 lowercase letters, digits and single hyphens, starting with a letter",
            );
        }
    }
    if cx
        .get("security_groups")
        .is_some_and(|v| v.as_list().is_empty())
    {
        cx.error_at_value(
            "security_groups",
            "a replication group needs its own security group",
            "without one AWS uses the VPC's default group; list one that admits only the clients, on 6379",
        );
    }
    if cx.get("at_rest_encryption").and_then(|v| v.as_bool()) == Some(false) {
        cx.error_at_value(
            "at_rest_encryption",
            "encryption at rest cannot be turned off",
            "remove the line: Redis data is encrypted at rest with `kms_key`",
        );
    }
    if cx.get("transit_encryption").and_then(|v| v.as_bool()) == Some(false) {
        cx.error_at_value(
            "transit_encryption",
            "encryption in transit cannot be turned off",
            "remove the line: clients reach Redis over TLS only",
        );
    }
    if cx.str("transit_encryption_mode") == Some("preferred") {
        cx.error_at_value(
            "transit_encryption_mode",
            "`preferred` lets clients connect without TLS",
            "use `required` (the default); `preferred` is only a migration step",
        );
    }
    let replicas = cx.int("replicas").unwrap_or(0);
    if !(0..=5).contains(&replicas) {
        cx.error_at_value(
            "replicas",
            "a replication group has 0 to 5 replicas",
            "pick a number from 0 to 5",
        );
    }
    let failover = cx.get("automatic_failover").and_then(|v| v.as_bool()) == Some(true);
    let multi_az = cx.get("multi_az").and_then(|v| v.as_bool()) == Some(true);
    if replicas > 0 && !(failover && multi_az) {
        // Point at the setting that is off when the file says so, else at `replicas`.
        let off = if failover {
            "multi_az"
        } else {
            "automatic_failover"
        };
        cx.error_at_value(
            if cx.has_field(off) { off } else { "replicas" },
            "a replication group with replicas must fail over across availability zones",
            "set `automatic_failover = true` and `multi_az = true`",
        );
    }
    if replicas == 0 && (failover || multi_az) {
        cx.error_at_value(
            if failover {
                "automatic_failover"
            } else {
                "multi_az"
            },
            "failover needs a replica to promote",
            "set `replicas = 1` or more, or turn `automatic_failover` and `multi_az` off",
        );
    }
    // A parameter group serves one engine family: `redis7` for 7.x, `redis6.x` for 6.x.
    if let (Some(pg), Some(version)) = (cx.referenced("parameter_group"), cx.str("engine_version"))
        && let Some(family) = pg.props.get("family").and_then(|v| v.as_str())
    {
        let major = version.split('.').next().unwrap_or_default();
        let fits = family == format!("redis{major}") || family == format!("redis{major}.x");
        if !fits {
            cx.error_at_value(
                "parameter_group",
                &format!(
                    "{} is for family `{family}`, not Redis {version}",
                    pg.address
                ),
                "use a parameter group of the engine version's family, e.g. `redis7` for 7.x",
            );
        }
    }
    if let Some(days) = cx.int("snapshot_retention_limit")
        && !(0..=35).contains(&days)
    {
        cx.error_at_value(
            "snapshot_retention_limit",
            "snapshots are kept 0 to 35 days",
            "pick a number from 0 to 35",
        );
    }
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"A Redis replication group (cluster mode disabled: one primary and its replicas) in a private subnet group,
encrypted at rest with a CMK and in transit (TLS required), with RBAC users from a user group. AWS takes
15 to 30 minutes to create one: apply waits for `available` and shows the state (`replication group:
creating`). The default timeout is 60 minutes; set the resource's `timeout` to change it. Deletion waits
until the group is gone.

Checks:

- `at_rest_encryption = false`, `transit_encryption = false` and `transit_encryption_mode = "preferred"`
  are errors.
- `security_groups` is not empty (AWS would otherwise use the VPC's default group).
- With `replicas` above 0, `automatic_failover` and `multi_az` must both be `true`; with no replicas,
  both must be `false` (there is nothing to fail over to).
- `replication_group_id` is at most 40 lowercase letters, digits and single hyphens, starting with a
  letter; `snapshot_retention_limit` is 0 to 35.

In-place changes use `ModifyReplicationGroup` with `ApplyImmediately` (node type, engine version,
security groups, user group, parameter group, failover, Multi-AZ, snapshots, windows, transit encryption) and wait for
`available` before and after. Replicas are added before failover is turned on and removed after it is
turned off. A re-run after a creation timed out finds the group by its tags: an update waits for it, and
a create that meets the group (a lost reply) adopts it when its tags are this resource's, never creating
a second one.

Outputs: `id` (the group id), `arn`, `primary_endpoint` and `reader_endpoint` (host names; clients
connect with TLS on port 6379).

```toml
[elasticache_replication_group.redis]
engine_version = "7.1"
node_type = "cache.m7g.large"
subnet_group = "elasticache_subnet_group.redis"
security_groups = ["security_group.redis"]
kms_key = "kms_key.data"
user_group = "elasticache_user_group.redis"
replicas = 1
automatic_failover = true
multi_az = true
snapshot_retention_limit = 7
timeout = "45m"
```
"##;
