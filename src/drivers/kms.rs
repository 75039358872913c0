//! KMS: symmetric customer-managed keys with one alias and automatic rotation.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, bail};
use async_trait::async_trait;
use aws_sdk_kms::types::{KeySpec, KeyState, KeyUsageType, Tag};
use futures::future::try_join_all;

use super::toolkit::{
    AllItems, Driver, ReadCx, Undeclared, build_tags, error_code, owned_address, sdk_error,
    sync_tags, tag_pairs, unhandled, updated, user_tags,
};
use crate::model::{Live, PropsExt, Resolved, Resource, Tags, Value};

const KIND: &str = "kms_key";
/// The only key policy name KMS accepts.
const POLICY_NAME: &str = "default";
const DEFAULT_DELETION_WINDOW: i64 = 7;

pub struct Kms {
    client: aws_sdk_kms::Client,
}

impl Kms {
    pub fn new(client: aws_sdk_kms::Client) -> Kms {
        Kms { client }
    }
}

#[async_trait]
impl Driver for Kms {
    fn kinds(&self) -> &'static [&'static str] {
        &[KIND]
    }

    fn service(&self) -> &'static str {
        "KMS"
    }

    fn undeclared(&self, _kind: &str) -> Undeclared {
        Undeclared::Listing
    }

    async fn read(&self, cx: &ReadCx<'_>) -> Result<Vec<Live>> {
        // The tag index can miss keys (LocalStack's does not list them): ListKeys confirms, and the
        // tags of the keys the index did not list are read one by one.
        let (index, (aliases, aws_managed)) = futures::try_join!(cx.index(), self.aliases())?;
        let mut tagged = cx.tagged.clone();
        let mut listed_tags: BTreeMap<String, Tags> = BTreeMap::new();
        for (address, arn, tags) in self.unindexed_keys(cx.stack, &tagged, &aws_managed).await? {
            listed_tags.insert(arn.clone(), tags);
            tagged.push((address, arn));
        }
        if tagged.is_empty() {
            return Ok(vec![]);
        }
        let desired: BTreeMap<&str, &crate::model::Props> = cx
            .desired
            .iter()
            .map(|r| (r.address.as_str(), &r.props))
            .collect();
        // The policy is read only where the file manages it: an unmanaged policy is never compared.
        let keys = try_join_all(tagged.iter().map(|(address, arn)| {
            let wants_policy = desired
                .get(address.as_str())
                .and_then(|p| p.get("policy"))
                .is_some_and(|v| !v.is_null());
            // Tags come with the index entry (or the listing) the key was found by.
            let tags = index.tags(arn).or(listed_tags.get(arn)).cloned();
            self.read_key(address, arn, wants_policy, tags)
        }));
        let keys = keys.await?;
        Ok(keys
            .into_iter()
            .flatten()
            .map(|mut live| {
                let mine = aliases.get(&live.id).map(Vec::as_slice).unwrap_or_default();
                let want = desired
                    .get(live.address.as_str())
                    .and_then(|p| p.str("alias"));
                // A key may carry several aliases; report the declared one when present.
                let alias = want
                    .filter(|w| mine.iter().any(|a| a == w))
                    .or(mine.first().map(String::as_str));
                if let Some(alias) = alias {
                    live.props
                        .insert("alias".into(), Value::Str(alias.to_owned()));
                }
                live
            })
            .collect())
    }

    /// The key a declared key's alias names, when the stack's read did not claim it.
    async fn find(&self, _cx: &ReadCx<'_>, r: &Resource) -> Result<Option<Live>> {
        let Some(alias) = r.props.get("alias").and_then(Value::as_str) else {
            return Ok(None);
        };
        let described = match self.client.describe_key().key_id(alias).send().await {
            Ok(out) => out,
            Err(e) if error_code(&e) == Some("NotFoundException") => return Ok(None),
            Err(e) => return Err(sdk_error("DescribeKey", e)),
        };
        let Some(arn) = described.key_metadata().and_then(|m| m.arn()) else {
            return Ok(None);
        };
        let wants_policy = r.props.get("policy").is_some_and(|v| !v.is_null());
        let live = self.read_key(&r.address, arn, wants_policy, None).await?;
        Ok(live.map(|mut l| {
            l.props.insert("alias".into(), Value::Str(alias.to_owned()));
            l
        }))
    }

    async fn create(&self, r: &Resolved) -> Result<Live> {
        self.create_key(r)
            .await
            .with_context(|| format!("creating {}", r.address))
    }

    async fn update(&self, r: &Resolved, live: &Live, changed: &[String]) -> Result<Live> {
        let id = live.id.as_str();
        for field in changed {
            let done = match field.as_str() {
                "tags" => sync_tags(&self.client, id, &r.tags, &live.tags).await,
                "description" => self
                    .client
                    .update_key_description()
                    .key_id(id)
                    .description(r.props.str("description").unwrap_or_default())
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| sdk_error("UpdateKeyDescription", e)),
                "enable_key_rotation" => {
                    self.set_rotation(id, r.props.bool_or("enable_key_rotation", true))
                        .await
                }
                "policy" => match r.props.json("policy") {
                    Some(policy) => self.put_policy(id, policy).await,
                    None => Ok(()),
                },
                "alias" => match r.props.str("alias") {
                    Some(alias) => self.move_alias(r, id, live.props.str("alias"), alias).await,
                    None => Ok(()),
                },
                other => Err(unhandled("kms_key", other)),
            };
            done.with_context(|| format!("updating {} ({field})", r.address))?;
        }
        Ok(updated(r, live))
    }

    async fn delete(&self, live: &Live) -> Result<()> {
        self.delete_key(live)
            .await
            .with_context(|| format!("deleting {} ({})", live.address, live.id))
    }
}

