//! `cloudfront_distribution`: schema and checks. AWS calls: `src/drivers/cloudfront.rs`;
//! tests: `tests/drivers/cloudfront.rs`.

use crate::model::Value;
use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, KindDef, Ty};

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
        "An S3 origin: the bucket (its regional domain name).",
    ),
    Field::new(
        "origin_access_control",
        Ty::Ref(&["cloudfront_origin_access_control"], "id"),
        "With `bucket`: the origin access control CloudFront signs requests with.",
    ),
    Field::new(
        "alb_record",
        Ty::Ref(&["route53_record"], "fqdn"),
        "An ALB origin (an API behind CloudFront): the stack's alias record of the load balancer, whose name its HTTPS certificate covers. Reached over HTTPS only, TLS 1.2.",
    ),
    Field::new(
        "origin_path",
        Ty::Str,
        "Path prefix in the bucket, e.g. `/site`.",
    )
    .default(FieldDefault::Str("")),
]);

pub static BEHAVIOR: Ty = Ty::Object(&[
    Field::new(
        "path_pattern",
        Ty::Str,
        "Requests whose path matches, e.g. `/api/*`.",
    )
    .required(),
    Field::new("origin", Ty::Str, "The `origin_id` that serves them.").required(),
]);

/// AWS managed cache policy `Managed-CachingDisabled`: what an API behind CloudFront answers is not cached.
pub const CACHING_DISABLED: &str = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
/// AWS managed origin request policy `Managed-AllViewerExceptHostHeader`: headers, cookies and query
/// strings reach the ALB, the Host header is the origin's (its certificate's name).
pub const ALL_VIEWER_EXCEPT_HOST: &str = "b689b0a8-53d0-40ab-baf2-68738e2966ac";

/// The longest one operation waits for AWS: a distribution deploying to every edge location, or being disabled before deletion.
/// The driver's deadline; a resource's `timeout` overrides it.
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(45 * 60);

