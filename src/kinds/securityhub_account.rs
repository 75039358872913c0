//! `securityhub_account`: schema and checks. AWS calls: `src/drivers/securityhub.rs`; tests: `tests/drivers/securityhub.rs`.

use crate::model::Value;
use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, KindDef, Ty};

/// The longest one operation waits for AWS: the Foundational Security Best Practices standard turning READY.
/// The driver's deadline; a resource's `timeout` overrides it.
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(10 * 60);

pub static KIND: KindDef = KindDef {
    name: "securityhub_account",
    doc: "AWS Security Hub enabled for the stack's region, subscribed to the AWS Foundational Security \
          Best Practices standard (and no default standards zinfra did not ask for).",
    notes: NOTES,
    fields: &[Field::new(
        "foundational_best_practices",
        Ty::Bool,
        "Subscribe to the AWS Foundational Security Best Practices standard (v1.0.0). Required by the baseline.",
    )
    .default(FieldDefault::Bool(true))],
    physical_name: None,
    taggable: true,
    outputs: &["id", "arn"],
    validate,
    create_before_delete: false,
    holds: None,
    adoptable: false,
    wait: Some(WAIT),
    account_singleton: true,
};

fn validate(cx: &ResourceCx<'_>) {
    if cx.get("foundational_best_practices") == Some(&Value::Bool(false)) {
        cx.error_at_value(
            "foundational_best_practices",
            "Security Hub without the Foundational Security Best Practices standard",
            "the security baseline requires the standard; remove `foundational_best_practices = false`",
        );
    }
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"AWS Security Hub enabled for the stack's region, subscribed to the AWS Foundational Security Best
Practices standard (`arn:aws:securityhub:<region>::standards/aws-foundational-security-best-practices/v/1.0.0`).
zinfra enables the hub without AWS's default standards, so only the standards the file asks for are on.

Checks: `foundational_best_practices = false` is an error.

Apply waits until the subscription is `READY` (default 10 minutes, or `timeout`). A standard
unsubscribed outside zinfra shows as drift, and apply subscribes it again. As with GuardDuty, a hub
enabled before the stack is adopted as it is: whether it ran the standard and its tags are recorded in
`zinfra:found`, and destroy puts the standard back as found and removes only the stack's tags, leaving
the hub enabled. In an organisation's member account (`GetAdministratorAccount` names an administrator),
the administrator decides which standards run: zinfra says so on stderr, compares
`foundational_best_practices` as the file says, and never subscribes, unsubscribes or restores it.
Destroy disables only a hub zinfra enabled (`DisableSecurityHub`). Outputs: `id` and `arn` are both the
hub ARN (`…:hub/default`).

```toml
[securityhub_account.main]
```
"##;
