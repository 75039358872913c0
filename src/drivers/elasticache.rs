//! ElastiCache for Redis: subnet groups, parameter groups, RBAC users and user groups, replication groups.
//!
//! Everything is found through the tagging index (`cx.tagged`), with its tags, and then described by id. Replication groups
//! take minutes on AWS: create, update and delete wait with [`crate::wait::until`]. User passwords are
//! write-only: the version last written is kept in a tag (`zinfra:secret-version`); the password itself is
//! never read, logged, put in an error, or stored.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use async_trait::async_trait;
use aws_sdk_elasticache::types::{
    AuthenticationMode, AutomaticFailoverStatus, InputAuthenticationType, MultiAzStatus,
    ReplicationGroup, Tag, TransitEncryptionMode, User,
};
use futures::future::try_join_all;

use super::toolkit::{
    Driver, ReadCx, TagApi, absent_if, error_code, owned_address, sdk_error, sync_tags, unhandled,
    updated, user_tags,
};
use crate::model::{
    Live, PropsExt, Resolved, Secret, TAG_SECRET_VERSION, Tags, Value, take_secret_version,
};
use crate::wait::{self, Poll};

const SUBNET_GROUP: &str = "elasticache_subnet_group";
const PARAMETER_GROUP: &str = "elasticache_parameter_group";
const USER: &str = "elasticache_user";
const USER_GROUP: &str = "elasticache_user_group";
const REPLICATION_GROUP: &str = "elasticache_replication_group";

/// Where users written before versions kept a fingerprint of their password: still never a user tag.
const OLD_PASSWORD_TAG: &str = "zinfra:password-fingerprint";

/// Replication groups: 15-30 minutes on AWS to create, similar to delete.
const GROUP_TIMEOUT: Duration = crate::kinds::elasticache_replication_group::WAIT;
const GROUP_POLL: Duration = Duration::from_secs(30);
/// Users and user groups: seconds to a few minutes.
const RBAC_TIMEOUT: Duration = crate::kinds::elasticache_user::WAIT;
const RBAC_POLL: Duration = Duration::from_secs(5);

const RG_ABSENT: &[&str] = &["ReplicationGroupNotFoundFault"];
const USER_ABSENT: &[&str] = &["UserNotFound", "UserNotFoundFault"];
const UG_ABSENT: &[&str] = &["UserGroupNotFound", "UserGroupNotFoundFault"];
const SNG_ABSENT: &[&str] = &["CacheSubnetGroupNotFoundFault"];
const PG_ABSENT: &[&str] = &[
    "CacheParameterGroupNotFound",
    "CacheParameterGroupNotFoundFault",
];
/// ModifyCacheParameterGroup and ResetCacheParameterGroup take at most 20 parameters a call.
const PARAMETER_BATCH: usize = 20;

pub struct ElastiCache {
    client: aws_sdk_elasticache::Client,
}

impl ElastiCache {
    pub fn new(client: aws_sdk_elasticache::Client) -> ElastiCache {
        ElastiCache { client }
    }
}

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

impl ElastiCache {
    async fn read_subnet_group(&self, address: &str, name: &str) -> Result<Option<Live>> {
        let out = absent_if(
            "DescribeCacheSubnetGroups",
            self.client
                .describe_cache_subnet_groups()
                .cache_subnet_group_name(name)
                .send()
                .await,
            SNG_ABSENT,
        )?;
        let Some(g) =
            out.and_then(|o| o.cache_subnet_groups.unwrap_or_default().into_iter().next())
        else {
            return Ok(None);
        };
        let mut live = Live::new(address, SUBNET_GROUP, name);
        live.props.insert("name".into(), s(name));
        live.props.insert(
            "description".into(),
            s(g.cache_subnet_group_description().unwrap_or_default()),
        );
        live.props.insert(
            "subnets".into(),
            Value::List(
                g.subnets()
                    .iter()
                    .filter_map(|x| x.subnet_identifier())
                    .map(s)
                    .collect(),
            ),
        );
        Ok(Some(live))
    }

    async fn create_subnet_group(&self, r: &Resolved) -> Result<Live> {
        let name = r.props.str("name").context("`name` is required")?;
        let out = self
            .client
            .create_cache_subnet_group()
            .cache_subnet_group_name(name)
            .cache_subnet_group_description(
                r.props.str("description").unwrap_or("Managed by zinfra"),
            )
            .set_subnet_ids(Some(r.props.strs("subnets")))
            .set_tags(Some(tags_of(&r.tags)?))
            .send()
            .await
            .map_err(|e| sdk_error("CreateCacheSubnetGroup", e))?;
        let mut live = Live::new(&r.address, SUBNET_GROUP, name);
        if let Some(arn) = out.cache_subnet_group().and_then(|g| g.arn()) {
            live.outputs.insert("arn".into(), arn.to_owned());
        }
        live.tags = r.tags.clone();
        Ok(live)
    }

