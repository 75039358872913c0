use aws_sdk_kms::types::{KeySpec, KeyState, KeyUsageType};
use serde_json::json;
use zinfra::drivers::{Aws, Driver};
use zinfra::model::{Live, Props, Resolved, Value};

use crate::drivers::common::*;
use crate::support::{sdk_config, unique};

async fn kms() -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::new(&sdk_config().await)
}

async fn account() -> String {
    crate::support::account_of(&sdk_config().await).await
}

/// The props `read` can return: the desired ones without the write-only fields.
fn readable(p: &Props) -> Props {
    let mut p = p.clone();
    p.remove("deletion_window_in_days");
    p
}

fn key_policy(account: &str, extra: bool) -> Value {
    let mut statements = vec![json!({
        "Sid": "AccountAdmin",
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
        "Action": "kms:*",
        "Resource": "*"
    })];
    if extra {
        statements.push(json!({
            "Sid": "DenyKeyDeletionByOthers",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "kms:ScheduleKeyDeletion",
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:PrincipalAccount": account}}
        }));
    }
    Value::Json(json!({"Version": "2012-10-17", "Statement": statements}))
}

async fn read_one(aws: &Aws, d: &dyn Driver, r: &Resolved, id: &str) -> Live {
    let live = read_one_live(aws, d, r, id).await;
    let arn = live.outputs.get("arn").expect("arn output");
    assert!(
        arn.starts_with("arn:aws:kms:us-east-1:") && arn.ends_with(&format!(":key/{id}")),
        "{arn}"
    );
    live
}

async fn alias_target(kms: &aws_sdk_kms::Client, alias: &str) -> Option<String> {
    let all = kms.list_aliases().send().await.unwrap();
    all.aliases()
        .iter()
        .find(|a| a.alias_name() == Some(alias))
        .and_then(|a| a.target_key_id().map(str::to_owned))
}

async fn rotation(kms: &aws_sdk_kms::Client, id: &str) -> bool {
    kms.get_key_rotation_status()
        .key_id(id)
        .send()
        .await
        .unwrap()
        .key_rotation_enabled()
}

