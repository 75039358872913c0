//! MSK clusters: driver `src/drivers/kafka.rs`. Also the test of the emulator extension
//! tests/emulator/msk.py (CREATING → ACTIVE, GetBootstrapBrokers, UpdateBrokerCount, UpdateBrokerStorage),
//! exercised through the SDK.

use std::time::Duration;

use zinfra::drivers::Aws;
use zinfra::model::{Live, Props, Resolved, TAG_STACK, Value};
use zinfra::wait::{OpCx, scope};

use crate::drivers::common::*;
use crate::support::{sdk_config, unique};

async fn make(aws: &Aws, stack: &str, kind: &str, name: &str, p: Props) -> Live {
    let r = resolved(stack, kind, name, p);
    aws.driver_for(kind)
        .create(&r)
        .await
        .unwrap_or_else(|e| panic!("creating {}: {e:#}", r.address))
}

fn strs(v: &[&str]) -> Value {
    Value::List(v.iter().map(|x| s(x)).collect())
}

fn sorted(v: &Value) -> Value {
    let mut l = v.as_list().to_vec();
    l.sort_by_key(|x| format!("{x:?}"));
    Value::List(l)
}

async fn read_all(aws: &Aws, r: &Resolved) -> Vec<Live> {
    let d = aws.driver_for("msk_cluster");
    let mut lives = read(aws, &*d, &r.tags[TAG_STACK], "msk_cluster", &[desired(r)]).await;
    for l in &mut lives {
        for f in ["client_subnets", "security_groups"] {
            let v = sorted(&l.props[f]);
            l.props.insert(f.into(), v);
        }
    }
    lives
}

