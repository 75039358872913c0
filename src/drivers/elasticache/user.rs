//! RBAC users: access strings, passwords (write-only, by version) or IAM authentication.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use aws_sdk_elasticache::types::{AuthenticationMode, InputAuthenticationType, User};

use crate::drivers::toolkit::{AllItems, TagApi, absent_if, sdk_error};
use crate::model::{Live, PropsExt, Resolved, Secret, TAG_SECRET_VERSION, Value};
use crate::wait::{self, Poll};

use super::common::*;

impl ElastiCache {
    /// Every user of the account by id: DescribeUsers, paginated.
    pub(super) async fn all_users(&self) -> Result<BTreeMap<String, User>> {
        let pages = self
            .client
            .describe_users()
            .into_paginator()
            .send()
            .all("DescribeUsers")
            .await?;
        Ok(pages
            .into_iter()
            .flat_map(|p| p.users.unwrap_or_default())
            .filter_map(|u| Some((u.user_id()?.to_owned(), u)))
            .collect())
    }

    /// The user, from `all` when the account's users were listed, else DescribeUsers for it alone.
    pub(super) async fn read_user(
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

    pub(super) async fn create_user(&self, r: &Resolved) -> Result<Live> {
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

    pub(super) async fn update_user(
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
    pub(super) async fn wait_user(&self, id: &str) -> Result<()> {
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

    pub(super) async fn delete_user(&self, id: &str) -> Result<()> {
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
pub(super) fn auth_mode(r: &Resolved) -> Result<AuthenticationMode> {
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
pub(super) fn password_as_read(live: &Live, version: i64) -> Value {
    if live.props.str("authentication") != Some("password") {
        return Value::Null;
    }
    Value::Secret(Secret::as_read(version))
}

/// An error with the secret blanked out, should AWS ever quote it.
pub(super) fn redacted(err: anyhow::Error, secret: Option<&str>) -> anyhow::Error {
    match secret {
        Some(s) => crate::provider::redact(err, s),
        None => err,
    }
}

// --- user groups -----------------------------------------------------------------------------------------
