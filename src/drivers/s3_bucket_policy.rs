//! S3 bucket policies declared apart from their bucket. A policy carries no tags: zinfra writes the
//! policy's `Id` as `zinfra <stack> <address>` and finds it again among the stack's buckets.

use anyhow::{Context, Result};
use async_trait::async_trait;
use futures::future::try_join_all;

use super::toolkit::{Driver, ReadCx, Undeclared, absent_if, sdk_error};
use crate::model::{Live, PropsExt, Resolved, TAG_STACK, Value};

const KIND: &str = "s3_bucket_policy";
const MARK: &str = "zinfra";

pub struct S3BucketPolicy {
    client: aws_sdk_s3::Client,
}

impl S3BucketPolicy {
    pub fn new(client: aws_sdk_s3::Client) -> S3BucketPolicy {
        S3BucketPolicy { client }
    }
}

fn mark(stack: &str, address: &str) -> String {
    format!("{MARK} {stack} {address}")
}

#[async_trait]
impl Driver for S3BucketPolicy {
    fn kinds(&self) -> &'static [&'static str] {
        &[KIND]
    }

    fn service(&self) -> &'static str {
        "S3"
    }

    fn undeclared(&self, _kind: &str) -> Undeclared {
        Undeclared::Listing
    }

    // The shared index is filtered by kind; this one needs the stack's buckets.
    fn uses_tag_index(&self) -> bool {
        false
    }

    async fn read(&self, cx: &ReadCx<'_>) -> Result<Vec<Live>> {
        let buckets = stack_buckets(&super::s3::stack_buckets(&self.client, cx).await?);
        let lives = try_join_all(buckets.iter().map(|name| async move {
            let policy = super::s3::bucket_policy(&self.client, cx.run, name)
                .await
                .with_context(|| format!("bucket {name}"))?;
            let super::s3::BucketPolicy::Text(text) = policy.as_ref() else {
                return Ok(None);
            };
            let mut doc: serde_json::Value = serde_json::from_str(text)
                .with_context(|| format!("the policy of bucket {name} is not JSON"))?;
            let Some(id) = doc.get("Id").and_then(|i| i.as_str()) else {
                return Ok(None);
            };
            let mut words = id.split(' ');
            let (Some(MARK), Some(stack), Some(address), None) =
                (words.next(), words.next(), words.next(), words.next())
            else {
                return Ok(None);
            };
            if stack != cx.stack {
                return Ok(None);
            }
            let address = address.to_owned();
            if let Some(o) = doc.as_object_mut() {
                o.remove("Id");
            }
            let mut live = Live::new(&address, KIND, name);
            live.props
                .insert("bucket".into(), Value::Str(name.to_owned()));
            live.props.insert("policy".into(), Value::Json(doc));
            Ok::<_, anyhow::Error>(Some(live))
        }))
        .await?;
        Ok(lives.into_iter().flatten().collect())
    }

    async fn create(&self, r: &Resolved) -> Result<Live> {
        self.put(r)
            .await
            .with_context(|| format!("creating {}", r.address))
    }

    async fn update(&self, r: &Resolved, _live: &Live, _changed: &[String]) -> Result<Live> {
        self.put(r)
            .await
            .with_context(|| format!("updating {}", r.address))
    }

    async fn delete(&self, live: &Live) -> Result<()> {
        absent_if(
            "DeleteBucketPolicy",
            self.client
                .delete_bucket_policy()
                .bucket(&live.id)
                .send()
                .await,
            &["NoSuchBucket", "NoSuchBucketPolicy"],
        )
        .map(drop)
        .with_context(|| format!("deleting {} (bucket {})", live.address, live.id))
    }
}

/// Names of the buckets tagged for the stack, from the stack's tag index.
fn stack_buckets(found: &[(String, String, Option<crate::model::Tags>)]) -> Vec<String> {
    let mut out: Vec<String> = found
        .iter()
        // arn:aws:s3:::name (objects and access points have a `/` or another resource type)
        .filter_map(|(_, arn, _)| {
            arn.split_once(":s3:::")
                .map(|(_, n)| n.to_owned())
                .filter(|n| !n.contains('/'))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

impl S3BucketPolicy {
    async fn put(&self, r: &Resolved) -> Result<Live> {
        let bucket = r.props.str("bucket").context("`bucket` is required")?;
        let mut doc = r
            .props
            .json("policy")
            .context("`policy` is required")?
            .clone();
        let stack = r
            .tags
            .get(TAG_STACK)
            .map(String::as_str)
            .unwrap_or_default();
        doc.as_object_mut()
            .context("the policy is not a JSON object")?
            .insert("Id".into(), mark(stack, &r.address).into());
        self.client
            .put_bucket_policy()
            .bucket(bucket)
            .policy(serde_json::to_string(&doc)?)
            .send()
            .await
            .map_err(|e| sdk_error("PutBucketPolicy", e))?;
        Ok(Live::new(&r.address, KIND, bucket))
    }
}
