//! `cloudwatch_log_group` against moto: create with retention and tags, read back, change retention,
//! key and tags in place, adopt a group made by hand, delete.

use zinfra::model::{Live, Value};

use crate::drivers::common::*;
use crate::support::{sdk_config, unique};

async fn logs() -> aws_sdk_cloudwatchlogs::Client {
    aws_sdk_cloudwatchlogs::Client::new(&sdk_config().await)
}

/// (retention, key) as DescribeLogGroups reports them.
async fn described(
    c: &aws_sdk_cloudwatchlogs::Client,
    name: &str,
) -> (Option<i32>, Option<String>) {
    let out = c
        .describe_log_groups()
        .log_group_name_prefix(name)
        .send()
        .await
        .unwrap();
    let g = out
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(name))
        .expect("the group exists");
    (g.retention_in_days(), g.kms_key_id().map(str::to_owned))
}

#[tokio::test]
async fn log_groups_keep_retention_key_and_tags_in_place() {
    let aws = aws().await;
    let d = aws.driver_for("cloudwatch_log_group");
    let c = logs().await;
    let stack = unique("logs");
    let name = format!("/ecs/{stack}/hub");
    let mut r = resolved(
        &stack,
        "cloudwatch_log_group",
        "hub",
        props([
            ("log_group_name", s(&name)),
            ("retention_in_days", Value::Int(30)),
        ]),
    );
    let created = d.create(&r).await.unwrap();
    assert_eq!(created.id, name);
    assert_eq!(described(&c, &name).await, (Some(30), None));

    let live = read_one_live(&aws, d.as_ref(), &r, &name).await;
    let arn = live.outputs["arn"].clone();
    assert!(arn.ends_with(&format!(":log-group:{name}")), "{arn}");
    assert_eq!(live.props["retention_in_days"], Value::Int(30));
    assert_eq!(live.props["kms_key"], Value::Null);

    // Retention, key and tags change in place; the group keeps its name and ARN.
    let key = format!("arn:aws:kms:us-east-1:{}:key/{}", account(), unique("k"));
    r.props.insert("retention_in_days".into(), Value::Int(90));
    r.props.insert("kms_key".into(), s(&key));
    r.tags.insert("team".into(), "hub".into());
    let changed = ["retention_in_days", "kms_key", "tags"].map(String::from);
    d.update(&r, &live, &changed).await.unwrap();
    assert_eq!(described(&c, &name).await, (Some(90), Some(key)));
    let live = read_one_live(&aws, d.as_ref(), &r, &name).await;
    assert_eq!(live.outputs["arn"], arn);

    // Dropping the key disassociates it.
    r.props.insert("kms_key".into(), Value::Null);
    d.update(&r, &live, &["kms_key".to_owned()]).await.unwrap();
    assert_eq!(described(&c, &name).await, (Some(90), None));

    d.delete(&live).await.unwrap();
    assert!(
        read(
            &aws,
            d.as_ref(),
            &stack,
            "cloudwatch_log_group",
            &[desired(&r)]
        )
        .await
        .is_empty()
    );
    // Deleting what is gone is done.
    d.delete(&live).await.unwrap();
}

#[tokio::test]
async fn a_group_made_by_hand_is_found_by_name_and_never_read_as_the_stacks() {
    let aws = aws().await;
    let d = aws.driver_for("cloudwatch_log_group");
    let c = logs().await;
    let stack = unique("logs-hand");
    let name = format!("/ecs/{stack}/by-hand");
    c.create_log_group()
        .log_group_name(&name)
        .send()
        .await
        .unwrap();
    let r = resolved(
        &stack,
        "cloudwatch_log_group",
        "hub",
        props([("log_group_name", s(&name))]),
    );
    // The stack's read does not claim it (no zinfra tags) ...
    assert!(
        read(
            &aws,
            d.as_ref(),
            &stack,
            "cloudwatch_log_group",
            &[desired(&r)]
        )
        .await
        .is_empty()
    );
    // ... the adoption lookup finds it by name, as somebody else's.
    let run = aws.read_run(&stack);
    let cx = zinfra::drivers::ReadCx {
        stack: &stack,
        kind: "cloudwatch_log_group",
        desired: vec![],
        tagged: vec![],
        run: &run,
    };
    let found: Live = d
        .find(&cx, &desired(&r))
        .await
        .unwrap()
        .expect("found by name");
    assert_eq!(found.id, name);
    assert!(found.tags.is_empty());
    c.delete_log_group()
        .log_group_name(&name)
        .send()
        .await
        .unwrap();
}
