//! Amazon MSK: provisioned Kafka clusters, created with the v1 `CreateCluster` API (its encryption and
//! authentication settings are the ones `DescribeCluster` reports back).
//!
//! Clusters take 15-30 minutes to create or resize. Create and every in-place change wait for `ACTIVE`
//! (`crate::wait::until`, default 60 minutes or the resource's `timeout`); a read that finds a cluster still
//! `CREATING`/`UPDATING` (an apply that timed out) waits for it too, so a re-run picks it up instead of
//! creating a second one. The bootstrap broker string for SASL/IAM is the output
//! `bootstrap_brokers_sasl_iam`; with `publish_bootstrap_brokers_to` the driver also writes it to that SSM
//! parameter (string fields cannot reference outputs, so the cluster publishes it itself). The parameter's
//! name is kept in the cluster tag `zinfra:bootstrap-parameter`, so read and delete find it.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use async_trait::async_trait;
use aws_sdk_kafka::types::{
    BrokerEbsVolumeInfo, BrokerNodeGroupInfo, ClientAuthentication, ClientBroker, ClusterInfo,
    ClusterState, EbsStorageInfo, EncryptionAtRest, EncryptionInTransit, EncryptionInfo,
    EnhancedMonitoring, Iam, Sasl, StorageInfo, Unauthenticated,
};
use futures::future::try_join_all;

use super::toolkit::{
    AllItems, Driver, ReadCx, absent_if, error_code, owned_address, sdk_error, string_map,
    sync_tags, tag_pairs, unhandled, user_tags,
};
use crate::model::{Live, PropsExt, Resolved, Value};
use crate::wait::Poll;

const TIMEOUT: Duration = crate::kinds::msk_cluster::WAIT;
/// Where the bootstrap string is published; kept out of `Live.tags` so it never shows as tag drift.
const TAG_PUBLISH: &str = "zinfra:bootstrap-parameter";
const POLL: Duration = Duration::from_secs(30);

pub struct Kafka {
    client: aws_sdk_kafka::Client,
    ssm: aws_sdk_ssm::Client,
}

impl Kafka {
    pub fn new(client: aws_sdk_kafka::Client, ssm: aws_sdk_ssm::Client) -> Kafka {
        Kafka { client, ssm }
    }

    /// Writes the bootstrap string to `name` and records the name on the cluster. The parameter carries
    /// the stack's tag and `zinfra:parent` (the cluster's address), not `zinfra:address`: it belongs to
    /// the cluster, which finds it through its own tag. It is created with its tags in one call; an
    /// existing parameter is overwritten only when those tags say it is this cluster's.
    async fn publish(&self, r: &Resolved, arn: &str, name: &str, brokers: &str) -> Result<()> {
        let stack = r
            .tags
            .get(crate::model::TAG_STACK)
            .cloned()
            .unwrap_or_default();
        let tags = vec![
            aws_sdk_ssm::types::Tag::builder()
                .key(crate::model::TAG_STACK)
                .value(&stack)
                .build()?,
            aws_sdk_ssm::types::Tag::builder()
                .key("zinfra:parent")
                .value(&r.address)
                .build()?,
        ];
        let put = || {
            self.ssm
                .put_parameter()
                .name(name)
                .value(brokers)
                .r#type(aws_sdk_ssm::types::ParameterType::String)
        };
        match put().set_tags(Some(tags)).send().await {
            Ok(_) => {}
            Err(e) if error_code(&e) == Some("ParameterAlreadyExists") => {
                let tags = self
                    .ssm
                    .list_tags_for_resource()
                    .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
                    .resource_id(name)
                    .send()
                    .await
                    .map_err(|e| sdk_error("ListTagsForResource", e))?;
                let tag = |k: &str| {
                    tags.tag_list()
                        .iter()
                        .find(|t| t.key() == k)
                        .map(|t| t.value().to_owned())
                };
                if tag(crate::model::TAG_STACK).as_deref() != Some(stack.as_str())
                    || tag("zinfra:parent").as_deref() != Some(r.address.as_str())
                {
                    bail!(
                        "SSM parameter {name} already exists and is not this cluster's (it is not tagged zinfra:stack = {stack}, zinfra:parent = {}): zinfra does not overwrite it. Publish to another name, or hand it over by adding those two tags.",
                        r.address
                    );
                }
                // PutParameter cannot tag while it overwrites: the tags are already there.
                put()
                    .overwrite(true)
                    .send()
                    .await
                    .map_err(|e| sdk_error("PutParameter", e))
                    .with_context(|| format!("publishing the bootstrap brokers to {name}"))?;
            }
            Err(e) => {
                return Err(sdk_error("PutParameter", e))
                    .with_context(|| format!("publishing the bootstrap brokers to {name}"));
            }
        }
        self.client
            .tag_resource()
            .resource_arn(arn)
            .tags(TAG_PUBLISH, name)
            .send()
            .await
            .map_err(|e| sdk_error("TagResource", e))?;
        Ok(())
    }

