//! The LocalStack leg: zinfra against LocalStack community alone (tests/support/localstack.rs), for every
//! kind its free edition serves (examples/localstack.toml: EC2 networking with a NAT gateway, KMS, S3 with a
//! bucket policy, SSM, IAM with an OIDC provider, Route 53, ACM). Apply, every property read back with the
//! SDK, a no-change plan, an in-place update, destroy, nothing left. Also: a plan reads only what the stack
//! can own (no call to a service the free edition lacks), and the S3 lock works there.

use crate::support::cli::{Scratch, changes, path, zinfra_at};
use crate::support::localstack::{localstack, sdk_config};
use crate::support::proxy::{Faults, Proxy};

const REGION: &str = "eu-west-1";

/// Both life cycles create GitHub's OIDC provider, one per account in IAM: they take turns.
static IAM_TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
const STACK: &str = "ls-demo";

fn example(name: &str) -> String {
    std::fs::read_to_string(format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the stack file has no `{from}`");
    text.replacen(from, to, 1)
}

fn run(args: &[&str]) -> crate::support::cli::Run {
    zinfra_at(&localstack().endpoint, args, &[("ZINFRA_RPS", "off")])
}

#[tokio::test(flavor = "multi_thread")]
async fn localstack_alone_runs_every_free_kind_through_its_life_cycle() {
    let _turn = IAM_TURN.lock().await;
    let dir = Scratch::new("localstack");
    let f = dir.write("stack.toml", &example("localstack.toml"));
    let started = std::time::Instant::now();

    let applied = run(&["apply", "--auto-approve", path(&f)]);
    assert_eq!(
        applied.code, 0,
        "apply\n{}\n{}",
        applied.stdout, applied.stderr
    );
    let ids = verify(Phase::Applied).await;
    run(&["plan", "--detailed-exitcode", path(&f)]).expect(0);
    // LocalStack's ACM signs certificates with SHA512WITHRSA where AWS's public certificates are
    // SHA256WITHRSA (tests/EMULATOR_GAPS.md): the live check reports exactly that, nothing else.
    let live = run(&["check", "--live", path(&f)]).expect(1);
    assert!(
        live.stdout
            .contains("the certificate is signed with SHA512WITHRSA, not SHA-256 with RSA")
            && live.stdout.matches("error[ZS-").count() == 1,
        "{}",
        live.stdout
    );
    // A resource that is declared but cannot be found is never reported as compliant.
    let extra = dir.write(
        "extra.toml",
        &format!(
            "{}
[s3_bucket.never_applied]
bucket = \"ls-demo-never-applied\"\n",
            example("localstack.toml")
        ),
    );
    let check = run(&["check", "--live", path(&extra)]).expect(1);
    assert!(
        check.stderr.contains("check --live could not read 1 of the 21 resources the file declares, so they were not checked: s3_bucket.never_applied"),
        "{}",
        check.stderr
    );

    // In place: a new value, description, rule description, TTL and comment; nothing is replaced.
    let mut changed = example("localstack.toml");
    for (from, to) in [
        ("value = \"info\"", "value = \"debug\""),
        (
            "description = \"ls-demo data\"",
            "description = \"ls-demo data, changed\"",
        ),
        (
            "description = \"HTTPS from the VPC\"",
            "description = \"HTTPS from inside\"",
        ),
        (
            "description = \"The app at run time\"",
            "description = \"The app, changed\"",
        ),
        ("ttl = 300", "ttl = 600"),
        ("retention_in_days = 14", "retention_in_days = 30"),
    ] {
        changed = edit(&changed, from, to);
    }
    let g = dir.write("changed.toml", &changed);
    let plan = run(&["plan", "--json", path(&g)]).expect(0).json();
    let actions = changes(&plan);
    assert!(!actions.is_empty());
    assert!(
        actions.iter().all(|(_, a)| a == "update"),
        "only in-place updates: {actions:?}"
    );
    run(&["apply", "--auto-approve", path(&g)]).expect(0);
    let after = verify(Phase::Changed).await;
    assert_eq!(ids, after, "the same resources, changed in place");
    run(&["plan", "--detailed-exitcode", path(&g)]).expect(0);

    run(&["destroy", "--auto-approve", path(&g)]).expect(0);
    let left = leftovers().await;
    assert!(left.is_empty(), "left behind on LocalStack: {left:?}");
    eprintln!(
        "LocalStack life cycle: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

#[derive(PartialEq)]
enum Phase {
    Applied,
    Changed,
}

/// Every property of the stack, read with the SDK; returns the physical ids.
async fn verify(phase: Phase) -> Vec<String> {
    let conf = sdk_config(REGION).await;
    let changed = phase == Phase::Changed;
    let account = crate::support::moto::account_of(&conf).await;
    let mut ids = Vec::new();
    let tag = |k: &str, v: &str| {
        aws_sdk_ec2::types::Filter::builder()
            .name(format!("tag:{k}"))
            .values(v)
            .build()
    };

    // KMS: the key behind the alias, enabled, rotating, described, tagged.
    let kms = aws_sdk_kms::Client::new(&conf);
    let key = kms
        .describe_key()
        .key_id("alias/ls-demo-data")
        .send()
        .await
        .unwrap();
    let key = key.key_metadata().unwrap();
    let want = if changed {
        "ls-demo data, changed"
    } else {
        "ls-demo data"
    };
    assert_eq!(key.description(), Some(want));
    assert_eq!(
        key.key_state(),
        Some(&aws_sdk_kms::types::KeyState::Enabled)
    );
    assert_eq!(
        key.arn().unwrap(),
        format!("arn:aws:kms:{REGION}:{account}:key/{}", key.key_id())
    );
    let rot = kms
        .get_key_rotation_status()
        .key_id(key.key_id())
        .send()
        .await
        .unwrap();
    assert!(rot.key_rotation_enabled());
    let tags = kms
        .list_resource_tags()
        .key_id(key.key_id())
        .send()
        .await
        .unwrap();
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.tag_key() == "zinfra:address" && t.tag_value() == "kms_key.data")
    );
    let key_arn = key.arn().unwrap().to_owned();
    ids.push(key.key_id().to_owned());

    // EC2: VPC, subnets, internet gateway, Elastic IP, NAT gateway, route tables, security group.
    let ec2 = aws_sdk_ec2::Client::new(&conf);
    let vpcs = ec2
        .describe_vpcs()
        .filters(tag("zinfra:stack", STACK))
        .send()
        .await
        .unwrap();
    assert_eq!(vpcs.vpcs().len(), 1);
    let vpc = &vpcs.vpcs()[0];
    assert_eq!(vpc.cidr_block(), Some("10.20.0.0/16"));
    assert!(
        vpc.tags()
            .iter()
            .any(|t| t.key() == Some("Name") && t.value() == Some("ls-demo"))
    );
    let vpc_id = vpc.vpc_id().unwrap().to_owned();
    ids.push(vpc_id.clone());
    let subnets = ec2
        .describe_subnets()
        .filters(tag("zinfra:stack", STACK))
        .send()
        .await
        .unwrap();
    let subnet = |cidr: &str| {
        subnets
            .subnets()
            .iter()
            .find(|s| s.cidr_block() == Some(cidr))
            .unwrap_or_else(|| panic!("subnet {cidr}"))
            .clone()
    };
    let (public, private) = (subnet("10.20.0.0/24"), subnet("10.20.10.0/24"));
    assert_eq!(subnets.subnets().len(), 2);
    for s in [&public, &private] {
        assert_eq!(s.vpc_id(), Some(vpc_id.as_str()));
        assert_eq!(s.availability_zone(), Some("eu-west-1a"));
        ids.push(s.subnet_id().unwrap().to_owned());
    }
    assert_eq!(private.map_public_ip_on_launch(), Some(false));
    let igws = ec2
        .describe_internet_gateways()
        .filters(tag("zinfra:stack", STACK))
        .send()
        .await
        .unwrap();
    assert_eq!(igws.internet_gateways().len(), 1);
    let igw = &igws.internet_gateways()[0];
    assert_eq!(igw.attachments()[0].vpc_id(), Some(vpc_id.as_str()));
    let igw_id = igw.internet_gateway_id().unwrap().to_owned();
    let eips = ec2
        .describe_addresses()
        .filters(tag("zinfra:stack", STACK))
        .send()
        .await
        .unwrap();
    assert_eq!(eips.addresses().len(), 1);
    let eip = &eips.addresses()[0];
    let nats = ec2
        .describe_nat_gateways()
        .filter(tag("zinfra:stack", STACK))
        .send()
        .await
        .unwrap();
    let nats: Vec<_> = nats
        .nat_gateways()
        .iter()
        .filter(|n| n.state() == Some(&aws_sdk_ec2::types::NatGatewayState::Available))
        .collect();
    assert_eq!(nats.len(), 1);
    let nat = nats[0];
    assert_eq!(nat.subnet_id(), public.subnet_id());
    assert_eq!(
        nat.nat_gateway_addresses()[0].allocation_id(),
        eip.allocation_id(),
        "the NAT gateway uses the stack's Elastic IP"
    );
    let nat_id = nat.nat_gateway_id().unwrap().to_owned();
    ids.push(nat_id.clone());
    let tables = ec2
        .describe_route_tables()
        .filters(tag("zinfra:stack", STACK))
        .send()
        .await
        .unwrap();
    assert_eq!(tables.route_tables().len(), 2);
    for t in tables.route_tables() {
        let default = t
            .routes()
            .iter()
            .find(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
            .expect("a default route");
        let subnets: Vec<_> = t
            .associations()
            .iter()
            .filter_map(|a| a.subnet_id())
            .collect();
        if default.gateway_id() == Some(igw_id.as_str()) {
            assert_eq!(subnets, [public.subnet_id().unwrap()]);
        } else {
            assert_eq!(default.nat_gateway_id(), Some(nat_id.as_str()));
            assert_eq!(subnets, [private.subnet_id().unwrap()]);
        }
    }
    let sgs = ec2
        .describe_security_groups()
        .filters(tag("zinfra:stack", STACK))
        .send()
        .await
        .unwrap();
    assert_eq!(sgs.security_groups().len(), 1);
    let sg = &sgs.security_groups()[0];
    assert_eq!(sg.description(), Some("ls-demo app: HTTPS inside the VPC"));
    assert_eq!(sg.ip_permissions().len(), 1);
    let rule = &sg.ip_permissions()[0];
    assert_eq!((rule.from_port(), rule.to_port()), (Some(443), Some(443)));
    assert_eq!(rule.ip_ranges()[0].cidr_ip(), Some("10.20.0.0/16"));
    let want = if changed {
        "HTTPS from inside"
    } else {
        "HTTPS from the VPC"
    };
    assert_eq!(rule.ip_ranges()[0].description(), Some(want));
    let egress = sg.ip_permissions_egress();
    assert_eq!(egress.len(), 1, "only the declared egress rule: {egress:?}");
    assert_eq!(egress[0].ip_ranges()[0].cidr_ip(), Some("10.20.0.0/16"));
    ids.push(sg.group_id().unwrap().to_owned());

    // S3: SSE-KMS with the stack's key, public access blocked, versioned, the policy, tags.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    );
    let b = "ls-demo-assets";
    let enc = s3.get_bucket_encryption().bucket(b).send().await.unwrap();
    let rule = enc.server_side_encryption_configuration().unwrap().rules()[0]
        .apply_server_side_encryption_by_default()
        .unwrap()
        .clone();
    assert_eq!(rule.sse_algorithm().as_str(), "aws:kms");
    assert_eq!(rule.kms_master_key_id(), Some(key_arn.as_str()));
    let pab = s3.get_public_access_block().bucket(b).send().await.unwrap();
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
    let v = s3.get_bucket_versioning().bucket(b).send().await.unwrap();
    assert_eq!(
        v.status(),
        Some(&aws_sdk_s3::types::BucketVersioningStatus::Enabled)
    );
    let policy = s3.get_bucket_policy().bucket(b).send().await.unwrap();
    let policy: serde_json::Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    assert_eq!(policy["Statement"][0]["Sid"], "DenyInsecureTransport");
    assert_eq!(policy["Statement"][0]["Effect"], "Deny");
    assert_eq!(
        policy["Statement"][0]["Condition"]["Bool"]["aws:SecureTransport"],
        "false"
    );
    let tags = s3.get_bucket_tagging().bucket(b).send().await.unwrap();
    assert!(
        tags.tag_set()
            .iter()
            .any(|t| t.key() == "zinfra:address" && t.value() == "s3_bucket.assets")
    );
    ids.push(b.to_owned());

    // CloudWatch Logs: the group with its retention, tagged for the stack.
    let logs = aws_sdk_cloudwatchlogs::Client::new(&conf);
    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix("/ls-demo/app")
        .send()
        .await
        .unwrap();
    let g = &groups.log_groups()[0];
    assert_eq!(g.retention_in_days(), Some(if changed { 30 } else { 14 }));
    let group_arn = g.log_group_arn().unwrap().to_owned();
    let tags = logs
        .list_tags_for_resource()
        .resource_arn(&group_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags.tags()
            .and_then(|t| t.get("zinfra:address"))
            .map(String::as_str),
        Some("cloudwatch_log_group.app")
    );
    ids.push(group_arn);

    // SSM.
    let ssm = aws_sdk_ssm::Client::new(&conf);
    let p = ssm
        .get_parameter()
        .name("/ls-demo/log-level")
        .send()
        .await
        .unwrap();
    let p = p.parameter().unwrap();
    assert_eq!(p.value(), Some(if changed { "debug" } else { "info" }));
    assert_eq!(p.r#type(), Some(&aws_sdk_ssm::types::ParameterType::String));
    let param_arn = p.arn().unwrap().to_owned();

    // IAM: the OIDC provider, the deploy role trusting it, the app role's inline policy.
    let iam = aws_sdk_iam::Client::new(&conf);
    let oidc_arn =
        format!("arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com");
    let oidc = iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(&oidc_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(oidc.client_id_list(), ["sts.amazonaws.com"]);
    assert_eq!(
        oidc.thumbprint_list(),
        ["6938fd4d98bab03faadb97b34396831e3780aea1"]
    );
    let deploy = iam
        .get_role()
        .role_name("ls-demo-deploy")
        .send()
        .await
        .unwrap();
    let trust = urlencoding::decode(
        deploy
            .role()
            .unwrap()
            .assume_role_policy_document()
            .unwrap(),
    )
    .unwrap()
    .into_owned();
    let trust: serde_json::Value = serde_json::from_str(&trust).unwrap();
    assert_eq!(
        trust["Statement"][0]["Principal"]["Federated"],
        oidc_arn.as_str()
    );
    assert_eq!(
        trust["Statement"][0]["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"],
        "repo:ls/demo:ref:refs/heads/main"
    );
    let app = iam
        .get_role()
        .role_name("ls-demo-app")
        .send()
        .await
        .unwrap();
    let want = if changed {
        "The app, changed"
    } else {
        "The app at run time"
    };
    assert_eq!(app.role().unwrap().description(), Some(want));
    let inline = iam
        .get_role_policy()
        .role_name("ls-demo-app")
        .policy_name("read-config")
        .send()
        .await
        .unwrap();
    let inline: serde_json::Value =
        serde_json::from_str(&urlencoding::decode(inline.policy_document()).unwrap()).unwrap();
    assert_eq!(inline["Statement"][0]["Resource"], param_arn.as_str());
    ids.push(deploy.role().unwrap().role_id().to_owned());

    // Route 53 and ACM: the zone, the record, the issued certificate and its validation record.
    let r53 = aws_sdk_route53::Client::new(&conf);
    let zones = r53
        .list_hosted_zones_by_name()
        .dns_name("ls-demo.example")
        .send()
        .await
        .unwrap();
    let zone = zones
        .hosted_zones()
        .iter()
        .find(|z| z.name() == "ls-demo.example.")
        .expect("the zone");
    assert_eq!(
        zone.config().and_then(|c| c.comment()),
        Some("ls-demo zone")
    );
    let records = r53
        .list_resource_record_sets()
        .hosted_zone_id(zone.id())
        .send()
        .await
        .unwrap();
    let www = records
        .resource_record_sets()
        .iter()
        .find(|r| r.name() == "www.ls-demo.example." && r.r#type().as_str() == "CNAME")
        .expect("the www record");
    assert_eq!(www.ttl(), Some(if changed { 600 } else { 300 }));
    assert_eq!(www.resource_records()[0].value(), "api.ls-demo.example");
    ids.push(zone.id().to_owned());
    let acm = aws_sdk_acm::Client::new(&conf);
    let certs = acm.list_certificates().send().await.unwrap();
    let cert = certs
        .certificate_summary_list()
        .iter()
        .find(|c| c.domain_name() == Some("api.ls-demo.example"))
        .expect("the certificate");
    let cert = acm
        .describe_certificate()
        .certificate_arn(cert.certificate_arn().unwrap())
        .send()
        .await
        .unwrap();
    let cert = cert.certificate().unwrap();
    assert_eq!(
        cert.status(),
        Some(&aws_sdk_acm::types::CertificateStatus::Issued)
    );
    let validation = cert.domain_validation_options()[0]
        .resource_record()
        .expect("a validation record");
    assert!(
        records
            .resource_record_sets()
            .iter()
            .any(|r| r.name() == validation.name()),
        "the validation record {} is in the zone",
        validation.name()
    );
    ids.push(cert.certificate_arn().unwrap().to_owned());
    ids
}

/// What the stack left on LocalStack, listed service by service (not through the tag index).
async fn leftovers() -> Vec<String> {
    let conf = sdk_config(REGION).await;
    let mut left = Vec::new();
    let logs = aws_sdk_cloudwatchlogs::Client::new(&conf);
    left.extend(
        logs.describe_log_groups()
            .log_group_name_prefix("/ls-demo/")
            .send()
            .await
            .unwrap()
            .log_groups()
            .iter()
            .map(|g| format!("{g:?}")),
    );
    let ec2 = aws_sdk_ec2::Client::new(&conf);
    let f = aws_sdk_ec2::types::Filter::builder()
        .name("tag:zinfra:stack")
        .values(STACK)
        .build();
    left.extend(
        ec2.describe_vpcs()
            .filters(f.clone())
            .send()
            .await
            .unwrap()
            .vpcs()
            .iter()
            .map(|v| format!("{v:?}")),
    );
    left.extend(
        ec2.describe_subnets()
            .filters(f.clone())
            .send()
            .await
            .unwrap()
            .subnets()
            .iter()
            .map(|v| format!("{v:?}")),
    );
    left.extend(
        ec2.describe_addresses()
            .filters(f.clone())
            .send()
            .await
            .unwrap()
            .addresses()
            .iter()
            .map(|v| format!("{v:?}")),
    );
    left.extend(
        ec2.describe_security_groups()
            .filters(f.clone())
            .send()
            .await
            .unwrap()
            .security_groups()
            .iter()
            .map(|v| format!("{v:?}")),
    );
    left.extend(
        ec2.describe_route_tables()
            .filters(f.clone())
            .send()
            .await
            .unwrap()
            .route_tables()
            .iter()
            .map(|v| format!("{v:?}")),
    );
    left.extend(
        ec2.describe_internet_gateways()
            .filters(f.clone())
            .send()
            .await
            .unwrap()
            .internet_gateways()
            .iter()
            .map(|v| format!("{v:?}")),
    );
    left.extend(
        ec2.describe_nat_gateways()
            .filter(f)
            .send()
            .await
            .unwrap()
            .nat_gateways()
            .iter()
            .filter(|n| {
                !matches!(
                    n.state(),
                    Some(
                        aws_sdk_ec2::types::NatGatewayState::Deleted
                            | aws_sdk_ec2::types::NatGatewayState::Deleting
                    )
                )
            })
            .map(|v| format!("{v:?}")),
    );
    let kms = aws_sdk_kms::Client::new(&conf);
    if let Ok(k) = kms.describe_key().key_id("alias/ls-demo-data").send().await {
        let state = k.key_metadata().and_then(|m| m.key_state().cloned());
        if state != Some(aws_sdk_kms::types::KeyState::PendingDeletion) {
            left.push(format!("kms key {state:?}"));
        }
    }
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    );
    let buckets = s3.list_buckets().send().await.unwrap();
    left.extend(
        buckets
            .buckets()
            .iter()
            .filter_map(|b| b.name())
            .filter(|n| n.starts_with("ls-demo"))
            .map(str::to_owned),
    );
    let ssm = aws_sdk_ssm::Client::new(&conf);
    if ssm
        .get_parameter()
        .name("/ls-demo/log-level")
        .send()
        .await
        .is_ok()
    {
        left.push("ssm /ls-demo/log-level".into());
    }
    let iam = aws_sdk_iam::Client::new(&conf);
    let roles = iam.list_roles().send().await.unwrap();
    left.extend(
        roles
            .roles()
            .iter()
            .map(|r| r.role_name())
            .filter(|n| n.starts_with("ls-demo"))
            .map(str::to_owned),
    );
    let oidc = iam.list_open_id_connect_providers().send().await.unwrap();
    left.extend(
        oidc.open_id_connect_provider_list()
            .iter()
            .filter_map(|p| p.arn())
            .map(str::to_owned),
    );
    let r53 = aws_sdk_route53::Client::new(&conf);
    let zones = r53.list_hosted_zones().send().await.unwrap();
    left.extend(
        zones
            .hosted_zones()
            .iter()
            .map(|z| z.name())
            .filter(|n| n.contains("ls-demo"))
            .map(str::to_owned),
    );
    let acm = aws_sdk_acm::Client::new(&conf);
    let certs = acm.list_certificates().send().await.unwrap();
    left.extend(
        certs
            .certificate_summary_list()
            .iter()
            .filter_map(|c| c.domain_name())
            .filter(|d| d.contains("ls-demo"))
            .map(str::to_owned),
    );
    left
}

/// A plan reads what the stack can own: on LocalStack, a stack without MSK, ECR, WAF, CloudFront,
/// GuardDuty or Security Hub sends those services nothing (LocalStack's free edition answers 501).
#[test]
fn a_plan_calls_no_service_the_stack_does_not_use() {
    let proxy = Proxy::start(&localstack().endpoint, Faults::default(), 1);
    let dir = Scratch::new("ls-minimal");
    let f = dir.write("minimal.toml", &example("minimal.toml"));
    let plan = zinfra_at(&proxy.endpoint, &["plan", path(&f)], &[]);
    assert_eq!(
        plan.code, 0,
        "plan on LocalStack\n{}\n{}",
        plan.stdout, plan.stderr
    );
    let counts = proxy.counts();
    let services: std::collections::BTreeSet<&str> =
        counts.keys().map(|(s, _)| s.as_str()).collect();
    for absent in [
        "kafka",
        "ecr",
        "wafv2",
        "cloudfront",
        "guardduty",
        "securityhub",
        "elasticloadbalancing",
        "ecs",
        "elasticache",
        "dynamodb",
    ] {
        assert!(
            !services.contains(absent),
            "the plan called {absent}: {counts:?}"
        );
    }
    eprintln!(
        "plan of examples/minimal.toml on LocalStack: {} requests: {counts:?}",
        proxy.total()
    );
}

/// A service the free edition lacks, for a kind the stack declares: one clear line naming the service
/// and the endpoint, at once (501 is a definite answer, never retried as "outcome unknown").
#[test]
fn an_unavailable_service_for_a_declared_kind_is_one_clear_error_without_retries() {
    let proxy = Proxy::start(&localstack().endpoint, Faults::default(), 2);
    let dir = Scratch::new("ls-ecr");
    let f = dir.write(
        "ecr.toml",
        "[stack]\nname = \"ls-ecr\"\nenvironment = \"dev\"\nregion = \"eu-west-1\"\n\
         waivers = [{ rule = \"ZS-IDS-001\", reason = \"test\" }, { rule = \"ZS-IDS-002\", reason = \"test\" }]\n\n\
         [ecr_repository.app]\nrepository_name = \"ls-ecr/app\"\n",
    );
    let t0 = std::time::Instant::now();
    let plan = zinfra_at(&proxy.endpoint, &["plan", path(&f)], &[]);
    assert_eq!(plan.code, 1, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stderr.contains("service ecr is not available at")
            && plan.stderr.contains(&proxy.endpoint),
        "{}",
        plan.stderr
    );
    let ecr: u64 = proxy
        .counts()
        .iter()
        .filter(|((s, _), _)| s == "ecr")
        .map(|(_, n)| n)
        .sum();
    assert_eq!(ecr, 1, "asked once, not retried: {:?}", proxy.counts());
    eprintln!("unavailable service reported after {:?}", t0.elapsed());
}

/// The S3 lock (the default store) on LocalStack: a second holder is refused while the first holds it,
/// and released locks are free again.
#[test]
fn the_s3_lock_works_on_localstack() {
    let dir = Scratch::new("ls-lock");
    let f = dir.write(
        "lock.toml",
        "[stack]\nname = \"ls-lock\"\nenvironment = \"dev\"\nregion = \"eu-west-1\"\n\
         waivers = [{ rule = \"ZS-IDS-001\", reason = \"test\" }, { rule = \"ZS-IDS-002\", reason = \"test\" }]\n\n\
         [ssm_parameter.a]\nname = \"/ls-lock/a\"\ntype = \"String\"\nvalue = \"1\"\n",
    );
    run(&["apply", "--auto-approve", path(&f)]).expect(0);
    run(&["apply", "--auto-approve", path(&f)]).expect(0);
    run(&["destroy", "--auto-approve", path(&f)]).expect(0);
}

/// Services LocalStack's free edition does not serve (or not offline): the hybrid sends them to moto
/// through `AWS_ENDPOINT_URL_<SERVICE>`, as `examples/local-emulator.sh --localstack` does.
const MOTO_SERVICES: &[&str] = &[
    // moto's ELBv2, ECS, ElastiCache and MSK check subnets, VPCs and security groups in moto's EC2,
    // and its listeners check their certificate in moto's ACM.
    "EC2",
    "ACM",
    "KAFKA",
    "ECR",
    "ECS",
    "ELASTICACHE",
    "ELASTIC_LOAD_BALANCING_V2",
    "WAFV2",
    "CLOUDFRONT",
    "GUARDDUTY",
    "SECURITYHUB",
    "DYNAMODB",
];

/// The whole reference stack locally: LocalStack for what it serves, moto for the rest. It applies,
/// re-plans clean and destroys clean, and nothing it made is left in either emulator.
#[test]
fn the_reference_stack_on_localstack_plus_moto() {
    let _turn = IAM_TURN.blocking_lock();
    let moto = crate::support::moto::start_private();
    let dir = Scratch::new("hybrid");
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/stacks/zenoo-dev.toml"
    ))
    .unwrap();
    let f = dir.write("zenoo-dev.toml", &text);
    let vars: Vec<(String, String)> = MOTO_SERVICES
        .iter()
        .map(|s| (format!("AWS_ENDPOINT_URL_{s}"), moto.endpoint.clone()))
        .collect();
    let mut env: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    env.extend(crate::stack::DEV_ENV);
    env.push(("ZINFRA_RPS", "off"));
    let t0 = std::time::Instant::now();
    let apply = zinfra_at(
        &localstack().endpoint,
        &["apply", "--auto-approve", path(&f)],
        &env,
    );
    assert_eq!(
        apply.code, 0,
        "hybrid apply\n{}\n{}",
        apply.stdout, apply.stderr
    );
    let plan = zinfra_at(
        &localstack().endpoint,
        &["plan", "--detailed-exitcode", path(&f)],
        &env,
    );
    assert_eq!(
        plan.code, 0,
        "hybrid re-plan\n{}\n{}",
        plan.stdout, plan.stderr
    );
    zinfra_at(
        &localstack().endpoint,
        &["destroy", "--auto-approve", path(&f)],
        &env,
    )
    .expect(0);
    let after = zinfra_at(&localstack().endpoint, &["plan", "--json", path(&f)], &env)
        .expect(0)
        .json();
    let actions = changes(&after);
    assert!(
        actions.iter().all(|(_, a)| a == "create"),
        "after destroy, nothing of the stack is left: {actions:?}"
    );
    eprintln!(
        "hybrid life cycle of the reference stack: {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}
