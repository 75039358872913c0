//! Whole stacks through the CLI against moto: the reference stack's life cycle, convergence after a
//! failure, saved and stale plans, and the confirmation rule.

use aws_sdk_ec2::types::Filter;

use crate::support::cli::{Scratch, changes, path, zinfra};
use crate::support::{sdk_config, unique};

/// The reference stacks both declare the GitHub OIDC provider, of which an account holds one per URL:
/// like two environments sharing one account, their tests take turns.
static REFERENCE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const SECRET: (&str, &str) = ("ZENOO_DEV_DB_PASSWORD", "correct-horse-battery-staple");

fn reference_stack() -> String {
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
/// and NAT gateways already `deleted` (AWS keeps listing those for about an hour).
async fn tagged_leftovers(stack: &str) -> Vec<String> {
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
        left.push(arn);
    }
    left
}

#[tokio::test(flavor = "multi_thread")]
async fn reference_stack_life_cycle() {
    let _turn = REFERENCE.lock().await;
    let s = Scratch::new("reference");
    let text = reference_stack();
    let f = s.write("zenoo-dev.toml", &text);
    let env = [SECRET];

    // Plan from nothing, then apply.
    let plan = zinfra(&["plan", path(&f), "--json"], &env).expect(0).json();
    assert_eq!(
        plan["summary"],
        serde_json::json!({"add": 27, "change": 0, "destroy": 0})
    );
    let human = zinfra(&["plan", path(&f)], &env).expect(0);
    insta::assert_snapshot!("plan_reference_from_nothing", human.stdout);
    let applied = zinfra(&["apply", path(&f), "--auto-approve"], &env).expect(0);
    assert!(
        applied
            .stdout
            .contains("Apply complete! Resources: 27 added, 0 changed, 0 destroyed."),
        "{}",
        applied.stdout
    );
    for out in [&applied.stdout, &applied.stderr] {
        assert!(!out.contains(SECRET.1), "secret leaked:\n{out}");
    }

    verify_live_properties().await;

    // Converged: a second plan and a second apply change nothing.
    zinfra(&["plan", path(&f), "--detailed-exitcode"], &env).expect(0);
    let again = zinfra(&["apply", path(&f), "--auto-approve"], &env).expect(0);
    assert!(again.stdout.starts_with("No changes."), "{}", again.stdout);
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

    // One in-place change per kind: each plan shows exactly that update.
    let in_place: &[(&str, &str, &str, &str)] = &[
        (
            "kms_key.data",
            "enable_key_rotation = true",
            "enable_key_rotation = false",
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
            "iam_oidc_provider.github",
            "6938fd4d98bab03faadb97b34396831e3780aea1",
            "1c58a3a8518e8759bf075b76b750d4f2df264fcd",
            "thumbprints",
        ),
    ];
    let mut all_edits = text.clone();
    for (address, from, to, field) in in_place {
        let g = s.write("edited.toml", &edit(&text, from, to));
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
    // The secret: a new value is an in-place update that never shows the value.
    let plan = zinfra(
        &["plan", path(&f)],
        &[("ZENOO_DEV_DB_PASSWORD", "rotated-value-1")],
    )
    .expect(0);
    assert!(
        plan.stdout.contains("~ value = (sensitive) -> (sensitive)"),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("rotated-value-1") && !plan.stdout.contains(SECRET.1));

    // Fields that force replacement say why, and dependents follow.
    let g = s.write(
        "replace.toml",
        &edit(
            &text,
            "cidr_block = \"10.10.11.0/24\"",
            "cidr_block = \"10.10.12.0/24\"",
        ),
    );
    let plan = zinfra(&["plan", path(&g), "--json"], &env).expect(0).json();
    assert_eq!(
        changes(&plan),
        [
            ("subnet.private_b".to_string(), "replace".to_string()),
            ("route_table.private".to_string(), "update".to_string()),
            // Its brokers live in the subnet: client subnets are not changed in place.
            ("msk_cluster.events".to_string(), "replace".to_string())
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
    let g3 = s.write(
        "replace3.toml",
        &edit(
            &text,
            "kafka_version = \"3.6.0\"",
            "kafka_version = \"3.7.x\"",
        ),
    );
    let plan = zinfra(&["plan", path(&g3), "--json"], &env)
        .expect(0)
        .json();
    assert_eq!(
        changes(&plan),
        [("msk_cluster.events".to_string(), "replace".to_string())]
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
    let g2 = s.write(
        "replace2.toml",
        &edit(
            &text,
            "bucket = \"zenoo-dev-frontend-assets\"",
            "bucket = \"zenoo-dev-frontend-assets-2\"",
        ),
    );
    let plan = zinfra(&["plan", path(&g2), "--json"], &env)
        .expect(0)
        .json();
    assert_eq!(
        changes(&plan),
        [("s3_bucket.frontend".to_string(), "replace".to_string())]
    );

    // Apply every in-place edit and the replacement together; the next plan is empty.
    let all_edits = edit(
        &all_edits,
        "cidr_block = \"10.10.11.0/24\"",
        "cidr_block = \"10.10.12.0/24\"",
    );
    let g = s.write("all.toml", &all_edits);
    let applied = zinfra(&["apply", path(&g), "--auto-approve"], &env).expect(0);
    assert!(
        applied
            .stdout
            .contains("Apply complete! Resources: 2 added, 14 changed, 2 destroyed."),
        "{}",
        applied.stdout
    );
    zinfra(&["plan", path(&g), "--detailed-exitcode"], &env).expect(0);

    // A resource removed from the file is deleted.
    let g = s.write("removed.toml", &edit(&all_edits, "[ssm_parameter.log_level]\nname = \"/zenoo/dev/hub/log-level\"\ntype = \"String\"\nvalue = \"debug\"\n", ""));
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
            .contains("Destroy complete! Resources: 0 added, 0 changed, 27 destroyed."),
        "{}",
        destroyed.stdout
    );
    assert_eq!(tagged_leftovers("zenoo-dev").await, Vec::<String>::new());
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
    let plan = zinfra(&["plan", path(&f), "--json"], &env).expect(0).json();
    assert_eq!(plan["summary"]["add"], 27);
    let nothing = zinfra(&["destroy", path(&f), "--auto-approve"], &env).expect(0);
    assert!(
        nothing.stdout.starts_with("Nothing to destroy"),
        "{}",
        nothing.stdout
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
}

const SMALL: &str = "[stack]
name = \"STACK\"
environment = \"test\"
region = \"us-east-1\"

[vpc.main]
cidr_block = \"10.0.0.0/16\"

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
    let env = [("ZENOO_PROD_DB_PASSWORD", "prod-secret-value")];
    let applied = zinfra(&["apply", path(&f), "--auto-approve"], &env).expect(0);
    assert!(
        applied
            .stdout
            .contains("Apply complete! Resources: 35 added, 0 changed, 0 destroyed."),
        "{}",
        applied.stdout
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
async fn an_untagged_bucket_left_by_an_interrupted_create_is_taken_over_but_never_another_stacks() {
    let s = Scratch::new("adopt");
    let stack = unique("adopt");
    let bucket = format!("{stack}-assets");
    let conf = sdk_config().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    );
    // What a create leaves when it is cut off between CreateBucket and tagging.
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let text = format!(
        "[stack]\nname = \"{stack}\"\nenvironment = \"test\"\nregion = \"us-east-1\"\n\n[s3_bucket.assets]\nbucket = \"{bucket}\"\n"
    );
    let f = s.write("stack.toml", &text);
    zinfra(&["apply", path(&f), "--auto-approve"], &[]).expect(0);
    zinfra(&["plan", path(&f), "--detailed-exitcode"], &[]).expect(0);

    // Another stack declaring the same bucket must not take it.
    let other = text.replace(&format!("name = \"{stack}\""), "name = \"someone-else\"");
    let g = s.write("other.toml", &other);
    let run = zinfra(&["apply", path(&g), "--auto-approve"], &[]).expect(1);
    assert!(
        run.stdout.contains(&format!("bucket {bucket} already exists in this account and belongs to s3_bucket.assets in stack {stack}")),
        "{}",
        run.stdout
    );
    zinfra(&["destroy", path(&f), "--auto-approve"], &[]).expect(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_stay_out_of_output_trace_logs_and_plan_files() {
    let s = Scratch::new("secret");
    let stack = unique("secret");
    let text = format!(
        "[stack]\nname = \"{stack}\"\nenvironment = \"test\"\nregion = \"us-east-1\"\n\n[kms_key.k]\n\n\
         [ssm_parameter.p]\nname = \"/{stack}/password\"\nvalue_from_env = \"ZENOO_TEST_SECRET\"\nkms_key = \"kms_key.k\"\n"
    );
    let f = s.write("stack.toml", &text);
    let trace = [("ZINFRA_LOG", "trace")];
    let first = "canary-first-8c1f";
    let second = "canary-second-77ab";
    let run = zinfra(
        &["apply", path(&f), "--auto-approve"],
        &[("ZENOO_TEST_SECRET", first), trace[0]],
    );
    let run = run.expect(0);
    assert!(run.stderr.lines().count() > 100, "trace logging is on");
    let planfile = s.dir.join("p.zplan");
    let plan = zinfra(
        &["plan", path(&f), "--out", path(&planfile)],
        &[("ZENOO_TEST_SECRET", second), trace[0]],
    )
    .expect(0);
    assert!(
        plan.stdout.contains("~ value = (sensitive) -> (sensitive)"),
        "{}",
        plan.stdout
    );
    let saved = std::fs::read_to_string(&planfile).unwrap();
    let applied = zinfra(
        &["apply", path(&planfile)],
        &[("ZENOO_TEST_SECRET", second), trace[0]],
    )
    .expect(0);
    for text in [
        &run.stdout,
        &run.stderr,
        &plan.stdout,
        &plan.stderr,
        &saved,
        &applied.stdout,
        &applied.stderr,
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
    zinfra(
        &["destroy", path(&f), "--auto-approve"],
        &[("ZENOO_TEST_SECRET", second)],
    )
    .expect(0);
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
