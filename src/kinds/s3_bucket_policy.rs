//! `s3_bucket_policy`: schema and checks. AWS calls: `src/drivers/s3_bucket_policy.rs`;
//! tests: `tests/drivers/s3_bucket_policy.rs`.

use crate::schema::ResourceCx;
use crate::schema::{Field, Grammar, KindDef, Ty};

pub static KIND: KindDef = KindDef {
    name: "s3_bucket_policy",
    doc: "A bucket's policy, declared apart from the bucket so that it can name resources that themselves refer to the bucket (a CloudFront distribution reading it through an origin access control).",
    notes: NOTES,
    fields: &[
        Field::new("bucket", Ty::Ref(&["s3_bucket"], "id"), "The bucket.")
            .required()
            .force_new(),
        Field::new(
            "policy",
            Ty::Json,
            "Policy document; `${kind.name.attr}` references are resolved.",
        )
        .required()
        .policy(Grammar::Resource),
    ],
    physical_name: None,
    taggable: false,
    outputs: &["id"],
    validate,
    create_before_delete: false,
    holds: None,
    adoptable: false,
    wait: None,
    account_singleton: false,
};

fn validate(cx: &ResourceCx<'_>) {
    if let Some(crate::model::Value::Json(doc)) = cx.get("policy")
        && doc.get("Id").is_some()
    {
        cx.error_at_value(
            "policy",
            "the policy's `Id` is set by zinfra",
            "remove `Id`: zinfra writes its own there to find the policy again (bucket policies carry no tags)",
        );
    }
    if let Some(bucket) = cx.referenced("bucket")
        && !bucket.props.get("policy").is_none_or(|v| v.is_null())
    {
        cx.error_at_value(
            "bucket",
            &format!("{} already declares a `policy`", bucket.address),
            "declare the policy in one place: remove `policy` from the bucket or this resource",
        );
    }
}

/// The reference's notes on this kind (docs/kinds.md): behaviour, checks, examples beyond the fields.
const NOTES: &str = r##"A bucket's policy, declared apart from the bucket. Use it when the policy names a resource that itself
refers to the bucket, such as the CloudFront distribution that reads it (a `policy` on the `s3_bucket`
would make a reference cycle).

Checks: the policy has no `Id` (zinfra writes its own there); the bucket itself declares no `policy`.

Behaviour: bucket policies carry no tags. zinfra sets the policy's `Id` to `zinfra <stack> <address>` and
finds it among the stack's buckets; the `Id` is not part of the comparison.

```toml
[s3_bucket_policy.frontend]
bucket = "s3_bucket.frontend"
policy = { Version = "2012-10-17", Statement = [{ Effect = "Allow", Principal = { Service = "cloudfront.amazonaws.com" }, Action = "s3:GetObject", Resource = "${s3_bucket.frontend.arn}/*", Condition = { StringEquals = { "AWS:SourceArn" = "${cloudfront_distribution.frontend.arn}" } } }] }
```

Outputs: `id` is the bucket name.
"##;
