//! `guardduty_detector`: schema and checks. AWS calls: `src/drivers/guardduty.rs`; tests: `tests/drivers/guardduty.rs`.

use crate::model::Value;
use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, KindDef, Ty};

pub static KIND: KindDef = KindDef {
    name: "guardduty_detector",
    doc: "Amazon GuardDuty threat detection for the stack's region (one detector per account and region).",
    notes: NOTES,
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

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"Amazon GuardDuty threat detection for the stack's region. An account has at most one detector per
region.

Checks: `enable = false` is an error (the baseline requires threat detection).

zinfra finds its detector by its ownership tags (`ListDetectors`, `GetDetector`). GuardDuty allows one
detector per account and region, and on a real account it is usually on already (enabled by hand, or
by the organisation): such a detector is **adopted as it is**, without `[[adopt]]`. The plan says
`# guardduty_detector.main will be adopted (tagged and converged in place)`; apply records what it was
like in the tag `zinfra:found` (`enable=true frequency=SIX_HOURS tags=Team`), adds the stack's tags
beside the ones it had, and applies the file's settings. Destroy never deletes an adopted detector: it
puts the recorded settings back and removes only the tags the stack added. In an organisation's member
account (`GetAdministratorAccount` names an administrator), the administrator sets `enable` and
`finding_publishing_frequency`: zinfra says so on stderr (`… managed by the organisation's administrator
account 111122223333: `finding_publishing_frequency` is SIX_HOURS there (the file says FIFTEEN_MINUTES);
zinfra leaves it to the organisation`), compares them as the file says, and never changes or restores
them. A detector of another stack is never adopted (the plan refuses it, naming the stack). Destroy deletes the detector zinfra
created. Outputs: `id` is the detector id, `arn` its ARN.

```toml
[guardduty_detector.main]
finding_publishing_frequency = "FIFTEEN_MINUTES"
```
"##;
