//! One rule per control of the infrastructure security baseline. Each entry quotes the sentence it
//! enforces (`seed`); `docs/rules.md` is generated from this table (see `rules_doc`).

use super::rule::Check::{Resource, Stack};
use super::rule::Severity::{Error, Warning};
use super::rule::{Fail, Item, Rule, View, fail};
use crate::model::Value;

const SEED_CMK: &str = "Data at rest is encrypted with a customer-managed key (CMK) provisioned by our infra code using Key Management Service (KMS).";
const SEED_S3: &str = "They are encrypted with a built-in option called \u{201c}Server-side encryption with Amazon S3 managed keys (SSE-S3))\u{201d}. Public access is blocked with the bucket policy containing relevant CloudFront origin access identity only.";
const SEED_DDB_SSE: &str =
    "The encryption for DynamoDB tables is enabled both at rest and in transit.";
const SEED_DDB_TTL: &str =
    "Each record has its own time to live duration (TTL) defined by the hub backend instance.";
const SEED_SSM: &str = "Sensitive service parameters (aka application configuration) are managed as secure strings by Systems Manager Parameter Store.";
const SEED_VPC: &str = "Each environment has its own VPC with private and public subnets defined.";
const SEED_PRIVATE: &str = "Services are located in private or public subnets depending on their purpose and sensitivity. E.g.: Data layer services such as MSK and ElastiCache are provisioned within the private subnets.";
const SEED_FIREWALL: &str = "Firewalls, Virtual Private Clouds (VPCs) and network segmentation are used to control network traffic and isolate sensitive data.";
const SEED_CICD: &str = "Services are deployed as containers to Elastic Container Service (ECS) by the GitHub actions with specific user roles dedicated for CI/CD processes. These roles are managed by Identity and Access Management (IAM).";

const SEED_ACM: &str = "SSL certificates are managed by Certificate Manager (ACM). Algorithms used for public keys are RSA 2048 and for the signature, SHA-256 with RSA.";
const SEED_ALB: &str = "Application Load Balancers (ALB) have the redirection rules to make sure each request goes to the relevant services. They enforce secure requests by redirecting HTTP to HTTPS protocol and they are integrated with Web Application Firewall (WAF).";
const SEED_WAF: &str = "Web Application Firewall (WAF) rule sets that we use both for frontend and backend contain IP reputation list, rate limit, request body, size restriction and known bad inputs.";
const SEED_CF: &str = "Requests are directed through the SSL/TLS connection and the security settings such as SSL certificate, security policies and firewall integration are managed by CloudFront.";
const SEED_DNS: &str = "Domain records are created based on the hosted zone managed within our AWS account by the service called Route53.";
const SEED_R53: &str = "Records in question are associated with the corresponding load balancers\u{2019} domain names instead of explicit static IPs.";
const SEED_ECR: &str = "They are encrypted with AES-256 algorithm and scanned during the push action for the vulnerability findings. Most of our images are having tag immutability to avoid wrongly performed overwrites.";
const SEED_ECS: &str = "Services are deployed as containers to Elastic Container Service (ECS) by the GitHub actions with specific user roles dedicated for CI/CD processes.";
const SEED_REDIS: &str = "Redis clusters are managed by ElastiCache and accessible only within the same VPC. Their encryption is enabled both at rest and in transit. Authentication key is assigned for each user (redis application client) and permissions are managed by IAM.";
const SEED_MSK: &str = "Kafka clusters are managed by MSK and accessible only within the same VPC. Client services are authenticated through IAM (role-based authentication). Data in transit is encrypted between clients and brokers, also within the cluster via transport layer security (TLS). Data at rest is encrypted with a customer-managed key (CMK) provisioned by our infra code using Key Management Service (KMS).";
const SEED_IDS: &str = "Zenoo employs IDS/IPS systems, including AWS Security Hub, GuardDuty, and WAF, to monitor, alert, and respond to unauthorised access or suspicious activity in real-time.";