    async fn update_subnet_group(&self, r: &Resolved, name: &str) -> Result<()> {
        self.client
            .modify_cache_subnet_group()
            .cache_subnet_group_name(name)
            .set_cache_subnet_group_description(r.props.str("description").map(str::to_owned))
            .set_subnet_ids(Some(r.props.strs("subnets")))
            .send()
            .await
            .map_err(|e| sdk_error("ModifyCacheSubnetGroup", e))?;
        Ok(())
    }

    async fn delete_subnet_group(&self, name: &str) -> Result<()> {
        absent_if(
            "DeleteCacheSubnetGroup",
            self.client
                .delete_cache_subnet_group()
                .cache_subnet_group_name(name)
                .send()
                .await,
            SNG_ABSENT,
        )?;
        Ok(())
    }
}

// --- parameter groups ------------------------------------------------------------------------------------

impl ElastiCache {
    async fn read_parameter_group(&self, address: &str, name: &str) -> Result<Option<Live>> {
        let out = absent_if(
            "DescribeCacheParameterGroups",
            self.client
                .describe_cache_parameter_groups()
                .cache_parameter_group_name(name)
                .send()
                .await,
            PG_ABSENT,
        )?;
        let Some(g) = out.and_then(|o| {
            o.cache_parameter_groups
                .unwrap_or_default()
                .into_iter()
                .next()
        }) else {
            return Ok(None);
        };
        // Only the parameters set on the group (`Source = user`): the engine defaults are not the file's.
        let mut parameters = std::collections::BTreeMap::new();
        let mut marker = None;
        loop {
            let out = absent_if(
                "DescribeCacheParameters",
                self.client
                    .describe_cache_parameters()
                    .cache_parameter_group_name(name)
                    .source("user")
                    .set_marker(marker.take())
                    .send()
                    .await,
                PG_ABSENT,
            )?;
            let Some(out) = out else { return Ok(None) };
            for p in out.parameters() {
                if let (Some(k), Some(v)) = (p.parameter_name(), p.parameter_value()) {
                    parameters.insert(k.to_owned(), s(v));
                }
            }
            match out.marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_owned()),
                _ => break,
            }
        }
        let mut live = Live::new(address, PARAMETER_GROUP, name);
        live.props.insert("name".into(), s(name));
        live.props.insert(
            "family".into(),
            s(g.cache_parameter_group_family().unwrap_or_default()),
        );
        live.props
            .insert("description".into(), s(g.description().unwrap_or_default()));
        live.props
            .insert("parameters".into(), Value::Map(parameters));
        Ok(Some(live))
    }

    async fn create_parameter_group(&self, r: &Resolved) -> Result<Live> {
        let name = r.props.str("name").context("`name` is required")?;
        let out = self
            .client
            .create_cache_parameter_group()
            .cache_parameter_group_name(name)
            .cache_parameter_group_family(r.props.str("family").context("`family` is required")?)
            .description(r.props.str("description").unwrap_or("Managed by zinfra"))
            .set_tags(Some(tags_of(&r.tags)?))
            .send()
            .await
            .map_err(|e| sdk_error("CreateCacheParameterGroup", e))?;
        let mut live = Live::new(&r.address, PARAMETER_GROUP, name);
        if let Some(arn) = out.cache_parameter_group().and_then(|g| g.arn()) {
            live.outputs.insert("arn".into(), arn.to_owned());
        }
        self.set_parameters(name, &parameters_of(&r.props), &Default::default())
            .await?;
        live.tags = r.tags.clone();
        Ok(live)
    }

    async fn update_parameters(&self, r: &Resolved, live: &Live) -> Result<()> {
        self.set_parameters(
            &live.id,
            &parameters_of(&r.props),
            &parameters_of(&live.props),
        )
        .await
    }

    /// Make the group's own parameters `want`: set the new and changed ones, reset the others to the default.
    async fn set_parameters(
        &self,
        name: &str,
        want: &std::collections::BTreeMap<String, String>,
        have: &std::collections::BTreeMap<String, String>,
    ) -> Result<()> {
        use aws_sdk_elasticache::types::ParameterNameValue;
        let set: Vec<ParameterNameValue> = want
            .iter()
            .filter(|(k, v)| have.get(*k) != Some(*v))
            .map(|(k, v)| {
                ParameterNameValue::builder()
                    .parameter_name(k)
                    .parameter_value(v)
                    .build()
            })
            .collect();
        for batch in set.chunks(PARAMETER_BATCH) {
            self.client
                .modify_cache_parameter_group()
                .cache_parameter_group_name(name)
                .set_parameter_name_values(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| sdk_error("ModifyCacheParameterGroup", e))?;
        }
        let reset: Vec<ParameterNameValue> = have
            .keys()
            .filter(|k| !want.contains_key(*k))
            .map(|k| ParameterNameValue::builder().parameter_name(k).build())
            .collect();
        for batch in reset.chunks(PARAMETER_BATCH) {
            self.client
                .reset_cache_parameter_group()
                .cache_parameter_group_name(name)
                .set_parameter_name_values(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| sdk_error("ResetCacheParameterGroup", e))?;
        }
        Ok(())
    }

    async fn delete_parameter_group(&self, name: &str) -> Result<()> {
        absent_if(
            "DeleteCacheParameterGroup",
            self.client
                .delete_cache_parameter_group()
                .cache_parameter_group_name(name)
                .send()
                .await,
            PG_ABSENT,
        )?;
        Ok(())
    }
}

