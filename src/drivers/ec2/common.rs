//! What every EC2 resource family shares: the client, tags, ARNs, filters, retries.

use std::future::Future;
use std::time::Duration;

use anyhow::Result;
use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};

use crate::drivers::toolkit::{
    AwsError, TagApi, code, partition, retry_while, sdk_error, tag_pairs, user_tags,
};
use crate::model::{Live, Props, TAG_STACK, Tags, Value};

pub(super) const KINDS: &[&str] = &[
    "vpc",
    "subnet",
    "internet_gateway",
    "eip",
    "nat_gateway",
    "route_table",
    "security_group",
];
/// Subnet `tier` lives in this tag; it is kept out of `Live.tags` so it never shows up as tag drift.
pub(super) const TAG_TIER: &str = "zinfra:tier";
/// How long a delete keeps retrying while dependents (ENIs, attachments, other deletes) go away.
pub(super) const DEPENDENCY_WAIT: Duration = Duration::from_secs(60);
/// How long a call right after a create retries NotFound (EC2 is eventually consistent).
pub(super) const CONSISTENCY_WAIT: Duration = Duration::from_secs(30);

pub struct Ec2 {
    pub(super) client: aws_sdk_ec2::Client,
}

impl Ec2 {
    pub fn new(client: aws_sdk_ec2::Client) -> Ec2 {
        Ec2 { client }
    }
}

// Tags, ARNs, errors and retries

impl Ec2 {
    pub(super) async fn create_tags<'a>(
        &self,
        id: &str,
        tags: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<()> {
        let tags: Vec<Tag> = tags
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        self.client
            .create_tags()
            .resources(id)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| sdk_error("CreateTags", e))?;
        Ok(())
    }

    /// `arn:<partition>:ec2:<region>:<account>:<path>/<id>`, when AWS told us the owning account.
    pub(super) fn add_arn(&self, live: &mut Live, owner: Option<&str>, path: &str) {
        let (Some(owner), Some(region)) = (owner, self.client.config().region()) else {
            return;
        };
        let region = region.as_ref();
        let partition = partition(region);
        let arn = format!("arn:{partition}:ec2:{region}:{owner}:{path}/{}", live.id);
        live.outputs.insert("arn".into(), arn);
    }
}

pub(super) fn stack_filter(stack: &str) -> Filter {
    Filter::builder()
        .name(format!("tag:{TAG_STACK}"))
        .values(stack)
        .build()
}

pub(super) fn tag_spec(resource: ResourceType, tags: &Tags) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource)
        .set_tags(Some(
            tag_pairs(tags)
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .build()
}

pub(super) fn tag_iter(tags: &[Tag]) -> impl Iterator<Item = (&str, &str)> {
    tags.iter()
        .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default())))
}

/// AWS's tags minus its own `aws:` keys and any zinfra keeps as props.
pub(super) fn tags_of(tags: &[Tag], skip: &[&str]) -> Tags {
    user_tags(tag_iter(tags).filter(|(k, _)| !skip.contains(k)))
}

pub(super) fn opt_str(s: Option<&str>) -> Value {
    s.map_or(Value::Null, |s| Value::Str(s.to_owned()))
}

pub(super) fn bool_prop(props: &Props, key: &str) -> Option<bool> {
    props.get(key).and_then(Value::as_bool)
}

pub(super) fn opt_bool(b: Option<bool>) -> Value {
    b.map_or(Value::Null, Value::Bool)
}

/// For the first calls on a resource just created, which EC2 may not show everywhere yet.
pub(super) async fn retry_not_found<T, F, Fut>(f: F) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    retry_while(CONSISTENCY_WAIT, AwsError::is_not_found, f).await
}

/// A delete: NotFound means done; DependencyViolation is retried while dependents are being deleted.
pub(super) async fn delete_retrying<F, Fut>(f: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), AwsError>>,
{
    match retry_while(DEPENDENCY_WAIT, |e| code(e, "DependencyViolation"), f).await {
        Err(e) if !e.is_not_found() => Err(e.into()),
        _ => Ok(()),
    }
}

#[async_trait]
impl TagApi for aws_sdk_ec2::Client {
    async fn tag(&self, id: &str, set: Vec<(&str, &str)>) -> Result<()> {
        let tags: Vec<Tag> = set
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        self.create_tags()
            .resources(id)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| sdk_error("CreateTags", e))?;
        Ok(())
    }

    async fn untag(&self, id: &str, keys: Vec<String>, _have: &Tags) -> Result<()> {
        self.delete_tags()
            .resources(id)
            .set_tags(Some(
                keys.iter().map(|k| Tag::builder().key(k).build()).collect(),
            ))
            .send()
            .await
            .map_err(|e| sdk_error("DeleteTags", e))?;
        Ok(())
    }
}

/// The items a paginated EC2 describe call lists under the stack's tag, each with the address its
/// tags claim (an item of another stack, or of none, is left out): the read every EC2 kind starts with.
macro_rules! owned_items {
    ($stack:expr, $request:expr, $op:literal) => {{
        let pages = $request
            .filters(stack_filter($stack))
            .into_paginator()
            .items()
            .send();
        let all: Vec<_> = $crate::drivers::toolkit::AllItems::all(pages, $op).await?;
        all.into_iter()
            .filter_map(|i| Some((owned_address($stack, tag_iter(i.tags()))?, i)))
            .collect::<Vec<_>>()
    }};
}
pub(super) use owned_items;

/// Sends a request, again while EC2 does not yet see the resource it names (one created a moment
/// ago): `send_when_visible!(request, "Operation")`.
macro_rules! send_when_visible {
    ($req:expr, $op:literal) => {{
        let req = $req;
        crate::drivers::ec2::common::retry_not_found(|| {
            let req = req.clone();
            async move {
                req.send()
                    .await
                    .map(drop)
                    .map_err(|e| crate::drivers::toolkit::AwsError::new($op, &e))
            }
        })
        .await
    }};
}
pub(super) use send_when_visible;
