//! `elasticache_user`: schema and checks. AWS calls: `src/drivers/elasticache.rs`; tests: `tests/drivers/elasticache.rs`.

use crate::model::Value;
use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, KindDef, Ty};

/// The longest one operation waits for AWS: a user turning active, or deleted.
/// The driver's deadline; a resource's `timeout` overrides it.
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(10 * 60);

pub static KIND: KindDef = KindDef {
    name: "elasticache_user",
    doc: "A Redis RBAC user: its access string, and a password from the environment (`password_from_env`) or IAM authentication. Passwords are write-only: sent when the user is created or `password_version` changes, never read, stored or printed; the version written last is kept in the tag `zinfra:secret-version`.",
    notes: NOTES,
    fields: &[
        Field::new(
            "user_id",
            Ty::Str,
            "User id, unique in the region; `<stack>-<name>` by default.",
        )
        .default(FieldDefault::PhysicalName)
        .force_new(),
        Field::new(
            "user_name",
            Ty::Str,
            "The name clients log in with; `default` replaces Redis's default user in a user group.",
        )
        .required()
        .force_new(),
        Field::new("engine", Ty::Enum(&["redis"]), "Engine.")
            .default(FieldDefault::Str("redis"))
            .force_new(),
        Field::new(
            "access_string",
            Ty::Str,
            "Redis ACL rules, e.g. `on ~app:* +@read +@write`; `off` disables the user.",
        )
        .required(),
        Field::new(
            "authentication",
            Ty::Enum(&["password", "iam"]),
            "`password` (from `password_from_env`) or `iam` (IAM auth tokens; needs `user_id` = `user_name`).",
        )
        .default(FieldDefault::Str("password")),
        Field::new(
            "password_from_env",
            Ty::SecretEnv,
            "Environment variable holding the password (16 to 128 printable characters, no spaces, `\"`, `/` or `@`). Needed only when the password is written.",
        ),
        Field::new(
            "password_version",
            Ty::Int,
            "Version of the password (1 by default): bump it to write a new one (rotation).",
        )
        .write_only(),
    ],
    physical_name: Some("user_id"),
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
    if let Some(id) = cx.str("user_id") {
        let ok = !id.is_empty()
            && id.len() <= 40
            && id.starts_with(|c: char| c.is_ascii_alphabetic())
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !id.ends_with('-')
            && !id.contains("--");
        if !ok {
            cx.error_at_value(
                "user_id",
                "invalid ElastiCache user id",
                "at most 40 letters, digits and single hyphens, starting with a letter",
            );
        } else if id == "default" {
            cx.error_at_value(
                "user_id",
                "the user id `default` belongs to AWS's own default user",
                "give your `default` user another id; `user_name = \"default\"` is what replaces it",
            );
        }
    }
    let has_password = cx.has_field("password_from_env");
    if cx.int("password_version").is_some_and(|v| v < 1) {
        cx.error_at_value("password_version", "versions start at 1", "use 1 or more");
    }
    match cx.str("authentication") {
        Some("password") if !has_password => cx.error_at_header(
            "a password user needs `password_from_env`",
            "set `password_from_env = \"ENV_VAR\"`, or `authentication = \"iam\"`",
        ),
        Some("iam") if has_password => cx.error_at_value(
            "password_from_env",
            "an IAM-authenticated user has no password",
            "remove `password_from_env`, or use `authentication = \"password\"`",
        ),
        Some("iam") if cx.str("user_id") != cx.str("user_name") => cx.error_at_value(
            "user_name",
            "IAM authentication needs `user_name` equal to `user_id`",
            "set both to the same value",
        ),
        _ => {}
    }
    if let Some(Value::Secret(s)) = cx.get("password")
        && let Some(v) = &s.value
    {
        // Checked here (when the variable is set) so a bad value fails before any AWS call; the
        // message never quotes it.
        let ok = (16..=128).contains(&v.chars().count())
            && v.chars()
                .all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '/' | '@'));
        if !ok {
            cx.error_at_value(
                "password_from_env",
                &format!(
                    "the password in `{}` is not a valid ElastiCache password",
                    s.env
                ),
                "16 to 128 printable ASCII characters without spaces, `\"`, `/` or `@`",
            );
        }
    }
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"A Redis RBAC user: its access string, and a password from the environment or IAM authentication.

Checks:

- A `password` user needs `password_from_env`; an `iam` user must not have one, and needs
  `user_name` equal to `user_id`.
- The password is 16 to 128 printable ASCII characters without spaces, `"`, `/` or `@`. The check runs
  before any AWS call, and its message names the variable, never the value.
- `user_id` is at most 40 letters, digits and single hyphens, starts with a letter, and is not `default`
  (AWS's own default user has that id).

The password is write-only: AWS never returns it, and zinfra never needs it to plan. It is sent with
`CreateUser`, and again with `ModifyUser` when `password_version` is bumped; the version written last is
kept in the tag `zinfra:secret-version` (not shown among the user's tags). The plan shows
`password_from_env` as `password = (sensitive, version N)`. Users written by older versions of zinfra
(tagged with a password fingerprint) read as version 1.

```toml
[elasticache_user.default]
user_name = "default"
access_string = "off -@all"
password_from_env = "ZENOO_DEV_REDIS_DEFAULT_PASSWORD"

# IAM authentication: the client signs a token with its role, which may `elasticache:Connect`.
[elasticache_user.app]
user_id = "zenoo-dev-hub"
user_name = "zenoo-dev-hub"
access_string = "on ~hub:* +@all -@dangerous"
authentication = "iam"
```
"##;
