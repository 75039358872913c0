//! Every baseline rule: a fixture that fails it (rule id and location asserted) and one that passes;
//! waivers; the output formats. No network.

use super::Case;
use crate::check::{self, Finding};

/// (rule, address, line:column) of every finding, waived ones marked.
fn findings(body: &str) -> Vec<String> {
    let s = Case::new(body).ok();
    check::check_stack(&s)
        .iter()
        .map(|f| describe(&s, f))
        .collect()
}

fn describe(s: &crate::stack::Stack, f: &Finding) -> String {
    let at = check::location(s, f)
        .map(|(_, l, c)| format!("{l}:{c}"))
        .unwrap_or_default();
    let w = if f.waived.is_some() { " (waived)" } else { "" };
    format!("{} {} {at}{w}", f.rule.id, f.address)
}

#[track_caller]
fn fails(rule: &str, body: &str, expected: &str) {
    let got = findings(body);
    assert!(
        got.iter().any(|g| g == expected),
        "expected `{expected}` for {rule}, got {got:#?}"
    );
    assert!(expected.starts_with(rule));
}

#[track_caller]
fn passes(rule: &str, body: &str) {
    let got = findings(body);
    assert!(
        !got.iter().any(|g| g.starts_with(rule)),
        "{rule} should pass, got {got:#?}"
    );
}

/// A VPC with one public and one private subnet, so network rules are quiet unless a test breaks them.
const NET: &str = "
    [vpc.main]
    cidr_block = \"10.0.0.0/16\"

    [subnet.public]
    vpc = \"vpc.main\"
    cidr_block = \"10.0.0.0/24\"
    availability_zone = \"us-east-1a\"
    tier = \"public\"

    [subnet.private]
    vpc = \"vpc.main\"
    cidr_block = \"10.0.1.0/24\"
    availability_zone = \"us-east-1a\"

    [internet_gateway.main]
    vpc = \"vpc.main\"
";

fn net(extra: &str) -> String {
    format!("{}\n{}", super::unindent(NET), super::unindent(extra))
}

#[test]
fn kms_rotation() {
    fails(
        "ZS-KMS-001",
        "
        [kms_key.k]
        enable_key_rotation = false
        ",
        "ZS-KMS-001 kms_key.k 7:23",
    );
    passes("ZS-KMS-001", "[kms_key.k]\n");
}

#[test]
fn s3_encryption_and_public_access() {
    // sse_algorithm has no insecure value in the schema: only a live bucket without encryption fails it.
    passes("ZS-S3-001", "[s3_bucket.b]\nbucket = \"b-1\"\n");
    fails(
        "ZS-S3-002",
        "
        [s3_bucket.b]
        bucket = \"b-1\"
        block_public_access = false
        ",
        "ZS-S3-002 s3_bucket.b 8:23",
    );
    passes("ZS-S3-002", "[s3_bucket.b]\nbucket = \"b-1\"\n");
}

