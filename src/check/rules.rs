//! One rule per control of the seed (../shared/seed/infrastructure-security.txt). Each entry names the
//! sentence it enforces; `docs/rules.md` is generated from this table (see `rules_doc`).

use super::Check::Resource;
use super::Severity::{Error, Warning};
use super::{Fail, Item, Rule, View, fail};
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
    let statements = match &policy["Statement"] {
        serde_json::Value::Array(a) => a.clone(),
        s @ serde_json::Value::Object(_) => vec![s.clone()],
        _ => vec![],
    };
    for s in statements {
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
                .filter_map(|x| v.target(x))
                .any(|t| t.kind == "internet_gateway");
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
    let statements = match &policy["Statement"] {
        serde_json::Value::Array(a) => a.clone(),
        s @ serde_json::Value::Object(_) => vec![s.clone()],
        _ => vec![],
    };
    for s in statements {
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