fn parameters_of(props: &crate::model::Props) -> std::collections::BTreeMap<String, String> {
    props
        .get("parameters")
        .and_then(Value::as_map)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

// --- users -----------------------------------------------------------------------------------------------

impl ElastiCache {
    /// Every user of the account by id: DescribeUsers, paginated.
    async fn all_users(&self) -> Result<BTreeMap<String, User>> {
        let pages = self
            .client
            .describe_users()
            .into_paginator()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| sdk_error("DescribeUsers", e))?;
        Ok(pages
            .into_iter()
            .flat_map(|p| p.users.unwrap_or_default())
            .filter_map(|u| Some((u.user_id()?.to_owned(), u)))
            .collect())
    }

    /// The user, from `all` when the account's users were listed, else DescribeUsers for it alone.
    async fn read_user(
        &self,
        address: &str,
        id: &str,
        all: Option<&BTreeMap<String, User>>,
    ) -> Result<Option<Live>> {
        let u = match all {
            Some(all) => all.get(id).cloned(),
            None => absent_if(
                "DescribeUsers",
                self.client.describe_users().user_id(id).send().await,
                USER_ABSENT,
            )?
            .and_then(|o| o.users.unwrap_or_default().into_iter().next()),
        };
        let Some(u) = u else {
            return Ok(None);
        };
        if u.status() == Some("deleting") {
            return Ok(None);
        }
        let mut live = Live::new(address, USER, id);
        live.props.insert("user_id".into(), s(id));
        live.props
            .insert("user_name".into(), s(u.user_name().unwrap_or_default()));
        live.props
            .insert("engine".into(), s(u.engine().unwrap_or("redis")));
        live.props.insert(
            "access_string".into(),
            s(u.access_string().unwrap_or_default()),
        );
        let auth = u
            .authentication()
            .and_then(|a| a.r#type())
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default();
        live.props.insert("authentication".into(), Value::Str(auth));
        Ok(Some(live))
    }

    async fn create_user(&self, r: &Resolved) -> Result<Live> {
        let id = r.props.str("user_id").context("`user_id` is required")?;
        let mut tags = r.tags.clone();
        let password = r.props.secret("password");
        if let Some(Value::Secret(s)) = r.props.get("password") {
            tags.insert(TAG_SECRET_VERSION.into(), s.version.to_string());
        }
        let res = self
            .client
            .create_user()
            .user_id(id)
            .user_name(
                r.props
                    .str("user_name")
                    .context("`user_name` is required")?,
            )
            .engine(r.props.str("engine").unwrap_or("redis"))
            .access_string(
                r.props
                    .str("access_string")
                    .context("`access_string` is required")?,
            )
            .authentication_mode(auth_mode(r)?)
            .set_tags(Some(tags_of(&tags)?))
            .send()
            .await;
        let out = res.map_err(|e| redacted(sdk_error("CreateUser", e), password))?;
        self.wait_user(id).await?;
        let mut live = Live::new(&r.address, USER, id);
        if let Some(arn) = out.arn() {
            live.outputs.insert("arn".into(), arn.to_owned());
        }
        live.tags = r.tags.clone();
        Ok(live)
    }

    async fn update_user(
        &self,
        r: &Resolved,
        live: &Live,
        fields: &[&str],
        arn: &str,
    ) -> Result<()> {
        let mut req = self.client.modify_user().user_id(&live.id);
        if fields.contains(&"access_string") {
            req = req.set_access_string(r.props.str("access_string").map(str::to_owned));
        }
        let password = r.props.secret("password");
        let auth = fields.contains(&"authentication") || fields.contains(&"password");
        if auth {
            req = req.authentication_mode(auth_mode(r)?);
        }
        req.send()
            .await
            .map_err(|e| redacted(sdk_error("ModifyUser", e), password))?;
        if auth {
            match r.props.get("password") {
                Some(Value::Secret(s)) => {
                    self.client
                        .tag(arn, vec![(TAG_SECRET_VERSION, &s.version.to_string())])
                        .await?
                }
                // No password any more (IAM): drop the version; AWS answers TagNotFound when there was none.
                _ => {
                    absent_if(
                        "RemoveTagsFromResource",
                        self.client
                            .remove_tags_from_resource()
                            .resource_name(arn)
                            .tag_keys(TAG_SECRET_VERSION)
                            .send()
                            .await,
                        &["TagNotFound", "TagNotFoundFault"],
                    )?;
                }
            }
        }
        self.wait_user(&live.id).await
    }

    /// Until the user is `active` (AWS refuses changes to a user being created or modified).
    async fn wait_user(&self, id: &str) -> Result<()> {
        wait::until("user", RBAC_TIMEOUT, RBAC_POLL, || async {
            let out = self
                .client
                .describe_users()
                .user_id(id)
                .send()
                .await
                .map_err(|e| sdk_error("DescribeUsers", e))?;
            let status = out
                .users()
                .first()
                .and_then(|u| u.status())
                .unwrap_or("unknown")
                .to_owned();
            Ok(if status == "active" {
                Poll::Ready(())
            } else {
                Poll::Pending(status)
            })
        })
        .await
    }

    async fn delete_user(&self, id: &str) -> Result<()> {
        if absent_if(
            "DeleteUser",
            self.client.delete_user().user_id(id).send().await,
            USER_ABSENT,
        )?
        .is_none()
        {
            return Ok(());
        }
        // Gone before a replacement may reuse the id.
        wait::until("user deletion", RBAC_TIMEOUT, RBAC_POLL, || async {
            let out = absent_if(
                "DescribeUsers",
                self.client.describe_users().user_id(id).send().await,
                USER_ABSENT,
            )?;
            Ok(
                match out.and_then(|o| o.users.unwrap_or_default().into_iter().next()) {
                    None => Poll::Ready(()),
                    Some(u) => Poll::Pending(u.status().unwrap_or("deleting").to_owned()),
                },
            )
        })
        .await
    }
}

/// How a user authenticates, as CreateUser/ModifyUser take it.
fn auth_mode(r: &Resolved) -> Result<AuthenticationMode> {
    Ok(match r.props.str("authentication") {
        Some("iam") => AuthenticationMode::builder()
            .r#type(InputAuthenticationType::Iam)
            .build(),
        _ => AuthenticationMode::builder()
            .r#type(InputAuthenticationType::Password)
            .passwords(
                r.props
                    .secret("password")
                    .context("a password user needs `password_from_env`")?,
            )
            .build(),
    })
}

/// The password as read: AWS never returns it, so it reads as the version last written.
fn password_as_read(live: &Live, version: i64) -> Value {
    if live.props.str("authentication") != Some("password") {
        return Value::Null;
    }
    Value::Secret(Secret::as_read(version))
}

/// An error with the secret blanked out, should AWS ever quote it.
fn redacted(err: anyhow::Error, secret: Option<&str>) -> anyhow::Error {
    match secret {
        Some(s) => crate::provider::redact(err, s),
        None => err,
    }
}

// --- user groups -----------------------------------------------------------------------------------------

impl ElastiCache {
    async fn read_user_group(&self, address: &str, id: &str) -> Result<Option<Live>> {
        let out = absent_if(
            "DescribeUserGroups",
            self.client
                .describe_user_groups()
                .user_group_id(id)
                .send()
                .await,
            UG_ABSENT,
        )?;
        let Some(g) = out.and_then(|o| o.user_groups.unwrap_or_default().into_iter().next()) else {
            return Ok(None);
        };
        if g.status() == Some("deleting") {
            return Ok(None);
        }
        let mut live = Live::new(address, USER_GROUP, id);
        live.props.insert("user_group_id".into(), s(id));
        live.props
            .insert("engine".into(), s(g.engine().unwrap_or("redis")));
        live.props.insert(
            "users".into(),
            Value::List(g.user_ids().iter().map(|u| s(u)).collect()),
        );
        Ok(Some(live))
    }

    async fn create_user_group(&self, r: &Resolved) -> Result<Live> {
        let id = r
            .props
            .str("user_group_id")
            .context("`user_group_id` is required")?;
        let out = self
            .client
            .create_user_group()
            .user_group_id(id)
            .engine(r.props.str("engine").unwrap_or("redis"))
            .set_user_ids(Some(r.props.strs("users")))
            .set_tags(Some(tags_of(&r.tags)?))
            .send()
            .await
            .map_err(|e| sdk_error("CreateUserGroup", e))?;
        self.wait_user_group(id).await?;
        let mut live = Live::new(&r.address, USER_GROUP, id);
        if let Some(arn) = out.arn() {
            live.outputs.insert("arn".into(), arn.to_owned());
        }
        live.tags = r.tags.clone();
        Ok(live)
    }

    async fn update_user_group(&self, r: &Resolved, live: &Live) -> Result<()> {
        let want = r.props.strs("users");
        let have = live.props.strs("users");
        let add: Vec<String> = want.iter().filter(|u| !have.contains(u)).cloned().collect();
        let remove: Vec<String> = have.iter().filter(|u| !want.contains(u)).cloned().collect();
        if add.is_empty() && remove.is_empty() {
            return Ok(());
        }
        self.wait_user_group(&live.id).await?;
        self.client
            .modify_user_group()
            .user_group_id(&live.id)
            .set_user_ids_to_add((!add.is_empty()).then_some(add))
            .set_user_ids_to_remove((!remove.is_empty()).then_some(remove))
            .send()
            .await
            .map_err(|e| sdk_error("ModifyUserGroup", e))?;
        self.wait_user_group(&live.id).await
    }

    async fn wait_user_group(&self, id: &str) -> Result<()> {
        wait::until(
            "user group",
            crate::kinds::elasticache_user_group::WAIT,
            RBAC_POLL,
            || async {
                let out = self
                    .client
                    .describe_user_groups()
                    .user_group_id(id)
                    .send()
                    .await
                    .map_err(|e| sdk_error("DescribeUserGroups", e))?;
                let status = out
                    .user_groups()
                    .first()
                    .and_then(|g| g.status())
                    .unwrap_or("unknown")
                    .to_owned();
                Ok(if status == "active" {
                    Poll::Ready(())
                } else {
                    Poll::Pending(status)
                })
            },
        )
        .await
    }

    async fn delete_user_group(&self, id: &str) -> Result<()> {
        if absent_if(
            "DeleteUserGroup",
            self.client
                .delete_user_group()
                .user_group_id(id)
                .send()
                .await,
            UG_ABSENT,
        )?
        .is_none()
        {
            return Ok(());
        }
        wait::until(
            "user group deletion",
            crate::kinds::elasticache_user_group::WAIT,
            RBAC_POLL,
            || async {
                let out = absent_if(
                    "DescribeUserGroups",
                    self.client
                        .describe_user_groups()
                        .user_group_id(id)
                        .send()
                        .await,
                    UG_ABSENT,
                )?;
                Ok(
                    match out.and_then(|o| o.user_groups.unwrap_or_default().into_iter().next()) {
                        None => Poll::Ready(()),
                        Some(g) => Poll::Pending(g.status().unwrap_or("deleting").to_owned()),
                    },
                )
            },
        )
        .await
    }
}

// --- replication groups ----------------------------------------------------------------------------------

impl ElastiCache {
    async fn describe_group(&self, id: &str) -> Result<Option<ReplicationGroup>> {
        let out = absent_if(
            "DescribeReplicationGroups",
            self.client
                .describe_replication_groups()
                .replication_group_id(id)
                .send()
                .await,
            RG_ABSENT,
        )?;
        Ok(out.and_then(|o| o.replication_groups.unwrap_or_default().into_iter().next()))
    }

    async fn read_replication_group(
        &self,
        cx: &ReadCx<'_>,
        address: &str,
        id: &str,
    ) -> Result<Option<Live>> {
        let Some(g) = self.describe_group(id).await? else {
            return Ok(None);
        };
        if matches!(g.status(), Some("deleting" | "deleted")) {
            return Ok(None);
        }
        let mut live = Live::new(address, REPLICATION_GROUP, id);
        let p = &mut live.props;
        p.insert("replication_group_id".into(), s(id));
        p.insert("description".into(), s(g.description().unwrap_or_default()));
        p.insert("engine".into(), s(g.engine().unwrap_or("redis")));
        p.insert(
            "node_type".into(),
            s(g.cache_node_type().unwrap_or_default()),
        );
        let node_group = g.node_groups().first();
        let members = node_group
            .map(|n| n.node_group_members().len())
            .unwrap_or(0);
        p.insert(
            "replicas".into(),
            Value::Int(members.saturating_sub(1) as i64),
        );
        p.insert(
            "at_rest_encryption".into(),
            Value::Bool(g.at_rest_encryption_enabled().unwrap_or(false)),
        );
        if let Some(k) = g.kms_key_id() {
            p.insert("kms_key".into(), s(k));
        }
        p.insert(
            "transit_encryption".into(),
            Value::Bool(g.transit_encryption_enabled().unwrap_or(false)),
        );
        if let Some(m) = g.transit_encryption_mode() {
            p.insert("transit_encryption_mode".into(), s(m.as_str()));
        }
        p.insert(
            "automatic_failover".into(),
            Value::Bool(matches!(
                g.automatic_failover(),
                Some(AutomaticFailoverStatus::Enabled | AutomaticFailoverStatus::Enabling)
            )),
        );
        p.insert(
            "multi_az".into(),
            Value::Bool(g.multi_az() == Some(&MultiAzStatus::Enabled)),
        );
        p.insert(
            "user_group".into(),
            g.user_group_ids()
                .first()
                .map(|u| s(u))
                .unwrap_or(Value::Null),
        );
        p.insert(
            "snapshot_retention_limit".into(),
            Value::Int(g.snapshot_retention_limit().unwrap_or(0) as i64),
        );
        if let Some(w) = g.snapshot_window() {
            p.insert("snapshot_window".into(), s(w));
        }
        // Security groups, subnet group, engine version and maintenance window are the member clusters'.
        let primary = node_group
            .and_then(|n| {
                n.node_group_members()
                    .iter()
                    .find(|m| m.current_role() == Some("primary"))
                    .or(n.node_group_members().first())
            })
            .and_then(|m| m.cache_cluster_id())
            .or(g.member_clusters().first().map(String::as_str));
        if let Some(cluster_id) = primary {
            let out = absent_if(
                "DescribeCacheClusters",
                self.client
                    .describe_cache_clusters()
                    .cache_cluster_id(cluster_id)
                    .send()
                    .await,
                &["CacheClusterNotFound", "CacheClusterNotFoundFault"],
            )?;
            if let Some(c) =
                out.and_then(|o| o.cache_clusters.unwrap_or_default().into_iter().next())
            {
                let want_version = cx
                    .desired
                    .iter()
                    .find(|d| d.address == address)
                    .and_then(|d| d.props.get("engine_version"))
                    .and_then(Value::as_str);
                p.insert(
                    "engine_version".into(),
                    s(&engine_version(
                        c.engine_version().unwrap_or_default(),
                        want_version,
                    )),
                );
                p.insert(
                    "security_groups".into(),
                    Value::List(
                        c.security_groups()
                            .iter()
                            .filter_map(|m| m.security_group_id())
                            .map(s)
                            .collect(),
                    ),
                );
                if let Some(sg) = c.cache_subnet_group_name() {
                    p.insert("subnet_group".into(), s(sg));
                }
                if let Some(w) = c.preferred_maintenance_window() {
                    p.insert("maintenance_window".into(), s(w));
                }
                if let Some(pg) = c
                    .cache_parameter_group()
                    .and_then(|g| g.cache_parameter_group_name())
                {
                    p.insert("parameter_group".into(), s(pg));
                }
            }
        }
        if let Some(e) = node_group
            .and_then(|n| n.primary_endpoint())
            .and_then(|e| e.address())
        {
            live.outputs.insert("primary_endpoint".into(), e.to_owned());
        }
        if let Some(e) = node_group
            .and_then(|n| n.reader_endpoint())
            .and_then(|e| e.address())
        {
            live.outputs.insert("reader_endpoint".into(), e.to_owned());
        }
        Ok(Some(live))
    }

    async fn create_replication_group(&self, r: &Resolved) -> Result<Live> {
        let p = &r.props;
        let id = p
            .str("replication_group_id")
            .context("`replication_group_id` is required")?;
        let replicas = p.int("replicas").unwrap_or(0);
        let res = self
            .client
            .create_replication_group()
            .replication_group_id(id)
            .replication_group_description(p.str("description").unwrap_or("Managed by zinfra"))
            .engine(p.str("engine").unwrap_or("redis"))
            .set_engine_version(p.str("engine_version").map(str::to_owned))
            .set_cache_node_type(p.str("node_type").map(str::to_owned))
            .num_cache_clusters((replicas + 1) as i32)
            .set_cache_subnet_group_name(p.str("subnet_group").map(str::to_owned))
            .set_security_group_ids(Some(p.strs("security_groups")))
            .at_rest_encryption_enabled(p.bool_or("at_rest_encryption", true))
            .set_kms_key_id(p.str("kms_key").map(str::to_owned))
            .transit_encryption_enabled(p.bool_or("transit_encryption", true))
            .transit_encryption_mode(TransitEncryptionMode::from(
                p.str("transit_encryption_mode").unwrap_or("required"),
            ))
            .automatic_failover_enabled(p.bool_or("automatic_failover", false))
            .multi_az_enabled(p.bool_or("multi_az", false))
            .set_user_group_ids(p.str("user_group").map(|u| vec![u.to_owned()]))
            .snapshot_retention_limit(p.int("snapshot_retention_limit").unwrap_or(0) as i32)
            .set_snapshot_window(p.str("snapshot_window").map(str::to_owned))
            .set_preferred_maintenance_window(p.str("maintenance_window").map(str::to_owned))
            .set_cache_parameter_group_name(p.str("parameter_group").map(str::to_owned))
            .set_tags(Some(tags_of(&r.tags)?))
            .send()
            .await;
        match res {
            Ok(_) => {}
            // A create whose reply was lost: adopt the group only if it is this resource's.
            Err(e) if error_code(&e) == Some("ReplicationGroupAlreadyExists") => {
                let ours = match self
                    .describe_group(id)
                    .await?
                    .and_then(|g| g.arn().map(str::to_owned))
                {
                    Some(arn) => self.tags(&arn).await?.is_some_and(|t| t == r.tags),
                    None => false,
                };
                if !ours {
                    return Err(sdk_error("CreateReplicationGroup", e));
                }
            }
            Err(e) => return Err(sdk_error("CreateReplicationGroup", e)),
        }
        let g = self.wait_group(id).await?;
        let mut live = Live::new(&r.address, REPLICATION_GROUP, id);
        if let Some(arn) = g.arn() {
            live.outputs.insert("arn".into(), arn.to_owned());
        }
        let node_group = g.node_groups().first();
        if let Some(e) = node_group
            .and_then(|n| n.primary_endpoint())
            .and_then(|e| e.address())
        {
            live.outputs.insert("primary_endpoint".into(), e.to_owned());
        }
        if let Some(e) = node_group
            .and_then(|n| n.reader_endpoint())
            .and_then(|e| e.address())
        {
            live.outputs.insert("reader_endpoint".into(), e.to_owned());
        }
        live.tags = r.tags.clone();
        Ok(live)
    }

    /// Until the group is `available`, reporting its state; the resource's `timeout` bounds it.
    async fn wait_group(&self, id: &str) -> Result<ReplicationGroup> {
        wait::until("replication group", GROUP_TIMEOUT, GROUP_POLL, || async {
            let g = self
                .describe_group(id)
                .await?
                .ok_or_else(|| anyhow!("replication group {id} disappeared"))?;
            Ok(match g.status() {
                Some("available") => Poll::Ready(g),
                Some("create-failed") => {
                    return Err(anyhow!("replication group {id}: create-failed"));
                }
                other => Poll::Pending(other.unwrap_or("unknown").to_owned()),
            })
        })
        .await
    }

    async fn update_replication_group(
        &self,
        r: &Resolved,
        live: &Live,
        fields: &[&str],
    ) -> Result<()> {
        let id = live.id.as_str();
        let p = &r.props;
        // A group left `creating` or `modifying` by an earlier run takes no changes until it is available.
        self.wait_group(id).await?;
        let want = p.int("replicas").unwrap_or(0);
        let have = live.props.int("replicas").unwrap_or(0);
        let resize = fields.contains(&"replicas") && want != have;
        // Add replicas before failover is switched on; remove them after it is switched off.
        if resize && want > have {
            self.client
                .increase_replica_count()
                .replication_group_id(id)
                .new_replica_count(want as i32)
                .apply_immediately(true)
                .send()
                .await
                .map_err(|e| sdk_error("IncreaseReplicaCount", e))?;
            self.wait_group(id).await?;
        }
        let modify: Vec<&str> = fields
            .iter()
            .copied()
            .filter(|f| *f != "replicas")
            .collect();
        if !modify.is_empty() {
            let mut req = self
                .client
                .modify_replication_group()
                .replication_group_id(id)
                .apply_immediately(true);
            for f in &modify {
                req = match *f {
                    "description" => req
                        .set_replication_group_description(p.str("description").map(str::to_owned)),
                    "node_type" => req.set_cache_node_type(p.str("node_type").map(str::to_owned)),
                    "engine_version" => {
                        req.set_engine_version(p.str("engine_version").map(str::to_owned))
                    }
                    "security_groups" => {
                        req.set_security_group_ids(Some(p.strs("security_groups")))
                    }
                    "automatic_failover" => {
                        req.automatic_failover_enabled(p.bool_or("automatic_failover", false))
                    }
                    "multi_az" => req.multi_az_enabled(p.bool_or("multi_az", false)),
                    "user_group" => {
                        let old = live.props.str("user_group").map(|u| vec![u.to_owned()]);
                        let new = p.str("user_group").map(|u| vec![u.to_owned()]);
                        req.set_user_group_ids_to_add(new)
                            .set_user_group_ids_to_remove(old)
                    }
                    "snapshot_retention_limit" => req.snapshot_retention_limit(
                        p.int("snapshot_retention_limit").unwrap_or(0) as i32,
                    ),
                    "snapshot_window" => {
                        req.set_snapshot_window(p.str("snapshot_window").map(str::to_owned))
                    }
                    "parameter_group" => req.set_cache_parameter_group_name(
                        p.str("parameter_group").map(str::to_owned),
                    ),
                    "maintenance_window" => req.set_preferred_maintenance_window(
                        p.str("maintenance_window").map(str::to_owned),
                    ),
                    "transit_encryption" | "transit_encryption_mode" => req
                        .transit_encryption_enabled(p.bool_or("transit_encryption", true))
                        .transit_encryption_mode(TransitEncryptionMode::from(
                            p.str("transit_encryption_mode").unwrap_or("required"),
                        )),
                    other => {
                        return Err(unhandled("elasticache_replication_group", other));
                    }
                };
            }
            req.send()
                .await
                .map_err(|e| sdk_error("ModifyReplicationGroup", e))?;
            self.wait_group(id).await?;
        }
        if resize && want < have {
            self.client
                .decrease_replica_count()
                .replication_group_id(id)
                .new_replica_count(want as i32)
                .apply_immediately(true)
                .send()
                .await
                .map_err(|e| sdk_error("DecreaseReplicaCount", e))?;
            self.wait_group(id).await?;
        }
        Ok(())
    }

    async fn delete_replication_group(&self, id: &str) -> Result<()> {
        match self
            .client
            .delete_replication_group()
            .replication_group_id(id)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if error_code(&e).is_some_and(|c| RG_ABSENT.contains(&c)) => return Ok(()),
            // Already being deleted (an earlier run timed out): wait for it below.
            Err(e)
                if error_code(&e) == Some("InvalidReplicationGroupState")
                    && self
                        .describe_group(id)
                        .await?
                        .is_some_and(|g| g.status() == Some("deleting")) => {}
            Err(e) => return Err(sdk_error("DeleteReplicationGroup", e)),
        }
        // Gone before its subnet group, user group and security groups can go.
        wait::until(
            "replication group deletion",
            GROUP_TIMEOUT,
            GROUP_POLL,
            || async {
                Ok(match self.describe_group(id).await? {
                    None => Poll::Ready(()),
                    Some(g) => Poll::Pending(g.status().unwrap_or("deleting").to_owned()),
                })
            },
        )
        .await
    }
}

