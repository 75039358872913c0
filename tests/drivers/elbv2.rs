use aws_sdk_elasticloadbalancingv2::types::ActionTypeEnum;
use zinfra::model::{Live, Props, Value};

use crate::drivers::common::*;
use crate::support::{sdk_config, unique};

/// Lists sorted, so sets compare regardless of order.
fn canon(v: &Value) -> Value {
    match v {
        Value::List(l) => {
            let mut l: Vec<Value> = l.iter().map(canon).collect();
            l.sort_by_key(|x| format!("{x:?}"));
            Value::List(l)
        }
        Value::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), canon(v))).collect()),
        other => other.clone(),
    }
}

fn assert_props(live: &Live, want: &Props) {
    for (k, v) in want {
        assert_eq!(
            live.props.get(k).map(canon),
            Some(canon(v)),
            "{}: field `{k}`",
            live.address
        );
    }
}

fn list(v: &[&str]) -> Value {
    Value::List(v.iter().map(|x| s(x)).collect())
}

/// A VPC with two public subnets and a security group, made directly: this test is about the ALB.
async fn network() -> (String, Vec<String>, String) {
    let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.77.0.0/16")
        .send()
        .await
        .unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_owned();
    let mut subnets = Vec::new();
    for (cidr, az) in [
        ("10.77.0.0/24", "us-east-1a"),
        ("10.77.1.0/24", "us-east-1b"),
    ] {
        let s = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(cidr)
            .availability_zone(az)
            .send()
            .await
            .unwrap();
        subnets.push(s.subnet().unwrap().subnet_id().unwrap().to_owned());
    }
    let sg = ec2
        .create_security_group()
        .vpc_id(&vpc)
        .group_name(unique("alb"))
        .description("alb test")
        .send()
        .await
        .unwrap();
    (vpc, subnets, sg.group_id().unwrap().to_owned())
}

async fn issued_certificate(domain: &str) -> String {
    let acm = aws_sdk_acm::Client::new(&sdk_config().await);
    acm.request_certificate()
        .domain_name(domain)
        .validation_method(aws_sdk_acm::types::ValidationMethod::Dns)
        .send()
        .await
        .unwrap()
        .certificate_arn()
        .unwrap()
        .to_owned()
}

async fn one(
    aws: &zinfra::drivers::Aws,
    stack: &str,
    kind: &str,
    r: &zinfra::model::Resolved,
) -> Live {
    let d = aws.driver_for(kind);
    let found = read(aws, &*d, stack, kind, &[desired(r)]).await;
    let mut mine: Vec<Live> = found
        .into_iter()
        .filter(|l| l.address == r.address)
        .collect();
    assert_eq!(mine.len(), 1, "{}: {mine:?}", r.address);
    let live = mine.remove(0);
    assert_eq!(live.tags, r.tags, "tags of {}", r.address);
    live
}

