//! `ecs_cluster`: schema and checks. AWS calls: `src/drivers/ecs.rs`; tests: `tests/drivers/ecs.rs`.

use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, KindDef, Ty};

/// The longest one operation waits for AWS: the cluster's services draining before it can be deleted.
/// The driver's deadline; a resource's `timeout` overrides it.
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(20 * 60);

pub static KIND: KindDef = KindDef {
    name: "ecs_cluster",
    doc: "An ECS cluster for Fargate services, with Container Insights on.",
    notes: NOTES,
    fields: &[
        Field::new(
            "cluster_name",
            Ty::Str,
            "Cluster name; `<stack>-<name>` by default.",
        )
        .default(FieldDefault::PhysicalName)
        .force_new(),
        Field::new(
            "container_insights",
            Ty::Enum(&["enabled", "enhanced", "disabled"]),
            "CloudWatch Container Insights metrics.",
        )
        .default(FieldDefault::Str("enabled")),
    ],
    physical_name: Some("cluster_name"),
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
    if let Some(name) = cx.str("cluster_name")
        && !(!name.is_empty()
            && name.len() <= 255
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    {
        cx.error_at_value(
            "cluster_name",
            "invalid ECS cluster name",
            "1 to 255 characters: letters, digits, `-` and `_`",
        );
    }
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"Checks: `cluster_name` is 1 to 255 letters, digits, `-` and `_`.

A cluster whose services are still draining cannot be deleted; destroy waits for them (bounded by the
resource's `timeout`, 20 minutes by default).

Outputs: `id` is the cluster name, `arn` its ARN.
"##;