#[test]
fn s3_policy_only_for_cloudfront() {
    fails(
        "ZS-S3-003",
        "
        [s3_bucket.b]
        bucket = \"b-1\"
        policy = { Version = \"2012-10-17\", Statement = [{ Effect = \"Allow\", Principal = \"*\", Action = \"s3:GetObject\", Resource = \"arn:aws:s3:::b-1/*\" }] }
        ",
        "ZS-S3-003 s3_bucket.b 8:10",
    );
    fails(
        "ZS-S3-003",
        "
        [s3_bucket.b]
        bucket = \"b-1\"
        policy = { Version = \"2012-10-17\", Statement = [{ Effect = \"Allow\", Principal = { Service = \"cloudfront.amazonaws.com\" }, Action = \"s3:GetObject\", Resource = \"arn:aws:s3:::b-1/*\" }] }
        ",
        "ZS-S3-003 s3_bucket.b 8:10",
    );
    passes(
        "ZS-S3-003",
        "
        [s3_bucket.b]
        bucket = \"b-1\"
        policy = { Version = \"2012-10-17\", Statement = [{ Effect = \"Allow\", Principal = { Service = \"cloudfront.amazonaws.com\" }, Action = \"s3:GetObject\", Resource = \"arn:aws:s3:::b-1/*\", Condition = { StringEquals = { \"AWS:SourceArn\" = \"arn:aws:cloudfront::123456789012:distribution/E1\" } } }] }
        ",
    );
}

#[test]
fn dynamodb_ttl_and_key() {
    let table = |extra: &str| {
        format!("[dynamodb_table.t]\nhash_key = \"pk\"\nattributes = {{ pk = \"S\" }}\n{extra}")
    };
    // TTL is on by default (`expires_at`); turning it off is what fails.
    fails(
        "ZS-DDB-001",
        &table("ttl_attribute = \"\"\n"),
        "ZS-DDB-001 dynamodb_table.t 9:17",
    );
    passes("ZS-DDB-001", &table("ttl_attribute = \"exp\"\n"));
    fails(
        "ZS-DDB-002",
        &table("ttl_attribute = \"exp\"\n"),
        "ZS-DDB-002 dynamodb_table.t 6:17",
    );
    passes(
        "ZS-DDB-002",
        &format!(
            "[kms_key.k]\n\n{}",
            table("ttl_attribute = \"exp\"\nkms_key = \"kms_key.k\"\n")
        ),
    );
}

#[test]
fn ssm_secure_strings_with_a_cmk() {
    fails(
        "ZS-SSM-001",
        "
        [ssm_parameter.p]
        name = \"/p\"
        type = \"String\"
        value_from_env = \"SET_VAR\"
        ",
        "ZS-SSM-001 ssm_parameter.p 8:8",
    );
    passes(
        "ZS-SSM-001",
        "[ssm_parameter.p]\nname = \"/p\"\ntype = \"String\"\nvalue = \"info\"\n",
    );
    fails(
        "ZS-SSM-002",
        "
        [ssm_parameter.p]
        name = \"/p\"
        type = \"SecureString\"
        value_from_env = \"SET_VAR\"
        ",
        "ZS-SSM-002 ssm_parameter.p 6:16",
    );
    passes(
        "ZS-SSM-002",
        "
        [kms_key.k]

        [ssm_parameter.p]
        name = \"/p\"
        type = \"SecureString\"
        value_from_env = \"SET_VAR\"
        kms_key = \"kms_key.k\"
        ",
    );
}

#[test]
fn vpc_has_both_tiers() {
    fails(
        "ZS-NET-001",
        "
        [vpc.main]
        cidr_block = \"10.0.0.0/16\"

        [subnet.a]
        vpc = \"vpc.main\"
        cidr_block = \"10.0.1.0/24\"
        availability_zone = \"us-east-1a\"
        ",
        "ZS-NET-001 vpc.main 6:6",
    );
    passes("ZS-NET-001", NET);
}

#[test]
fn private_subnets_do_not_route_to_the_internet() {
    fails(
        "ZS-NET-002",
        &net("
            [route_table.r]
            vpc = \"vpc.main\"
            routes = [{ destination = \"0.0.0.0/0\", gateway = \"internet_gateway.main\" }]
            subnets = [\"subnet.public\", \"subnet.private\"]
            "),
        "ZS-NET-002 subnet.private 15:9",
    );
    passes(
        "ZS-NET-002",
        &net("
            [route_table.r]
            vpc = \"vpc.main\"
            routes = [{ destination = \"0.0.0.0/0\", gateway = \"internet_gateway.main\" }]
            subnets = [\"subnet.public\"]
            "),
    );
}

#[test]
fn only_web_ports_open_to_the_internet() {
    fails(
        "ZS-NET-003",
        &net("
            [security_group.g]
            vpc = \"vpc.main\"
            ingress = [{ from_port = 22, to_port = 22, cidr_blocks = [\"0.0.0.0/0\"] }]
            "),
        "ZS-NET-003 security_group.g 25:11",
    );
    passes(
        "ZS-NET-003",
        &net("
            [security_group.g]
            vpc = \"vpc.main\"
            ingress = [
              { from_port = 443, to_port = 443, cidr_blocks = [\"0.0.0.0/0\"] },
              { from_port = 22, to_port = 22, cidr_blocks = [\"10.0.0.0/16\"] },
            ]
            "),
    );
}

#[test]
fn github_trust_names_repositories() {
    let role = |sub: &str| {
        format!(
            "
            [iam_oidc_provider.gh]
            url = \"https://token.actions.githubusercontent.com\"
            client_ids = [\"sts.amazonaws.com\"]
            thumbprints = [\"6938fd4d98bab03faadb97b34396831e3780aea1\"]

            [iam_role.deploy]
            assume_role_policy = {{ Version = \"2012-10-17\", Statement = [{{ Effect = \"Allow\", Principal = {{ Federated = \"${{iam_oidc_provider.gh.arn}}\" }}, Action = \"sts:AssumeRoleWithWebIdentity\", Condition = {{ StringLike = {{ \"token.actions.githubusercontent.com:aud\" = \"sts.amazonaws.com\", \"token.actions.githubusercontent.com:sub\" = \"{sub}\" }} }} }}] }}
            "
        )
    };
    fails(
        "ZS-IAM-001",
        &role("repo:zenoo/*"),
        "ZS-IAM-001 iam_role.deploy 12:22",
    );
    passes("ZS-IAM-001", &role("repo:zenoo/hub:ref:refs/heads/main"));
}

#[test]
fn reference_stacks_pass_without_waivers() {
    for name in ["zenoo-dev", "zenoo-prod"] {
        let path = format!("{}/stacks/{name}.toml", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        let env = |_: &str| Some("x-demo-secret-0123456789".to_owned());
        let s = crate::validate::load(&path, text, &env)
            .unwrap_or_else(|e| panic!("{}", e.render(false)));
        let found: Vec<String> = check::check_stack(&s)
            .iter()
            .map(|f| describe(&s, f))
            .collect();
        assert!(found.is_empty(), "{name}: {found:#?}");
        assert!(check::waivers(&s).is_empty(), "{name} has waivers");
    }
}

#[test]
fn a_waiver_excuses_one_rule_on_one_resource_until_it_expires() {
    let got = findings(
        "
        [kms_key.k]
        enable_key_rotation = false
        waivers = [{ rule = \"ZS-KMS-001\", reason = \"imported key material\", expires = \"2999-01-01\" }]

        [kms_key.j]
        enable_key_rotation = false
        waivers = [{ rule = \"ZS-KMS-001\", reason = \"was fine once\", expires = \"2020-01-01\" }]
        ",
    );
    assert_eq!(
        got,
        [
            "ZS-KMS-001 kms_key.k 7:23 (waived)",
            "ZS-KMS-001 kms_key.j 11:23"
        ]
    );
}

#[test]
fn waivers_show_in_every_plan() {
    let s = Case::new(
        "
        [kms_key.k]
        enable_key_rotation = false
        waivers = [{ rule = \"ZS-KMS-001\", reason = \"imported key material\", expires = \"2999-01-01\" }]
        ",
    )
    .ok();
    let p = crate::plan::compute(
        &s.info,
        &s.resources,
        &Default::default(),
        &["kms_key.k".to_owned()],
        &[],
        false,
    );
    let text = crate::render::human(&p, crate::render::Style::default());
    assert!(
        text.ends_with(
            "Plan: 1 to add, 0 to change, 0 to destroy.\n\nBaseline waivers in force:\n  ZS-KMS-001 on kms_key.k: imported key material (until 2999-01-01)\n"
        ),
        "{text}"
    );
    let json = crate::render::json(&p);
    assert_eq!(json["waivers"][0]["rule"], "ZS-KMS-001");
}

#[test]
fn human_output_groups_by_resource_with_locations() {
    let s = Case::new(
        "
        [kms_key.k]
        enable_key_rotation = false

        [s3_bucket.b]
        bucket = \"b-1\"
        block_public_access = false
        ",
    )
    .ok();
    let found = check::check_stack(&s);
    insta::assert_snapshot!(check::human(&s, &found, false, false));
}

#[test]
fn sarif_for_code_scanning() {
    let s = Case::new(
        "
        [kms_key.k]
        enable_key_rotation = false
        waivers = [{ rule = \"ZS-KMS-001\", reason = \"imported key material\" }]

        [s3_bucket.b]
        bucket = \"b-1\"
        block_public_access = false
        ",
    )
    .ok();
    let found = check::check_stack(&s);
    let sarif = check::sarif(&s, &found, false);
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(
        run["tool"]["driver"]["rules"].as_array().unwrap().len(),
        check::rules::RULES.len()
    );
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["ruleId"], "ZS-KMS-001");
    assert_eq!(
        results[0]["suppressions"][0]["justification"],
        "imported key material"
    );
    assert_eq!(results[1]["ruleId"], "ZS-S3-002");
    assert_eq!(results[1]["level"], "error");
    let loc = &results[1]["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "stack.toml");
    assert_eq!(loc["region"]["startLine"], 12);
    assert_eq!(loc["region"]["startColumn"], 23);
    let json = check::json(&s, &found, false);
    assert_eq!(
        (json["errors"].as_u64(), json["waived"].as_u64()),
        (Some(1), Some(1))
    );
}

/// The dev reference stack as it would read back live: references replaced by the ids and ARNs they
/// name, every resource with outputs `<attr>:<address>`.
fn live_reference() -> Vec<crate::model::Live> {
    use crate::model::{Live, Value};
    let path = format!("{}/stacks/zenoo-dev.toml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let env = |_: &str| Some("x-demo-secret-0123456789".to_owned());
    let s =
        crate::validate::load(&path, text, &env).unwrap_or_else(|e| panic!("{}", e.render(false)));
    fn resolve(v: &Value) -> Value {
        match v {
            Value::Ref(r) => Value::Str(format!("{}:{}", r.attr, r.address)),
            Value::List(l) => Value::List(l.iter().map(resolve).collect()),
            Value::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), resolve(v))).collect()),
            other => other.clone(),
        }
    }
    s.resources
        .iter()
        .map(|r| {
            let mut l = Live::new(&r.address, &r.kind, format!("id:{}", r.address));
            for attr in [
                "arn",
                "alias_target",
                "regional_domain_name",
                "repository_url",
                "name",
            ] {
                l.outputs
                    .insert(attr.into(), format!("{attr}:{}", r.address));
            }
            l.props = r
                .props
                .iter()
                .map(|(k, v)| (k.clone(), resolve(v)))
                .collect();
            l
        })
        .collect()
}

/// Every rule fails on live state where a control was weakened by hand, and only that rule.
#[test]
fn each_rule_catches_its_control_weakened_live() {
    use crate::model::Value;
    let base = live_reference();
    let clean = check::evaluate(&check::View::live(&base), &Default::default(), "2026-01-01");
    assert!(
        clean.is_empty(),
        "{:?}",
        clean.iter().map(|f| f.rule.id).collect::<Vec<_>>()
    );
    let s = |x: &str| Value::Str(x.into());
    let cases: Vec<(&str, &str, &str, Value)> = vec![
        (
            "ZS-KMS-001",
            "kms_key.data",
            "enable_key_rotation",
            Value::Bool(false),
        ),
        (
            "ZS-S3-001",
            "s3_bucket.frontend",
            "sse_algorithm",
            Value::Null,
        ),
        (
            "ZS-S3-002",
            "s3_bucket.frontend",
            "block_public_access",
            Value::Bool(false),
        ),
        (
            "ZS-DDB-001",
            "dynamodb_table.hub_sessions",
            "ttl_attribute",
            Value::Null,
        ),
        (
            "ZS-DDB-002",
            "dynamodb_table.hub_sessions",
            "kms_key",
            Value::Null,
        ),
        (
            "ZS-SSM-001",
            "ssm_parameter.db_password",
            "type",
            s("String"),
        ),
        (
            "ZS-SSM-002",
            "ssm_parameter.db_password",
            "kms_key",
            Value::Null,
        ),
        ("ZS-NET-002", "subnet.private_a", "tier", s("private")),
        (
            "ZS-ACM-001",
            "acm_certificate.alb",
            "key_algorithm",
            s("EC_prime256v1"),
        ),
        (
            "ZS-ALB-001",
            "lb_listener.http",
            "default_action",
            s("forward"),
        ),
        (
            "ZS-ALB-002",
            "lb_listener.https",
            "ssl_policy",
            s("ELBSecurityPolicy-2016-08"),
        ),
        (
            "ZS-ALB-004",
            "lb.web",
            "drop_invalid_header_fields",
            Value::Bool(false),
        ),
        (
            "ZS-WAF-001",
            "wafv2_web_acl.alb",
            "ip_reputation_list",
            Value::Bool(false),
        ),
        ("ZS-WAF-002", "wafv2_web_acl.alb", "rate_limit", Value::Null),
        (
            "ZS-WAF-003",
            "wafv2_web_acl.frontend",
            "max_body_size",
            Value::Null,
        ),
        (
            "ZS-WAF-004",
            "wafv2_web_acl.frontend",
            "known_bad_inputs",
            Value::Bool(false),
        ),
        (
            "ZS-CF-001",
            "cloudfront_distribution.frontend",
            "viewer_protocol_policy",
            s("allow-all"),
        ),
        (
            "ZS-CF-002",
            "cloudfront_distribution.frontend",
            "minimum_protocol_version",
            s("TLSv1_2016"),
        ),
        (
            "ZS-CF-003",
            "cloudfront_distribution.frontend",
            "web_acl",
            Value::Null,
        ),
        (
            "ZS-ECR-001",
            "ecr_repository.hub",
            "encryption_type",
            s("NONE"),
        ),
        (
            "ZS-ECR-002",
            "ecr_repository.hub",
            "scan_on_push",
            Value::Bool(false),
        ),
        (
            "ZS-ECR-003",
            "ecr_repository.hub",
            "image_tag_mutability",
            s("MUTABLE"),
        ),
        (
            "ZS-ECS-001",
            "ecs_service.hub",
            "assign_public_ip",
            Value::Bool(true),
        ),
        (
            "ZS-ECS-002",
            "ecs_task_definition.hub",
            "task_role",
            s("arn:iam_role.task_execution"),
        ),
        (
            "ZS-EC-002",
            "elasticache_replication_group.redis",
            "kms_key",
            Value::Null,
        ),
        (
            "ZS-EC-003",
            "elasticache_replication_group.redis",
            "transit_encryption_mode",
            s("preferred"),
        ),
        (
            "ZS-EC-004",
            "elasticache_replication_group.redis",
            "user_group",
            Value::Null,
        ),
        (
            "ZS-MSK-001",
            "msk_cluster.events",
            "client_subnets",
            Value::List(vec![s("id:subnet.public_a")]),
        ),
        (
            "ZS-MSK-002",
            "msk_cluster.events",
            "client_broker_encryption",
            s("TLS_PLAINTEXT"),
        ),
        (
            "ZS-MSK-003",
            "msk_cluster.events",
            "kms_key",
            s("arn:aws:kms:us-east-1:123456789012:key/not-ours"),
        ),
        (
            "ZS-MSK-004",
            "msk_cluster.events",
            "sasl_iam",
            Value::Bool(false),
        ),
        (
            "ZS-IDS-001",
            "guardduty_detector.main",
            "enable",
            Value::Bool(false),
        ),
        (
            "ZS-IDS-002",
            "securityhub_account.main",
            "foundational_best_practices",
            Value::Bool(false),
        ),
    ];
    for (rule, address, field, value) in cases {
        let mut live = base.clone();
        let l = live
            .iter_mut()
            .find(|l| l.address == address)
            .unwrap_or_else(|| panic!("{address}"));
        l.props.insert(field.into(), value);
        if rule == "ZS-NET-002" {
            // A route to the internet gateway added by hand to the private route table.
            let rt = live
                .iter_mut()
                .find(|l| l.address == "route_table.private")
                .unwrap();
            rt.props.insert(
                "routes".into(),
                Value::List(vec![Value::Map(
                    [
                        ("destination".to_owned(), s("0.0.0.0/0")),
                        ("gateway".to_owned(), s("id:internet_gateway.main")),
                    ]
                    .into(),
                )]),
            );
        }
        let found: Vec<(String, String)> =
            check::evaluate(&check::View::live(&live), &Default::default(), "2026-01-01")
                .iter()
                .map(|f| (f.rule.id.to_owned(), f.address.clone()))
                .collect();
        let at = if rule.starts_with("ZS-IDS") {
            "stack"
        } else {
            address
        };
        let mut want = vec![(rule.to_owned(), at.to_owned())];
        if rule == "ZS-NET-002" {
            // The private route table serves both private subnets.
            want.push((rule.to_owned(), "subnet.private_b".to_owned()));
        }
        assert_eq!(found, want, "{rule}");
    }
    // Graph rules: a load balancer whose association is gone, a subnet group with a public subnet, an
    // alias record turned into static addresses, an origin without its access control.
    let mut live = base.clone();
    live.retain(|l| l.kind != "wafv2_web_acl_association");
    let found: Vec<&str> = check::evaluate(&check::View::live(&live), &Default::default(), "x")
        .iter()
        .map(|f| f.rule.id)
        .collect();
    assert_eq!(found, ["ZS-ALB-003"]);
    let mut live = base.clone();
    let g = live
        .iter_mut()
        .find(|l| l.address == "elasticache_subnet_group.redis")
        .unwrap();
    g.props
        .insert("subnets".into(), Value::List(vec![s("id:subnet.public_a")]));
    let found: Vec<&str> = check::evaluate(&check::View::live(&live), &Default::default(), "x")
        .iter()
        .map(|f| f.rule.id)
        .collect();
    assert_eq!(found, ["ZS-EC-001"]);
    let mut live = base.clone();
    let r = live
        .iter_mut()
        .find(|l| l.address == "route53_record.api")
        .unwrap();
    r.props.insert("alias".into(), Value::Null);
    r.props
        .insert("records".into(), Value::List(vec![s("203.0.113.10")]));
    let found: Vec<&str> = check::evaluate(&check::View::live(&live), &Default::default(), "x")
        .iter()
        .map(|f| f.rule.id)
        .collect();
    assert_eq!(found, ["ZS-R53-001"]);
    let mut live = base.clone();
    let d = live
        .iter_mut()
        .find(|l| l.address == "cloudfront_distribution.frontend")
        .unwrap();
    let origins: Vec<Value> = d.props["origins"]
        .as_list()
        .iter()
        .map(|o| {
            let mut m = o.as_map().unwrap().clone();
            m.remove("origin_access_control");
            Value::Map(m)
        })
        .collect();
    d.props.insert("origins".into(), Value::List(origins));
    let found: Vec<&str> = check::evaluate(&check::View::live(&live), &Default::default(), "x")
        .iter()
        .map(|f| f.rule.id)
        .collect();
    assert_eq!(found, ["ZS-CF-004"]);
    let mut live = base;
    let p = live
        .iter_mut()
        .find(|l| l.address == "s3_bucket_policy.frontend")
        .unwrap();
    p.props.insert(
        "policy".into(),
        Value::Json(serde_json::json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}]})),
    );
    let found: Vec<&str> = check::evaluate(&check::View::live(&live), &Default::default(), "x")
        .iter()
        .map(|f| f.rule.id)
        .collect();
    assert_eq!(found, ["ZS-S3-004"]);
}

/// The front door and the data layer in the stack file: the offending field's line and column.
#[test]
fn rules_point_at_the_offending_field_in_the_file() {
    fails(
        "ZS-ACM-001",
        &net("
            [route53_zone.z]
            name = \"example.com\"

            [acm_certificate.c]
            domain_name = \"www.example.com\"
            zone = \"route53_zone.z\"
            key_algorithm = \"EC_prime256v1\"
            "),
        "ZS-ACM-001 acm_certificate.c 29:17",
    );
    fails(
        "ZS-ECR-003",
        "
        [ecr_repository.r]
        image_tag_mutability = \"MUTABLE\"
        ",
        "ZS-ECR-003 ecr_repository.r 7:24",
    );
    fails(
        "ZS-ECR-002",
        "
        [ecr_repository.r]
        scan_on_push = false
        ",
        "ZS-ECR-002 ecr_repository.r 7:16",
    );
}

#[test]
fn an_environment_has_threat_detection() {
    fails("ZS-IDS-001", NET, "ZS-IDS-001 stack 1:2");
    fails("ZS-IDS-002", NET, "ZS-IDS-002 stack 1:2");
    passes(
        "ZS-IDS",
        &net("
            [guardduty_detector.main]

            [securityhub_account.main]
            "),
    );
    // A stack without a VPC of its own (a few parameters, a table) is not an environment.
    passes("ZS-IDS", "[kms_key.k]\n");
}

/// The seed's "SHA-256 with RSA" signature is known only to ACM: `check --live` reads it.
#[test]
fn a_certificate_signed_otherwise_fails_live() {
    let mut live = live_reference();
    let cert = live
        .iter_mut()
        .find(|l| l.address == "acm_certificate.alb")
        .unwrap();
    cert.outputs
        .insert("signature_algorithm".into(), "SHA256WITHRSA".into());
    let found = |live: &[crate::model::Live]| -> Vec<String> {
        check::evaluate(&check::View::live(live), &Default::default(), "2026-01-01")
            .iter()
            .map(|f| format!("{} {} {}", f.rule.id, f.address, f.message))
            .collect()
    };
    assert_eq!(found(&live), Vec::<String>::new());
    let cert = live
        .iter_mut()
        .find(|l| l.address == "acm_certificate.alb")
        .unwrap();
    cert.outputs
        .insert("signature_algorithm".into(), "SHA1WITHRSA".into());
    assert_eq!(
        found(&live),
        [
            "ZS-ACM-001 acm_certificate.alb the certificate is signed with SHA1WITHRSA, not SHA-256 with RSA"
        ]
    );
}

/// ZS-MSK-005: with IAM authentication, some role of the stack must be allowed to connect; live, the
/// grant names the cluster's ARN.
#[test]
fn an_msk_cluster_no_role_may_connect_to_fails() {
    use crate::model::Value;
    let base = live_reference();
    let found = |live: &[crate::model::Live]| -> Vec<(String, String)> {
        check::evaluate(&check::View::live(live), &Default::default(), "2026-01-01")
            .iter()
            .map(|f| (f.rule.id.to_owned(), f.address.clone()))
            .collect()
    };
    assert_eq!(found(&base), Vec::<(String, String)>::new());
    // The task role without its Kafka policy.
    let mut live = base.clone();
    let role = live
        .iter_mut()
        .find(|l| l.address == "iam_role.task")
        .unwrap();
    let Some(Value::Map(policies)) = role.props.get_mut("inline_policies") else {
        panic!("inline_policies");
    };
    assert!(policies.remove("events").is_some());
    assert_eq!(
        found(&live),
        [("ZS-MSK-005".to_owned(), "msk_cluster.events".to_owned())]
    );
    // Live, a grant on the cluster's ARN (as AWS returns it) counts; one on another cluster does not.
    let arn = "arn:aws:kafka:us-east-1:123456789012:cluster/zenoo-dev-events/abc-1";
    let with_grant = |resource: &str| {
        let mut live = live.clone();
        live.iter_mut()
            .find(|l| l.address == "msk_cluster.events")
            .unwrap()
            .outputs
            .insert("arn".into(), arn.into());
        let role = live
            .iter_mut()
            .find(|l| l.address == "iam_role.task")
            .unwrap();
        let Some(Value::Map(policies)) = role.props.get_mut("inline_policies") else {
            panic!("inline_policies");
        };
        policies.insert(
            "kafka".into(),
            Value::Json(serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [{ "Effect": "Allow", "Action": "kafka-cluster:Connect", "Resource": resource }]
            })),
        );
        found(&live)
    };
    assert_eq!(with_grant(arn), Vec::<(String, String)>::new());
    assert_eq!(
        with_grant("arn:aws:kafka:us-east-1:123456789012:cluster/other/xyz"),
        [("ZS-MSK-005".to_owned(), "msk_cluster.events".to_owned())]
    );
}

#[test]
fn a_subdomain_says_how_it_is_delegated() {
    fails(
        "ZS-DNS-001",
        "[route53_zone.dev]\nname = \"dev.zenoo.example\"\n",
        "ZS-DNS-001 route53_zone.dev 7:8",
    );
    passes(
        "ZS-DNS-001",
        "[route53_zone.dev]\nname = \"dev.zenoo.example\"\ndelegation = \"external\"\n",
    );
    passes(
        "ZS-DNS-001",
        "[route53_zone.root]\nname = \"zenoo.example\"\n\n[route53_zone.dev]\nname = \"dev.zenoo.example\"\nparent_zone = \"route53_zone.root\"\n",
    );
}
