//! `s3_bucket_policy`: schema and checks. AWS calls: `src/drivers/s3_bucket_policy.rs`;
//! tests: `tests/drivers/s3_bucket_policy.rs`.

use crate::schema::ResourceCx;
use crate::schema::{Field, Grammar, KindDef, Ty};

pub static KIND: KindDef = KindDef {
    name: "s3_bucket_policy",
    doc: "A bucket's policy, declared apart from the bucket so that it can name resources that themselves refer to the bucket (a CloudFront distribution reading it through an origin access control).",
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