impl Kms {
    /// One key, or `None` when it is gone or on its way out (PendingDeletion and the like).
    async fn read_key(
        &self,
        address: &str,
        arn: &str,
        wants_policy: bool,
        indexed_tags: Option<Tags>,
    ) -> Result<Option<Live>> {
        let described = match self.client.describe_key().key_id(arn).send().await {
            Ok(out) => out,
            Err(e) if error_code(&e) == Some("NotFoundException") => return Ok(None),
            Err(e) => {
                return Err(sdk_error("DescribeKey", e))
                    .with_context(|| format!("{address} ({arn})"));
            }
        };
        let Some(meta) = described.key_metadata() else {
            return Ok(None);
        };
        if !matches!(
            meta.key_state(),
            Some(KeyState::Enabled | KeyState::Disabled)
        ) {
            return Ok(None);
        }
        let id = meta.key_id();
        let policy = async {
            if !wants_policy {
                return Ok(None);
            }
            let out = self
                .client
                .get_key_policy()
                .key_id(id)
                .policy_name(POLICY_NAME)
                .send()
                .await
                .map_err(|e| sdk_error("GetKeyPolicy", e))?;
            out.policy()
                .map(serde_json::from_str::<serde_json::Value>)
                .transpose()
                .context("the key policy AWS returned is not JSON")
        };
        let rotation = async {
            self.client
                .get_key_rotation_status()
                .key_id(id)
                .send()
                .await
                .map(|o| o.key_rotation_enabled())
                .map_err(|e| sdk_error("GetKeyRotationStatus", e))
        };
        let tags = async {
            if let Some(t) = indexed_tags {
                return Ok(t);
            }
            let tags = self
                .list_tags(id)
                .await
                .map_err(|e| sdk_error("ListResourceTags", e))?;
            Ok(user_tags(tags.iter().map(|t| (t.tag_key(), t.tag_value()))))
        };
        let (policy, rotation, tags) = futures::try_join!(policy, rotation, tags)
            .with_context(|| format!("{address} ({id})"))?;

        let mut live = Live::new(address, KIND, id);
        live.outputs
            .insert("arn".into(), meta.arn().unwrap_or(arn).to_owned());
        live.props.insert(
            "description".into(),
            Value::Str(meta.description().unwrap_or_default().to_owned()),
        );
        live.props
            .insert("enable_key_rotation".into(), Value::Bool(rotation));
        if let Some(policy) = policy {
            live.props.insert("policy".into(), Value::Json(policy));
        }
        live.tags = tags;
        Ok(Some(live))
    }

