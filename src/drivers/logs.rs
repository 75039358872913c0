//! CloudWatch Logs log groups: retention, the key their events are encrypted with, tags.
//!
//! A group is found by the stack's tag index, then described by name. A declared group the index
//! does not list yet is found by name by the engine's adoption lookup (`find`), which counts it as
//! the stack's when its tags say so.

use anyhow::{Context, Result, anyhow};
use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::types::LogGroup;
use futures::future::try_join_all;

use super::toolkit::{
    Driver, ReadCx, absent_if, error_code, owned_address, sdk_error, string_map, sync_tags,
    tag_pairs, unhandled, updated, user_tags,
};
use crate::model::{Live, Resolved, Resource, Tags, Value};

const KIND: &str = "cloudwatch_log_group";
const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];

pub struct Logs {
    client: aws_sdk_cloudwatchlogs::Client,
}

impl Logs {
    pub fn new(client: aws_sdk_cloudwatchlogs::Client) -> Logs {
        Logs { client }
    }
}

#[async_trait]
impl Driver for Logs {
    fn kinds(&self) -> &'static [&'static str] {
        &[KIND]
    }

    fn service(&self) -> &'static str {
        "CLOUDWATCH_LOGS"
    }

    async fn read(&self, cx: &ReadCx<'_>) -> Result<Vec<Live>> {
        let index = cx.index().await?;
        let found = cx.tagged.iter().filter_map(|(address, arn)| {
            let name = name_of(arn)?;
            Some((address.clone(), name.to_owned(), index.tags(arn).cloned()))
        });
        let lives = try_join_all(found.map(|(address, name, tags)| async move {
            let Some(group) = self.describe(&name).await? else {
                return Ok(None);
            };
            let tags = match tags {
                Some(t) => t,
                None => match self.tags_of(&group).await? {
                    Some(t) => t,
                    None => return Ok(None),
                },
            };
            // The index entry may be stale (a group deleted and made again by someone else).
            let pairs = tags.iter().map(|(k, v)| (k.as_str(), v.as_str()));
            if owned_address(cx.stack, pairs).as_deref() != Some(address.as_str()) {
                return Ok(None);
            }
            Ok::<_, anyhow::Error>(Some(live(&address, &group, tags)))
        }))
        .await?;
        Ok(lives.into_iter().flatten().collect())
    }

    /// The group with `r`'s name, whoever's it is.
    async fn find(&self, _cx: &ReadCx<'_>, r: &Resource) -> Result<Option<Live>> {
        let Some(name) = r.props.get("log_group_name").and_then(Value::as_str) else {
            return Ok(None);
        };
        let Some(group) = self.describe(name).await? else {
            return Ok(None);
        };
        let tags = self.tags_of(&group).await?.unwrap_or_default();
        Ok(Some(live(&r.address, &group, tags)))
    }

    async fn create(&self, r: &Resolved) -> Result<Live> {
        self.create_group(r)
            .await
            .with_context(|| format!("creating {}", r.address))
    }

    async fn update(&self, r: &Resolved, live: &Live, changed: &[String]) -> Result<Live> {
        let name = live.id.as_str();
        let arn = live.outputs.get("arn").cloned().unwrap_or_default();
        for field in changed {
            let done = match field.as_str() {
                "retention_in_days" => self.put_retention(name, r).await,
                "kms_key" => self.put_key(name, r).await,
                "tags" => sync_tags(&self.client, &arn, &r.tags, &live.tags).await,
                other => Err(unhandled(KIND, other)),
            };
            done.with_context(|| format!("updating {} ({field})", r.address))?;
        }
        Ok(updated(r, live))
    }

    async fn delete(&self, live: &Live) -> Result<()> {
        let res = self
            .client
            .delete_log_group()
            .log_group_name(&live.id)
            .send()
            .await;
        absent_if("DeleteLogGroup", res, NOT_FOUND)
            .map(drop)
            .with_context(|| format!("deleting {} ({})", live.address, live.id))
    }
}

impl Logs {
    /// The group named exactly `name`, if it exists.
    async fn describe(&self, name: &str) -> Result<Option<LogGroup>> {
        let out = self
            .client
            .describe_log_groups()
            .log_group_name_prefix(name)
            .send()
            .await
            .map_err(|e| sdk_error("DescribeLogGroups", e))?;
        Ok(out
            .log_groups
            .unwrap_or_default()
            .into_iter()
            .find(|g| g.log_group_name() == Some(name)))
    }

    /// A group's tags, or `None` when it is gone.
    async fn tags_of(&self, group: &LogGroup) -> Result<Option<Tags>> {
        let Some(arn) = group_arn(group) else {
            return Ok(None);
        };
        let res = self
            .client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await;
        Ok(absent_if("ListTagsForResource", res, NOT_FOUND)?.map(|o| {
            user_tags(
                o.tags()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            )
        }))
    }

