//! `cloudfront_distribution`: schema and checks. AWS calls: `src/drivers/cloudfront.rs`;
//! tests: `tests/drivers/cloudfront.rs`.

use crate::model::Value;
use crate::schema::{Default, Field, KindDef, Ty};
use crate::validate::ResourceCx;

static STR: Ty = Ty::Str;

/// AWS's managed cache policy `Managed-CachingOptimized`.
pub const CACHING_OPTIMIZED: &str = "658327ea-f89d-4fab-a63d-7e88639e58f6";
/// The hosted zone of every CloudFront distribution, for Route53 alias records.
pub const HOSTED_ZONE_ID: &str = "Z2FDTNDATAQYW2";

/// Security policies from oldest to newest; the baseline accepts TLS 1.2 and later.
pub const TLS_POLICIES: &[&str] = &[
    "SSLv3",
    "TLSv1",
    "TLSv1_2016",
    "TLSv1.1_2016",
    "TLSv1.2_2018",
    "TLSv1.2_2019",
    "TLSv1.2_2021",
];

pub static ORIGIN: Ty = Ty::Object(&[
    Field::new(
        "origin_id",
        Ty::Str,
        "The origin's id within the distribution.",
    )
    .required(),
    Field::new(
        "bucket",
        Ty::Ref(&["s3_bucket"], "regional_domain_name"),
        "The S3 bucket (its regional domain name).",
    )
    .required(),
    Field::new(
        "origin_access_control",
        Ty::Ref(&["cloudfront_origin_access_control"], "id"),
        "The origin access control CloudFront signs requests with.",
    )
    .required(),
    Field::new(
        "origin_path",
        Ty::Str,
        "Path prefix in the bucket, e.g. `/site`.",
    )
    .default(Default::Str("")),
]);

/// The longest one operation waits for AWS: a distribution deploying to every edge location, or being disabled before deletion.
/// The driver's deadline; a resource's `timeout` overrides it.
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(45 * 60);

pub static KIND: KindDef = KindDef {
    name: "cloudfront_distribution",
    doc: "A CloudFront distribution serving private S3 origins through origin access controls, HTTPS only, TLS 1.2 or later, optionally behind a CLOUDFRONT web ACL.",
    fields: &[
        Field::new(
            "origins",
            Ty::Set(&ORIGIN),
            "S3 origins, each reached only through an origin access control.",
        )
        .required(),
        Field::new(
            "default_origin",
            Ty::Str,
            "`origin_id` the default behaviour serves; the first origin unless set.",
        ),
        Field::new(
            "viewer_protocol_policy",
            Ty::Enum(&["redirect-to-https", "https-only", "allow-all"]),
            "HTTP is redirected to HTTPS, or refused (`https-only`); `allow-all` is rejected.",
        )
        .default(Default::Str("redirect-to-https")),
        Field::new(
            "minimum_protocol_version",
            Ty::Enum(TLS_POLICIES),
            "Oldest TLS viewers may use; TLS 1.2 or later. Applies with `certificate` (CloudFront's default certificate allows TLSv1).",
        )
        .default(Default::Str("TLSv1.2_2021")),
        Field::new(
            "certificate",
            Ty::Ref(&["acm_certificate"], "arn"),
            "ACM certificate (requested in us-east-1) for the aliases, served by SNI; CloudFront's own certificate unless set.",
        ),
        Field::new("aliases", Ty::Set(&STR), "Domain names; none unless declared.")
            .default(Default::Empty),
        Field::new(
            "web_acl",
            Ty::Ref(&["wafv2_web_acl"], "arn"),
            "A web ACL with `scope = \"CLOUDFRONT\"`.",
        ),
        Field::new(
            "default_root_object",
            Ty::Str,
            "Object served for `/`.",
        )
        .default(Default::Str("index.html")),
        Field::new(
            "price_class",
            Ty::Enum(&["PriceClass_100", "PriceClass_200", "PriceClass_All"]),
            "Edge locations used.",
        )
        .default(Default::Str("PriceClass_100")),
        Field::new("enabled", Ty::Bool, "Serve requests.").default(Default::Bool(true)),
        Field::new("compress", Ty::Bool, "Compress responses.").default(Default::Bool(true)),
        Field::new(
            "cache_policy_id",
            Ty::Str,
            "Cache policy of the default behaviour; AWS managed `CachingOptimized` by default.",
        )
        .default(Default::Str(CACHING_OPTIMIZED)),
    ],
    physical_name: None,
    taggable: true,
    outputs: &["id", "arn", "domain_name", "alias_target"],
    validate,
    create_before_delete: false,
    holds: None,
    adoptable: false,
    wait: Some(WAIT),
    account_singleton: false,
};

fn validate(cx: &ResourceCx<'_>) {
    if cx.str("viewer_protocol_policy") == Some("allow-all") {
        cx.error_at_value(
            "viewer_protocol_policy",
            "viewers must use HTTPS",
            "use \"redirect-to-https\" (the default) or \"https-only\"",
        );
    }
    if let Some(v) = cx.str("minimum_protocol_version")
        && !v.starts_with("TLSv1.2")
    {
        cx.error_at_value(
            "minimum_protocol_version",
            &format!("`{v}` allows TLS older than 1.2"),
            "use \"TLSv1.2_2021\" (the default) or another TLSv1.2 policy",
        );
    }
    if !cx.is_null("aliases")
        && !cx.get("aliases").is_none_or(|v| v.as_list().is_empty())
        && cx.is_null("certificate")
    {
        cx.error_at_value(
            "aliases",
            "aliases need a certificate",
            "add `certificate = \"acm_certificate.<name>\"` covering every alias",
        );
    }
    // CloudFront takes certificates from us-east-1 only.
    if let Some((cert, region)) = cx.certificate_region("certificate")
        && region != "us-east-1"
    {
        cx.error_at_value(
            "certificate",
            &format!(
                "{cert} is requested in {region}; CloudFront uses certificates in us-east-1 only"
            ),
            &format!("set `region = \"us-east-1\"` on {cert}"),
        );
    }
    if let Some(acl) = cx.referenced("web_acl")
        && acl.props.get("scope").and_then(Value::as_str) != Some("CLOUDFRONT")
    {
        cx.error_at_value(
            "web_acl",
            &format!("{} is not a CLOUDFRONT web ACL", acl.address),
            "CloudFront takes only web ACLs with `scope = \"CLOUDFRONT\"`",
        );
    }
    let origins = cx.get("origins").map(Value::as_list).unwrap_or(&[]);
    let ids: Vec<&str> = origins
        .iter()
        .filter_map(|o| o.as_map()?.get("origin_id")?.as_str())
        .collect();
    if origins.is_empty() && !cx.is_null("origins") {
        cx.error_at_value(
            "origins",
            "a distribution needs an origin",
            "declare at least one origin",
        );
    }
    for (i, id) in ids.iter().enumerate() {
        if ids[..i].contains(id) {
            cx.error_at_value(
                &format!("origins[{i}]"),
                &format!("duplicate origin id `{id}`"),
                "give each origin its own `origin_id`",
            );
        }
    }
    if let Some(d) = cx.str("default_origin")
        && !ids.contains(&d)
    {
        cx.error_at_value(
            "default_origin",
            &format!("no origin has the id `{d}`"),
            &format!("use one of: {}", ids.join(", ")),
        );
    }
}
