//! Services: private networking, load balancers, the circuit breaker, and rollouts waited for.

use std::collections::BTreeMap;

use anyhow::{Context, Result, anyhow};
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, DeploymentCircuitBreaker, DeploymentConfiguration,
    LaunchType, LoadBalancer, NetworkConfiguration, Service, ServiceField,
};
use futures::future::try_join_all;

use crate::drivers::toolkit::{ReadCx, error_code, owned_address, sdk_error, tag_pairs, user_tags};
use crate::model::{Live, Props, PropsExt, Resolved, Tags, Value};
use crate::wait::{self, Poll};

use super::common::*;

// --- services ---------------------------------------------------------------------------------------

impl Ecs {
    pub(super) async fn read_services(&self, cx: &ReadCx<'_>) -> Result<Vec<Live>> {
        // DescribeServices works per cluster; a service ARN names its cluster (`service/<cluster>/<name>`).
        let mut by_cluster: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for arn in tagged_arns(cx) {
            let cluster = arn
                .split_once(":service/")
                .and_then(|(_, rest)| rest.split_once('/'))
                .map(|(cluster, _)| cluster.to_owned())
                .with_context(|| {
                    format!(
                        "service {arn} has a short ARN without its cluster: turn on the long ARN format (`aws ecs put-account-setting-default --name serviceLongArnFormat --value enabled`)"
                    )
                })?;
            by_cluster.entry(cluster).or_default().push(arn);
        }
        let per_cluster = try_join_all(by_cluster.iter().map(|(cluster, arns)| async move {
            let pages = try_join_all(arns.chunks(SERVICE_BATCH).map(|batch| async move {
                self.client
                    .describe_services()
                    .cluster(cluster)
                    .set_services(Some(batch.to_vec()))
                    .include(ServiceField::Tags)
                    .send()
                    .await
                    .map_err(|e| sdk_error("DescribeServices", e))
            }))
            .await?;
            Ok::<_, anyhow::Error>(
                pages
                    .into_iter()
                    .flat_map(|p| p.services.unwrap_or_default())
                    .collect::<Vec<_>>(),
            )
        }))
        .await?;
        Ok(per_cluster
            .into_iter()
            .flatten()
            // DRAINING ones are being deleted, INACTIVE ones are gone.
            .filter(|s| s.status() == Some("ACTIVE"))
            .filter_map(|s| {
                let tags = user_tags(s.tags().iter().filter_map(|t| Some((t.key()?, t.value()?))));
                let address =
                    owned_address(cx.stack, tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
                Some(service_live(&address, &s, tags))
            })
            .collect())
    }

    pub(super) async fn create_service(&self, r: &Resolved) -> Result<Live> {
        let name = r
            .props
            .str("service_name")
            .context("`service_name` is required")?;
        let cluster = r.props.str("cluster").context("`cluster` is required")?;
        // The client token is the same for every try of this create (`client_token`): a request sent
        // again after a lost reply gets the first service back. A token ECS still remembers from a
        // service deleted since hands back that one, INACTIVE: then the next token in the chain.
        let mut gone = Vec::new();
        let out = loop {
            let out = self
                .client
                .create_service()
                .cluster(cluster)
                .service_name(name)
                .set_task_definition(r.props.str("task_definition").map(str::to_owned))
                .desired_count(r.props.int("desired_count").unwrap_or(1) as i32)
                .launch_type(LaunchType::Fargate)
                .network_configuration(network(&r.props)?)
                .deployment_configuration(deployment(&r.props))
                .set_load_balancers(Some(load_balancers(&r.props)))
                .set_tags(Some(ecs_tags(tag_pairs(&r.tags))))
                .client_token(crate::drivers::toolkit::client_token(r, &gone, 36))
                .send()
                .await
                .map_err(|e| sdk_error("CreateService", e))?;
            let inactive = out
                .service()
                .and_then(|s| s.status())
                .is_some_and(|s| s != "ACTIVE");
            match out.service().and_then(|s| s.service_arn()) {
                Some(arn) if inactive && gone.len() < 3 => gone.push(arn.to_owned()),
                _ => break out,
            }
        };
        let service = out.service.context("CreateService returned no service")?;
        let arn = service.service_arn().unwrap_or_default();
        let mut live = Live::new(&r.address, SERVICE, arn);
        live.outputs.insert("arn".into(), arn.to_owned());
        live.outputs.insert("name".into(), name.to_owned());
        live.tags = r.tags.clone();
        Ok(live)
    }

    /// One UpdateService with every changed setting; a new task definition starts a new deployment,
    /// which the circuit breaker rolls back if its tasks fail to start.
    pub(super) async fn update_service(
        &self,
        r: &Resolved,
        live: &Live,
        fields: &[&str],
    ) -> Result<()> {
        let cluster = live.props.str("cluster").unwrap_or_default();
        let mut req = self.client.update_service().cluster(cluster).service(
            live.outputs
                .get("name")
                .map(String::as_str)
                .unwrap_or(&live.id),
        );
        for f in fields {
            req = match *f {
                "task_definition" => {
                    req.set_task_definition(r.props.str("task_definition").map(str::to_owned))
                }
                "desired_count" => {
                    req.desired_count(r.props.int("desired_count").unwrap_or(1) as i32)
                }
                "subnets" | "security_groups" | "assign_public_ip" => {
                    req.network_configuration(network(&r.props)?)
                }
                "circuit_breaker" => req.deployment_configuration(deployment(&r.props)),
                "load_balancers" => req.set_load_balancers(Some(load_balancers(&r.props))),
                _ => req,
            };
        }
        let out = req
            .send()
            .await
            .map_err(|e| sdk_error("UpdateService", e))?;
        // These start a new deployment (AWS: "UpdateService"); desired count and the circuit breaker
        // setting do not.
        let deploys = fields.iter().any(|f| {
            matches!(
                *f,
                "task_definition"
                    | "subnets"
                    | "security_groups"
                    | "assign_public_ip"
                    | "load_balancers"
            )
        });
        let primary = out
            .service()
            .and_then(|s| {
                s.deployments()
                    .iter()
                    .find(|d| d.status() == Some("PRIMARY"))
            })
            .and_then(|d| d.id());
        match primary {
            Some(id) if deploys && !wait::no_wait() => self.rollout(cluster, live, id).await,
            _ => Ok(()),
        }
    }

    /// Wait until deployment `id` of the service is COMPLETED. FAILED (the circuit breaker stopped it:
    /// tasks failed to start or health checks failed) is an error naming the deployment, the reason
    /// and, when ECS rolled back, the task definition the service runs again.
    pub(super) async fn rollout(&self, cluster: &str, live: &Live, id: &str) -> Result<()> {
        let name = live
            .outputs
            .get("name")
            .map(String::as_str)
            .unwrap_or(&live.id);
        let what = format!("deployment {id}");
        wait::until(&what, ROLLOUT_TIMEOUT, POLL_MAX, || async {
            let out = self
                .client
                .describe_services()
                .cluster(cluster)
                .services(name)
                .send()
                .await
                .map_err(|e| sdk_error("DescribeServices", e))?;
            let service = out
                .services()
                .first()
                .with_context(|| format!("service {name} is gone"))?;
            let primary = service
                .deployments()
                .iter()
                .find(|d| d.status() == Some("PRIMARY"));
            let Some(d) = service.deployments().iter().find(|d| d.id() == Some(id)) else {
                // Drained: replaced by a newer deployment (another run, or the rollback).
                let now = primary.and_then(|p| p.task_definition()).unwrap_or("?");
                return Err(anyhow!(
                    "deployment {id} of service {name} was replaced before it completed; \
                     the service now runs {}",
                    revision(now)
                ));
            };
            let state = d
                .rollout_state()
                .map(|s| s.as_str())
                .unwrap_or("IN_PROGRESS");
            match state {
                "COMPLETED" => Ok(Poll::Ready(())),
                "FAILED" => {
                    let reason = d.rollout_state_reason().unwrap_or("no reason given");
                    let back = primary
                        .filter(|p| p.id() != Some(id))
                        .and_then(|p| p.task_definition())
                        .map(|t| {
                            format!(
                                "; the circuit breaker rolled the service back to {}",
                                revision(t)
                            )
                        })
                        .unwrap_or_default();
                    let why = service
                        .events()
                        .iter()
                        .filter_map(|e| e.message())
                        .find(|m| m.contains(id) && m.contains("failed"))
                        .map(|m| format!(" (ECS: {m})"))
                        .unwrap_or_default();
                    Err(anyhow!(
                        "deployment {id} of service {name} failed: {reason}{why}{back}"
                    ))
                }
                _ => Ok(Poll::Pending(format!(
                    "{state}, {}/{} tasks running, {} failed",
                    d.running_count(),
                    d.desired_count(),
                    d.failed_tasks()
                ))),
            }
        })
        .await
    }

    /// Scale to zero, delete, and wait until ECS reports the service INACTIVE (its tasks drained), so
    /// the cluster can go and the name can be reused.
    pub(super) async fn delete_service(&self, live: &Live) -> Result<()> {
        let cluster = live.props.str("cluster").unwrap_or_default();
        let name = live
            .outputs
            .get("name")
            .map(String::as_str)
            .unwrap_or(&live.id);
        let gone = |e: Option<&str>| {
            matches!(
                e,
                Some(
                    "ServiceNotFoundException"
                        | "ServiceNotActiveException"
                        | "ClusterNotFoundException"
                )
            )
        };
        match self
            .client
            .update_service()
            .cluster(cluster)
            .service(name)
            .desired_count(0)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if gone(error_code(&e)) => return Ok(()),
            Err(e) => return Err(sdk_error("UpdateService", e)),
        }
        match self
            .client
            .delete_service()
            .cluster(cluster)
            .service(name)
            .force(true)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if gone(error_code(&e)) => return Ok(()),
            Err(e) => return Err(sdk_error("DeleteService", e)),
        }
        wait::until(
            &format!("service {name}"),
            DRAIN_TIMEOUT,
            POLL_MAX,
            || async {
                let out = match self
                    .client
                    .describe_services()
                    .cluster(cluster)
                    .services(name)
                    .send()
                    .await
                {
                    Ok(o) => o,
                    Err(e) if gone(error_code(&e)) => return Ok(Poll::Ready(())),
                    Err(e) => return Err(sdk_error("DescribeServices", e)),
                };
                match out.services().first().and_then(|s| s.status()) {
                    None | Some("INACTIVE") => Ok(Poll::Ready(())),
                    Some(status) => Ok(Poll::Pending(status.to_owned())),
                }
            },
        )
        .await
    }
}

