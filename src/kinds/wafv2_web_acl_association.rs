//! `wafv2_web_acl_association`: schema and checks. AWS calls: `src/drivers/wafv2.rs`; tests: `tests/drivers/wafv2.rs`.

use crate::schema::ResourceCx;
use crate::schema::{Field, KindDef, Ty};

pub static KIND: KindDef = KindDef {
    name: "wafv2_web_acl_association",
    doc: "Puts a REGIONAL web ACL in front of a load balancer. (A CloudFront distribution takes its web ACL in its own `web_acl` field.)",
    notes: NOTES,
    fields: &[
        Field::new(
            "web_acl",
            Ty::Ref(&["wafv2_web_acl"], "arn"),
            "The REGIONAL web ACL.",
        )
        .required()
        .force_new(),
        Field::new(
            "resource_arn",
            Ty::Ref(&["lb"], "arn"),
            "The load balancer it protects.",
        )
        .required()
        .force_new(),
    ],
    physical_name: None,
    taggable: false,
    outputs: &["id"],
    validate,
    create_before_delete: false,
    holds: None,
    adoptable: false,
    wait: None,
    account_singleton: false,
};

fn validate(cx: &ResourceCx<'_>) {
    if let Some(acl) = cx.referenced("web_acl")
        && acl.props.get("scope").and_then(|v| v.as_str()) == Some("CLOUDFRONT")
    {
        cx.error_at_value(
            "web_acl",
            "a CLOUDFRONT web ACL cannot be associated with a load balancer",
            "use a web ACL with `scope = \"REGIONAL\"`; CloudFront takes its web ACL in the distribution's `web_acl`",
        );
    }
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"Puts a `REGIONAL` web ACL in front of a load balancer. (A CloudFront distribution takes its web ACL in
its own `web_acl` field.)

Checks: `web_acl` must not be a `CLOUDFRONT` ACL.

Behaviour: associations carry no tags. zinfra finds each declared one from its load balancer
(`GetWebACLForResource`). An association removed from the file is therefore not found and not removed;
see [Limits and known gaps](limits.md#limits-and-known-gaps).

Outputs: `id` is the load balancer's ARN.
"##;
