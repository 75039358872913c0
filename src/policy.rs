//! Policy documents in one canonical form, so a document AWS has rewritten compares equal to the one
//! written in the stack file (AWS turns a one-item list into a string and back, and an account id into
//! its root ARN).

use serde_json::{Map, Value};

pub use crate::schema::Grammar;

/// The canonical form of an IAM-grammar policy document; anything without `Statement` is returned as is.
pub fn normalize(doc: &Value) -> Value {
    let Value::Object(o) = doc else {
        return doc.clone();
    };
    let Some(statements) = o.get("Statement") else {
        return doc.clone();
    };
    let statements = match statements {
        Value::Array(a) => a.iter().map(statement).collect(),
        single => vec![statement(single)],
    };
    let mut out = o.clone();
    out.insert("Statement".into(), Value::Array(statements));
    Value::Object(out)
}

fn statement(s: &Value) -> Value {
    let Value::Object(o) = s else {
        return s.clone();
    };
    let mut out = Map::new();
    for (k, v) in o {
        let v = match k.as_str() {
            "Action" | "NotAction" | "Resource" | "NotResource" => string_set(v),
            "Principal" | "NotPrincipal" => principal(v),
            "Condition" => condition(v),
            _ => v.clone(),
        };
        out.insert(k.clone(), v);
    }
    Value::Object(out)
}

fn as_list(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    }
}

/// A string or a list of strings, as a sorted list without duplicates.
fn string_set(v: &Value) -> Value {
    sorted(as_list(v))
}

fn sorted(mut items: Vec<Value>) -> Value {
    items.sort_by_key(|x| x.to_string());
    items.dedup();
    Value::Array(items)
}

fn principal(v: &Value) -> Value {
    let Value::Object(o) = v else {
        return v.clone();
    };
    let mut out = Map::new();
    for (k, v) in o {
        let items = as_list(v);
        let items = if k == "AWS" {
            items.into_iter().map(account_root).collect()
        } else {
            items
        };
        out.insert(k.clone(), sorted(items));
    }
    Value::Object(out)
}

/// AWS stores a bare account id principal as that account's root ARN.
fn account_root(v: Value) -> Value {
    match &v {
        Value::String(s) if s.len() == 12 && s.chars().all(|c| c.is_ascii_digit()) => {
            Value::String(format!("arn:aws:iam::{s}:root"))
        }
        _ => v,
    }
}

fn condition(v: &Value) -> Value {
    let Value::Object(ops) = v else {
        return v.clone();
    };
    let out = ops
        .iter()
        .map(|(op, keys)| {
            let keys = match keys {
                Value::Object(k) => Value::Object(
                    k.iter()
                        .map(|(key, val)| (key.clone(), string_set(val)))
                        .collect(),
                ),
                other => other.clone(),
            };
            (op.clone(), keys)
        })
        .collect();
    Value::Object(out)
}