pub static RULES: &[Rule] = &[
    Rule {
        id: "ZS-KMS-001",
        title: "KMS keys rotate automatically",
        seed: SEED_CMK,
        severity: Error,
        equivalents: &["checkov CKV_AWS_7", "Trivy AVD-AWS-0065"],
        kind: "kms_key",
        check: Resource(kms_rotation),
    },
    Rule {
        id: "ZS-S3-001",
        title: "S3 buckets are encrypted at rest (SSE-S3, or SSE-KMS)",
        seed: SEED_S3,
        severity: Error,
        equivalents: &["checkov CKV_AWS_19", "Trivy AVD-AWS-0088"],
        kind: "s3_bucket",
        check: Resource(s3_encryption),
    },
    Rule {
        id: "ZS-S3-002",
        title: "S3 buckets block all public access",
        seed: SEED_S3,
        severity: Error,
        equivalents: &[
            "checkov CKV_AWS_53..56",
            "Trivy AVD-AWS-0086, 0087, 0091, 0093",
        ],
        kind: "s3_bucket",
        check: Resource(s3_public_access),
    },
    Rule {
        id: "ZS-S3-003",
        title: "Bucket policies grant access to nothing but a CloudFront distribution of the stack",
        seed: SEED_S3,
        severity: Error,
        equivalents: &[],
        kind: "s3_bucket",
        check: Resource(s3_inline_policy),
    },
    Rule {
        id: "ZS-DDB-001",
        title: "DynamoDB tables expire records with TTL",
        seed: SEED_DDB_TTL,
        severity: Error,
        equivalents: &[],
        kind: "dynamodb_table",
        check: Resource(ddb_ttl),
    },
    Rule {
        id: "ZS-DDB-002",
        title: "DynamoDB tables are encrypted at rest with a KMS key of the stack",
        seed: SEED_DDB_SSE,
        severity: Warning,
        equivalents: &["checkov CKV_AWS_119", "Trivy AVD-AWS-0025"],
        kind: "dynamodb_table",
        check: Resource(ddb_kms),
    },
    Rule {
        id: "ZS-SSM-001",
        title: "Sensitive parameters are SecureString",
        seed: SEED_SSM,
        severity: Error,
        equivalents: &[],
        kind: "ssm_parameter",
        check: Resource(ssm_secure),
    },
    Rule {
        id: "ZS-SSM-002",
        title: "SecureString parameters are encrypted with a customer-managed key",
        seed: SEED_SSM,
        severity: Error,
        equivalents: &[],
        kind: "ssm_parameter",
        check: Resource(ssm_cmk),
    },
    Rule {
        id: "ZS-NET-001",
        title: "Each VPC has both private and public subnets",
        seed: SEED_VPC,
        severity: Error,
        equivalents: &[],
        kind: "vpc",
        check: Resource(vpc_tiers),
    },
    Rule {
        id: "ZS-NET-002",
        title: "Private subnets have no route to an internet gateway",
        seed: SEED_PRIVATE,
        severity: Error,
        equivalents: &[],
        kind: "subnet",
        check: Resource(private_no_igw),
    },
    Rule {
        id: "ZS-NET-003",
        title: "Only HTTP and HTTPS are open to the internet",
        seed: SEED_FIREWALL,
        severity: Error,
        equivalents: &["checkov CKV_AWS_24, CKV_AWS_25", "Trivy AVD-AWS-0107"],
        kind: "security_group",
        check: Resource(sg_open_ports),
    },
    Rule {
        id: "ZS-IAM-001",
        title: "CI/CD roles trust GitHub only for named repositories and branches or environments",
        seed: SEED_CICD,
        severity: Error,
        equivalents: &["checkov CKV_AWS_358"],
        kind: "iam_role",
        check: Resource(github_trust),
    },
    Rule {
        id: "ZS-ACM-001",
        title: "Certificates use RSA 2048 keys and SHA-256 with RSA signatures",
        seed: SEED_ACM,
        severity: Error,
        equivalents: &[],
        kind: "acm_certificate",
        check: Resource(acm_rsa_2048),
    },
    Rule {
        id: "ZS-ALB-001",
        title: "HTTP listeners only redirect to HTTPS",
        seed: SEED_ALB,
        severity: Error,
        equivalents: &["checkov CKV_AWS_2", "Trivy AVD-AWS-0054"],
        kind: "lb_listener",
        check: Resource(http_only_redirects),
    },
    Rule {
        id: "ZS-ALB-002",
        title: "HTTPS listeners use a TLS 1.2+ security policy",
        seed: SEED_ALB,
        severity: Error,
        equivalents: &["checkov CKV_AWS_103", "Trivy AVD-AWS-0047"],
        kind: "lb_listener",
        check: Resource(https_tls_policy),
    },
    Rule {
        id: "ZS-ALB-003",
        title: "Load balancers are protected by a web ACL",
        seed: SEED_ALB,
        severity: Error,
        equivalents: &["checkov CKV2_AWS_28"],
        kind: "lb",
        check: Resource(lb_has_waf),
    },
    Rule {
        id: "ZS-ALB-004",
        title: "Load balancers drop invalid HTTP header fields",
        seed: SEED_ALB,
        severity: Error,
        equivalents: &["checkov CKV_AWS_131", "Trivy AVD-AWS-0052"],
        kind: "lb",
        check: Resource(lb_drops_invalid_headers),
    },
    Rule {
        id: "ZS-WAF-001",
        title: "Web ACLs use the AWS IP reputation list",
        seed: SEED_WAF,
        severity: Error,
        equivalents: &[],
        kind: "wafv2_web_acl",
        check: Resource(waf_ip_reputation),
    },
    Rule {
        id: "ZS-WAF-002",
        title: "Web ACLs rate-limit each client IP",
        seed: SEED_WAF,
        severity: Error,
        equivalents: &[],
        kind: "wafv2_web_acl",
        check: Resource(waf_rate_limit),
    },
    Rule {
        id: "ZS-WAF-003",
        title: "Web ACLs restrict the request body size",
        seed: SEED_WAF,
        severity: Error,
        equivalents: &[],
        kind: "wafv2_web_acl",
        check: Resource(waf_body_size),
    },
    Rule {
        id: "ZS-WAF-004",
        title: "Web ACLs block known bad inputs",
        seed: SEED_WAF,
        severity: Error,
        equivalents: &["checkov CKV_AWS_192 (Log4j rule of the same group)"],
        kind: "wafv2_web_acl",
        check: Resource(waf_known_bad_inputs),
    },
    Rule {
        id: "ZS-CF-001",
        title: "CloudFront viewers use HTTPS only",
        seed: SEED_CF,
        severity: Error,
        equivalents: &["checkov CKV_AWS_34", "Trivy AVD-AWS-0012"],
        kind: "cloudfront_distribution",
        check: Resource(cf_https_viewers),
    },
    Rule {
        id: "ZS-CF-002",
        title: "CloudFront serves its own certificate with TLS 1.2 or later",
        seed: SEED_CF,
        severity: Error,
        equivalents: &["checkov CKV_AWS_174", "Trivy AVD-AWS-0013"],
        kind: "cloudfront_distribution",
        check: Resource(cf_tls),
    },
    Rule {
        id: "ZS-CF-003",
        title: "CloudFront distributions have a web ACL",
        seed: SEED_CF,
        severity: Error,
        equivalents: &["checkov CKV_AWS_68", "Trivy AVD-AWS-0011"],
        kind: "cloudfront_distribution",
        check: Resource(cf_waf),
    },
    Rule {
        id: "ZS-CF-004",
        title: "CloudFront reaches S3 origins only through an origin access control",
        seed: SEED_S3,
        severity: Error,
        equivalents: &["checkov CKV2_AWS_46"],
        kind: "cloudfront_distribution",
        check: Resource(cf_oac),
    },
    Rule {
        id: "ZS-S3-004",
        title: "Bucket policies grant access to nothing but a CloudFront distribution",
        seed: SEED_S3,
        severity: Error,
        equivalents: &[],
        kind: "s3_bucket_policy",
        check: Resource(s3_policy_kind),
    },
    Rule {
        id: "ZS-R53-001",
        title: "Load-balanced and CloudFront names are alias records, not static IPs",
        seed: SEED_R53,
        severity: Error,
        equivalents: &[],
        kind: "route53_record",
        check: Resource(r53_alias),
    },
    Rule {
        id: "ZS-ECR-001",
        title: "ECR repositories are encrypted (AES-256 or KMS)",
        seed: SEED_ECR,
        severity: Error,
        equivalents: &[
            "checkov CKV_AWS_136 and Trivy AVD-AWS-0033 demand KMS only, against the seed's AES-256",
        ],
        kind: "ecr_repository",
        check: Resource(ecr_encryption),
    },
    Rule {
        id: "ZS-ECR-002",
        title: "ECR repositories scan images on push",
        seed: SEED_ECR,
        severity: Error,
        equivalents: &["checkov CKV_AWS_163", "Trivy AVD-AWS-0030"],
        kind: "ecr_repository",
        check: Resource(ecr_scan),
    },
    Rule {
        id: "ZS-ECR-003",
        title: "ECR image tags are immutable",
        seed: SEED_ECR,
        severity: Warning,
        equivalents: &["checkov CKV_AWS_51", "Trivy AVD-AWS-0031"],
        kind: "ecr_repository",
        check: Resource(ecr_immutable),
    },
    Rule {
        id: "ZS-ECS-001",
        title: "ECS services run in private subnets without public IPs",
        seed: SEED_PRIVATE,
        severity: Error,
        equivalents: &["checkov CKV_AWS_333"],
        kind: "ecs_service",
        check: Resource(ecs_private),
    },
    Rule {
        id: "ZS-ECS-002",
        title: "Task definitions use a task role distinct from the execution role",
        seed: SEED_ECS,
        severity: Error,
        equivalents: &[],
        kind: "ecs_task_definition",
        check: Resource(ecs_roles),
    },
    Rule {
        id: "ZS-EC-001",
        title: "ElastiCache runs only in private subnets",
        seed: SEED_PRIVATE,
        severity: Error,
        equivalents: &[],
        kind: "elasticache_subnet_group",
        check: Resource(ec_private),
    },
    Rule {
        id: "ZS-EC-002",
        title: "Redis is encrypted at rest with a customer-managed key",
        seed: SEED_REDIS,
        severity: Error,
        equivalents: &["checkov CKV_AWS_29, CKV_AWS_191", "Trivy AVD-AWS-0045"],
        kind: "elasticache_replication_group",
        check: Resource(ec_at_rest),
    },
    Rule {
        id: "ZS-EC-003",
        title: "Redis requires TLS in transit",
        seed: SEED_REDIS,
        severity: Error,
        equivalents: &["checkov CKV_AWS_30", "Trivy AVD-AWS-0051"],
        kind: "elasticache_replication_group",
        check: Resource(ec_in_transit),
    },
    Rule {
        id: "ZS-EC-004",
        title: "Redis authenticates each user, with the default user disabled",
        seed: SEED_REDIS,
        severity: Error,
        equivalents: &["checkov CKV_AWS_31 (auth token)"],
        kind: "elasticache_replication_group",
        check: Resource(ec_rbac),
    },
    Rule {
        id: "ZS-MSK-001",
        title: "MSK brokers run only in private subnets",
        seed: SEED_MSK,
        severity: Error,
        equivalents: &[],
        kind: "msk_cluster",
        check: Resource(msk_private),
    },
    Rule {
        id: "ZS-MSK-002",
        title: "MSK encrypts traffic with TLS between clients and brokers and inside the cluster",
        seed: SEED_MSK,
        severity: Error,
        equivalents: &["checkov CKV_AWS_81", "Trivy AVD-AWS-0073"],
        kind: "msk_cluster",
        check: Resource(msk_tls),
    },
    Rule {
        id: "ZS-MSK-003",
        title: "MSK is encrypted at rest with a customer-managed key of the stack",
        seed: SEED_MSK,
        severity: Error,
        equivalents: &["checkov CKV_AWS_81", "Trivy AVD-AWS-0179"],
        kind: "msk_cluster",
        check: Resource(msk_cmk),
    },
    Rule {
        id: "ZS-MSK-004",
        title: "MSK clients authenticate with IAM and unauthenticated access is off",
        seed: SEED_MSK,
        severity: Error,
        equivalents: &["checkov CKV_AWS_291"],
        kind: "msk_cluster",
        check: Resource(msk_iam),
    },
    Rule {
        id: "ZS-DNS-001",
        title: "A subdomain's zone says how it is delegated (by a parent zone of the stack, or by hand)",
        seed: SEED_DNS,
        severity: Error,
        equivalents: &[],
        kind: "route53_zone",
        check: Resource(zone_delegated),
    },
    Rule {
        id: "ZS-MSK-005",
        title: "An MSK cluster with IAM authentication is reachable: a role of the stack may connect to it",
        seed: SEED_MSK,
        severity: Error,
        equivalents: &[],
        kind: "msk_cluster",
        check: Resource(msk_reachable),
    },
    Rule {
        id: "ZS-IDS-001",
        title: "GuardDuty is on in the stack's region",
        seed: SEED_IDS,
        severity: Error,
        equivalents: &["checkov CKV2_AWS_3"],
        kind: "stack",
        check: Stack(guardduty_on),
    },
    Rule {
        id: "ZS-IDS-002",
        title: "Security Hub is on with the Foundational Security Best Practices standard",
        seed: SEED_IDS,
        severity: Error,
        equivalents: &[],
        kind: "stack",
        check: Stack(securityhub_on),
    },
];