#[tokio::test]
async fn alb_with_redirect_https_listener_and_rules_lifecycle() {
    let aws = aws().await;
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk_config().await);
    let (lbd, tgd, ld, rd) = (
        aws.driver_for("lb"),
        aws.driver_for("lb_target_group"),
        aws.driver_for("lb_listener"),
        aws.driver_for("lb_listener_rule"),
    );
    let (vpc, subnets, sg) = network().await;
    let stack = unique("alb");
    let short = unique("z").replace('-', "");
    let cert = issued_certificate("api.dev.zenoo.example").await;

    // Target group, ip targets for Fargate, with a health check; changed in place.
    let hc = |path: &str, interval: i64| {
        Value::Map(
            [
                ("path", s(path)),
                ("matcher", s("200")),
                ("interval_seconds", Value::Int(interval)),
                ("timeout_seconds", Value::Int(5)),
                ("healthy_threshold", Value::Int(3)),
                ("unhealthy_threshold", Value::Int(2)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        )
    };
    let mut tg = resolved(
        &stack,
        "lb_target_group",
        "api",
        props([
            ("name", s(&format!("{short}-api"))),
            ("vpc", s(&vpc)),
            ("target_type", s("ip")),
            ("protocol", s("HTTP")),
            ("port", Value::Int(8080)),
            ("health_check", hc("/health", 30)),
            ("deregistration_delay", Value::Int(30)),
        ]),
    );
    let tg_live = tgd.create(&tg).await.unwrap_or_else(|e| panic!("{e:#}"));
    let tg_arn = tg_live.id.clone();
    let live = one(&aws, &stack, "lb_target_group", &tg).await;
    assert_props(&live, &tg.props);
    tg.props.insert("health_check".into(), hc("/ready", 15));
    tg.props
        .insert("deregistration_delay".into(), Value::Int(60));
    tgd.update(
        &tg,
        &live,
        &["health_check".into(), "deregistration_delay".into()],
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}"));
    let live = one(&aws, &stack, "lb_target_group", &tg).await;
    assert_props(&live, &tg.props);
    let described = elb
        .describe_target_groups()
        .target_group_arns(&tg_arn)
        .send()
        .await
        .unwrap();
    let t = &described.target_groups()[0];
    assert_eq!(t.target_type().unwrap().as_str(), "ip");
    assert_eq!(t.health_check_path(), Some("/ready"));

    // The load balancer: internet-facing, public subnets, its group, invalid headers dropped.
    let mut lb = resolved(
        &stack,
        "lb",
        "web",
        props([
            ("name", s(&format!("{short}-web"))),
            ("scheme", s("internet-facing")),
            (
                "subnets",
                Value::List(subnets.iter().map(|x| s(x)).collect()),
            ),
            ("security_groups", list(&[&sg])),
            ("drop_invalid_header_fields", Value::Bool(true)),
            ("deletion_protection", Value::Bool(false)),
            ("idle_timeout", Value::Int(60)),
        ]),
    );
    let lb_created = lbd.create(&lb).await.unwrap_or_else(|e| panic!("{e:#}"));
    let lb_arn = lb_created.id.clone();
    let lb_live = one(&aws, &stack, "lb", &lb).await;
    assert_props(&lb_live, &lb.props);
    for k in ["arn", "dns_name", "zone_id", "alias_target"] {
        assert!(!lb_live.outputs[k].is_empty(), "output {k}");
    }
    assert_eq!(
        lb_live.outputs["alias_target"],
        format!(
            "{}/{}",
            lb_live.outputs["zone_id"], lb_live.outputs["dns_name"]
        )
    );
    let attrs = elb
        .describe_load_balancer_attributes()
        .load_balancer_arn(&lb_arn)
        .send()
        .await
        .unwrap();
    let attr = |k: &str| {
        attrs
            .attributes()
            .iter()
            .find(|a| a.key() == Some(k))
            .and_then(|a| a.value())
            .map(str::to_owned)
    };
    assert_eq!(
        attr("routing.http.drop_invalid_header_fields.enabled").as_deref(),
        Some("true")
    );
    // In place: idle timeout and deletion protection.
    lb.props.insert("idle_timeout".into(), Value::Int(120));
    lbd.update(&lb, &lb_live, &["idle_timeout".into()])
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let lb_live = one(&aws, &stack, "lb", &lb).await;
    assert_props(&lb_live, &lb.props);

    // HTTP:80 only redirects to HTTPS with a 301; HTTPS:443 has the certificate and a modern policy.
    let http = resolved(
        &stack,
        "lb_listener",
        "http",
        props([
            ("load_balancer", s(&lb_arn)),
            ("port", Value::Int(80)),
            ("protocol", s("HTTP")),
            ("ssl_policy", s("ELBSecurityPolicy-TLS13-1-2-2021-06")),
            ("default_action", s("redirect-https")),
        ]),
    );
    let mut https = resolved(
        &stack,
        "lb_listener",
        "https",
        props([
            ("load_balancer", s(&lb_arn)),
            ("port", Value::Int(443)),
            ("protocol", s("HTTPS")),
            ("certificate", s(&cert)),
            ("ssl_policy", s("ELBSecurityPolicy-TLS13-1-2-2021-06")),
            ("default_action", s("fixed-response")),
        ]),
    );
    let http_live = ld.create(&http).await.unwrap_or_else(|e| panic!("{e:#}"));
    let https_created = ld.create(&https).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_props(&one(&aws, &stack, "lb_listener", &http).await, &http.props);
    let https_live = one(&aws, &stack, "lb_listener", &https).await;
    assert_props(&https_live, &https.props);
    let listeners = elb
        .describe_listeners()
        .load_balancer_arn(&lb_arn)
        .send()
        .await
        .unwrap();
    let l80 = listeners
        .listeners()
        .iter()
        .find(|l| l.port() == Some(80))
        .unwrap();
    assert_eq!(l80.default_actions().len(), 1, "only the redirect");
    let redirect = l80.default_actions()[0].redirect_config().unwrap();
    assert_eq!(
        (
            redirect.protocol(),
            redirect.port(),
            redirect.status_code().map(|c| c.as_str())
        ),
        (Some("HTTPS"), Some("443"), Some("HTTP_301"))
    );

    // In place: the TLS policy.
    https.props.insert(
        "ssl_policy".into(),
        s("ELBSecurityPolicy-TLS13-1-3-2021-06"),
    );
    ld.update(&https, &https_live, &["ssl_policy".into()])
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let https_live = one(&aws, &stack, "lb_listener", &https).await;
    assert_props(&https_live, &https.props);
    assert_eq!(https_live.id, https_created.id, "changed in place");
    let l443 = elb
        .describe_listeners()
        .listener_arns(&https_live.id)
        .send()
        .await
        .unwrap();
    let l443 = &l443.listeners()[0];
    assert_eq!(
        l443.ssl_policy(),
        Some("ELBSecurityPolicy-TLS13-1-3-2021-06")
    );
    assert_eq!(
        l443.certificates()[0].certificate_arn(),
        Some(cert.as_str())
    );

    // A rule sending api host and path to the target group; conditions and priority change in place.
    let mut rule = resolved(
        &stack,
        "lb_listener_rule",
        "api",
        props([
            ("listener", s(&https_live.id)),
            ("priority", Value::Int(10)),
            ("host_headers", list(&["api.dev.zenoo.example"])),
            ("path_patterns", list(&["/api/*"])),
            ("target_group", s(&tg_arn)),
        ]),
    );
    let rule_created = rd.create(&rule).await.unwrap_or_else(|e| panic!("{e:#}"));
    let rule_live = one(&aws, &stack, "lb_listener_rule", &rule).await;
    assert_props(&rule_live, &rule.props);
    rule.props
        .insert("path_patterns".into(), list(&["/api/*", "/v2/*"]));
    rule.props.insert("priority".into(), Value::Int(20));
    rd.update(
        &rule,
        &rule_live,
        &["path_patterns".into(), "priority".into()],
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}"));
    let rule_live = one(&aws, &stack, "lb_listener_rule", &rule).await;
    assert_props(&rule_live, &rule.props);
    assert_eq!(rule_live.id, rule_created.id);
    let rules = elb
        .describe_rules()
        .rule_arns(&rule_live.id)
        .send()
        .await
        .unwrap();
    let act = &rules.rules()[0].actions()[0];
    assert_eq!(act.r#type(), Some(&ActionTypeEnum::Forward));

    // Orphans are found from their parents: a read with nothing declared still returns them.
    assert_eq!(
        read(&aws, &*rd, &stack, "lb_listener_rule", &[])
            .await
            .len(),
        1
    );
    assert_eq!(read(&aws, &*ld, &stack, "lb_listener", &[]).await.len(), 2);

    // Delete children first (twice is fine); nothing is left.
    for (d, l) in [
        (&rd, &rule_live),
        (&ld, &https_live),
        (&ld, &http_live),
        (&lbd, &lb_live),
        (&tgd, &tg_live),
    ] {
        d.delete(l).await.unwrap_or_else(|e| panic!("{e:#}"));
        d.delete(l).await.unwrap_or_else(|e| panic!("{e:#}"));
    }
    for kind in ["lb", "lb_target_group", "lb_listener", "lb_listener_rule"] {
        let d = aws.driver_for(kind);
        assert!(
            read(&aws, &*d, &stack, kind, &[]).await.is_empty(),
            "{kind} left"
        );
    }
}