/// What AWS's policy grammar refuses in `doc` (IAM JSON policy element reference), each with the
/// element's path (`Statement[1].Effect`). The checks are those of the grammar, not of meaning.
pub fn grammar_errors(doc: &Value, grammar: Grammar) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut err = |at: &str, msg: String| out.push((at.to_owned(), msg));
    let Value::Object(o) = doc else {
        err("", "a policy document is a JSON object".into());
        return out;
    };
    for k in o.keys() {
        if !matches!(k.as_str(), "Version" | "Id" | "Statement") {
            err(
                k,
                format!("`{k}` is not a policy element: a document has Version, Id and Statement"),
            );
        }
    }
    match o.get("Version") {
        None => {}
        Some(Value::String(v)) if v == "2012-10-17" || v == "2008-10-17" => {}
        Some(v) => err(
            "Version",
            format!("Version {v} is not one AWS knows: \"2012-10-17\" (or the old \"2008-10-17\")"),
        ),
    }
    let statements: Vec<(String, &Value)> = match o.get("Statement") {
        None => {
            err("", "a policy needs a Statement".into());
            Vec::new()
        }
        Some(Value::Array(a)) if a.is_empty() => {
            err("Statement", "Statement is empty".into());
            Vec::new()
        }
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("Statement[{i}]"), s))
            .collect(),
        Some(s) => vec![("Statement".to_owned(), s)],
    };
    for (at, s) in statements {
        let Value::Object(s) = s else {
            err(&at, format!("{at} is not an object"));
            continue;
        };
        for k in s.keys() {
            if !matches!(
                k.as_str(),
                "Sid"
                    | "Effect"
                    | "Principal"
                    | "NotPrincipal"
                    | "Action"
                    | "NotAction"
                    | "Resource"
                    | "NotResource"
                    | "Condition"
            ) {
                err(
                    &format!("{at}.{k}"),
                    format!("`{k}` is not a statement element"),
                );
            }
        }
        match s.get("Effect") {
            Some(Value::String(e)) if e == "Allow" || e == "Deny" => {}
            Some(e) => err(
                &format!("{at}.Effect"),
                format!("Effect {e} must be \"Allow\" or \"Deny\" (spelled so)"),
            ),
            None => err(&at, format!("{at} has no Effect")),
        }
        let one_of =
            |a: &str, b: &str| usize::from(s.contains_key(a)) + usize::from(s.contains_key(b));
        if one_of("Action", "NotAction") != 1 {
            err(
                &at,
                format!("{at} needs exactly one of Action and NotAction"),
            );
        }
        for key in ["Action", "NotAction"] {
            if let Some(v) = s.get(key) {
                for (i, a) in strings(v).into_iter().enumerate() {
                    match a {
                        Some(a) if a == "*" || action_shape(a) => {}
                        Some(a) => err(
                            &format!("{at}.{key}"),
                            format!(
                                "{key} \"{a}\" is not `service:Action` (wildcards allowed) or \"*\""
                            ),
                        ),
                        None => err(
                            &format!("{at}.{key}[{i}]"),
                            format!("{key} takes a string or a list of strings"),
                        ),
                    }
                }
            }
        }
        let principals = one_of("Principal", "NotPrincipal");
        let resources = one_of("Resource", "NotResource");
        if principals > 1 {
            err(&at, format!("{at} has both Principal and NotPrincipal"));
        }
        if resources > 1 {
            err(&at, format!("{at} has both Resource and NotResource"));
        }
        match grammar {
            Grammar::Trust if principals == 0 => {
                err(&at, format!("{at} of a trust policy needs a Principal"))
            }
            Grammar::Trust if resources > 0 => err(
                &at,
                format!("{at} of a trust policy cannot have a Resource (the role is the resource)"),
            ),
            Grammar::Identity if principals > 0 => err(
                &at,
                format!(
                    "{at} of a role's policy cannot have a Principal (the role is the principal)"
                ),
            ),
            Grammar::Identity if resources == 0 => {
                err(&at, format!("{at} of a role's policy needs a Resource"))
            }
            Grammar::Resource if principals == 0 => {
                err(&at, format!("{at} of a resource policy needs a Principal"))
            }
            _ => {}
        }
        for key in ["Principal", "NotPrincipal"] {
            match s.get(key) {
                None => {}
                Some(Value::String(p)) if p == "*" => {}
                Some(Value::Object(p)) => {
                    for (k, v) in p {
                        if !matches!(
                            k.as_str(),
                            "AWS" | "Service" | "Federated" | "CanonicalUser"
                        ) {
                            err(
                                &format!("{at}.{key}.{k}"),
                                format!(
                                    "{key} type `{k}` is not one of AWS, Service, Federated, CanonicalUser"
                                ),
                            );
                        }
                        if strings(v).iter().any(Option::is_none) {
                            err(
                                &format!("{at}.{key}.{k}"),
                                format!("{key}.{k} takes a string or a list of strings"),
                            );
                        }
                    }
                }
                Some(_) => err(
                    &format!("{at}.{key}"),
                    format!(
                        "{key} is \"*\" or a table such as {{ Service = \"ecs-tasks.amazonaws.com\" }}"
                    ),
                ),
            }
        }
        for key in ["Resource", "NotResource"] {
            if let Some(v) = s.get(key)
                && strings(v).iter().any(Option::is_none)
            {
                err(
                    &format!("{at}.{key}"),
                    format!("{key} takes a string or a list of strings"),
                );
            }
        }
        match s.get("Condition") {
            None => {}
            Some(Value::Object(ops)) => {
                for (op, keys) in ops {
                    let ok = matches!(keys, Value::Object(ks) if ks.values().all(|v| {
                        matches!(v, Value::String(_) | Value::Bool(_) | Value::Number(_))
                            || matches!(v, Value::Array(a) if a.iter().all(|x| !x.is_object() && !x.is_array()))
                    }));
                    if !ok {
                        err(
                            &format!("{at}.Condition.{op}"),
                            format!(
                                "Condition operator `{op}` takes a table of condition keys to values"
                            ),
                        );
                    }
                }
            }
            Some(_) => err(
                &format!("{at}.Condition"),
                "Condition is a table of operators, e.g. { StringEquals = { … } }".into(),
            ),
        }
    }
    out
}

/// A document's statements: its `Statement` list, or the one statement written without a list.
pub fn statements(doc: &Value) -> Vec<&Value> {
    match doc.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(s @ Value::Object(_)) => vec![s],
        _ => Vec::new(),
    }
}

/// The strings of a string-or-list element; `None` for an item that is not a string.
fn strings(v: &Value) -> Vec<Option<&str>> {
    match v {
        Value::String(s) => vec![Some(s)],
        Value::Array(a) if !a.is_empty() => a.iter().map(Value::as_str).collect(),
        _ => vec![None],
    }
}

/// `s3:GetObject`, `kafka-cluster:*`, `ec2:Describe*`.
fn action_shape(a: &str) -> bool {
    let Some((service, action)) = a.split_once(':') else {
        return false;
    };
    !service.is_empty()
        && service
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !action.is_empty()
        && action
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '*' || c == '?')
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::normalize;

    #[test]
    fn the_forms_aws_rewrites_compare_equal() {
        let written = json!({
            "Version": "2012-10-17",
            "Statement": {
                "Effect": "Allow",
                "Principal": { "AWS": "123456789012", "Service": ["ecs-tasks.amazonaws.com"] },
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": "arn:aws:s3:::b/*",
                "Condition": { "StringEquals": { "aws:SourceAccount": "123456789012" } }
            }
        });
        let stored = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": { "AWS": ["arn:aws:iam::123456789012:root"], "Service": "ecs-tasks.amazonaws.com" },
                "Action": ["s3:ListBucket", "s3:GetObject"],
                "Resource": ["arn:aws:s3:::b/*"],
                "Condition": { "StringEquals": { "aws:SourceAccount": ["123456789012"] } }
            }]
        });
        assert_eq!(normalize(&written), normalize(&stored));
    }

    #[test]
    fn real_differences_remain() {
        let a = json!({ "Statement": [{ "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*" }] });
        let b = json!({ "Statement": [{ "Effect": "Allow", "Action": "s3:*", "Resource": "*" }] });
        assert_ne!(normalize(&a), normalize(&b));
        let not_a_policy = json!({ "a": [2, 1] });
        assert_eq!(normalize(&not_a_policy), not_a_policy);
    }
}
