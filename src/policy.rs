//! Policy documents in one canonical form, so a document AWS has rewritten compares equal to the one
//! written in the stack file (AWS turns a one-item list into a string and back, and an account id into
//! its root ARN).

use serde_json::{Map, Value};

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
