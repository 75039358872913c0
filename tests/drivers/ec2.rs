use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Filter, VpcAttributeName};
use zinfra::drivers::{Aws, Driver};
use zinfra::model::{Live, Props, Resolved, TAG_STACK, Value};

use crate::drivers::common::*;
use crate::support::{sdk_config, unique};

async fn ec2() -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&sdk_config().await)
}

fn strs(v: &[&str]) -> Value {
    Value::List(v.iter().map(|x| s(x)).collect())
}

/// A value with every list inside sorted, to compare `Set` fields regardless of order.
fn canon(v: &Value) -> Value {
    match v {
        Value::List(l) => {
            let mut l: Vec<Value> = l.iter().map(canon).collect();
            l.sort_by_key(|x| format!("{x:?}"));
            Value::List(l)
        }
        Value::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), canon(v))).collect()),
        v => v.clone(),
    }
}

fn assert_props(live: &Live, want: &Props) {
    let got: BTreeMap<_, _> = live
        .props
        .iter()
        .map(|(k, v)| (k.clone(), canon(v)))
        .collect();
    let want: BTreeMap<_, _> = want.iter().map(|(k, v)| (k.clone(), canon(v))).collect();
    assert_eq!(got, want, "props of {}", live.address);
}

/// The live resource at `r`'s address, read as the engine reads the stack; checks its id, outputs and tags.
async fn read_one(aws: &Aws, d: &dyn Driver, r: &Resolved, id: &str) -> Live {
    let live = read_one_live(aws, d, r, id).await;
    assert!(
        live.outputs
            .get("arn")
            .is_some_and(|a| a.starts_with("arn:aws:ec2:us-east-1:") && a.ends_with(id)),
        "{:?}",
        live.outputs
    );
    live
}

async fn assert_gone(aws: &Aws, d: &dyn Driver, r: &Resolved, live: &Live) {
    let all = read(aws, d, r.tags[TAG_STACK].as_str(), &r.kind, &[desired(r)]).await;
    assert!(
        all.is_empty(),
        "the stack still has {} resources after deleting {}: {all:?}",
        r.kind,
        r.address
    );
    d.delete(live).await.expect("deleting again is a no-op");
}

fn vpc_props(cidr: &str) -> Props {
    props([
        ("cidr_block", s(cidr)),
        ("enable_dns_support", Value::Bool(true)),
        ("enable_dns_hostnames", Value::Bool(true)),
    ])
}

async fn make(aws: &Aws, stack: &str, kind: &str, name: &str, p: Props) -> (Resolved, Live) {
    let r = resolved(stack, kind, name, p);
    let live = aws
        .driver_for(kind)
        .create(&r)
        .await
        .unwrap_or_else(|e| panic!("creating {}: {e:#}", r.address));
    (r, live)
}

async fn drop_all(aws: &Aws, lives: &[&Live]) {
    for l in lives {
        aws.driver_for(&l.kind)
            .delete(l)
            .await
            .unwrap_or_else(|e| panic!("cleaning up {}: {e:#}", l.address));
    }
}

#[tokio::test]
async fn vpc_lifecycle() {
    let aws = aws().await;
    let d = aws.driver_for("vpc");
    let ec2 = ec2().await;
    let stack = unique("ec2-vpc");
    let mut r = resolved(&stack, "vpc", "main", vpc_props("10.0.0.0/16"));
    let created = d.create(&r).await.unwrap();
    assert!(created.id.starts_with("vpc-"));
    assert!(created.outputs.contains_key("arn"));

    let live = read_one(&aws, &*d, &r, &created.id).await;
    assert_props(&live, &r.props);
    // Orphans (no longer in the file) are read too.
    let orphans = read(&aws, &*d, &stack, "vpc", &[]).await;
    assert_eq!(
        orphans.iter().map(|l| &l.id).collect::<Vec<_>>(),
        [&created.id]
    );
    let hostnames = ec2
        .describe_vpc_attribute()
        .vpc_id(&created.id)
        .attribute(VpcAttributeName::EnableDnsHostnames)
        .send()
        .await
        .unwrap();
    assert_eq!(
        hostnames.enable_dns_hostnames().and_then(|v| v.value()),
        Some(true)
    );

    r.props
        .insert("enable_dns_hostnames".into(), Value::Bool(false));
    r.tags.insert("env".into(), "test".into());
    d.update(&r, &live, &["enable_dns_hostnames".into(), "tags".into()])
        .await
        .unwrap();
    let live = read_one(&aws, &*d, &r, &created.id).await;
    assert_props(&live, &r.props);

    // Both DNS attributes off: hostnames must go first, AWS refuses the other order.
    r.props
        .insert("enable_dns_support".into(), Value::Bool(false));
    r.tags.remove("env");
    d.update(&r, &live, &["enable_dns_support".into(), "tags".into()])
        .await
        .unwrap();
    let live = read_one(&aws, &*d, &r, &created.id).await;
    assert_props(&live, &r.props);

    d.delete(&live).await.unwrap();
    assert_gone(&aws, &*d, &r, &live).await;
}

