//! GuardDuty: the region's threat-detection detector.
//!
//! A region holds at most one detector per account. zinfra finds its own by the ownership tags that
//! `GetDetector` reports. One enabled before the stack (by hand, or by the organisation) is adopted as it
//! is (`super::singleton`): its settings and tags as found are recorded on it, the file's settings are
//! applied, and destroy puts the found settings back and removes only the tags the stack added, never
//! the detector. Another stack's detector is never adopted.

use std::collections::HashMap;

use anyhow::{Context, Result, bail};
use async_trait::async_trait;
use aws_sdk_guardduty::types::{DetectorStatus, FindingPublishingFrequency};
use futures::future::try_join_all;
use tokio::sync::OnceCell;

use super::singleton::{self, Found};
use super::toolkit::{
    AllItems, Driver, ReadCx, TagApi, absent_if, owned_address, partition, sdk_error, string_map,
    tag_pairs, updated, user_tags,
};
use crate::model::{Live, PropsExt, Resolved, Resource, Value};

pub struct GuardDuty {
    client: aws_sdk_guardduty::Client,
    sts: aws_sdk_sts::Client,
    account: OnceCell<String>,
}

impl GuardDuty {
    pub fn new(client: aws_sdk_guardduty::Client, sts: aws_sdk_sts::Client) -> GuardDuty {
        GuardDuty {
            client,
            sts,
            account: OnceCell::new(),
        }
    }

    /// Every detector of the region with what `GetDetector` reports (status, frequency, tags).
    async fn detectors(
        &self,
    ) -> Result<
        Vec<(
            String,
            aws_sdk_guardduty::operation::get_detector::GetDetectorOutput,
        )>,
    > {
        let ids: Vec<String> = self
            .client
            .list_detectors()
            .into_paginator()
            .items()
            .send()
            .all("ListDetectors")
            .await?;
        let got = try_join_all(ids.into_iter().map(|id| async move {
            let res = self.client.get_detector().detector_id(&id).send().await;
            Ok::<_, anyhow::Error>(
                absent_if("GetDetector", res, &["BadRequestException"])?.map(|d| (id, d)),
            )
        }))
        .await?;
        Ok(got.into_iter().flatten().collect())
    }

    async fn account(&self) -> Result<&str> {
        self.account
            .get_or_try_init(|| async {
                let who = self
                    .sts
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(|e| sdk_error("GetCallerIdentity", e))?;
                who.account()
                    .map(str::to_owned)
                    .context("GetCallerIdentity returned no account")
            })
            .await
            .map(String::as_str)
    }

    fn region(&self) -> String {
        self.client
            .config()
            .region()
            .map(|r| r.to_string())
            .unwrap_or_default()
    }

    async fn arn(&self, id: &str) -> Result<String> {
        let region = self.region();
        let partition = partition(&region);
        Ok(format!(
            "arn:{partition}:guardduty:{region}:{}:detector/{id}",
            self.account().await?
        ))
    }
}

