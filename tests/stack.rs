//! Whole stacks through the CLI against moto: the reference stack's life cycle, convergence after a
//! failure, saved and stale plans, and the confirmation rule.

use aws_sdk_ec2::types::Filter;

use crate::cli::counting_endpoint;
use crate::support::cli::{Scratch, changes, path, zinfra, zinfra_at};
use crate::support::{sdk_config, unique};

/// The reference stacks both declare the GitHub OIDC provider, of which an account holds one per URL:
/// like two environments sharing one account, their tests take turns.
pub(crate) static REFERENCE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub(crate) const SECRET: (&str, &str) = ("ZENOO_DEV_DB_PASSWORD", "correct-horse-battery-staple");
/// The Redis users' passwords (ElastiCache wants 16 to 128 characters).
pub(crate) const REDIS_DEFAULT: (&str, &str) = (
    "ZENOO_DEV_REDIS_DEFAULT_PASSWORD",
    "default-user-is-off-0123",
);
/// Every secret the dev reference stack takes from the environment (the hub's Redis user
/// authenticates with IAM: no password).
pub(crate) const DEV_ENV: [(&str, &str); 2] = [SECRET, REDIS_DEFAULT];

pub(crate) fn reference_stack() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/stacks/zenoo-dev.toml"
    ))
    .unwrap()
}

/// Replace exactly one occurrence, so an edit can't silently miss.
#[track_caller]
fn edit(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "`{from}` must occur once");
    text.replacen(from, to, 1)
}

/// Everything the tagging API still lists for the stack, less KMS keys already scheduled for deletion
/// and ECS resources already INACTIVE (AWS keeps deregistered task definitions and deleted clusters and
/// services visible, with their tags, for a while),
/// and NAT gateways already `deleted` (AWS keeps listing those for about an hour).
pub(crate) async fn tagged_leftovers(stack: &str) -> Vec<String> {
    let conf = sdk_config().await;
    let tagging = aws_sdk_resourcegroupstagging::Client::new(&conf);
    let kms = aws_sdk_kms::Client::new(&conf);
    let page = tagging
        .get_resources()
        .tag_filters(
            aws_sdk_resourcegroupstagging::types::TagFilter::builder()
                .key("zinfra:stack")
                .values(stack)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&conf);
    let mut left = Vec::new();
    for m in page.resource_tag_mapping_list() {
        let arn = m.resource_arn().unwrap().to_owned();
        if arn.contains(":natgateway/") {
            let n = ec2
                .describe_nat_gateways()
                .nat_gateway_ids(arn.rsplit('/').next().unwrap())
                .send()
                .await
                .unwrap();
            if n.nat_gateways().first().and_then(|n| n.state())
                == Some(&aws_sdk_ec2::types::NatGatewayState::Deleted)
            {
                continue;
            }
        }
        if arn.contains(":key/") {
            let k = kms
                .describe_key()
                .key_id(arn.rsplit('/').next().unwrap())
                .send()
                .await
                .unwrap();
            if k.key_metadata().and_then(|m| m.key_state())
                == Some(&aws_sdk_kms::types::KeyState::PendingDeletion)
            {
                continue;
            }
        }
        if arn.contains(":ecs:") && ecs_inactive(&arn).await {
            continue;
        }
        left.push(arn);
    }
    left
}

async fn ecs_inactive(arn: &str) -> bool {
    let ecs = aws_sdk_ecs::Client::new(&sdk_config().await);
    let status = if arn.contains(":task-definition/") {
        let td = ecs
            .describe_task_definition()
            .task_definition(arn)
            .send()
            .await
            .unwrap();
        td.task_definition()
            .and_then(|t| t.status())
            .map(|s| s.as_str().to_owned())
    } else if arn.contains(":cluster/") {
        let c = ecs.describe_clusters().clusters(arn).send().await.unwrap();
        c.clusters()
            .first()
            .and_then(|c| c.status())
            .map(str::to_owned)
    } else if let Some((cluster, _)) = arn
        .split_once(":service/")
        .and_then(|(_, r)| r.split_once('/'))
    {
        let out = ecs
            .describe_services()
            .cluster(cluster)
            .services(arn)
            .send()
            .await
            .unwrap();
        out.services()
            .first()
            .and_then(|s| s.status())
            .map(str::to_owned)
    } else {
        None
    };
    status.as_deref() == Some("INACTIVE")
}

/// The dev reference stack through its life, one stage after another on one live stack (each stage
/// starts from what the previous one left).
#[tokio::test(flavor = "multi_thread")]
async fn reference_stack_life_cycle() {
    let _turn = REFERENCE.lock().await;
    let s = Scratch::new("reference");
    let text = reference_stack();
    let f = s.write("zenoo-dev.toml", &text);
    let l = Life { s, text, f };
    creates_and_converges(&l).await;
    let all_edits = changes_each_kind_in_place(&l).await;
    keeps_secrets_write_only(&l).await;
    let scope_change = says_why_it_replaces(&l).await;
    let all_edits = applies_every_edit_together(&l, all_edits, scope_change).await;
    deletes_what_is_dropped_and_destroys(&l, &all_edits).await;
}

/// What the life cycle's stages share: its scratch directory, the reference file and its path.
struct Life {
    s: Scratch,
    text: String,
    f: std::path::PathBuf,
}

