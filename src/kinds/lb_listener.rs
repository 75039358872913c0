//! `lb_listener`: schema and checks. AWS calls: `src/drivers/elbv2.rs`; tests: `tests/drivers/elbv2.rs`.

use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, KindDef, Ty};

/// A modern policy: TLS 1.3 and 1.2 only, forward-secret ciphers.
pub const DEFAULT_SSL_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";

/// ELB's TLS policies that refuse TLS 1.0 and 1.1 (the older ones are not accepted).
pub const SSL_POLICIES: &[&str] = &[
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
    "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
    "ELBSecurityPolicy-TLS-1-2-2017-01",
    "ELBSecurityPolicy-FS-1-2-Res-2020-10",
];

pub static KIND: KindDef = KindDef {
    name: "lb_listener",
    doc: "An ALB listener: HTTP that only redirects to HTTPS, or HTTPS with an ACM certificate and a modern TLS policy.",
    notes: NOTES,
    fields: &[
        Field::new(
            "load_balancer",
            Ty::Ref(&["lb"], "arn"),
            "The load balancer, e.g. `lb.web`.",
        )
        .required()
        .force_new(),
        Field::new("port", Ty::Int, "Port, e.g. 443.").required(),
        Field::new("protocol", Ty::Enum(&["HTTP", "HTTPS"]), "Protocol.").required(),
        Field::new(
            "certificate",
            Ty::Ref(&["acm_certificate"], "arn"),
            "HTTPS: the certificate, e.g. `acm_certificate.alb`.",
        ),
        Field::new(
            "ssl_policy",
            Ty::Enum(SSL_POLICIES),
            "HTTPS: TLS policy (TLS 1.2 or later). HTTP listeners have none.",
        )
        .default(FieldDefault::Str(DEFAULT_SSL_POLICY)),
        Field::new(
            "default_action",
            Ty::Enum(&["redirect-https", "forward", "fixed-response"]),
            "`redirect-https` (301 to HTTPS on 443, the only action of an HTTP listener), `forward` to `target_group`, or `fixed-response` (404).",
        )
        .required(),
        Field::new(
            "target_group",
            Ty::Ref(&["lb_target_group"], "arn"),
            "With `forward`: the target group.",
        ),
    ],
    physical_name: None,
    taggable: true,
    outputs: &["id", "arn"],
    validate,
    create_before_delete: false,
    holds: None,
    adoptable: false,
    wait: None,
    account_singleton: false,
};

fn validate(cx: &ResourceCx<'_>) {
    if let Some(p) = cx.int("port")
        && !(1..=65535).contains(&p)
    {
        cx.error_at_value("port", "invalid port", "1 to 65535");
    }
    let action = cx.str("default_action");
    match cx.str("protocol") {
        Some("HTTP") => {
            if action.is_some_and(|a| a != "redirect-https") {
                cx.error_at_value(
                    "default_action",
                    "an HTTP listener can only redirect to HTTPS",
                    "write `default_action = \"redirect-https\"`, and forward from an HTTPS listener",
                );
            }
            for f in ["certificate", "ssl_policy"] {
                if cx.has_field(f) {
                    cx.error_at_value(
                        f,
                        &format!("`{f}` needs an HTTPS listener"),
                        "remove it, or set `protocol = \"HTTPS\"`",
                    );
                }
            }
        }
        Some("HTTPS") => {
            // A load balancer serves certificates of its own region only.
            if let Some((cert, region)) = cx.certificate_region("certificate")
                && region != cx.region
            {
                cx.error_at_value(
                    "certificate",
                    &format!(
                        "{cert} is requested in {region}; a load balancer in {} serves certificates of its own region only",
                        cx.region
                    ),
                    &format!("remove `region` from {cert} (or request another certificate for the load balancer)"),
                );
            }
            if cx.is_null("certificate") {
                cx.error_at_header(
                    "HTTPS listener without a certificate",
                    "add `certificate = \"acm_certificate.<name>\"`",
                );
            }
            if action == Some("redirect-https") {
                cx.error_at_value(
                    "default_action",
                    "an HTTPS listener cannot redirect to itself",
                    "use `forward` or `fixed-response`",
                );
            }
        }
        _ => {}
    }
    match (action, cx.is_null("target_group")) {
        (Some("forward"), true) => cx.error_at_value(
            "default_action",
            "`forward` needs a target group",
            "add `target_group = \"lb_target_group.<name>\"`",
        ),
        (Some(a), false) if a != "forward" => cx.error_at_value(
            "target_group",
            "`target_group` is used only with `default_action = \"forward\"`",
            "remove it, or forward to it",
        ),
        _ => {}
    }
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"The accepted `ssl_policy` values are the policies without TLS 1.0 and 1.1:
`ELBSecurityPolicy-TLS13-1-2-2021-06`, `-TLS13-1-3-2021-06`, `-TLS13-1-2-Res-2021-06`,
`-TLS13-1-2-Ext1-2021-06`, `-TLS13-1-2-Ext2-2021-06`, `-TLS13-1-2-PQ-2025-09`, `-TLS13-1-3-PQ-2025-09`,
`-TLS13-1-2-Res-PQ-2025-09`, `-TLS-1-2-Ext-2018-06`, `-TLS-1-2-2017-01`, `-FS-1-2-Res-2020-10` (each
prefixed `ELBSecurityPolicy`).

Checks:

- An HTTP listener's `default_action` is `redirect-https`: it cannot forward or answer. It takes no
  `certificate` or `ssl_policy`.
- An HTTPS listener has a `certificate` and does not redirect to itself.
- `forward` needs `target_group`; `target_group` is only used with `forward`.

Behaviour:

- The redirect keeps host, path and query, and answers `301`.
- Every field but `load_balancer` changes in place with one `ModifyListener`, e.g. a new TLS policy.
- An HTTP listener has no TLS policy: its `ssl_policy` reads as the default, so the plan shows the default
  for it; it has no effect.
- Listeners are tagged, and found from the stack's load balancers (`DescribeListeners` per load balancer,
  once per plan for listeners and rules, their tags with one `DescribeTags` per 20).
- A default action changed by hand to something else reads as e.g. `"redirect (other)"` and shows as drift.

Example:

```toml
[lb_listener.http]
load_balancer = "lb.web"
port = 80
protocol = "HTTP"
default_action = "redirect-https"

[lb_listener.https]
load_balancer = "lb.web"
port = 443
protocol = "HTTPS"
certificate = "acm_certificate.alb"
default_action = "fixed-response"
```

Outputs: `id` and `arn` are the listener ARN.
"##;