#[tokio::test]
async fn subnet_lifecycle() {
    let aws = aws().await;
    let d = aws.driver_for("subnet");
    let ec2 = ec2().await;
    let stack = unique("ec2-subnet");
    let (_, vpc) = make(&aws, &stack, "vpc", "main", vpc_props("10.0.0.0/16")).await;
    let mut r = resolved(
        &stack,
        "subnet",
        "public_a",
        props([
            ("vpc", s(&vpc.id)),
            ("cidr_block", s("10.0.1.0/24")),
            ("availability_zone", s("us-east-1a")),
            ("tier", s("public")),
            ("map_public_ip_on_launch", Value::Bool(true)),
        ]),
    );
    let created = d.create(&r).await.unwrap();
    assert!(created.id.starts_with("subnet-"));

    // The tier tag is a prop, not a tag: Live.tags holds exactly the resolved tags.
    let live = read_one(&aws, &*d, &r, &created.id).await;
    assert_props(&live, &r.props);
    assert_eq!(
        subnet_in_aws(&ec2, &created.id).await,
        (Some(true), Some("public".into()))
    );

    r.props.insert("tier".into(), s("private"));
    r.props
        .insert("map_public_ip_on_launch".into(), Value::Bool(false));
    r.tags.insert("team".into(), "net".into());
    d.update(
        &r,
        &live,
        &[
            "tier".into(),
            "map_public_ip_on_launch".into(),
            "tags".into(),
        ],
    )
    .await
    .unwrap();
    let live = read_one(&aws, &*d, &r, &created.id).await;
    assert_props(&live, &r.props);
    assert_eq!(
        subnet_in_aws(&ec2, &created.id).await,
        (Some(false), Some("private".into()))
    );

    d.delete(&live).await.unwrap();
    assert_gone(&aws, &*d, &r, &live).await;
    drop_all(&aws, &[&vpc]).await;
}

/// MapPublicIpOnLaunch and the `zinfra:tier` tag, as EC2 reports them.
async fn subnet_in_aws(ec2: &aws_sdk_ec2::Client, id: &str) -> (Option<bool>, Option<String>) {
    let out = ec2.describe_subnets().subnet_ids(id).send().await.unwrap();
    let subnet = &out.subnets()[0];
    let tier = subnet
        .tags()
        .iter()
        .find(|t| t.key() == Some("zinfra:tier"))
        .and_then(|t| t.value());
    (subnet.map_public_ip_on_launch(), tier.map(str::to_owned))
}

#[tokio::test]
async fn internet_gateway_attach_and_move() {
    let aws = aws().await;
    let d = aws.driver_for("internet_gateway");
    let ec2 = ec2().await;
    let stack = unique("ec2-igw");
    let (_, vpc1) = make(&aws, &stack, "vpc", "one", vpc_props("10.0.0.0/16")).await;
    let (_, vpc2) = make(&aws, &stack, "vpc", "two", vpc_props("10.1.0.0/16")).await;
    let mut r = resolved(
        &stack,
        "internet_gateway",
        "main",
        props([("vpc", s(&vpc1.id))]),
    );
    let created = d.create(&r).await.unwrap();
    assert!(created.id.starts_with("igw-"));
    let live = read_one(&aws, &*d, &r, &created.id).await;
    assert_props(&live, &r.props);

    r.props.insert("vpc".into(), s(&vpc2.id));
    r.tags.insert("env".into(), "test".into());
    d.update(&r, &live, &["vpc".into(), "tags".into()])
        .await
        .unwrap();
    let live = read_one(&aws, &*d, &r, &created.id).await;
    assert_props(&live, &r.props);
    let direct = ec2
        .describe_internet_gateways()
        .internet_gateway_ids(&created.id)
        .send()
        .await
        .unwrap();
    let attached: Vec<_> = direct.internet_gateways()[0]
        .attachments()
        .iter()
        .filter_map(|a| a.vpc_id())
        .collect();
    assert_eq!(attached, [vpc2.id.as_str()]);

    d.delete(&live).await.unwrap();
    assert_gone(&aws, &*d, &r, &live).await;
    let direct = ec2
        .describe_internet_gateways()
        .internet_gateway_ids(&created.id)
        .send()
        .await;
    assert!(direct.is_err(), "the gateway still exists");
    drop_all(&aws, &[&vpc1, &vpc2]).await;
}

