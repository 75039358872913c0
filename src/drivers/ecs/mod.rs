//! ECS on Fargate: clusters, task definitions (immutable revisions) and services.
//!
//! Resources are found from the tagging index, then described: the index also lists deleted clusters and
//! services and deregistered revisions, which are skipped (only ACTIVE ones are the stack's).

mod cluster;
mod common;
mod service;
mod task_definition;

pub use common::Ecs;

use anyhow::{Context, Result, anyhow};
use async_trait::async_trait;

use crate::drivers::toolkit::{Driver, ReadCx, sync_tags, unhandled, updated};
use crate::model::{Live, Resolved};
use common::*;

#[async_trait]
impl Driver for Ecs {
    fn kinds(&self) -> &'static [&'static str] {
        &[CLUSTER, TASK_DEFINITION, SERVICE]
    }

    fn service(&self) -> &'static str {
        "ECS"
    }

    async fn read(&self, cx: &ReadCx<'_>) -> Result<Vec<Live>> {
        match cx.kind {
            CLUSTER => self.read_clusters(cx).await,
            TASK_DEFINITION => self.read_task_definitions(cx).await,
            SERVICE => self.read_services(cx).await,
            other => Err(anyhow!("the ECS driver does not manage `{other}`")),
        }
    }

    async fn create(&self, r: &Resolved) -> Result<Live> {
        match r.kind.as_str() {
            CLUSTER => self.create_cluster(r).await,
            TASK_DEFINITION => self.register(r).await,
            _ => self.create_service(r).await,
        }
        .with_context(|| format!("creating {}", r.address))
    }

    async fn update(&self, r: &Resolved, live: &Live, changed: &[String]) -> Result<Live> {
        let arn = live.outputs.get("arn").cloned().unwrap_or_default();
        let mut service_fields = Vec::new();
        for field in changed {
            let done = match (r.kind.as_str(), field.as_str()) {
                (_, "tags") => sync_tags(&self.client, &arn, &r.tags, &live.tags).await,
                (CLUSTER, "container_insights") => self.put_insights(&live.id, &r.props).await,
                (
                    SERVICE,
                    "task_definition" | "desired_count" | "subnets" | "security_groups"
                    | "assign_public_ip" | "circuit_breaker" | "load_balancers",
                ) => {
                    service_fields.push(field.as_str());
                    Ok(())
                }
                (kind, other) => Err(unhandled(kind, other)),
            };
            done.with_context(|| format!("updating {} ({field})", r.address))?;
        }
        if !service_fields.is_empty() {
            self.update_service(r, live, &service_fields)
                .await
                .with_context(|| {
                    format!("updating {} ({})", r.address, service_fields.join(", "))
                })?;
        }
        Ok(updated(r, live))
    }

    async fn delete(&self, live: &Live) -> Result<()> {
        match live.kind.as_str() {
            CLUSTER => self.delete_cluster(live).await,
            TASK_DEFINITION => self.deregister(live).await,
            _ => self.delete_service(live).await,
        }
        .with_context(|| format!("deleting {} ({})", live.address, live.id))
    }
}