    async fn unpublish(&self, name: &str) -> Result<()> {
        let res = self.ssm.delete_parameter().name(name).send().await;
        absent_if("DeleteParameter", res, &["ParameterNotFound"])?;
        Ok(())
    }

    /// The published parameter's name, when it still holds the cluster's current bootstrap string.
    async fn published(&self, c: &ClusterInfo, brokers: Option<&str>) -> Result<Value> {
        let Some(name) = c.tags().and_then(|t| t.get(TAG_PUBLISH)) else {
            return Ok(Value::Null);
        };
        let res = self.ssm.get_parameter().name(name).send().await;
        let value = absent_if("GetParameter", res, &["ParameterNotFound"])?
            .and_then(|o| o.parameter().and_then(|p| p.value().map(str::to_owned)));
        Ok(match (value, brokers) {
            (Some(v), Some(b)) if v == b => Value::Str(name.clone()),
            _ => Value::Null,
        })
    }

    async fn describe(&self, arn: &str) -> Result<Option<ClusterInfo>> {
        let res = self.client.describe_cluster().cluster_arn(arn).send().await;
        Ok(absent_if("DescribeCluster", res, &["NotFoundException"])?
            .and_then(|o| o.cluster_info().cloned()))
    }

    /// Waits until the cluster is ACTIVE and returns it.
    async fn wait_active(&self, arn: &str) -> Result<ClusterInfo> {
        crate::wait::until("MSK cluster", TIMEOUT, POLL, || async {
            let c = self
                .describe(arn)
                .await?
                .with_context(|| format!("MSK cluster {arn} disappeared"))?;
            Ok(match c.state() {
                Some(ClusterState::Active) => Poll::Ready(c),
                Some(ClusterState::Failed) => bail!(
                    "MSK cluster {arn} FAILED: {}",
                    c.state_info()
                        .and_then(|s| s.message())
                        .unwrap_or("no reason given")
                ),
                Some(s) => Poll::Pending(s.as_str().to_owned()),
                None => Poll::Pending("unknown".into()),
            })
        })
        .await
    }

    async fn bootstrap(&self, arn: &str) -> Result<Option<String>> {
        let out = self
            .client
            .get_bootstrap_brokers()
            .cluster_arn(arn)
            .send()
            .await
            .map_err(|e| sdk_error("GetBootstrapBrokers", e))?;
        Ok(out.bootstrap_broker_string_sasl_iam().map(str::to_owned))
    }

