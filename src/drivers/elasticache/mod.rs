//! ElastiCache for Redis: subnet groups, parameter groups, RBAC users and user groups, replication groups.
//!
//! Everything is found through the tagging index (`cx.tagged`), with its tags, and then described by id. Replication groups
//! take minutes on AWS: create, update and delete wait with [`crate::wait::until`]. User passwords are
//! write-only: the version last written is kept in a tag (`zinfra:secret-version`); the password itself is
//! never read, logged, put in an error, or stored.

mod common;
mod parameter_group;
mod replication_group;
mod subnet_group;
mod user;
mod user_group;

pub use common::ElastiCache;

use anyhow::{Context, Result, anyhow};
use async_trait::async_trait;
use futures::future::try_join_all;

use crate::drivers::toolkit::{Driver, ReadCx, owned_address, sync_tags, updated};
use crate::model::{Live, Resolved, TAG_SECRET_VERSION, take_secret_version};

use common::*;
use user::password_as_read;

#[async_trait]
impl Driver for ElastiCache {
    fn kinds(&self) -> &'static [&'static str] {
        &[
            SUBNET_GROUP,
            PARAMETER_GROUP,
            USER,
            USER_GROUP,
            REPLICATION_GROUP,
        ]
    }

    fn service(&self) -> &'static str {
        "ELASTICACHE"
    }

    async fn read(&self, cx: &ReadCx<'_>) -> Result<Vec<Live>> {
        let index = cx.index().await?;
        // Several users: one DescribeUsers for all of them rather than one each.
        let users = if cx.kind == USER && cx.tagged.len() > 1 {
            Some(self.all_users().await?)
        } else {
            None
        };
        let (index, users) = (&index, &users);
        let reads = cx.tagged.iter().map(|(address, arn)| async move {
            let id = arn.rsplit(':').next().unwrap_or_default();
            let live = match cx.kind {
                SUBNET_GROUP => self.read_subnet_group(address, id).await?,
                PARAMETER_GROUP => self.read_parameter_group(address, id).await?,
                USER => self.read_user(address, id, users.as_ref()).await?,
                USER_GROUP => self.read_user_group(address, id).await?,
                _ => self.read_replication_group(cx, address, id).await?,
            };
            let Some(mut live) = live else {
                return Ok::<_, anyhow::Error>(None);
            };
            // Tags come with the index entry (AWS and moto list every kind here); the resource's
            // own tags only when the index has none for it.
            let tags = match index.tags(arn) {
                Some(t) => t.clone(),
                None => match self.tags(arn).await? {
                    Some(t) => t,
                    None => return Ok(None),
                },
            };
            if owned_address(cx.stack, tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .as_deref()
                != Some(address.as_str())
            {
                return Ok(None);
            }
            let mut tags = tags;
            let version = take_secret_version(&mut tags);
            if cx.kind == USER {
                let password = password_as_read(&live, version);
                if !password.is_null() {
                    live.props.insert("password".into(), password);
                }
            }
            live.tags = tags
                .into_iter()
                .filter(|(k, _)| k != OLD_PASSWORD_TAG)
                .collect();
            live.outputs.insert("arn".into(), arn.clone());
            Ok(Some(live))
        });
        let mut out: Vec<Live> = try_join_all(reads).await?.into_iter().flatten().collect();
        out.sort_by(|a, b| (&a.address, &a.id).cmp(&(&b.address, &b.id)));
        out.dedup_by(|a, b| a.address == b.address && a.id == b.id);
        Ok(out)
    }

    async fn create(&self, r: &Resolved) -> Result<Live> {
        let live = match r.kind.as_str() {
            SUBNET_GROUP => self.create_subnet_group(r).await,
            PARAMETER_GROUP => self.create_parameter_group(r).await,
            USER => self.create_user(r).await,
            USER_GROUP => self.create_user_group(r).await,
            _ => self.create_replication_group(r).await,
        };
        live.with_context(|| format!("creating {}", r.address))
    }

    async fn update(&self, r: &Resolved, live: &Live, changed: &[String]) -> Result<Live> {
        let arn = live
            .outputs
            .get("arn")
            .cloned()
            .ok_or_else(|| anyhow!("{} has no ARN", r.address))?;
        let fields: Vec<&str> = changed
            .iter()
            .map(String::as_str)
            .filter(|f| *f != "tags")
            .collect();
        let done = async {
            if !fields.is_empty() {
                match r.kind.as_str() {
                    SUBNET_GROUP => self.update_subnet_group(r, &live.id).await?,
                    PARAMETER_GROUP => self.update_parameters(r, live).await?,
                    USER => self.update_user(r, live, &fields, &arn).await?,
                    USER_GROUP => self.update_user_group(r, live).await?,
                    _ => self.update_replication_group(r, live, &fields).await?,
                }
            }
            if changed.iter().any(|f| f == "tags") {
                // The secret's version tags are the driver's own, never user tags to remove.
                let mut have = live.tags.clone();
                have.retain(|k, _| k != TAG_SECRET_VERSION && k != OLD_PASSWORD_TAG);
                sync_tags(&self.client, &arn, &r.tags, &have).await?;
            }
            Ok::<_, anyhow::Error>(())
        };
        done.await
            .with_context(|| format!("updating {} ({})", r.address, changed.join(", ")))?;
        Ok(updated(r, live))
    }

    async fn delete(&self, live: &Live) -> Result<()> {
        let done = match live.kind.as_str() {
            SUBNET_GROUP => self.delete_subnet_group(&live.id).await,
            PARAMETER_GROUP => self.delete_parameter_group(&live.id).await,
            USER => self.delete_user(&live.id).await,
            USER_GROUP => self.delete_user_group(&live.id).await,
            _ => self.delete_replication_group(&live.id).await,
        };
        done.with_context(|| format!("deleting {} ({})", live.address, live.id))
    }
}

// --- subnet groups ---------------------------------------------------------------------------------------
