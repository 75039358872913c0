//! `msk_cluster`: schema and checks. AWS calls: `src/drivers/kafka.rs`; tests: `tests/drivers/kafka.rs`.

use crate::model::Value;
use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, Holds, KindDef, Ty};

static SUBNET_REF: Ty = Ty::Ref(&["subnet"], "id");
static SG_REF: Ty = Ty::Ref(&["security_group"], "id");

/// The longest one operation waits for AWS: an MSK cluster created, updated or deleted (AWS: up to 90 minutes for a multi-broker cluster).
/// The driver's deadline; a resource's `timeout` overrides it.
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(90 * 60);

pub static KIND: KindDef = KindDef {
    name: "msk_cluster",
    doc: "An Amazon MSK (Kafka) cluster in private subnets: TLS everywhere, encrypted at rest with the \
          stack's customer-managed key, clients authenticated by IAM (SASL/IAM) only.",
    notes: NOTES,
    fields: &[
        Field::new("name", Ty::Str, "Cluster name, unique in the region.")
            .default(FieldDefault::PhysicalName)
            .force_new(),
        Field::new("kafka_version", Ty::Str, "Apache Kafka version, e.g. `3.6.0`.")
            .required()
            .force_new(),
        Field::new(
            "broker_instance_type",
            Ty::Str,
            "Broker instance type, e.g. `kafka.m5.large`.",
        )
        .required()
        .force_new(),
        Field::new(
            "number_of_broker_nodes",
            Ty::Int,
            "Brokers in all; a multiple of the number of client subnets. Changed in place (UpdateBrokerCount; AWS only adds brokers).",
        )
        .required(),
        Field::new(
            "client_subnets",
            Ty::Set(&SUBNET_REF),
            "Private subnets, one per AZ (2 or 3).",
        )
        .required()
        .force_new(),
        Field::new(
            "security_groups",
            Ty::Set(&SG_REF),
            "Security groups of the brokers' network interfaces; admit only named security groups.",
        )
        .required()
        .force_new(),
        Field::new(
            "ebs_volume_size",
            Ty::Int,
            "Storage per broker in GiB. Changed in place (UpdateBrokerStorage; AWS only grows it).",
        )
        .default(FieldDefault::Int(100)),
        Field::new(
            "kms_key",
            Ty::Ref(&["kms_key"], "arn"),
            "Customer-managed key of this stack for encryption at rest.",
        )
        .required()
        .force_new(),
        Field::new(
            "client_broker_encryption",
            Ty::Enum(&["TLS", "TLS_PLAINTEXT", "PLAINTEXT"]),
            "Encryption between clients and brokers. Only `TLS` passes validation.",
        )
        .default(FieldDefault::Str("TLS"))
        .force_new(),
        Field::new(
            "in_cluster_encryption",
            Ty::Bool,
            "TLS between brokers. Must stay on.",
        )
        .default(FieldDefault::Bool(true))
        .force_new(),
        Field::new(
            "sasl_iam",
            Ty::Bool,
            "Client authentication by IAM (SASL/IAM, port 9098). Must stay on.",
        )
        .default(FieldDefault::Bool(true))
        .force_new(),
        Field::new(
            "unauthenticated",
            Ty::Bool,
            "Unauthenticated client access. Must stay off.",
        )
        .default(FieldDefault::Bool(false))
        .force_new(),
        Field::new(
            "publish_bootstrap_brokers_to",
            Ty::Str,
            "SSM parameter name (type String: the string is not secret) that receives the SASL/IAM \
             bootstrap broker string once the cluster is ACTIVE. Changed in place.",
        ),
        Field::new(
            "enhanced_monitoring",
            Ty::Enum(&[
                "DEFAULT",
                "PER_BROKER",
                "PER_TOPIC_PER_BROKER",
                "PER_TOPIC_PER_PARTITION",
            ]),
            "CloudWatch metrics level.",
        )
        .default(FieldDefault::Str("DEFAULT"))
        .force_new(),
    ],
    physical_name: Some("name"),
    taggable: true,
    outputs: &[
        "id",
        "arn",
        "bootstrap_brokers_sasl_iam",
        "bootstrap_brokers_parameter",
        "topic_arn_prefix",
        "group_arn_prefix",
    ],
    validate,
    create_before_delete: false,
    holds: Some(Holds::always("its topics and their messages")),
    adoptable: false,
    wait: Some(WAIT),
    account_singleton: false,
};

