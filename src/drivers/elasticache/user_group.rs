//! RBAC user groups.

use anyhow::{Context, Result};

use crate::drivers::toolkit::{absent_if, sdk_error};
use crate::model::{Live, PropsExt, Resolved, Value};
use crate::wait::{self, Poll};

use super::common::*;

impl ElastiCache {
    /// The user group, if it exists.
    pub(super) async fn describe_user_group(
        &self,
        id: &str,
    ) -> Result<Option<aws_sdk_elasticache::types::UserGroup>> {
        let res = self
            .client
            .describe_user_groups()
            .user_group_id(id)
            .send()
            .await;
        Ok(absent_if("DescribeUserGroups", res, UG_ABSENT)?
            .and_then(|o| o.user_groups.unwrap_or_default().into_iter().next()))
    }

    pub(super) async fn read_user_group(&self, address: &str, id: &str) -> Result<Option<Live>> {
        let out = self.describe_user_group(id).await?;
        let Some(g) = out else {
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

    pub(super) async fn create_user_group(&self, r: &Resolved) -> Result<Live> {
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

    pub(super) async fn update_user_group(&self, r: &Resolved, live: &Live) -> Result<()> {
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

    pub(super) async fn wait_user_group(&self, id: &str) -> Result<()> {
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

    pub(super) async fn delete_user_group(&self, id: &str) -> Result<()> {
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
                let out = self.describe_user_group(id).await?;
                Ok(match out {
                    None => Poll::Ready(()),
                    Some(g) => Poll::Pending(g.status().unwrap_or("deleting").to_owned()),
                })
            },
        )
        .await
    }
}

// --- replication groups ----------------------------------------------------------------------------------
