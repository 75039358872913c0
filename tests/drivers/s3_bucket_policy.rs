use serde_json::json;
use zinfra::model::Value;

use crate::drivers::common::*;
use crate::support::{sdk_config, unique};

async fn s3() -> aws_sdk_s3::Client {
    let conf = sdk_config().await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    )
}

/// Read access for one distribution only, as the frontend bucket's policy grants it.
fn cloudfront_only(bucket: &str, distribution_arn: &str) -> serde_json::Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "CloudFrontReadsAssets",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": format!("arn:aws:s3:::{bucket}/*"),
            "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}}
        }]
    })
}

#[tokio::test]
async fn s3_bucket_policy_lifecycle() {
    let aws = aws().await;
    let s3 = s3().await;
    let stack = unique("bucket-policy");
    // The bucket, through its own driver, so it is tagged for the stack as the engine would make it.
    let buckets = aws.driver_for("s3_bucket");
    let bucket = unique("zinfra-test-frontend");
    let b = buckets
        .create(&resolved(
            &stack,
            "s3_bucket",
            "frontend",
            props([
                ("bucket", s(&bucket)),
                ("sse_algorithm", s("AES256")),
                ("block_public_access", Value::Bool(true)),
                ("versioning", Value::Bool(true)),
            ]),
        ))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(
        b.outputs["regional_domain_name"],
        format!("{bucket}.s3.us-east-1.amazonaws.com")
    );

    let d = aws.driver_for("s3_bucket_policy");
    let first = &format!(
        "arn:aws:cloudfront::{}:distribution/E1FIRST",
        super::common::account()
    );
    let mut r = resolved(
        &stack,
        "s3_bucket_policy",
        "frontend",
        props([
            ("bucket", s(&bucket)),
            ("policy", Value::Json(cloudfront_only(&bucket, first))),
        ]),
    );
    let created = d.create(&r).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(created.id, bucket);
    let found = read(&aws, &*d, &stack, "s3_bucket_policy", &[]).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].address.as_str(), found[0].id.as_str()),
        (r.address.as_str(), bucket.as_str())
    );
    assert_eq!(found[0].props, r.props);

    // On S3: only the CloudFront service principal, only GetObject, only from that distribution.
    let stored: serde_json::Value = serde_json::from_str(
        s3.get_bucket_policy()
            .bucket(&bucket)
            .send()
            .await
            .unwrap()
            .policy()
            .unwrap(),
    )
    .unwrap();
    let st = &stored["Statement"][0];
    assert_eq!(
        st["Principal"],
        json!({"Service": "cloudfront.amazonaws.com"})
    );
    assert_eq!(st["Action"], json!("s3:GetObject"));
    assert_eq!(
        st["Condition"]["StringEquals"]["AWS:SourceArn"],
        json!(first)
    );
    assert_eq!(stored["Statement"].as_array().unwrap().len(), 1);
    assert_eq!(
        stored["Id"],
        json!(format!("zinfra {stack} s3_bucket_policy.frontend"))
    );

    // In place: another distribution.
    let second = &format!(
        "arn:aws:cloudfront::{}:distribution/E2SECOND",
        super::common::account()
    );
    r.props.insert(
        "policy".into(),
        Value::Json(cloudfront_only(&bucket, second)),
    );
    d.update(&r, &found[0], &["policy".to_owned()])
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let found = read(&aws, &*d, &stack, "s3_bucket_policy", &[]).await;
    assert_eq!(found[0].props, r.props);

    // Another stack never sees it.
    assert!(
        read(&aws, &*d, &unique("other"), "s3_bucket_policy", &[])
            .await
            .is_empty()
    );

    d.delete(&found[0])
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert!(
        read(&aws, &*d, &stack, "s3_bucket_policy", &[])
            .await
            .is_empty()
    );
    let none = s3.get_bucket_policy().bucket(&bucket).send().await;
    assert_eq!(
        none.map_err(|e| zinfra::drivers::error_code(&e).map(str::to_owned))
            .err(),
        Some(Some("NoSuchBucketPolicy".to_owned()))
    );
    d.delete(&found[0])
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    buckets.delete(&b).await.unwrap_or_else(|e| panic!("{e:#}"));
}
