//! Faults between zinfra and AWS, through the fault-injecting proxy: throttling, 5xx and dropped
//! connections are retried in every protocol, the lock holds against a second run, and an interrupted
//! apply releases its lock and is finished by the next one.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::stack::{DEV_ENV, reference_stack};
use crate::support::cli::{Scratch, path, zinfra_at};
use crate::support::moto::{Moto, start_private};
use crate::support::proxy::{Faults, Proxy};

async fn config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .retry_config(
            aws_config::retry::RetryConfig::standard()
                .with_max_attempts(8)
                .with_initial_backoff(Duration::from_millis(10)),
        )
        .load()
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_and_server_errors_are_retried_in_each_protocol() {
    let moto = crate::support::moto();
    let proxy = Proxy::start(&moto.endpoint, Faults::default(), 7);
    let conf = config(&proxy.endpoint).await;
    let ssm = aws_sdk_ssm::Client::new(&conf);
    let ec2 = aws_sdk_ec2::Client::new(&conf);
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    );
    for (faults, kind) in [
        (
            Faults {
                throttle: 1.0,
                ..Faults::default()
            },
            "throttle",
        ),
        (
            Faults {
                server_error: 1.0,
                ..Faults::default()
            },
            "server_error",
        ),
        (
            Faults {
                drop: 1.0,
                ..Faults::default()
            },
            "drop",
        ),
    ] {
        proxy.set_faults(faults);
        proxy.reset_counts();
        // Every attempt fails: the SDK tries 8 times per call, then reports the error.
        assert!(ssm.describe_parameters().send().await.is_err());
        assert!(ec2.describe_vpcs().send().await.is_err());
        assert!(s3.list_buckets().send().await.is_err());
        assert_eq!(
            proxy.injected().get(kind),
            Some(&24),
            "{kind}: {:?}",
            proxy.injected()
        );
    }
    // With a fault on one request in three, every call still succeeds.
    proxy.set_faults(Faults::mixed(0.3));
    proxy.reset_counts();
    for _ in 0..10 {
        ssm.describe_parameters().send().await.unwrap();
        ec2.describe_vpcs().send().await.unwrap();
        s3.list_buckets().send().await.unwrap();
    }
    assert!(proxy.injected().values().sum::<u64>() > 0);
    let counts = proxy.counts();
    assert!(
        counts.contains_key(&("ssm".to_owned(), "DescribeParameters".to_owned())),
        "{counts:?}"
    );
    assert!(
        counts.contains_key(&("ec2".to_owned(), "DescribeVpcs".to_owned())),
        "{counts:?}"
    );
}

