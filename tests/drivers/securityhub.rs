//! Security Hub: driver `src/drivers/securityhub.rs`. Also the test of the emulator extension
//! tests/emulator/securityhub.py (BatchEnableStandards, GetEnabledStandards, BatchDisableStandards and
//! the hub's tags), exercised through the SDK.
//!
//! The hub is a per-region singleton and the tests share one emulator: this test owns a region no other
//! test uses.

use zinfra::drivers::Aws;
use zinfra::model::{Props, Value};

use crate::drivers::common::*;
use crate::support::{sdk_config, unique};

const REGION: &str = "eu-west-3";
const FSBP: &str =
    "arn:aws:securityhub:eu-west-3::standards/aws-foundational-security-best-practices/v/1.0.0";

async fn aws_in_region() -> Aws {
    Aws::connect(&endpoint(REGION)).await
}

#[tokio::test]
async fn hub_with_foundational_best_practices() {
    let aws = aws_in_region().await;
    let d = aws.driver_for("securityhub_account");
    let conf = zinfra::drivers::in_region(&sdk_config().await, REGION);
    let sh = aws_sdk_securityhub::Client::new(&conf);
    let stack = unique("sh");
    let mut r = resolved(
        &stack,
        "securityhub_account",
        "main",
        props([("foundational_best_practices", Value::Bool(true))]),
    );
    let created = d.create(&r).await.unwrap();
    let hub = format!("arn:aws:securityhub:{REGION}:");
    assert!(
        created.id.starts_with(&hub) && created.id.ends_with(":hub/default"),
        "{}",
        created.id
    );
    assert_eq!(created.outputs["arn"], created.id);

    let live = read(&aws, &*d, &stack, "securityhub_account", &[desired(&r)]).await;
    assert_eq!(live.len(), 1);
    assert_eq!((&live[0].props, &live[0].tags), (&r.props, &r.tags));
    // Exactly the FSBP standard, READY; no default standards besides it.
    let subs = sh.get_enabled_standards().send().await.unwrap();
    let arns: Vec<_> = subs
        .standards_subscriptions()
        .iter()
        .map(|s| {
            (
                s.standards_arn().unwrap(),
                s.standards_status().unwrap().as_str(),
            )
        })
        .collect();
    assert_eq!(arns, [(FSBP, "READY")]);
    // Another stack never takes the hub over.
    let other = resolved(
        &unique("sh-other"),
        "securityhub_account",
        "main",
        Props::new(),
    );
    let err = format!("{:#}", d.create(&other).await.unwrap_err());
    assert!(
        err.contains(&format!("enabled by zinfra stack `{stack}`")),
        "{err}"
    );
    assert!(
        read(
            &aws,
            &*d,
            &other.tags["zinfra:stack"],
            "securityhub_account",
            &[]
        )
        .await
        .is_empty()
    );

    // In place: the tags (TagResource / UntagResource).
    r.tags.insert("Team".into(), "security".into());
    d.update(&r, &live[0], &["tags".into()]).await.unwrap();
    let live = read(&aws, &*d, &stack, "securityhub_account", &[desired(&r)]).await;
    assert_eq!(live[0].tags, r.tags);
    let mut fewer = r.clone();
    fewer.tags.remove("Team");
    d.update(&fewer, &live[0], &["tags".into()]).await.unwrap();
    let live = read(&aws, &*d, &stack, "securityhub_account", &[desired(&r)]).await;
    assert_eq!(live[0].tags, fewer.tags);

    // Drift: the standard unsubscribed outside zinfra reads as `false`; update subscribes again.
    let sub = sh
        .get_enabled_standards()
        .send()
        .await
        .unwrap()
        .standards_subscriptions()[0]
        .standards_subscription_arn()
        .unwrap()
        .to_owned();
    sh.batch_disable_standards()
        .standards_subscription_arns(&sub)
        .send()
        .await
        .unwrap();
    let drifted = read(&aws, &*d, &stack, "securityhub_account", &[desired(&r)]).await;
    assert_eq!(
        drifted[0].props["foundational_best_practices"],
        Value::Bool(false)
    );
    d.update(&fewer, &drifted[0], &["foundational_best_practices".into()])
        .await
        .unwrap();
    let live = read(&aws, &*d, &stack, "securityhub_account", &[desired(&r)]).await;
    assert_eq!(live[0].props, r.props);

    // Delete disables the hub; again is a no-op.
    d.delete(&live[0]).await.unwrap();
    assert!(
        read(&aws, &*d, &stack, "securityhub_account", &[])
            .await
            .is_empty()
    );
    assert!(sh.describe_hub().send().await.is_err(), "hub still enabled");
    d.delete(&live[0]).await.expect("deleting again is a no-op");
}