fn route(dest: &str, gw: &str) -> Value {
    Value::Map(BTreeMap::from([
        ("destination".into(), s(dest)),
        ("gateway".into(), s(gw)),
    ]))
}

#[tokio::test]
async fn route_table_routes_and_associations() {
    let aws = aws().await;
    let d = aws.driver_for("route_table");
    let ec2 = ec2().await;
    let stack = unique("ec2-rtb");
    let (_, vpc) = make(&aws, &stack, "vpc", "main", vpc_props("10.0.0.0/16")).await;
    let (_, igw) = make(
        &aws,
        &stack,
        "internet_gateway",
        "main",
        props([("vpc", s(&vpc.id))]),
    )
    .await;
    let subnet = |cidr: &str| {
        props([
            ("vpc", s(&vpc.id)),
            ("cidr_block", s(cidr)),
            ("availability_zone", s("us-east-1a")),
            ("tier", s("public")),
            ("map_public_ip_on_launch", Value::Bool(false)),
        ])
    };
    let (_, s1) = make(&aws, &stack, "subnet", "a", subnet("10.0.1.0/24")).await;
    let (_, s2) = make(&aws, &stack, "subnet", "b", subnet("10.0.2.0/24")).await;

    let mut r = resolved(
        &stack,
        "route_table",
        "public",
        props([
            ("vpc", s(&vpc.id)),
            ("routes", Value::List(vec![route("0.0.0.0/0", &igw.id)])),
            ("subnets", strs(&[&s1.id])),
        ]),
    );
    let created = d.create(&r).await.unwrap();
    assert!(created.id.starts_with("rtb-"));
    let live = read_one(&aws, &*d, &r, &created.id).await;
    assert_props(&live, &r.props);
    // The local route is AWS's and stays out of `routes`, but it is there.
    let direct = ec2
        .describe_route_tables()
        .route_table_ids(&created.id)
        .send()
        .await
        .unwrap();
    assert!(
        direct.route_tables()[0]
            .routes()
            .iter()
            .any(|x| x.gateway_id() == Some("local"))
    );

    r.props.insert(
        "routes".into(),
        Value::List(vec![
            route("172.16.0.0/12", &igw.id),
            route("192.168.0.0/16", &igw.id),
        ]),
    );
    r.props.insert("subnets".into(), strs(&[&s2.id]));
    r.tags.insert("env".into(), "test".into());
    d.update(
        &r,
        &live,
        &["routes".into(), "subnets".into(), "tags".into()],
    )
    .await
    .unwrap();
    let live = read_one(&aws, &*d, &r, &created.id).await;
    assert_props(&live, &r.props);

    r.props.insert("subnets".into(), strs(&[&s1.id, &s2.id]));
    d.update(&r, &live, &["subnets".into()]).await.unwrap();
    let live = read_one(&aws, &*d, &r, &created.id).await;
    assert_props(&live, &r.props);

    // Delete disassociates first: AWS refuses to delete a table subnets still use.
    d.delete(&live).await.unwrap();
    assert_gone(&aws, &*d, &r, &live).await;
    let holders = ec2
        .describe_route_tables()
        .filters(
            Filter::builder()
                .name("association.subnet-id")
                .values(&s1.id)
                .values(&s2.id)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(holders.route_tables().is_empty());
    drop_all(&aws, &[&s1, &s2, &igw, &vpc]).await;
}

#[allow(clippy::too_many_arguments)]
fn rule(
    protocol: &str,
    from: i64,
    to: i64,
    cidrs: &[&str],
    groups: &[&str],
    own: bool,
    description: &str,
) -> Value {
    Value::Map(BTreeMap::from([
        ("protocol".into(), s(protocol)),
        ("from_port".into(), Value::Int(from)),
        ("to_port".into(), Value::Int(to)),
        ("cidr_blocks".into(), strs(cidrs)),
        ("security_groups".into(), strs(groups)),
        ("self".into(), Value::Bool(own)),
        ("description".into(), s(description)),
    ]))
}

fn sg_props(vpc: &str, name: &str, ingress: Vec<Value>, egress: Vec<Value>) -> Props {
    props([
        ("vpc", s(vpc)),
        ("group_name", s(name)),
        ("description", s("Managed by zinfra")),
        ("ingress", Value::List(ingress)),
        ("egress", Value::List(egress)),
    ])
}

#[tokio::test]
async fn security_group_rules() {
    let aws = aws().await;
    let d = aws.driver_for("security_group");
    let ec2 = ec2().await;
    let stack = unique("ec2-sg");
    let (_, vpc) = make(&aws, &stack, "vpc", "main", vpc_props("10.0.0.0/16")).await;

    // A group without rules has no egress either: the default allow-all is revoked.
    let peer_r = resolved(
        &stack,
        "security_group",
        "peer",
        sg_props(&vpc.id, &format!("{stack}-peer"), vec![], vec![]),
    );
    let peer = d.create(&peer_r).await.unwrap();
    let direct = ec2
        .describe_security_groups()
        .group_ids(&peer.id)
        .send()
        .await
        .unwrap();
    assert!(
        direct.security_groups()[0]
            .ip_permissions_egress()
            .is_empty()
    );
    assert!(direct.security_groups()[0].ip_permissions().is_empty());

    let mut r = resolved(
        &stack,
        "security_group",
        "app",
        sg_props(
            &vpc.id,
            &format!("{stack}-app"),
            vec![
                rule(
                    "tcp",
                    443,
                    443,
                    &["10.0.0.0/16", "10.1.0.0/16"],
                    &[],
                    false,
                    "https",
                ),
                // Same protocol and ports, other description: AWS groups it with the rule above.
                rule("tcp", 443, 443, &["192.168.0.0/16"], &[], false, "vpn"),
                rule("tcp", 5432, 5432, &[], &[&peer.id], false, ""),
                rule("tcp", 0, 65535, &[], &[], true, "cluster"),
            ],
            vec![rule("tcp", 443, 443, &["0.0.0.0/0"], &[], false, "out")],
        ),
    );
    let created = d.create(&r).await.unwrap();
    assert!(created.id.starts_with("sg-"));
    let live = read_one(&aws, &*d, &r, &created.id).await;
    assert_props(&live, &r.props);
    let direct = ec2
        .describe_security_groups()
        .group_ids(&created.id)
        .send()
        .await
        .unwrap();
    let egress = direct.security_groups()[0].ip_permissions_egress();
    assert!(
        egress.iter().all(|p| p.ip_protocol() != Some("-1")),
        "default egress still there: {egress:?}"
    );
    assert_eq!(egress.len(), 1);

    // Drop a rule, change a description in place, drop the self rule, add a group rule, declare
    // allow-all egress. (A group rule's description is not changed here: moto 5.2.5 ignores
    // UpdateSecurityGroupRuleDescriptions* for group pairs.)
    r.props.insert(
        "ingress".into(),
        Value::List(vec![
            rule(
                "tcp",
                443,
                443,
                &["10.0.0.0/16", "10.1.0.0/16"],
                &[],
                false,
                "web",
            ),
            rule("tcp", 5432, 5432, &[], &[&peer.id], false, ""),
            rule("tcp", 6379, 6379, &[], &[&peer.id], false, "cache"),
        ]),
    );
    r.props.insert(
        "egress".into(),
        Value::List(vec![
            rule("tcp", 443, 443, &["0.0.0.0/0"], &[], false, "out"),
            rule("-1", 0, 0, &["0.0.0.0/0"], &[], false, ""),
        ]),
    );
    r.tags.insert("env".into(), "test".into());
    d.update(
        &r,
        &live,
        &["ingress".into(), "egress".into(), "tags".into()],
    )
    .await
    .unwrap();
    let live = read_one(&aws, &*d, &r, &created.id).await;
    assert_props(&live, &r.props);

    // Declaring AWS's default egress at create keeps it instead of failing as a duplicate.
    let open_r = resolved(
        &stack,
        "security_group",
        "open",
        sg_props(
            &vpc.id,
            &format!("{stack}-open"),
            vec![],
            vec![rule("-1", 0, 0, &["0.0.0.0/0"], &[], false, "")],
        ),
    );
    let open = d.create(&open_r).await.unwrap();
    let live_open = read_one(&aws, &*d, &open_r, &open.id).await;
    assert_props(&live_open, &open_r.props);

    let all = read(&aws, &*d, &stack, "security_group", &[]).await;
    assert_eq!(all.len(), 3);
    for l in [&live, &live_open, &peer] {
        d.delete(l).await.unwrap();
    }
    assert_gone(&aws, &*d, &r, &live).await;
    d.delete(&peer).await.unwrap();
    drop_all(&aws, &[&vpc]).await;
}
