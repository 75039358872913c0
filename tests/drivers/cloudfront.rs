use aws_sdk_cloudfront::types::{
    MinimumProtocolVersion, OriginAccessControlOriginTypes, OriginAccessControlSigningBehaviors,
    OriginAccessControlSigningProtocols, SslSupportMethod, ViewerProtocolPolicy,
};
use zinfra::model::{Props, Value};

use crate::drivers::common::*;
use crate::support::{sdk_config, unique};

const CACHING_OPTIMIZED: &str = "658327ea-f89d-4fab-a63d-7e88639e58f6";

async fn cloudfront() -> aws_sdk_cloudfront::Client {
    aws_sdk_cloudfront::Client::new(&sdk_config().await)
}

/// A private bucket made directly: this test is about CloudFront.
async fn bucket() -> String {
    let conf = sdk_config().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    );
    let name = unique("zinfra-test-cdn-origin");
    s3.create_bucket().bucket(&name).send().await.unwrap();
    name
}

/// A certificate for the aliases, requested in us-east-1 as CloudFront requires (moto issues it at once).
async fn certificate(domain: &str) -> String {
    let conf = zinfra::drivers::in_region(&sdk_config().await, "us-east-1");
    let acm = aws_sdk_acm::Client::new(&conf);
    let out = acm
        .request_certificate()
        .domain_name(domain)
        .validation_method(aws_sdk_acm::types::ValidationMethod::Dns)
        .send()
        .await
        .unwrap();
    out.certificate_arn().unwrap().to_owned()
}