    async fn live(&self, address: &str, c: &ClusterInfo) -> Result<Live> {
        let arn = c.cluster_arn().unwrap_or_default();
        let mut live = Live::new(address, "msk_cluster", arn);
        live.outputs.insert("arn".into(), arn.to_owned());
        // Topics and consumer groups are named by ARNs under the cluster's name and UUID
        // (`…:topic/<cluster>/<uuid>/<topic>`): IAM policies of Kafka clients grant on these prefixes.
        if let Some((head, path)) = arn.split_once(":cluster/") {
            live.outputs
                .insert("topic_arn_prefix".into(), format!("{head}:topic/{path}"));
            live.outputs
                .insert("group_arn_prefix".into(), format!("{head}:group/{path}"));
        }
        let brokers = self.bootstrap(arn).await?;
        let published = self.published(c, brokers.as_deref()).await?;
        if let Some(b) = brokers {
            live.outputs.insert("bootstrap_brokers_sasl_iam".into(), b);
        }
        // The parameter a client reads the brokers from: what `zinfra output` hands a pipeline.
        if let Value::Str(name) = &published {
            live.outputs
                .insert("bootstrap_brokers_parameter".into(), name.clone());
        }
        let p = &mut live.props;
        p.insert("publish_bootstrap_brokers_to".into(), published);
        let s = |v: Option<&str>| v.map_or(Value::Null, |v| Value::Str(v.to_owned()));
        let strs = |v: &[String]| Value::List(v.iter().cloned().map(Value::Str).collect());
        p.insert("name".into(), s(c.cluster_name()));
        p.insert(
            "kafka_version".into(),
            s(c.current_broker_software_info()
                .and_then(|i| i.kafka_version())),
        );
        p.insert(
            "number_of_broker_nodes".into(),
            c.number_of_broker_nodes()
                .map_or(Value::Null, |n| Value::Int(n.into())),
        );
        let nodes = c.broker_node_group_info();
        p.insert(
            "broker_instance_type".into(),
            s(nodes.and_then(|n| n.instance_type())),
        );
        p.insert(
            "client_subnets".into(),
            strs(nodes.map(|n| n.client_subnets()).unwrap_or_default()),
        );
        p.insert(
            "security_groups".into(),
            strs(nodes.map(|n| n.security_groups()).unwrap_or_default()),
        );
        p.insert(
            "ebs_volume_size".into(),
            nodes
                .and_then(|n| n.storage_info())
                .and_then(|s| s.ebs_storage_info())
                .and_then(|e| e.volume_size())
                .map_or(Value::Null, |v| Value::Int(v.into())),
        );
        let enc = c.encryption_info();
        p.insert(
            "kms_key".into(),
            s(enc
                .and_then(|e| e.encryption_at_rest())
                .and_then(|a| a.data_volume_kms_key_id())),
        );
        let transit = enc.and_then(|e| e.encryption_in_transit());
        // AWS's defaults when the section is absent: TLS and in-cluster encryption on.
        p.insert(
            "client_broker_encryption".into(),
            Value::Str(
                transit
                    .and_then(|t| t.client_broker())
                    .map_or("TLS", |c| c.as_str())
                    .to_owned(),
            ),
        );
        p.insert(
            "in_cluster_encryption".into(),
            Value::Bool(transit.and_then(|t| t.in_cluster()).unwrap_or(true)),
        );
        let auth = c.client_authentication();
        p.insert(
            "sasl_iam".into(),
            Value::Bool(
                auth.and_then(|a| a.sasl())
                    .and_then(|s| s.iam())
                    .and_then(|i| i.enabled())
                    .unwrap_or(false),
            ),
        );
        p.insert(
            "unauthenticated".into(),
            Value::Bool(
                auth.and_then(|a| a.unauthenticated())
                    .and_then(|u| u.enabled())
                    .unwrap_or(false),
            ),
        );
        p.insert(
            "enhanced_monitoring".into(),
            Value::Str(
                c.enhanced_monitoring()
                    .map_or("DEFAULT", |m| m.as_str())
                    .to_owned(),
            ),
        );
        live.tags = user_tags(
            c.tags()
                .into_iter()
                .flatten()
                .filter(|(k, _)| k.as_str() != TAG_PUBLISH)
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        Ok(live)
    }
}

fn int(r: &Resolved, f: &str) -> Result<i32> {
    let n = r
        .props
        .get(f)
        .and_then(Value::as_int)
        .with_context(|| format!("`{f}` is required"))?;
    i32::try_from(n).with_context(|| format!("`{f}` is out of range"))
}

#[async_trait]
impl Driver for Kafka {
    fn kinds(&self) -> &'static [&'static str] {
        &["msk_cluster"]
    }