/// What the emulator holds of each kind zinfra manages, and which of it is not tagged for `stack`.
async fn inventory(endpoint: &str, stack: &str) -> (BTreeMap<&'static str, usize>, Vec<String>) {
    let conf = config(endpoint).await;
    let mut count = BTreeMap::new();
    let mut untagged = Vec::new();
    let owned =
        |tags: Vec<(String, String)>| tags.iter().any(|(k, v)| k == "zinfra:stack" && v == stack);

    let ec2 = aws_sdk_ec2::Client::new(&conf);
    let vpcs = ec2.describe_vpcs().send().await.unwrap();
    for v in vpcs.vpcs().iter().filter(|v| v.is_default() != Some(true)) {
        *count.entry("vpc").or_default() += 1;
        if !owned(
            v.tags()
                .iter()
                .map(|t| (t.key().unwrap_or("").into(), t.value().unwrap_or("").into()))
                .collect(),
        ) {
            untagged.push(format!("vpc {}", v.vpc_id().unwrap_or("")));
        }
    }
    let default_vpc: Vec<String> = vpcs
        .vpcs()
        .iter()
        .filter(|v| v.is_default() == Some(true))
        .filter_map(|v| v.vpc_id().map(str::to_owned))
        .collect();
    let subnets = ec2.describe_subnets().send().await.unwrap();
    for s in subnets
        .subnets()
        .iter()
        .filter(|s| !default_vpc.iter().any(|d| Some(d.as_str()) == s.vpc_id()))
    {
        *count.entry("subnet").or_default() += 1;
        if !owned(
            s.tags()
                .iter()
                .map(|t| (t.key().unwrap_or("").into(), t.value().unwrap_or("").into()))
                .collect(),
        ) {
            untagged.push(format!("subnet {}", s.subnet_id().unwrap_or("")));
        }
    }
    let sgs = ec2.describe_security_groups().send().await.unwrap();
    for g in sgs
        .security_groups()
        .iter()
        .filter(|g| g.group_name() != Some("default"))
    {
        *count.entry("security_group").or_default() += 1;
        if !owned(
            g.tags()
                .iter()
                .map(|t| (t.key().unwrap_or("").into(), t.value().unwrap_or("").into()))
                .collect(),
        ) {
            untagged.push(format!("security group {}", g.group_id().unwrap_or("")));
        }
    }
    let rts = ec2.describe_route_tables().send().await.unwrap();
    for r in rts
        .route_tables()
        .iter()
        .filter(|r| !r.associations().iter().any(|a| a.main() == Some(true)))
    {
        *count.entry("route_table").or_default() += 1;
        if !owned(
            r.tags()
                .iter()
                .map(|t| (t.key().unwrap_or("").into(), t.value().unwrap_or("").into()))
                .collect(),
        ) {
            untagged.push(format!("route table {}", r.route_table_id().unwrap_or("")));
        }
    }
    let igws = ec2.describe_internet_gateways().send().await.unwrap();
    for g in igws.internet_gateways().iter().filter(|g| {
        !g.attachments()
            .iter()
            .any(|a| default_vpc.iter().any(|d| Some(d.as_str()) == a.vpc_id()))
    }) {
        *count.entry("internet_gateway").or_default() += 1;
        if !owned(
            g.tags()
                .iter()
                .map(|t| (t.key().unwrap_or("").into(), t.value().unwrap_or("").into()))
                .collect(),
        ) {
            untagged.push(format!(
                "internet gateway {}",
                g.internet_gateway_id().unwrap_or("")
            ));
        }
    }
    let kms = aws_sdk_kms::Client::new(&conf);
    for k in kms.list_keys().send().await.unwrap().keys() {
        let id = k.key_id().unwrap_or("");
        let meta = kms.describe_key().key_id(id).send().await.unwrap();
        let meta = meta.key_metadata().unwrap();
        if meta.key_manager() == Some(&aws_sdk_kms::types::KeyManagerType::Aws)
            || meta.key_state() == Some(&aws_sdk_kms::types::KeyState::PendingDeletion)
        {
            continue;
        }
        *count.entry("kms_key").or_default() += 1;
        let tags = kms.list_resource_tags().key_id(id).send().await.unwrap();
        if !owned(
            tags.tags()
                .iter()
                .map(|t| (t.tag_key().into(), t.tag_value().into()))
                .collect(),
        ) {
            untagged.push(format!("kms key {id}"));
        }
    }
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    );
    for b in s3.list_buckets().send().await.unwrap().buckets() {
        let name = b.name().unwrap_or("");
        // The lock store (src/drivers/lock/s3.rs) belongs to no stack, like the lock table below.
        if name.starts_with("zinfra-locks-") {
            continue;
        }
        *count.entry("s3_bucket").or_default() += 1;
        let tags = s3
            .get_bucket_tagging()
            .bucket(name)
            .send()
            .await
            .map(|t| {
                t.tag_set()
                    .iter()
                    .map(|t| (t.key().to_owned(), t.value().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        if !owned(tags) {
            untagged.push(format!("bucket {name}"));
        }
    }
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    for t in ddb.list_tables().send().await.unwrap().table_names() {
        if t == "zinfra-locks" {
            continue;
        }
        *count.entry("dynamodb_table").or_default() += 1;
        let arn = ddb
            .describe_table()
            .table_name(t)
            .send()
            .await
            .unwrap()
            .table()
            .and_then(|t| t.table_arn().map(str::to_owned))
            .unwrap_or_default();
        let tags = ddb
            .list_tags_of_resource()
            .resource_arn(arn)
            .send()
            .await
            .unwrap();
        if !owned(
            tags.tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect(),
        ) {
            untagged.push(format!("table {t}"));
        }
    }
    let ssm = aws_sdk_ssm::Client::new(&conf);
    for p in ssm.describe_parameters().send().await.unwrap().parameters() {
        let name = p.name().unwrap_or("");
        let tags = ssm
            .list_tags_for_resource()
            .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
            .resource_id(name)
            .send()
            .await
            .unwrap();
        // A parameter another resource writes (MSK's bootstrap brokers) is that resource's, not a
        // declared `ssm_parameter`.
        if !tags.tag_list().iter().any(|t| t.key() == "zinfra:parent") {
            *count.entry("ssm_parameter").or_default() += 1;
        }
        if !owned(
            tags.tag_list()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect(),
        ) {
            untagged.push(format!("parameter {name}"));
        }
    }
    let iam = aws_sdk_iam::Client::new(&conf);
    for r in iam.list_roles().send().await.unwrap().roles() {
        *count.entry("iam_role").or_default() += 1;
        let tags = iam
            .list_role_tags()
            .role_name(r.role_name())
            .send()
            .await
            .unwrap();
        if !owned(
            tags.tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect(),
        ) {
            untagged.push(format!("role {}", r.role_name()));
        }
    }
    let oidc = iam.list_open_id_connect_providers().send().await.unwrap();
    *count.entry("iam_oidc_provider").or_default() += oidc.open_id_connect_provider_list().len();
    let mut inv = Inventory {
        stack,
        count,
        untagged,
    };
    inventory_services(&conf, &mut inv).await;
    (inv.count, inv.untagged)
}

struct Inventory<'a> {
    stack: &'a str,
    count: BTreeMap<&'static str, usize>,
    untagged: Vec<String>,
}

impl Inventory<'_> {
    /// One resource that is found from its parent (AWS cannot tag it).
    fn count(&mut self, kind: &'static str, _id: &str) {
        *self.count.entry(kind).or_default() += 1;
    }

    /// One resource, which must carry the stack's tag.
    fn note(&mut self, kind: &'static str, id: &str, tags: Vec<(String, String)>) {
        self.count(kind, id);
        if !tags
            .iter()
            .any(|(k, v)| k == "zinfra:stack" && v == self.stack)
        {
            self.untagged.push(format!("{kind} {id}"));
        }
    }
}

/// The kinds beyond the core: every service the reference stack uses, listed directly (not through the
/// tagging index, whose gaps are what a duplicate would hide in).
async fn inventory_services(conf: &aws_config::SdkConfig, inv: &mut Inventory<'_>) {
    let pairs = |it: Vec<(Option<&str>, Option<&str>)>| -> Vec<(String, String)> {
        it.into_iter()
            .map(|(k, v)| (k.unwrap_or("").to_owned(), v.unwrap_or("").to_owned()))
            .collect()
    };
    let ec2 = aws_sdk_ec2::Client::new(conf);
    for a in ec2.describe_addresses().send().await.unwrap().addresses() {
        let tags = pairs(a.tags().iter().map(|t| (t.key(), t.value())).collect());
        inv.note("eip", a.allocation_id().unwrap_or(""), tags);
    }
    let nats = ec2.describe_nat_gateways().send().await.unwrap();
    for n in nats.nat_gateways().iter().filter(|n| {
        !matches!(
            n.state(),
            Some(aws_sdk_ec2::types::NatGatewayState::Deleted)
                | Some(aws_sdk_ec2::types::NatGatewayState::Deleting)
        )
    }) {
        let tags = pairs(n.tags().iter().map(|t| (t.key(), t.value())).collect());
        inv.note("nat_gateway", n.nat_gateway_id().unwrap_or(""), tags);
    }

    let elb = aws_sdk_elasticloadbalancingv2::Client::new(conf);
    let elb_tags = |arn: String| {
        let elb = elb.clone();
        async move {
            let out = elb
                .describe_tags()
                .resource_arns(&arn)
                .send()
                .await
                .unwrap();
            out.tag_descriptions()
                .iter()
                .flat_map(|d| d.tags())
                .map(|t| {
                    (
                        t.key().unwrap_or("").to_owned(),
                        t.value().unwrap_or("").to_owned(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    let lbs = elb.describe_load_balancers().send().await.unwrap();
    for lb in lbs.load_balancers() {
        let arn = lb.load_balancer_arn().unwrap_or("").to_owned();
        inv.note("lb", &arn, elb_tags(arn.clone()).await);
        let listeners = elb
            .describe_listeners()
            .load_balancer_arn(&arn)
            .send()
            .await
            .unwrap();
        for l in listeners.listeners() {
            let larn = l.listener_arn().unwrap_or("").to_owned();
            inv.note("lb_listener", &larn, elb_tags(larn.clone()).await);
            let rules = elb
                .describe_rules()
                .listener_arn(&larn)
                .send()
                .await
                .unwrap();
            for r in rules
                .rules()
                .iter()
                .filter(|r| r.is_default() != Some(true))
            {
                // Rules are found from their listener.
                inv.count("lb_listener_rule", r.rule_arn().unwrap_or(""));
            }
        }
    }
    for tg in elb
        .describe_target_groups()
        .send()
        .await
        .unwrap()
        .target_groups()
    {
        let arn = tg.target_group_arn().unwrap_or("").to_owned();
        inv.note("lb_target_group", &arn, elb_tags(arn.clone()).await);
    }

    let ecr = aws_sdk_ecr::Client::new(conf);
    for r in ecr
        .describe_repositories()
        .send()
        .await
        .unwrap()
        .repositories()
    {
        let arn = r.repository_arn().unwrap_or("");
        let out = ecr
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .unwrap();
        let tags = pairs(
            out.tags()
                .iter()
                .map(|t| (Some(t.key()), Some(t.value())))
                .collect(),
        );
        inv.note("ecr_repository", arn, tags);
    }

    let logs = aws_sdk_cloudwatchlogs::Client::new(conf);
    for g in logs
        .describe_log_groups()
        .send()
        .await
        .unwrap()
        .log_groups()
    {
        let Some(arn) = g.log_group_arn() else {
            continue;
        };
        let out = logs
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .unwrap();
        let tags = pairs(
            out.tags()
                .into_iter()
                .flatten()
                .map(|(k, v)| (Some(k.as_str()), Some(v.as_str())))
                .collect(),
        );
        inv.note("cloudwatch_log_group", arn, tags);
    }

    let ecs = aws_sdk_ecs::Client::new(conf);
    let clusters = ecs.list_clusters().send().await.unwrap();
    let described = ecs
        .describe_clusters()
        .set_clusters(Some(clusters.cluster_arns().to_vec()))
        .include(aws_sdk_ecs::types::ClusterField::Tags)
        .send()
        .await
        .unwrap();
    for c in described
        .clusters()
        .iter()
        .filter(|c| c.status() == Some("ACTIVE"))
    {
        let arn = c.cluster_arn().unwrap_or("");
        let tags = pairs(c.tags().iter().map(|t| (t.key(), t.value())).collect());
        inv.note("ecs_cluster", arn, tags);
        let services = ecs.list_services().cluster(arn).send().await.unwrap();
        if services.service_arns().is_empty() {
            continue;
        }
        let described = ecs
            .describe_services()
            .cluster(arn)
            .set_services(Some(services.service_arns().to_vec()))
            .include(aws_sdk_ecs::types::ServiceField::Tags)
            .send()
            .await
            .unwrap();
        for s in described
            .services()
            .iter()
            .filter(|s| s.status() == Some("ACTIVE"))
        {
            let tags = pairs(s.tags().iter().map(|t| (t.key(), t.value())).collect());
            inv.note("ecs_service", s.service_arn().unwrap_or(""), tags);
        }
    }
    let tds = ecs
        .list_task_definitions()
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .send()
        .await
        .unwrap();
    for arn in tds.task_definition_arns() {
        let out = ecs
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .unwrap();
        let tags = pairs(out.tags().iter().map(|t| (t.key(), t.value())).collect());
        inv.note("ecs_task_definition", arn, tags);
    }

    let acm = aws_sdk_acm::Client::new(conf);
    for c in acm
        .list_certificates()
        .send()
        .await
        .unwrap()
        .certificate_summary_list()
    {
        let arn = c.certificate_arn().unwrap_or("");
        let out = acm
            .list_tags_for_certificate()
            .certificate_arn(arn)
            .send()
            .await
            .unwrap();
        let tags = pairs(
            out.tags()
                .iter()
                .map(|t| (Some(t.key()), t.value()))
                .collect(),
        );
        inv.note("acm_certificate", arn, tags);
    }

    let r53 = aws_sdk_route53::Client::new(conf);
    for z in r53.list_hosted_zones().send().await.unwrap().hosted_zones() {
        let id = z.id().trim_start_matches("/hostedzone/");
        let out = r53
            .list_tags_for_resource()
            .resource_type(aws_sdk_route53::types::TagResourceType::Hostedzone)
            .resource_id(id)
            .send()
            .await
            .unwrap();
        let tags = pairs(
            out.resource_tag_set()
                .map(|s| s.tags())
                .unwrap_or_default()
                .iter()
                .map(|t| (t.key(), t.value()))
                .collect(),
        );
        inv.note("route53_zone", id, tags);
        let records = r53
            .list_resource_record_sets()
            .hosted_zone_id(id)
            .send()
            .await
            .unwrap();
        // SOA and NS come with the zone; `_…` CNAMEs are certificate validation records; `zinfra-…`
        // TXT records are the ownership registry: exactly one per record, never an orphan.
        let (owners, records): (Vec<_>, Vec<_>) = records
            .resource_record_sets()
            .iter()
            .filter(|r| {
                !matches!(
                    r.r#type(),
                    aws_sdk_route53::types::RrType::Soa | aws_sdk_route53::types::RrType::Ns
                ) && !r.name().starts_with('_')
            })
            .partition(|r| {
                r.r#type() == &aws_sdk_route53::types::RrType::Txt
                    && r.name().starts_with("zinfra-")
            });
        assert_eq!(
            owners.len(),
            records.len(),
            "one ownership record per record in zone {id}"
        );
        for r in records {
            inv.count("route53_record", r.name());
        }
    }

    let waf = aws_sdk_wafv2::Client::new(conf);
    for scope in [
        aws_sdk_wafv2::types::Scope::Regional,
        aws_sdk_wafv2::types::Scope::Cloudfront,
    ] {
        let acls = waf.list_web_acls().scope(scope).send().await.unwrap();
        for a in acls.web_acls() {
            let arn = a.arn().unwrap_or("");
            let out = waf
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await
                .unwrap();
            let tags = pairs(
                out.tag_info_for_resource()
                    .map(|i| i.tag_list())
                    .unwrap_or_default()
                    .iter()
                    .map(|t| (Some(t.key()), Some(t.value())))
                    .collect(),
            );
            inv.note("wafv2_web_acl", arn, tags);
        }
    }

    let cf = aws_sdk_cloudfront::Client::new(conf);
    let oacs = cf.list_origin_access_controls().send().await.unwrap();
    for o in oacs
        .origin_access_control_list()
        .map(|l| l.items())
        .unwrap_or_default()
    {
        // AWS cannot tag an origin access control: its name is the stack's.
        inv.count("cloudfront_origin_access_control", o.id());
    }
    let dists = cf.list_distributions().send().await.unwrap();
    for d in dists
        .distribution_list()
        .map(|l| l.items())
        .unwrap_or_default()
    {
        let out = cf
            .list_tags_for_resource()
            .resource(d.arn())
            .send()
            .await
            .unwrap();
        let tags = pairs(
            out.tags()
                .map(|t| t.items())
                .unwrap_or_default()
                .iter()
                .map(|t| (Some(t.key()), t.value()))
                .collect(),
        );
        inv.note("cloudfront_distribution", d.id(), tags);
    }

    let kafka = aws_sdk_kafka::Client::new(conf);
    for c in kafka
        .list_clusters()
        .send()
        .await
        .unwrap()
        .cluster_info_list()
    {
        let arn = c.cluster_arn().unwrap_or("");
        let out = kafka
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .unwrap();
        let tags = out
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        inv.note("msk_cluster", arn, tags);
    }

    let ec = aws_sdk_elasticache::Client::new(conf);
    let ec_tags = |arn: String| {
        let ec = ec.clone();
        async move {
            let out = ec
                .list_tags_for_resource()
                .resource_name(&arn)
                .send()
                .await
                .unwrap();
            out.tag_list()
                .iter()
                .map(|t| {
                    (
                        t.key().unwrap_or("").to_owned(),
                        t.value().unwrap_or("").to_owned(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    let groups = ec.describe_replication_groups().send().await.unwrap();
    for g in groups.replication_groups() {
        let arn = g.arn().unwrap_or("").to_owned();
        inv.note(
            "elasticache_replication_group",
            &arn,
            ec_tags(arn.clone()).await,
        );
    }
    for u in ec.describe_users().send().await.unwrap().users() {
        // ElastiCache's own `default` user is there before anything is made.
        if u.user_id() == Some("default") {
            continue;
        }
        let arn = u.arn().unwrap_or("").to_owned();
        inv.note("elasticache_user", &arn, ec_tags(arn.clone()).await);
    }
    for g in ec
        .describe_user_groups()
        .send()
        .await
        .unwrap()
        .user_groups()
    {
        let arn = g.arn().unwrap_or("").to_owned();
        inv.note("elasticache_user_group", &arn, ec_tags(arn.clone()).await);
    }
    let subnet_groups = ec.describe_cache_subnet_groups().send().await.unwrap();
    for g in subnet_groups
        .cache_subnet_groups()
        .iter()
        .filter(|g| g.cache_subnet_group_name() != Some("default"))
    {
        let arn = g.arn().unwrap_or("").to_owned();
        inv.note("elasticache_subnet_group", &arn, ec_tags(arn.clone()).await);
    }
    let param_groups = ec.describe_cache_parameter_groups().send().await.unwrap();
    for g in param_groups.cache_parameter_groups().iter().filter(|g| {
        !g.cache_parameter_group_name()
            .unwrap_or("")
            .starts_with("default.")
    }) {
        let arn = g.arn().unwrap_or("").to_owned();
        inv.note(
            "elasticache_parameter_group",
            &arn,
            ec_tags(arn.clone()).await,
        );
    }

    let gd = aws_sdk_guardduty::Client::new(conf);
    for id in gd.list_detectors().send().await.unwrap().detector_ids() {
        let d = gd.get_detector().detector_id(id).send().await.unwrap();
        let tags = d
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        inv.note("guardduty_detector", id, tags);
    }
}

/// Declared resources per kind in a stack file.
fn declared(text: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if let Some(h) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']'))
            && let Some((kind, name)) = h.split_once('.')
            && !h.contains(' ')
            && !h.starts_with('[')
            && !name.contains('.')
            && zinfra::kinds::kind(kind).is_some()
        {
            *out.entry(kind.to_owned()).or_default() += 1;
        }
    }
    out
}

struct Outcome {
    /// Why the applies that did not finish stopped.
    failures: Vec<String>,
    apply_runs: usize,
    destroy_runs: usize,
    requests: u64,
}

/// Apply (re-running until it succeeds), verify, destroy: on a fresh emulator, through faults.
async fn converge_once(
    moto: &Moto,
    proxy: &Proxy,
    rate: f64,
    f: &std::path::Path,
    text: &str,
) -> Outcome {
    moto.reset();
    proxy.reset_counts();
    // Without the rate limiter: every injected throttle would halve that API's rate for the rest of the
    // run (tests/pacing.rs covers the limiter under throttling); the soak is about convergence. The
    // lock is the default one, in S3, taken and released through the faults too.
    let env: Vec<(&str, &str)> = DEV_ENV
        .iter()
        .copied()
        .chain([("ZINFRA_RPS", "off")])
        .collect();
    let env = env.as_slice();
    proxy.set_faults(Faults::mixed(rate));
    let mut apply_runs = 0;
    let mut applies = String::new();
    let mut failures = Vec::new();
    loop {
        apply_runs += 1;
        let run = zinfra_at(&proxy.endpoint, &["apply", path(f), "--auto-approve"], env);
        applies.push_str(&run.stderr);
        if run.code == 0 {
            break;
        }
        failures.extend(
            run.stderr
                .lines()
                .chain(run.stdout.lines())
                .filter(|l| l.contains(" failed: ") || l.starts_with("error:"))
                .map(|l| l.chars().take(200).collect::<String>()),
        );
        assert!(
            apply_runs < 6,
            "no convergence after 5 applies:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }
    let requests = proxy.total();
    proxy.set_faults(Faults::default());
    let plan = zinfra_at(
        &proxy.endpoint,
        &["plan", path(f), "--detailed-exitcode"],
        env,
    );
    assert_eq!(
        plan.code, 0,
        "not converged:\n{}\n{}\n--- applies ---\n{applies}",
        plan.stdout, plan.stderr
    );
    let (have, untagged) = inventory(&moto.endpoint, "zenoo-dev").await;
    assert_eq!(untagged, Vec::<String>::new(), "untagged resources");
    let want = declared(text);
    for (kind, n) in &have {
        assert_eq!(Some(n), want.get(*kind), "{kind}: {have:?} vs {want:?}");
    }
    // Attachments and account settings have no listing of their own; everything else must be seen.
    const UNLISTED: [&str; 3] = [
        "s3_bucket_policy",
        "wafv2_web_acl_association",
        "securityhub_account",
    ];
    for kind in want.keys().filter(|k| !UNLISTED.contains(&k.as_str())) {
        assert!(
            have.contains_key(kind.as_str()),
            "the inventory does not list {kind}: {have:?}"
        );
    }
    proxy.set_faults(Faults::mixed(rate));
    let mut destroy_runs = 0;
    let mut log = String::new();
    loop {
        destroy_runs += 1;
        let run = zinfra_at(
            &proxy.endpoint,
            &["destroy", path(f), "--auto-approve"],
            env,
        );
        log.push_str(&run.stdout);
        log.push_str(&run.stderr);
        if run.code == 0 {
            break;
        }
        assert!(
            destroy_runs < 6,
            "destroy did not finish after 5 runs:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }
    proxy.set_faults(Faults::default());
    let (left, untagged) = inventory(&moto.endpoint, "zenoo-dev").await;
    assert_eq!(
        left.values().sum::<usize>(),
        0,
        "left after destroy: {left:?}; not tagged for the stack: {untagged:?}\n{log}"
    );
    Outcome {
        failures,
        apply_runs,
        destroy_runs,
        requests,
    }
}

/// The reference stack, 8 times (`ZINFRA_FAULT_ROUNDS` to change; 20 for a soak), each on a fresh emulator through
/// 20% faults: every round converges within 5 applies, a plan then shows no change, the inventory holds
/// exactly what the file declares, all tagged, and a destroy (through faults too) leaves nothing.
/// `--nocapture` prints the re-runs, the request counts and why each apply that stopped did so.
#[tokio::test(flavor = "multi_thread")]
async fn the_reference_stack_converges_through_faults() {
    let moto = start_private();
    let proxy = Proxy::start(&moto.endpoint, Faults::default(), 2026);
    let s = Scratch::new("faults");
    let text = reference_stack();
    let f = s.write("zenoo-dev.toml", &text);
    let rounds: usize = std::env::var("ZINFRA_FAULT_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(8);
    let t0 = Instant::now();
    let mut reruns = BTreeMap::new();
    let mut requests = Vec::new();
    let mut failures = Vec::new();
    for _ in 0..rounds {
        let o = converge_once(&moto, &proxy, 0.2, &f, &text).await;
        *reruns.entry((o.apply_runs, o.destroy_runs)).or_insert(0) += 1;
        requests.push(o.requests);
        failures.extend(o.failures);
    }
    for f in &failures {
        eprintln!("an apply stopped at: {f}");
    }
    eprintln!(
        "fault rate 20%: {rounds}/{rounds} rounds converged in {:.0?}; (apply runs, destroy runs) -> rounds: {reruns:?}; apply requests per round: {requests:?}; injected in the last round: {:?}",
        t0.elapsed(),
        proxy.injected()
    );
}

/// A chain of `n` parameters, so an apply runs them one after another.
fn chain(stack: &str, n: usize) -> String {
    let mut text =
        format!("[stack]\nname = \"{stack}\"\nenvironment = \"test\"\nregion = \"us-east-1\"\n");
    for i in 0..n {
        text.push_str(&format!(
            "\n[ssm_parameter.p{i}]\nname = \"/{stack}/p{i}\"\ntype = \"String\"\nvalue = \"v{i}\"\n"
        ));
        if i > 0 {
            text.push_str(&format!("depends_on = [\"ssm_parameter.p{}\"]\n", i - 1));
        }
    }
    text
}

async fn parameters(stack: &str) -> usize {
    let ssm = aws_sdk_ssm::Client::new(&crate::support::sdk_config().await);
    let mut n = 0;
    let mut pages = ssm
        .get_parameters_by_path()
        .path(format!("/{stack}/"))
        .into_paginator()
        .send();
    while let Some(p) = pages.next().await {
        n += p.unwrap().parameters().len();
    }
    n
}

fn locks(conf: &aws_config::SdkConfig, store: &str) -> zinfra::drivers::lock::Locks {
    use zinfra::drivers::lock::{Locks, dynamodb::DynamoLocks, s3::S3Locks};
    match store {
        "dynamodb" => Locks::DynamoDb(DynamoLocks::new(aws_sdk_dynamodb::Client::new(conf))),
        _ => Locks::S3(S3Locks::new(
            aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(conf)
                    .force_path_style(true)
                    .build(),
            ),
            aws_sdk_sts::Client::new(conf),
            "us-east-1",
        )),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_s3_lock_refuses_a_second_run_waits_on_request_and_can_be_released() {
    lock_refuses_waits_and_releases("s3").await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dynamodb_lock_refuses_a_second_run_waits_on_request_and_can_be_released() {
    lock_refuses_waits_and_releases("dynamodb").await
}

async fn lock_refuses_waits_and_releases(store: &'static str) {
    let s = Scratch::new("lock");
    let stack = crate::support::unique("lock");
    let f = s.write("stack.toml", &chain(&stack, 3));
    let conf = crate::support::sdk_config().await;
    let locks = locks(&conf, store);
    let env = [("ZINFRA_LOCK", store)];
    let held = locks
        .acquire(&stack, "zinfra apply other.toml", Duration::ZERO)
        .await
        .unwrap();

    let run = crate::support::cli::zinfra(&["apply", path(&f), "--auto-approve"], &env).expect(1);
    let holder = locks.holder(&stack).await.unwrap().unwrap();
    assert_eq!(
        run.stderr,
        format!(
            "error: stack {stack} is locked by {holder}. Another zinfra run is changing it: wait for it, or pass --lock-timeout to wait here. If that run is gone, a run takes the lock over once it has gone 60s unrenewed; to release it now: zinfra unlock STACK {}\n",
            held.id
        )
    );
    assert!(
        holder.to_string().contains("`zinfra apply other.toml`"),
        "{holder}"
    );
    assert_eq!(
        parameters(&stack).await,
        0,
        "a locked apply changed something"
    );

    // With --lock-timeout it waits for the holder to finish.
    let (l2, stack2, id) = (locks.clone(), stack.clone(), held.id.clone());
    let releaser = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        l2.release(&stack2, &id).await.unwrap();
    });
    let f2 = f.clone();
    let run = tokio::task::spawn_blocking(move || {
        crate::support::cli::zinfra(
            &[
                "apply",
                path(&f2),
                "--auto-approve",
                "--lock-timeout",
                "30s",
            ],
            &env,
        )
    })
    .await
    .unwrap()
    .expect(0);
    releaser.await.unwrap();
    assert!(
        run.stdout.contains("Apply complete! Resources: 3 added"),
        "{}",
        run.stdout
    );
    assert_eq!(
        locks.holder(&stack).await.unwrap(),
        None,
        "apply left its lock"
    );

    // A holder that died: its lock is released deliberately, by id only.
    let stale = locks
        .acquire(&stack, "zinfra destroy", Duration::ZERO)
        .await
        .unwrap();
    let run = crate::support::cli::zinfra(&["unlock", path(&f), "0000"], &env).expect(1);
    assert!(run.stderr.contains("not by lock id 0000"), "{}", run.stderr);
    // Its lease is live (taken a moment ago): releasing it takes --force, and the refusal names the holder.
    let run = crate::support::cli::zinfra(&["unlock", path(&f), &stale.id], &env).expect(1);
    assert!(
        run.stderr.contains(&format!(
            "the lock {} of stack {stack} is live: held by ",
            stale.id
        )) && run.stderr.contains("`zinfra destroy`")
            && run.stderr.contains("--force"),
        "{}",
        run.stderr
    );
    assert!(
        locks.holder(&stack).await.unwrap().is_some(),
        "refused, yet released"
    );
    let run =
        crate::support::cli::zinfra(&["unlock", path(&f), &stale.id, "--force"], &env).expect(0);
    assert_eq!(
        run.stdout,
        format!("Released lock {} of stack {stack}.\n", stale.id)
    );
    assert_eq!(locks.holder(&stack).await.unwrap(), None);
    crate::support::cli::zinfra(&["destroy", path(&f), "--auto-approve"], &env).expect(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lock_left_unrenewed_for_a_lease_is_taken_over_whatever_its_clock_says() {
    for store in ["s3", "dynamodb"] {
        let s = Scratch::new("stale-lock");
        let stack = crate::support::unique("stale-lock");
        let f = s.write("stack.toml", &chain(&stack, 1));
        let locks = locks(&crate::support::sdk_config().await, store);
        // A run that died: its lock says (by its clock) it is good for another 60 s, and is never renewed.
        let dead = locks
            .acquire(&stack, "zinfra apply dead.toml", Duration::ZERO)
            .await
            .unwrap();
        let env = [("ZINFRA_LOCK", store), ("ZINFRA_LOCK_LEASE_SECONDS", "3")];
        let t0 = std::time::Instant::now();
        let args = ["apply", path(&f), "--auto-approve", "--lock-timeout", "30s"];
        let run = crate::support::cli::zinfra(&args, &env).expect(0);
        assert!(
            run.stdout.contains("Apply complete!"),
            "{store}: {}",
            run.stdout
        );
        assert!(
            t0.elapsed() >= Duration::from_secs(3),
            "{store}: taken over before a whole lease went unrenewed ({:?})",
            t0.elapsed()
        );
        assert!(
            locks.release(&stack, &dead.id).await.is_err(),
            "{store}: the dead run's lock id still holds"
        );
        crate::support::cli::zinfra(&["destroy", path(&f), "--auto-approve"], &env).expect(0);
    }
}

#[test]
fn two_applies_at_once_exactly_one_changes_anything() {
    let s = Scratch::new("race");
    let stack = crate::support::unique("race");
    let f = s.write("stack.toml", &chain(&stack, 4));
    let moto = crate::support::moto();
    // Latency makes the two runs overlap.
    let proxy = Proxy::start(
        &moto.endpoint,
        Faults {
            latency: Duration::from_millis(50),
            ..Faults::default()
        },
        1,
    );
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let (f, ep) = (f.clone(), proxy.endpoint.clone());
            std::thread::spawn(move || zinfra_at(&ep, &["apply", path(&f), "--auto-approve"], &[]))
        })
        .collect();
    let runs: Vec<_> = runs.into_iter().map(|r| r.join().unwrap()).collect();
    let changed: Vec<_> = runs
        .iter()
        .filter(|r| r.stdout.contains("Apply complete! Resources: 4 added"))
        .collect();
    assert_eq!(
        changed.len(),
        1,
        "{:#?}",
        runs.iter()
            .map(|r| (&r.stdout, &r.stderr))
            .collect::<Vec<_>>()
    );
    let other = runs
        .iter()
        .find(|r| !r.stdout.contains("Apply complete! Resources: 4 added"))
        .unwrap();
    assert_eq!(other.code, 1, "{}", other.stderr);
    assert!(
        other
            .stderr
            .contains(&format!("error: stack {stack} is locked by ")),
        "{}",
        other.stderr
    );
    crate::support::cli::zinfra(&["destroy", path(&f), "--auto-approve"], &[]).expect(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_apply_releases_its_lock_and_the_next_one_finishes() {
    use std::io::BufRead;
    let moto = crate::support::moto();
    let proxy = Proxy::start(
        &moto.endpoint,
        Faults {
            latency: Duration::from_millis(60),
            ..Faults::default()
        },
        3,
    );
    let conf = crate::support::sdk_config().await;
    let locks = locks(&conf, "s3");
    let s = Scratch::new("interrupt");
    for point in 0..10 {
        let stack = crate::support::unique("intr");
        let f = s.write(&format!("{stack}.toml"), &chain(&stack, 10));
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_zinfra"));
        child
            .args(["apply", path(&f), "--auto-approve", "--parallelism", "1"])
            .env("NO_COLOR", "1")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_STEP_SUMMARY")
            .env_remove("ZINFRA_STACK_NAME")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        for (k, v) in crate::support::aws_env() {
            child.env(k, v);
        }
        child.env("AWS_ENDPOINT_URL", &proxy.endpoint);
        let mut child = child.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut done = 0;
        let mut lines = std::io::BufReader::new(stderr).lines();
        let mut log = String::new();
        // Interrupt after `point` steps have completed.
        while let Some(Ok(line)) = lines.next() {
            log.push_str(&line);
            log.push('\n');
            if line.contains("Creating...") && done == point {
                break;
            }
            if line.contains("Creation complete") {
                done += 1;
            }
        }
        let pid = child.id().to_string();
        std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap();
        for line in lines.map_while(Result::ok) {
            log.push_str(&line);
            log.push('\n');
        }
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(130),
            "point {point}:\n{stdout}\n{log}"
        );
        assert!(
            stdout.contains("Apply interrupted."),
            "point {point}:\n{stdout}"
        );
        assert!(
            log.contains("Interrupted: starting nothing new"),
            "point {point}:\n{log}"
        );
        assert_eq!(
            locks.holder(&stack).await.unwrap(),
            None,
            "point {point}: lock left"
        );
        let created = parameters(&stack).await;
        // What ran when the signal came may finish; nothing after it starts.
        assert!(
            created == point || created == point + 1,
            "point {point}: {created} created"
        );

        let run =
            crate::support::cli::zinfra(&["apply", path(&f), "--auto-approve"], &[]).expect(0);
        assert!(
            created == 10
                || run
                    .stdout
                    .contains(&format!("Resources: {} added", 10 - created)),
            "point {point}: {}",
            run.stdout
        );
        crate::support::cli::zinfra(&["plan", path(&f), "--detailed-exitcode"], &[]).expect(0);
        assert_eq!(parameters(&stack).await, 10);
        crate::support::cli::zinfra(&["destroy", path(&f), "--auto-approve"], &[]).expect(0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_whose_reply_is_lost_is_not_sent_again() {
    let moto = crate::support::moto();
    let proxy = Proxy::start(
        &moto.endpoint,
        Faults {
            lose_response: 1.0,
            ..Faults::default()
        },
        5,
    );
    let conf = config(&proxy.endpoint).await;
    let ec2 = zinfra::client!(aws_sdk_ec2, &conf);
    assert!(
        ec2.create_vpc()
            .cidr_block("10.99.0.0/16")
            .send()
            .await
            .is_err()
    );
    let ssm = zinfra::client!(aws_sdk_ssm, &conf);
    let _ = ssm.describe_parameters().send().await;
    let counts = proxy.counts();
    assert_eq!(
        counts.get(&("ec2".to_owned(), "CreateVpc".to_owned())),
        Some(&1),
        "{counts:?}"
    );
    // Reads are still retried.
    assert_eq!(
        counts.get(&("ssm".to_owned(), "DescribeParameters".to_owned())),
        Some(&8),
        "{counts:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_of_the_tag_index_can_be_asked_for_again() {
    // Twelve tagged parameters of one stack, read two to a page.
    let stack = crate::support::unique("pages");
    let ssm = aws_sdk_ssm::Client::new(&crate::support::sdk_config().await);
    for i in 0..12 {
        ssm.put_parameter()
            .name(format!("/{stack}/p{i}"))
            .value("v")
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .tags(
                aws_sdk_ssm::types::Tag::builder()
                    .key("zinfra:stack")
                    .value(&stack)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    let tagging = aws_sdk_resourcegroupstagging::Client::new(&crate::support::sdk_config().await);
    let filter = aws_sdk_resourcegroupstagging::types::TagFilter::builder()
        .key("zinfra:stack")
        .values(&stack)
        .build();
    let page = |token: Option<String>| {
        tagging
            .get_resources()
            .tag_filters(filter.clone())
            .resources_per_page(5)
            .set_pagination_token(token)
            .send()
    };
    let first = page(None).await.unwrap();
    let token = first.pagination_token().map(str::to_owned);
    assert!(token.as_deref().is_some_and(|t| !t.is_empty()));
    // The reply to page two is "lost": ask again with the same token, and get the same page.
    let second = page(token.clone()).await.unwrap();
    let again = page(token).await.unwrap();
    let arns = |o: &aws_sdk_resourcegroupstagging::operation::get_resources::GetResourcesOutput| {
        o.resource_tag_mapping_list()
            .iter()
            .filter_map(|m| m.resource_arn().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    assert_eq!(arns(&second), arns(&again));
    assert_eq!(arns(&second).len(), 5);
    for i in 0..12 {
        ssm.delete_parameter()
            .name(format!("/{stack}/p{i}"))
            .send()
            .await
            .unwrap();
    }
}

/// How many times the emulator's eventual-consistency mode (tests/emulator/eventual.py) gave each answer.
fn settling_answers(endpoint: &str) -> BTreeMap<String, u64> {
    let addr = endpoint.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).expect("reach moto");
    std::io::Write::write_all(
        &mut s,
        format!(
            "GET /zinfra-emulator/eventual HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    let mut reply = String::new();
    std::io::Read::read_to_string(&mut s, &mut reply).unwrap();
    let body = reply.split("\r\n\r\n").nth(1).unwrap_or("{}");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {reply}"))
}

/// The reference stack's life cycle on an emulator that settles as AWS does (2 s window): new VPCs,
/// subnets, security groups, route tables and gateways are unknown to other calls for a while, and a VPC
/// cannot be deleted while its children's deletions settle. One apply converges, the plan after it is
/// clean, the inventory is exact, and one destroy leaves nothing; the emulator's counters prove that the
/// not-yet and DependencyViolation paths were taken.
#[tokio::test(flavor = "multi_thread")]
async fn the_reference_stack_settles_through_eventual_consistency() {
    let moto = crate::support::moto::start_private_with(&[("ZINFRA_EMULATOR_SETTLE_SECONDS", "2")]);
    let s = Scratch::new("eventual");
    let text = reference_stack();
    let f = s.write("zenoo-dev.toml", &text);
    let env: Vec<(&str, &str)> = DEV_ENV
        .iter()
        .copied()
        .chain([("ZINFRA_RPS", "off")])
        .collect();
    let t0 = Instant::now();
    let apply = zinfra_at(&moto.endpoint, &["apply", path(&f), "--auto-approve"], &env);
    assert_eq!(apply.code, 0, "apply\n{}\n{}", apply.stdout, apply.stderr);
    let applied = t0.elapsed();
    zinfra_at(
        &moto.endpoint,
        &["plan", "--detailed-exitcode", path(&f)],
        &env,
    )
    .expect(0);
    let (have, untagged) = inventory(&moto.endpoint, "zenoo-dev").await;
    assert_eq!(untagged, Vec::<String>::new(), "untagged resources");
    let want = declared(&text);
    for (kind, n) in &have {
        assert_eq!(Some(n), want.get(*kind), "{kind}: {have:?} vs {want:?}");
    }
    let t1 = Instant::now();
    zinfra_at(
        &moto.endpoint,
        &["destroy", path(&f), "--auto-approve"],
        &env,
    )
    .expect(0);
    let destroyed = t1.elapsed();
    let (left, untagged) = inventory(&moto.endpoint, "zenoo-dev").await;
    assert_eq!(
        left.values().sum::<usize>(),
        0,
        "left: {left:?} {untagged:?}"
    );
    let answered = settling_answers(&moto.endpoint);
    for code in [
        "InvalidVpcID.NotFound",
        "InvalidGroup.NotFound",
        "DependencyViolation",
    ] {
        assert!(
            answered.get(code).is_some_and(|n| *n > 0),
            "never answered {code}: {answered:?}"
        );
    }
    eprintln!(
        "eventual consistency (2 s): apply {applied:.1?}, destroy {destroyed:.1?}, settling answers {answered:?}"
    );
}

/// A KMS key policy naming a role created a moment ago: KMS refuses the principal until IAM has
/// propagated the role, and the apply waits it out instead of failing.
#[tokio::test(flavor = "multi_thread")]
async fn a_key_policy_waits_for_a_new_role() {
    let moto = crate::support::moto::start_private_with(&[("ZINFRA_EMULATOR_SETTLE_SECONDS", "2")]);
    let conf = crate::support::moto::sdk_config_at(&moto.endpoint).await;
    let account = crate::support::moto::account_of(&conf).await;
    let s = Scratch::new("eventual-role");
    let f = s.write(
        "stack.toml",
        &r#"[stack]
name = "settle-role"
environment = "test"
region = "us-east-1"
waivers = [{ rule = "ZS-IDS-001", reason = "test" }, { rule = "ZS-IDS-002", reason = "test" }]

[iam_role.app]
role_name = "settle-role-app"
assume_role_policy = { Version = "2012-10-17", Statement = [{ Effect = "Allow", Principal = { Service = "ecs-tasks.amazonaws.com" }, Action = "sts:AssumeRole" }] }

[kms_key.data]
description = "settle-role data"
policy = { Version = "2012-10-17", Statement = [{ Sid = "Admin", Effect = "Allow", Principal = { AWS = "arn:aws:iam::${account}:root" }, Action = "kms:*", Resource = "*" }, { Sid = "App", Effect = "Allow", Principal = { AWS = "${iam_role.app.arn}" }, Action = ["kms:Decrypt", "kms:Encrypt"], Resource = "*" }] }
"#
        .replace("${account}", &account),
    );
    let env = [("ZINFRA_RPS", "off")];
    let f2 = f.clone();
    let ep = moto.endpoint.clone();
    let apply = tokio::task::spawn_blocking(move || {
        zinfra_at(
            &ep,
            &["apply", path(&f2), "--auto-approve"],
            &[("ZINFRA_RPS", "off")],
        )
    })
    .await
    .unwrap();
    assert_eq!(apply.code, 0, "apply\n{}\n{}", apply.stdout, apply.stderr);
    zinfra_at(
        &moto.endpoint,
        &["plan", "--detailed-exitcode", path(&f)],
        &env,
    )
    .expect(0);
    let answered = settling_answers(&moto.endpoint);
    assert!(
        answered
            .get("MalformedPolicyDocumentException")
            .is_some_and(|n| *n > 0),
        "KMS never refused the new role: {answered:?}"
    );
    zinfra_at(
        &moto.endpoint,
        &["destroy", path(&f), "--auto-approve"],
        &env,
    )
    .expect(0);
}

/// The eventual-consistency mode itself, through the SDK: a new VPC is invisible to reads (by id:
/// InvalidVpcID.NotFound; by tag filter: left out) and unknown to other calls for the window, then
/// visible; a VPC whose subnet was just deleted answers DependencyViolation, then goes.
#[tokio::test(flavor = "multi_thread")]
async fn the_emulator_settles_like_aws_for_its_window() {
    let moto = crate::support::moto::start_private_with(&[("ZINFRA_EMULATOR_SETTLE_SECONDS", "2")]);
    let ec2 = aws_sdk_ec2::Client::new(&crate::support::moto::sdk_config_at(&moto.endpoint).await);
    let tag = aws_sdk_ec2::types::TagSpecification::builder()
        .resource_type(aws_sdk_ec2::types::ResourceType::Vpc)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("settle")
                .value("yes")
                .build(),
        )
        .build();
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.77.0.0/16")
        .tag_specifications(tag)
        .send()
        .await
        .unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_owned();
    let by_id = ec2.describe_vpcs().vpc_ids(&vpc).send().await;
    assert_eq!(
        by_id.as_ref().err().and_then(ec2_code).as_deref(),
        Some("InvalidVpcID.NotFound")
    );
    let filter = aws_sdk_ec2::types::Filter::builder()
        .name("tag:settle")
        .values("yes")
        .build();
    let by_tag = ec2
        .describe_vpcs()
        .filters(filter.clone())
        .send()
        .await
        .unwrap();
    assert!(
        by_tag.vpcs().is_empty(),
        "a new VPC is left out of filtered reads"
    );
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.77.1.0/24")
        .send()
        .await;
    assert_eq!(
        subnet.as_ref().err().and_then(ec2_code).as_deref(),
        Some("InvalidVpcID.NotFound")
    );
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let by_tag = ec2.describe_vpcs().filters(filter).send().await.unwrap();
    assert_eq!(by_tag.vpcs().len(), 1, "visible after the window");
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.77.1.0/24")
        .send()
        .await
        .unwrap();
    let subnet = subnet.subnet().unwrap().subnet_id().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(2200)).await;
    ec2.delete_subnet().subnet_id(&subnet).send().await.unwrap();
    let busy = ec2.delete_vpc().vpc_id(&vpc).send().await;
    assert_eq!(
        busy.as_ref().err().and_then(ec2_code).as_deref(),
        Some("DependencyViolation")
    );
    tokio::time::sleep(Duration::from_millis(2200)).await;
    ec2.delete_vpc().vpc_id(&vpc).send().await.unwrap();
}

fn ec2_code<E: aws_sdk_ec2::error::ProvideErrorMetadata, R>(
    e: &aws_sdk_ec2::error::SdkError<E, R>,
) -> Option<String> {
    aws_sdk_ec2::error::ProvideErrorMetadata::code(e).map(str::to_owned)
}

/// A run that loses its lock (another run took it over after its lease ran out) stops: it starts no
/// new change, lets the running one finish, and exits non-zero naming the loss. Both stores.
#[tokio::test(flavor = "multi_thread")]
async fn an_apply_that_loses_its_lock_stops() {
    for store in ["s3", "dynamodb"] {
        let s = Scratch::new("lost-lock");
        let stack = crate::support::unique("lost");
        let f = s.write("stack.toml", &chain(&stack, 12));
        let moto = crate::support::moto();
        // Each request takes 400 ms, so the chain of 12 takes several seconds; the lease is 3 s
        // (renewed every second).
        let proxy = Proxy::start(
            &moto.endpoint,
            Faults {
                latency: Duration::from_millis(400),
                ..Faults::default()
            },
            7,
        );
        let (ep, f2) = (proxy.endpoint.clone(), f.clone());
        let env = [
            ("ZINFRA_LOCK", store),
            ("ZINFRA_LOCK_LEASE_SECONDS", "3"),
            ("ZINFRA_RPS", "off"),
        ];
        let run = std::thread::spawn(move || {
            zinfra_at(
                &ep,
                &["apply", path(&f2), "--auto-approve", "--parallelism", "1"],
                &env,
            )
        });
        // Once the apply is changing things, another run takes the lock over.
        let conf = crate::support::sdk_config().await;
        let locks = locks(&conf, store);
        let deadline = Instant::now() + Duration::from_secs(60);
        while parameters(&stack).await == 0 {
            assert!(Instant::now() < deadline, "the apply never started");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        take_over(&conf, store, &stack).await;
        let run = run.join().unwrap();
        assert_eq!(run.code, 1, "{store}: {}\n{}", run.stdout, run.stderr);
        assert!(
            run.stderr
                .contains(&format!("error: lost the lock of stack {stack}")),
            "{store}: {}",
            run.stderr
        );
        let made = parameters(&stack).await;
        assert!(
            made < 12,
            "{store}: the apply went on after losing its lock ({made} made)"
        );
        let holder = locks
            .holder(&stack)
            .await
            .unwrap()
            .expect("the other run's lock");
        assert_eq!(
            holder.id, "other-run",
            "{store}: the loser touched the winner's lock"
        );
        locks.release(&stack, "other-run").await.unwrap();
        crate::support::cli::zinfra(
            &["destroy", path(&f), "--auto-approve"],
            &[("ZINFRA_LOCK", store)],
        )
        .expect(0);
    }
}

/// Another run's lock, written over this one's as a run would after the lease ran out.
async fn take_over(conf: &aws_config::SdkConfig, store: &str, stack: &str) {
    let expires = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    if store == "dynamodb" {
        use aws_sdk_dynamodb::types::AttributeValue::{N, S};
        aws_sdk_dynamodb::Client::new(conf)
            .put_item()
            .table_name("zinfra-locks")
            .item("stack", S(stack.into()))
            .item("lock_id", S("other-run".into()))
            .item("who", S("other@ci".into()))
            .item("command", S("zinfra apply".into()))
            .item("since", S("now".into()))
            .item("expires", N(expires.to_string()))
            .send()
            .await
            .unwrap();
    } else {
        let account = crate::support::moto::account_of(conf).await;
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(conf)
                .force_path_style(true)
                .build(),
        );
        let body = serde_json::json!({
            "lock_id": "other-run", "who": "other@ci", "command": "zinfra apply",
            "since": "now", "expires": expires, "released": false
        });
        s3.put_object()
            .bucket(format!("zinfra-locks-{account}-us-east-1"))
            .key(format!("locks/{stack}.json"))
            .body(body.to_string().into_bytes().into())
            .send()
            .await
            .unwrap();
    }
}
