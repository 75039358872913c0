//! Security Hub: the region's hub and its subscription to AWS Foundational Security Best Practices.
//!
//! The hub is a per-account, per-region singleton whose id is its ARN (`…:hub/default`). zinfra owns it
//! when the hub carries the stack's ownership tags (`ListTagsForResource`). A hub enabled before the
//! stack (by hand, or by the organisation) is adopted as it is (`super::singleton`): whether it ran the
//! standard and its tags are recorded on it, and destroy puts that back instead of disabling the hub.
//! Another stack's hub is never adopted.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use async_trait::async_trait;
use aws_sdk_securityhub::types::{StandardsStatus, StandardsSubscriptionRequest};

use super::singleton::{self, Found};
use super::toolkit::{
    AllItems, Driver, ReadCx, TagApi, error_code, owned_address, partition, sdk_error, string_map,
    tag_pairs, updated, user_tags,
};
use crate::model::{Live, Resolved, Resource, TAG_STACK, Value};
use crate::wait::Poll;

/// What an organisation's administrator sets for its members' hubs: the standards that run.
const ORG_CONTROLLED: &[&str] = &["foundational_best_practices"];

pub struct SecurityHub {
    client: aws_sdk_securityhub::Client,
}

impl SecurityHub {
    pub fn new(client: aws_sdk_securityhub::Client) -> SecurityHub {
        SecurityHub { client }
    }

    fn region(&self) -> String {
        self.client
            .config()
            .region()
            .map(|r| r.to_string())
            .unwrap_or_default()
    }

    /// `arn:<partition>:securityhub:<region>::standards/aws-foundational-security-best-practices/v/1.0.0`
    fn fsbp_arn(&self) -> String {
        let region = self.region();
        let partition = partition(&region);
        format!(
            "arn:{partition}:securityhub:{region}::standards/aws-foundational-security-best-practices/v/1.0.0"
        )
    }

    /// The hub's ARN, or None when Security Hub is not enabled in this region.
    async fn hub(&self) -> Result<Option<String>> {
        match self.client.describe_hub().send().await {
            Ok(out) => Ok(out.hub_arn().map(str::to_owned)),
            Err(e)
                if matches!(
                    error_code(&e),
                    Some("InvalidAccessException" | "ResourceNotFoundException")
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(sdk_error("DescribeHub", e)),
        }
    }

    async fn tags(&self, hub: &str) -> Result<HashMap<String, String>> {
        let out = self
            .client
            .list_tags_for_resource()
            .resource_arn(hub)
            .send()
            .await
            .map_err(|e| sdk_error("ListTagsForResource", e))?;
        Ok(out.tags().cloned().unwrap_or_default())
    }

    /// The FSBP subscription: (subscription ARN, status), if subscribed.
    async fn fsbp(&self) -> Result<Option<(String, StandardsStatus)>> {
        let want = self.fsbp_arn();
        let subs = self
            .client
            .get_enabled_standards()
            .into_paginator()
            .items()
            .send()
            .all("GetEnabledStandards")
            .await?;
        Ok(subs
            .into_iter()
            .find(|s| s.standards_arn() == Some(want.as_str()))
            .and_then(|s| {
                let status = s.standards_status()?.clone();
                (!matches!(status, StandardsStatus::Deleting | StandardsStatus::Failed)).then(
                    || {
                        (
                            s.standards_subscription_arn()
                                .unwrap_or_default()
                                .to_owned(),
                            status,
                        )
                    },
                )
            }))
    }

    /// Subscribes (if not yet) and waits until the standard is READY: its controls run only then.
    async fn subscribe_fsbp(&self) -> Result<()> {
        if self.fsbp().await?.is_none() {
            self.client
                .batch_enable_standards()
                .standards_subscription_requests(
                    StandardsSubscriptionRequest::builder()
                        .standards_arn(self.fsbp_arn())
                        .build(),
                )
                .send()
                .await
                .map_err(|e| sdk_error("BatchEnableStandards", e))?;
        }
        crate::wait::until(
            "Foundational Security Best Practices",
            crate::kinds::securityhub_account::WAIT,
            Duration::from_secs(15),
            || async {
                Ok(match self.fsbp().await? {
                    Some((_, StandardsStatus::Ready)) => Poll::Ready(()),
                    Some((_, StandardsStatus::Incomplete)) => {
                        bail!("the standard's subscription is INCOMPLETE (some controls could not be enabled)")
                    }
                    Some((_, other)) => Poll::Pending(other.as_str().to_owned()),
                    None => Poll::Pending("not subscribed".into()),
                })
            },
        )
        .await
    }

    /// The hub as the stack sees it: an adopted one's found tags are not the stack's.
    async fn live_of(
        &self,
        address: &str,
        hub: &str,
        tags: &HashMap<String, String>,
        desired: Option<&Resource>,
    ) -> Result<Live> {
        let mut live = Live::new(address, "securityhub_account", hub);
        live.outputs.insert("arn".into(), hub.to_owned());
        live.props.insert(
            "foundational_best_practices".into(),
            Value::Bool(self.fsbp().await?.is_some()),
        );
        singleton::read_tags(
            &mut live,
            user_tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        );
        // A member account: its administrator (the organisation's delegated one) decides which
        // standards run. Asked only when it could matter.
        singleton::defer_to_organisation(
            &mut live,
            desired,
            "Security Hub",
            ORG_CONTROLLED,
            || async {
                let out = self
                    .client
                    .get_administrator_account()
                    .send()
                    .await
                    .map_err(|e| sdk_error("GetAdministratorAccount", e))?;
                Ok(out
                    .administrator()
                    .and_then(|a| a.account_id())
                    .map(str::to_owned))
            },
        )
        .await?;
        Ok(live)
    }

    async fn unsubscribe_fsbp(&self) -> Result<()> {
        if let Some((sub, _)) = self.fsbp().await? {
            self.client
                .batch_disable_standards()
                .standards_subscription_arns(sub)
                .send()
                .await
                .map_err(|e| sdk_error("BatchDisableStandards", e))?;
        }
        Ok(())
    }
}

#[async_trait]
impl Driver for SecurityHub {
    fn kinds(&self) -> &'static [&'static str] {
        &["securityhub_account"]
    }