    /// (address, ARN, tags) of the stack's keys that ListKeys finds and `known` (the index) lacks.
    /// AWS managed keys (aliases `alias/aws/...`) are never the stack's: their tags are not read.
    async fn unindexed_keys(
        &self,
        stack: &str,
        known: &[(String, String)],
        aws_managed: &std::collections::BTreeSet<String>,
    ) -> Result<Vec<(String, String, Tags)>> {
        let keys = self
            .client
            .list_keys()
            .into_paginator()
            .items()
            .send()
            .all("ListKeys")
            .await?;
        let known_id = |id: &str| {
            known
                .iter()
                .any(|(_, arn)| arn.ends_with(&format!("/{id}")))
        };
        let found = try_join_all(
            keys.iter()
                .filter_map(|k| {
                    let (id, arn) = (k.key_id()?, k.key_arn()?);
                    (!known_id(id) && !aws_managed.contains(id)).then_some((id, arn))
                })
                .map(|(id, arn)| async move {
                    let tags = match self.list_tags(id).await {
                        Ok(t) => t,
                        // Gone since the listing, or a key this principal may not read: not the stack's.
                        Err(e)
                            if matches!(
                                error_code(&e),
                                Some("NotFoundException" | "AccessDeniedException")
                            ) =>
                        {
                            return Ok(None);
                        }
                        Err(e) => return Err(sdk_error("ListResourceTags", e)),
                    };
                    let tags = user_tags(tags.iter().map(|t| (t.tag_key(), t.tag_value())));
                    let address =
                        owned_address(stack, tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                    Ok::<_, anyhow::Error>(address.map(|a| (a, arn.to_owned(), tags)))
                }),
        )
        .await?;
        Ok(found.into_iter().flatten().collect())
    }

    /// Customer aliases by target key id (sorted), and the ids of AWS managed keys (`alias/aws/...`),
    /// from one paginated ListAliases call.
    async fn aliases(
        &self,
    ) -> Result<(
        BTreeMap<String, Vec<String>>,
        std::collections::BTreeSet<String>,
    )> {
        let all = self
            .client
            .list_aliases()
            .into_paginator()
            .items()
            .send()
            .all("ListAliases")
            .await?;
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut managed = std::collections::BTreeSet::new();
        for a in &all {
            if let (Some(name), Some(key)) = (a.alias_name(), a.target_key_id()) {
                if name.starts_with("alias/aws/") {
                    managed.insert(key.to_owned());
                } else {
                    out.entry(key.to_owned()).or_default().push(name.to_owned());
                }
            }
        }
        out.values_mut().for_each(|v| v.sort());
        Ok((out, managed))
    }

    async fn create_key(&self, r: &Resolved) -> Result<Live> {
        let policy = r
            .props
            .json("policy")
            .map(serde_json::to_string)
            .transpose()?;
        let out = self
            .client
            .create_key()
            .key_spec(KeySpec::SymmetricDefault)
            .key_usage(KeyUsageType::EncryptDecrypt)
            .set_description(r.props.str("description").map(str::to_owned))
            .set_policy(policy)
            .set_tags(Some(kms_tags(tag_pairs(&r.tags))?))
            .send()
            .await
            .map_err(|e| sdk_error("CreateKey", e))?;
        let meta = out
            .key_metadata()
            .context("CreateKey returned no key metadata")?;
        let id = meta.key_id().to_owned();
        let mut live = Live::new(&r.address, KIND, &id);
        if let Some(arn) = meta.arn() {
            live.outputs.insert("arn".into(), arn.to_owned());
        }
        live.tags = r.tags.clone();
        // The key exists and is tagged from here on: a failure below leaves it for the next plan to fix.
        let rest = async {
            // KMS creates keys with rotation off.
            if r.props.bool_or("enable_key_rotation", true) {
                self.set_rotation(&id, true).await?;
            }
            if let Some(alias) = r.props.str("alias") {
                self.client
                    .create_alias()
                    .alias_name(alias)
                    .target_key_id(&id)
                    .send()
                    .await
                    .map_err(|e| sdk_error("CreateAlias", e))
                    .with_context(|| format!("alias {alias}"))?;
            }
            Ok::<_, anyhow::Error>(())
        };
        rest.await
            .with_context(|| format!("key {id} was created"))?;
        Ok(live)
    }

    async fn set_rotation(&self, id: &str, on: bool) -> Result<()> {
        if on {
            self.client
                .enable_key_rotation()
                .key_id(id)
                .send()
                .await
                .map(drop)
                .map_err(|e| sdk_error("EnableKeyRotation", e))
        } else {
            self.client
                .disable_key_rotation()
                .key_id(id)
                .send()
                .await
                .map(drop)
                .map_err(|e| sdk_error("DisableKeyRotation", e))
        }
    }

    async fn put_policy(&self, id: &str, policy: &serde_json::Value) -> Result<()> {
        self.client
            .put_key_policy()
            .key_id(id)
            .policy_name(POLICY_NAME)
            .policy(serde_json::to_string(policy)?)
            .send()
            .await
            .map(drop)
            .map_err(|e| sdk_error("PutKeyPolicy", e))
    }

    /// Point `alias` at the key, then drop the old one. An alias that already names another key is
    /// moved only when that key is this resource's too (a key it replaced), never someone else's.
    async fn move_alias(
        &self,
        r: &Resolved,
        id: &str,
        old: Option<&str>,
        alias: &str,
    ) -> Result<()> {
        if old == Some(alias) {
            return Ok(());
        }
        match self
            .client
            .create_alias()
            .alias_name(alias)
            .target_key_id(id)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if error_code(&e) == Some("AlreadyExistsException") => {
                let target = self
                    .client
                    .describe_key()
                    .key_id(alias)
                    .send()
                    .await
                    .map_err(|e| sdk_error("DescribeKey", e))?;
                let key = target
                    .key_metadata()
                    .map(|m| m.key_id().to_owned())
                    .unwrap_or_default();
                let tags = self
                    .client
                    .list_resource_tags()
                    .key_id(&key)
                    .into_paginator()
                    .items()
                    .send()
                    .all("ListResourceTags")
                    .await?;
                let tags = user_tags(tags.iter().map(|t| (t.tag_key(), t.tag_value())));
                let owner = |k: &str| tags.get(k) == r.tags.get(k);
                if !(owner(crate::model::TAG_STACK) && owner(crate::model::TAG_ADDRESS)) {
                    bail!(
                        "alias {alias} already names key {key}, which is not {}'s: zinfra does not take it over. Choose another alias, or move it by hand.",
                        r.address
                    );
                }
                self.client
                    .update_alias()
                    .alias_name(alias)
                    .target_key_id(id)
                    .send()
                    .await
                    .map_err(|e| sdk_error("UpdateAlias", e))?;
            }
            Err(e) => return Err(sdk_error("CreateAlias", e)),
        }
        match old {
            Some(old) => self.delete_alias(old).await,
            None => Ok(()),
        }
    }