pub static KIND: KindDef = KindDef {
    name: "cloudfront_distribution",
    doc: "A CloudFront distribution serving private S3 origins through origin access controls, HTTPS only, TLS 1.2 or later, optionally behind a CLOUDFRONT web ACL.",
    notes: NOTES,
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
            "behaviors",
            Ty::List(&BEHAVIOR),
            "Path patterns served by another origin, in order (first match wins), e.g. `[{ path_pattern = \"/api/*\", origin = \"api\" }]`. An ALB origin's answers are not cached and get every viewer header but Host; an S3 origin's are cached like the default behaviour's.",
        )
        .default(FieldDefault::Empty),
        Field::new(
            "viewer_protocol_policy",
            Ty::Enum(&["redirect-to-https", "https-only", "allow-all"]),
            "HTTP is redirected to HTTPS, or refused (`https-only`); `allow-all` is rejected.",
        )
        .default(FieldDefault::Str("redirect-to-https")),
        Field::new(
            "minimum_protocol_version",
            Ty::Enum(TLS_POLICIES),
            "Oldest TLS viewers may use; TLS 1.2 or later. Applies with `certificate` (CloudFront's default certificate allows TLSv1).",
        )
        .default(FieldDefault::Str("TLSv1.2_2021")),
        Field::new(
            "certificate",
            Ty::Ref(&["acm_certificate"], "arn"),
            "ACM certificate (requested in us-east-1) for the aliases, served by SNI; CloudFront's own certificate unless set.",
        ),
        Field::new("aliases", Ty::Set(&STR), "Domain names; none unless declared.")
            .default(FieldDefault::Empty),
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
        .default(FieldDefault::Str("index.html")),
        Field::new(
            "price_class",
            Ty::Enum(&["PriceClass_100", "PriceClass_200", "PriceClass_All"]),
            "Edge locations used.",
        )
        .default(FieldDefault::Str("PriceClass_100")),
        Field::new("enabled", Ty::Bool, "Serve requests.").default(FieldDefault::Bool(true)),
        Field::new("compress", Ty::Bool, "Compress responses.").default(FieldDefault::Bool(true)),
        Field::new(
            "cache_policy_id",
            Ty::Str,
            "Cache policy of the default behaviour; AWS managed `CachingOptimized` by default.",
        )
        .default(FieldDefault::Str(CACHING_OPTIMIZED)),
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
    // Each origin is S3 (bucket, through its access control) or an ALB (its alias record).
    for (i, o) in origins.iter().enumerate() {
        let Some(m) = o.as_map() else { continue };
        let at = format!("origins[{i}]");
        let has = |k: &str| m.get(k).is_some_and(|v| !v.is_null());
        match (has("bucket"), has("alb_record")) {
            (true, true) | (false, false) => cx.error_at_value(
                &at,
                "an origin is either an S3 `bucket` or an `alb_record`",
                "give one of them",
            ),
            (true, false) if !has("origin_access_control") => cx.error_at_value(
                &at,
                "an S3 origin needs its `origin_access_control`",
                "add `origin_access_control = \"cloudfront_origin_access_control.<name>\"`",
            ),
            (false, true) if has("origin_access_control") => cx.error_at_value(
                &at,
                "an origin access control signs requests to S3 only",
                "remove `origin_access_control` from the ALB origin",
            ),
            (false, true) => {
                let record = match m.get("alb_record") {
                    Some(Value::Ref(r)) => cx.stack.iter().find(|x| x.address == r.address),
                    _ => None,
                };
                let aliases_lb = record.is_some_and(|r| {
                    matches!(r.props.get("alias"), Some(Value::Ref(a)) if a.address.starts_with("lb."))
                });
                if let Some(r) = record.filter(|_| !aliases_lb) {
                    cx.error_at_value(
                        &at,
                        &format!("{} is not an alias record of a load balancer", r.address),
                        "an ALB origin is reached by the name of a record with `alias = \"lb.<name>\"`",
                    );
                }
            }
            _ => {}
        }
    }
    let behaviors = cx.get("behaviors").map(Value::as_list).unwrap_or(&[]);
    let mut patterns: Vec<&str> = Vec::new();
    for (i, b) in behaviors.iter().enumerate() {
        let Some(m) = b.as_map() else { continue };
        if let Some(o) = m.get("origin").and_then(Value::as_str)
            && !ids.contains(&o)
        {
            cx.error_at_value(
                &format!("behaviors[{i}].origin"),
                &format!("no origin has the id `{o}`"),
                &format!("use one of: {}", ids.join(", ")),
            );
        }
        if let Some(p) = m.get("path_pattern").and_then(Value::as_str) {
            if patterns.contains(&p) {
                cx.error_at_value(
                    &format!("behaviors[{i}].path_pattern"),
                    &format!("`{p}` is already a behaviour's pattern"),
                    "each path pattern once",
                );
            }
            patterns.push(p);
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

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"A CloudFront distribution serving private S3 origins, each reached only through an origin access control,
and, for an API behind the same domain, ALB origins reached over HTTPS by their alias record.

Each origin:

| Field | Type | Required / default | Description |
|---|---|---|---|
| `origin_id` | string | **required** | The origin's id in the distribution. |
| `bucket` | reference to `s3_bucket.<name>` (reads its `regional_domain_name`) | one of `bucket`, `alb_record` | An S3 origin: the bucket. |
| `origin_access_control` | reference to `cloudfront_origin_access_control.<name>` (reads its `id`) | with `bucket` | How CloudFront signs its requests to S3. |
| `alb_record` | reference to `route53_record.<name>` (reads its `fqdn`) | one of `bucket`, `alb_record` | An ALB origin: the stack's alias record of the load balancer (`alias = "lb.<name>"`), whose name the ALB's certificate covers. Reached over HTTPS only, TLS 1.2. |
| `origin_path` | string | `""` | Path prefix at the origin. |

Checks: `viewer_protocol_policy` is not `allow-all` (`viewers must use HTTPS`); `minimum_protocol_version`
is a TLSv1.2 policy; `aliases` need a `certificate`; `web_acl` is a `CLOUDFRONT` ACL; origin ids are
unique and `default_origin` names one of them; an origin is an S3 `bucket` with its access control or an
`alb_record` that aliases a load balancer, never both; `behaviors` name origins, each pattern once.

Behaviour:

- Created with `CreateDistributionWithTags`, tagged from the start, so a later apply finds it (for
  example after a timed-out wait) instead of creating a second one.
- Updates read the configuration (`GetDistributionConfig`), change the fields zinfra manages and send it
  back with `UpdateDistribution` and the ETag that read returned (`IfMatch`). Settings zinfra does not
  manage (logging, geo restrictions, other cache behaviours) are kept.
- Create and update wait until the distribution is `Deployed` (default timeout 45 minutes; set `timeout`
  to change it). Apply shows the state while it waits; a re-run after a timeout finds the distribution
  by its tags and waits again.
- Destroy disables the distribution, waits until it is `Deployed`, then deletes it with the new ETag.
- **Without `certificate`**, CloudFront serves its own `*.cloudfront.net` certificate, whose security
  policy is TLSv1 whatever is asked. zinfra then sends `TLSv1` (the only value AWS honours there) and
  reads `minimum_protocol_version` as the file gives it, so the plan does not show a change it cannot make.
  **TLS 1.2 is enforced only with a certificate**, which is why the reference stacks give their
  distribution an `acm_certificate` with `region = "us-east-1"` and an alias (`app.<env>.zenoo.example`).

```toml
[cloudfront_distribution.frontend]
origins = [{ origin_id = "assets", bucket = "s3_bucket.frontend", origin_access_control = "cloudfront_origin_access_control.frontend" }]
web_acl = "wafv2_web_acl.frontend"
certificate = "acm_certificate.frontend"
aliases = ["www.example.com"]
```

Outputs: `id`, `arn`, `domain_name` (`d123.cloudfront.net`), and `alias_target`
(`Z2FDTNDATAQYW2/<domain_name>`: CloudFront's hosted zone and the domain, for Route53 alias records).
"##;
