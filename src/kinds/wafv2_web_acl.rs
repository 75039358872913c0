//! `wafv2_web_acl`: schema and checks. AWS calls: `src/drivers/wafv2.rs`; tests: `tests/drivers/wafv2.rs`.

use crate::model::Value;
use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, KindDef, Ty};

static STR: Ty = Ty::Str;

/// The AWS managed rule groups the security baseline requires in every web ACL, by the field that keeps them.
pub const BASELINE_GROUPS: &[(&str, &str)] = &[
    (
        "ip_reputation_list",
        "AWSManagedRulesAmazonIpReputationList",
    ),
    ("known_bad_inputs", "AWSManagedRulesKnownBadInputsRuleSet"),
    ("common_rule_set", "AWSManagedRulesCommonRuleSet"),
];

/// Bytes of a request body AWS WAF inspects by default for a load balancer: a body larger than this
/// cannot be inspected, so the size rule treats it as too large.
pub const MAX_INSPECTED_BODY: i64 = 8192;

pub static KIND: KindDef = KindDef {
    name: "wafv2_web_acl",
    doc: "A WAFv2 web ACL with the security baseline built in: AWS's IP reputation list, known bad inputs and common rule set, a per-IP rate limit and a request body size limit, metrics on.",
    notes: NOTES,
    fields: &[
        Field::new("name", Ty::Str, "Web ACL name; `<stack>-<name>` by default.")
            .default(FieldDefault::PhysicalName)
            .force_new(),
        Field::new(
            "scope",
            Ty::Enum(&["REGIONAL", "CLOUDFRONT"]),
            "`REGIONAL` (ALB) or `CLOUDFRONT` (always created in us-east-1).",
        )
        .default(FieldDefault::Str("REGIONAL"))
        .force_new(),
        Field::new("description", Ty::Str, "Description.").default(FieldDefault::Str("")),
        Field::new(
            "default_action",
            Ty::Enum(&["allow", "block"]),
            "What happens to a request no rule blocks.",
        )
        .default(FieldDefault::Str("allow")),
        Field::new(
            "ip_reputation_list",
            Ty::Bool,
            "AWS managed `AWSManagedRulesAmazonIpReputationList` (required by the baseline).",
        )
        .default(FieldDefault::Bool(true)),
        Field::new(
            "known_bad_inputs",
            Ty::Bool,
            "AWS managed `AWSManagedRulesKnownBadInputsRuleSet` (required by the baseline).",
        )
        .default(FieldDefault::Bool(true)),
        Field::new(
            "common_rule_set",
            Ty::Bool,
            "AWS managed `AWSManagedRulesCommonRuleSet` (required by the baseline).",
        )
        .default(FieldDefault::Bool(true)),
        Field::new(
            "rate_limit",
            Ty::Int,
            "Requests one IP may send in any 5 minutes before it is blocked (10 to 2000000000).",
        )
        .default(FieldDefault::Int(2000)),
        Field::new(
            "max_body_size",
            Ty::Int,
            "Largest request body allowed, in bytes (1 to 8192); larger bodies are blocked.",
        )
        .default(FieldDefault::Int(MAX_INSPECTED_BODY)),
        Field::new(
            "managed_rule_groups",
            Ty::Set(&STR),
            "More AWS managed rule groups by name, e.g. `AWSManagedRulesSQLiRuleSet`; none unless declared.",
        )
        .default(FieldDefault::Empty),
    ],
    physical_name: Some("name"),
    taggable: true,
    outputs: &["id", "arn", "name"],
    validate,
    create_before_delete: false,
    holds: None,
    adoptable: false,
    wait: None,
    account_singleton: false,
};

fn validate(cx: &ResourceCx<'_>) {
    if let Some(name) = cx.str("name")
        && (name.is_empty()
            || name.len() > 128
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    {
        cx.error_at_value(
            "name",
            "invalid web ACL name",
            "1 to 128 characters: letters, digits, `_` and `-`",
        );
    }
    for (field, group) in BASELINE_GROUPS {
        if cx.get(field) == Some(&Value::Bool(false)) {
            cx.error_at_value(
                field,
                &format!("the security baseline requires `{group}` in every web ACL"),
                &format!("remove `{field} = false`"),
            );
        }
    }
    if let Some(limit) = cx.int("rate_limit")
        && !(10..=2_000_000_000).contains(&limit)
    {
        cx.error_at_value(
            "rate_limit",
            "rate limit out of range",
            "AWS WAF takes 10 to 2000000000 requests per 5 minutes",
        );
    }
    if let Some(size) = cx.int("max_body_size")
        && !(1..=MAX_INSPECTED_BODY).contains(&size)
    {
        cx.error_at_value(
            "max_body_size",
            "body size limit out of range",
            "1 to 8192 bytes: AWS WAF inspects only the first 8 KB of a body, so a larger limit could not be enforced",
        );
    }
    for (i, g) in cx
        .get("managed_rule_groups")
        .map(Value::as_list)
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        let Some(g) = g.as_str() else { continue };
        let path = format!("managed_rule_groups[{i}]");
        if let Some((field, _)) = BASELINE_GROUPS.iter().find(|(_, b)| *b == g) {
            cx.error_at_value(
                &path,
                &format!("`{g}` is already part of every web ACL"),
                &format!("remove it from the list; `{field}` keeps it"),
            );
        } else if !g.starts_with("AWSManagedRules") {
            cx.error_at_value(
                &path,
                &format!("`{g}` is not an AWS managed rule group"),
                "AWS managed rule group names begin with `AWSManagedRules`",
            );
        }
    }
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"A WAFv2 web ACL with the security baseline built in. An ACL declared with no fields at all already holds,
in this order: AWS's managed `AWSManagedRulesAmazonIpReputationList`, `AWSManagedRulesKnownBadInputsRuleSet`
and `AWSManagedRulesCommonRuleSet` (their own block actions apply), a rate-based rule that blocks an IP
sending more than `rate_limit` requests in 5 minutes, and a size constraint that blocks request bodies
larger than `max_body_size` (a body too large to inspect counts as too large). CloudWatch metrics and
sampled requests are on for the ACL and every rule.

Checks: the three baseline groups cannot be turned off ("the security baseline requires
\`AWSManagedRulesCommonRuleSet\` in every web ACL"); `rate_limit` and `max_body_size` in range (WAF inspects
at most the first 8 KB of a body for a load balancer, so a larger limit could not be enforced);
`managed_rule_groups` names AWS managed groups and does not repeat a baseline one; `name` is 1 to 128
letters, digits, `_` and `-`.

Behaviour: every update reads the ACL (`GetWebACL`) and sends `UpdateWebACL` with the lock token that read
returned; if another writer got in between (`WAFOptimisticLockException`) it reads and tries once more.
Delete does the same with `DeleteWebACL`. zinfra writes the whole rule list: rules added to the ACL
outside zinfra are replaced at the next update, but a rule added by hand is not shown as drift.

```toml
[wafv2_web_acl.frontend]
scope = "CLOUDFRONT"
rate_limit = 1000
managed_rule_groups = ["AWSManagedRulesSQLiRuleSet"]
```

Outputs: `id`, `arn`, `name`.
"##;