fn kms_rotation(_: &View, k: &Item) -> Option<Fail> {
    (k.bool("enable_key_rotation") == Some(false))
        .then(|| fail("enable_key_rotation", "automatic key rotation is off"))?
}

fn s3_encryption(_: &View, b: &Item) -> Option<Fail> {
    match b.str("sse_algorithm") {
        Some("AES256" | "aws:kms" | "aws:kms:dsse") => None,
        Some(other) => fail("sse_algorithm", format!("default encryption is `{other}`")),
        None => fail("sse_algorithm", "default encryption is not set"),
    }
}

fn s3_public_access(_: &View, b: &Item) -> Option<Fail> {
    (b.bool("block_public_access") != Some(true))
        .then(|| fail("block_public_access", "public access is not blocked"))?
}

/// An inline bucket policy may only grant CloudFront (with a source condition); anything else is public
/// or cross-principal access the seed does not allow.
fn s3_inline_policy(_: &View, b: &Item) -> Option<Fail> {
    let policy = b.json("policy")?;
    bad_statement(policy).map(|why| Fail {
        field: Some("policy"),
        message: why,
    })
}

/// Why a bucket policy grants more than CloudFront reads of one distribution, if it does.
pub fn bad_statement(policy: &serde_json::Value) -> Option<String> {
    for s in crate::policy::statements(policy) {
        if s["Effect"] == "Deny" {
            continue;
        }
        let principal = &s["Principal"];
        let service = one_or_many(&principal["Service"]);
        if principal == "*" || one_or_many(&principal["AWS"]).iter().any(|p| p == "*") {
            return Some("a statement allows any principal (`*`)".into());
        }
        if service != ["cloudfront.amazonaws.com"] {
            return Some("a statement allows a principal other than the CloudFront service".into());
        }
        let cond = &s["Condition"];
        let has_source = ["StringEquals", "ArnLike", "ArnEquals", "StringLike"]
            .iter()
            .any(|op| !cond[op]["AWS:SourceArn"].is_null() || !cond[op]["aws:SourceArn"].is_null());
        if !has_source {
            return Some(
                "CloudFront is allowed without an `AWS:SourceArn` condition naming the distribution"
                    .into(),
            );
        }
    }
    None
}