pub(super) fn network(props: &Props) -> Result<NetworkConfiguration> {
    Ok(NetworkConfiguration::builder()
        .awsvpc_configuration(
            AwsVpcConfiguration::builder()
                .set_subnets(Some(props.strs("subnets")))
                .set_security_groups(Some(props.strs("security_groups")))
                // Validation refuses `true`; never give a task a public address.
                .assign_public_ip(AssignPublicIp::Disabled)
                .build()?,
        )
        .build())
}

pub(super) fn deployment(props: &Props) -> DeploymentConfiguration {
    let on = props.bool_or("circuit_breaker", true);
    DeploymentConfiguration::builder()
        .deployment_circuit_breaker(
            DeploymentCircuitBreaker::builder()
                .enable(on)
                .rollback(on)
                .build(),
        )
        .build()
}

pub(super) fn load_balancers(props: &Props) -> Vec<LoadBalancer> {
    props
        .list("load_balancers")
        .iter()
        .filter_map(Value::as_map)
        .map(|lb| {
            LoadBalancer::builder()
                .set_target_group_arn(
                    lb.get("target_group")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                )
                .set_container_name(
                    lb.get("container_name")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                )
                .set_container_port(
                    lb.get("container_port")
                        .and_then(Value::as_int)
                        .map(|p| p as i32),
                )
                .build()
        })
        .collect()
}