/// Plan from nothing, apply, and converge: a second plan and apply change nothing.
async fn creates_and_converges(l: &Life) {
    let env = DEV_ENV;
    // Plan from nothing, then apply.
    let plan = zinfra(&["plan", path(&l.f), "--json"], &env)
        .expect(0)
        .json();
    assert_eq!(
        plan["summary"],
        serde_json::json!({"add": 58, "change": 0, "destroy": 0})
    );
    let human = zinfra(&["plan", path(&l.f)], &env).expect(0);
    insta::assert_snapshot!("plan_reference_from_nothing", human.stdout);
    let applied = zinfra(&["apply", path(&l.f), "--auto-approve"], &env).expect(0);
    assert!(
        applied
            .stdout
            .contains("Apply complete! Resources: 58 added, 0 changed, 0 destroyed."),
        "{}",
        applied.stdout
    );
    for out in [&applied.stdout, &applied.stderr] {
        for (_, secret) in DEV_ENV {
            assert!(!out.contains(secret), "secret leaked:\n{out}");
        }
    }

    verify_live_properties().await;
    verify_log_group("/ecs/zenoo-dev/hub", 30).await;
    verify_front_door("dev").await;
    verify_live_frontend(None, "index.html").await;

    // Converged: a second plan and a second apply change nothing.
    zinfra(&["plan", path(&l.f), "--detailed-exitcode"], &env).expect(0);
    let again = zinfra(&["apply", path(&l.f), "--auto-approve"], &env).expect(0);
    // The plan names the variable values it used first (the image tag, here its default).
    assert!(
        again
            .stdout
            .starts_with("Variables: image_tag = \"1.0.0\"\n\nNo changes."),
        "{}",
        again.stdout
    );
    let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
    let vpcs = ec2
        .describe_vpcs()
        .filters(
            Filter::builder()
                .name("tag:zinfra:stack")
                .values("zenoo-dev")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(vpcs.vpcs().len(), 1, "no duplicate VPC after two applies");
}

/// One in-place change per kind; returns the file with all of them.
async fn changes_each_kind_in_place(l: &Life) -> String {
    let env = DEV_ENV;
    // One in-place change per kind: each plan shows exactly that update.
    let in_place: &[(&str, &str, &str, &str)] = &[
        (
            "kms_key.data",
            "enable_key_rotation = true",
            "enable_key_rotation = false\nwaivers = [{ rule = \"ZS-KMS-001\", reason = \"rotation off, to test the update\" }]",
            "enable_key_rotation",
        ),
        (
            "vpc.main",
            "tags = { Name = \"zenoo-dev\" }",
            "tags = { Name = \"zenoo-dev\" }\nenable_dns_hostnames = false",
            "enable_dns_hostnames",
        ),
        (
            "subnet.public_a",
            "tier = \"public\"\n\n[subnet.public_b]",
            "tier = \"public\"\nmap_public_ip_on_launch = true\n\n[subnet.public_b]",
            "map_public_ip_on_launch",
        ),
        (
            "internet_gateway.main",
            "[internet_gateway.main]\nvpc = \"vpc.main\"",
            "[internet_gateway.main]\nvpc = \"vpc.main\"\ntags = { Name = \"zenoo-dev-igw\" }",
            "tags",
        ),
        (
            "msk_cluster.events",
            "ebs_volume_size = 100",
            "ebs_volume_size = 200",
            "ebs_volume_size",
        ),
        (
            "guardduty_detector.main",
            "finding_publishing_frequency = \"FIFTEEN_MINUTES\"",
            "finding_publishing_frequency = \"ONE_HOUR\"",
            "finding_publishing_frequency",
        ),
        (
            "eip.nat_a",
            "tags = { Name = \"zenoo-dev-nat-a\" }",
            "tags = { Name = \"zenoo-dev-nat-1\" }",
            "tags",
        ),
        (
            "route_table.public",
            "subnets = [\"subnet.public_a\", \"subnet.public_b\"]",
            "subnets = [\"subnet.public_a\"]",
            "subnets",
        ),
        (
            "security_group.services",
            "cidr_blocks = [\"0.0.0.0/0\"], description = \"AWS APIs and data layer\"",
            "cidr_blocks = [\"10.10.0.0/16\"], description = \"AWS APIs and data layer\"",
            "egress",
        ),
        (
            "s3_bucket.frontend",
            "versioning = true",
            "versioning = false",
            "versioning",
        ),
        (
            "dynamodb_table.hub_sessions",
            "point_in_time_recovery = true",
            "point_in_time_recovery = false",
            "point_in_time_recovery",
        ),
        (
            "ssm_parameter.log_level",
            "value = \"info\"",
            "value = \"debug\"",
            "value",
        ),
        (
            "iam_role.task",
            "description = \"Hub service at run time\"",
            "description = \"Hub service\"",
            "description",
        ),
        (
            "wafv2_web_acl.alb",
            "description = \"zenoo-dev API, ALB\"",
            "description = \"zenoo-dev API, ALB\"\nrate_limit = 1000",
            "rate_limit",
        ),
        (
            "cloudfront_distribution.frontend",
            "web_acl = \"wafv2_web_acl.frontend\"",
            "web_acl = \"wafv2_web_acl.frontend\"\ndefault_root_object = \"app.html\"",
            "default_root_object",
        ),
        (
            "s3_bucket_policy.frontend",
            "Action = \"s3:GetObject\"",
            "Action = [\"s3:GetObject\", \"s3:GetObjectVersion\"]",
            "policy",
        ),
        (
            "iam_oidc_provider.github",
            "6938fd4d98bab03faadb97b34396831e3780aea1",
            "1c58a3a8518e8759bf075b76b750d4f2df264fcd",
            "thumbprints",
        ),
        (
            "route53_zone.main",
            "comment = \"zenoo-dev public zone\"",
            "comment = \"zenoo-dev public DNS zone\"",
            "comment",
        ),
        (
            "acm_certificate.alb",
            "zone = \"route53_zone.main\"\n\n[lb.web]",
            "zone = \"route53_zone.main\"\ntags = { Purpose = \"alb\" }\n\n[lb.web]",
            "tags",
        ),
        (
            "lb.web",
            "security_groups = [\"security_group.alb\", \"security_group.alb_ingress\"]",
            "security_groups = [\"security_group.alb\", \"security_group.alb_ingress\"]\nidle_timeout = 120",
            "idle_timeout",
        ),
        (
            "lb_target_group.api",
            "health_check = { path = \"/health\" }",
            "health_check = { path = \"/healthz\" }",
            "health_check",
        ),
        (
            "lb_listener.https",
            "certificate = \"acm_certificate.alb\"",
            "certificate = \"acm_certificate.alb\"\nssl_policy = \"ELBSecurityPolicy-TLS13-1-3-2021-06\"",
            "ssl_policy",
        ),
        (
            "lb_listener_rule.hub",
            "path_patterns = [\"/hub/*\"]",
            "path_patterns = [\"/hub/*\", \"/hub\"]",
            "path_patterns",
        ),
        (
            "route53_record.api",
            "alias = \"lb.web\"\nevaluate_target_health = true",
            "alias = \"lb.web\"\nevaluate_target_health = false",
            "evaluate_target_health",
        ),
        (
            "ecr_repository.hub",
            "image_tag_mutability = \"IMMUTABLE\"",
            "image_tag_mutability = \"MUTABLE\"",
            "image_tag_mutability",
        ),
        (
            "ecr_repository.hub",
            "scan_on_push = true",
            "scan_on_push = false\nwaivers = [{ rule = \"ZS-ECR-002\", reason = \"scanning off, to test the update\" }]",
            "scan_on_push",
        ),
        (
            "ecs_cluster.main",
            "container_insights = \"enabled\"",
            "container_insights = \"disabled\"",
            "container_insights",
        ),
        (
            "ecs_service.hub",
            "desired_count = 2",
            "desired_count = 3",
            "desired_count",
        ),
        (
            "elasticache_parameter_group.redis",
            "parameters = { maxmemory-policy = \"volatile-lru\" }",
            "parameters = { maxmemory-policy = \"volatile-lru\", timeout = \"300\" }",
            "parameters",
        ),
        (
            "elasticache_user.app",
            "access_string = \"on ~hub:* +@all -@dangerous\"",
            "access_string = \"on ~hub:* +@read +@write\"",
            "access_string",
        ),
        (
            "elasticache_replication_group.redis",
            "node_type = \"cache.t4g.small\"",
            "node_type = \"cache.t4g.medium\"",
            "node_type",
        ),
    ];
    let mut all_edits = l.text.clone();
    for (address, from, to, field) in in_place {
        let g = l.s.write("edited.toml", &edit(&l.text, from, to));
        let plan = zinfra(&["plan", path(&g), "--json", "--detailed-exitcode"], &env)
            .expect(2)
            .json();
        assert_eq!(
            changes(&plan),
            [(address.to_string(), "update".to_string())],
            "editing {address}"
        );
        let r = plan["resource_changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["address"] == *address)
            .unwrap();
        let fields: Vec<&str> = r["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, [*field], "editing {address}");
        all_edits = edit(&all_edits, from, to);
    }
    all_edits
}

/// Secrets are write-only: plans never need them; apply asks for exactly what it writes.
async fn keeps_secrets_write_only(l: &Life) {
    // Secrets are write-only: a plan needs none of their variables and reports no change, whatever
    // the environment holds; a version bump in the file is the change, and never shows the value.
    let plan = zinfra(&["plan", path(&l.f), "--json"], &[])
        .expect(0)
        .json();
    assert_eq!(changes(&plan), [], "a plan without secrets after an apply");
    let plan = zinfra(
        &["plan", path(&l.f)],
        &[("ZENOO_DEV_DB_PASSWORD", "rotated-value-1")],
    )
    .expect(0);
    assert!(plan.stdout.contains("No changes"), "{}", plan.stdout);
    // Reported as set, from the version tags alone.
    assert!(
        plan.stdout
            .contains("Secrets set, unchanged (write-only, never read): ")
            && plan
                .stdout
                .contains("ssm_parameter.db_password.value (version 1)")
            && plan
                .stdout
                .contains("elasticache_user.default.password (version 1)"),
        "{}",
        plan.stdout
    );
    let bumped = l.s.write(
        "bumped.toml",
        &edit(
            &edit(
                &l.text,
                "value_from_env = \"ZENOO_DEV_DB_PASSWORD\"",
                "value_from_env = \"ZENOO_DEV_DB_PASSWORD\"\nvalue_version = 2",
            ),
            "password_from_env = \"ZENOO_DEV_REDIS_DEFAULT_PASSWORD\"",
            "password_from_env = \"ZENOO_DEV_REDIS_DEFAULT_PASSWORD\"\npassword_version = 2",
        ),
    );
    let plan = zinfra(&["plan", path(&bumped)], &[]).expect(0);
    assert!(
        plan.stdout
            .contains("~ value = (sensitive, version 1) -> (sensitive, version 2)"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("~ password = (sensitive, version 1) -> (sensitive, version 2)"),
        "{}",
        plan.stdout
    );
    // Apply asks for exactly the variables it must write, before changing anything.
    let refused = zinfra(
        &["apply", path(&bumped), "--auto-approve"],
        &[("ZENOO_DEV_DB_PASSWORD", "rotated-value-1")],
    )
    .expect(1);
    assert!(
        refused.stderr.contains("ZENOO_DEV_REDIS_DEFAULT_PASSWORD for `password` of elasticache_user.default (version 2: new version)")
            && !refused.stderr.contains("ZENOO_DEV_DB_PASSWORD for"),
        "{}",
        refused.stderr
    );
    assert!(!refused.stderr.contains("rotated-value-1"));
}

/// Replacements say why and dependents follow; returns the web ACL rename used again later.
async fn says_why_it_replaces(l: &Life) -> (&'static str, &'static str) {
    let env = DEV_ENV;
    // Fields that force replacement say why, and dependents follow.
    let g = l.s.write(
        "replace.toml",
        &edit(
            &l.text,
            "cidr_block = \"10.10.11.0/24\"",
            "cidr_block = \"10.10.12.0/24\"",
        ),
    );
    let plan = zinfra(&["plan", path(&g), "--json"], &env).expect(0).json();
    // Dependents follow in graph order; the order among independent ones is the graph's business.
    let mut got = changes(&plan);
    got[1..].sort();
    assert_eq!(
        got,
        [
            ("subnet.private_b".to_string(), "replace".to_string()),
            ("ecs_service.hub".to_string(), "update".to_string()),
            (
                "elasticache_subnet_group.redis".to_string(),
                "update".to_string()
            ),
            // Its Kafka policy names the new cluster.
            ("iam_role.task".to_string(), "update".to_string()),
            ("msk_cluster.events".to_string(), "replace".to_string()),
            ("route_table.private".to_string(), "update".to_string()),
        ]
    );
    assert_eq!(
        plan["resource_changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["address"] == "subnet.private_b")
            .unwrap()["reason"],
        "`cidr_block` cannot be changed in place"
    );
    let human = zinfra(&["plan", path(&g)], &env).expect(0).stdout;
    assert!(human.contains("  # subnet.private_b must be replaced\n  # (`cidr_block` cannot be changed in place)\n-/+ subnet.private_b"), "{human}");
    // MSK: the Kafka version is not changed in place; the plan says so.
    let g3 = l.s.write(
        "replace3.toml",
        &edit(
            &l.text,
            "kafka_version = \"3.6.0\"",
            "kafka_version = \"3.7.x\"",
        ),
    );
    let plan = zinfra(&["plan", path(&g3), "--json"], &env)
        .expect(0)
        .json();
    assert_eq!(
        changes(&plan),
        [
            ("msk_cluster.events".to_string(), "replace".to_string()),
            // Its Kafka policy names the new cluster.
            ("iam_role.task".to_string(), "update".to_string()),
        ]
    );
    assert_eq!(
        plan["resource_changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["address"] == "msk_cluster.events")
            .unwrap()["reason"],
        "`kafka_version` cannot be changed in place"
    );
    let g2 = l.s.write(
        "replace2.toml",
        &edit(
            &l.text,
            "bucket = \"zenoo-dev-frontend-assets\"",
            "bucket = \"zenoo-dev-frontend-assets-2\"",
        ),
    );
    let plan = zinfra(&["plan", path(&g2), "--json"], &env)
        .expect(0)
        .json();
    // The distribution follows the new origin in place; the policy is replaced with its bucket.
    assert_eq!(
        changes(&plan),
        [
            ("s3_bucket.frontend".to_string(), "replace".to_string()),
            (
                "cloudfront_distribution.frontend".to_string(),
                "update".to_string()
            ),
            (
                "s3_bucket_policy.frontend".to_string(),
                "replace".to_string()
            )
        ]
    );
    assert_eq!(
        plan["resource_changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["address"] == "s3_bucket_policy.frontend")
            .unwrap()["reason"],
        "`bucket` refers to s3_bucket.frontend, which is replaced"
    );
    // A web ACL cannot be renamed in place: the plan replaces it, says why, and its association follows.
    let scope_change = (
        "[wafv2_web_acl.alb]\n",
        "[wafv2_web_acl.alb]\nname = \"zenoo-dev-alb-v2\"\n",
    );
    let g3 = l.s.write(
        "replace3.toml",
        &edit(&l.text, scope_change.0, scope_change.1),
    );
    let plan = zinfra(&["plan", path(&g3), "--json"], &env)
        .expect(0)
        .json();
    assert_eq!(
        changes(&plan),
        [
            ("wafv2_web_acl.alb".to_string(), "replace".to_string()),
            (
                "wafv2_web_acl_association.alb".to_string(),
                "replace".to_string()
            )
        ]
    );
    let reason = |a: &str| {
        plan["resource_changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["address"] == a)
            .unwrap()["reason"]
            .clone()
    };
    assert_eq!(
        reason("wafv2_web_acl.alb"),
        "`name` cannot be changed in place"
    );
    assert_eq!(
        reason("wafv2_web_acl_association.alb"),
        "`web_acl` refers to wafv2_web_acl.alb, which is replaced"
    );
    // A record's name is its identity in the zone: a new name is a new record, and the plan says why.
    let g3 = l.s.write(
        "replace3.toml",
        &edit(
            &l.text,
            "name = \"hub.dev.zenoo.example\"",
            "name = \"www.dev.zenoo.example\"",
        ),
    );
    let plan = zinfra(&["plan", path(&g3), "--json"], &env)
        .expect(0)
        .json();
    assert_eq!(
        changes(&plan),
        [("route53_record.hub".to_string(), "replace".to_string())]
    );
    assert_eq!(
        plan["resource_changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["address"] == "route53_record.hub")
            .unwrap()["reason"],
        "`name` cannot be changed in place"
    );
    // A target group's port cannot change in place; the rule forwarding to it follows (plan only: on AWS
    // the old group stays in use until the rule moves, see docs/kinds.md, `lb_target_group`).
    let g4 = l.s.write(
        "replace4.toml",
        &edit(
            &l.text,
            "port = 8080\nhealth_check = { path = \"/health\" }",
            "port = 8081\nhealth_check = { path = \"/health\" }",
        ),
    );
    let plan = zinfra(&["plan", path(&g4), "--json"], &env)
        .expect(0)
        .json();
    let mut got = changes(&plan);
    got.sort();
    assert_eq!(
        got,
        [
            ("lb_listener_rule.api".to_string(), "update".to_string()),
            ("lb_target_group.api".to_string(), "replace".to_string())
        ]
    );
    assert_eq!(
        plan["resource_changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["address"] == "lb_target_group.api")
            .unwrap()["reason"],
        "`port` cannot be changed in place"
    );
    let human = zinfra(&["plan", path(&g3)], &env).expect(0).stdout;
    assert!(
        human.contains(
            "  # route53_record.hub must be replaced\n  # (`name` cannot be changed in place)\n"
        ),
        "{human}"
    );
    // Encryption at rest, the CMK, the subnet group and the id cannot change on a live group: the plan says so.
    let renamed = edit(
        &l.text,
        "description = \"zenoo-dev hub cache\"",
        "description = \"zenoo-dev hub cache\"\nreplication_group_id = \"zenoo-dev-cache\"",
    );
    let g3 = l.s.write("replace3.toml", &renamed);
    let plan = zinfra(&["plan", path(&g3), "--json"], &env)
        .expect(0)
        .json();
    assert_eq!(
        changes(&plan),
        [
            (
                "elasticache_replication_group.redis".to_string(),
                "replace".to_string()
            ),
            // Its cache policy names the new group.
            ("iam_role.task".to_string(), "update".to_string()),
        ]
    );
    assert_eq!(
        plan["resource_changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["address"] == "elasticache_replication_group.redis")
            .unwrap()["reason"],
        "`replication_group_id` cannot be changed in place"
    );

    // A new image tag registers a new task definition revision; the service moves to it in place.
    let g3 = l.s.write(
        "revision.toml",
        &edit(&l.text, "default = \"1.0.0\"", "default = \"1.1.0\""),
    );
    let plan = zinfra(&["plan", path(&g3), "--json"], &env)
        .expect(0)
        .json();
    assert_eq!(
        changes(&plan),
        [
            ("ecs_task_definition.hub".to_string(), "replace".to_string()),
            ("ecs_service.hub".to_string(), "update".to_string())
        ]
    );
    let reason = |plan: &serde_json::Value, a: &str| {
        plan["resource_changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["address"] == a)
            .unwrap()["reason"]
            .clone()
    };
    assert_eq!(
        reason(&plan, "ecs_task_definition.hub"),
        "`container_definitions` cannot be changed in place: task definitions are immutable, so a new revision is registered, the service moves to it, and this revision is deregistered"
    );
    // A repository's encryption cannot change: the plan replaces it and says why.
    let g4 = l.s.write(
        "encryption.toml",
        &edit(
            &l.text,
            "encryption_type = \"AES256\"",
            "encryption_type = \"KMS\"\nkms_key = \"kms_key.data\"",
        ),
    );
    let plan = zinfra(&["plan", path(&g4), "--json"], &env)
        .expect(0)
        .json();
    assert_eq!(
        changes(&plan),
        [
            ("ecr_repository.hub".to_string(), "replace".to_string()),
            ("ecs_task_definition.hub".to_string(), "replace".to_string()),
            ("ecs_service.hub".to_string(), "update".to_string()),
            // Its push policy names the repository's ARN, known again only after the replacement.
            ("iam_role.deploy".to_string(), "update".to_string())
        ]
    );
    assert_eq!(
        reason(&plan, "ecr_repository.hub"),
        "`encryption_type` and `kms_key` cannot be changed in place: ECR sets a repository's encryption only when it is created, so a new repository replaces it (its images are lost unless pushed again)"
    );
    assert_eq!(
        reason(&plan, "ecs_task_definition.hub"),
        "`container_definitions` refers to ecr_repository.hub, which is replaced"
    );
    let human = zinfra(&["plan", path(&g4)], &env).expect(0).stdout;
    assert!(human.contains("  # ecr_repository.hub must be replaced\n  # (`encryption_type` and `kms_key` cannot be changed in place: ECR sets"), "{human}");

    scope_change
}

/// Every in-place edit, the replacements and a new revision in one apply; the next plan is empty.
async fn applies_every_edit_together(
    l: &Life,
    all_edits: String,
    scope_change: (&str, &str),
) -> String {
    let env = DEV_ENV;
    // Apply every in-place edit, the replacement and the new revision together; the next plan is empty.
    let all_edits = edit(&all_edits, "default = \"1.0.0\"", "default = \"1.1.0\"");
    let ecs = aws_sdk_ecs::Client::new(&sdk_config().await);
    let running = |ecs: aws_sdk_ecs::Client| async move {
        ecs.describe_services()
            .cluster("zenoo-dev")
            .services("zenoo-dev-hub")
            .send()
            .await
            .unwrap()
            .services()[0]
            .task_definition()
            .unwrap()
            .to_owned()
    };
    let first_revision = running(ecs.clone()).await;
    let all_edits = edit(
        &all_edits,
        "cidr_block = \"10.10.11.0/24\"",
        "cidr_block = \"10.10.12.0/24\"",
    );
    let all_edits = edit(
        &all_edits,
        "name = \"hub.dev.zenoo.example\"",
        "name = \"www.dev.zenoo.example\"",
    );
    let all_edits = edit(&all_edits, scope_change.0, scope_change.1);
    let all_edits = edit(
        &all_edits,
        "description = \"zenoo-dev hub cache\"",
        "description = \"zenoo-dev hub cache\"\nreplication_group_id = \"zenoo-dev-cache\"",
    );
    let g = l.s.write("all.toml", &all_edits);
    // Two of the replacements lose data: refused until the run names them.
    let refused = zinfra(&["apply", path(&g), "--auto-approve"], &env).expect(1);
    assert!(
        refused.stderr.contains("refusing to apply: the plan deletes or replaces resources that hold data:\n  elasticache_replication_group.redis (zenoo-dev-redis) holds its data\n  msk_cluster.events ("),
        "{}",
        refused.stderr
    );
    // --no-wait: the replaced repository is new and empty, so no image 1.1.0 can start until a
    // pipeline pushes one; waiting for the deployment would fail this run (see
    // image_deploys_wait_for_the_rollout_and_a_failed_one_rolls_back).
    let applied = zinfra(
        &[
            "apply",
            path(&g),
            "--auto-approve",
            "--no-wait",
            "--allow-destroy",
            "elasticache_replication_group.redis",
            "--allow-destroy",
            "msk_cluster.events",
        ],
        &env,
    )
    .expect(0);
    assert!(
        applied
            .stdout
            .contains("Apply complete! Resources: 7 added, 29 changed, 7 destroyed."),
        "{}",
        applied.stdout
    );
    zinfra(&["plan", path(&g), "--detailed-exitcode"], &env).expect(0);
    verify_live_frontend(Some(1000), "app.html").await;
    // The service runs the new revision; the old one is deregistered.
    let second_revision = running(ecs.clone()).await;
    assert_ne!(first_revision, second_revision);
    // Revision numbers count per family across the emulator's life (other tests register it too).
    let number = |arn: &str| arn.rsplit(':').next().unwrap().parse::<u32>().unwrap();
    assert_eq!(
        number(&second_revision),
        number(&first_revision) + 1,
        "{second_revision}"
    );
    let old = ecs
        .describe_task_definition()
        .task_definition(&first_revision)
        .send()
        .await
        .unwrap()
        .task_definition
        .unwrap();
    assert_eq!(
        old.status(),
        Some(&aws_sdk_ecs::types::TaskDefinitionStatus::Inactive)
    );

    all_edits
}

/// A resource dropped from the file is deleted; destroy leaves nothing tagged.
async fn deletes_what_is_dropped_and_destroys(l: &Life, all_edits: &str) {
    let env = DEV_ENV;
    // A resource removed from the file is deleted.
    let g = l.s.write("removed.toml", &edit(all_edits, "[ssm_parameter.log_level]\nname = \"/zenoo/dev/hub/log-level\"\ntype = \"String\"\nvalue = \"debug\"\n", ""));
    let plan = zinfra(&["plan", path(&g), "--json"], &env).expect(0).json();
    assert_eq!(
        changes(&plan),
        [("ssm_parameter.log_level".to_string(), "delete".to_string())]
    );
    assert_eq!(
        plan["resource_changes"].as_array().unwrap().last().unwrap()["reason"],
        "no longer in the stack file"
    );

    // Destroy: nothing tagged for the stack remains, IAM included.
    let destroyed = zinfra(&["destroy", path(&g), "--auto-approve"], &env).expect(0);
    assert!(
        destroyed
            .stdout
            .contains("Destroy complete! Resources: 0 added, 0 changed, 58 destroyed."),
        "{}",
        destroyed.stdout
    );
    assert_eq!(tagged_leftovers("zenoo-dev").await, Vec::<String>::new());
    assert_eq!(
        zones_named("dev.zenoo.example.").await,
        0,
        "the zone remains"
    );
    assert_eq!(frontend_leftovers("zenoo-dev").await, Vec::<String>::new());
    assert_eq!(delivery_leftovers("zenoo-dev").await, Vec::<String>::new());
    assert_nat_released("zenoo-dev").await;
    assert_no_detector().await;
    let iam = aws_sdk_iam::Client::new(&sdk_config().await);
    for role in [
        "zenoo-dev-github-deploy",
        "zenoo-dev-task-execution",
        "zenoo-dev-hub-task",
    ] {
        assert!(
            iam.get_role().role_name(role).send().await.is_err(),
            "{role} remains"
        );
    }
    let plan = zinfra(&["plan", path(&l.f), "--json"], &env)
        .expect(0)
        .json();
    assert_eq!(plan["summary"]["add"], 58);
    let ec = aws_sdk_elasticache::Client::new(&sdk_config().await);
    for id in ["zenoo-dev-redis", "zenoo-dev-cache"] {
        assert!(
            ec.describe_replication_groups()
                .replication_group_id(id)
                .send()
                .await
                .is_err(),
            "replication group {id} remains"
        );
    }
    let nothing = zinfra(&["destroy", path(&l.f), "--auto-approve"], &env).expect(0);
    assert!(
        nothing.stdout.starts_with("Nothing to destroy"),
        "{}",
        nothing.stdout
    );
}

/// The hub's log group exists with the file's retention, tagged for the stack.
async fn verify_log_group(name: &str, days: i32) {
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk_config().await);
    let out = logs
        .describe_log_groups()
        .log_group_name_prefix(name)
        .send()
        .await
        .unwrap();
    let g = out
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(name))
        .unwrap_or_else(|| panic!("no log group {name}"));
    assert_eq!(g.retention_in_days(), Some(days));
    let tags = logs
        .list_tags_for_resource()
        .resource_arn(g.log_group_arn().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags.tags()
            .and_then(|t| t.get("zinfra:address"))
            .map(String::as_str),
        Some("cloudwatch_log_group.hub")
    );
}

/// After destroy: the stack's region has no GuardDuty detector, no Security Hub, no reference MSK
/// cluster and no published bootstrap string left (only the reference stacks, which
/// take turns, create one in us-east-1; the driver test uses its own region).
async fn assert_no_detector() {
    let conf = sdk_config().await;
    let gd = aws_sdk_guardduty::Client::new(&conf);
    let ids = gd.list_detectors().send().await.unwrap();
    assert!(ids.detector_ids().is_empty(), "{ids:?}");
    let sh = aws_sdk_securityhub::Client::new(&conf);
    assert!(
        sh.describe_hub().send().await.is_err(),
        "Security Hub still enabled"
    );
    // No reference-stack MSK cluster, and no bootstrap-broker parameter published by one.
    let msk = aws_sdk_kafka::Client::new(&conf);
    let left = msk.list_clusters().send().await.unwrap();
    assert!(
        !left
            .cluster_info_list()
            .iter()
            .any(|c| c.cluster_name().is_some_and(|n| n.starts_with("zenoo-"))),
        "MSK clusters left: {left:?}"
    );
    let ssm = aws_sdk_ssm::Client::new(&conf);
    for env in ["dev", "prod"] {
        let name = format!("/zenoo/{env}/kafka/bootstrap-brokers");
        assert!(
            ssm.get_parameter().name(&name).send().await.is_err(),
            "{name} left"
        );
    }
}

/// After destroy: no NAT gateway of the stack is left running and its Elastic IPs are released.
async fn assert_nat_released(stack: &str) {
    let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
    let by_stack = || {
        Filter::builder()
            .name("tag:zinfra:stack")
            .values(stack)
            .build()
    };
    let eips = ec2
        .describe_addresses()
        .filters(by_stack())
        .send()
        .await
        .unwrap();
    assert!(eips.addresses().is_empty(), "addresses left: {eips:?}");
    let nats = ec2
        .describe_nat_gateways()
        .filter(by_stack())
        .send()
        .await
        .unwrap();
    for n in nats.nat_gateways() {
        let mine = n
            .tags()
            .iter()
            .any(|t| t.key() == Some("zinfra:stack") && t.value() == Some(stack));
        assert!(
            !mine || n.state() == Some(&aws_sdk_ec2::types::NatGatewayState::Deleted),
            "NAT gateway left: {n:?}"
        );
    }
}

/// Prod: one NAT gateway per AZ, each private subnet routed through the one in its own AZ.
async fn verify_prod_nat_per_az() {
    let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
    let by_stack = Filter::builder()
        .name("tag:zinfra:stack")
        .values("zenoo-prod")
        .build();
    let subnets = ec2
        .describe_subnets()
        .filters(by_stack.clone())
        .send()
        .await
        .unwrap();
    let az_of = |id: &str| {
        subnets
            .subnets()
            .iter()
            .find(|s| s.subnet_id() == Some(id))
            .and_then(|s| s.availability_zone())
            .unwrap()
            .to_owned()
    };
    let rts = ec2
        .describe_route_tables()
        .filters(by_stack)
        .send()
        .await
        .unwrap();
    let mut azs = Vec::new();
    for z in ["a", "b", "c"] {
        let rt = rts
            .route_tables()
            .iter()
            .find(|r| {
                r.tags().iter().any(|t| {
                    t.key() == Some("zinfra:address")
                        && t.value() == Some(format!("route_table.private_{z}").as_str())
                })
            })
            .unwrap();
        let nat_id = rt
            .routes()
            .iter()
            .find_map(|r| r.nat_gateway_id())
            .expect("private route through a NAT gateway");
        let nats = ec2
            .describe_nat_gateways()
            .nat_gateway_ids(nat_id)
            .send()
            .await
            .unwrap();
        let nat_az = az_of(nats.nat_gateways()[0].subnet_id().unwrap());
        let private_az = az_of(rt.associations()[0].subnet_id().unwrap());
        assert_eq!(nat_az, private_az, "route_table.private_{z} leaves its AZ");
        azs.push(nat_az);
    }
    azs.dedup();
    assert_eq!(azs.len(), 3, "one NAT gateway per AZ");
}

/// The seed's controls, checked with the SDK directly rather than through zinfra.
async fn verify_live_properties() {
    let conf = sdk_config().await;
    verify_redis(&conf).await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    );
    let bucket = "zenoo-dev-frontend-assets";
    let enc = s3
        .get_bucket_encryption()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
    assert_eq!(
        rule.apply_server_side_encryption_by_default()
            .unwrap()
            .sse_algorithm()
            .as_str(),
        "AES256"
    );
    let pab = s3
        .get_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let pab = pab.public_access_block_configuration().unwrap();
    assert_eq!(
        (
            pab.block_public_acls(),
            pab.ignore_public_acls(),
            pab.block_public_policy(),
            pab.restrict_public_buckets()
        ),
        (Some(true), Some(true), Some(true), Some(true))
    );

    let kms = aws_sdk_kms::Client::new(&conf);
    let aliases = kms.list_aliases().send().await.unwrap();
    let key_id = aliases
        .aliases()
        .iter()
        .find(|a| a.alias_name() == Some("alias/zenoo-dev-data"))
        .unwrap()
        .target_key_id()
        .unwrap()
        .to_owned();
    assert!(
        kms.get_key_rotation_status()
            .key_id(&key_id)
            .send()
            .await
            .unwrap()
            .key_rotation_enabled()
    );
    let key_arn = kms
        .describe_key()
        .key_id(&key_id)
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();

    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    let t = ddb
        .describe_table()
        .table_name("zenoo-dev-hub-sessions")
        .send()
        .await
        .unwrap();
    let sse = t.table().unwrap().sse_description().unwrap();
    assert_eq!(sse.kms_master_key_arn(), Some(key_arn.as_str()));
    let ttl = ddb
        .describe_time_to_live()
        .table_name("zenoo-dev-hub-sessions")
        .send()
        .await
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description().unwrap().attribute_name(),
        Some("expires_at")
    );
    let pitr = ddb
        .describe_continuous_backups()
        .table_name("zenoo-dev-hub-sessions")
        .send()
        .await
        .unwrap();
    assert_eq!(
        pitr.continuous_backups_description()
            .unwrap()
            .point_in_time_recovery_description()
            .unwrap()
            .point_in_time_recovery_status(),
        Some(&aws_sdk_dynamodb::types::PointInTimeRecoveryStatus::Enabled)
    );

    let ssm = aws_sdk_ssm::Client::new(&conf);
    let p = ssm
        .get_parameter()
        .name("/zenoo/dev/hub/db-password")
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    let p = p.parameter().unwrap();
    assert_eq!(
        p.r#type(),
        Some(&aws_sdk_ssm::types::ParameterType::SecureString)
    );
    assert_eq!(p.value(), Some(SECRET.1));
    let described = ssm
        .describe_parameters()
        .parameter_filters(
            aws_sdk_ssm::types::ParameterStringFilter::builder()
                .key("Name")
                .values("/zenoo/dev/hub/db-password")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(described.parameters()[0].key_id(), Some(key_arn.as_str()));

    let ec2 = aws_sdk_ec2::Client::new(&conf);
    let tagged = |_: &str| {
        Filter::builder()
            .name("tag:zinfra:stack")
            .values("zenoo-dev")
            .build()
    };
    let subnets = ec2
        .describe_subnets()
        .filters(tagged(""))
        .send()
        .await
        .unwrap();
    assert_eq!(subnets.subnets().len(), 4);
    assert!(
        subnets
            .subnets()
            .iter()
            .all(|s| s.map_public_ip_on_launch() == Some(false))
    );
    let sgs = ec2
        .describe_security_groups()
        .filters(tagged(""))
        .send()
        .await
        .unwrap();
    let alb = sgs
        .security_groups()
        .iter()
        .find(|g| g.group_name() == Some("zenoo-dev-alb"))
        .unwrap();
    // Only the declared egress (to services on 8080): AWS's default allow-all egress is gone.
    assert_eq!(alb.ip_permissions_egress().len(), 1);
    assert_eq!(alb.ip_permissions_egress()[0].from_port(), Some(8080));
    let data = sgs
        .security_groups()
        .iter()
        .find(|g| g.group_name() == Some("zenoo-dev-data"))
        .unwrap();
    assert!(
        data.ip_permissions()
            .iter()
            .all(|p| p.ip_ranges().is_empty()),
        "data layer open to CIDRs"
    );
    let rts = ec2
        .describe_route_tables()
        .filters(tagged(""))
        .send()
        .await
        .unwrap();
    let igw_routes = |name: &str| {
        let rt = rts
            .route_tables()
            .iter()
            .find(|r| {
                r.tags()
                    .iter()
                    .any(|t| t.key() == Some("zinfra:address") && t.value() == Some(name))
            })
            .unwrap();
        rt.routes()
            .iter()
            .filter(|r| r.gateway_id().is_some_and(|g| g.starts_with("igw-")))
            .count()
    };
    assert_eq!(igw_routes("route_table.public"), 1);
    // MSK: brokers only in the private subnets, behind a group that admits only the services' group on
    // 9098; TLS between clients and brokers and inside the cluster; the stack's CMK; IAM auth only.
    let msk = aws_sdk_kafka::Client::new(&conf);
    let clusters = msk
        .list_clusters()
        .cluster_name_filter("zenoo-dev-events")
        .send()
        .await
        .unwrap();
    assert_eq!(clusters.cluster_info_list().len(), 1);
    let c = msk
        .describe_cluster()
        .cluster_arn(clusters.cluster_info_list()[0].cluster_arn().unwrap())
        .send()
        .await
        .unwrap();
    let c = c.cluster_info().unwrap();
    assert_eq!(c.state().map(|s| s.as_str()), Some("ACTIVE"));
    // The hub's task role may use the cluster over IAM: connect, its topics, its consumer groups.
    let cluster_arn = c.cluster_arn().unwrap();
    let (head, path) = cluster_arn.split_once(":cluster/").unwrap();
    let events = aws_sdk_iam::Client::new(&conf)
        .get_role_policy()
        .role_name("zenoo-dev-hub-task")
        .policy_name("events")
        .send()
        .await
        .unwrap();
    let doc: serde_json::Value =
        serde_json::from_str(&urlencoding::decode(events.policy_document()).unwrap()).unwrap();
    assert_eq!(
        doc,
        serde_json::json!({ "Version": "2012-10-17", "Statement": [
            { "Effect": "Allow", "Action": ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"], "Resource": cluster_arn },
            { "Effect": "Allow", "Action": ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData", "kafka-cluster:WriteData"], "Resource": format!("{head}:topic/{path}/hub.*") },
            { "Effect": "Allow", "Action": ["kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"], "Resource": format!("{head}:group/{path}/hub-*") },
        ]})
    );
    let nodes = c.broker_node_group_info().unwrap();
    let broker_subnets = ec2
        .describe_subnets()
        .set_subnet_ids(Some(nodes.client_subnets().to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(broker_subnets.subnets().len(), 2);
    for sn in broker_subnets.subnets() {
        assert!(
            sn.tags()
                .iter()
                .any(|t| t.key() == Some("zinfra:tier") && t.value() == Some("private")),
            "MSK broker in a non-private subnet {:?}",
            sn.subnet_id()
        );
    }
    let kafka_sg = ec2
        .describe_security_groups()
        .set_group_ids(Some(nodes.security_groups().to_vec()))
        .send()
        .await
        .unwrap();
    let services_sg = ec2
        .describe_security_groups()
        .filters(
            Filter::builder()
                .name("group-name")
                .values("zenoo-dev-services")
                .build(),
        )
        .send()
        .await
        .unwrap()
        .security_groups()[0]
        .group_id()
        .unwrap()
        .to_owned();
    let perms = kafka_sg.security_groups()[0].ip_permissions();
    assert_eq!(perms.len(), 1, "{perms:?}");
    assert_eq!(
        (perms[0].from_port(), perms[0].to_port()),
        (Some(9098), Some(9098))
    );
    assert!(perms[0].ip_ranges().is_empty() && perms[0].ipv6_ranges().is_empty());
    assert_eq!(
        perms[0]
            .user_id_group_pairs()
            .iter()
            .map(|p| p.group_id().unwrap())
            .collect::<Vec<_>>(),
        [services_sg.as_str()]
    );
    let enc = c.encryption_info().unwrap();
    let transit = enc.encryption_in_transit().unwrap();
    assert_eq!(transit.client_broker().map(|c| c.as_str()), Some("TLS"));
    assert_eq!(transit.in_cluster(), Some(true));
    let kms = aws_sdk_kms::Client::new(&conf);
    let key = kms
        .describe_key()
        .key_id("alias/zenoo-dev-data")
        .send()
        .await
        .unwrap();
    assert_eq!(
        enc.encryption_at_rest().unwrap().data_volume_kms_key_id(),
        key.key_metadata().map(|m| m.arn().unwrap()),
        "MSK not encrypted with the stack's CMK"
    );
    let auth = c.client_authentication().unwrap();
    assert_eq!(auth.sasl().unwrap().iam().unwrap().enabled(), Some(true));
    assert_eq!(auth.unauthenticated().unwrap().enabled(), Some(false));
    let boot = msk
        .get_bootstrap_brokers()
        .cluster_arn(c.cluster_arn().unwrap())
        .send()
        .await
        .unwrap();
    assert!(
        boot.bootstrap_broker_string_sasl_iam()
            .unwrap()
            .contains(":9098")
    );
    let ssm = aws_sdk_ssm::Client::new(&conf);
    let published = ssm
        .get_parameter()
        .name("/zenoo/dev/kafka/bootstrap-brokers")
        .send()
        .await
        .unwrap();
    assert_eq!(
        published.parameter().and_then(|p| p.value()),
        boot.bootstrap_broker_string_sasl_iam()
    );

    // Threat detection: the region's GuardDuty detector is on and publishes every 15 minutes.
    let gd = aws_sdk_guardduty::Client::new(&conf);
    let ids = gd.list_detectors().send().await.unwrap();
    assert_eq!(ids.detector_ids().len(), 1);
    let det = gd
        .get_detector()
        .detector_id(&ids.detector_ids()[0])
        .send()
        .await
        .unwrap();
    assert_eq!(det.status().map(|s| s.as_str()), Some("ENABLED"));
    assert_eq!(
        det.finding_publishing_frequency().map(|f| f.as_str()),
        Some("FIFTEEN_MINUTES")
    );
    // Security Hub on, subscribed to exactly the Foundational Security Best Practices standard.
    let sh = aws_sdk_securityhub::Client::new(&conf);
    sh.describe_hub()
        .send()
        .await
        .expect("Security Hub enabled");
    let subs = sh.get_enabled_standards().send().await.unwrap();
    let arns: Vec<_> = subs
        .standards_subscriptions()
        .iter()
        .filter_map(|s| s.standards_arn())
        .collect();
    assert_eq!(
        arns,
        [
            "arn:aws:securityhub:us-east-1::standards/aws-foundational-security-best-practices/v/1.0.0"
        ]
    );
    // The private subnets' way out is the NAT gateway: available, public, in a public subnet.
    let private = rts
        .route_tables()
        .iter()
        .find(|r| {
            r.tags().iter().any(|t| {
                t.key() == Some("zinfra:address") && t.value() == Some("route_table.private")
            })
        })
        .unwrap();
    let nat_id = private
        .routes()
        .iter()
        .find(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
        .and_then(|r| r.nat_gateway_id())
        .expect("private default route through the NAT gateway")
        .to_owned();
    let nats = ec2
        .describe_nat_gateways()
        .nat_gateway_ids(&nat_id)
        .send()
        .await
        .unwrap();
    let nat = &nats.nat_gateways()[0];
    assert_eq!(
        nat.state(),
        Some(&aws_sdk_ec2::types::NatGatewayState::Available)
    );
    assert_eq!(nat.connectivity_type().map(|c| c.as_str()), Some("public"));
    let nat_subnet = ec2
        .describe_subnets()
        .subnet_ids(nat.subnet_id().unwrap())
        .send()
        .await
        .unwrap();
    assert!(
        nat_subnet.subnets()[0]
            .tags()
            .iter()
            .any(|t| t.key() == Some("zinfra:address") && t.value() == Some("subnet.public_a")),
        "the NAT gateway sits in the public subnet"
    );
    assert!(nat.nat_gateway_addresses()[0].allocation_id().is_some());
    assert_eq!(
        igw_routes("route_table.private"),
        0,
        "private subnets must not route to the internet gateway"
    );

    let iam = aws_sdk_iam::Client::new(&conf);
    let attached = iam
        .list_attached_role_policies()
        .role_name("zenoo-dev-task-execution")
        .send()
        .await
        .unwrap();
    assert_eq!(
        attached.attached_policies()[0].policy_name(),
        Some("AmazonECSTaskExecutionRolePolicy")
    );
    let inline = iam
        .get_role_policy()
        .role_name("zenoo-dev-task-execution")
        .policy_name("read-config")
        .send()
        .await
        .unwrap();
    let doc: serde_json::Value =
        serde_json::from_str(&urlencoding::decode(inline.policy_document()).unwrap()).unwrap();
    assert_eq!(
        doc["Statement"][0]["Resource"][1],
        key_arn.as_str(),
        "policy references resolve to ARNs"
    );
    let role = iam
        .get_role()
        .role_name("zenoo-dev-github-deploy")
        .send()
        .await
        .unwrap();
    let trust: serde_json::Value = serde_json::from_str(
        &urlencoding::decode(role.role().unwrap().assume_role_policy_document().unwrap()).unwrap(),
    )
    .unwrap();
    assert!(
        trust["Statement"][0]["Principal"]["Federated"]
            .as_str()
            .unwrap()
            .ends_with(":oidc-provider/token.actions.githubusercontent.com")
    );
    verify_delivery("zenoo-dev", &trust).await;
}

/// Delivery controls: the hub's ECR repository, the ECS cluster, task definition and service, and the
/// CI/CD roles, checked with the SDK directly.
async fn verify_delivery(stack: &str, trust: &serde_json::Value) {
    let conf = sdk_config().await;
    let decode = |d: &str| -> serde_json::Value {
        serde_json::from_str(&urlencoding::decode(d).unwrap()).unwrap()
    };

    // The deploy role: only the named repository's main branch and environment, tokens for STS.
    let cond = &trust["Statement"][0]["Condition"]["StringEquals"];
    assert_eq!(
        cond["token.actions.githubusercontent.com:aud"],
        "sts.amazonaws.com"
    );
    let subs = cond["token.actions.githubusercontent.com:sub"]
        .as_array()
        .unwrap();
    assert!(
        subs.iter()
            .all(|s| s.as_str().unwrap().starts_with("repo:zenoo/hub:")),
        "{subs:?}"
    );
    assert!(subs.contains(&serde_json::json!("repo:zenoo/hub:ref:refs/heads/main")));
    assert!(
        !subs.iter().any(|s| s.as_str().unwrap().contains('*')),
        "no wildcard subjects: {subs:?}"
    );

    let ecr = aws_sdk_ecr::Client::new(&conf);
    let repo = ecr
        .describe_repositories()
        .repository_names(format!("{stack}/hub"))
        .send()
        .await
        .unwrap()
        .repositories()[0]
        .clone();
    assert_eq!(
        repo.image_tag_mutability(),
        Some(&aws_sdk_ecr::types::ImageTagMutability::Immutable)
    );
    assert!(repo.image_scanning_configuration().unwrap().scan_on_push());
    assert_eq!(
        repo.encryption_configuration().unwrap().encryption_type(),
        &aws_sdk_ecr::types::EncryptionType::Aes256
    );
    let repo_arn = repo.repository_arn().unwrap();

    let iam = aws_sdk_iam::Client::new(&conf);
    let role_arn = |name: &str| {
        let iam = iam.clone();
        let name = name.to_owned();
        async move {
            iam.get_role()
                .role_name(name)
                .send()
                .await
                .unwrap()
                .role()
                .unwrap()
                .arn()
                .to_owned()
        }
    };
    let exec_arn = role_arn(&format!("{stack}-task-execution")).await;
    let task_arn = role_arn(&format!("{stack}-hub-task")).await;
    let policy = |name: &'static str| {
        let iam = iam.clone();
        let role = format!("{stack}-github-deploy");
        async move {
            let p = iam
                .get_role_policy()
                .role_name(role)
                .policy_name(name)
                .send()
                .await
                .unwrap();
            decode(p.policy_document())
        }
    };
    let push = policy("ecr-push").await;
    assert_eq!(
        push["Statement"][1]["Resource"], repo_arn,
        "push to the stack's repository only"
    );
    let deploy = policy("ecs-deploy").await;
    let pass = &deploy["Statement"][2];
    assert_eq!(pass["Action"], "iam:PassRole");
    assert_eq!(
        pass["Resource"],
        serde_json::json!([exec_arn, task_arn]),
        "PassRole on exactly the two task roles"
    );
    assert_eq!(
        pass["Condition"]["StringEquals"]["iam:PassedToService"],
        "ecs-tasks.amazonaws.com"
    );

    let ecs = aws_sdk_ecs::Client::new(&conf);
    let cluster = ecs
        .describe_clusters()
        .clusters(stack)
        .include(aws_sdk_ecs::types::ClusterField::Settings)
        .send()
        .await
        .unwrap()
        .clusters()[0]
        .clone();
    assert_eq!(cluster.status(), Some("ACTIVE"));
    assert!(
        cluster
            .settings()
            .iter()
            .any(|s| s.value() == Some("enabled")),
        "Container Insights on"
    );
    let service = ecs
        .describe_services()
        .cluster(stack)
        .services(format!("{stack}-hub"))
        .send()
        .await
        .unwrap()
        .services()[0]
        .clone();
    assert_eq!(
        deploy["Statement"][1]["Resource"],
        service.service_arn().unwrap(),
        "UpdateService on the stack's service only"
    );
    assert_eq!(
        service.launch_type(),
        Some(&aws_sdk_ecs::types::LaunchType::Fargate)
    );
    let vpc = service
        .network_configuration()
        .unwrap()
        .awsvpc_configuration()
        .unwrap();
    assert_eq!(
        vpc.assign_public_ip(),
        Some(&aws_sdk_ecs::types::AssignPublicIp::Disabled)
    );
    let ec2 = aws_sdk_ec2::Client::new(&conf);
    let subnets = ec2
        .describe_subnets()
        .set_subnet_ids(Some(vpc.subnets().to_vec()))
        .send()
        .await
        .unwrap();
    assert!(!subnets.subnets().is_empty());
    for s in subnets.subnets() {
        assert!(
            s.tags().iter().any(|t| t.key() == Some("zinfra:address")
                && t.value().unwrap().starts_with("subnet.private_")),
            "service subnets are private"
        );
    }
    let breaker = service
        .deployment_configuration()
        .unwrap()
        .deployment_circuit_breaker()
        .unwrap();
    assert!(
        breaker.enable() && breaker.rollback(),
        "circuit breaker with rollback"
    );
    let td = ecs
        .describe_task_definition()
        .task_definition(service.task_definition().unwrap())
        .send()
        .await
        .unwrap()
        .task_definition
        .unwrap();
    assert_eq!(td.family(), Some(format!("{stack}-hub").as_str()));
    assert_eq!(
        td.requires_compatibilities(),
        [aws_sdk_ecs::types::Compatibility::Fargate]
    );
    assert_eq!(
        td.network_mode(),
        Some(&aws_sdk_ecs::types::NetworkMode::Awsvpc)
    );
    assert_eq!(td.execution_role_arn(), Some(exec_arn.as_str()));
    assert_eq!(td.task_role_arn(), Some(task_arn.as_str()));
    assert_ne!(exec_arn, task_arn);
    let c = &td.container_definitions()[0];
    assert!(
        c.image()
            .unwrap()
            .starts_with(&format!("{}:", repo.repository_uri().unwrap())),
        "{:?}",
        c.image()
    );
    let ssm = aws_sdk_ssm::Client::new(&conf);
    let parameter = ssm
        .get_parameter()
        .name(format!(
            "/zenoo/{}/hub/db-password",
            &stack["zenoo-".len()..]
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(c.secrets()[0].name(), "DB_PASSWORD");
    assert_eq!(
        c.secrets()[0].value_from(),
        parameter.parameter().unwrap().arn().unwrap(),
        "the secret comes from the SSM parameter"
    );
    assert!(
        c.environment()
            .iter()
            .all(|e| e.name() != Some("DB_PASSWORD"))
    );
}

/// What is left of the stack's delivery resources, which the tagging API does not list on moto.
async fn delivery_leftovers(stack: &str) -> Vec<String> {
    let conf = sdk_config().await;
    let mut left = Vec::new();
    let ecr = aws_sdk_ecr::Client::new(&conf);
    if ecr
        .describe_repositories()
        .repository_names(format!("{stack}/hub"))
        .send()
        .await
        .is_ok()
    {
        left.push(format!("ecr repository {stack}/hub"));
    }
    let ecs = aws_sdk_ecs::Client::new(&conf);
    let clusters = ecs
        .describe_clusters()
        .clusters(stack)
        .send()
        .await
        .unwrap();
    left.extend(
        clusters
            .clusters()
            .iter()
            .filter(|c| c.status() != Some("INACTIVE"))
            .map(|c| format!("cluster {:?}", c.cluster_name())),
    );
    let tds = ecs
        .list_task_definitions()
        .family_prefix(format!("{stack}-hub"))
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .send()
        .await
        .unwrap();
    left.extend(tds.task_definition_arns().iter().cloned());
    left
}

/// The frontend's controls on CloudFront, WAF and S3 directly. `alb_rate_limit`: the ALB ACL's rate
/// limit when the test has moved it to CLOUDFRONT scope with a new limit, else it is REGIONAL at 2000.
async fn verify_live_frontend(alb_rate_limit: Option<i64>, root_object: &str) {
    let conf = sdk_config().await;
    let tagging = aws_sdk_resourcegroupstagging::Client::new(&conf);
    let found = tagging
        .get_resources()
        .tag_filters(
            aws_sdk_resourcegroupstagging::types::TagFilter::builder()
                .key("zinfra:address")
                .values("cloudfront_distribution.frontend")
                .build(),
        )
        .tag_filters(
            aws_sdk_resourcegroupstagging::types::TagFilter::builder()
                .key("zinfra:stack")
                .values("zenoo-dev")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let arns: Vec<&str> = found
        .resource_tag_mapping_list()
        .iter()
        .filter_map(|m| m.resource_arn())
        .collect();
    assert_eq!(arns.len(), 1, "{arns:?}");
    let dist_arn = arns[0].to_owned();
    let id = dist_arn.rsplit('/').next().unwrap();

    // Web ACLs: the CLOUDFRONT one (us-east-1, global) and the ALB's, each with the baseline rules.
    let waf = aws_sdk_wafv2::Client::new(&conf);
    let acl = |name: &'static str, scope: aws_sdk_wafv2::types::Scope| {
        let waf = waf.clone();
        async move {
            let list = waf
                .list_web_acls()
                .scope(scope.clone())
                .send()
                .await
                .unwrap();
            let s = list
                .web_acls()
                .iter()
                .find(|a| a.name() == Some(name))
                .unwrap_or_else(|| panic!("web ACL {name}"))
                .clone();
            waf.get_web_acl()
                .name(name)
                .scope(scope)
                .id(s.id().unwrap())
                .send()
                .await
                .unwrap()
                .web_acl
                .unwrap()
        }
    };
    let cdn_acl = acl(
        "zenoo-dev-frontend",
        aws_sdk_wafv2::types::Scope::Cloudfront,
    )
    .await;
    assert!(
        cdn_acl.arn().contains(":global/webacl/"),
        "{}",
        cdn_acl.arn()
    );
    crate::drivers::wafv2::assert_baseline(&cdn_acl, 2000);
    // After the edits the ALB's ACL was replaced under a new name.
    let alb_name = match alb_rate_limit {
        Some(_) => "zenoo-dev-alb-v2",
        None => "zenoo-dev-alb",
    };
    let alb_acl = acl(alb_name, aws_sdk_wafv2::types::Scope::Regional).await;
    crate::drivers::wafv2::assert_baseline(&alb_acl, alb_rate_limit.unwrap_or(2000));

    // The distribution: HTTPS only, the CLOUDFRONT web ACL, the private bucket as its origin.
    let cf = aws_sdk_cloudfront::Client::new(&conf);
    let got = cf.get_distribution().id(id).send().await.unwrap();
    let d = got.distribution().unwrap();
    assert_eq!(d.status(), "Deployed");
    let c = d.distribution_config().unwrap();
    assert!(c.enabled());
    assert_eq!(c.web_acl_id(), Some(cdn_acl.arn()));
    assert_eq!(c.default_root_object(), Some(root_object));
    let b = c.default_cache_behavior().unwrap();
    assert_eq!(
        b.viewer_protocol_policy(),
        &aws_sdk_cloudfront::types::ViewerProtocolPolicy::RedirectToHttps
    );
    assert_eq!(b.compress(), Some(true));
    // Its name, its us-east-1 ACM certificate, TLS 1.2 or later.
    assert_eq!(
        c.aliases().map(|a| a.items().to_vec()),
        Some(vec!["app.dev.zenoo.example".to_owned()])
    );
    let vc = c.viewer_certificate().unwrap();
    assert!(
        vc.acm_certificate_arn()
            .is_some_and(|a| a.starts_with("arn:aws:acm:us-east-1:")),
        "{vc:?}"
    );
    assert_eq!(
        vc.minimum_protocol_version(),
        Some(&aws_sdk_cloudfront::types::MinimumProtocolVersion::TlSv122021)
    );
    assert_eq!(
        vc.ssl_support_method(),
        Some(&aws_sdk_cloudfront::types::SslSupportMethod::SniOnly)
    );
    let origin = &c.origins().unwrap().items()[0];
    assert_eq!(
        origin.domain_name(),
        "zenoo-dev-frontend-assets.s3.us-east-1.amazonaws.com"
    );
    // Reached through an OAC, never an origin access identity (moto drops the OAC id on read:
    // tests/EMULATOR_GAPS.md).
    assert_eq!(
        origin
            .s3_origin_config()
            .map(|s| s.origin_access_identity())
            .unwrap_or_default(),
        ""
    );
    // The API behind the same distribution: the ALB by its `api` record, HTTPS and TLS 1.2 only, for
    // `/api/*`, not cached, every viewer header but Host.
    let api = c
        .origins()
        .unwrap()
        .items()
        .iter()
        .find(|o| o.id() == "api")
        .expect("the ALB origin");
    assert_eq!(api.domain_name(), "api.dev.zenoo.example");
    let custom = api.custom_origin_config().expect("a custom origin");
    assert_eq!(
        custom.origin_protocol_policy(),
        &aws_sdk_cloudfront::types::OriginProtocolPolicy::HttpsOnly
    );
    assert_eq!(
        custom.origin_ssl_protocols().unwrap().items(),
        [aws_sdk_cloudfront::types::SslProtocol::TlSv12]
    );
    let behaviors = c.cache_behaviors().unwrap().items();
    assert_eq!(behaviors.len(), 1);
    assert_eq!(
        (
            behaviors[0].path_pattern(),
            behaviors[0].target_origin_id(),
            behaviors[0].cache_policy_id(),
            behaviors[0].origin_request_policy_id()
        ),
        (
            "/api/*",
            "api",
            Some("4135ea2d-6df8-44a3-9df3-4b5a84be39ad"),
            Some("b689b0a8-53d0-40ab-baf2-68738e2966ac")
        )
    );
    assert_eq!(
        behaviors[0].viewer_protocol_policy(),
        &aws_sdk_cloudfront::types::ViewerProtocolPolicy::RedirectToHttps
    );
    let oacs = cf.list_origin_access_controls().send().await.unwrap();
    let oac = oacs
        .origin_access_control_list()
        .unwrap()
        .items()
        .iter()
        .find(|o| o.name() == "zenoo-dev-frontend")
        .expect("the frontend's origin access control");
    assert_eq!(
        (
            oac.signing_protocol().as_str(),
            oac.signing_behavior().as_str(),
            oac.origin_access_control_origin_type().as_str()
        ),
        ("sigv4", "always", "s3")
    );

    // The bucket: readable only by that distribution, through CloudFront's service principal.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    );
    let policy = s3
        .get_bucket_policy()
        .bucket("zenoo-dev-frontend-assets")
        .send()
        .await
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    let statements = doc["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 1);
    let st = &statements[0];
    assert_eq!(st["Effect"], "Allow");
    assert_eq!(
        st["Principal"],
        serde_json::json!({"Service": "cloudfront.amazonaws.com"})
    );
    assert_eq!(st["Resource"], "arn:aws:s3:::zenoo-dev-frontend-assets/*");
    assert_eq!(
        st["Condition"]["StringEquals"]["AWS:SourceArn"],
        dist_arn.as_str()
    );
}

/// Web ACLs and origin access controls of the stack still in AWS (moto's tagging API lists neither).
async fn frontend_leftovers(stack: &str) -> Vec<String> {
    let conf = sdk_config().await;
    let waf = aws_sdk_wafv2::Client::new(&conf);
    let mut left = Vec::new();
    for scope in [
        aws_sdk_wafv2::types::Scope::Regional,
        aws_sdk_wafv2::types::Scope::Cloudfront,
    ] {
        let list = waf.list_web_acls().scope(scope).send().await.unwrap();
        left.extend(
            list.web_acls()
                .iter()
                .filter(|a| {
                    a.name()
                        .is_some_and(|n| n.starts_with(&format!("{stack}-")))
                })
                .filter_map(|a| a.arn().map(str::to_owned)),
        );
    }
    let cf = aws_sdk_cloudfront::Client::new(&conf);
    let oacs = cf.list_origin_access_controls().send().await.unwrap();
    left.extend(
        oacs.origin_access_control_list()
            .map(|l| l.items())
            .unwrap_or_default()
            .iter()
            .filter(|o| o.description().starts_with(&format!("zinfra {stack} ")))
            .map(|o| format!("origin access control {}", o.name())),
    );
    left
}

const SMALL: &str = "[stack]
name = \"STACK\"
environment = \"test\"
region = \"us-east-1\"
waivers = [{ rule = \"ZS-IDS-001\", reason = \"a test network\" }, { rule = \"ZS-IDS-002\", reason = \"a test network\" }]

[vpc.main]
cidr_block = \"10.0.0.0/16\"
waivers = [{ rule = \"ZS-NET-001\", reason = \"a test network: one private subnet is enough\" }]

[subnet.a]
vpc = \"vpc.main\"
cidr_block = \"10.0.1.0/24\"
availability_zone = \"us-east-1a\"

[ssm_parameter.flag]
name = \"/STACK/flag\"
type = \"String\"
value = \"on\"

[iam_role.app]
assume_role_policy = { Version = \"2012-10-17\", Statement = [{ Effect = \"Allow\", Principal = { Service = \"ecs-tasks.amazonaws.com\" }, Action = \"sts:AssumeRole\" }] }
managed_policy_arns = [\"POLICY\"]
";

#[tokio::test(flavor = "multi_thread")]
async fn failed_apply_reports_and_next_apply_converges() {
    let s = Scratch::new("converge");
    let stack = unique("conv");
    let bad = SMALL
        .replace("STACK", &stack)
        .replace("POLICY", "arn:aws:iam::aws:policy/DoesNotExist");
    let f = s.write("stack.toml", &bad);
    let run = zinfra(
        &["apply", path(&f), "--auto-approve", "--parallelism", "1"],
        &[],
    )
    .expect(1);
    assert!(run.stdout.contains("Apply failed."), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("  failed:      iam_role.app (create): "),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("NoSuchEntity"), "{}", run.stdout);

    let good = SMALL
        .replace("STACK", &stack)
        .replace("POLICY", "arn:aws:iam::aws:policy/ReadOnlyAccess");
    let f = s.write("stack.toml", &good);
    let run = zinfra(&["apply", path(&f), "--auto-approve"], &[]).expect(0);
    assert!(run.stdout.contains("Apply complete!"), "{}", run.stdout);
    zinfra(&["plan", path(&f), "--detailed-exitcode"], &[]).expect(0);
    let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
    let vpcs = ec2
        .describe_vpcs()
        .filters(
            Filter::builder()
                .name("tag:zinfra:stack")
                .values(&stack)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(vpcs.vpcs().len(), 1, "no duplicate VPC");
    zinfra(&["destroy", path(&f), "--auto-approve"], &[]).expect(0);
    assert_eq!(tagged_leftovers(&stack).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn saved_plan_applies_exactly_and_refuses_when_stale() {
    let s = Scratch::new("saved");
    let stack = unique("saved");
    let text = SMALL
        .replace("STACK", &stack)
        .replace("POLICY", "arn:aws:iam::aws:policy/ReadOnlyAccess");
    let f = s.write("stack.toml", &text);
    let planfile = s.dir.join("plan.zplan");
    let plan = zinfra(
        &[
            "plan",
            path(&f),
            "--out",
            path(&planfile),
            "--detailed-exitcode",
        ],
        &[],
    )
    .expect(2);
    assert!(
        plan.stdout
            .contains("Plan: 4 to add, 0 to change, 0 to destroy."),
        "{}",
        plan.stdout
    );
    // Without a terminal, applying a stack file needs --auto-approve; a saved plan is the approval.
    let refused = zinfra(&["apply", path(&f)], &[]).expect(1);
    assert!(
        refused
            .stderr
            .contains("refusing to apply without confirmation: stdin is not a terminal"),
        "{}",
        refused.stderr
    );
    zinfra(&["apply", path(&planfile)], &[]).expect(0);
    zinfra(&["plan", path(&f), "--detailed-exitcode"], &[]).expect(0);

    // Plan a change, then let someone change live state before it is applied.
    let f2 = s.write(
        "stack2.toml",
        &edit(&text, "value = \"on\"", "value = \"off\""),
    );
    zinfra(&["plan", path(&f2), "--out", path(&planfile)], &[]).expect(0);
    let ssm = aws_sdk_ssm::Client::new(&sdk_config().await);
    ssm.put_parameter()
        .name(format!("/{stack}/flag"))
        .value("changed-by-hand")
        .overwrite(true)
        .send()
        .await
        .unwrap();
    let stale = zinfra(&["apply", path(&planfile)], &[]).expect(1);
    assert!(
        stale.stderr.contains("the saved plan is stale"),
        "{}",
        stale.stderr
    );
    assert!(
        stale
            .stderr
            .contains("ssm_parameter.flag: changed since the plan was made"),
        "{}",
        stale.stderr
    );
    let value = ssm
        .get_parameter()
        .name(format!("/{stack}/flag"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        value.parameter().unwrap().value(),
        Some("changed-by-hand"),
        "a stale plan changes nothing"
    );

    zinfra(&["destroy", path(&f), "--auto-approve"], &[]).expect(0);
    let refused = zinfra(&["destroy", path(&f)], &[]).expect(0);
    assert!(
        refused.stdout.starts_with("Nothing to destroy"),
        "{}",
        refused.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn prod_stack_applies_and_destroy_respects_deletion_protection() {
    let _turn = REFERENCE.lock().await;
    let s = Scratch::new("prod");
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/stacks/zenoo-prod.toml"
    ))
    .unwrap();
    let f = s.write("zenoo-prod.toml", &text);
    let env = [
        ("ZENOO_PROD_DB_PASSWORD", "prod-secret-value"),
        (
            "ZENOO_PROD_REDIS_DEFAULT_PASSWORD",
            "prod-default-user-off-0123",
        ),
    ];
    let applied = zinfra(&["apply", path(&f), "--auto-approve"], &env).expect(0);
    assert!(
        applied
            .stdout
            .contains("Apply complete! Resources: 66 added, 0 changed, 0 destroyed."),
        "{}",
        applied.stdout
    );
    verify_front_door("prod").await;
    let iam = aws_sdk_iam::Client::new(&sdk_config().await);
    let role = iam
        .get_role()
        .role_name("zenoo-prod-github-deploy")
        .send()
        .await
        .unwrap();
    let trust: serde_json::Value = serde_json::from_str(
        &urlencoding::decode(role.role().unwrap().assume_role_policy_document().unwrap()).unwrap(),
    )
    .unwrap();
    verify_delivery("zenoo-prod", &trust).await;
    // Production Redis: one replica in another AZ, promoted automatically.
    let ec = aws_sdk_elasticache::Client::new(&sdk_config().await);
    let g = ec
        .describe_replication_groups()
        .replication_group_id("zenoo-prod-redis")
        .send()
        .await
        .unwrap();
    let g = &g.replication_groups()[0];
    assert_eq!(g.member_clusters().len(), 2, "a primary and one replica");
    assert_eq!(
        g.automatic_failover(),
        Some(&aws_sdk_elasticache::types::AutomaticFailoverStatus::Enabled)
    );
    assert_eq!(
        g.multi_az(),
        Some(&aws_sdk_elasticache::types::MultiAzStatus::Enabled)
    );
    let azs: std::collections::BTreeSet<_> = g.node_groups()[0]
        .node_group_members()
        .iter()
        .filter_map(|m| m.preferred_availability_zone())
        .collect();
    assert_eq!(
        azs.len(),
        2,
        "primary and replica in different AZs: {azs:?}"
    );
    zinfra(&["plan", path(&f), "--detailed-exitcode"], &env).expect(0);
    verify_prod_nat_per_az().await;

    // Production data is protected: destroy refuses before deleting anything, and says which setting holds it.
    let refused = zinfra(&["destroy", path(&f), "--auto-approve"], &env).expect(1);
    assert!(
        refused
            .stdout
            .contains("# (deletion_protection is on: apply will refuse"),
        "{}",
        refused.stdout
    );
    assert_eq!(
        refused.stderr,
        "error: refusing to destroy: deletion protection is on for\n  dynamodb_table.hub_sessions (zenoo-prod-hub-sessions)\n\
         Turn `deletion_protection` off in the stack file and apply that first. Nothing was changed.\n"
    );
    zinfra(&["plan", path(&f), "--detailed-exitcode"], &env).expect(0);

    // Lifting the protection is a deliberate, reviewed change; then destroy completes.
    let unprotected = edit(
        &text,
        "deletion_protection = true",
        "deletion_protection = false",
    );
    let g = s.write("unprotected.toml", &unprotected);
    zinfra(&["apply", path(&g), "--auto-approve"], &env).expect(0);
    zinfra(&["destroy", path(&g), "--auto-approve"], &env).expect(0);
    assert_eq!(tagged_leftovers("zenoo-prod").await, Vec::<String>::new());
    assert_eq!(
        zones_named("prod.zenoo.example.").await,
        0,
        "the zone remains"
    );
    assert_eq!(frontend_leftovers("zenoo-prod").await, Vec::<String>::new());
    assert_eq!(delivery_leftovers("zenoo-prod").await, Vec::<String>::new());
    assert_nat_released("zenoo-prod").await;
    assert_no_detector().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_made_outside_zinfra_show_as_drift_and_apply_removes_them() {
    let s = Scratch::new("drift");
    let stack = unique("drift");
    let text = SMALL
        .replace("STACK", &stack)
        .replace("POLICY", "arn:aws:iam::aws:policy/ReadOnlyAccess")
        + "\n[security_group.db]\nvpc = \"vpc.main\"\n";
    let f = s.write("stack.toml", &text);
    zinfra(&["apply", path(&f), "--auto-approve"], &[]).expect(0);

    // Someone opens the group to the world and gives the role admin rights by hand.
    let conf = sdk_config().await;
    let ec2 = aws_sdk_ec2::Client::new(&conf);
    let sg = ec2
        .describe_security_groups()
        .filters(
            Filter::builder()
                .name("tag:zinfra:stack")
                .values(&stack)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let sg_id = sg.security_groups()[0].group_id().unwrap().to_owned();
    ec2.authorize_security_group_ingress()
        .group_id(&sg_id)
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .cidr_ip("0.0.0.0/0")
        .send()
        .await
        .unwrap();
    let iam = aws_sdk_iam::Client::new(&conf);
    iam.attach_role_policy()
        .role_name(format!("{stack}-app"))
        .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
        .send()
        .await
        .unwrap();

    let plan = zinfra(&["plan", path(&f), "--json", "--detailed-exitcode"], &[])
        .expect(2)
        .json();
    assert_eq!(
        changes(&plan),
        [
            ("iam_role.app".to_string(), "update".to_string()),
            ("security_group.db".to_string(), "update".to_string())
        ]
    );
    zinfra(&["apply", path(&f), "--auto-approve"], &[]).expect(0);
    zinfra(&["plan", path(&f), "--detailed-exitcode"], &[]).expect(0);
    let sg = ec2
        .describe_security_groups()
        .group_ids(&sg_id)
        .send()
        .await
        .unwrap();
    assert!(
        sg.security_groups()[0].ip_permissions().is_empty(),
        "the hand-made rule was removed"
    );
    zinfra(&["destroy", path(&f), "--auto-approve"], &[]).expect(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_existing_bucket_is_taken_over_only_when_adopted_and_never_another_stacks() {
    let s = Scratch::new("adopt");
    let stack = unique("adopt");
    let bucket = format!("{stack}-assets");
    let conf = sdk_config().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    );
    // A bucket made by hand (or what a create leaves when it is cut off before tagging), with data.
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    s3.put_object()
        .bucket(&bucket)
        .key("kept.txt")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"data"))
        .send()
        .await
        .unwrap();
    let hand_tags = aws_sdk_s3::types::Tagging::builder()
        .tag_set(
            aws_sdk_s3::types::Tag::builder()
                .key("team")
                .value("web")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    s3.put_bucket_tagging()
        .bucket(&bucket)
        .tagging(hand_tags)
        .send()
        .await
        .unwrap();
    let text = format!(
        "[stack]\nname = \"{stack}\"\nenvironment = \"test\"\nregion = \"us-east-1\"\n\n[s3_bucket.assets]\nbucket = \"{bucket}\"\nforce_destroy = true\n"
    );
    let f = s.write("stack.toml", &text);
    // Not declared for adoption: an error in the plan and a refusal in apply; nothing touched.
    let plan = zinfra(&["plan", path(&f)], &[]).expect(1);
    let why = format!(
        "bucket {bucket} already exists and is not this stack's (it has no zinfra tags): declare [[adopt]] address = \"s3_bucket.assets\" id = \"{bucket}\" to take it over"
    );
    assert!(plan.stdout.contains(&why), "{}", plan.stdout);
    let run = zinfra(&["apply", path(&f), "--auto-approve"], &[]).expect(1);
    assert!(
        run.stderr
            .contains("refusing to take over what is not this stack's:"),
        "{}",
        run.stderr
    );
    let tags = s3
        .get_bucket_tagging()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let tags: Vec<(&str, &str)> = tags
        .tag_set()
        .iter()
        .map(|t| (t.key(), t.value()))
        .collect();
    assert_eq!(tags, [("team", "web")], "the bucket's tags were changed");
    s3.head_object()
        .bucket(&bucket)
        .key("kept.txt")
        .send()
        .await
        .unwrap();

    // Adopted: tagged and converged in place, its data kept, and the next plan is clean.
    let adopting =
        format!("{text}\n[[adopt]]\naddress = \"s3_bucket.assets\"\nid = \"{bucket}\"\n");
    let f = s.write("adopt.toml", &adopting);
    let run = zinfra(&["apply", path(&f), "--auto-approve"], &[]).expect(0);
    assert!(
        run.stdout
            .contains("# s3_bucket.assets will be adopted (tagged and converged in place)"),
        "{}",
        run.stdout
    );
    s3.head_object()
        .bucket(&bucket)
        .key("kept.txt")
        .send()
        .await
        .unwrap();
    zinfra(&["plan", path(&f), "--detailed-exitcode"], &[]).expect(0);

    // Another stack declaring the same bucket must not take it, adoption or not.
    let other = adopting.replace(&format!("name = \"{stack}\""), "name = \"someone-else\"");
    let g = s.write("other.toml", &other);
    let run = zinfra(&["apply", path(&g), "--auto-approve"], &[]).expect(1);
    assert!(
        run.stdout.contains(&format!("bucket {bucket} already exists in this account and belongs to s3_bucket.assets in stack {stack}")),
        "{}",
        run.stdout
    );
    s3.delete_object()
        .bucket(&bucket)
        .key("kept.txt")
        .send()
        .await
        .unwrap();
    zinfra(&["destroy", path(&f), "--auto-approve"], &[]).expect(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_stay_out_of_output_trace_logs_plan_files_json_and_summaries() {
    let s = Scratch::new("secret");
    let stack = unique("secret");
    let text = format!(
        "[stack]\nname = \"{stack}\"\nenvironment = \"test\"\nregion = \"us-east-1\"\n\n[kms_key.k]\n\n\
         [ssm_parameter.p]\nname = \"/{stack}/password\"\nvalue_from_env = \"ZENOO_TEST_SECRET\"\nkms_key = \"kms_key.k\"\n"
    );
    let f = s.write("stack.toml", &text);
    let summary = s.dir.join("summary.md");
    let trace = [("ZINFRA_LOG", "trace")];
    let first = "canary-first-8c1f";
    let second = "canary-second-77ab";
    let run = zinfra(
        &["apply", path(&f), "--auto-approve"],
        &[
            ("ZENOO_TEST_SECRET", first),
            trace[0],
            ("RUST_LOG", "trace"),
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", path(&summary)),
        ],
    );
    let run = run.expect(0);
    assert!(run.stderr.lines().count() > 100, "trace logging is on");
    // Rotation: the file bumps the version; the plan needs no secret, the apply the new one.
    let f = s.write(
        "stack.toml",
        &text.replace(
            "kms_key = \"kms_key.k\"",
            "kms_key = \"kms_key.k\"\nvalue_version = 2",
        ),
    );
    let planfile = s.dir.join("p.zplan");
    let plan = zinfra(&["plan", path(&f), "--out", path(&planfile)], &[trace[0]]).expect(0);
    assert!(
        plan.stdout
            .contains("~ value = (sensitive, version 1) -> (sensitive, version 2)"),
        "{}",
        plan.stdout
    );
    let saved = std::fs::read_to_string(&planfile).unwrap();
    let refused = zinfra(&["apply", path(&planfile)], &[trace[0]]).expect(1);
    assert!(
        refused
            .stderr
            .contains("ZENOO_TEST_SECRET for `value` of ssm_parameter.p (version 2: new version)"),
        "{}",
        refused.stderr
    );
    let applied = zinfra(
        &["apply", path(&planfile)],
        &[
            ("ZENOO_TEST_SECRET", second),
            trace[0],
            ("GITHUB_STEP_SUMMARY", path(&summary)),
        ],
    )
    .expect(0);
    // The first file again: version 2 live, 1 declared, a change in JSON that shows no value.
    let v1 = s.write("v1.toml", &text);
    let json = zinfra(
        &["plan", path(&v1), "--json"],
        &[("ZENOO_TEST_SECRET", first), trace[0]],
    )
    .expect(0);
    assert!(
        json.stdout.contains("(sensitive, version 2)"),
        "{}",
        json.stdout
    );
    let checked = zinfra(
        &["check", path(&f), "--live", "--format", "sarif"],
        &[("ZENOO_TEST_SECRET", first), trace[0]],
    );
    let summary_text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        summary_text.contains("(sensitive, version 1)"),
        "{summary_text}"
    );
    for text in [
        &run.stdout,
        &run.stderr,
        &plan.stdout,
        &plan.stderr,
        &saved,
        &applied.stdout,
        &applied.stderr,
        &json.stdout,
        &json.stderr,
        &checked.stdout,
        &checked.stderr,
        &summary_text,
    ] {
        assert!(
            !text.contains(first) && !text.contains(second),
            "a secret leaked"
        );
    }
    // It did reach AWS.
    let ssm = aws_sdk_ssm::Client::new(&sdk_config().await);
    let p = ssm
        .get_parameter()
        .name(format!("/{stack}/password"))
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    assert_eq!(p.parameter().unwrap().value(), Some(second));
    let destroyed = zinfra(
        &["destroy", path(&f), "--auto-approve"],
        &[
            ("ZENOO_TEST_SECRET", second),
            trace[0],
            ("RUST_LOG", "trace"),
        ],
    )
    .expect(0);
    for text in [&destroyed.stdout, &destroyed.stderr] {
        assert!(
            !text.contains(first) && !text.contains(second),
            "a secret leaked on destroy"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ephemeral_stack_can_be_destroyed_and_applied_again() {
    // A key pending deletion keeps its tags (and its address) beside the new one.
    let s = Scratch::new("again");
    let stack = unique("again");
    let text = format!(
        "[stack]\nname = \"{stack}\"\nenvironment = \"pr-1\"\nregion = \"us-east-1\"\n\n[kms_key.k]\n\n\
         [dynamodb_table.t]\nhash_key = \"pk\"\nattributes = {{ pk = \"S\" }}\nkms_key = \"kms_key.k\"\n"
    );
    let f = s.write("stack.toml", &text);
    for _ in 0..2 {
        zinfra(&["apply", path(&f), "--auto-approve"], &[]).expect(0);
        zinfra(&["plan", path(&f), "--detailed-exitcode"], &[]).expect(0);
        zinfra(&["destroy", path(&f), "--auto-approve"], &[]).expect(0);
        let plan = zinfra(&["plan", path(&f), "--json"], &[]).expect(0).json();
        assert_eq!(
            plan["summary"],
            serde_json::json!({"add": 2, "change": 0, "destroy": 0})
        );
    }
}

/// Public hosted zones with this name (Route53 is global and outside the tagging API).
async fn zones_named(name: &str) -> usize {
    let r53 = aws_sdk_route53::Client::new(&sdk_config().await);
    let zones = r53.list_hosted_zones().send().await.unwrap();
    zones
        .hosted_zones()
        .iter()
        .filter(|z| z.name() == name)
        .count()
}

/// The front door's controls, checked with describe calls: DNS aliases to the ALB's name, an issued
/// RSA 2048 certificate validated by DNS, the ALB in public subnets dropping invalid headers, HTTP only
/// redirecting to HTTPS, HTTPS with the certificate and a TLS 1.2+ policy, host rules to target groups.
async fn verify_front_door(env: &str) {
    let conf = sdk_config().await;
    let domain = format!("{env}.zenoo.example");
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&conf);
    let lbs = elb
        .describe_load_balancers()
        .names(format!("zenoo-{env}-web"))
        .send()
        .await
        .unwrap();
    let lb = &lbs.load_balancers()[0];
    let lb_arn = lb.load_balancer_arn().unwrap();
    // The seed: ALBs "are integrated with Web Application Firewall (WAF)".
    let waf = aws_sdk_wafv2::Client::new(&conf);
    let acl = waf
        .get_web_acl_for_resource()
        .resource_arn(lb_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        acl.web_acl().map(|a| a.name()),
        Some(format!("zenoo-{env}-alb").as_str()),
        "the ALB's web ACL"
    );
    assert_eq!(lb.scheme().unwrap().as_str(), "internet-facing");
    assert_eq!(lb.r#type().unwrap().as_str(), "application");
    // In the public subnets only.
    let ec2 = aws_sdk_ec2::Client::new(&conf);
    let subnets = ec2
        .describe_subnets()
        .set_subnet_ids(Some(
            lb.availability_zones()
                .iter()
                .map(|z| z.subnet_id().unwrap().to_owned())
                .collect(),
        ))
        .send()
        .await
        .unwrap();
    for s in subnets.subnets() {
        let tier = s
            .tags()
            .iter()
            .find(|t| t.key() == Some("zinfra:address"))
            .and_then(|t| t.value())
            .unwrap();
        assert!(tier.starts_with("subnet.public_"), "ALB in {tier}");
    }
    let sgs = ec2
        .describe_security_groups()
        .set_group_ids(Some(lb.security_groups().to_vec()))
        .send()
        .await
        .unwrap();
    let open: Vec<i32> = sgs
        .security_groups()
        .iter()
        .flat_map(|g| g.ip_permissions())
        .filter_map(|p| p.from_port())
        .collect();
    assert!(open.contains(&80) && open.contains(&443), "{open:?}");
    let attrs = elb
        .describe_load_balancer_attributes()
        .load_balancer_arn(lb_arn)
        .send()
        .await
        .unwrap();
    assert!(attrs.attributes().iter().any(|a| a.key()
        == Some("routing.http.drop_invalid_header_fields.enabled")
        && a.value() == Some("true")));

    // The certificate: issued, RSA 2048, DNS-validated through the zone.
    let acm = aws_sdk_acm::Client::new(&conf);
    let listeners = elb
        .describe_listeners()
        .load_balancer_arn(lb_arn)
        .send()
        .await
        .unwrap();
    let by_port = |p: i32| {
        listeners
            .listeners()
            .iter()
            .find(|l| l.port() == Some(p))
            .unwrap()
    };
    let http = by_port(80);
    assert_eq!(http.protocol().unwrap().as_str(), "HTTP");
    assert_eq!(http.default_actions().len(), 1);
    let redirect = http.default_actions()[0].redirect_config().unwrap();
    assert_eq!(
        (
            redirect.protocol(),
            redirect.port(),
            redirect.status_code().unwrap().as_str()
        ),
        (Some("HTTPS"), Some("443"), "HTTP_301")
    );
    let https = by_port(443);
    assert_eq!(https.protocol().unwrap().as_str(), "HTTPS");
    assert_eq!(
        https.ssl_policy(),
        Some("ELBSecurityPolicy-TLS13-1-2-2021-06")
    );
    let cert_arn = https.certificates()[0].certificate_arn().unwrap();
    let cert = acm
        .describe_certificate()
        .certificate_arn(cert_arn)
        .send()
        .await
        .unwrap();
    let cert = cert.certificate().unwrap();
    assert_eq!(cert.domain_name(), Some(format!("api.{domain}").as_str()));
    assert_eq!(cert.status().unwrap().as_str(), "ISSUED");
    assert_eq!(
        cert.key_algorithm().unwrap().as_str().replace('-', "_"),
        "RSA_2048"
    );
    let dv = &cert.domain_validation_options()[0];
    assert_eq!(dv.validation_method().unwrap().as_str(), "DNS");

    // Host rules forward to ip target groups.
    let rules = elb
        .describe_rules()
        .listener_arn(https.listener_arn().unwrap())
        .send()
        .await
        .unwrap();
    let forwarding: Vec<_> = rules
        .rules()
        .iter()
        .filter(|r| r.is_default() != Some(true))
        .collect();
    assert_eq!(forwarding.len(), 2);
    for r in forwarding {
        let tg = r.actions()[0].target_group_arn().unwrap();
        let tgs = elb
            .describe_target_groups()
            .target_group_arns(tg)
            .send()
            .await
            .unwrap();
        assert_eq!(tgs.target_groups()[0].target_type().unwrap().as_str(), "ip");
    }

    // DNS: the zone holds the validation record and aliases to the ALB's name, not addresses.
    let r53 = aws_sdk_route53::Client::new(&conf);
    let zones = r53.list_hosted_zones().send().await.unwrap();
    let zone = zones
        .hosted_zones()
        .iter()
        .find(|z| z.name() == format!("{domain}."))
        .unwrap();
    let sets = r53
        .list_resource_record_sets()
        .hosted_zone_id(zone.id())
        .send()
        .await
        .unwrap();
    let rr = dv.resource_record().unwrap();
    assert!(
        sets.resource_record_sets()
            .iter()
            .any(|s| s.name() == rr.name() && s.r#type().as_str() == "CNAME"),
        "validation record missing"
    );
    let api = sets
        .resource_record_sets()
        .iter()
        .find(|s| s.name() == format!("api.{domain}.") && s.r#type().as_str() == "A")
        .unwrap();
    assert!(
        api.resource_records().is_empty(),
        "static addresses: {api:?}"
    );
    let alias = api.alias_target().unwrap();
    assert_eq!(
        alias.dns_name().trim_end_matches('.').to_ascii_lowercase(),
        lb.dns_name().unwrap().to_ascii_lowercase()
    );
    assert_eq!(
        alias.hosted_zone_id(),
        lb.canonical_hosted_zone_id().unwrap()
    );
}

/// Redis: private subnets only, reachable only from the services on 6379, TLS required, encrypted at rest
/// with the stack's CMK, and RBAC with the default user disabled.
async fn verify_redis(conf: &aws_config::SdkConfig) {
    let ec2 = aws_sdk_ec2::Client::new(conf);
    let ec = aws_sdk_elasticache::Client::new(conf);
    let kms = aws_sdk_kms::Client::new(conf);
    let by_address = |address: &str| {
        Filter::builder()
            .name("tag:zinfra:address")
            .values(address)
            .build()
    };
    let stack = Filter::builder()
        .name("tag:zinfra:stack")
        .values("zenoo-dev")
        .build();
    let mut private = Vec::new();
    for a in ["subnet.private_a", "subnet.private_b"] {
        let out = ec2
            .describe_subnets()
            .filters(stack.clone())
            .filters(by_address(a))
            .send()
            .await
            .unwrap();
        private.push(out.subnets()[0].subnet_id().unwrap().to_owned());
    }
    private.sort();
    let sng = ec
        .describe_cache_subnet_groups()
        .cache_subnet_group_name("zenoo-dev-redis")
        .send()
        .await
        .unwrap();
    let mut subnets: Vec<String> = sng.cache_subnet_groups()[0]
        .subnets()
        .iter()
        .map(|s| s.subnet_identifier().unwrap().to_owned())
        .collect();
    subnets.sort();
    assert_eq!(
        subnets, private,
        "the Redis subnet group holds exactly the private subnets"
    );

    let sg_id = |address: &'static str| {
        let ec2 = ec2.clone();
        let stack = stack.clone();
        let f = by_address(address);
        async move {
            let out = ec2
                .describe_security_groups()
                .filters(stack)
                .filters(f)
                .send()
                .await
                .unwrap();
            out.security_groups()[0].clone()
        }
    };
    let redis_sg = sg_id("security_group.redis").await;
    let services_sg = sg_id("security_group.services").await;
    let ingress = redis_sg.ip_permissions();
    assert_eq!(ingress.len(), 1, "{ingress:?}");
    assert_eq!(
        (ingress[0].from_port(), ingress[0].to_port()),
        (Some(6379), Some(6379))
    );
    assert!(ingress[0].ip_ranges().is_empty(), "no CIDR may reach Redis");
    let sources: Vec<_> = ingress[0]
        .user_id_group_pairs()
        .iter()
        .filter_map(|p| p.group_id())
        .collect();
    assert_eq!(sources, [services_sg.group_id().unwrap()]);

    let g = ec
        .describe_replication_groups()
        .replication_group_id("zenoo-dev-redis")
        .send()
        .await
        .unwrap();
    let g = &g.replication_groups()[0];
    assert_eq!(g.status(), Some("available"));
    assert_eq!(g.at_rest_encryption_enabled(), Some(true));
    assert_eq!(g.transit_encryption_enabled(), Some(true));
    assert_eq!(
        g.transit_encryption_mode(),
        Some(&aws_sdk_elasticache::types::TransitEncryptionMode::Required)
    );
    let key = kms
        .describe_key()
        .key_id("alias/zenoo-dev-data")
        .send()
        .await
        .unwrap();
    assert_eq!(
        g.kms_key_id(),
        key.key_metadata().unwrap().arn(),
        "encrypted with the stack's CMK"
    );
    let member = ec
        .describe_cache_clusters()
        .cache_cluster_id(&g.member_clusters()[0])
        .send()
        .await
        .unwrap();
    let member = &member.cache_clusters()[0];
    assert_eq!(member.cache_subnet_group_name(), Some("zenoo-dev-redis"));
    let sgs: Vec<_> = member
        .security_groups()
        .iter()
        .filter_map(|m| m.security_group_id())
        .collect();
    assert_eq!(sgs, [redis_sg.group_id().unwrap()]);
    assert_eq!(
        member
            .cache_parameter_group()
            .and_then(|g| g.cache_parameter_group_name()),
        Some("zenoo-dev-redis")
    );

    assert_eq!(g.user_group_ids(), ["zenoo-dev-redis".to_owned()]);
    let ug = ec
        .describe_user_groups()
        .user_group_id("zenoo-dev-redis")
        .send()
        .await
        .unwrap();
    let mut names = Vec::new();
    for uid in ug.user_groups()[0].user_ids() {
        let u = ec.describe_users().user_id(uid).send().await.unwrap();
        let u = &u.users()[0];
        // The disabled default user has a password of its own; the hub's user authenticates with IAM.
        let hub = u.user_name() != Some("default");
        assert_eq!(
            u.authentication()
                .and_then(|a| a.r#type())
                .map(|t| t.as_str()),
            Some(if hub { "iam" } else { "password" }),
            "{uid}"
        );
        if !hub {
            assert!(
                u.access_string().unwrap().starts_with("off"),
                "the default user is enabled"
            );
        }
        names.push(u.user_name().unwrap().to_owned());
    }
    names.sort();
    assert_eq!(names, ["default", "zenoo-dev-hub"]);
    // The task role may connect as that user to this group, and to nothing else.
    let group_arn = g.arn().unwrap();
    let user_arn = ec
        .describe_users()
        .user_id("zenoo-dev-hub")
        .send()
        .await
        .unwrap()
        .users()[0]
        .arn()
        .unwrap()
        .to_owned();
    let cache = aws_sdk_iam::Client::new(conf)
        .get_role_policy()
        .role_name("zenoo-dev-hub-task")
        .policy_name("cache")
        .send()
        .await
        .unwrap();
    let doc: serde_json::Value =
        serde_json::from_str(&urlencoding::decode(cache.policy_document()).unwrap()).unwrap();
    assert_eq!(
        doc,
        serde_json::json!({ "Version": "2012-10-17", "Statement": [
            { "Effect": "Allow", "Action": "elasticache:Connect", "Resource": [group_arn, user_arn] },
        ]})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn output_reads_live_state_as_text_json_and_github_step_outputs() {
    let s = Scratch::new("output");
    let stack = unique("output");
    let text = format!(
        "[stack]\nname = \"{stack}\"\nenvironment = \"test\"\nregion = \"us-east-1\"\n\n\
         [kms_key.k]\n\n\
         [ecr_repository.app]\nencryption_type = \"KMS\"\nkms_key = \"kms_key.k\"\n\n\
         [s3_bucket.assets]\nbucket = \"{stack}-assets\"\n\n\
         [outputs]\nrepository_url = \"ecr_repository.app.repository_url\"\nbucket = \"s3_bucket.assets.id\"\n"
    );
    let f = s.write("stack.toml", &text);
    // Before the apply: declared, not created yet; asking for one is an error naming it.
    let before = zinfra(&["output", path(&f)], &[]).expect(0);
    assert!(
        before.stdout.contains("repository_url = (not created yet)"),
        "{}",
        before.stdout
    );
    let missing = zinfra(&["output", path(&f), "bucket"], &[]).expect(1);
    assert!(
        missing.stderr.contains("bucket: no such output"),
        "{}",
        missing.stderr
    );

    zinfra(&["apply", path(&f), "--auto-approve"], &[]).expect(0);
    let gh = s.dir.join("github_output");
    let text_out = zinfra(&["output", path(&f)], &[("GITHUB_OUTPUT", path(&gh))]).expect(0);
    let bucket = format!("{stack}-assets");
    assert!(
        text_out.stdout.contains(&format!("bucket = {bucket}\n"))
            && text_out.stdout.contains("repository_url = ")
            && text_out
                .stdout
                .contains("ecr_repository.app.arn = arn:aws:ecr:"),
        "{}",
        text_out.stdout
    );
    // Step outputs: the declared ones, in the multi-line form.
    let written = std::fs::read_to_string(&gh).unwrap();
    assert!(
        written.contains(&format!("bucket<<ZINFRA_EOF\n{bucket}\nZINFRA_EOF\n"))
            && written.contains("repository_url<<ZINFRA_EOF\n"),
        "{written}"
    );
    let json = zinfra(&["output", path(&f), "--json"], &[])
        .expect(0)
        .json();
    let url = json["outputs"]["repository_url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(url.ends_with(&format!("/{stack}-app")), "{url}");
    assert_eq!(
        json["resources"]["s3_bucket.assets"]["id"].as_str(),
        Some(bucket.as_str())
    );
    // One value, bare, for `$(zinfra output …)`; any resource's output by its address too.
    let one = zinfra(&["output", path(&f), "repository_url"], &[]).expect(0);
    assert_eq!(one.stdout, format!("{url}\n"));
    let arn = zinfra(&["output", path(&f), "kms_key.k.arn"], &[]).expect(0);
    assert!(arn.stdout.starts_with("arn:aws:kms:"), "{}", arn.stdout);
    zinfra(&["destroy", path(&f), "--auto-approve"], &[]).expect(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn variables_from_var_and_the_environment_reach_aws_and_the_saved_plan() {
    let s = Scratch::new("vars");
    let stack = unique("vars");
    let text = format!(
        "[stack]\nname = \"{stack}\"\nenvironment = \"test\"\nregion = \"us-east-1\"\n\n\
         [variables.image_tag]\ntype = \"string\"\npattern = \"[0-9a-f]{{7,40}}\"\n\n\
         [ssm_parameter.image]\nname = \"/{stack}/image\"\ntype = \"String\"\nvalue = \"registry.test/app:${{var.image_tag}}\"\n"
    );
    let f = s.write("stack.toml", &text);
    let (url, count) = counting_endpoint();
    // Missing, invalid and undeclared values: diagnostics before any request.
    let missing = zinfra_at(&url, &["plan", path(&f)], &[]).expect(1);
    assert!(
        missing.stderr.contains("variable `image_tag` has no value"),
        "{}",
        missing.stderr
    );
    let invalid = zinfra_at(&url, &["plan", path(&f), "--var", "image_tag=latest"], &[]).expect(1);
    assert!(
        invalid.stderr.contains("variable `image_tag` = \"latest\" (from --var image_tag= / ZINFRA_VAR_image_tag) does not match the pattern"),
        "{}",
        invalid.stderr
    );
    let undeclared = zinfra_at(
        &url,
        &[
            "plan",
            path(&f),
            "--var",
            "image_tag=abc1234",
            "--var",
            "tag=x",
        ],
        &[],
    )
    .expect(1);
    assert!(
        undeclared.stderr.contains("declares no variable `tag`"),
        "{}",
        undeclared.stderr
    );
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 0);

    zinfra(
        &[
            "apply",
            path(&f),
            "--auto-approve",
            "--var",
            "image_tag=abc1234",
        ],
        &[],
    )
    .expect(0);
    let ssm = aws_sdk_ssm::Client::new(&sdk_config().await);
    let value = |name: String| {
        let ssm = ssm.clone();
        async move {
            ssm.get_parameter()
                .name(name)
                .send()
                .await
                .unwrap()
                .parameter()
                .unwrap()
                .value()
                .unwrap()
                .to_owned()
        }
    };
    assert_eq!(
        value(format!("/{stack}/image")).await,
        "registry.test/app:abc1234"
    );
    // The same value from the environment: no change.
    zinfra(
        &["plan", path(&f), "--detailed-exitcode"],
        &[("ZINFRA_VAR_image_tag", "abc1234")],
    )
    .expect(0);
    // A new one: the plan names the values it used, and the saved plan records them.
    let planfile = s.dir.join("p.zplan");
    let plan = zinfra(
        &[
            "plan",
            path(&f),
            "--var",
            "image_tag=def5678",
            "--out",
            path(&planfile),
        ],
        &[("ZINFRA_VAR_image_tag", "abc1234")],
    )
    .expect(0);
    assert!(
        plan.stdout.contains("Variables: image_tag = \"def5678\""),
        "{}",
        plan.stdout
    );
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&planfile).unwrap()).unwrap();
    assert_eq!(saved["stack"]["variables"]["image_tag"], "def5678");
    let other = zinfra(
        &["apply", path(&planfile), "--var", "image_tag=0000000"],
        &[],
    )
    .expect(1);
    assert!(
        other
            .stderr
            .contains("was made with image_tag = \"def5678\""),
        "{}",
        other.stderr
    );
    zinfra(&["apply", path(&planfile)], &[]).expect(0);
    assert_eq!(
        value(format!("/{stack}/image")).await,
        "registry.test/app:def5678"
    );
    zinfra(
        &[
            "destroy",
            path(&f),
            "--auto-approve",
            "--var",
            "image_tag=def5678",
        ],
        &[],
    )
    .expect(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn target_exclude_replace_and_plan_destroy() {
    let s = Scratch::new("select");
    let stack = unique("select");
    let param = |name: &str, value: &str, extra: &str| {
        format!(
            "[ssm_parameter.{name}]\nname = \"/{stack}/{name}\"\ntype = \"String\"\nvalue = \"{value}\"\n{extra}\n"
        )
    };
    let file = |a: &str, c: &str| {
        format!(
            "[stack]\nname = \"{stack}\"\nenvironment = \"test\"\nregion = \"us-east-1\"\n\n{}{}{}",
            param("a", a, ""),
            param("b", "b1", "depends_on = [\"ssm_parameter.a\"]"),
            param("c", c, ""),
        )
    };
    let f = s.write("stack.toml", &file("a1", "c1"));
    let ssm = aws_sdk_ssm::Client::new(&sdk_config().await);
    let value = |name: &str| {
        let (ssm, name) = (ssm.clone(), format!("/{stack}/{name}"));
        async move {
            ssm.get_parameter()
                .name(name)
                .send()
                .await
                .ok()
                .and_then(|o| o.parameter?.value)
        }
    };
    // A typo is refused before anything is done.
    let typo = zinfra(&["plan", path(&f), "--target", "ssm_parameter.z"], &[]).expect(1);
    assert!(
        typo.stderr.contains("ssm_parameter.z: neither in"),
        "{}",
        typo.stderr
    );
    // --target: b and what it depends on (a); c is not planned.
    let plan = zinfra(&["plan", path(&f), "--target", "ssm_parameter.b"], &[]).expect(0);
    assert!(
        plan.stdout
            .contains("Targeted (--target): only ssm_parameter.b and what it depends on"),
        "{}",
        plan.stdout
    );
    zinfra(
        &[
            "apply",
            path(&f),
            "--auto-approve",
            "--target",
            "ssm_parameter.b",
        ],
        &[],
    )
    .expect(0);
    assert_eq!(value("a").await.as_deref(), Some("a1"));
    assert_eq!(value("b").await.as_deref(), Some("b1"));
    assert_eq!(value("c").await, None);
    // --exclude: a and what depends on it (b) are left alone.
    let f = s.write("stack.toml", &file("a2", "c1"));
    zinfra(
        &[
            "apply",
            path(&f),
            "--auto-approve",
            "--exclude",
            "ssm_parameter.a",
        ],
        &[],
    )
    .expect(0);
    assert_eq!(value("a").await.as_deref(), Some("a1"));
    assert_eq!(value("c").await.as_deref(), Some("c1"));
    // --replace: forced, with its reason, recorded in the saved plan.
    let planfile = s.dir.join("p.zplan");
    let plan = zinfra(
        &[
            "plan",
            path(&f),
            "--replace",
            "ssm_parameter.c",
            "--exclude",
            "ssm_parameter.a",
            "--out",
            path(&planfile),
        ],
        &[],
    )
    .expect(0);
    assert!(
        plan.stdout.contains("replacement requested with --replace"),
        "{}",
        plan.stdout
    );
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&planfile).unwrap()).unwrap();
    assert_eq!(saved["selection"]["replace"][0], "ssm_parameter.c");
    zinfra(&["apply", path(&planfile)], &[]).expect(0);
    assert_eq!(value("c").await.as_deref(), Some("c1"));
    // plan --destroy previews, deletes nothing.
    let preview = zinfra(&["plan", path(&f), "--destroy", "--json"], &[])
        .expect(0)
        .json();
    let mut got = changes(&preview);
    got.sort();
    assert_eq!(
        got,
        ["a", "b", "c"].map(|n| (format!("ssm_parameter.{n}"), "delete".to_owned()))
    );
    assert_eq!(value("a").await.as_deref(), Some("a1"));
    zinfra(&["destroy", path(&f), "--auto-approve"], &[]).expect(0);
    assert_eq!(value("a").await, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_reviewed_applies_only_the_plan_that_was_reviewed() {
    let s = Scratch::new("reviewed");
    let stack = unique("reviewed");
    let file = |v: &str| {
        format!(
            "[stack]\nname = \"{stack}\"\nenvironment = \"test\"\nregion = \"us-east-1\"\n\n\
             [ssm_parameter.a]\nname = \"/{stack}/a\"\ntype = \"String\"\nvalue = \"{v}\"\n"
        )
    };
    let ssm = aws_sdk_ssm::Client::new(&sdk_config().await);
    let name = format!("/{stack}/a");
    let value = || {
        let (ssm, name) = (ssm.clone(), name.clone());
        async move {
            ssm.get_parameter()
                .name(name)
                .send()
                .await
                .unwrap()
                .parameter
                .unwrap()
                .value
                .unwrap()
        }
    };
    let f = s.write("stack.toml", &file("a1"));
    zinfra(&["apply", path(&f), "--auto-approve"], &[]).expect(0);

    // The pull request's plan, then the merge job: identical, so applied.
    let f = s.write("stack.toml", &file("a2"));
    let reviewed = s.dir.join("reviewed.zplan");
    zinfra(&["plan", path(&f), "--out", path(&reviewed)], &[]).expect(0);
    let run = zinfra(
        &[
            "apply",
            path(&f),
            "--reviewed",
            path(&reviewed),
            "--auto-approve",
        ],
        &[],
    )
    .expect(0);
    assert!(
        run.stderr.contains("equals the reviewed plan"),
        "{}",
        run.stderr
    );
    assert_eq!(value().await, "a2");

    // Reviewed, then the live value drifted before the merge: refused, with the difference.
    let f = s.write("stack.toml", &file("a3"));
    zinfra(&["plan", path(&f), "--out", path(&reviewed)], &[]).expect(0);
    ssm.put_parameter()
        .name(&name)
        .value("by-hand")
        .overwrite(true)
        .send()
        .await
        .unwrap();
    let refused = zinfra(
        &[
            "apply",
            path(&f),
            "--reviewed",
            path(&reviewed),
            "--auto-approve",
        ],
        &[],
    )
    .expect(1);
    assert!(
        refused
            .stderr
            .contains("the plan made now differs from the reviewed plan")
            && refused
                .stderr
                .contains("ssm_parameter.a: update differently: value"),
        "{}",
        refused.stderr
    );
    assert_eq!(value().await, "by-hand");
    // A resource the reviewed plan did not touch.
    let f = s.write(
        "stack.toml",
        &format!(
            "{}\n[ssm_parameter.b]\nname = \"/{stack}/b\"\ntype = \"String\"\nvalue = \"b\"\n",
            file("by-hand")
        ),
    );
    zinfra(&["plan", path(&f)], &[]).expect(0);
    let s2 = s.write("nochange.toml", &file("by-hand"));
    let unchanged = s.dir.join("unchanged.zplan");
    zinfra(&["plan", path(&s2), "--out", path(&unchanged)], &[]).expect(0);
    let refused = zinfra(
        &[
            "apply",
            path(&f),
            "--reviewed",
            path(&unchanged),
            "--auto-approve",
        ],
        &[],
    )
    .expect(1);
    assert!(
        refused
            .stderr
            .contains("ssm_parameter.b: reviewed no change, now create"),
        "{}",
        refused.stderr
    );
    zinfra(&["destroy", path(&s2), "--auto-approve"], &[]).expect(0);
}

/// A service whose image comes from the stack's own repository, tagged by a variable (the pipeline's
/// commit), as `zinfra apply --var image_tag=$GITHUB_SHA` deploys it.
fn deploy_stack(stack: &str) -> String {
    format!(
        r#"[stack]
name = "{stack}"
environment = "test"
region = "us-east-1"
waivers = [
  {{ rule = "ZS-IDS-001", reason = "test stack" }},
  {{ rule = "ZS-IDS-002", reason = "test stack" }},
]

[variables.image_tag]
type = "string"
description = "The image to run: the commit the pipeline built"

[vpc.main]
cidr_block = "10.98.0.0/16"
waivers = [{{ rule = "ZS-NET-001", reason = "private test service" }}]

[subnet.private_a]
vpc = "vpc.main"
cidr_block = "10.98.10.0/24"
availability_zone = "us-east-1a"

[security_group.app]
vpc = "vpc.main"
description = "app"
egress = [{{ from_port = 443, to_port = 443, cidr_blocks = ["0.0.0.0/0"], description = "AWS APIs" }}]

[ecr_repository.app]
force_delete = true

[ecs_cluster.main]

[iam_role.task_execution]
assume_role_policy = {{ Version = "2012-10-17", Statement = [{{ Effect = "Allow", Principal = {{ Service = "ecs-tasks.amazonaws.com" }}, Action = "sts:AssumeRole" }}] }}

[ecs_task_definition.app]
cpu = 256
memory = 512
execution_role = "iam_role.task_execution"

[[ecs_task_definition.app.container_definitions]]
name = "app"
repository = "ecr_repository.app"
tag = "${{var.image_tag}}"
port_mappings = [{{ container_port = 80 }}]

[ecs_service.app]
cluster = "ecs_cluster.main"
task_definition = "ecs_task_definition.app"
desired_count = 2
subnets = ["subnet.private_a"]
security_groups = ["security_group.app"]
"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn image_deploys_wait_for_the_rollout_and_a_failed_one_rolls_back() {
    let s = Scratch::new("deploy");
    let stack = unique("deploy");
    let f = s.write("stack.toml", &deploy_stack(&stack));
    let conf = sdk_config().await;
    let ecr = aws_sdk_ecr::Client::new(&conf);
    let ecs = aws_sdk_ecs::Client::new(&conf);
    let repo = format!("{stack}-app");
    let cluster = format!("{stack}-main");
    let service = format!("{stack}-app");
    let family = format!("{stack}-app");
    let apply = |tag: &str, extra: &[&str]| {
        let var = format!("image_tag={tag}");
        let mut args = vec!["apply", path(&f), "--auto-approve", "--var", var.as_str()];
        args.extend_from_slice(extra);
        zinfra(&args, &[])
    };
    let describe = || async {
        ecs.describe_services()
            .cluster(&cluster)
            .services(&service)
            .send()
            .await
            .unwrap()
            .services()[0]
            .clone()
    };

    // The repository first, then the images the pipeline pushes, then the service.
    apply("v1", &["--target", "ecr_repository.app"]).expect(0);
    for tag in ["v1", "v2"] {
        ecr.put_image()
            .repository_name(&repo)
            .image_tag(tag)
            .image_manifest(format!(
                r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{{"digest":"sha256:{tag}"}},"layers":[]}}"#
            ))
            .send()
            .await
            .unwrap();
    }
    apply("v1", &[]).expect(0);

    // A new image: a new task definition revision, the service moved to it, and apply returns only
    // once the deployment completed.
    let t0 = std::time::Instant::now();
    let out = apply("v2", &[]).expect(0);
    let took = t0.elapsed();
    assert!(
        out.stdout.contains("ecs_task_definition.app") && out.stdout.contains("ecs_service.app"),
        "{}",
        out.stdout
    );
    let svc = describe().await;
    assert!(
        svc.task_definition()
            .unwrap()
            .ends_with(&format!("{family}:2")),
        "{:?}",
        svc.task_definition()
    );
    let deployments = svc.deployments();
    assert_eq!(deployments.len(), 1, "{deployments:?}");
    assert_eq!(
        deployments[0].rollout_state().unwrap().as_str(),
        "COMPLETED"
    );
    assert_eq!(deployments[0].running_count(), 2);
    eprintln!("apply --var image_tag=v2 until the deployment was stable: {took:?}");

    // An image that cannot start: the circuit breaker stops the deployment and rolls back; apply exits
    // 1 naming the deployment, its reason and the revision the service runs again.
    let failed = apply("v3", &[]).expect(1);
    let err = format!("{}{}", failed.stdout, failed.stderr);
    assert!(err.contains("deployment ecs-svc/"), "{err}");
    assert!(
        err.contains(&format!(
            "of service {service} failed: ECS deployment circuit breaker: tasks failed to start."
        )),
        "{err}"
    );
    assert!(err.contains("CannotPullContainerError"), "{err}");
    assert!(
        err.contains(&format!(
            "the circuit breaker rolled the service back to {family}:2"
        )),
        "{err}"
    );
    let svc = describe().await;
    assert!(
        svc.task_definition()
            .unwrap()
            .ends_with(&format!("{family}:2")),
        "{:?}",
        svc.task_definition()
    );
    // The service is not what the file says: the next plan shows it, and a good image converges.
    zinfra(
        &[
            "plan",
            path(&f),
            "--detailed-exitcode",
            "--var",
            "image_tag=v3",
        ],
        &[],
    )
    .expect(2);
    apply("v1", &[]).expect(0);
    assert_eq!(
        describe().await.deployments()[0]
            .rollout_state()
            .unwrap()
            .as_str(),
        "COMPLETED"
    );

    // --no-wait: the deployment is started and apply returns; it fails later, unobserved.
    apply("v9", &["--no-wait"]).expect(0);
    let svc = describe().await;
    assert_eq!(svc.deployments()[0].status(), Some("PRIMARY"));
    assert!(
        svc.deployments().len() >= 2
            || svc.deployments()[0].rollout_state().unwrap().as_str() != "COMPLETED"
    );

    zinfra(
        &[
            "destroy",
            path(&f),
            "--auto-approve",
            "--var",
            "image_tag=v9",
        ],
        &[],
    )
    .expect(0);
}

/// GuardDuty and Security Hub are usually on before any stack (by hand or by the organisation): the
/// stack adopts them as they are, applies its settings, and destroy leaves them as they were found.
#[tokio::test(flavor = "multi_thread")]
async fn existing_guardduty_and_security_hub_are_adopted_and_left_as_found() {
    use aws_sdk_guardduty::types::FindingPublishingFrequency as Freq;
    // A region of its own: the reference stack tests use GuardDuty and Security Hub in us-east-1.
    let region = "eu-central-1";
    let conf = sdk_config()
        .await
        .into_builder()
        .region(aws_config::Region::new(region))
        .build();
    let gd = aws_sdk_guardduty::Client::new(&conf);
    let sh = aws_sdk_securityhub::Client::new(&conf);
    let team = std::collections::HashMap::from([("Team".to_owned(), "sec".to_owned())]);
    let detector = gd
        .create_detector()
        .enable(true)
        .finding_publishing_frequency(Freq::SixHours)
        .set_tags(Some(team.clone()))
        .send()
        .await
        .unwrap()
        .detector_id()
        .unwrap()
        .to_owned();
    sh.enable_security_hub()
        .enable_default_standards(false)
        .set_tags(Some(team.clone()))
        .send()
        .await
        .unwrap();
    let hub = sh
        .describe_hub()
        .send()
        .await
        .unwrap()
        .hub_arn()
        .unwrap()
        .to_owned();

    let s = Scratch::new("singletons");
    let stack = unique("singletons");
    let f = s.write(
        "stack.toml",
        &format!(
            "[stack]\nname = \"{stack}\"\nenvironment = \"test\"\nregion = \"{region}\"\n\n\
             [guardduty_detector.main]\nfinding_publishing_frequency = \"FIFTEEN_MINUTES\"\n\n\
             [securityhub_account.main]\n"
        ),
    );
    let plan = zinfra(&["plan", path(&f), "--detailed-exitcode"], &[]).expect(2);
    for address in ["guardduty_detector.main", "securityhub_account.main"] {
        assert!(
            plan.stdout.contains(&format!(
                "# {address} will be adopted (tagged and converged in place)"
            )),
            "{}",
            plan.stdout
        );
    }
    zinfra(&["apply", path(&f), "--auto-approve"], &[]).expect(0);
    zinfra(&["plan", path(&f), "--detailed-exitcode"], &[]).expect(0);
    let d = gd
        .get_detector()
        .detector_id(&detector)
        .send()
        .await
        .unwrap();
    assert_eq!(
        d.finding_publishing_frequency(),
        Some(&Freq::FifteenMinutes)
    );
    let tags = d.tags().unwrap();
    assert_eq!(tags.get("Team").map(String::as_str), Some("sec"));
    assert_eq!(tags.get("zinfra:stack"), Some(&stack));
    assert_eq!(
        tags.get("zinfra:found").map(String::as_str),
        Some("enable=true frequency=SIX_HOURS tags=Team")
    );
    let standards = sh.get_enabled_standards().send().await.unwrap();
    assert_eq!(standards.standards_subscriptions().len(), 1);

    // Destroy: both stay, as they were.
    zinfra(&["destroy", path(&f), "--auto-approve"], &[]).expect(0);
    let d = gd
        .get_detector()
        .detector_id(&detector)
        .send()
        .await
        .unwrap();
    assert_eq!(d.finding_publishing_frequency(), Some(&Freq::SixHours));
    assert_eq!(d.tags(), Some(&team));
    assert_eq!(
        sh.describe_hub().send().await.unwrap().hub_arn(),
        Some(hub.as_str())
    );
    let hub_tags = sh
        .list_tags_for_resource()
        .resource_arn(&hub)
        .send()
        .await
        .unwrap();
    assert_eq!(hub_tags.tags(), Some(&team));
    let standards = sh.get_enabled_standards().send().await.unwrap();
    assert!(standards.standards_subscriptions().is_empty());
    // And the next plan adopts them again, from scratch.
    let plan = zinfra(&["plan", path(&f), "--detailed-exitcode"], &[]).expect(2);
    assert!(plan.stdout.contains("will be adopted"), "{}", plan.stdout);

    gd.delete_detector()
        .detector_id(&detector)
        .send()
        .await
        .unwrap();
    sh.disable_security_hub().send().await.unwrap();
}

/// A subdomain's zone delegated by the stack's parent zone: the NS record (with its ownership record)
/// appears in the parent with the subdomain's name servers, goes when the delegation is dropped, and
/// `zinfra output` hands the name servers to whoever delegates by hand.
#[tokio::test(flavor = "multi_thread")]
async fn a_subdomain_is_delegated_by_its_parent_zone() {
    let s = Scratch::new("delegation");
    let stack = unique("deleg");
    let root = format!("{stack}.example");
    let sub = format!("dev.{root}");
    let text = format!(
        "[stack]\nname = \"{stack}\"\nenvironment = \"test\"\nregion = \"us-east-1\"\n\n\
         [route53_zone.root]\nname = \"{root}\"\n\n\
         [route53_zone.dev]\nname = \"{sub}\"\nparent_zone = \"route53_zone.root\"\n"
    );
    let f = s.write("stack.toml", &text);
    zinfra(&["apply", path(&f), "--auto-approve"], &[]).expect(0);
    zinfra(&["plan", path(&f), "--detailed-exitcode"], &[]).expect(0);

    let r53 = aws_sdk_route53::Client::new(&sdk_config().await);
    let zone_id = |name: String| {
        let r53 = r53.clone();
        async move {
            let zones = r53
                .list_hosted_zones_by_name()
                .dns_name(&name)
                .send()
                .await
                .unwrap();
            let z = zones
                .hosted_zones()
                .iter()
                .find(|z| z.name().trim_end_matches('.') == name)
                .unwrap();
            z.id().rsplit('/').next().unwrap().to_owned()
        }
    };
    let (root_id, sub_id) = (zone_id(root.clone()).await, zone_id(sub.clone()).await);
    let mut servers: Vec<String> = r53
        .get_hosted_zone()
        .id(&sub_id)
        .send()
        .await
        .unwrap()
        .delegation_set()
        .unwrap()
        .name_servers()
        .to_vec();
    servers.sort();
    let sets = |id: String| {
        let r53 = r53.clone();
        async move {
            r53.list_resource_record_sets()
                .hosted_zone_id(id)
                .send()
                .await
                .unwrap()
                .resource_record_sets()
                .to_vec()
        }
    };
    let in_root = sets(root_id.clone()).await;
    let ns = in_root
        .iter()
        .find(|r| r.name().trim_end_matches('.') == sub && r.r#type().as_str() == "NS")
        .expect("the delegation");
    let mut values: Vec<String> = ns
        .resource_records()
        .iter()
        .map(|r| r.value().to_owned())
        .collect();
    values.sort();
    assert_eq!(values, servers);
    assert_eq!(ns.ttl(), Some(172_800));
    assert!(
        in_root.iter().any(
            |r| r.name().trim_end_matches('.') == format!("zinfra-ns.{sub}")
                && r.resource_records()[0]
                    .value()
                    .contains("zinfra/address=route53_zone.dev")
        ),
        "{in_root:?}"
    );
    let out = zinfra(&["output", path(&f), "route53_zone.dev.name_servers"], &[]).expect(0);
    let mut printed: Vec<String> = out.stdout.trim().split(',').map(str::to_owned).collect();
    printed.sort();
    assert_eq!(printed, servers);

    // Delegated by hand from now on: the stack's NS record goes, the zone stays.
    let external = text.replace(
        "parent_zone = \"route53_zone.root\"",
        "delegation = \"external\"",
    );
    let g = s.write("external.toml", &external);
    let plan = zinfra(&["plan", path(&g), "--json"], &[]).expect(0).json();
    assert_eq!(
        changes(&plan),
        [("route53_zone.dev".to_string(), "update".to_string())]
    );
    zinfra(&["apply", path(&g), "--auto-approve"], &[]).expect(0);
    zinfra(&["plan", path(&g), "--detailed-exitcode"], &[]).expect(0);
    let in_root = sets(root_id.clone()).await;
    assert!(
        !in_root
            .iter()
            .any(|r| r.name().trim_end_matches('.').ends_with(&sub)),
        "{in_root:?}"
    );
    // Back to the parent, then destroy: the delegation goes before the zones.
    zinfra(&["apply", path(&f), "--auto-approve"], &[]).expect(0);
    zinfra(&["destroy", path(&f), "--auto-approve"], &[]).expect(0);
    let left = r53
        .list_hosted_zones_by_name()
        .dns_name(&root)
        .send()
        .await
        .unwrap();
    assert!(
        !left
            .hosted_zones()
            .iter()
            .any(|z| z.name().trim_end_matches('.').ends_with(&root)),
        "{:?}",
        left.hosted_zones()
    );
}

/// An organisation's member account: the administrator account sets GuardDuty's status and frequency.
/// The stack adopts the detector, says what the organisation controls, and never fights over it.
#[tokio::test(flavor = "multi_thread")]
async fn an_organisation_managed_detector_is_adopted_and_its_settings_left_to_the_organisation() {
    use aws_sdk_guardduty::types::FindingPublishingFrequency as Freq;
    let region = "eu-west-3";
    let conf = sdk_config()
        .await
        .into_builder()
        .region(aws_config::Region::new(region))
        .build();
    let gd = aws_sdk_guardduty::Client::new(&conf);
    let detector = gd
        .create_detector()
        .enable(true)
        .finding_publishing_frequency(Freq::SixHours)
        .send()
        .await
        .unwrap()
        .detector_id()
        .unwrap()
        .to_owned();
    // What an organisation's delegated administrator looks like from the member account.
    gd.enable_organization_admin_account()
        .admin_account_id("111122223333")
        .send()
        .await
        .unwrap();

    let s = Scratch::new("org-detector");
    let stack = unique("orgdet");
    let f = s.write(
        "stack.toml",
        &format!(
            "[stack]\nname = \"{stack}\"\nenvironment = \"test\"\nregion = \"{region}\"\n\
             waivers = [{{ rule = \"ZS-IDS-002\", reason = \"test\" }}]\n\n\
             [guardduty_detector.main]\nfinding_publishing_frequency = \"FIFTEEN_MINUTES\"\n"
        ),
    );
    let plan = zinfra(&["plan", path(&f)], &[]).expect(0);
    assert!(
        plan.stderr.contains("guardduty_detector.main: GuardDuty in this account is managed by the organisation's administrator account 111122223333: `finding_publishing_frequency` is SIX_HOURS there (the file says FIFTEEN_MINUTES); zinfra leaves it to the organisation"),
        "{}",
        plan.stderr
    );
    assert!(
        plan.stdout
            .contains("# guardduty_detector.main will be adopted"),
        "{}",
        plan.stdout
    );
    zinfra(&["apply", path(&f), "--auto-approve"], &[]).expect(0);
    zinfra(&["plan", path(&f), "--detailed-exitcode"], &[]).expect(0);
    let d = gd
        .get_detector()
        .detector_id(&detector)
        .send()
        .await
        .unwrap();
    assert_eq!(d.finding_publishing_frequency(), Some(&Freq::SixHours));
    assert_eq!(
        d.tags().unwrap().get("zinfra:found").map(String::as_str),
        Some("enable=true frequency=SIX_HOURS tags=")
    );
    zinfra(&["destroy", path(&f), "--auto-approve"], &[]).expect(0);
    let d = gd
        .get_detector()
        .detector_id(&detector)
        .send()
        .await
        .unwrap();
    assert_eq!(d.finding_publishing_frequency(), Some(&Freq::SixHours));
    assert!(d.tags().is_none_or(|t| t.is_empty()), "{:?}", d.tags());
    gd.delete_detector()
        .detector_id(&detector)
        .send()
        .await
        .unwrap();
}

/// A Security Hub member account: the administrator account decides which standards run. The stack
/// adopts the hub, says what the organisation controls, and never changes it.
#[tokio::test(flavor = "multi_thread")]
async fn an_organisation_managed_security_hub_is_adopted_and_its_standards_left_to_the_organisation()
 {
    let region = "eu-north-1";
    let conf = sdk_config()
        .await
        .into_builder()
        .region(aws_config::Region::new(region))
        .build();
    let sh = aws_sdk_securityhub::Client::new(&conf);
    sh.enable_security_hub()
        .enable_default_standards(false)
        .send()
        .await
        .unwrap();
    // The administrator account (moto tells accounts apart by this header) makes this one a member.
    let admin = "111122223333";
    sh.enable_security_hub()
        .enable_default_standards(false)
        .customize()
        .mutate_request(move |r| {
            r.headers_mut().insert("x-moto-account-id", admin);
        })
        .send()
        .await
        .unwrap();
    let me = aws_sdk_sts::Client::new(&conf)
        .get_caller_identity()
        .send()
        .await
        .unwrap()
        .account()
        .unwrap()
        .to_owned();
    sh.create_members()
        .account_details(
            aws_sdk_securityhub::types::AccountDetails::builder()
                .account_id(me)
                .build(),
        )
        .customize()
        .mutate_request(move |r| {
            r.headers_mut().insert("x-moto-account-id", admin);
        })
        .send()
        .await
        .unwrap();

    let s = Scratch::new("org-hub");
    let stack = unique("orghub");
    let f = s.write(
        "stack.toml",
        &format!(
            "[stack]\nname = \"{stack}\"\nenvironment = \"test\"\nregion = \"{region}\"\n\n\
             [securityhub_account.main]\n"
        ),
    );
    let plan = zinfra(&["plan", path(&f)], &[]).expect(0);
    assert!(
        plan.stderr.contains("securityhub_account.main: Security Hub in this account is managed by the organisation's administrator account 111122223333: `foundational_best_practices` is false there (the file says true); zinfra leaves it to the organisation"),
        "{}",
        plan.stderr
    );
    zinfra(&["apply", path(&f), "--auto-approve"], &[]).expect(0);
    zinfra(&["plan", path(&f), "--detailed-exitcode"], &[]).expect(0);
    let standards = sh.get_enabled_standards().send().await.unwrap();
    assert!(standards.standards_subscriptions().is_empty());
    zinfra(&["destroy", path(&f), "--auto-approve"], &[]).expect(0);
    let hub = sh.describe_hub().send().await.unwrap();
    assert!(hub.hub_arn().is_some(), "the hub stays enabled");
    let tags = sh
        .list_tags_for_resource()
        .resource_arn(hub.hub_arn().unwrap())
        .send()
        .await
        .unwrap();
    assert!(
        tags.tags().is_none_or(|t| t.is_empty()),
        "{:?}",
        tags.tags()
    );
    sh.disable_security_hub().send().await.unwrap();
}
