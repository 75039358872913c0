use zinfra::drivers::Aws;
use zinfra::model::{TAG_STACK, Value};

use crate::drivers::common::*;
use crate::drivers::route53::assert_props;
use crate::support::{sdk_config, unique};

/// The provider as the CLI builds it for a stack in eu-west-1.
async fn aws_in_eu_west_1() -> Aws {
    Aws::connect(&endpoint("eu-west-1")).await
}

async fn acm_in(region: &str) -> aws_sdk_acm::Client {
    let conf = sdk_config().await;
    aws_sdk_acm::Client::new(&zinfra::drivers::in_region(&conf, region))
}

#[tokio::test]
async fn acm_certificates_in_the_stack_region_and_us_east_1() {
    let aws = aws_in_eu_west_1().await;
    let d = aws.driver_for("acm_certificate");
    let zd = aws.driver_for("route53_zone");
    let stack = unique("acm");
    let domain = format!("{}.zenoo.example", unique("dev"));
    let zone = resolved(
        &stack,
        "route53_zone",
        "main",
        props([("name", s(&domain)), ("comment", s("acm test"))]),
    );
    let zone_live = zd.create(&zone).await.unwrap_or_else(|e| panic!("{e:#}"));
    let zone_id = zone_live.id.clone();

    // A CloudFront certificate: us-east-1 although the stack is in eu-west-1.
    let mut cf = resolved(
        &stack,
        "acm_certificate",
        "cdn",
        props([
            ("domain_name", s(&domain)),
            (
                "subject_alternative_names",
                Value::List(vec![s(&format!("www.{domain}"))]),
            ),
            ("validation_method", s("DNS")),
            ("key_algorithm", s("RSA_2048")),
            ("zone", s(&zone_id)),
            ("region", s("us-east-1")),
        ]),
    );
    cf.tags.insert("team".into(), "web".into());
    // The ALB's certificate: the stack's region.
    let alb = resolved(
        &stack,
        "acm_certificate",
        "alb",
        props([
            ("domain_name", s(&format!("api.{domain}"))),
            ("subject_alternative_names", Value::List(vec![])),
            ("validation_method", s("DNS")),
            ("key_algorithm", s("RSA_2048")),
            ("zone", s(&zone_id)),
        ]),
    );
    let t0 = std::time::Instant::now();
    let (c1, c2) = futures::join!(d.create(&cf), d.create(&alb));
    let (c1, c2) = (
        c1.unwrap_or_else(|e| panic!("{e:#}")),
        c2.unwrap_or_else(|e| panic!("{e:#}")),
    );
    eprintln!("two certificates issued in {:?}", t0.elapsed());
    assert!(c1.id.starts_with("arn:aws:acm:us-east-1:"), "{}", c1.id);
    assert!(c2.id.starts_with("arn:aws:acm:eu-west-1:"), "{}", c2.id);
    assert_eq!(c1.outputs["arn"], c1.id);

    // Verified independently: the us-east-1 client sees it issued with RSA 2048 and the DNS method; the
    // eu-west-1 client does not see it.
    let use1 = acm_in("us-east-1").await;
    let euw1 = acm_in("eu-west-1").await;
    let got = use1
        .describe_certificate()
        .certificate_arn(&c1.id)
        .send()
        .await
        .unwrap();
    let cert = got.certificate().unwrap();
    assert_eq!(cert.status().unwrap().as_str(), "ISSUED");
    assert_eq!(
        cert.key_algorithm().unwrap().as_str().replace('-', "_"),
        "RSA_2048"
    );
    let dv = &cert.domain_validation_options()[0];
    assert_eq!(dv.validation_method().unwrap().as_str(), "DNS");
    assert!(
        euw1.describe_certificate()
            .certificate_arn(&c1.id)
            .send()
            .await
            .is_err()
    );
    // The validation records are in the zone.
    let r53 = aws_sdk_route53::Client::new(&sdk_config().await);
    let sets = r53
        .list_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .send()
        .await
        .unwrap();
    let rr = dv.resource_record().unwrap();
    assert!(
        sets.resource_record_sets()
            .iter()
            .any(|s| s.name() == rr.name()
                && s.r#type().as_str() == "CNAME"
                && s.resource_records()[0].value() == rr.value()),
        "validation record {rr:?} missing from {sets:?}"
    );

    // Read finds both, in their regions, with every field (zone included: issued and records present).
    let found = read(
        &aws,
        &*d,
        &stack,
        "acm_certificate",
        &[desired(&cf), desired(&alb)],
    )
    .await;
    assert_eq!(found.len(), 2, "{found:?}");
    let by = |a: &str| found.iter().find(|l| l.address == a).unwrap().clone();
    let live_cf = by("acm_certificate.cdn");
    assert_props(&live_cf, &cf.props);
    assert_eq!(live_cf.tags, cf.tags);
    assert_eq!(live_cf.id, c1.id);
    let live_alb = by("acm_certificate.alb");
    assert_props(&live_alb, &alb.props);
    assert_eq!(live_alb.props["region"], s("eu-west-1"));
    assert_eq!(live_alb.tags[TAG_STACK], stack);

    // In place: tags.
    cf.tags.remove("team");
    cf.tags.insert("owner".into(), "frontend".into());
    d.update(&cf, &live_cf, &["tags".into()])
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let found = read(&aws, &*d, &stack, "acm_certificate", &[desired(&cf)]).await;
    let live_cf = found
        .iter()
        .find(|l| l.address == "acm_certificate.cdn")
        .unwrap();
    assert_eq!(live_cf.tags, cf.tags);

    // Validation records removed by hand: `zone` no longer reads back, and the update rewrites them.
    let set = sets
        .resource_record_sets()
        .iter()
        .find(|s| s.name() == rr.name())
        .unwrap()
        .clone();
    r53.change_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .change_batch(
            aws_sdk_route53::types::ChangeBatch::builder()
                .changes(
                    aws_sdk_route53::types::Change::builder()
                        .action(aws_sdk_route53::types::ChangeAction::Delete)
                        .resource_record_set(set)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let found = read(&aws, &*d, &stack, "acm_certificate", &[desired(&cf)]).await;
    let stale = found
        .iter()
        .find(|l| l.address == "acm_certificate.cdn")
        .unwrap()
        .clone();
    assert_eq!(stale.props.get("zone"), None, "{:?}", stale.props);
    d.update(&cf, &stale, &["zone".into()])
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let found = read(&aws, &*d, &stack, "acm_certificate", &[desired(&cf)]).await;
    assert_eq!(
        found
            .iter()
            .find(|l| l.address == "acm_certificate.cdn")
            .unwrap()
            .props
            .get("zone"),
        Some(&s(&zone_id))
    );

    // Delete (twice is fine); read returns nothing; the zone's delete takes the validation records with it.
    for l in &found {
        d.delete(l).await.unwrap_or_else(|e| panic!("{e:#}"));
        d.delete(l).await.unwrap_or_else(|e| panic!("{e:#}"));
    }
    assert!(
        use1.describe_certificate()
            .certificate_arn(&c1.id)
            .send()
            .await
            .is_err()
    );
    // Created again from the same spec right after: ACM still remembers the (deterministic)
    // token for an hour and answers with the deleted certificate; the next token in the chain makes
    // a new one, which exists.
    let again = d.create(&alb).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_ne!(again.id, c2.id);
    euw1.describe_certificate()
        .certificate_arn(&again.id)
        .send()
        .await
        .expect("the new certificate exists");
    d.delete(&again).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert!(
        read(&aws, &*d, &stack, "acm_certificate", &[])
            .await
            .is_empty()
    );
    zd.delete(&zone_live)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert!(r53.get_hosted_zone().id(&zone_id).send().await.is_err());
}