pub(super) fn circuit_breaker(s: &Service) -> bool {
    s.deployment_configuration()
        .and_then(|d| d.deployment_circuit_breaker())
        .is_some_and(|c| c.enable() && c.rollback())
}

pub(super) fn service_live(address: &str, s: &Service, tags: Tags) -> Live {
    let arn = s.service_arn().unwrap_or_default();
    let name = s.service_name().unwrap_or_default();
    let mut live = Live::new(address, SERVICE, arn);
    live.outputs.insert("arn".into(), arn.to_owned());
    live.outputs.insert("name".into(), name.to_owned());
    let str_ = |v: Option<&str>| Value::Str(v.unwrap_or_default().to_owned());
    let p = &mut live.props;
    p.insert("service_name".into(), Value::Str(name.to_owned()));
    p.insert("cluster".into(), str_(s.cluster_arn()));
    p.insert("task_definition".into(), str_(s.task_definition()));
    p.insert("desired_count".into(), Value::Int(s.desired_count().into()));
    let vpc = s
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration());
    let list = |v: &[String]| Value::List(v.iter().map(|x| Value::Str(x.clone())).collect());
    p.insert(
        "subnets".into(),
        list(vpc.map(|v| v.subnets()).unwrap_or(&[])),
    );
    p.insert(
        "security_groups".into(),
        list(vpc.map(|v| v.security_groups()).unwrap_or(&[])),
    );
    p.insert(
        "assign_public_ip".into(),
        Value::Bool(vpc.and_then(|v| v.assign_public_ip()) == Some(&AssignPublicIp::Enabled)),
    );
    p.insert("circuit_breaker".into(), Value::Bool(circuit_breaker(s)));
    let lbs = s
        .load_balancers()
        .iter()
        .map(|lb| {
            let mut m = BTreeMap::new();
            m.insert("target_group".into(), str_(lb.target_group_arn()));
            m.insert("container_name".into(), str_(lb.container_name()));
            m.insert(
                "container_port".into(),
                Value::Int(lb.container_port().unwrap_or_default().into()),
            );
            Value::Map(m)
        })
        .collect();
    p.insert("load_balancers".into(), Value::List(lbs));
    live.tags = tags;
    live
}
