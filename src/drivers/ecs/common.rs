//! What the ecs driver's resource kinds share: the client, constants, tags.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_ecs::types::Tag;

use crate::drivers::toolkit::ReadCx;

pub(super) const CLUSTER: &str = "ecs_cluster";
pub(super) const TASK_DEFINITION: &str = "ecs_task_definition";
pub(super) const SERVICE: &str = "ecs_service";
/// DescribeClusters takes at most 100 clusters, DescribeServices 10 services.
pub(super) const CLUSTER_BATCH: usize = 100;
pub(super) const SERVICE_BATCH: usize = 10;
/// Draining a service's tasks takes about its deregistration delay (5 minutes by default) and more.
pub(super) const DRAIN_TIMEOUT: Duration = crate::kinds::ecs_cluster::WAIT;
pub(super) const POLL_MAX: Duration = Duration::from_secs(15);
/// A rollout replaces every task and waits out health checks and the old tasks' draining; the circuit
/// breaker stops a failing one after up to 200 failed task launches (AWS), well inside this.
pub(super) const ROLLOUT_TIMEOUT: Duration = crate::kinds::ecs_service::WAIT;

pub struct Ecs {
    pub(super) client: aws_sdk_ecs::Client,
}

impl Ecs {
    pub fn new(client: aws_sdk_ecs::Client) -> Ecs {
        Ecs { client }
    }
}

/// The ARNs the tagging index lists for this kind, each once.
pub(super) fn tagged_arns(cx: &ReadCx<'_>) -> Vec<String> {
    let arns: BTreeSet<&str> = cx.tagged.iter().map(|(_, arn)| arn.as_str()).collect();
    arns.into_iter().map(str::to_owned).collect()
}

// --- tags -------------------------------------------------------------------------------------------

pub(super) fn ecs_tags<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<Tag> {
    tags.into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

crate::tag_resource_api!(aws_sdk_ecs::Client, resource_arn, |set: Vec<(
    &str,
    &str
)>| anyhow::Ok(ecs_tags(
    set
)));

/// `family:revision` of a task definition ARN, as the console shows it.
pub(super) fn revision(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}