fn origin(bucket: &str, oac: &str) -> Value {
    Value::Map(
        [
            ("origin_id", s("assets")),
            ("bucket", s(&format!("{bucket}.s3.us-east-1.amazonaws.com"))),
            ("origin_access_control", s(oac)),
            ("origin_path", s("")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
    )
}

/// The props `read` returns for a distribution declared without `default_origin`.
fn without_default_origin(p: &Props) -> Props {
    let mut p = p.clone();
    assert_eq!(p.remove("default_origin"), Some(s("assets")));
    p
}

#[tokio::test]
async fn cloudfront_distribution_lifecycle() {
    let aws = aws().await;
    let cf = cloudfront().await;
    let stack = unique("cdn-life");

    // Origin access control: SigV4, always, for S3.
    let oacs = aws.driver_for("cloudfront_origin_access_control");
    let oac_name = unique("zinfra-test-oac");
    let oac_r = resolved(
        &stack,
        "cloudfront_origin_access_control",
        "assets",
        props([("name", s(&oac_name)), ("signing_behavior", s("always"))]),
    );
    let oac = oacs
        .create(&oac_r)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let found = read(
        &aws,
        &*oacs,
        &stack,
        "cloudfront_origin_access_control",
        &[],
    )
    .await;
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].id.as_str(), &found[0].props),
        (oac.id.as_str(), &oac_r.props)
    );
    let got = cf
        .get_origin_access_control()
        .id(&oac.id)
        .send()
        .await
        .unwrap();
    let c = got
        .origin_access_control()
        .unwrap()
        .origin_access_control_config()
        .unwrap();
    assert_eq!(
        c.signing_protocol(),
        &OriginAccessControlSigningProtocols::Sigv4
    );
    assert_eq!(
        c.signing_behavior(),
        &OriginAccessControlSigningBehaviors::Always
    );
    assert_eq!(
        c.origin_access_control_origin_type(),
        &OriginAccessControlOriginTypes::S3
    );
    // A second create (a lost reply) finds the first instead of making another.
    let again = oacs
        .create(&oac_r)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(again.id, oac.id);

    // The CLOUDFRONT web ACL, through its driver.
    let waf = aws.driver_for("wafv2_web_acl");
    let acl_r = resolved(
        &stack,
        "wafv2_web_acl",
        "cdn",
        props([
            ("name", s(&unique("zinfra-test-cdn-acl"))),
            ("scope", s("CLOUDFRONT")),
            ("rate_limit", Value::Int(2000)),
            ("max_body_size", Value::Int(8192)),
        ]),
    );
    let acl = waf.create(&acl_r).await.unwrap_or_else(|e| panic!("{e:#}"));
    let acl_arn = acl.outputs["arn"].clone();

    let bucket = bucket().await;
    let alias = format!("{}.example.com", unique("www"));
    let cert = certificate(&alias).await;
    let d = aws.driver_for("cloudfront_distribution");
    let mut r = resolved(
        &stack,
        "cloudfront_distribution",
        "frontend",
        props([
            ("origins", Value::List(vec![origin(&bucket, &oac.id)])),
            ("viewer_protocol_policy", s("redirect-to-https")),
            ("minimum_protocol_version", s("TLSv1.2_2021")),
            ("certificate", s(&cert)),
            ("aliases", Value::List(vec![s(&alias)])),
            ("web_acl", s(&acl_arn)),
            ("default_root_object", s("index.html")),
            ("price_class", s("PriceClass_100")),
            ("enabled", Value::Bool(true)),
            ("compress", Value::Bool(true)),
            ("cache_policy_id", s(CACHING_OPTIMIZED)),
            ("behaviors", Value::List(vec![])),
        ]),
    );
    let t0 = std::time::Instant::now();
    let created = d.create(&r).await.unwrap_or_else(|e| panic!("{e:#}"));
    let id = created.id.clone();
    let domain = created.outputs["domain_name"].clone();
    assert!(domain.ends_with(".cloudfront.net"), "{domain}");
    assert_eq!(
        created.outputs["alias_target"],
        format!("Z2FDTNDATAQYW2/{domain}")
    );
    assert_eq!(
        created.outputs["arn"],
        format!(
            "arn:aws:cloudfront::{}:distribution/{id}",
            super::common::account()
        )
    );
    eprintln!("distribution created and deployed in {:?}", t0.elapsed());

    let live = read_one_live(&aws, &*d, &r, &id).await;
    assert_eq!(without_default_origin(&live.props), r.props);
    assert_eq!(live.outputs, created.outputs);

    // Every control, on CloudFront itself.
    let got = cf.get_distribution_config().id(&id).send().await.unwrap();
    let c = got.distribution_config().unwrap();
    let b = c.default_cache_behavior().unwrap();
    assert_eq!(
        b.viewer_protocol_policy(),
        &ViewerProtocolPolicy::RedirectToHttps
    );
    assert_eq!(b.target_origin_id(), "assets");
    assert_eq!(b.cache_policy_id(), Some(CACHING_OPTIMIZED));
    assert_eq!(b.compress(), Some(true));
    let v = c.viewer_certificate().unwrap();
    assert_eq!(v.acm_certificate_arn(), Some(cert.as_str()));
    assert_eq!(v.ssl_support_method(), Some(&SslSupportMethod::SniOnly));
    assert_eq!(
        v.minimum_protocol_version(),
        Some(&MinimumProtocolVersion::from("TLSv1.2_2021"))
    );
    assert_ne!(v.cloud_front_default_certificate(), Some(true));
    assert_eq!(c.aliases().unwrap().items(), std::slice::from_ref(&alias));
    assert_eq!(c.web_acl_id(), Some(acl_arn.as_str()));
    assert_eq!(c.default_root_object(), Some("index.html"));
    assert!(c.enabled());
    let o = &c.origins().unwrap().items()[0];
    assert_eq!(
        o.domain_name(),
        format!("{bucket}.s3.us-east-1.amazonaws.com")
    );
    // An OAC origin has an S3 origin config with no origin access identity. (moto drops the
    // origin's OAC id: tests/EMULATOR_GAPS.md.)
    assert_eq!(
        o.s3_origin_config()
            .map(|s| s.origin_access_identity())
            .unwrap_or_default(),
        ""
    );
    let tags = cf
        .list_tags_for_resource()
        .resource(&created.outputs["arn"])
        .send()
        .await
        .unwrap();
    let tags: Vec<(&str, &str)> = tags
        .tags()
        .unwrap()
        .items()
        .iter()
        .map(|t| (t.key(), t.value().unwrap_or_default()))
        .collect();
    assert!(tags.contains(&("zinfra:address", "cloudfront_distribution.frontend")));
    let reference = c.caller_reference().to_owned();
    let status = cf.get_distribution().id(&id).send().await.unwrap();
    assert_eq!(status.distribution().unwrap().status(), "Deployed");

    // In place through GetDistributionConfig's ETag: root object, price class, HTTPS only, a tag.
    r.props.insert("default_root_object".into(), s("app.html"));
    r.props.insert("price_class".into(), s("PriceClass_200"));
    r.props
        .insert("viewer_protocol_policy".into(), s("https-only"));
    r.tags.insert("Team".into(), "web".into());
    let changed: Vec<String> = [
        "default_root_object",
        "price_class",
        "viewer_protocol_policy",
        "tags",
    ]
    .map(String::from)
    .to_vec();
    let updated = d
        .update(&r, &live, &changed)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(updated.outputs, created.outputs);
    let live = read_one_live(&aws, &*d, &r, &id).await;
    assert_eq!(without_default_origin(&live.props), r.props);
    let got = cf.get_distribution_config().id(&id).send().await.unwrap();
    let c = got.distribution_config().unwrap();
    assert_eq!(c.default_root_object(), Some("app.html"));
    assert_eq!(
        c.default_cache_behavior().unwrap().viewer_protocol_policy(),
        &ViewerProtocolPolicy::HttpsOnly
    );
    // The update changed the configuration AWS returned (same caller reference), not a new one.
    assert_eq!(c.caller_reference(), reference);

    // Orphans are read too (no file to fill a dropped OAC id from: the origin then has none).
    let orphans = read(&aws, &*d, &stack, "cloudfront_distribution", &[]).await;
    assert_eq!(
        orphans.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(),
        [id.as_str()]
    );

    // Disable, wait until deployed, delete with the new ETag; deleting again is fine.
    d.delete(&live).await.unwrap_or_else(|e| panic!("{e:#}"));
    let gone = cf.get_distribution().id(&id).send().await;
    assert_eq!(
        gone.map_err(|e| zinfra::drivers::error_code(&e).map(str::to_owned))
            .err(),
        Some(Some("NoSuchDistribution".to_owned()))
    );
    assert!(
        read(&aws, &*d, &stack, "cloudfront_distribution", &[])
            .await
            .is_empty()
    );
    d.delete(&live).await.unwrap_or_else(|e| panic!("{e:#}"));

    // The OAC can go once no distribution uses it.
    oacs.delete(&oac).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert!(
        read(
            &aws,
            &*oacs,
            &stack,
            "cloudfront_origin_access_control",
            &[]
        )
        .await
        .is_empty()
    );
    oacs.delete(&oac).await.unwrap_or_else(|e| panic!("{e:#}"));
    waf.delete(&acl).await.unwrap_or_else(|e| panic!("{e:#}"));
}

