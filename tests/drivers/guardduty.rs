//! GuardDuty detector: driver `src/drivers/guardduty.rs`.
//!
//! A detector is a per-region singleton, and the tests share one emulator: this test owns a region no
//! other test uses, so concurrent tests never see its detector (nor it theirs).

use zinfra::drivers::Aws;
use zinfra::model::{Props, Value};

use crate::drivers::common::*;
use crate::support::{sdk_config, unique};

const REGION: &str = "ap-southeast-2";

async fn aws_in_region() -> Aws {
    Aws::connect(&endpoint(REGION)).await
}

#[tokio::test]
async fn detector_lifecycle_and_no_takeover() {
    let aws = aws_in_region().await;
    let d = aws.driver_for("guardduty_detector");
    let conf = zinfra::drivers::in_region(&sdk_config().await, REGION);
    let gd = aws_sdk_guardduty::Client::new(&conf);
    let stack = unique("gd");
    let mut r = resolved(
        &stack,
        "guardduty_detector",
        "main",
        props([
            ("enable", Value::Bool(true)),
            ("finding_publishing_frequency", s("FIFTEEN_MINUTES")),
        ]),
    );
    let created = d.create(&r).await.unwrap();
    assert!(
        created.outputs["arn"].starts_with(&format!("arn:aws:guardduty:{REGION}:"))
            && created.outputs["arn"].ends_with(&format!("detector/{}", created.id)),
        "{:?}",
        created.outputs
    );
    let live = read(&aws, &*d, &stack, "guardduty_detector", &[desired(&r)]).await;
    assert_eq!(live.len(), 1);
    assert_eq!(
        (&live[0].id, &live[0].props, &live[0].tags),
        (&created.id, &r.props, &r.tags)
    );
    let direct = gd
        .get_detector()
        .detector_id(&created.id)
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status().map(|s| s.as_str()), Some("ENABLED"));

    // One detector per region: a second stack's create is refused and names the existing one.
    let other = resolved(
        &unique("gd-other"),
        "guardduty_detector",
        "main",
        Props::new(),
    );
    let err = format!("{:#}", d.create(&other).await.unwrap_err());
    assert!(
        err.contains(&format!("already has GuardDuty detector {}", created.id))
            && err.contains(&format!("created zinfra stack `{stack}`")),
        "{err}"
    );

    // In place: the publishing frequency.
    r.props
        .insert("finding_publishing_frequency".into(), s("ONE_HOUR"));
    d.update(&r, &live[0], &["finding_publishing_frequency".into()])
        .await
        .unwrap();
    let live = read(&aws, &*d, &stack, "guardduty_detector", &[desired(&r)]).await;
    assert_eq!(live[0].props, r.props);
    let direct = gd
        .get_detector()
        .detector_id(&created.id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        direct.finding_publishing_frequency().map(|f| f.as_str()),
        Some("ONE_HOUR")
    );

    d.delete(&live[0]).await.unwrap();
    assert!(
        read(&aws, &*d, &stack, "guardduty_detector", &[])
            .await
            .is_empty()
    );
    assert!(
        gd.list_detectors()
            .send()
            .await
            .unwrap()
            .detector_ids()
            .is_empty()
    );
    d.delete(&live[0]).await.expect("deleting again is a no-op");
}
