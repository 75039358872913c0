//! `lb_listener_rule`: schema and checks. AWS calls: `src/drivers/elbv2.rs`; tests: `tests/drivers/elbv2.rs`.

use crate::model::Value;
use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, KindDef, Ty};

static PATTERN: Ty = Ty::Str;

pub static KIND: KindDef = KindDef {
    name: "lb_listener_rule",
    doc: "A listener rule sending requests for some hosts and/or paths to a target group.",
    notes: NOTES,
    fields: &[
        Field::new(
            "listener",
            Ty::Ref(&["lb_listener"], "arn"),
            "The listener, e.g. `lb_listener.https`.",
        )
        .required()
        .force_new(),
        Field::new(
            "priority",
            Ty::Int,
            "1-50000, lower first; unique per listener.",
        )
        .required(),
        Field::new(
            "host_headers",
            Ty::Set(&PATTERN),
            "Host names matched, e.g. `api.dev.zenoo.example` (`*` and `?` allowed).",
        )
        .default(FieldDefault::Empty),
        Field::new(
            "path_patterns",
            Ty::Set(&PATTERN),
            "Paths matched, e.g. `/api/*`.",
        )
        .default(FieldDefault::Empty),
        Field::new(
            "target_group",
            Ty::Ref(&["lb_target_group"], "arn"),
            "Where matching requests go.",
        )
        .required(),
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
    if let Some(p) = cx.int("priority")
        && !(1..=50000).contains(&p)
    {
        cx.error_at_value("priority", "invalid rule priority", "1 to 50000");
    }
    let n = |f: &str| cx.get(f).map(Value::as_list).map_or(0, <[Value]>::len);
    let (hosts, paths) = (n("host_headers"), n("path_patterns"));
    if hosts + paths == 0 {
        cx.error_at_header(
            "listener rule without a condition",
            "give `host_headers` and/or `path_patterns`",
        );
    } else if hosts + paths > 5 {
        cx.error_at_header(
            "a listener rule matches at most 5 values",
            "split the hosts and paths over several rules",
        );
    }
    if let Some(listener) = cx.referenced("listener")
        && listener.props.get("protocol").and_then(Value::as_str) == Some("HTTP")
    {
        cx.error_at_value(
            "listener",
            &format!(
                "{} is an HTTP listener: it only redirects to HTTPS",
                listener.address
            ),
            "attach forwarding rules to the HTTPS listener",
        );
    }
    if let Some(Value::Ref(l)) = cx.get("listener") {
        for other in cx
            .stack
            .iter()
            .take_while(|o| o.address != cx.resource.address)
        {
            if other.kind == "lb_listener_rule"
                && matches!(other.props.get("listener"), Some(Value::Ref(o)) if o.address == l.address)
                && other.props.get("priority") == cx.get("priority")
            {
                cx.error_at_value(
                    "priority",
                    &format!(
                        "priority already used by {} on {}",
                        other.address, l.address
                    ),
                    "each rule of a listener has its own priority",
                );
            }
        }
    }
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"Checks: at least one and at most five host and path values; `priority` 1 to 50000 and not used by
another rule of the same listener; a rule on an HTTP listener is an error (HTTP only redirects).

Behaviour: the priority changes with `SetRulePriorities`, conditions and target with `ModifyRule`. Rules
are tagged, and found from the stack's listeners (`DescribeRules`). A condition of another kind added by
hand shows as drift in `host_headers`.

Example:

```toml
[lb_listener_rule.hub]
listener = "lb_listener.https"
priority = 20
host_headers = ["hub.dev.zenoo.example"]
path_patterns = ["/hub/*"]
target_group = "lb_target_group.hub"
```

Outputs: `id` and `arn` are the rule ARN.
"##;
