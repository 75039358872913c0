use aws_sdk_dynamodb::types::{PointInTimeRecoveryStatus, SseStatus, SseType, TimeToLiveStatus};
use zinfra::model::{Live, Props, TAG_ADDRESS, TAG_STACK, Value};

use crate::drivers::common::*;
use crate::support::{sdk_config, unique};

fn attributes(pairs: &[(&str, &str)]) -> Value {
    Value::Map(pairs.iter().map(|(k, v)| (k.to_string(), s(v))).collect())
}

/// Every desired field equals the live one.
fn assert_props(live: &Live, want: &Props) {
    for (k, v) in want {
        assert_eq!(live.props.get(k), Some(v), "{}: field `{k}`", live.address);
    }
}

async fn clients() -> (aws_sdk_dynamodb::Client, aws_sdk_kms::Client) {
    let conf = sdk_config().await;
    (
        aws_sdk_dynamodb::Client::new(&conf),
        aws_sdk_kms::Client::new(&conf),
    )
}

#[tokio::test]
async fn dynamodb_table_with_cmk_lifecycle() {
    let aws = aws().await;
    let driver = aws.driver_for("dynamodb_table");
    let (ddb, kms) = clients().await;
    let key = kms
        .create_key()
        .description("zinfra dynamodb test")
        .send()
        .await
        .unwrap();
    let key_arn = key.key_metadata().unwrap().arn().unwrap().to_owned();
    let key_id = key.key_metadata().unwrap().key_id().to_owned();
    let stack = unique("ddb");
    let table = unique("zinfra-table");

    let mut r = resolved(
        &stack,
        "dynamodb_table",
        "sessions",
        props([
            ("table_name", s(&table)),
            ("hash_key", s("pk")),
            ("range_key", s("sk")),
            ("attributes", attributes(&[("pk", "S"), ("sk", "N")])),
            ("billing_mode", s("PAY_PER_REQUEST")),
            ("kms_key", s(&key_arn)),
            ("ttl_attribute", s("expires_at")),
            ("point_in_time_recovery", Value::Bool(true)),
            ("deletion_protection", Value::Bool(true)),
        ]),
    );
    r.tags.insert("team".into(), "platform".into());

    let created = driver.create(&r).await.unwrap();
    assert_eq!(created.id, table);
    assert!(
        created.outputs["arn"].ends_with(&format!(":table/{table}")),
        "{:?}",
        created.outputs
    );

    let found = read(&aws, &*driver, &stack, "dynamodb_table", &[desired(&r)]).await;
    assert_eq!(found.len(), 1, "{found:?}");
    let live = &found[0];
    assert_eq!(live.address, "dynamodb_table.sessions");
    assert_eq!(live.id, table);
    assert_eq!(live.outputs["arn"], created.outputs["arn"]);
    assert_props(live, &r.props);
    assert!(
        !live.props.contains_key("read_capacity"),
        "{:?}",
        live.props
    );
    assert_eq!(live.tags, r.tags);

    // Independently: encrypted with the CMK, TTL and PITR on, protected, tagged.
    let t = ddb
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let sse = t.sse_description().expect("SSE description");
    assert_eq!(sse.status(), Some(&SseStatus::Enabled));
    assert_eq!(sse.sse_type(), Some(&SseType::Kms));
    assert_eq!(sse.kms_master_key_arn(), Some(key_arn.as_str()));
    assert_eq!(t.deletion_protection_enabled(), Some(true));
    let ttl = ddb
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
    assert_eq!(ttl.attribute_name(), Some("expires_at"));
    let backups = ddb
        .describe_continuous_backups()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let pitr = backups
        .continuous_backups_description()
        .unwrap()
        .point_in_time_recovery_description()
        .unwrap();
    assert_eq!(
        pitr.point_in_time_recovery_status(),
        Some(&PointInTimeRecoveryStatus::Enabled)
    );
    let tags = ddb
        .list_tags_of_resource()
        .resource_arn(&created.outputs["arn"])
        .send()
        .await
        .unwrap();
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == TAG_STACK && t.value() == stack)
    );
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == TAG_ADDRESS && t.value() == "dynamodb_table.sessions")
    );

    // Deletion protection stops the driver with a message naming the field; the table stays.
    let err = driver.delete(live).await.unwrap_err();
    assert!(
        format!("{err:#}").contains("deletion_protection"),
        "{err:#}"
    );
    ddb.describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();

    // Update in place: capacity mode, protection off, tags.
    let mut r2 = r.clone();
    r2.props.insert("billing_mode".into(), s("PROVISIONED"));
    r2.props.insert("read_capacity".into(), Value::Int(2));
    r2.props.insert("write_capacity".into(), Value::Int(3));
    r2.props
        .insert("deletion_protection".into(), Value::Bool(false));
    r2.tags.remove("team");
    r2.tags.insert("env".into(), "test".into());
    let changed: Vec<String> = [
        "billing_mode",
        "read_capacity",
        "write_capacity",
        "deletion_protection",
        "tags",
    ]
    .map(String::from)
    .to_vec();
    let updated = driver.update(&r2, live, &changed).await.unwrap();
    assert_eq!(updated.id, table);
    assert_eq!(updated.outputs["arn"], created.outputs["arn"]);

    let found = read(&aws, &*driver, &stack, "dynamodb_table", &[desired(&r2)]).await;
    assert_eq!(found.len(), 1, "{found:?}");
    let live = &found[0];
    assert_props(live, &r2.props);
    assert_eq!(live.tags, r2.tags);
    let t = ddb
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let throughput = t.provisioned_throughput().unwrap();
    assert_eq!(
        (
            throughput.read_capacity_units(),
            throughput.write_capacity_units()
        ),
        (Some(2), Some(3))
    );
    assert_eq!(t.deletion_protection_enabled(), Some(false));

    driver.delete(live).await.unwrap();
    assert!(
        read(&aws, &*driver, &stack, "dynamodb_table", &[desired(&r2)])
            .await
            .is_empty()
    );
    driver.delete(live).await.unwrap();

    // By id: moto 5.2.5 answers ScheduleKeyDeletion on a key ARN with HTTP 500.
    kms.schedule_key_deletion()
        .key_id(&key_id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn dynamodb_table_defaults_and_ttl_change() {
    let aws = aws().await;
    let driver = aws.driver_for("dynamodb_table");
    let (ddb, _) = clients().await;
    let stack = unique("ddb");
    let table = unique("zinfra-table");

    // The schema's defaults, as the engine applies them.
    let r = resolved(
        &stack,
        "dynamodb_table",
        "events",
        props([
            ("table_name", s(&table)),
            ("hash_key", s("id")),
            ("attributes", attributes(&[("id", "S")])),
            ("billing_mode", s("PAY_PER_REQUEST")),
            ("ttl_attribute", s("expires_at")),
            ("point_in_time_recovery", Value::Bool(true)),
            ("deletion_protection", Value::Bool(false)),
        ]),
    );
    let created = driver.create(&r).await.unwrap();

    // Not declared: found through its tags all the same.
    let found = read(&aws, &*driver, &stack, "dynamodb_table", &[]).await;
    assert_eq!(found.len(), 1, "{found:?}");
    let live = &found[0];
    assert_eq!(live.address, "dynamodb_table.events");
    assert_props(live, &r.props);
    for unset in ["range_key", "kms_key", "read_capacity", "write_capacity"] {
        assert!(!live.props.contains_key(unset), "{unset}: {:?}", live.props);
    }
    assert_eq!(live.tags, r.tags);

    // Encrypted at rest with the AWS owned key (DynamoDB always encrypts): no customer key reported.
    let t = ddb
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    assert!(
        t.sse_description()
            .and_then(|s| s.kms_master_key_arn())
            .is_none(),
        "{:?}",
        t.sse_description()
    );
    let backups = ddb
        .describe_continuous_backups()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let pitr = backups
        .continuous_backups_description()
        .unwrap()
        .point_in_time_recovery_description()
        .unwrap();
    assert_eq!(
        pitr.point_in_time_recovery_status(),
        Some(&PointInTimeRecoveryStatus::Enabled)
    );

    // Moving TTL to another attribute: disable, then enable. AWS refuses the second change within an hour of
    // the first, and the driver says so; moto has no such limit.
    let mut r2 = r.clone();
    r2.props.insert("ttl_attribute".into(), s("purge_at"));
    match driver.update(&r2, live, &["ttl_attribute".into()]).await {
        Ok(updated) => {
            assert_eq!(updated.id, created.id);
            let found = read(&aws, &*driver, &stack, "dynamodb_table", &[desired(&r2)]).await;
            assert_eq!(found.len(), 1, "{found:?}");
            assert_props(&found[0], &r2.props);
            let ttl = ddb
                .describe_time_to_live()
                .table_name(&table)
                .send()
                .await
                .unwrap();
            let ttl = ttl.time_to_live_description().unwrap();
            assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
            assert_eq!(ttl.attribute_name(), Some("purge_at"));
        }
        Err(e) => assert!(
            format!("{e:#}").contains("one TTL change per table per hour"),
            "{e:#}"
        ),
    }

    driver.delete(live).await.unwrap();
    assert!(
        read(&aws, &*driver, &stack, "dynamodb_table", &[])
            .await
            .is_empty()
    );
    driver.delete(live).await.unwrap();
}
