//! Elastic IPs, NAT gateways and routes through them: driver `src/drivers/ec2.rs`.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Filter, NatGatewayState};
use zinfra::drivers::Aws;
use zinfra::model::{Live, Props, Resolved, TAG_STACK, Value};

use crate::drivers::common::*;
use crate::support::{sdk_config, unique};

async fn make(aws: &Aws, stack: &str, kind: &str, name: &str, p: Props) -> (Resolved, Live) {
    let r = resolved(stack, kind, name, p);
    let live = aws
        .driver_for(kind)
        .create(&r)
        .await
        .unwrap_or_else(|e| panic!("creating {}: {e:#}", r.address));
    (r, live)
}

async fn read_kind(aws: &Aws, r: &Resolved) -> Vec<Live> {
    let d = aws.driver_for(&r.kind);
    read(aws, &*d, &r.tags[TAG_STACK], &r.kind, &[desired(r)]).await
}

#[tokio::test]
async fn eip_nat_gateway_and_private_route() {
    let aws = aws().await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
    let stack = unique("nat");
    let (_, vpc) = make(
        &aws,
        &stack,
        "vpc",
        "main",
        props([
            ("cidr_block", s("10.0.0.0/16")),
            ("enable_dns_support", Value::Bool(true)),
            ("enable_dns_hostnames", Value::Bool(true)),
        ]),
    )
    .await;
    let (_, igw) = make(
        &aws,
        &stack,
        "internet_gateway",
        "main",
        props([("vpc", s(&vpc.id))]),
    )
    .await;
    let subnet = |cidr: &str, tier: &str| {
        props([
            ("vpc", s(&vpc.id)),
            ("cidr_block", s(cidr)),
            ("availability_zone", s("us-east-1a")),
            ("tier", s(tier)),
            ("map_public_ip_on_launch", Value::Bool(false)),
        ])
    };
    let (_, public) = make(
        &aws,
        &stack,
        "subnet",
        "pub",
        subnet("10.0.1.0/24", "public"),
    )
    .await;
    let (_, private) = make(
        &aws,
        &stack,
        "subnet",
        "priv",
        subnet("10.0.2.0/24", "private"),
    )
    .await;

    // Elastic IP: VPC domain, tagged, its public address an output.
    let (mut eip_r, eip) = make(&aws, &stack, "eip", "nat_a", Props::new()).await;
    assert!(eip.id.starts_with("eipalloc-"), "{}", eip.id);
    let ip = eip.outputs["public_ip"].clone();
    let live = read_kind(&aws, &eip_r).await;
    assert_eq!(live.len(), 1);
    assert_eq!((&live[0].id, &live[0].tags), (&eip.id, &eip_r.tags));
    assert_eq!(live[0].outputs["public_ip"], ip);
    let direct = ec2
        .describe_addresses()
        .allocation_ids(&eip.id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        direct.addresses()[0].domain().map(|d| d.as_str()),
        Some("vpc")
    );
    eip_r.tags.insert("Name".into(), "nat-a".into());
    aws.driver_for("eip")
        .update(&eip_r, &live[0], &["tags".into()])
        .await
        .unwrap();
    assert_eq!(read_kind(&aws, &eip_r).await[0].tags, eip_r.tags);

    // NAT gateway: public, in the public subnet, sending from the address; available once created.
    let (mut nat_r, nat) = make(
        &aws,
        &stack,
        "nat_gateway",
        "a",
        props([("subnet", s(&public.id)), ("eip", s(&eip.id))]),
    )
    .await;
    assert!(nat.id.starts_with("nat-"), "{}", nat.id);
    let live = read_kind(&aws, &nat_r).await;
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].props, nat_r.props);
    assert_eq!(live[0].tags, nat_r.tags);
    let direct = ec2
        .describe_nat_gateways()
        .nat_gateway_ids(&nat.id)
        .send()
        .await
        .unwrap();
    let n = &direct.nat_gateways()[0];
    assert_eq!(n.state(), Some(&NatGatewayState::Available));
    assert_eq!(n.connectivity_type().map(|c| c.as_str()), Some("public"));
    assert_eq!(n.nat_gateway_addresses()[0].public_ip(), Some(ip.as_str()));
    nat_r.tags.insert("Name".into(), "nat-a".into());
    aws.driver_for("nat_gateway")
        .update(&nat_r, &live[0], &["tags".into()])
        .await
        .unwrap();
    let live = read_kind(&aws, &nat_r).await;
    assert_eq!(live[0].tags, nat_r.tags);

    // The private table sends 0.0.0.0/0 through the NAT gateway; reads back under `nat_gateway`.
    let route = |target: &str, id: &str| {
        Value::Map(BTreeMap::from([
            ("destination".into(), s("0.0.0.0/0")),
            (target.into(), s(id)),
        ]))
    };
    let mut rt_r = resolved(
        &stack,
        "route_table",
        "private",
        props([
            ("vpc", s(&vpc.id)),
            ("routes", Value::List(vec![route("nat_gateway", &nat.id)])),
            ("subnets", Value::List(vec![s(&private.id)])),
        ]),
    );
    let rt = aws.driver_for("route_table").create(&rt_r).await.unwrap();
    let rt_live = read_kind(&aws, &rt_r).await;
    assert_eq!(rt_live[0].props, rt_r.props);
    let direct = ec2
        .describe_route_tables()
        .route_table_ids(&rt.id)
        .send()
        .await
        .unwrap();
    assert!(direct.route_tables()[0].routes().iter().any(|x| {
        x.destination_cidr_block() == Some("0.0.0.0/0") && x.nat_gateway_id() == Some(&nat.id)
    }));
    // Switching the route's target in place (ReplaceRoute) and back.
    rt_r.props.insert(
        "routes".into(),
        Value::List(vec![route("gateway", &igw.id)]),
    );
    aws.driver_for("route_table")
        .update(&rt_r, &rt_live[0], &["routes".into()])
        .await
        .unwrap();
    let rt_live = read_kind(&aws, &rt_r).await;
    assert_eq!(rt_live[0].props, rt_r.props);
    rt_r.props.insert(
        "routes".into(),
        Value::List(vec![route("nat_gateway", &nat.id)]),
    );
    aws.driver_for("route_table")
        .update(&rt_r, &rt_live[0], &["routes".into()])
        .await
        .unwrap();
    let rt_live = read_kind(&aws, &rt_r).await;
    assert_eq!(rt_live[0].props, rt_r.props);

    // Delete: table, then the gateway (waits for `deleted`), then the address is released.
    aws.driver_for("route_table")
        .delete(&rt_live[0])
        .await
        .unwrap();
    aws.driver_for("nat_gateway")
        .delete(&live[0])
        .await
        .unwrap();
    let direct = ec2
        .describe_nat_gateways()
        .nat_gateway_ids(&nat.id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        direct.nat_gateways()[0].state(),
        Some(&NatGatewayState::Deleted)
    );
    assert!(read_kind(&aws, &nat_r).await.is_empty());
    aws.driver_for("nat_gateway")
        .delete(&live[0])
        .await
        .unwrap();
    aws.driver_for("eip").delete(&eip).await.unwrap();
    assert!(read_kind(&aws, &eip_r).await.is_empty());
    let left = ec2
        .describe_addresses()
        .filters(
            Filter::builder()
                .name(format!("tag:{TAG_STACK}"))
                .values(&stack)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(left.addresses().is_empty(), "address not released");
    aws.driver_for("eip").delete(&eip).await.unwrap();
    for l in [&private, &public, &igw, &vpc] {
        aws.driver_for(&l.kind).delete(l).await.unwrap();
    }
}
