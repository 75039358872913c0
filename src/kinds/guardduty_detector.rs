//! `guardduty_detector`: schema and checks. AWS calls: `src/drivers/guardduty.rs`; tests: `tests/drivers/guardduty.rs`.

use crate::model::Value;
use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, KindDef, Ty};

pub static KIND: KindDef = KindDef {
    name: "guardduty_detector",
    doc: "Amazon GuardDuty threat detection for the stack's region (one detector per account and region).",
    fields: &[
        Field::new(
            "enable",
            Ty::Bool,
            "Whether the detector analyses and reports. The baseline requires it on.",
        )
        .default(FieldDefault::Bool(true)),
        Field::new(
            "finding_publishing_frequency",
            Ty::Enum(&["FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS"]),
            "How often updated findings reach EventBridge (and Security Hub).",
        )
        .default(FieldDefault::Str("FIFTEEN_MINUTES")),
    ],
    physical_name: None,
    taggable: true,
    outputs: &["id", "arn"],
    validate,
    create_before_delete: false,
    holds: None,
    adoptable: false,
    wait: None,
    account_singleton: true,
};

/// Intrusion detection is a baseline control: a disabled detector is a finding, not a setting.
fn validate(cx: &ResourceCx<'_>) {
    if cx.get("enable") == Some(&Value::Bool(false)) {
        cx.error_at_value(
            "enable",
            "GuardDuty detector disabled",
            "the security baseline requires threat detection on; remove `enable = false`",
        );
    }
}
