//! `cloudwatch_log_group`: schema and checks. AWS calls: `src/drivers/logs.rs`; tests:
//! `tests/drivers/logs.rs`.

use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, Holds, KindDef, Ty};

/// The retention periods CloudWatch Logs accepts (PutRetentionPolicy), in days.
pub const RETENTION_DAYS: &[i64] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

pub static KIND: KindDef = KindDef {
    name: "cloudwatch_log_group",
    doc: "A CloudWatch Logs group, e.g. the one an ECS task's `logs` writes to: its events expire after `retention_in_days`, optionally encrypted with a customer-managed key.",
    notes: NOTES,
    fields: &[
        Field::new(
            "log_group_name",
            Ty::Str,
            "Log group name, e.g. `/ecs/zenoo-dev/hub`.",
        )
        .required()
        .force_new(),
        Field::new(
            "retention_in_days",
            Ty::Int,
            "Days before events expire: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653.",
        )
        .default(FieldDefault::Int(30)),
        Field::new(
            "kms_key",
            Ty::Ref(&["kms_key"], "arn"),
            "Customer-managed key for the events; its policy must let `logs.<region>.amazonaws.com` use it.",
        ),
    ],
    physical_name: Some("log_group_name"),
    taggable: true,
    outputs: &["id", "arn"],
    validate,
    create_before_delete: false,
    holds: Some(Holds::always("its log events")),
    adoptable: true,
    wait: None,
    account_singleton: false,
};

fn validate(cx: &ResourceCx<'_>) {
    if let Some(days) = cx.int("retention_in_days")
        && !RETENTION_DAYS.contains(&days)
    {
        let nearest = RETENTION_DAYS
            .iter()
            .min_by_key(|d| (*d - days).abs())
            .copied()
            .unwrap_or(30);
        cx.error_at_value(
            "retention_in_days",
            &format!("CloudWatch Logs keeps events for one of its fixed periods, not {days} days"),
            &format!("the nearest it accepts is {nearest}"),
        );
    }
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"Checks: `retention_in_days` is one of the periods CloudWatch Logs accepts.

A group made by hand before the stack (as ECS task logs once needed) is adopted with `[[adopt]]`; a
group is data-bearing: deleting or replacing it loses its events, so that needs `--allow-destroy`.
Changing `kms_key` associates the new key in place (or disassociates it); events written before keep
their key. Declare the group a task definition's `logs.group` names, and give the task definition
`depends_on = ["cloudwatch_log_group.<name>"]` so the group exists before tasks start.

Outputs: `id` is the group's name, `arn` its ARN (without the trailing `:*`).
"##;
