//! Request budgets of a no-change plan (issue 8), counted by the proxy in front of a private emulator:
//! the reference stacks stay within 1.5 requests per resource, what several kinds need is read once per
//! run, tags come from the tag index instead of one call per resource, and a generated stack of cheap
//! resources grows linearly with a small factor.

use std::collections::BTreeMap;

use crate::stack::{DEV_ENV, reference_stack};
use crate::support::cli::{Scratch, path, zinfra_at};
use crate::support::moto::start_private;
use crate::support::proxy::{Faults, Proxy};
use crate::support::unique;

type Counts = BTreeMap<(String, String), u64>;

fn count(c: &Counts, service: &str, op: &str) -> u64 {
    c.get(&(service.to_owned(), op.to_owned()))
        .copied()
        .unwrap_or(0)
}

fn table(c: &Counts) -> String {
    c.iter()
        .map(|((s, o), n)| format!("{n:4} {s} {o}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Apply `text` through the proxy, then count the requests of a no-change plan: (resources, counts).
fn plan_counts(name: &str, text: &str, env: &[(&str, &str)]) -> (u64, Counts) {
    let moto = start_private();
    let proxy = Proxy::start(&moto.endpoint, Faults::default(), 8);
    let s = Scratch::new(name);
    let f = s.write(&format!("{name}.toml"), text);
    let applied = zinfra_at(&proxy.endpoint, &["apply", path(&f), "--auto-approve"], env);
    assert_eq!(applied.code, 0, "{}\n{}", applied.stdout, applied.stderr);
    proxy.reset_counts();
    let plan = zinfra_at(
        &proxy.endpoint,
        &["plan", path(&f), "--detailed-exitcode"],
        env,
    );
    assert_eq!(
        plan.code, 0,
        "not a no-change plan:\n{}\n{}",
        plan.stdout, plan.stderr
    );
    // "No changes. Live infrastructure matches the stack file (58 resources)."
    let resources = plan
        .stdout
        .split("stack file (")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no resource count in:\n{}", plan.stdout));
    (resources, proxy.counts())
}

/// What the reference stacks must never do again: list the same thing per kind, or read tags one
/// resource at a time where the index or a batch call has them.
fn assert_shared_reads(c: &Counts, resources: u64) {
    let once = [
        // One page holds 100 resources.
        ("tagging", "GetResources", resources.div_ceil(100)),
        ("elasticloadbalancing", "DescribeLoadBalancers", 1),
        ("elasticloadbalancing", "DescribeListeners", 1),
        ("elasticloadbalancing", "DescribeTags", 1),
        ("iam", "ListRoles", 1),
        ("iam", "GetAccountAuthorizationDetails", 1),
        ("elasticache", "DescribeUsers", 1),
        // ListHostedZones and ListOriginAccessControls (REST: method and path depth).
        ("route53", "GET /2", 1),
        ("cloudfront", "GET /2", 1),
        // ListResourceRecordSets, one per stack zone, shared by records and certificates.
        ("route53", "GET /4", 1),
        // GetBucketPolicy, shared by s3_bucket and s3_bucket_policy: one per bucket.
        ("s3", "GET /1?policy", 1),
    ];
    let never = [
        ("iam", "GetRole"),
        ("iam", "ListRolePolicies"),
        ("iam", "GetRolePolicy"),
        ("iam", "ListAttachedRolePolicies"),
        ("elasticache", "ListTagsForResource"),
        ("ssm", "ListTagsForResource"),
        ("kms", "ListResourceTags"),
        ("dynamodb", "ListTagsOfResource"),
        ("acm", "ListTagsForCertificate"),
        ("s3", "GET /1?tagging"),
    ];
    for (service, op, max) in once {
        let n = count(c, service, op);
        assert!(
            n <= max,
            "{service} {op}: {n} requests, at most {max} expected\n{}",
            table(c)
        );
    }
    for (service, op) in never {
        assert_eq!(count(c, service, op), 0, "{service} {op}\n{}", table(c));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_no_change_plan_of_the_dev_stack_costs_at_most_one_and_a_half_requests_per_resource() {
    let (resources, c) = plan_counts("requests-dev", &reference_stack(), &DEV_ENV);
    let total: u64 = c.values().sum();
    assert!(
        total * 2 <= resources * 3,
        "{total} requests for {resources} resources\n{}",
        table(&c)
    );
    assert_shared_reads(&c, resources);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_no_change_plan_of_the_prod_stack_costs_at_most_one_and_a_half_requests_per_resource() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/stacks/zenoo-prod.toml"
    ))
    .unwrap();
    let env = [
        ("ZENOO_PROD_DB_PASSWORD", "prod-secret-value"),
        (
            "ZENOO_PROD_REDIS_DEFAULT_PASSWORD",
            "prod-default-user-off-0123",
        ),
    ];
    let (resources, c) = plan_counts("requests-prod", &text, &env);
    let total: u64 = c.values().sum();
    assert!(
        total * 2 <= resources * 3,
        "{total} requests for {resources} resources\n{}",
        table(&c)
    );
    assert_shared_reads(&c, resources);
}

/// A stack of `n` cheap resources besides its VPC, a third each security groups, SSM parameters and S3
/// buckets (the scaling benchmark's shape).
pub(crate) fn cheap_stack(stack: &str, n: usize) -> String {
    let mut out = format!(
        "[stack]
name = \"{stack}\"
environment = \"test\"
region = \"us-east-1\"
waivers = [{{ rule = \"ZS-IDS-001\", reason = \"a generated test stack\" }}, {{ rule = \"ZS-IDS-002\", reason = \"a generated test stack\" }}]

[vpc.main]
cidr_block = \"10.30.0.0/16\"
waivers = [{{ rule = \"ZS-NET-001\", reason = \"a generated test stack\" }}]
"
    );
    for i in 0..n {
        out.push_str(&match i % 3 {
            0 => format!(
                "\n[security_group.sg{i}]\nvpc = \"vpc.main\"\ningress = [{{ from_port = 443, to_port = 443, cidr_blocks = [\"10.0.0.0/8\"], description = \"https\" }}]\n"
            ),
            1 => format!(
                "\n[ssm_parameter.p{i}]\nname = \"/{stack}/p{i}\"\ntype = \"String\"\nvalue = \"v{i}\"\n"
            ),
            _ => format!("\n[s3_bucket.b{i}]\nbucket = \"{stack}-b{i}\"\n"),
        });
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_no_change_plan_of_cheap_resources_grows_linearly() {
    let stack = unique("cheap");
    let (resources, c) = plan_counts("requests-cheap", &cheap_stack(&stack, 99), &[]);
    assert_eq!(resources, 100);
    let buckets = 33;
    let s3: u64 = c
        .iter()
        .filter(|((s, _), _)| s == "s3")
        .map(|(_, n)| n)
        .sum();
    let rest: u64 = c.values().sum::<u64>() - s3;
    // S3 has no call that reads many buckets: per bucket its encryption, public access block and
    // versioning, and its policy (shared by s3_bucket_policy, which finds its policies, orphans
    // included, on the stack's buckets). Tags come from the index.
    // Plus one ListBuckets, which confirms the index (some emulators' indexes miss buckets).
    assert!(s3 <= 4 * buckets + 1, "{s3} S3 requests\n{}", table(&c));
    // Everything else is read in pages: the tag index (100 a page), security groups (one
    // DescribeSecurityGroups), parameters (50 a page, values 10 a call), plus a fixed number of
    // account-wide listings by the drivers of kinds the stack does not use (about 25).
    assert!(
        rest <= 30 + resources / 10,
        "{rest} requests besides S3 for {resources} resources\n{}",
        table(&c)
    );
    for (service, op) in [
        ("s3", "GET /1?tagging"),
        ("ssm", "ListTagsForResource"),
        ("ec2", "DescribeTags"),
    ] {
        assert_eq!(count(&c, service, op), 0, "{service} {op}\n{}", table(&c));
    }
}