#[tokio::test]
async fn msk_cluster_lifecycle_in_place_changes_and_resume_after_timeout() {
    let aws = aws().await;
    let d = aws.driver_for("msk_cluster");
    let msk = aws_sdk_kafka::Client::new(&sdk_config().await);
    let stack = unique("msk");
    let vpc = make(
        &aws,
        &stack,
        "vpc",
        "main",
        props([
            ("cidr_block", s("10.0.0.0/16")),
            ("enable_dns_support", Value::Bool(true)),
            ("enable_dns_hostnames", Value::Bool(true)),
        ]),
    )
    .await;
    let subnet = |cidr: &str, az: &str| {
        props([
            ("vpc", s(&vpc.id)),
            ("cidr_block", s(cidr)),
            ("availability_zone", s(az)),
            ("tier", s("private")),
            ("map_public_ip_on_launch", Value::Bool(false)),
        ])
    };
    let a = make(
        &aws,
        &stack,
        "subnet",
        "a",
        subnet("10.0.1.0/24", "us-east-1a"),
    )
    .await;
    let b = make(
        &aws,
        &stack,
        "subnet",
        "b",
        subnet("10.0.2.0/24", "us-east-1b"),
    )
    .await;
    let sg = make(
        &aws,
        &stack,
        "security_group",
        "kafka",
        props([
            ("vpc", s(&vpc.id)),
            ("description", s("kafka")),
            ("group_name", s(&format!("{stack}-kafka"))),
            ("ingress", Value::List(vec![])),
            ("egress", Value::List(vec![])),
        ]),
    )
    .await;
    let key = make(
        &aws,
        &stack,
        "kms_key",
        "data",
        props([
            ("enable_key_rotation", Value::Bool(true)),
            ("deletion_window_in_days", Value::Int(7)),
        ]),
    )
    .await;
    let key_arn = key.outputs["arn"].clone();
    let mut subnets = [a.id.clone(), b.id.clone()];
    subnets.sort();
    let cluster_props = |name: &str| {
        props([
            ("name", s(name)),
            ("kafka_version", s("3.6.0")),
            ("broker_instance_type", s("kafka.m5.large")),
            ("number_of_broker_nodes", Value::Int(2)),
            ("client_subnets", strs(&[&subnets[0], &subnets[1]])),
            ("security_groups", strs(&[&sg.id])),
            ("ebs_volume_size", Value::Int(100)),
            ("kms_key", s(&key_arn)),
            ("client_broker_encryption", s("TLS")),
            ("in_cluster_encryption", Value::Bool(true)),
            ("sasl_iam", Value::Bool(true)),
            ("unauthenticated", Value::Bool(false)),
            ("enhanced_monitoring", s("PER_BROKER")),
        ])
    };
    let mut r = resolved(&stack, "msk_cluster", "events", cluster_props(&stack));
    let param = format!("/{stack}/kafka/bootstrap");
    r.props
        .insert("publish_bootstrap_brokers_to".into(), s(&param));
    let created = d.create(&r).await.unwrap();
    assert!(
        created.id.starts_with("arn:aws:kafka:us-east-1:"),
        "{}",
        created.id
    );
    let boot = &created.outputs["bootstrap_brokers_sasl_iam"];
    assert!(
        boot.split(',').count() == 2 && boot.split(',').all(|h| h.ends_with(":9098")),
        "{boot}"
    );
    // The parameter's name is an output too (`zinfra output`).
    assert_eq!(created.outputs["bootstrap_brokers_parameter"], param);

    // Published to SSM as a plain String (the broker list is not secret).
    let ssm = aws_sdk_ssm::Client::new(&sdk_config().await);
    let got = ssm.get_parameter().name(&param).send().await.unwrap();
    let got = got.parameter().unwrap();
    assert_eq!(got.value(), Some(boot.as_str()));
    assert_eq!(got.r#type().map(|t| t.as_str()), Some("String"));

    let live = read_all(&aws, &r).await;
    assert_eq!(live.len(), 1);
    assert_eq!((&live[0].props, &live[0].tags), (&r.props, &r.tags));
    // Each control, straight from DescribeCluster.
    let info = msk
        .describe_cluster()
        .cluster_arn(&created.id)
        .send()
        .await
        .unwrap();
    let c = info.cluster_info().unwrap();
    assert_eq!(c.state().map(|s| s.as_str()), Some("ACTIVE"));
    let enc = c.encryption_info().unwrap();
    assert_eq!(
        enc.encryption_at_rest().unwrap().data_volume_kms_key_id(),
        Some(key_arn.as_str())
    );
    let transit = enc.encryption_in_transit().unwrap();
    assert_eq!(transit.client_broker().map(|c| c.as_str()), Some("TLS"));
    assert_eq!(transit.in_cluster(), Some(true));
    let auth = c.client_authentication().unwrap();
    assert_eq!(auth.sasl().unwrap().iam().unwrap().enabled(), Some(true));
    assert_eq!(auth.unauthenticated().unwrap().enabled(), Some(false));
    assert_eq!(
        c.broker_node_group_info().unwrap().security_groups(),
        std::slice::from_ref(&sg.id)
    );
    let version = c.current_version().unwrap().to_owned();

    // In place: broker count (UpdateBrokerCount) and storage (UpdateBrokerStorage), tags.
    r.props
        .insert("number_of_broker_nodes".into(), Value::Int(4));
    r.props.insert("ebs_volume_size".into(), Value::Int(200));
    r.tags.insert("Team".into(), "data".into());
    d.update(
        &r,
        &live[0],
        &[
            "number_of_broker_nodes".into(),
            "ebs_volume_size".into(),
            "tags".into(),
        ],
    )
    .await
    .unwrap();
    let live = read_all(&aws, &r).await;
    assert_eq!((&live[0].props, &live[0].tags), (&r.props, &r.tags));
    let after = msk
        .describe_cluster()
        .cluster_arn(&created.id)
        .send()
        .await
        .unwrap();
    assert_ne!(
        after.cluster_info().unwrap().current_version(),
        Some(version.as_str())
    );
    // A parameter made by hand is never overwritten: publishing to it is refused, its value kept.
    let hand = format!("/{stack}/kafka/hand-made");
    ssm.put_parameter()
        .name(&hand)
        .value("mine")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    let mut onto = r.clone();
    onto.props
        .insert("publish_bootstrap_brokers_to".into(), s(&hand));
    let err = d
        .update(&onto, &live[0], &["publish_bootstrap_brokers_to".into()])
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").contains(&format!(
            "SSM parameter {hand} already exists and is not this cluster's"
        )),
        "{err:#}"
    );
    let kept = ssm.get_parameter().name(&hand).send().await.unwrap();
    assert_eq!(kept.parameter().unwrap().value(), Some("mine"));
    ssm.delete_parameter().name(&hand).send().await.unwrap();
    // Publishing elsewhere moves the parameter in place.
    let param2 = format!("/{stack}/kafka/bootstrap-2");
    r.props
        .insert("publish_bootstrap_brokers_to".into(), s(&param2));
    d.update(&r, &live[0], &["publish_bootstrap_brokers_to".into()])
        .await
        .unwrap();
    let live = read_all(&aws, &r).await;
    assert_eq!((&live[0].props, &live[0].tags), (&r.props, &r.tags));
    assert!(ssm.get_parameter().name(&param).send().await.is_err());
    assert!(ssm.get_parameter().name(&param2).send().await.is_ok());
    // A stale current version is refused, as AWS does.
    let stale = msk
        .update_broker_count()
        .cluster_arn(&created.id)
        .current_version(&version)
        .target_number_of_broker_nodes(6)
        .send()
        .await;
    assert!(stale.is_err());
    // A force-new field is never asked of update (the schema replaces); a driver asked anyway says it
    // has no call for it.
    let mut other = r.clone();
    other.props.insert("kafka_version".into(), s("3.7.x"));
    let err = d
        .update(&other, &live[0], &["kafka_version".into()])
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("no in-place update for `msk_cluster.kafka_version`"),
        "{err}"
    );

    // A wait that times out: the cluster is kept CREATING for 3 s (the extension's tag), the resource's
    // timeout is 300 ms. The error names the state; a re-read finds the one cluster and waits for it.
    let mut slow = resolved(
        &stack,
        "msk_cluster",
        "slow",
        cluster_props(&format!("{stack}-slow")),
    );
    slow.tags
        .insert("zinfra-emulator:creating-seconds".into(), "3".into());
    let err = scope(OpCx::new(Some(Duration::from_millis(300))), d.create(&slow))
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").contains(
            "timed out after 300ms waiting for MSK cluster (last state: CREATING); run apply again"
        ),
        "{err:#}"
    );
    let both = read_all(&aws, &r).await;
    assert_eq!(both.len(), 2, "{both:?}");
    let resumed = both
        .iter()
        .find(|l| l.address == "msk_cluster.slow")
        .unwrap();
    let listed = msk
        .list_clusters()
        .cluster_name_filter(format!("{stack}-slow"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed.cluster_info_list().len(),
        1,
        "a second cluster was created"
    );
    assert_eq!(
        listed.cluster_info_list()[0].state().map(|s| s.as_str()),
        Some("ACTIVE")
    );

    for l in [&live[0], resumed] {
        d.delete(l).await.unwrap();
    }
    assert!(read_all(&aws, &r).await.is_empty());
    assert!(
        ssm.get_parameter().name(&param2).send().await.is_err(),
        "the published parameter outlived its cluster"
    );
    d.delete(&live[0]).await.expect("deleting again is a no-op");
    for l in [&sg, &a, &b, &vpc, &key] {
        aws.driver_for(&l.kind).delete(l).await.unwrap();
    }
}