fn one_or_many(v: &serde_json::Value) -> Vec<String> {
    match v {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        _ => vec![],
    }
}

fn ddb_ttl(_: &View, t: &Item) -> Option<Fail> {
    t.str("ttl_attribute")
        .is_none_or(str::is_empty)
        .then(|| fail("ttl_attribute", "time to live is off: no `ttl_attribute`"))?
}

fn ddb_kms(_: &View, t: &Item) -> Option<Fail> {
    t.get("kms_key").is_none().then(|| {
        fail(
            "kms_key",
            "encrypted with an AWS owned key only: set `kms_key` to the stack's key",
        )
    })?
}

fn ssm_secure(_: &View, p: &Item) -> Option<Fail> {
    let secret = matches!(p.get("value"), Some(Value::Secret(_)));
    (secret && p.str("type") != Some("SecureString")).then(|| {
        fail(
            "type",
            "a value from the environment (a secret) is stored as plain text",
        )
    })?
}

fn ssm_cmk(_: &View, p: &Item) -> Option<Fail> {
    (p.str("type") == Some("SecureString") && p.get("kms_key").is_none()).then(|| {
        fail(
            "kms_key",
            "encrypted with the AWS managed key, not a customer-managed key of the stack",
        )
    })?
}

fn vpc_tiers(v: &View, vpc: &Item) -> Option<Fail> {
    let tiers: Vec<&str> = v
        .referrers("subnet", "vpc", vpc)
        .map(|s| s.str("tier").unwrap_or("private"))
        .collect();
    let missing: Vec<&str> = ["private", "public"]
        .into_iter()
        .filter(|t| !tiers.contains(t))
        .collect();
    (!missing.is_empty()).then(|| Fail {
        field: None,
        message: format!("the VPC has no {} subnet", missing.join(" or ")),
    })
}

