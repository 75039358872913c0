//! Each class of bad input, with the exact message a user sees.

use super::Case;

#[test]
fn a_secret_variable_is_not_needed_to_load_a_stack() {
    // Write-only secrets: plan never needs the variable; apply asks for it when it writes.
    let s = Case::new(
        "
        [ssm_parameter.db]
        name = \"/t/db\"
        value_from_env = \"UNSET_VAR\"
        value_version = 3
        ",
    )
    .ok();
    match s.get("ssm_parameter.db").unwrap().props.get("value") {
        Some(crate::model::Value::Secret(secret)) => {
            assert_eq!((secret.env.as_str(), secret.version), ("UNSET_VAR", 3));
            assert!(secret.value.is_none());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn secret_is_loaded_and_never_debug_printed() {
    let s = Case::new(
        "
        [ssm_parameter.db]
        name = \"/t/db\"
        value_from_env = \"SET_VAR\"
        ",
    )
    .ok();
    let r = &s.resources[0];
    assert_eq!(
        crate::model::PropsExt::secret(&r.props, "value"),
        Some("s3cr3t-value")
    );
    assert!(!format!("{r:?}").contains("s3cr3t"));
    assert!(!serde_json::to_string(r).unwrap().contains("s3cr3t"));
}

#[test]
fn reference_stacks_are_valid() {
    for path in ["stacks/zenoo-dev.toml", "stacks/zenoo-prod.toml"] {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/").to_owned() + path)
                .unwrap();
        let env = |_: &str| Some("x-demo-secret-0123456789".to_owned());
        if let Err(inv) = crate::validate::load(path, text, &env) {
            panic!("{}", inv.render(false));
        }
    }
}

#[test]
fn defaults_are_secure() {
    let s = Case::new(
        "
        [s3_bucket.a]
        bucket = \"zenoo-assets\"

        [kms_key.k]

        [dynamodb_table.t]
        hash_key = \"pk\"
        attributes = { pk = \"S\" }
        ",
    )
    .ok();
    let get = |a: &str, f: &str| s.get(a).unwrap().props.get(f).cloned();
    use crate::model::Value::*;
    assert_eq!(
        get("s3_bucket.a", "sse_algorithm"),
        Some(Str("AES256".into()))
    );
    assert_eq!(get("s3_bucket.a", "block_public_access"), Some(Bool(true)));
    assert_eq!(get("kms_key.k", "enable_key_rotation"), Some(Bool(true)));
    assert_eq!(
        get("dynamodb_table.t", "point_in_time_recovery"),
        Some(Bool(true))
    );
    assert_eq!(
        get("dynamodb_table.t", "ttl_attribute"),
        Some(Str("expires_at".into()))
    );
    assert_eq!(
        get("dynamodb_table.t", "table_name"),
        Some(Str("t-t".into()))
    );
}

/// The front door's resources, for the checks below: a zone, a certificate, an ALB and its listeners.
const FRONT: &str = "
[vpc.main]
cidr_block = \"10.0.0.0/16\"

[subnet.a]
vpc = \"vpc.main\"
cidr_block = \"10.0.1.0/24\"
availability_zone = \"us-east-1a\"
tier = \"public\"

[subnet.b]
vpc = \"vpc.main\"
cidr_block = \"10.0.2.0/24\"
availability_zone = \"us-east-1b\"
tier = \"public\"

[security_group.alb]
vpc = \"vpc.main\"

[route53_zone.main]
name = \"dev.zenoo.example\"

[acm_certificate.alb]
domain_name = \"api.dev.zenoo.example\"
zone = \"route53_zone.main\"

[lb.web]
subnets = [\"subnet.a\", \"subnet.b\"]
security_groups = [\"security_group.alb\"]

[lb_target_group.api]
vpc = \"vpc.main\"
port = 8080
";

/// A case made of the front door's resources plus `body`.
fn front(body: &str) -> Case {
    Case::new(&format!("{FRONT}{}", super::unindent(body)))
}

#[test]
fn front_door_is_valid() {
    front(
        "
        [lb_listener.http]
        load_balancer = \"lb.web\"
        port = 80
        protocol = \"HTTP\"
        default_action = \"redirect-https\"

        [lb_listener.https]
        load_balancer = \"lb.web\"
        port = 443
        protocol = \"HTTPS\"
        certificate = \"acm_certificate.alb\"
        default_action = \"forward\"
        target_group = \"lb_target_group.api\"

        [lb_listener_rule.api]
        listener = \"lb_listener.https\"
        priority = 10
        host_headers = [\"api.dev.zenoo.example\"]
        target_group = \"lb_target_group.api\"

        [route53_record.api]
        zone = \"route53_zone.main\"
        name = \"api.dev.zenoo.example\"
        type = \"A\"
        alias = \"lb.web\"
        ",
    )
    .ok();
}

#[test]
fn frontend_defaults_are_secure() {
    let s = Case::new(
        "
        [s3_bucket.site]
        bucket = \"zenoo-site\"

        [cloudfront_origin_access_control.site]

        [wafv2_web_acl.cdn]
        scope = \"CLOUDFRONT\"

        [cloudfront_distribution.cdn]
        origins = [{ origin_id = \"site\", bucket = \"s3_bucket.site\", origin_access_control = \"cloudfront_origin_access_control.site\" }]
        web_acl = \"wafv2_web_acl.cdn\"
        ",
    )
    .ok();
    let get = |a: &str, f: &str| s.get(a).unwrap().props.get(f).cloned();
    use crate::model::Value::*;
    for (f, v) in [
        ("ip_reputation_list", Bool(true)),
        ("known_bad_inputs", Bool(true)),
        ("common_rule_set", Bool(true)),
        ("rate_limit", Int(2000)),
        ("max_body_size", Int(8192)),
        ("default_action", Str("allow".into())),
    ] {
        assert_eq!(get("wafv2_web_acl.cdn", f), Some(v), "{f}");
    }
    for (f, v) in [
        ("viewer_protocol_policy", "redirect-to-https"),
        ("minimum_protocol_version", "TLSv1.2_2021"),
        ("default_root_object", "index.html"),
        ("cache_policy_id", "658327ea-f89d-4fab-a63d-7e88639e58f6"),
    ] {
        assert_eq!(
            get("cloudfront_distribution.cdn", f),
            Some(Str(v.into())),
            "{f}"
        );
    }
    assert_eq!(
        get("cloudfront_origin_access_control.site", "signing_behavior"),
        Some(Str("always".into()))
    );
}

/// A role ECS tasks can assume, for the task definition cases below.
const ECS_ROLES: &str = "
        [iam_role.exec]
        assume_role_policy = { Version = \"2012-10-17\", Statement = [{ Effect = \"Allow\", Principal = { Service = \"ecs-tasks.amazonaws.com\" }, Action = \"sts:AssumeRole\" }] }

        [iam_role.app]
        assume_role_policy = { Version = \"2012-10-17\", Statement = [{ Effect = \"Allow\", Principal = { Service = \"ecs-tasks.amazonaws.com\" }, Action = \"sts:AssumeRole\" }] }
";

#[test]
fn delivery_defaults_are_secure() {
    let s = Case::new(&format!(
        "{ECS_ROLES}
        [vpc.main]
        cidr_block = \"10.0.0.0/16\"

        [subnet.private]
        vpc = \"vpc.main\"
        cidr_block = \"10.0.0.0/24\"
        availability_zone = \"us-east-1a\"

        [security_group.app]
        vpc = \"vpc.main\"

        [ecr_repository.hub]

        [ecs_cluster.main]

        [ecs_task_definition.app]
        cpu = 512
        memory = 1024
        execution_role = \"iam_role.exec\"
        task_role = \"iam_role.app\"
        container_definitions = [{{ name = \"app\", repository = \"ecr_repository.hub\", tag = \"v1\" }}]

        [ecs_service.app]
        cluster = \"ecs_cluster.main\"
        task_definition = \"ecs_task_definition.app\"
        subnets = [\"subnet.private\"]
        security_groups = [\"security_group.app\"]
        "
    ))
    .ok();
    let get = |a: &str, f: &str| s.get(a).unwrap().props.get(f).cloned();
    use crate::model::Value::*;
    assert_eq!(
        get("ecr_repository.hub", "image_tag_mutability"),
        Some(Str("IMMUTABLE".into()))
    );
    assert_eq!(get("ecr_repository.hub", "scan_on_push"), Some(Bool(true)));
    assert_eq!(
        get("ecr_repository.hub", "encryption_type"),
        Some(Str("AES256".into()))
    );
    assert_eq!(
        get("ecr_repository.hub", "repository_name"),
        Some(Str("t-hub".into()))
    );
    assert_eq!(
        get("ecs_cluster.main", "container_insights"),
        Some(Str("enabled".into()))
    );
    assert_eq!(
        get("ecs_task_definition.app", "network_mode"),
        Some(Str("awsvpc".into()))
    );
    assert_eq!(
        get("ecs_service.app", "assign_public_ip"),
        Some(Bool(false))
    );
    assert_eq!(get("ecs_service.app", "circuit_breaker"), Some(Bool(true)));
    let containers = get("ecs_task_definition.app", "container_definitions").unwrap();
    let c = containers.as_list()[0].as_map().unwrap();
    assert_eq!(c.get("essential"), Some(&Bool(true)));
}

#[test]
fn github_actions_preview_template_is_valid_for_any_pull_request() {
    let path = "examples/github-actions/preview.toml";
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/").to_owned() + path)
        .unwrap();
    // What zinfra-preview.yml's `sed` does to the template.
    assert_eq!(text.matches("\nname = \"preview\"\n").count(), 1);
    for name in ["preview", "preview-pr-1234"] {
        let text = text.replace("\nname = \"preview\"\n", &format!("\nname = \"{name}\"\n"));
        let env = |_: &str| Some("x".to_owned());
        match crate::validate::load(path, text, &env) {
            Ok(s) => {
                // Physical names follow the stack name, so pull requests never collide.
                let r = s.get("iam_role.task").unwrap();
                assert_eq!(
                    r.props.get("role_name"),
                    Some(&crate::model::Value::Str(format!("{name}-task")))
                );
            }
            Err(inv) => panic!("{}", inv.render(false)),
        }
    }
}

/// A valid Redis setup; each case below breaks one thing in it.
const REDIS: &str = "
[vpc.main]
cidr_block = \"10.0.0.0/16\"

[subnet.private_a]
vpc = \"vpc.main\"
cidr_block = \"10.0.1.0/24\"
availability_zone = \"us-east-1a\"

[subnet.public_a]
vpc = \"vpc.main\"
cidr_block = \"10.0.2.0/24\"
availability_zone = \"us-east-1a\"
tier = \"public\"

[kms_key.k]

[security_group.redis]
vpc = \"vpc.main\"

[elasticache_subnet_group.redis]
subnets = [\"subnet.private_a\"]

[elasticache_user.default]
user_name = \"default\"
access_string = \"off -@all\"
password_from_env = \"REDIS_PASSWORD\"

[elasticache_user.app]
user_name = \"app\"
access_string = \"on ~app:* +@all\"
password_from_env = \"REDIS_PASSWORD\"

[elasticache_user_group.redis]
users = [\"elasticache_user.default\", \"elasticache_user.app\"]

[elasticache_replication_group.redis]
engine_version = \"7.1\"
node_type = \"cache.t4g.small\"
subnet_group = \"elasticache_subnet_group.redis\"
security_groups = [\"security_group.redis\"]
kms_key = \"kms_key.k\"
user_group = \"elasticache_user_group.redis\"
replicas = 0
";

#[test]
fn redis_reference_shape_is_valid() {
    let s = Case::new(REDIS).ok();
    let rg = s
        .resources
        .iter()
        .find(|r| r.kind == "elasticache_replication_group")
        .unwrap();
    // Omitted means secure: encrypted at rest and in transit, TLS required.
    for (f, v) in [
        ("at_rest_encryption", crate::model::Value::Bool(true)),
        ("transit_encryption", crate::model::Value::Bool(true)),
        (
            "transit_encryption_mode",
            crate::model::Value::Str("required".into()),
        ),
    ] {
        assert_eq!(rg.props.get(f), Some(&v), "{f}");
    }
}

#[test]
fn variables_are_typed_validated_and_substituted() {
    const VARS: &str = "
        [variables.image_tag]
        type = \"string\"
        pattern = \"[0-9a-f]{7,40}|v[0-9.]+\"
        default = \"v1.0\"

        [variables.size]
        type = \"number\"
        default = 2

        [ssm_parameter.tag]
        name = \"/t/tag-${var.image_tag}\"
        type = \"String\"
        value = \"${var.image_tag}:${var.size}\"
        ";
    let s = Case::new(VARS).ok();
    let r = s.get("ssm_parameter.tag").unwrap();
    assert_eq!(r.props.get("value").unwrap().as_str(), Some("v1.0:2"));
    assert_eq!(r.props.get("name").unwrap().as_str(), Some("/t/tag-v1.0"));
    assert_eq!(s.info.variables["image_tag"], "v1.0");
}

/// A load balancer serves certificates of its own region; CloudFront only ones in us-east-1.
#[test]
fn certificates_are_in_the_region_that_serves_them() {
    let text = format!("{}{FRONT}", super::HEADER)
        .replace("us-east-1", "eu-west-1")
        + "
[acm_certificate.edge]
domain_name = \"app.dev.zenoo.example\"
zone = \"route53_zone.main\"
region = \"us-east-1\"

[acm_certificate.regional]
domain_name = \"cdn.dev.zenoo.example\"
zone = \"route53_zone.main\"

[lb_listener.https]
load_balancer = \"lb.web\"
port = 443
protocol = \"HTTPS\"
certificate = \"acm_certificate.edge\"
default_action = \"forward\"
target_group = \"lb_target_group.api\"

[s3_bucket.site]
bucket = \"zenoo-site\"

[cloudfront_origin_access_control.site]

[cloudfront_distribution.cdn]
origins = [{ origin_id = \"site\", bucket = \"s3_bucket.site\", origin_access_control = \"cloudfront_origin_access_control.site\" }]
default_origin = \"site\"
aliases = [\"cdn.dev.zenoo.example\"]
certificate = \"acm_certificate.regional\"
";
    let got = match Case::raw(&text).load() {
        Ok(_) => panic!("expected errors"),
        Err(inv) => inv.render(false),
    };
    let messages: Vec<&str> = got
        .lines()
        .filter_map(|l| l.strip_prefix("error: "))
        .collect();
    assert_eq!(
        messages,
        [
            "acm_certificate.edge is requested in us-east-1; a load balancer in eu-west-1 serves certificates of its own region only",
            "acm_certificate.regional is requested in eu-west-1; CloudFront uses certificates in us-east-1 only",
        ],
        "{got}"
    );
}

/// An origin is S3 (with its access control) or an ALB (its alias record), and behaviours name origins.
#[test]
fn cloudfront_origins_are_s3_or_an_alb_record() {
    let text = format!("{}{FRONT}", super::HEADER)
        + "
[route53_record.api]
zone = \"route53_zone.main\"
name = \"api.dev.zenoo.example\"
type = \"A\"
alias = \"lb.web\"

[route53_record.txt]
zone = \"route53_zone.main\"
name = \"txt.dev.zenoo.example\"
type = \"TXT\"
ttl = 300
records = [\"\\\"hello\\\"\"]

[s3_bucket.site]
bucket = \"zenoo-site\"

[cloudfront_origin_access_control.site]

[cloudfront_distribution.cdn]
origins = [
  { origin_id = \"both\", bucket = \"s3_bucket.site\", alb_record = \"route53_record.api\" },
  { origin_id = \"signed\", alb_record = \"route53_record.api\", origin_access_control = \"cloudfront_origin_access_control.site\" },
  { origin_id = \"text\", alb_record = \"route53_record.txt\" },
  { origin_id = \"bare\", bucket = \"s3_bucket.site\" },
]
behaviors = [{ path_pattern = \"/api/*\", origin = \"apii\" }]
";
    let got = match Case::raw(&text).load() {
        Ok(_) => panic!("expected errors"),
        Err(inv) => inv.render(false),
    };
    let messages: Vec<&str> = got
        .lines()
        .filter_map(|l| l.strip_prefix("error: "))
        .collect();
    assert_eq!(
        messages,
        [
            "an origin is either an S3 `bucket` or an `alb_record`",
            "an origin access control signs requests to S3 only",
            "route53_record.txt is not an alias record of a load balancer",
            "an S3 origin needs its `origin_access_control`",
            "no origin has the id `apii`",
        ],
        "{got}"
    );
}