    fn service(&self) -> &'static str {
        "SECURITYHUB"
    }

    /// The hub is found with DescribeHub and its tags, not through the tagging API.
    fn uses_tag_index(&self) -> bool {
        false
    }

    async fn read(&self, cx: &ReadCx<'_>) -> Result<Vec<Live>> {
        let Some(hub) = self.hub().await? else {
            return Ok(vec![]);
        };
        let tags = self.tags(&hub).await?;
        let pairs = || tags.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let Some(address) = owned_address(cx.stack, pairs()) else {
            return Ok(vec![]);
        };
        let desired = cx.desired.iter().copied().find(|r| r.address == address);
        Ok(vec![self.live_of(&address, &hub, &tags, desired).await?])
    }

    /// The region's hub, whoever enabled it: an account singleton the stack adopts as it is.
    async fn find(&self, _cx: &ReadCx<'_>, r: &Resource) -> Result<Option<Live>> {
        let Some(hub) = self.hub().await? else {
            return Ok(None);
        };
        let tags = self.tags(&hub).await?;
        Ok(Some(self.live_of(&r.address, &hub, &tags, Some(r)).await?))
    }

    async fn create(&self, r: &Resolved) -> Result<Live> {
        if let Some(hub) = self.hub().await? {
            let tags = self.tags(&hub).await?;
            let owner = tags
                .get(TAG_STACK)
                .map(|s| format!("by zinfra stack `{s}`"))
                .unwrap_or_else(|| "outside zinfra".to_owned());
            bail!(
                "creating {}: Security Hub is already enabled in {} (hub {hub}, enabled {owner}); \
                 zinfra does not take over a hub it did not enable",
                r.address,
                self.region()
            );
        }
        let tags: HashMap<String, String> = tag_pairs(&r.tags)
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        // Only the standards the file asks for: the defaults (CIS as well) would be unmanaged extras.
        self.client
            .enable_security_hub()
            .enable_default_standards(false)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| sdk_error("EnableSecurityHub", e))
            .with_context(|| format!("creating {}", r.address))?;
        let hub = self
            .hub()
            .await?
            .context("Security Hub reports no hub right after EnableSecurityHub")?;
        if r.props.get("foundational_best_practices") != Some(&Value::Bool(false)) {
            self.subscribe_fsbp()
                .await
                .with_context(|| format!("creating {}", r.address))?;
        }
        let mut live = Live::new(&r.address, &r.kind, &hub);
        live.outputs.insert("arn".into(), hub);
        Ok(live)
    }

    async fn update(&self, r: &Resolved, live: &Live, changed: &[String]) -> Result<Live> {
        let has = |f: &str| changed.iter().any(|c| c == f);
        // Adopting a hub enabled before the stack: record what it was like first.
        let found = live.found.then(|| {
            Found::new(
                [(
                    "fsbp",
                    singleton::actual(live, "foundational_best_practices"),
                )],
                &live.tags,
            )
        });
        let managed = singleton::organisation_managed(live);
        if !managed && has("foundational_best_practices") {
            let done = if r.props.get("foundational_best_practices") == Some(&Value::Bool(false)) {
                self.unsubscribe_fsbp().await
            } else {
                self.subscribe_fsbp().await
            };
            done.with_context(|| format!("updating {}", r.address))?;
        }
        if has("tags") || found.is_some() {
            singleton::write_tags(&self.client, &live.id, live, &r.tags, found.as_ref()).await?;
        }
        Ok(updated(r, live))
    }

    /// Disables the hub zinfra enabled (read found it by its tags); its subscriptions go with it. A hub
    /// the stack adopted stays enabled: the standard as found, and only the stack's tags removed.
    async fn delete(&self, live: &Live) -> Result<()> {
        if let Some(found) = singleton::found_of(live) {
            // An organisation's member: its standards were never the stack's to change.
            let managed = singleton::organisation_managed(live);
            let restored = match found.setting("fsbp").filter(|_| !managed) {
                Some("false") => self.unsubscribe_fsbp().await,
                Some("true") => self.subscribe_fsbp().await,
                _ => Ok(()),
            };
            restored.with_context(|| format!("restoring {} as found", live.address))?;
            let keys = singleton::destroy_tag_keys(live, &found);
            if !keys.is_empty() {
                self.client.untag(&live.id, keys, &live.tags).await?;
            }
            return Ok(());
        }
        match self.client.disable_security_hub().send().await {
            Err(e) if error_code(&e) != Some("InvalidAccessException") => {
                Err(sdk_error("DisableSecurityHub", e))
                    .with_context(|| format!("deleting {}", live.address))
            }
            _ => Ok(()),
        }
    }
}

crate::tag_resource_api!(aws_sdk_securityhub::Client, resource_arn, string_map);