impl GuardDuty {
    /// A detector as the stack sees it: an adopted one's found tags are not the stack's.
    async fn live_of(
        &self,
        address: &str,
        id: &str,
        d: &aws_sdk_guardduty::operation::get_detector::GetDetectorOutput,
        desired: Option<&Resource>,
    ) -> Result<Live> {
        let mut live = Live::new(address, "guardduty_detector", id);
        live.props.insert(
            "enable".into(),
            Value::Bool(d.status() == Some(&DetectorStatus::Enabled)),
        );
        live.props.insert(
            "finding_publishing_frequency".into(),
            d.finding_publishing_frequency()
                .map_or(Value::Null, |f| Value::Str(f.as_str().to_owned())),
        );
        singleton::read_tags(&mut live, user_tags(tags_of(d)));
        live.outputs.insert("arn".into(), self.arn(id).await?);
        // A member of an organisation: its administrator account sets whether GuardDuty runs and how
        // often it publishes; the member cannot change either. Asked only when it could matter.
        singleton::defer_to_organisation(
            &mut live,
            desired,
            "GuardDuty",
            ORG_CONTROLLED,
            || async {
                let out = self
                    .client
                    .get_administrator_account()
                    .detector_id(id)
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
}

/// What an organisation's administrator account sets for its members' detectors.
const ORG_CONTROLLED: &[&str] = &["enable", "finding_publishing_frequency"];

fn frequency(r: &Resolved) -> Option<FindingPublishingFrequency> {
    r.props
        .str("finding_publishing_frequency")
        .map(FindingPublishingFrequency::from)
}

fn tags_of(d: &aws_sdk_guardduty::operation::get_detector::GetDetectorOutput) -> Vec<(&str, &str)> {
    d.tags()
        .map(|t| t.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())
        .unwrap_or_default()
}

#[async_trait]
impl Driver for GuardDuty {
    fn kinds(&self) -> &'static [&'static str] {
        &["guardduty_detector"]
    }

    fn service(&self) -> &'static str {
        "GUARDDUTY"
    }

    /// Detectors are listed and read (one per region), not found through the tagging API.
    fn uses_tag_index(&self) -> bool {
        false
    }

    async fn read(&self, cx: &ReadCx<'_>) -> Result<Vec<Live>> {
        let mut out = Vec::new();
        for (id, d) in self.detectors().await? {
            let Some(address) = owned_address(cx.stack, tags_of(&d)) else {
                continue;
            };
            let desired = cx.desired.iter().copied().find(|r| r.address == address);
            out.push(self.live_of(&address, &id, &d, desired).await?);
        }
        Ok(out)
    }

    /// The region's detector, whoever enabled it: an account singleton the stack adopts as it is.
    async fn find(&self, _cx: &ReadCx<'_>, r: &Resource) -> Result<Option<Live>> {
        match self.detectors().await?.into_iter().next() {
            Some((id, d)) => Ok(Some(self.live_of(&r.address, &id, &d, Some(r)).await?)),
            None => Ok(None),
        }
    }

    async fn create(&self, r: &Resolved) -> Result<Live> {
        // One detector per account and region: one found at plan time is adopted (update), never
        // created beside; one that appeared since (or another stack's) is refused.
        if let Some((id, d)) = self.detectors().await?.into_iter().next() {
            let owner = tags_of(&d)
                .into_iter()
                .find(|(k, _)| *k == crate::model::TAG_STACK)
                .map(|(_, v)| format!("zinfra stack `{v}`"))
                .unwrap_or_else(|| "outside zinfra".to_owned());
            bail!(
                "creating {}: this account already has GuardDuty detector {id} in {} (created {owner}); \
                 GuardDuty allows one per region, and zinfra does not take over detectors it did not create",
                r.address,
                self.region()
            );
        }
        let tags: HashMap<String, String> = tag_pairs(&r.tags)
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let out = self
            .client
            .create_detector()
            .enable(
                r.props
                    .get("enable")
                    .and_then(Value::as_bool)
                    .unwrap_or(true),
            )
            .set_finding_publishing_frequency(frequency(r))
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| sdk_error("CreateDetector", e))
            .with_context(|| format!("creating {}", r.address))?;
        let id = out
            .detector_id()
            .context("CreateDetector returned no detector id")?;
        let mut live = Live::new(&r.address, &r.kind, id);
        live.outputs.insert("arn".into(), self.arn(id).await?);
        Ok(live)
    }

    async fn update(&self, r: &Resolved, live: &Live, changed: &[String]) -> Result<Live> {
        let has = |f: &str| changed.iter().any(|c| c == f);
        // Adopting a detector enabled before the stack: record what it really was like first.
        let found = live.found.then(|| {
            Found::new(
                [
                    ("enable", singleton::actual(live, "enable")),
                    (
                        "frequency",
                        singleton::actual(live, "finding_publishing_frequency"),
                    ),
                ],
                &live.tags,
            )
        });
        let managed = singleton::organisation_managed(live);
        if !managed && (has("enable") || has("finding_publishing_frequency")) {
            self.client
                .update_detector()
                .detector_id(&live.id)
                .set_enable(r.props.get("enable").and_then(Value::as_bool))
                .set_finding_publishing_frequency(frequency(r))
                .send()
                .await
                .map_err(|e| sdk_error("UpdateDetector", e))
                .with_context(|| format!("updating {}", r.address))?;
        }
        if has("tags") || found.is_some() {
            let arn = self.arn(&live.id).await?;
            singleton::write_tags(&self.client, &arn, live, &r.tags, found.as_ref()).await?;
        }
        Ok(updated(r, live))
    }

    /// Deletes only the detector zinfra created (the one read found by its tags); one the stack
    /// adopted gets its settings as found back, and loses only the tags the stack added.
    async fn delete(&self, live: &Live) -> Result<()> {
        if let Some(found) = singleton::found_of(live) {
            // An organisation's member: its settings were never the stack's to change.
            if !singleton::organisation_managed(live) {
                self.client
                    .update_detector()
                    .detector_id(&live.id)
                    .set_enable(found.setting("enable").map(|e| e == "true"))
                    .set_finding_publishing_frequency(
                        found
                            .setting("frequency")
                            .filter(|f| *f != "none")
                            .map(FindingPublishingFrequency::from),
                    )
                    .send()
                    .await
                    .map_err(|e| sdk_error("UpdateDetector", e))
                    .with_context(|| format!("restoring {} as found", live.address))?;
            }
            let keys = singleton::destroy_tag_keys(live, &found);
            if !keys.is_empty() {
                self.client
                    .untag(&self.arn(&live.id).await?, keys, &live.tags)
                    .await?;
            }
            return Ok(());
        }
        let res = self
            .client
            .delete_detector()
            .detector_id(&live.id)
            .send()
            .await;
        absent_if("DeleteDetector", res, &["BadRequestException"])
            .with_context(|| format!("deleting {} ({})", live.address, live.id))?;
        Ok(())
    }
}

crate::tag_resource_api!(aws_sdk_guardduty::Client, resource_arn, string_map);
