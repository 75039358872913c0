use aws_sdk_wafv2::types::{
    ComparisonOperator, OversizeHandling, RateBasedStatementAggregateKeyType, Scope, WebAcl,
};
use zinfra::model::{Props, Value};

use crate::drivers::common::*;
use crate::support::{sdk_config, unique};

async fn waf() -> aws_sdk_wafv2::Client {
    aws_sdk_wafv2::Client::new(&sdk_config().await)
}

/// What the engine hands over for a web ACL declared with only its scope: defaults applied.
fn acl_props(name: &str, scope: &str) -> Props {
    props([
        ("name", s(name)),
        ("scope", s(scope)),
        ("description", s("")),
        ("default_action", s("allow")),
        ("ip_reputation_list", Value::Bool(true)),
        ("known_bad_inputs", Value::Bool(true)),
        ("common_rule_set", Value::Bool(true)),
        ("rate_limit", Value::Int(2000)),
        ("max_body_size", Value::Int(8192)),
        ("managed_rule_groups", Value::List(vec![])),
    ])
}

/// The web ACL and its lock token as WAF reports them.
async fn described(waf: &aws_sdk_wafv2::Client, arn: &str, scope: Scope) -> (WebAcl, String) {
    let parts: Vec<&str> = arn.rsplit('/').take(2).collect();
    let out = waf
        .get_web_acl()
        .name(parts[1])
        .id(parts[0])
        .scope(scope)
        .send()
        .await
        .unwrap();
    (out.web_acl.unwrap(), out.lock_token.unwrap())
}

/// Each control of the security baseline, checked on the ACL itself.
pub(crate) fn assert_baseline(acl: &WebAcl, rate_limit: i64) {
    assert!(acl.default_action().unwrap().allow().is_some());
    let v = acl.visibility_config().unwrap();
    assert!(v.cloud_watch_metrics_enabled() && v.sampled_requests_enabled());
    let groups: Vec<&str> = acl
        .rules()
        .iter()
        .filter_map(|r| r.statement()?.managed_rule_group_statement())
        .inspect(|g| assert_eq!(g.vendor_name(), "AWS"))
        .map(|g| g.name())
        .collect();
    for g in [
        "AWSManagedRulesAmazonIpReputationList",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesCommonRuleSet",
    ] {
        assert!(groups.contains(&g), "{g} missing from {groups:?}");
    }
    for r in acl.rules() {
        assert!(
            r.visibility_config().unwrap().cloud_watch_metrics_enabled(),
            "metrics of {}",
            r.name()
        );
        if r.statement()
            .unwrap()
            .managed_rule_group_statement()
            .is_some()
        {
            // The group's own block actions apply (not overridden to count).
            assert!(
                r.override_action().unwrap().none().is_some(),
                "{}",
                r.name()
            );
        }
    }
    let rate = acl
        .rules()
        .iter()
        .find(|r| r.statement().unwrap().rate_based_statement().is_some())
        .expect("a rate-based rule");
    assert!(rate.action().unwrap().block().is_some());
    let st = rate.statement().unwrap().rate_based_statement().unwrap();
    assert_eq!(st.limit(), rate_limit);
    assert_eq!(
        st.aggregate_key_type(),
        &RateBasedStatementAggregateKeyType::Ip
    );
    let size = acl
        .rules()
        .iter()
        .find(|r| r.statement().unwrap().size_constraint_statement().is_some())
        .expect("a body size rule");
    assert!(size.action().unwrap().block().is_some());
    let st = size
        .statement()
        .unwrap()
        .size_constraint_statement()
        .unwrap();
    assert_eq!(st.size(), 8192);
    assert_eq!(st.comparison_operator(), &ComparisonOperator::Gt);
    assert_eq!(
        st.field_to_match()
            .unwrap()
            .body()
            .unwrap()
            .oversize_handling(),
        Some(&OversizeHandling::Match)
    );
}

#[tokio::test]
async fn wafv2_web_acl_lifecycle_and_lock_token_update() {
    let aws = aws().await;
    let d = aws.driver_for("wafv2_web_acl");
    let waf = waf().await;
    let stack = unique("waf-life");
    let name = unique("zinfra-test-acl");
    let mut r = resolved(&stack, "wafv2_web_acl", "alb", acl_props(&name, "REGIONAL"));

    let created = d.create(&r).await.unwrap_or_else(|e| panic!("{e:#}"));
    let arn = created.outputs["arn"].clone();
    assert!(
        arn.starts_with("arn:aws:wafv2:us-east-1:") && arn.contains(":regional/webacl/"),
        "{arn}"
    );
    assert_eq!(created.outputs["name"], name);

    let live = read_one_live(&aws, &*d, &r, &created.id).await;
    assert_eq!(live.props, r.props);
    assert_eq!(live.outputs["arn"], arn);
    let (acl, token) = described(&waf, &arn, Scope::Regional).await;
    assert_baseline(&acl, 2000);

    // In place: a new rate limit, another managed group, a description and a tag, through the lock token.
    r.props.insert("rate_limit".into(), Value::Int(500));
    r.props.insert(
        "managed_rule_groups".into(),
        Value::List(vec![s("AWSManagedRulesSQLiRuleSet")]),
    );
    r.props.insert("description".into(), s("ALB firewall"));
    r.tags.insert("Team".into(), "web".into());
    let changed: Vec<String> = ["rate_limit", "managed_rule_groups", "description", "tags"]
        .map(String::from)
        .to_vec();
    d.update(&r, &live, &changed)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let (acl, new_token) = described(&waf, &arn, Scope::Regional).await;
    assert_ne!(token, new_token, "the update went through UpdateWebACL");
    assert_baseline(&acl, 500);
    assert_eq!(acl.description(), Some("ALB firewall"));
    let live = read_one_live(&aws, &*d, &r, &created.id).await;
    assert_eq!(live.props, r.props);

    // An update with the token another writer already used fails on AWS: the driver re-reads it.
    let stale = waf
        .update_web_acl()
        .name(&name)
        .scope(Scope::Regional)
        .id(&created.id)
        .lock_token(&token)
        .default_action(acl.default_action().unwrap().clone())
        .visibility_config(acl.visibility_config().unwrap().clone())
        .send()
        .await;
    assert_eq!(
        stale
            .map_err(|e| zinfra::drivers::error_code(&e).map(str::to_owned))
            .err(),
        Some(Some("WAFOptimisticLockException".to_owned()))
    );

    // Gone after delete; deleting again is fine.
    d.delete(&live).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert!(
        read(&aws, &*d, &stack, "wafv2_web_acl", &[])
            .await
            .is_empty()
    );
    d.delete(&live).await.unwrap_or_else(|e| panic!("{e:#}"));
}

