use aws_sdk_route53::types::TagResourceType;
use zinfra::model::{Live, Props, Value};

use crate::drivers::common::*;
use crate::support::{sdk_config, unique};

/// Every desired field equals the live one.
pub fn assert_props(live: &Live, want: &Props) {
    for (k, v) in want {
        assert_eq!(live.props.get(k), Some(v), "{}: field `{k}`", live.address);
    }
}

async fn route53() -> aws_sdk_route53::Client {
    aws_sdk_route53::Client::new(&sdk_config().await)
}

/// The record set (name, type) of a zone, straight from Route53.
async fn record_set(
    r53: &aws_sdk_route53::Client,
    zone: &str,
    name: &str,
    ty: &str,
) -> Option<aws_sdk_route53::types::ResourceRecordSet> {
    let out = r53
        .list_resource_record_sets()
        .hosted_zone_id(zone)
        .send()
        .await
        .unwrap();
    out.resource_record_sets()
        .iter()
        .find(|s| s.name().trim_end_matches('.') == name && s.r#type().as_str() == ty)
        .cloned()
}

#[tokio::test]
async fn route53_zone_and_records_lifecycle() {
    let aws = aws().await;
    let zd = aws.driver_for("route53_zone");
    let rd = aws.driver_for("route53_record");
    let r53 = route53().await;
    let stack = unique("r53");
    let domain = format!("{}.zenoo.example", unique("dev"));

    // Zone: created, tagged, found again with its outputs.
    let mut zone = resolved(
        &stack,
        "route53_zone",
        "main",
        props([("name", s(&domain)), ("comment", s("dev zone"))]),
    );
    zone.tags.insert("team".into(), "platform".into());
    let created = zd.create(&zone).await.unwrap_or_else(|e| panic!("{e:#}"));
    let zone_id = created.id.clone();
    assert!(!zone_id.starts_with('/'), "{zone_id}");
    let live = read_one_live(&aws, &*zd, &zone, &zone_id).await;
    assert_props(&live, &zone.props);
    assert_eq!(live.outputs["zone_id"], zone_id);
    assert_eq!(
        live.outputs["arn"],
        format!("arn:aws:route53:::hostedzone/{zone_id}")
    );
    assert!(!live.outputs["name_servers"].is_empty());
    let got = r53.get_hosted_zone().id(&zone_id).send().await.unwrap();
    let hz = got.hosted_zone().unwrap();
    assert_eq!(hz.name().trim_end_matches('.'), domain);
    assert_eq!(hz.config().unwrap().comment(), Some("dev zone"));
    assert!(!hz.config().unwrap().private_zone(), "public zone");

    // In place: comment and tags.
    zone.props.insert("comment".into(), s("dev zone, renamed"));
    zone.tags.remove("team");
    zd.update(&zone, &live, &["comment".into(), "tags".into()])
        .await
        .unwrap();
    let live = read_one_live(&aws, &*zd, &zone, &zone_id).await;
    assert_props(&live, &zone.props);

    // A plain record and an alias record, found from the zone with every field.
    let api_name = format!("api.{domain}");
    let mut plain = resolved(
        &stack,
        "route53_record",
        "txt",
        props([
            ("zone", s(&zone_id)),
            ("name", s(&format!("owner.{domain}"))),
            ("type", s("TXT")),
            ("ttl", Value::Int(300)),
            ("records", Value::List(vec![s("\"zenoo\"")])),
            ("evaluate_target_health", Value::Bool(false)),
        ]),
    );
    let alias_target = "Z35SXDOTRQ7X7K/web-123.us-east-1.elb.amazonaws.com";
    let alias = resolved(
        &stack,
        "route53_record",
        "api",
        props([
            ("zone", s(&zone_id)),
            ("name", s(&api_name)),
            ("type", s("A")),
            ("alias", s(alias_target)),
            ("evaluate_target_health", Value::Bool(true)),
        ]),
    );
    let p = rd.create(&plain).await.unwrap_or_else(|e| panic!("{e:#}"));
    let a = rd.create(&alias).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(a.id, format!("{zone_id}_{api_name}_A"));
    let found = read(
        &aws,
        &*rd,
        &stack,
        "route53_record",
        &[desired(&plain), desired(&alias)],
    )
    .await;
    assert_eq!(found.len(), 2, "{found:?}");
    let by = |addr: &str| found.iter().find(|l| l.address == addr).unwrap().clone();
    assert_props(&by("route53_record.txt"), &plain.props);
    assert_eq!(by("route53_record.txt").id, p.id);
    assert_props(&by("route53_record.api"), &alias.props);
    assert_eq!(by("route53_record.api").outputs["fqdn"], api_name);
    // The alias points at the load balancer's name, never an address.
    let set = record_set(&r53, &zone_id, &api_name, "A").await.unwrap();
    assert!(set.resource_records().is_empty(), "{set:?}");
    let at = set.alias_target().unwrap();
    assert_eq!(at.hosted_zone_id(), "Z35SXDOTRQ7X7K");
    assert_eq!(
        at.dns_name().trim_end_matches('.'),
        "web-123.us-east-1.elb.amazonaws.com"
    );
    assert!(at.evaluate_target_health());

    // Ownership is a TXT record beside the record (external-dns's registry), written in the same
    // batch: it scales to any number of records per zone.
    let own = record_set(&r53, &zone_id, &format!("zinfra-a.{api_name}"), "A")
        .await
        .map(|_| ());
    assert!(own.is_none(), "the registry is a TXT record");
    let own = record_set(&r53, &zone_id, &format!("zinfra-a.{api_name}"), "TXT")
        .await
        .expect("ownership record");
    assert_eq!(
        own.resource_records()[0].value(),
        format!("\"heritage=zinfra,zinfra/stack={stack},zinfra/address=route53_record.api\"")
    );
    let _ = r53
        .list_tags_for_resource()
        .resource_type(TagResourceType::Hostedzone)
        .resource_id(&zone_id)
        .send()
        .await
        .unwrap();
    // No marker tag shows as a zone tag.
    let live_zone = read_one_live(&aws, &*zd, &zone, &zone_id).await;
    assert!(
        live_zone
            .tags
            .keys()
            .all(|k| !k.starts_with("zinfra:record:"))
    );

    // In place: new values and TTL (the old set is replaced atomically); plain -> alias also in place.
    plain.props.insert("ttl".into(), Value::Int(60));
    plain.props.insert(
        "records".into(),
        Value::List(vec![s("\"zenoo\""), s("\"v=2\"")]),
    );
    let before = by("route53_record.txt");
    rd.update(&plain, &before, &["ttl".into(), "records".into()])
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let found = read(&aws, &*rd, &stack, "route53_record", &[desired(&plain)]).await;
    let txt = found
        .iter()
        .find(|l| l.address == "route53_record.txt")
        .unwrap();
    assert_props(txt, &plain.props);
    let set = record_set(&r53, &zone_id, &format!("owner.{domain}"), "TXT")
        .await
        .unwrap();
    assert_eq!(set.ttl(), Some(60));

    // Orphans: a record removed from the file is still found by its marker, under its address.
    let found = read(&aws, &*rd, &stack, "route53_record", &[]).await;
    assert_eq!(found.len(), 2, "orphans are found: {found:?}");

    // A record made by hand is never overwritten by a create: refused, its value kept.
    let hand = format!("hand.{domain}");
    r53.change_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .change_batch(
            aws_sdk_route53::types::ChangeBatch::builder()
                .changes(
                    aws_sdk_route53::types::Change::builder()
                        .action(aws_sdk_route53::types::ChangeAction::Create)
                        .resource_record_set(
                            aws_sdk_route53::types::ResourceRecordSet::builder()
                                .name(&hand)
                                .r#type(aws_sdk_route53::types::RrType::A)
                                .ttl(60)
                                .resource_records(
                                    aws_sdk_route53::types::ResourceRecord::builder()
                                        .value("192.0.2.9")
                                        .build()
                                        .unwrap(),
                                )
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let over = resolved(
        &stack,
        "route53_record",
        "hand",
        props([
            ("zone", s(&zone_id)),
            ("name", s(&hand)),
            ("type", s("A")),
            ("ttl", Value::Int(300)),
            ("records", Value::List(vec![s("192.0.2.1")])),
        ]),
    );
    let err = rd.create(&over).await.unwrap_err();
    assert!(
        format!("{err:#}").contains("already exists and is not this stack's"),
        "{err:#}"
    );
    let kept = record_set(&r53, &zone_id, &hand, "A").await.unwrap();
    assert_eq!(kept.resource_records()[0].value(), "192.0.2.9");
    assert_eq!(kept.ttl(), Some(60));
    // Not the stack's: the read leaves it out.
    assert_eq!(
        read(&aws, &*rd, &stack, "route53_record", &[]).await.len(),
        2
    );

    // Delete records (twice is fine), then the zone.
    for l in &found {
        rd.delete(l).await.unwrap_or_else(|e| panic!("{e:#}"));
        rd.delete(l).await.unwrap_or_else(|e| panic!("{e:#}"));
    }
    assert!(record_set(&r53, &zone_id, &api_name, "A").await.is_none());
    assert!(
        record_set(&r53, &zone_id, &format!("zinfra-a.{api_name}"), "TXT")
            .await
            .is_none(),
        "the ownership record goes with the record"
    );
    delete_hand_made(&r53, &zone_id, kept).await;
    assert!(
        read(&aws, &*rd, &stack, "route53_record", &[])
            .await
            .is_empty()
    );
    zd.delete(&live_zone)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    zd.delete(&live_zone)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert!(
        read(&aws, &*zd, &stack, "route53_zone", &[])
            .await
            .is_empty()
    );
    assert!(r53.get_hosted_zone().id(&zone_id).send().await.is_err());
}

#[tokio::test]
async fn route53_zone_left_untagged_by_a_cut_off_create_is_taken_over() {
    let aws = aws().await;
    let zd = aws.driver_for("route53_zone");
    let r53 = route53().await;
    let stack = unique("r53-adopt");
    let domain = format!("{}.zenoo.example", unique("adopt"));
    // What a create leaves when it is cut off between CreateHostedZone and tagging.
    let left = r53
        .create_hosted_zone()
        .name(&domain)
        .caller_reference(format!("zinfra/{stack}/route53_zone.main/1"))
        .send()
        .await
        .unwrap();
    let left_id = left
        .hosted_zone()
        .unwrap()
        .id()
        .trim_start_matches("/hostedzone/")
        .to_owned();
    // Another stack's zone of the same name is never taken.
    let other = r53
        .create_hosted_zone()
        .name(&domain)
        .caller_reference(format!("zinfra/someone-else/route53_zone.main/{stack}"))
        .send()
        .await
        .unwrap();
    let zone = resolved(
        &stack,
        "route53_zone",
        "main",
        props([("name", s(&domain)), ("comment", s("Managed by zinfra"))]),
    );
    let created = zd.create(&zone).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(created.id, left_id, "the left-over zone is taken over");
    let live = read_one_live(&aws, &*zd, &zone, &left_id).await;
    zd.delete(&live).await.unwrap();
    r53.delete_hosted_zone()
        .id(other.hosted_zone().unwrap().id())
        .send()
        .await
        .unwrap();
}

async fn delete_hand_made(
    r53: &aws_sdk_route53::Client,
    zone_id: &str,
    set: aws_sdk_route53::types::ResourceRecordSet,
) {
    r53.change_resource_record_sets()
        .hosted_zone_id(zone_id)
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
}