fn private_no_igw(v: &View, subnet: &Item) -> Option<Fail> {
    if subnet.str("tier").unwrap_or("private") != "private" {
        return None;
    }
    for table in v.referrers("route_table", "subnets", subnet) {
        for route in table.list("routes") {
            let Some(m) = route.as_map() else { continue };
            let via_igw = m
                .values()
                .any(|x| v.target(x, "internet_gateway").is_some());
            if via_igw {
                return Some(Fail {
                    field: Some("tier"),
                    message: format!(
                        "a private subnet, but {} routes it to an internet gateway",
                        table.address
                    ),
                });
            }
        }
    }
    None
}

fn sg_open_ports(_: &View, sg: &Item) -> Option<Fail> {
    for rule in sg.list("ingress") {
        let Some(m) = rule.as_map() else { continue };
        let open = m
            .get("cidr_blocks")
            .map(Value::as_list)
            .unwrap_or(&[])
            .iter()
            .any(|c| c.as_str() == Some("0.0.0.0/0"));
        let from = m.get("from_port").and_then(Value::as_int).unwrap_or(0);
        let to = m.get("to_port").and_then(Value::as_int).unwrap_or(0);
        let all = m.get("protocol").and_then(Value::as_str) == Some("-1");
        let web = !all && ((from == 80 && to == 80) || (from == 443 && to == 443));
        if open && !web {
            return fail(
                "ingress",
                if all {
                    "all traffic is open to the internet (0.0.0.0/0)".to_owned()
                } else {
                    format!("ports {from}-{to} are open to the internet (0.0.0.0/0)")
                },
            );
        }
    }
    None
}

/// A role assumable through GitHub's OIDC provider must pin `sub` to named repositories (no wildcard
/// in the owner/repository part) and `aud` to STS.
fn github_trust(_: &View, role: &Item) -> Option<Fail> {
    let policy = role.json("assume_role_policy")?;
    for s in crate::policy::statements(policy) {
        let federated = one_or_many(&s["Principal"]["Federated"]);
        let github = federated.iter().any(|f| {
            f.contains("token.actions.githubusercontent.com") || f.contains("${iam_oidc_provider.")
        });
        if !github || s["Effect"] == "Deny" {
            continue;
        }
        let cond = &s["Condition"];
        let values = |key: &str| -> Vec<String> {
            [
                "StringEquals",
                "StringLike",
                "ForAnyValue:StringEquals",
                "ForAnyValue:StringLike",
            ]
            .iter()
            .flat_map(|op| one_or_many(&cond[op][key]))
            .collect()
        };
        let subs = values("token.actions.githubusercontent.com:sub");
        if subs.is_empty() {
            return fail(
                "assume_role_policy",
                "GitHub OIDC trust without a `token.actions.githubusercontent.com:sub` condition: any repository could assume it",
            );
        }
        if let Some(bad) = subs.iter().find(|s| !named_repository(s)) {
            return fail(
                "assume_role_policy",
                format!("GitHub OIDC trust for `{bad}` does not name a repository"),
            );
        }
        if values("token.actions.githubusercontent.com:aud") != ["sts.amazonaws.com"] {
            return fail(
                "assume_role_policy",
                "GitHub OIDC trust without `token.actions.githubusercontent.com:aud` = \"sts.amazonaws.com\"",
            );
        }
    }
    None
}

/// `repo:OWNER/NAME:...` with no wildcard in OWNER/NAME.
fn named_repository(sub: &str) -> bool {
    let Some(rest) = sub.strip_prefix("repo:") else {
        return false;
    };
    let repo = rest.split(':').next().unwrap_or("");
    let mut parts = repo.split('/');
    matches!((parts.next(), parts.next(), parts.next()), (Some(o), Some(n), None)
        if !o.is_empty() && !n.is_empty() && !repo.contains(['*', '?']))
}