    async fn create_group(&self, r: &Resolved) -> Result<Live> {
        let name = r
            .props
            .get("log_group_name")
            .and_then(Value::as_str)
            .context("log_group_name is required")?;
        let res = self
            .client
            .create_log_group()
            .log_group_name(name)
            .set_kms_key_id(
                r.props
                    .get("kms_key")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            )
            .set_tags(Some(
                tag_pairs(&r.tags)
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
            ))
            .send()
            .await;
        match res {
            Ok(_) => {}
            // A create whose reply was lost: the group made then, when its tags are this resource's.
            Err(e) if error_code(&e) == Some("ResourceAlreadyExistsException") => {
                let group = self
                    .describe(name)
                    .await?
                    .context("the log group vanished")?;
                let tags = self.tags_of(&group).await?.unwrap_or_default();
                if tags.get(crate::model::TAG_ADDRESS) != r.tags.get(crate::model::TAG_ADDRESS)
                    || tags.get(crate::model::TAG_STACK) != r.tags.get(crate::model::TAG_STACK)
                {
                    return Err(anyhow!(
                        "{}: log group {name} already exists and is not this resource's",
                        sdk_error("CreateLogGroup", e)
                    ));
                }
            }
            Err(e) => return Err(sdk_error("CreateLogGroup", e)),
        }
        self.put_retention(name, r).await?;
        let group = self
            .describe(name)
            .await?
            .context("CreateLogGroup made no group DescribeLogGroups shows")?;
        Ok(live(&r.address, &group, r.tags.clone()))
    }

    async fn put_retention(&self, name: &str, r: &Resolved) -> Result<()> {
        match r.props.get("retention_in_days").and_then(Value::as_int) {
            Some(days) => self
                .client
                .put_retention_policy()
                .log_group_name(name)
                .retention_in_days(i32::try_from(days)?)
                .send()
                .await
                .map(drop)
                .map_err(|e| sdk_error("PutRetentionPolicy", e)),
            None => Ok(()),
        }
    }

    async fn put_key(&self, name: &str, r: &Resolved) -> Result<()> {
        match r.props.get("kms_key").and_then(Value::as_str) {
            Some(key) => self
                .client
                .associate_kms_key()
                .log_group_name(name)
                .kms_key_id(key)
                .send()
                .await
                .map(drop)
                .map_err(|e| sdk_error("AssociateKmsKey", e)),
            None => self
                .client
                .disassociate_kms_key()
                .log_group_name(name)
                .send()
                .await
                .map(drop)
                .map_err(|e| sdk_error("DisassociateKmsKey", e)),
        }
    }
}

/// The group's ARN without the `:*` DescribeLogGroups' `arn` ends with (the form tagging takes).
fn group_arn(g: &LogGroup) -> Option<String> {
    g.log_group_arn()
        .map(str::to_owned)
        .or_else(|| g.arn().map(|a| a.trim_end_matches(":*").to_owned()))
}

/// The group name in an ARN `arn:<partition>:logs:<region>:<account>:log-group:<name>[:*]`.
fn name_of(arn: &str) -> Option<&str> {
    let rest = arn.split_once(":log-group:")?.1;
    Some(rest.strip_suffix(":*").unwrap_or(rest))
}

fn live(address: &str, g: &LogGroup, tags: Tags) -> Live {
    let name = g.log_group_name().unwrap_or_default();
    let mut live = Live::new(address, KIND, name);
    live.props
        .insert("log_group_name".into(), Value::Str(name.to_owned()));
    live.props.insert(
        "retention_in_days".into(),
        g.retention_in_days()
            .map_or(Value::Null, |d| Value::Int(i64::from(d))),
    );
    live.props.insert(
        "kms_key".into(),
        g.kms_key_id()
            .map_or(Value::Null, |k| Value::Str(k.to_owned())),
    );
    if let Some(arn) = group_arn(g) {
        live.outputs.insert("arn".into(), arn);
    }
    live.tags = tags;
    live
}

crate::tag_resource_api!(aws_sdk_cloudwatchlogs::Client, resource_arn, string_map);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_arns_with_or_without_the_star() {
        assert_eq!(
            name_of("arn:aws:logs:eu-west-1:1:log-group:/ecs/app:*"),
            Some("/ecs/app")
        );
        assert_eq!(
            name_of("arn:aws:logs:eu-west-1:1:log-group:/ecs/app"),
            Some("/ecs/app")
        );
        assert_eq!(name_of("arn:aws:s3:::bucket"), None);
    }
}