/// AWS reports `7.1.0` for a group created as `7.1`: read it as the file wrote it when they agree.
fn engine_version(live: &str, want: Option<&str>) -> String {
    match want {
        Some(w)
            if live
                .strip_prefix(w)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.')) =>
        {
            w.to_owned()
        }
        _ => live.to_owned(),
    }
}

// --- tags ------------------------------------------------------------------------------------------------

impl ElastiCache {
    /// The resource's tags (`aws:` ones left out), or `None` when it no longer exists.
    async fn tags(&self, arn: &str) -> Result<Option<Tags>> {
        let out = absent_if(
            "ListTagsForResource",
            self.client
                .list_tags_for_resource()
                .resource_name(arn)
                .send()
                .await,
            &[
                "CacheSubnetGroupNotFoundFault",
                "CacheParameterGroupNotFound",
                "CacheParameterGroupNotFoundFault",
                "ReplicationGroupNotFoundFault",
                "UserNotFound",
                "UserNotFoundFault",
                "UserGroupNotFound",
                "UserGroupNotFoundFault",
                "InvalidARN",
            ],
        )?;
        Ok(out.map(|o| {
            user_tags(
                o.tag_list()
                    .iter()
                    .filter_map(|t| Some((t.key()?, t.value()?))),
            )
        }))
    }
}