#[tokio::test]
async fn cloudfront_distribution_with_its_default_certificate() {
    let aws = aws().await;
    let cf = cloudfront().await;
    let stack = unique("cdn-default-cert");
    let oacs = aws.driver_for("cloudfront_origin_access_control");
    let oac = oacs
        .create(&resolved(
            &stack,
            "cloudfront_origin_access_control",
            "assets",
            props([
                ("name", s(&unique("zinfra-test-oac"))),
                ("signing_behavior", s("always")),
            ]),
        ))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let bucket = bucket().await;
    let d = aws.driver_for("cloudfront_distribution");
    let r = resolved(
        &stack,
        "cloudfront_distribution",
        "frontend",
        props([
            ("origins", Value::List(vec![origin(&bucket, &oac.id)])),
            ("default_origin", s("assets")),
            ("viewer_protocol_policy", s("redirect-to-https")),
            ("minimum_protocol_version", s("TLSv1.2_2021")),
            ("aliases", Value::List(vec![])),
            ("default_root_object", s("index.html")),
            ("price_class", s("PriceClass_100")),
            ("enabled", Value::Bool(true)),
            ("compress", Value::Bool(true)),
            ("cache_policy_id", s(CACHING_OPTIMIZED)),
            ("behaviors", Value::List(vec![])),
        ]),
    );
    let created = d.create(&r).await.unwrap_or_else(|e| panic!("{e:#}"));
    // CloudFront's own certificate, whose security policy is TLSv1 whatever is asked: the field does
    // not apply and reads as the file gives it (docs/kinds.md: cloudfront_distribution).
    let got = cf
        .get_distribution_config()
        .id(&created.id)
        .send()
        .await
        .unwrap();
    let v = got
        .distribution_config()
        .unwrap()
        .viewer_certificate()
        .unwrap();
    assert_eq!(v.cloud_front_default_certificate(), Some(true));
    let live = read_one_live(&aws, &*d, &r, &created.id).await;
    assert_eq!(live.props, r.props);
    d.delete(&live).await.unwrap_or_else(|e| panic!("{e:#}"));
    oacs.delete(&oac).await.unwrap_or_else(|e| panic!("{e:#}"));
}