    async fn delete_alias(&self, alias: &str) -> Result<()> {
        match self.client.delete_alias().alias_name(alias).send().await {
            Ok(_) => Ok(()),
            Err(e) if error_code(&e) == Some("NotFoundException") => Ok(()),
            Err(e) => Err(sdk_error("DeleteAlias", e)).with_context(|| format!("alias {alias}")),
        }
    }

    async fn delete_key(&self, live: &Live) -> Result<()> {
        let id = live.id.as_str();
        // An alias outlives its key's deletion window; free the name now so it can be reused.
        let aliases = match live.props.str("alias") {
            Some(alias) => vec![alias.to_owned()],
            None => match self.key_aliases(id).await? {
                Some(aliases) => aliases,
                None => return Ok(()),
            },
        };
        for alias in &aliases {
            self.delete_alias(alias).await?;
        }
        let days = live
            .props
            .int("deletion_window_in_days")
            .unwrap_or(DEFAULT_DELETION_WINDOW);
        let days = i32::try_from(days).context("deletion_window_in_days out of range")?;
        match self
            .client
            .schedule_key_deletion()
            .key_id(id)
            .pending_window_in_days(days)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if error_code(&e) == Some("NotFoundException") => Ok(()),
            // Scheduling twice is refused; a key already pending deletion is as deleted as it gets.
            Err(e) if error_code(&e) == Some("KMSInvalidStateException") => {
                let out = self
                    .client
                    .describe_key()
                    .key_id(id)
                    .send()
                    .await
                    .map_err(|e| sdk_error("DescribeKey", e))?;
                match out.key_metadata().and_then(|m| m.key_state()) {
                    Some(KeyState::PendingDeletion) => Ok(()),
                    _ => Err(sdk_error("ScheduleKeyDeletion", e)),
                }
            }
            Err(e) => Err(sdk_error("ScheduleKeyDeletion", e)),
        }
    }

    /// The key's tags as KMS lists them, all pages (the caller judges an error).
    async fn list_tags(
        &self,
        id: &str,
    ) -> std::result::Result<
        Vec<Tag>,
        aws_sdk_kms::error::SdkError<
            aws_sdk_kms::operation::list_resource_tags::ListResourceTagsError,
            aws_sdk_kms::config::http::HttpResponse,
        >,
    > {
        self.client
            .list_resource_tags()
            .key_id(id)
            .into_paginator()
            .items()
            .send()
            .collect()
            .await
    }

    /// The key's customer aliases, or `None` when the key no longer exists.
    async fn key_aliases(&self, id: &str) -> Result<Option<Vec<String>>> {
        let all = match self
            .client
            .list_aliases()
            .key_id(id)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
        {
            Ok(all) => all,
            Err(e) if error_code(&e) == Some("NotFoundException") => return Ok(None),
            Err(e) => return Err(sdk_error("ListAliases", e)),
        };
        let names: BTreeSet<String> = all
            .iter()
            .filter_map(|a| a.alias_name())
            .filter(|n| !n.starts_with("alias/aws/"))
            .map(str::to_owned)
            .collect();
        Ok(Some(names.into_iter().collect()))
    }
}

fn kms_tags<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Vec<Tag>> {
    build_tags(tags, |k, v| Tag::builder().tag_key(k).tag_value(v).build())
}

crate::tag_resource_api!(aws_sdk_kms::Client, key_id, kms_tags);
