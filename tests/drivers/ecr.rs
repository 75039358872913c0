use aws_sdk_ecr::types::{EncryptionType, ImageTagMutability};
use serde_json::json;
use zinfra::drivers::{Aws, Driver};
use zinfra::model::{Live, Resolved, Value};

use crate::drivers::common::*;
use crate::support::{sdk_config, unique};

async fn ecr() -> aws_sdk_ecr::Client {
    aws_sdk_ecr::Client::new(&sdk_config().await)
}

async fn read_one(aws: &Aws, d: &dyn Driver, r: &Resolved, name: &str) -> Live {
    let live = read_one_live(aws, d, r, name).await;
    let arn = live.outputs.get("arn").expect("arn output");
    assert!(
        arn.starts_with("arn:aws:ecr:us-east-1:") && arn.ends_with(&format!(":repository/{name}")),
        "{arn}"
    );
    let url = live
        .outputs
        .get("repository_url")
        .expect("repository_url output");
    assert!(
        url.ends_with(&format!(".dkr.ecr.us-east-1.amazonaws.com/{name}")),
        "{url}"
    );
    live
}

/// (mutability, scan on push, encryption type, KMS key) as DescribeRepositories reports them.
async fn described(
    ecr: &aws_sdk_ecr::Client,
    name: &str,
) -> (ImageTagMutability, bool, EncryptionType, Option<String>) {
    let out = ecr
        .describe_repositories()
        .repository_names(name)
        .send()
        .await
        .unwrap();
    let r = &out.repositories()[0];
    let enc = r.encryption_configuration().unwrap();
    (
        r.image_tag_mutability().unwrap().clone(),
        r.image_scanning_configuration().unwrap().scan_on_push(),
        enc.encryption_type().clone(),
        enc.kms_key().map(str::to_owned),
    )
}

fn lifecycle(days: i64) -> serde_json::Value {
    json!({"rules": [{
        "rulePriority": 1,
        "description": "expire untagged images",
        "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": days},
        "action": {"type": "expire"}
    }]})
}

fn pull_policy(role: &str) -> serde_json::Value {
    json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "pull",
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{}:role/{role}", super::common::account())},
        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    }]})
}

#[tokio::test]
async fn ecr_repository_lifecycle() {
    let aws = aws().await;
    let d = aws.driver_for("ecr_repository");
    let ecr = ecr().await;
    let stack = unique("ecr-life");
    let name = unique("zinfra-test/hub");
    // The schema's defaults: immutable tags, scan on push, AES-256.
    let mut r = resolved(
        &stack,
        "ecr_repository",
        "hub",
        props([
            ("repository_name", s(&name)),
            ("image_tag_mutability", s("IMMUTABLE")),
            ("scan_on_push", Value::Bool(true)),
            ("encryption_type", s("AES256")),
            ("lifecycle_policy", Value::Json(lifecycle(14))),
            ("repository_policy", Value::Json(pull_policy("puller"))),
        ]),
    );
    let created = d.create(&r).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(created.id, name);
    let live = read_one(&aws, &*d, &r, &name).await;
    assert_eq!(created.outputs, live.outputs);
    assert_eq!(live.props, r.props);
    assert_eq!(
        described(&ecr, &name).await,
        (
            ImageTagMutability::Immutable,
            true,
            EncryptionType::Aes256,
            None
        )
    );
    let text = ecr
        .get_lifecycle_policy()
        .repository_name(&name)
        .send()
        .await
        .unwrap()
        .lifecycle_policy_text
        .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&text).unwrap(),
        lifecycle(14)
    );
    let text = ecr
        .get_repository_policy()
        .repository_name(&name)
        .send()
        .await
        .unwrap()
        .policy_text
        .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&text).unwrap()["Statement"][0]["Action"],
        json!(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"])
    );

    // Orphans (no longer in the file) are read too.
    let orphans = read(&aws, &*d, &stack, "ecr_repository", &[]).await;
    assert_eq!(
        orphans.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(),
        [name.as_str()]
    );

    // Mutability, scanning, both policies and tags change in place.
    r.props.insert("image_tag_mutability".into(), s("MUTABLE"));
    r.props.insert("scan_on_push".into(), Value::Bool(false));
    r.props
        .insert("lifecycle_policy".into(), Value::Json(lifecycle(7)));
    r.props.insert(
        "repository_policy".into(),
        Value::Json(pull_policy("other")),
    );
    r.tags.insert("team".into(), "platform".into());
    let changed: Vec<String> = [
        "image_tag_mutability",
        "scan_on_push",
        "lifecycle_policy",
        "repository_policy",
        "tags",
    ]
    .map(String::from)
    .into();
    d.update(&r, &live, &changed)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let live = read_one(&aws, &*d, &r, &name).await;
    assert_eq!(live.props, r.props);
    assert_eq!(
        described(&ecr, &name).await,
        (
            ImageTagMutability::Mutable,
            false,
            EncryptionType::Aes256,
            None
        )
    );
    r.tags.remove("team");
    d.update(&r, &live, &["tags".into()])
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let live = read_one(&aws, &*d, &r, &name).await;

    // A repository holding images is kept unless `force_delete` says otherwise.
    ecr.put_image()
        .repository_name(&name)
        .image_tag("v1")
        .image_manifest(
            json!({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                   "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1, "digest": "sha256:aa"},
                   "layers": []})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let err = format!("{:#}", d.delete(&live).await.expect_err("holds an image"));
    assert!(err.contains("force_delete"), "{err}");
    let mut forced = live.clone();
    forced
        .props
        .insert("force_delete".into(), Value::Bool(true));
    d.delete(&forced).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert!(
        read(&aws, &*d, &stack, "ecr_repository", &[desired(&r)])
            .await
            .is_empty()
    );
    let gone = ecr
        .describe_repositories()
        .repository_names(&name)
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(
        aws_sdk_ecr::error::ProvideErrorMetadata::code(&gone),
        Some("RepositoryNotFoundException")
    );
    d.delete(&forced).await.expect("deleting again is a no-op");
}

#[tokio::test]
async fn ecr_repository_with_kms() {
    let aws = aws().await;
    let d = aws.driver_for("ecr_repository");
    let ecr = ecr().await;
    let kms = aws_sdk_kms::Client::new(&sdk_config().await);
    let key = kms
        .create_key()
        .description("ecr test key")
        .send()
        .await
        .unwrap();
    let key_arn = key.key_metadata().unwrap().arn().unwrap().to_owned();
    let stack = unique("ecr-kms");
    let name = unique("zinfra-test-kms");
    let r = resolved(
        &stack,
        "ecr_repository",
        "kms",
        props([
            ("repository_name", s(&name)),
            ("image_tag_mutability", s("IMMUTABLE")),
            ("scan_on_push", Value::Bool(true)),
            ("encryption_type", s("KMS")),
            ("kms_key", s(&key_arn)),
        ]),
    );
    d.create(&r).await.unwrap_or_else(|e| panic!("{e:#}"));
    let live = read_one(&aws, &*d, &r, &name).await;
    assert_eq!(live.props, r.props);
    assert_eq!(
        described(&ecr, &name).await,
        (
            ImageTagMutability::Immutable,
            true,
            EncryptionType::Kms,
            Some(key_arn.clone())
        )
    );
    d.delete(&live).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert!(
        read(&aws, &*d, &stack, "ecr_repository", &[])
            .await
            .is_empty()
    );
}
