//! `elasticache_user_group`: schema and checks. AWS calls: `src/drivers/elasticache.rs`; tests: `tests/drivers/elasticache.rs`.

use crate::model::Value;
use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, KindDef, Ty};

static USER: Ty = Ty::Ref(&["elasticache_user"], "id");

/// The longest one operation waits for AWS: a user group turning active, or deleted.
/// The driver's deadline; a resource's `timeout` overrides it.
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(10 * 60);

pub static KIND: KindDef = KindDef {
    name: "elasticache_user_group",
    doc: "A Redis RBAC user group. It must hold your own disabled `default` user (`user_name = \"default\"`, `access_string` starting with `off`), so no client connects without its own credentials.",
    notes: NOTES,
    fields: &[
        Field::new(
            "user_group_id",
            Ty::Str,
            "Group id; `<stack>-<name>` by default.",
        )
        .default(FieldDefault::PhysicalName)
        .force_new(),
        Field::new("engine", Ty::Enum(&["redis"]), "Engine.")
            .default(FieldDefault::Str("redis"))
            .force_new(),
        Field::new(
            "users",
            Ty::Set(&USER),
            "Members, e.g. `[\"elasticache_user.default\", \"elasticache_user.app\"]`.",
        )
        .required(),
    ],
    physical_name: Some("user_group_id"),
    taggable: true,
    outputs: &["id", "arn"],
    validate,
    create_before_delete: false,
    holds: None,
    adoptable: false,
    wait: Some(WAIT),
    account_singleton: false,
};

fn validate(cx: &ResourceCx<'_>) {
    if let Some(id) = cx.str("user_group_id") {
        let ok = !id.is_empty()
            && id.len() <= 40
            && id.starts_with(|c: char| c.is_ascii_alphabetic())
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !id.ends_with('-')
            && !id.contains("--");
        if !ok {
            cx.error_at_value(
                "user_group_id",
                "invalid ElastiCache user group id",
                "at most 40 letters, digits and single hyphens, starting with a letter",
            );
        }
    }
    let users: Vec<&crate::model::Resource> = cx
        .get("users")
        .map(Value::as_list)
        .unwrap_or(&[])
        .iter()
        .filter_map(|u| match u {
            Value::Ref(r) => cx.stack.iter().find(|x| x.address == r.address),
            _ => None,
        })
        .collect();
    let prop = |u: &crate::model::Resource, f: &str| {
        u.props
            .get(f)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let defaults: Vec<_> = users
        .iter()
        .filter(|u| prop(u, "user_name") == "default")
        .collect();
    match defaults.as_slice() {
        [] => cx.error_at_value(
            "users",
            "the user group has no `default` user",
            "add a user with `user_name = \"default\"` and `access_string = \"off -@all\"`: it replaces Redis's open default user",
        ),
        [d] if !prop(d, "access_string").split_whitespace().any(|w| w == "off")
            || prop(d, "access_string").split_whitespace().any(|w| w == "on") =>
        {
            cx.error_at_value(
                "users",
                &format!("the default user {} is enabled", d.address),
                "give it `access_string = \"off -@all\"`: clients must log in as their own user",
            )
        }
        [_] => {}
        _ => cx.error_at_value(
            "users",
            "the user group has more than one `default` user",
            "keep one user with `user_name = \"default\"`",
        ),
    }
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"A Redis RBAC user group, attached to a replication group. It must hold your own disabled `default` user,
so no client connects without its own credentials.

Checks: exactly one member has `user_name = "default"`, and its `access_string` turns it `off` (and not
`on`): `the user group has no default user`, `the default user … is enabled`.

```toml
[elasticache_user_group.redis]
users = ["elasticache_user.default", "elasticache_user.app"]
```
"##;
