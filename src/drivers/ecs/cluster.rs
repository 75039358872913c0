//! Clusters: Container Insights; deleting one waits for its services to drain.

use anyhow::{Context, Result};
use aws_sdk_ecs::types::{Cluster, ClusterField, ClusterSetting, ClusterSettingName};
use futures::future::try_join_all;

use crate::drivers::toolkit::{ReadCx, error_code, owned_address, sdk_error, tag_pairs, user_tags};
use crate::model::{Live, Props, PropsExt, Resolved, Tags, Value};
use crate::wait::{self, Poll};

use super::common::*;

// --- clusters ---------------------------------------------------------------------------------------

impl Ecs {
    /// The stack's ACTIVE clusters, from the tagging index (which also lists deleted, INACTIVE ones).
    pub(super) async fn read_clusters(&self, cx: &ReadCx<'_>) -> Result<Vec<Live>> {
        let arns: Vec<String> = tagged_arns(cx);
        let pages = try_join_all(arns.chunks(CLUSTER_BATCH).map(|batch| async move {
            self.client
                .describe_clusters()
                .set_clusters(Some(batch.to_vec()))
                .include(ClusterField::Tags)
                .include(ClusterField::Settings)
                .send()
                .await
                .map_err(|e| sdk_error("DescribeClusters", e))
        }))
        .await?;
        Ok(pages
            .into_iter()
            .flat_map(|p| p.clusters.unwrap_or_default())
            .filter(|c| c.status() == Some("ACTIVE"))
            .filter_map(|c| {
                let tags = user_tags(c.tags().iter().filter_map(|t| Some((t.key()?, t.value()?))));
                let address =
                    owned_address(cx.stack, tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
                Some(cluster_live(address, &c, tags))
            })
            .collect())
    }

    pub(super) async fn create_cluster(&self, r: &Resolved) -> Result<Live> {
        let name = r
            .props
            .str("cluster_name")
            .context("`cluster_name` is required")?;
        // CreateCluster is idempotent for an ACTIVE cluster of the same name.
        let out = self
            .client
            .create_cluster()
            .cluster_name(name)
            .settings(insights(&r.props))
            .set_tags(Some(ecs_tags(tag_pairs(&r.tags))))
            .send()
            .await
            .map_err(|e| sdk_error("CreateCluster", e))?;
        let cluster = out.cluster.context("CreateCluster returned no cluster")?;
        Ok(cluster_live(r.address.clone(), &cluster, r.tags.clone()))
    }

    pub(super) async fn put_insights(&self, name: &str, props: &Props) -> Result<()> {
        self.client
            .update_cluster()
            .cluster(name)
            .settings(insights(props))
            .send()
            .await
            .map_err(|e| sdk_error("UpdateCluster", e))?;
        Ok(())
    }

    pub(super) async fn delete_cluster(&self, live: &Live) -> Result<()> {
        // A cluster whose services are still draining refuses deletion until they are gone.
        wait::until(
            &format!("cluster {}", live.id),
            DRAIN_TIMEOUT,
            POLL_MAX,
            || async {
                match self.client.delete_cluster().cluster(&live.id).send().await {
                    Ok(_) => Ok(Poll::Ready(())),
                    Err(e) if error_code(&e) == Some("ClusterNotFoundException") => {
                        Ok(Poll::Ready(()))
                    }
                    Err(e)
                        if matches!(
                            error_code(&e),
                            Some(
                                "ClusterContainsServicesException"
                                    | "ClusterContainsTasksException"
                                    | "UpdateInProgressException"
                            )
                        ) =>
                    {
                        Ok(Poll::Pending(error_code(&e).unwrap_or_default().to_owned()))
                    }
                    Err(e) => Err(sdk_error("DeleteCluster", e)),
                }
            },
        )
        .await
    }
}

pub(super) fn insights(props: &Props) -> ClusterSetting {
    ClusterSetting::builder()
        .name(ClusterSettingName::ContainerInsights)
        .value(props.str("container_insights").unwrap_or("enabled"))
        .build()
}

pub(super) fn cluster_live(address: String, c: &Cluster, tags: Tags) -> Live {
    let name = c.cluster_name().unwrap_or_default();
    let mut live = Live::new(&address, CLUSTER, name);
    if let Some(arn) = c.cluster_arn() {
        live.outputs.insert("arn".into(), arn.to_owned());
    }
    live.props
        .insert("cluster_name".into(), Value::Str(name.to_owned()));
    let insights = c
        .settings()
        .iter()
        .find(|s| s.name() == Some(&ClusterSettingName::ContainerInsights))
        .and_then(|s| s.value())
        .unwrap_or("disabled");
    live.props
        .insert("container_insights".into(), Value::Str(insights.to_owned()));
    live.tags = tags;
    live
}