#[tokio::test]
async fn kms_key_lifecycle() {
    let aws = aws().await;
    let d = aws.driver_for("kms_key");
    let kms = kms().await;
    let account = account().await;
    let stack = unique("kms-life");
    let alias = format!("alias/{}", unique("zinfra-test"));
    let mut r = resolved(
        &stack,
        "kms_key",
        "main",
        props([
            ("description", s("zinfra test key")),
            ("alias", s(&alias)),
            ("enable_key_rotation", Value::Bool(true)),
            ("deletion_window_in_days", Value::Int(7)),
            ("policy", key_policy(&account, false)),
        ]),
    );
    let created = d.create(&r).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert!(!created.id.is_empty());
    assert_eq!(
        created.outputs.get("arn").map(String::as_str),
        Some(format!("arn:aws:kms:us-east-1:{account}:key/{}", created.id).as_str())
    );

    let live = read_one(&aws, &*d, &r, &created.id).await;
    assert_eq!(live.props, readable(&r.props));

    // The security defaults, checked on AWS directly: a symmetric key, rotating, reachable by its alias.
    let meta = kms.describe_key().key_id(&created.id).send().await.unwrap();
    let meta = meta.key_metadata().unwrap();
    assert_eq!(meta.key_spec(), Some(&KeySpec::SymmetricDefault));
    assert_eq!(meta.key_usage(), Some(&KeyUsageType::EncryptDecrypt));
    assert_eq!(meta.key_state(), Some(&KeyState::Enabled));
    assert!(rotation(&kms, &created.id).await);
    assert_eq!(
        alias_target(&kms, &alias).await.as_deref(),
        Some(created.id.as_str())
    );

    // Orphans (no longer in the file) are read too; their policy is not fetched.
    let orphans = read(&aws, &*d, &stack, "kms_key", &[]).await;
    assert_eq!(
        orphans.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(),
        [created.id.as_str()]
    );
    assert!(!orphans[0].props.contains_key("policy"));
    assert_eq!(orphans[0].props.get("alias"), Some(&s(&alias)));

    // In-place changes: description, rotation, alias (moved), tags.
    let alias2 = format!("alias/{}", unique("zinfra-test-moved"));
    r.props
        .insert("description".into(), s("zinfra test key, renamed"));
    r.props
        .insert("enable_key_rotation".into(), Value::Bool(false));
    r.props.insert("alias".into(), s(&alias2));
    r.tags.insert("team".into(), "platform".into());
    let changed: Vec<String> = ["description", "enable_key_rotation", "alias", "tags"]
        .map(String::from)
        .into();
    d.update(&r, &live, &changed)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let live = read_one(&aws, &*d, &r, &created.id).await;
    assert_eq!(live.props, readable(&r.props));
    assert!(!rotation(&kms, &created.id).await);
    assert_eq!(
        alias_target(&kms, &alias).await,
        None,
        "the old alias is gone"
    );
    assert_eq!(
        alias_target(&kms, &alias2).await.as_deref(),
        Some(created.id.as_str())
    );

    // Policy and tag removal.
    r.props.insert("policy".into(), key_policy(&account, true));
    r.props
        .insert("enable_key_rotation".into(), Value::Bool(true));
    r.tags.remove("team");
    let changed: Vec<String> = ["policy", "enable_key_rotation", "tags"]
        .map(String::from)
        .into();
    d.update(&r, &live, &changed)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let live = read_one(&aws, &*d, &r, &created.id).await;
    assert_eq!(live.props, readable(&r.props));

    // Delete: the engine hands over the write-only deletion window.
    let mut doomed = live.clone();
    doomed
        .props
        .insert("deletion_window_in_days".into(), Value::Int(7));
    d.delete(&doomed).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert!(
        read(&aws, &*d, &stack, "kms_key", &[desired(&r)])
            .await
            .is_empty()
    );
    let meta = kms.describe_key().key_id(&created.id).send().await.unwrap();
    assert_eq!(
        meta.key_metadata().unwrap().key_state(),
        Some(&KeyState::PendingDeletion)
    );
    assert_eq!(
        alias_target(&kms, &alias2).await,
        None,
        "the alias is freed for reuse"
    );
    d.delete(&doomed).await.expect("deleting again is a no-op");
}

#[tokio::test]
async fn kms_key_defaults_rotate() {
    let aws = aws().await;
    let d = aws.driver_for("kms_key");
    let kms = kms().await;
    let stack = unique("kms-defaults");
    let alias = format!("alias/{}", unique("zinfra-test-defaults"));
    // What the engine hands over for `[kms_key.data] alias = "..."`: defaults applied.
    let r = resolved(
        &stack,
        "kms_key",
        "data",
        props([
            ("alias", s(&alias)),
            ("enable_key_rotation", Value::Bool(true)),
            ("deletion_window_in_days", Value::Int(7)),
        ]),
    );
    let created = d.create(&r).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert!(
        rotation(&kms, &created.id).await,
        "rotation is on by default"
    );
    assert_eq!(
        alias_target(&kms, &alias).await.as_deref(),
        Some(created.id.as_str())
    );
    let live = read_one(&aws, &*d, &r, &created.id).await;
    assert_eq!(
        live.props.get("enable_key_rotation"),
        Some(&Value::Bool(true))
    );
    assert_eq!(live.props.get("alias"), Some(&s(&alias)));

    // Deleting from what create returned (no props): the alias is found and freed all the same.
    d.delete(&created).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert!(read(&aws, &*d, &stack, "kms_key", &[]).await.is_empty());
    assert_eq!(alias_target(&kms, &alias).await, None);
    d.delete(&created).await.expect("deleting again is a no-op");
}