/// The baseline's controls: private subnets, TLS everywhere, IAM authentication only, brokers spread
/// evenly over the subnets.
fn validate(cx: &ResourceCx<'_>) {
    if let Some(mode) = cx.str("client_broker_encryption").filter(|m| *m != "TLS") {
        cx.error_at_value(
            "client_broker_encryption",
            &format!("MSK client traffic allows plaintext ({mode})"),
            "the security baseline requires TLS between clients and brokers; use \"TLS\"",
        );
    }
    if cx.get("in_cluster_encryption") == Some(&Value::Bool(false)) {
        cx.error_at_value(
            "in_cluster_encryption",
            "MSK brokers talk in plaintext",
            "the security baseline requires TLS inside the cluster; remove `in_cluster_encryption = false`",
        );
    }
    if cx.get("unauthenticated") == Some(&Value::Bool(true)) {
        cx.error_at_value(
            "unauthenticated",
            "MSK cluster open to unauthenticated clients",
            "clients must authenticate with IAM; remove `unauthenticated = true`",
        );
    }
    if cx.get("sasl_iam") == Some(&Value::Bool(false)) {
        cx.error_at_value(
            "sasl_iam",
            "MSK cluster without client authentication",
            "clients must authenticate with IAM (SASL/IAM); remove `sasl_iam = false`",
        );
    }
    let subnets = cx.get("client_subnets").map(|v| v.as_list()).unwrap_or(&[]);
    if let Some(n) = cx.int("number_of_broker_nodes")
        && !subnets.is_empty()
        && n % subnets.len() as i64 != 0
    {
        cx.error_at_value(
            "number_of_broker_nodes",
            &format!(
                "{n} brokers cannot be spread evenly over {} client subnets",
                subnets.len()
            ),
            "MSK places the same number of brokers in each subnet; use a multiple of the subnet count",
        );
    }
    for (i, s) in subnets.iter().enumerate() {
        let Value::Ref(r) = s else { continue };
        let Some(subnet) = cx.stack.iter().find(|x| x.address == r.address) else {
            continue;
        };
        if subnet.props.get("tier") == Some(&Value::Str("public".into())) {
            cx.error_at_value(
                &format!("client_subnets[{i}]"),
                &format!("MSK brokers in public subnet {}", subnet.address),
                "the data layer belongs in private subnets (`tier = \"private\"`)",
            );
        }
    }
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"An Amazon MSK (Kafka) cluster in private subnets: TLS between clients and brokers and inside the cluster,
encryption at rest with a customer-managed key of the same stack, clients authenticated by IAM
(SASL/IAM, port 9098) with unauthenticated access off. zinfra uses the v1 `CreateCluster` API.

Checks: `client_broker_encryption` other than `"TLS"`, `in_cluster_encryption = false`, `sasl_iam =
false` and `unauthenticated = true` are errors; `number_of_broker_nodes` must be a multiple of the number
of `client_subnets`; a client subnet with `tier = "public"` is an error; `kms_key` is required.

In place: `number_of_broker_nodes`, `ebs_volume_size` and `tags`, each sent with the cluster's current
version and one at a time, each waiting for `ACTIVE`. Every other field forces replacement, and the plan
says which (``"`kafka_version` cannot be changed in place"``). Replacing a client subnet replaces the cluster.

Waiting: create and each in-place change wait for `ACTIVE` (default 90 minutes, as AWS allows for a multi-broker cluster; set `timeout` on
the resource to change it), and apply shows `MSK cluster: CREATING` with the elapsed time meanwhile. If the
wait times out, the error names the last state; the cluster is tagged, so the next plan or apply finds it,
waits for it and never creates a second one. Destroy waits until the cluster is gone.

Outputs: `id` and `arn` are the cluster ARN; `bootstrap_brokers_sasl_iam` is the SASL/IAM bootstrap
broker string (`b-1.…:9098,…`), which policy documents can use as `${msk_cluster.events.bootstrap_brokers_sasl_iam}`;
`bootstrap_brokers_parameter` is the name of the SSM parameter it is published to (below), when it is;
`topic_arn_prefix` and `group_arn_prefix` (`arn:aws:kafka:…:topic/<cluster>/<uuid>`, `…:group/…`) are
what a client role's policy grants on: `Resource = "${msk_cluster.events.topic_arn_prefix}/hub.*"`. With
IAM authentication (always on), a cluster no role of the stack may `kafka-cluster:Connect` to is a
baseline finding (ZS-MSK-005): the reference stacks give the hub's task role exactly connect, describe,
read and write on its topics, and its consumer groups.
String fields cannot reference outputs, so an `ssm_parameter` cannot take the string as its `value`;
instead the cluster publishes it itself with `publish_bootstrap_brokers_to`. The parameter is written
after `ACTIVE` and again when brokers are added, read back (a parameter changed or deleted outside zinfra
shows as drift), moved when the name changes and deleted with the cluster. Its name is kept in the
cluster tag `zinfra:bootstrap-parameter`.

```toml
[msk_cluster.events]
kafka_version = "3.6.0"
broker_instance_type = "kafka.m5.large"
number_of_broker_nodes = 3
client_subnets = ["subnet.private_a", "subnet.private_b", "subnet.private_c"]
security_groups = ["security_group.kafka"]
kms_key = "kms_key.data"
publish_bootstrap_brokers_to = "/zenoo/prod/kafka/bootstrap-brokers"
timeout = "90m"
```
"##;