fn acm_rsa_2048(_: &View, c: &Item) -> Option<Fail> {
    match c.str("key_algorithm") {
        Some("RSA_2048") | None => {}
        Some(other) => {
            return fail(
                "key_algorithm",
                format!("the key is `{other}`, not RSA 2048"),
            );
        }
    }
    // Only ACM knows how the issued certificate is signed: checked with --live.
    match c.output("signature_algorithm") {
        Some("SHA256WITHRSA") | None => None,
        Some(other) => fail(
            "key_algorithm",
            format!("the certificate is signed with {other}, not SHA-256 with RSA"),
        ),
    }
}

fn http_only_redirects(_: &View, l: &Item) -> Option<Fail> {
    (l.str("protocol") == Some("HTTP") && l.str("default_action") != Some("redirect-https")).then(
        || {
            fail(
                "default_action",
                format!(
                    "an HTTP listener answers with `{}` instead of redirecting to HTTPS",
                    l.str("default_action").unwrap_or("?")
                ),
            )
        },
    )?
}

fn https_tls_policy(_: &View, l: &Item) -> Option<Fail> {
    if l.str("protocol") != Some("HTTPS") {
        return None;
    }
    let policy = l.str("ssl_policy").unwrap_or("");
    (!crate::kinds::lb_listener::SSL_POLICIES.contains(&policy)).then(|| {
        fail(
            "ssl_policy",
            format!("`{policy}` still allows TLS 1.0 or 1.1"),
        )
    })?
}

fn lb_has_waf(v: &View, lb: &Item) -> Option<Fail> {
    v.referrers("wafv2_web_acl_association", "resource_arn", lb)
        .next()
        .is_none()
        .then(|| Fail {
            field: None,
            message: "no wafv2_web_acl_association puts a web ACL in front of it".into(),
        })
}

fn lb_drops_invalid_headers(_: &View, lb: &Item) -> Option<Fail> {
    (lb.bool("drop_invalid_header_fields") == Some(false)).then(|| {
        fail(
            "drop_invalid_header_fields",
            "invalid header fields are passed to the targets",
        )
    })?
}

fn off(i: &Item, field: &'static str, what: &str) -> Option<Fail> {
    (i.bool(field) == Some(false)).then(|| fail(field, format!("{what} is off")))?
}

fn waf_ip_reputation(_: &View, a: &Item) -> Option<Fail> {
    off(a, "ip_reputation_list", "the IP reputation list")
}

fn waf_known_bad_inputs(_: &View, a: &Item) -> Option<Fail> {
    off(a, "known_bad_inputs", "the known bad inputs rule group")
}

fn waf_rate_limit(_: &View, a: &Item) -> Option<Fail> {
    a.int("rate_limit")
        .is_none()
        .then(|| fail("rate_limit", "no rate-based rule"))?
}

fn waf_body_size(_: &View, a: &Item) -> Option<Fail> {
    a.int("max_body_size")
        .is_none()
        .then(|| fail("max_body_size", "no request body size restriction"))?
}

fn cf_https_viewers(_: &View, d: &Item) -> Option<Fail> {
    (d.str("viewer_protocol_policy") == Some("allow-all"))
        .then(|| fail("viewer_protocol_policy", "viewers may use plain HTTP"))?
}

fn cf_tls(_: &View, d: &Item) -> Option<Fail> {
    if d.get("certificate").is_none() {
        return fail(
            "certificate",
            "CloudFront's default certificate allows TLS 1.0: give the distribution its own",
        );
    }
    let v = d.str("minimum_protocol_version").unwrap_or("");
    (!v.starts_with("TLSv1.2")).then(|| {
        fail(
            "minimum_protocol_version",
            format!("viewers may use `{v}`, older than TLS 1.2"),
        )
    })?
}

fn cf_waf(_: &View, d: &Item) -> Option<Fail> {
    d.get("web_acl")
        .is_none()
        .then(|| fail("web_acl", "no web ACL"))?
}

fn cf_oac(_: &View, d: &Item) -> Option<Fail> {
    let bare = d
        .list("origins")
        .iter()
        .filter_map(Value::as_map)
        // An ALB origin is reached over HTTPS by its name: access controls are S3's.
        .filter(|o| o.get("alb_record").is_none_or(Value::is_null))
        .filter(|o| o.get("origin_access_control").is_none_or(Value::is_null))
        .filter_map(|o| o.get("origin_id").and_then(Value::as_str))
        .collect::<Vec<_>>();
    (!bare.is_empty()).then(|| {
        fail(
            "origins",
            format!(
                "origin `{}` has no origin access control",
                bare.join("`, `")
            ),
        )
    })?
}

fn s3_policy_kind(_: &View, p: &Item) -> Option<Fail> {
    bad_statement(p.json("policy")?).map(|why| Fail {
        field: Some("policy"),
        message: why,
    })
}