fn tags_of(tags: &Tags) -> Result<Vec<Tag>> {
    Ok(tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect())
}

fn s(v: &str) -> Value {
    Value::Str(v.to_owned())
}

#[async_trait]
impl TagApi for aws_sdk_elasticache::Client {
    async fn tag(&self, id: &str, set: Vec<(&str, &str)>) -> Result<()> {
        self.add_tags_to_resource()
            .resource_name(id)
            .set_tags(Some(
                set.into_iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect(),
            ))
            .send()
            .await
            .map_err(|e| sdk_error("AddTagsToResource", e))?;
        Ok(())
    }

    async fn untag(&self, id: &str, keys: Vec<String>, _have: &Tags) -> Result<()> {
        self.remove_tags_from_resource()
            .resource_name(id)
            .set_tag_keys(Some(keys))
            .send()
            .await
            .map_err(|e| sdk_error("RemoveTagsFromResource", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_versions_read_as_written() {
        assert_eq!(engine_version("7.1.0", Some("7.1")), "7.1");
        assert_eq!(engine_version("7.1", Some("7.1")), "7.1");
        assert_eq!(engine_version("7.10.0", Some("7.1")), "7.10.0");
        assert_eq!(engine_version("7.1.0", Some("6.2")), "7.1.0");
        assert_eq!(engine_version("7.1.0", None), "7.1.0");
    }
}