    fn service(&self) -> &'static str {
        "KAFKA"
    }

    /// Listed with ListClusters and read with DescribeCluster, which reports the tags.
    fn uses_tag_index(&self) -> bool {
        false
    }

    async fn read(&self, cx: &ReadCx<'_>) -> Result<Vec<Live>> {
        let list = self
            .client
            .list_clusters()
            .into_paginator()
            .items()
            .send()
            .all("ListClusters")
            .await?;
        let found = try_join_all(list.iter().map(|c| async move {
            let Some(arn) = c.cluster_arn() else {
                return Ok(None);
            };
            if matches!(c.state(), Some(ClusterState::Deleting)) {
                return Ok(None);
            }
            let Some(mut info) = self.describe(arn).await? else {
                return Ok(None);
            };
            let tags = info.tags().cloned().unwrap_or_default();
            let pairs = tags.iter().map(|(k, v)| (k.as_str(), v.as_str()));
            let Some(address) = owned_address(cx.stack, pairs) else {
                return Ok(None);
            };
            // Still being created or changed (an apply that timed out): wait, never create another.
            if matches!(
                info.state(),
                Some(
                    ClusterState::Creating | ClusterState::Updating | ClusterState::RebootingBroker
                )
            ) {
                info = self.wait_active(arn).await?;
            }
            Ok::<_, anyhow::Error>(Some(self.live(&address, &info).await?))
        }))
        .await?;
        Ok(found.into_iter().flatten().collect())
    }

    async fn create(&self, r: &Resolved) -> Result<Live> {
        let p = &r.props;
        let name = p.str("name").context("name is required")?;
        let tags: HashMap<String, String> = tag_pairs(&r.tags)
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let nodes = BrokerNodeGroupInfo::builder()
            .instance_type(p.str("broker_instance_type").unwrap_or_default())
            .set_client_subnets(Some(p.strs("client_subnets")))
            .set_security_groups(Some(p.strs("security_groups")))
            .storage_info(
                StorageInfo::builder()
                    .ebs_storage_info(
                        EbsStorageInfo::builder()
                            .volume_size(int(r, "ebs_volume_size")?)
                            .build(),
                    )
                    .build(),
            )
            .build();
        let encryption = EncryptionInfo::builder()
            .encryption_at_rest(
                EncryptionAtRest::builder()
                    .data_volume_kms_key_id(p.str("kms_key").context("kms_key is required")?)
                    .build(),
            )
            .encryption_in_transit(
                EncryptionInTransit::builder()
                    .client_broker(ClientBroker::from(
                        p.str("client_broker_encryption").unwrap_or("TLS"),
                    ))
                    .in_cluster(p.get("in_cluster_encryption") != Some(&Value::Bool(false)))
                    .build(),
            )
            .build();
        let auth = ClientAuthentication::builder()
            .sasl(
                Sasl::builder()
                    .iam(
                        Iam::builder()
                            .enabled(p.get("sasl_iam") != Some(&Value::Bool(false)))
                            .build(),
                    )
                    .build(),
            )
            .unauthenticated(
                Unauthenticated::builder()
                    .enabled(p.get("unauthenticated") == Some(&Value::Bool(true)))
                    .build(),
            )
            .build();
        let out = self
            .client
            .create_cluster()
            .cluster_name(name)
            .kafka_version(p.str("kafka_version").unwrap_or_default())
            .number_of_broker_nodes(int(r, "number_of_broker_nodes")?)
            .broker_node_group_info(nodes)
            .encryption_info(encryption)
            .client_authentication(auth)
            .enhanced_monitoring(EnhancedMonitoring::from(
                p.str("enhanced_monitoring").unwrap_or("DEFAULT"),
            ))
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| sdk_error("CreateCluster", e))
            .with_context(|| format!("creating {}", r.address))?;
        let arn = out
            .cluster_arn()
            .context("CreateCluster returned no cluster ARN")?;
        let info = self
            .wait_active(arn)
            .await
            .with_context(|| format!("creating {}", r.address))?;
        if let Some(name) = p.str("publish_bootstrap_brokers_to") {
            let brokers = self
                .bootstrap(arn)
                .await?
                .context("GetBootstrapBrokers returned no SASL/IAM string")?;
            self.publish(r, arn, name, &brokers).await?;
        }
        let info = self.describe(arn).await?.unwrap_or(info);
        self.live(&r.address, &info).await
    }

    async fn update(&self, r: &Resolved, live: &Live, changed: &[String]) -> Result<Live> {
        let has = |f: &str| changed.iter().any(|c| c == f);
        let arn = live.id.as_str();
        if let Some(field) = changed.iter().find(|f| {
            !matches!(
                f.as_str(),
                "tags"
                    | "number_of_broker_nodes"
                    | "ebs_volume_size"
                    | "publish_bootstrap_brokers_to"
            )
        }) {
            return Err(unhandled(&r.kind, field));
        }
        // Each change needs the cluster's current version and an ACTIVE cluster, one at a time.
        if has("number_of_broker_nodes") {
            let c = self.wait_active(arn).await?;
            self.client
                .update_broker_count()
                .cluster_arn(arn)
                .current_version(c.current_version().unwrap_or_default())
                .target_number_of_broker_nodes(int(r, "number_of_broker_nodes")?)
                .send()
                .await
                .map_err(|e| sdk_error("UpdateBrokerCount", e))
                .with_context(|| format!("updating {}", r.address))?;
        }
        if has("ebs_volume_size") {
            let c = self.wait_active(arn).await?;
            self.client
                .update_broker_storage()
                .cluster_arn(arn)
                .current_version(c.current_version().unwrap_or_default())
                .target_broker_ebs_volume_info(
                    BrokerEbsVolumeInfo::builder()
                        .kafka_broker_node_id("All")
                        .volume_size_gb(int(r, "ebs_volume_size")?)
                        .build(),
                )
                .send()
                .await
                .map_err(|e| sdk_error("UpdateBrokerStorage", e))
                .with_context(|| format!("updating {}", r.address))?;
        }
        if has("tags") {
            sync_tags(&self.client, arn, &r.tags, &live.tags).await?;
        }
        let info = self.wait_active(arn).await?;
        let new = r.props.str("publish_bootstrap_brokers_to");
        if has("publish_bootstrap_brokers_to") {
            let old = live.props.str("publish_bootstrap_brokers_to");
            if let Some(old) = old.filter(|o| Some(*o) != new) {
                self.unpublish(old).await?;
            }
        }
        // New brokers change the bootstrap string: publish it again.
        if has("publish_bootstrap_brokers_to") || has("number_of_broker_nodes") {
            match new {
                Some(name) => {
                    let brokers = self
                        .bootstrap(arn)
                        .await?
                        .context("GetBootstrapBrokers returned no SASL/IAM string")?;
                    self.publish(r, arn, name, &brokers).await?;
                }
                None if has("publish_bootstrap_brokers_to") => {
                    self.client
                        .untag_resource()
                        .resource_arn(arn)
                        .tag_keys(TAG_PUBLISH)
                        .send()
                        .await
                        .map_err(|e| sdk_error("UntagResource", e))?;
                }
                None => {}
            }
        }
        let info = self.describe(arn).await?.unwrap_or(info);
        let mut out = self.live(&r.address, &info).await?;
        out.tags = r.tags.clone();
        Ok(out)
    }

    /// Deletes and waits until the cluster is gone, so a replacement can take its name.
    async fn delete(&self, live: &Live) -> Result<()> {
        let arn = live.id.as_str();
        let Some(c) = self.describe(arn).await? else {
            return Ok(());
        };
        if let Some(name) = c.tags().and_then(|t| t.get(TAG_PUBLISH)) {
            self.unpublish(name)
                .await
                .with_context(|| format!("deleting {}", live.address))?;
        }
        if c.state() != Some(&ClusterState::Deleting) {
            let res = self.client.delete_cluster().cluster_arn(arn).send().await;
            absent_if("DeleteCluster", res, &["NotFoundException"])
                .with_context(|| format!("deleting {}", live.address))?;
        }
        crate::wait::until("MSK cluster deletion", TIMEOUT, POLL, || async {
            Ok(match self.describe(arn).await? {
                None => Poll::Ready(()),
                Some(c) => Poll::Pending(c.state().map_or("unknown", |s| s.as_str()).to_owned()),
            })
        })
        .await
    }
}

crate::tag_resource_api!(aws_sdk_kafka::Client, resource_arn, string_map);