fn r53_alias(v: &View, r: &Item) -> Option<Fail> {
    if !matches!(r.str("type"), Some("A" | "AAAA")) || r.get("alias").is_some() {
        return None;
    }
    let name = r.str("name")?.trim_end_matches('.');
    let served = |kind: &'static str, field: &'static str| {
        v.of_kind(kind).any(|i| {
            i.list(field)
                .iter()
                .any(|h| h.as_str().is_some_and(|h| h.trim_end_matches('.') == name))
        })
    };
    (served("lb_listener_rule", "host_headers") || served("cloudfront_distribution", "aliases"))
        .then(|| {
            fail(
                "records",
                format!("`{name}` is served by a load balancer or distribution but points at static addresses"),
            )
        })?
}

fn ecr_encryption(_: &View, r: &Item) -> Option<Fail> {
    match r.str("encryption_type") {
        Some("AES256" | "KMS") | None => None,
        Some(other) => fail("encryption_type", format!("encryption `{other}`")),
    }
}

fn ecr_scan(_: &View, r: &Item) -> Option<Fail> {
    off(r, "scan_on_push", "scan on push")
}

fn ecr_immutable(_: &View, r: &Item) -> Option<Fail> {
    (r.str("image_tag_mutability") == Some("MUTABLE"))
        .then(|| fail("image_tag_mutability", "image tags can be overwritten"))?
}

/// Subnets of `field` whose tier is not private.
fn public_subnets<'a>(v: &'a View, i: &'a Item, field: &str) -> Vec<&'a str> {
    i.list(field)
        .iter()
        .filter_map(|s| v.target(s, "subnet"))
        .filter(|s| s.str("tier").unwrap_or("private") != "private")
        .map(|s| s.address)
        .collect()
}

fn ecs_private(v: &View, s: &Item) -> Option<Fail> {
    if s.bool("assign_public_ip") == Some(true) {
        return fail("assign_public_ip", "tasks get public IP addresses");
    }
    let public = public_subnets(v, s, "subnets");
    (!public.is_empty()).then(|| {
        fail(
            "subnets",
            format!("runs in public subnets: {}", public.join(", ")),
        )
    })?
}

fn ecs_roles(v: &View, t: &Item) -> Option<Fail> {
    let (task, exec) = (t.get("task_role")?, t.get("execution_role")?);
    let same = match (v.target(task, "iam_role"), v.target(exec, "iam_role")) {
        (Some(a), Some(b)) => a.address == b.address,
        _ => task == exec,
    };
    same.then(|| fail("task_role", "the task role is the execution role"))?
}

fn ec_private(v: &View, g: &Item) -> Option<Fail> {
    let public = public_subnets(v, g, "subnets");
    (!public.is_empty())
        .then(|| fail("subnets", format!("public subnets: {}", public.join(", "))))?
}

fn ec_at_rest(_: &View, g: &Item) -> Option<Fail> {
    if g.bool("at_rest_encryption") == Some(false) {
        return fail("at_rest_encryption", "not encrypted at rest");
    }
    g.get("kms_key").is_none().then(|| {
        fail(
            "kms_key",
            "encrypted with an AWS managed key, not a customer-managed key of the stack",
        )
    })?
}

fn ec_in_transit(_: &View, g: &Item) -> Option<Fail> {
    if g.bool("transit_encryption") == Some(false) {
        return fail("transit_encryption", "clients may connect without TLS");
    }
    match g.str("transit_encryption_mode") {
        Some("preferred") => fail("transit_encryption_mode", "TLS is preferred, not required"),
        _ => None,
    }
}

fn ec_rbac(v: &View, g: &Item) -> Option<Fail> {
    let Some(group) = g
        .get("user_group")
        .and_then(|u| v.target(u, "elasticache_user_group"))
    else {
        return fail("user_group", "no RBAC user group: any client can connect");
    };
    let default_off = group
        .list("users")
        .iter()
        .filter_map(|u| v.target(u, "elasticache_user"))
        .any(|u| {
            u.str("user_name") == Some("default")
                && u.str("access_string").is_some_and(|a| a.starts_with("off"))
        });
    (!default_off).then(|| {
        fail(
            "user_group",
            format!("{} does not disable the `default` user", group.address),
        )
    })?
}

fn msk_private(v: &View, c: &Item) -> Option<Fail> {
    let public = public_subnets(v, c, "client_subnets");
    (!public.is_empty()).then(|| {
        fail(
            "client_subnets",
            format!("brokers in public subnets: {}", public.join(", ")),
        )
    })?
}

fn msk_tls(_: &View, c: &Item) -> Option<Fail> {
    match c.str("client_broker_encryption") {
        Some("TLS") | None => {}
        Some(other) => {
            return fail(
                "client_broker_encryption",
                format!("clients may connect with `{other}`"),
            );
        }
    }
    off(c, "in_cluster_encryption", "encryption between brokers")
}

fn msk_cmk(v: &View, c: &Item) -> Option<Fail> {
    match c.get("kms_key") {
        None => fail("kms_key", "encrypted at rest with an AWS managed key"),
        Some(k) if v.live || v.target(k, "kms_key").is_some() => {
            // Live, the key must be one of the stack's own keys.
            (v.live && v.target(k, "kms_key").is_none())
                .then(|| fail("kms_key", "the key at rest is not a key of this stack"))?
        }
        Some(_) => None,
    }
}

