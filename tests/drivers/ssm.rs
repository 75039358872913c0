use aws_sdk_ssm::types::{ParameterStringFilter, ParameterType};
use zinfra::drivers::{Aws, Driver};
use zinfra::model::{Live, Resolved, Secret, Value};

use crate::drivers::common::*;
use crate::support::{sdk_config, unique};

async fn ssm() -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::new(&sdk_config().await)
}

fn secret(env: &str, value: &str) -> Value {
    secret_v(env, value, 1)
}

fn secret_v(env: &str, value: &str, version: i64) -> Value {
    Value::Secret(Secret {
        env: env.to_owned(),
        version,
        value: Some(value.to_owned()),
    })
}

/// A CMK for SecureStrings, made directly: this test is about the parameter. Returns (key id, key ARN).
async fn cmk() -> (String, String) {
    let kms = aws_sdk_kms::Client::new(&sdk_config().await);
    let key = kms
        .create_key()
        .description("ssm test key")
        .send()
        .await
        .unwrap();
    let meta = key.key_metadata().unwrap();
    (meta.key_id().to_owned(), meta.arn().unwrap().to_owned())
}

async fn drop_cmk(id: &str) {
    let kms = aws_sdk_kms::Client::new(&sdk_config().await);
    kms.schedule_key_deletion()
        .key_id(id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
}

async fn read_one(aws: &Aws, d: &dyn Driver, r: &Resolved, name: &str) -> Live {
    let live = read_one_live(aws, d, r, name).await;
    let arn = live.outputs.get("arn").expect("arn output");
    let path = name.trim_start_matches('/');
    assert!(
        arn.starts_with("arn:aws:ssm:us-east-1:") && arn.ends_with(&format!(":parameter/{path}")),
        "{arn}"
    );
    live
}

/// Type and KeyId as DescribeParameters reports them.
async fn described(
    ssm: &aws_sdk_ssm::Client,
    name: &str,
) -> (Option<ParameterType>, Option<String>) {
    let filter = ParameterStringFilter::builder()
        .key("Name")
        .option("Equals")
        .values(name)
        .build()
        .unwrap();
    let out = ssm
        .describe_parameters()
        .parameter_filters(filter)
        .send()
        .await
        .unwrap();
    let p = &out.parameters()[0];
    (p.r#type().cloned(), p.key_id().map(str::to_owned))
}

async fn stored(ssm: &aws_sdk_ssm::Client, name: &str, decrypt: bool) -> String {
    let out = ssm
        .get_parameter()
        .name(name)
        .with_decryption(decrypt)
        .send()
        .await
        .unwrap();
    out.parameter().unwrap().value().unwrap().to_owned()
}

#[tokio::test]
async fn ssm_secure_string_lifecycle() {
    let aws = aws().await;
    let d = aws.driver_for("ssm_parameter");
    let ssm = ssm().await;
    let (key_id, key_arn) = cmk().await;
    let stack = unique("ssm-life");
    let name = format!("/{}/db/password", unique("zinfra-test"));
    let value = unique("s3cr3t-db-password");
    // What the engine hands over for `value_from_env = "DB_PASSWORD"`, defaults applied.
    let mut r = resolved(
        &stack,
        "ssm_parameter",
        "db_password",
        props([
            ("name", s(&name)),
            ("type", s("SecureString")),
            ("value", secret("DB_PASSWORD", &value)),
            ("kms_key", s(&key_arn)),
            ("description", s("database password")),
        ]),
    );
    let created = d.create(&r).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(created.id, name);
    assert!(
        created
            .outputs
            .get("arn")
            .is_some_and(|a| a.ends_with(&format!(":parameter{name}"))),
        "{:?}",
        created.outputs
    );

    let live = read_one(&aws, &*d, &r, &name).await;
    assert_eq!(live.props, r.props);
    assert!(
        matches!(live.props.get("value"), Some(Value::Secret(s)) if s.value.is_none() && s.version == 1 && s.env.is_empty()),
        "value read as a secret's version, never its value"
    );
    assert!(
        !format!("{live:?}").contains(&value),
        "the secret leaks through Debug"
    );

    // Stored encrypted with the given CMK; the value round-trips.
    assert_eq!(
        described(&ssm, &name).await,
        (Some(ParameterType::SecureString), Some(key_arn.clone()))
    );
    // (Plain asserts: a failing assert_eq! would print the secret.)
    assert!(stored(&ssm, &name, false).await != value, "stored in clear");
    assert!(
        stored(&ssm, &name, true).await == value,
        "the value does not round-trip"
    );

    // Orphans (no longer in the file) are read too.
    let orphans = read(&aws, &*d, &stack, "ssm_parameter", &[]).await;
    assert_eq!(
        orphans.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(),
        [name.as_str()]
    );

    // An AWS error never carries the value.
    let err = format!(
        "{:#}",
        d.create(&r).await.expect_err("the parameter exists")
    );
    assert!(err.contains("ParameterAlreadyExists"), "{err}");
    assert!(!err.contains(&value), "the secret leaks through an error");

    // Rotation (version 2), description and tags in place.
    let value2 = unique("s3cr3t-rotated");
    r.props
        .insert("value".into(), secret_v("DB_PASSWORD", &value2, 2));
    r.props
        .insert("description".into(), s("database password, rotated"));
    r.tags.insert("team".into(), "data".into());
    let changed: Vec<String> = ["value", "description", "tags"].map(String::from).into();
    let updated = d
        .update(&r, &live, &changed)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert!(!format!("{updated:?}").contains(&value2));
    let live = read_one(&aws, &*d, &r, &name).await;
    assert_eq!(live.props, r.props);
    assert!(
        !format!("{live:?}").contains(&value2),
        "the secret leaks through Debug"
    );
    assert_eq!(
        described(&ssm, &name).await.1,
        Some(key_arn.clone()),
        "the CMK survives an overwrite"
    );
    assert!(
        stored(&ssm, &name, true).await == value2,
        "the new value was not written"
    );

    // A tag removed.
    r.tags.remove("team");
    d.update(&r, &live, &["tags".into()])
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let live = read_one(&aws, &*d, &r, &name).await;

    d.delete(&live).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert!(
        read(&aws, &*d, &stack, "ssm_parameter", &[desired(&r)])
            .await
            .is_empty()
    );
    d.delete(&live).await.expect("deleting again is a no-op");
    drop_cmk(&key_id).await;
}

#[tokio::test]
async fn ssm_plain_parameters() {
    let aws = aws().await;
    let d = aws.driver_for("ssm_parameter");
    let ssm = ssm().await;
    let stack = unique("ssm-plain");
    // No leading `/`: the ARN alone could not tell this name from `/<name>`.
    let name = unique("zinfra-test-region");
    let mut r = resolved(
        &stack,
        "ssm_parameter",
        "region",
        props([
            ("name", s(&name)),
            ("type", s("String")),
            ("value", s("eu-west-1")),
        ]),
    );
    let created = d.create(&r).await.unwrap_or_else(|e| panic!("{e:#}"));
    let live = read_one(&aws, &*d, &r, &name).await;
    assert_eq!(live.props, r.props);
    assert_eq!(
        described(&ssm, &name).await,
        (Some(ParameterType::String), None)
    );

    r.props.insert("value".into(), s("eu-central-1"));
    r.tags.insert("env".into(), "test".into());
    d.update(&r, &live, &["value".into(), "tags".into()])
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let live = read_one(&aws, &*d, &r, &name).await;
    assert_eq!(live.props, r.props);
    assert_eq!(stored(&ssm, &name, false).await, "eu-central-1");

    // A String parameter whose value comes from the environment reads back as a secret when the file says so.
    let name2 = format!("/{}/token", unique("zinfra-test"));
    let token = unique("t0ken");
    let r2 = resolved(
        &stack,
        "ssm_parameter",
        "token",
        props([
            ("name", s(&name2)),
            ("type", s("String")),
            ("value", secret("TOKEN", &token)),
        ]),
    );
    let created2 = d.create(&r2).await.unwrap_or_else(|e| panic!("{e:#}"));
    let live2 = read_one(&aws, &*d, &r2, &name2).await;
    assert_eq!(live2.props, r2.props);
    assert!(!format!("{live2:?}").contains(&token));

    for (c, r) in [(&created, &r), (&created2, &r2)] {
        d.delete(c).await.unwrap_or_else(|e| panic!("{e:#}"));
        assert!(
            read(&aws, &*d, &stack, "ssm_parameter", &[desired(r)])
                .await
                .iter()
                .all(|l| l.address != r.address)
        );
        d.delete(c).await.expect("deleting again is a no-op");
    }
    assert!(
        read(&aws, &*d, &stack, "ssm_parameter", &[])
            .await
            .is_empty()
    );
}
