//! Replication groups: create, change and delete, waiting for `available`.

use anyhow::{Context, Result, anyhow};
use aws_sdk_elasticache::types::{
    AutomaticFailoverStatus, MultiAzStatus, ReplicationGroup, TransitEncryptionMode,
};

use crate::drivers::toolkit::{ReadCx, absent_if, error_code, sdk_error, unhandled};
use crate::model::{Live, PropsExt, Resolved, Value};
use crate::wait::{self, Poll};

use super::common::*;

impl ElastiCache {
    pub(super) async fn describe_group(&self, id: &str) -> Result<Option<ReplicationGroup>> {
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

    pub(super) async fn read_replication_group(
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
        endpoint_outputs(&mut live, node_group);
        Ok(Some(live))
    }

    pub(super) async fn create_replication_group(&self, r: &Resolved) -> Result<Live> {
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
        endpoint_outputs(&mut live, node_group);
        live.tags = r.tags.clone();
        Ok(live)
    }

    /// Until the group is `available`, reporting its state; the resource's `timeout` bounds it.
    pub(super) async fn wait_group(&self, id: &str) -> Result<ReplicationGroup> {
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

    pub(super) async fn update_replication_group(
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

    pub(super) async fn delete_replication_group(&self, id: &str) -> Result<()> {
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
pub(super) fn engine_version(live: &str, want: Option<&str>) -> String {
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

/// The group's endpoints as outputs: host names clients connect to with TLS.
fn endpoint_outputs(live: &mut Live, node_group: Option<&aws_sdk_elasticache::types::NodeGroup>) {
    let primary = node_group.and_then(|n| n.primary_endpoint()?.address());
    let reader = node_group.and_then(|n| n.reader_endpoint()?.address());
    for (name, host) in [("primary_endpoint", primary), ("reader_endpoint", reader)] {
        if let Some(h) = host {
            live.outputs.insert(name.into(), h.to_owned());
        }
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