fn msk_iam(_: &View, c: &Item) -> Option<Fail> {
    if c.bool("unauthenticated") == Some(true) {
        return fail("unauthenticated", "unauthenticated clients are allowed");
    }
    off(c, "sasl_iam", "IAM client authentication")
}

/// A zone of three labels or more (`dev.zenoo.example`) is reachable only once its parent domain
/// delegates to it: the file says by whom. Checked on the file; live there is nothing to read.
fn zone_delegated(v: &View, z: &Item) -> Option<Fail> {
    if v.live {
        return None;
    }
    let name = z.str("name")?;
    let labels = name.trim_end_matches('.').split('.').count();
    let parent = matches!(z.get("parent_zone"), Some(Value::Ref(_)));
    (labels >= 3 && !parent && z.str("delegation").is_none()).then(|| {
        fail(
            "name",
            format!(
                "zone {name} is a subdomain but says nothing of its delegation: set `parent_zone` to the stack's parent zone, or `delegation = \"external\"` and add its `name_servers` output to the parent by hand"
            ),
        )
    })?
}

/// IAM authentication with no role allowed `kafka-cluster:Connect` on the cluster: no client can use it.
fn msk_reachable(v: &View, c: &Item) -> Option<Fail> {
    if c.bool("sasl_iam") == Some(false) {
        return None; // ZS-MSK-004 reports that
    }
    let reference = format!("${{{}.arn}}", c.address);
    let arn = c.output("arn");
    let names_cluster = |r: &str| {
        r == "*"
            || r == reference
            || arn.is_some_and(|a| r == a || r.strip_suffix('*').is_some_and(|p| a.starts_with(p)))
    };
    let connects = |a: &str| matches!(a, "*" | "kafka-cluster:*" | "kafka-cluster:Connect");
    let reachable = v.of_kind("iam_role").any(|role| {
        let Some(Value::Map(policies)) = role.get("inline_policies") else {
            return false;
        };
        policies.values().any(|doc| {
            let Value::Json(doc) = doc else {
                return false;
            };
            crate::policy::statements(doc).into_iter().any(|s| {
                s["Effect"] == "Allow"
                    && one_or_many(&s["Action"]).iter().any(|a| connects(a))
                    && one_or_many(&s["Resource"]).iter().any(|r| names_cluster(r))
            })
        })
    });
    (!reachable).then(|| {
        fail(
            "sasl_iam",
            "clients authenticate with IAM, but no role of the stack may `kafka-cluster:Connect` to the cluster",
        )
    })?
}

/// Stack-level rules apply to a full environment: a stack with a VPC of its own.
fn environment(v: &View) -> bool {
    v.of_kind("vpc").next().is_some()
}

fn guardduty_on(v: &View) -> Option<Fail> {
    let on = v
        .of_kind("guardduty_detector")
        .any(|d| d.bool("enable") != Some(false));
    (environment(v) && !on).then(|| Fail {
        field: None,
        message: "no enabled guardduty_detector in the stack".into(),
    })
}

fn securityhub_on(v: &View) -> Option<Fail> {
    let on = v
        .of_kind("securityhub_account")
        .any(|h| h.bool("foundational_best_practices") != Some(false));
    (environment(v) && !on).then(|| Fail {
        field: None,
        message: "no securityhub_account with the Foundational Security Best Practices standard"
            .into(),
    })
}

/// `docs/rules.md`: one row per rule.
pub fn rules_doc() -> String {
    let mut out = String::from(
        "# Security baseline rules\n\n\
         Generated from `src/check/rules.rs` (a test keeps it current). `zinfra check STACK` runs them on the \
         stack file, `zinfra check STACK --live` on what is deployed, and `plan`/`apply` refuse a stack that fails \
         one of severity `error` unless a waiver names it. Each rule enforces a sentence of the security baseline \
         (`infrastructure-security.txt`).\n\n\
         | Id | Kind | Severity | Rule | Seed | checkov / Trivy |\n|---|---|---|---|---|---|\n",
    );
    for r in RULES {
        out.push_str(&format!(
            "| `{}` | `{}` | {} | {} | {} | {} |\n",
            r.id,
            r.kind,
            match r.severity {
                Error => "error",
                Warning => "warning",
            },
            r.title,
            r.seed,
            if r.equivalents.is_empty() {
                "none".to_owned()
            } else {
                r.equivalents.join("; ")
            }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names() {
        assert!(named_repository("repo:zenoo/hub:ref:refs/heads/main"));
        assert!(named_repository("repo:zenoo/hub:environment:prod"));
        assert!(named_repository("repo:zenoo/hub:*"));
        for bad in [
            "repo:zenoo/*",
            "repo:*",
            "*",
            "repo:zenoo/hub*:ref:x",
            "zenoo/hub",
        ] {
            assert!(!named_repository(bad), "{bad}");
        }
    }
}
