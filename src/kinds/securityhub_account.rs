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