#[tokio::test]
async fn wafv2_cloudfront_acl_lives_in_us_east_1_and_regional_acl_guards_a_load_balancer() {
    let conf = sdk_config().await;
    let aws = aws().await;
    let d = aws.driver_for("wafv2_web_acl");
    let waf = waf().await;
    let stack = unique("waf-scope");

    let cf = resolved(
        &stack,
        "wafv2_web_acl",
        "cdn",
        acl_props(&unique("zinfra-test-cdn"), "CLOUDFRONT"),
    );
    let cf_live = d.create(&cf).await.unwrap_or_else(|e| panic!("{e:#}"));
    let cf_arn = cf_live.outputs["arn"].clone();
    assert!(
        cf_arn.starts_with("arn:aws:wafv2:us-east-1:") && cf_arn.contains(":global/webacl/"),
        "{cf_arn}"
    );
    let (acl, _) = described(&waf, &cf_arn, Scope::Cloudfront).await;
    assert_baseline(&acl, 2000);

    let regional = resolved(
        &stack,
        "wafv2_web_acl",
        "alb",
        acl_props(&unique("zinfra-test-alb"), "REGIONAL"),
    );
    let regional_live = d
        .create(&regional)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let both = read(&aws, &*d, &stack, "wafv2_web_acl", &[]).await;
    let mut scopes: Vec<(String, Value)> = both
        .iter()
        .map(|l| (l.address.clone(), l.props["scope"].clone()))
        .collect();
    scopes.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        scopes,
        [
            ("wafv2_web_acl.alb".to_owned(), s("REGIONAL")),
            ("wafv2_web_acl.cdn".to_owned(), s("CLOUDFRONT"))
        ]
    );

    // An ALB to guard, made directly: this test is about the association.
    let ec2 = aws_sdk_ec2::Client::new(&conf);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.77.0.0/16")
        .send()
        .await
        .unwrap();
    let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_owned();
    let mut subnets = Vec::new();
    for (cidr, az) in [
        ("10.77.1.0/24", "us-east-1a"),
        ("10.77.2.0/24", "us-east-1b"),
    ] {
        let sn = ec2
            .create_subnet()
            .vpc_id(&vpc_id)
            .cidr_block(cidr)
            .availability_zone(az)
            .send()
            .await
            .unwrap();
        subnets.push(sn.subnet().unwrap().subnet_id().unwrap().to_owned());
    }
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&conf);
    let lb = elb
        .create_load_balancer()
        .name(
            unique("zt-alb")
                .replace('_', "-")
                .chars()
                .take(32)
                .collect::<String>(),
        )
        .set_subnets(Some(subnets.clone()))
        .send()
        .await
        .unwrap();
    let lb_arn = lb.load_balancers()[0]
        .load_balancer_arn()
        .unwrap()
        .to_owned();

    let a = aws.driver_for("wafv2_web_acl_association");
    let assoc = resolved(
        &stack,
        "wafv2_web_acl_association",
        "alb",
        props([
            ("web_acl", s(&regional_live.outputs["arn"])),
            ("resource_arn", s(&lb_arn)),
        ]),
    );
    let created = a.create(&assoc).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(created.id, lb_arn);
    let got = waf
        .get_web_acl_for_resource()
        .resource_arn(&lb_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.web_acl().map(|w| w.arn()),
        Some(regional_live.outputs["arn"].as_str())
    );
    let found = read(
        &aws,
        &*a,
        &stack,
        "wafv2_web_acl_association",
        &[desired(&assoc)],
    )
    .await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].props, assoc.props);

    a.delete(&found[0])
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let got = waf
        .get_web_acl_for_resource()
        .resource_arn(&lb_arn)
        .send()
        .await
        .unwrap();
    assert!(got.web_acl().is_none());
    assert!(
        read(
            &aws,
            &*a,
            &stack,
            "wafv2_web_acl_association",
            &[desired(&assoc)]
        )
        .await
        .is_empty()
    );
    a.delete(&found[0])
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));

    d.delete(&regional_live)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    d.delete(&cf_live).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert!(
        read(&aws, &*d, &stack, "wafv2_web_acl", &[])
            .await
            .is_empty()
    );
    elb.delete_load_balancer()
        .load_balancer_arn(&lb_arn)
        .send()
        .await
        .unwrap();
    for sn in subnets {
        ec2.delete_subnet().subnet_id(sn).send().await.unwrap();
    }
    ec2.delete_vpc().vpc_id(vpc_id).send().await.unwrap();
}
