//! `ssm_parameter`: schema and checks. AWS calls: `src/drivers/ssm.rs`; tests: `tests/drivers/ssm.rs`.

use crate::schema::ResourceCx;
use crate::schema::{Field, FieldDefault, Holds, KindDef, Ty};

pub static KIND: KindDef = KindDef {
    name: "ssm_parameter",
    doc: "A Parameter Store parameter. Sensitive values are SecureString, encrypted with a CMK, and come from the environment (`value_from_env`), never from the file.",
    notes: NOTES,
    fields: &[
        Field::new(
            "name",
            Ty::Str,
            "Parameter name, e.g. `/zenoo/dev/db/password`.",
        )
        .required()
        .force_new(),
        Field::new(
            "type",
            Ty::Enum(&["String", "StringList", "SecureString"]),
            "Parameter type.",
        )
        .default(FieldDefault::Str("SecureString"))
        .rewrites_secret(),
        Field::new("value", Ty::Str, "Plain value (not for SecureString)."),
        Field::new(
            "value_from_env",
            Ty::SecretEnv,
            "Environment variable holding the value. Write-only: the value is sent to AWS when the parameter is created or `value_version` changes, never read back; `plan` does not need the variable.",
        ),
        Field::new(
            "value_version",
            Ty::Int,
            "Version of the value from `value_from_env` (1 by default): bump it to write a new value (rotation). Kept on the parameter in the tag `zinfra:secret-version`.",
        )
        .write_only(),
        Field::new(
            "kms_key",
            Ty::Ref(&["kms_key"], "arn"),
            "Key for SecureString; AWS's `alias/aws/ssm` when omitted.",
        )
        .rewrites_secret(),
        Field::new("description", Ty::Str, "Description.").rewrites_secret(),
    ],
    physical_name: Some("name"),
    taggable: true,
    outputs: &["id", "arn"],
    validate,
    create_before_delete: false,
    holds: Some(Holds::only_if(is_secure_string, "its secret value")),
    adoptable: true,
    wait: None,
    account_singleton: false,
};

fn validate(cx: &ResourceCx<'_>) {
    if let Some(name) = cx.str("name") {
        let ok = !name.is_empty()
            && name.len() <= 1011
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c))
            && !name
                .to_ascii_lowercase()
                .trim_start_matches('/')
                .starts_with("aws")
            && !name
                .to_ascii_lowercase()
                .trim_start_matches('/')
                .starts_with("ssm");
        if !ok {
            cx.error_at_value(
                "name",
                "invalid SSM parameter name",
                "letters, digits, `_ . - /`; not starting with `aws` or `ssm`",
            );
        }
    }
    // `value_from_env` lands in `value` too, so ask the file which one it used.
    let has_value = cx.has_field("value");
    let has_env = cx.has_field("value_from_env");
    if has_value == has_env {
        cx.error_at_header(
            "a parameter needs exactly one of `value` and `value_from_env`",
            "set one",
        );
    }
    if cx.has_field("value_version") && !has_env {
        cx.error_at_value(
            "value_version",
            "`value_version` versions a value from `value_from_env`",
            "remove it, or take the value from the environment",
        );
    }
    if cx.int("value_version").is_some_and(|v| v < 1) {
        cx.error_at_value("value_version", "versions start at 1", "use 1 or more");
    }
    if cx.str("type") != Some("SecureString") && !cx.is_null("kms_key") {
        cx.error_at_value(
            "kms_key",
            "only SecureString parameters are encrypted",
            "remove `kms_key`, or set `type = \"SecureString\"`",
        );
    }
    if cx.str("type") == Some("SecureString") && has_value {
        cx.error_at_value(
            "value",
            "secret values never live in the stack file",
            "use `value_from_env = \"ENV_VAR\"`",
        );
    }
}

/// A SecureString holds a secret that exists nowhere else; plain parameters are rewritten from the file.
fn is_secure_string(p: &crate::model::Props) -> bool {
    p.get("type").and_then(crate::model::Value::as_str) == Some("SecureString")
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"Checks:

- Exactly one of `value` and `value_from_env` is set.
- A `SecureString` uses `value_from_env`.
- `name` uses letters, digits, `_ . - /`, and does not start with `aws` or `ssm`.

Because `type` defaults to `SecureString`, a plain parameter needs `type = "String"` (or
`"StringList"`) with its `value`. The plan shows `value_from_env` as `value`.
"##;
