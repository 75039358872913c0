//! ECS on Fargate: clusters, task definitions (immutable revisions) and services.
//!
//! Resources are found from the tagging index, then described: the index also lists deleted clusters and
//! services and deregistered revisions, which are skipped (only ACTIVE ones are the stack's).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use async_trait::async_trait;
use aws_sdk_ecs::error::ProvideErrorMetadata;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, Cluster, ClusterField, ClusterSetting, ClusterSettingName,
    Compatibility, ContainerDefinition, DeploymentCircuitBreaker, DeploymentConfiguration,
    KeyValuePair, LaunchType, LoadBalancer, LogConfiguration, LogDriver, NetworkConfiguration,
    NetworkMode, PortMapping, Secret, Service, ServiceField, Tag, TaskDefinition,
    TaskDefinitionField, TaskDefinitionStatus, TransportProtocol,
};
use futures::future::try_join_all;

use super::toolkit::{
    Driver, ReadCx, error_code, owned_address, sdk_error, sync_tags, tag_pairs, unhandled, updated,
    user_tags,
};
use crate::model::{Live, Props, PropsExt, Resolved, Resource, Tags, Value};
use crate::wait::{self, Poll};

const CLUSTER: &str = "ecs_cluster";
const TASK_DEFINITION: &str = "ecs_task_definition";
const SERVICE: &str = "ecs_service";
/// DescribeClusters takes at most 100 clusters, DescribeServices 10 services.
const CLUSTER_BATCH: usize = 100;
const SERVICE_BATCH: usize = 10;
/// Draining a service's tasks takes about its deregistration delay (5 minutes by default) and more.
const DRAIN_TIMEOUT: Duration = crate::kinds::ecs_cluster::WAIT;
const POLL_MAX: Duration = Duration::from_secs(15);
/// A rollout replaces every task and waits out health checks and the old tasks' draining; the circuit
/// breaker stops a failing one after up to 200 failed task launches (AWS), well inside this.
const ROLLOUT_TIMEOUT: Duration = crate::kinds::ecs_service::WAIT;

pub struct Ecs {
    client: aws_sdk_ecs::Client,
}

impl Ecs {
    pub fn new(client: aws_sdk_ecs::Client) -> Ecs {
        Ecs { client }
    }
}

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

/// The ARNs the tagging index lists for this kind, each once.
fn tagged_arns(cx: &ReadCx<'_>) -> Vec<String> {
    let arns: BTreeSet<&str> = cx.tagged.iter().map(|(_, arn)| arn.as_str()).collect();
    arns.into_iter().map(str::to_owned).collect()
}

// --- clusters ---------------------------------------------------------------------------------------

impl Ecs {
    /// The stack's ACTIVE clusters, from the tagging index (which also lists deleted, INACTIVE ones).
    async fn read_clusters(&self, cx: &ReadCx<'_>) -> Result<Vec<Live>> {
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

    async fn create_cluster(&self, r: &Resolved) -> Result<Live> {
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

    async fn put_insights(&self, name: &str, props: &Props) -> Result<()> {
        self.client
            .update_cluster()
            .cluster(name)
            .settings(insights(props))
            .send()
            .await
            .map_err(|e| sdk_error("UpdateCluster", e))?;
        Ok(())
    }

    async fn delete_cluster(&self, live: &Live) -> Result<()> {
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

fn insights(props: &Props) -> ClusterSetting {
    ClusterSetting::builder()
        .name(ClusterSettingName::ContainerInsights)
        .value(props.str("container_insights").unwrap_or("enabled"))
        .build()
}

fn cluster_live(address: String, c: &Cluster, tags: Tags) -> Live {
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

// --- task definitions -------------------------------------------------------------------------------

impl Ecs {
    async fn read_task_definitions(&self, cx: &ReadCx<'_>) -> Result<Vec<Live>> {
        // Deregistered (INACTIVE) revisions keep their tags and stay in the index: described, then skipped.
        let arns = tagged_arns(cx);
        let described = try_join_all(arns.iter().map(|arn| async move {
            let out = self
                .client
                .describe_task_definition()
                .task_definition(arn)
                .include(TaskDefinitionField::Tags)
                .send()
                .await;
            match out {
                Ok(o) => Ok(o.task_definition.map(|td| (td, o.tags.unwrap_or_default()))),
                Err(e) if absent_task_definition(&e) => Ok(None),
                Err(e) => Err(sdk_error("DescribeTaskDefinition", e)),
            }
        }))
        .await?;
        let desired: BTreeMap<&str, &Resource> = cx
            .desired
            .iter()
            .map(|r| (r.address.as_str(), *r))
            .collect();
        let mut out: Vec<(i32, Live)> = described
            .into_iter()
            .flatten()
            .filter(|(td, _)| td.status() == Some(&TaskDefinitionStatus::Active))
            .filter_map(|(td, tags)| {
                let tags = user_tags(tags.iter().filter_map(|t| Some((t.key()?, t.value()?))));
                let address =
                    owned_address(cx.stack, tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
                let live = task_definition_live(
                    &address,
                    &td,
                    tags,
                    desired.get(address.as_str()).copied(),
                );
                Some((td.revision(), live))
            })
            .collect();
        // Newest first: when an old revision is still ACTIVE, the engine keeps the newest and deletes the others.
        out.sort_by_key(|(rev, l)| (l.address.clone(), std::cmp::Reverse(*rev)));
        Ok(out.into_iter().map(|(_, l)| l).collect())
    }

    async fn register(&self, r: &Resolved) -> Result<Live> {
        let stack = r
            .tags
            .get(crate::model::TAG_STACK)
            .context("the task definition has no stack tag")?;
        let family = family(stack, &r.name);
        let region = self
            .client
            .config()
            .region()
            .map(|r| r.to_string())
            .unwrap_or_default();
        let containers = r
            .props
            .list("container_definitions")
            .iter()
            .filter_map(Value::as_map)
            .map(|c| container(c, &region))
            .collect::<Result<Vec<_>>>()?;
        let out = self
            .client
            .register_task_definition()
            .family(&family)
            .requires_compatibilities(Compatibility::Fargate)
            .network_mode(NetworkMode::Awsvpc)
            .cpu(r.props.int("cpu").unwrap_or_default().to_string())
            .memory(r.props.int("memory").unwrap_or_default().to_string())
            .set_execution_role_arn(r.props.str("execution_role").map(str::to_owned))
            .set_task_role_arn(r.props.str("task_role").map(str::to_owned))
            .set_container_definitions(Some(containers))
            .set_tags(Some(ecs_tags(tag_pairs(&r.tags))))
            .send()
            .await
            .map_err(|e| sdk_error("RegisterTaskDefinition", e))?;
        let td = out
            .task_definition
            .context("RegisterTaskDefinition returned no task definition")?;
        let arn = td.task_definition_arn().unwrap_or_default();
        let mut live = Live::new(&r.address, TASK_DEFINITION, arn);
        live.outputs.insert("arn".into(), arn.to_owned());
        live.tags = r.tags.clone();
        Ok(live)
    }

    async fn deregister(&self, live: &Live) -> Result<()> {
        match self
            .client
            .deregister_task_definition()
            .task_definition(&live.id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if absent_task_definition(&e) => Ok(()),
            Err(e) => Err(sdk_error("DeregisterTaskDefinition", e)),
        }
    }
}

/// ECS answers a missing revision with a generic ClientException.
fn absent_task_definition<E: ProvideErrorMetadata, R>(
    e: &aws_sdk_ecs::error::SdkError<E, R>,
) -> bool {
    e.code() == Some("ClientException")
        && e.message().is_some_and(|m| {
            m.contains("does not exist")
                || m.contains("Unable to describe")
                || m.contains("Revision is missing")
        })
}

/// `family:revision` of a task definition ARN, as the console shows it.
fn revision(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// A task definition's family: `<stack>-<name>`, as physical names are made.
pub fn family(stack: &str, name: &str) -> String {
    format!("{stack}-{}", name.replace('_', "-"))
}

fn container(c: &BTreeMap<String, Value>, region: &str) -> Result<ContainerDefinition> {
    let get = |k: &str| c.get(k).and_then(Value::as_str);
    let image = match (get("image"), get("repository"), get("tag")) {
        (Some(image), _, _) => image.to_owned(),
        (None, Some(repo), Some(tag)) => format!("{repo}:{tag}"),
        _ => return Err(anyhow!("container without an image")),
    };
    let ports = c
        .get("port_mappings")
        .map(Value::as_list)
        .unwrap_or(&[])
        .iter()
        .filter_map(Value::as_map)
        .map(|p| {
            let port = p.get("container_port").and_then(Value::as_int).unwrap_or(0) as i32;
            PortMapping::builder()
                .container_port(port)
                // awsvpc: the host port is the container port.
                .host_port(port)
                .protocol(TransportProtocol::from(
                    p.get("protocol").and_then(Value::as_str).unwrap_or("tcp"),
                ))
                .build()
        })
        .collect();
    let environment = c
        .get("environment")
        .and_then(Value::as_map)
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            KeyValuePair::builder()
                .name(k)
                .set_value(v.as_str().map(str::to_owned))
                .build()
        })
        .collect();
    let secrets = c
        .get("secrets")
        .and_then(Value::as_map)
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            Secret::builder()
                .name(k)
                .value_from(v.as_str().unwrap_or_default())
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let logs = match c.get("logs").and_then(Value::as_map) {
        Some(l) => Some(
            LogConfiguration::builder()
                .log_driver(LogDriver::Awslogs)
                .options(
                    "awslogs-group",
                    l.get("group").and_then(Value::as_str).unwrap_or_default(),
                )
                .options("awslogs-region", region)
                .options(
                    "awslogs-stream-prefix",
                    l.get("stream_prefix")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                )
                .build()?,
        ),
        None => None,
    };
    Ok(ContainerDefinition::builder()
        .set_name(get("name").map(str::to_owned))
        .image(image)
        .essential(c.get("essential").and_then(Value::as_bool).unwrap_or(true))
        .set_port_mappings(Some(ports))
        .set_environment(Some(environment))
        .set_secrets(Some(secrets))
        .set_log_configuration(logs)
        .build())
}

/// The task definition in the schema's shape. An image is split into `repository` and `tag` when the
/// file names it that way (known from the declared container of the same name).
fn task_definition_live(
    address: &str,
    td: &TaskDefinition,
    tags: Tags,
    desired: Option<&Resource>,
) -> Live {
    let arn = td.task_definition_arn().unwrap_or_default();
    let mut live = Live::new(address, TASK_DEFINITION, arn);
    live.outputs.insert("arn".into(), arn.to_owned());
    let p = &mut live.props;
    for (field, v) in [("cpu", td.cpu()), ("memory", td.memory())] {
        if let Some(n) = v.and_then(|v| v.parse::<i64>().ok()) {
            p.insert(field.into(), Value::Int(n));
        }
    }
    if let Some(mode) = td.network_mode() {
        p.insert("network_mode".into(), Value::Str(mode.as_str().to_owned()));
    }
    if let Some(role) = td.execution_role_arn() {
        p.insert("execution_role".into(), Value::Str(role.to_owned()));
    }
    if let Some(role) = td.task_role_arn() {
        p.insert("task_role".into(), Value::Str(role.to_owned()));
    }
    let from_repository: BTreeSet<&str> = desired
        .map(|r| r.props.list("container_definitions"))
        .unwrap_or(&[])
        .iter()
        .filter_map(Value::as_map)
        .filter(|c| c.get("repository").is_some_and(|v| !v.is_null()))
        .filter_map(|c| c.get("name").and_then(Value::as_str))
        .collect();
    let containers = td
        .container_definitions()
        .iter()
        .map(|c| container_value(c, from_repository.contains(c.name().unwrap_or_default())))
        .collect();
    p.insert("container_definitions".into(), Value::List(containers));
    live.tags = tags;
    live
}

fn container_value(c: &ContainerDefinition, split_image: bool) -> Value {
    let mut m = BTreeMap::new();
    let s = |v: &str| Value::Str(v.to_owned());
    m.insert("name".into(), s(c.name().unwrap_or_default()));
    let image = c.image().unwrap_or_default();
    // `<registry>/<repository>:<tag>`: the tag follows the last `:` after the last `/`.
    match image
        .rsplit_once(':')
        .filter(|(repo, tag)| split_image && !tag.contains('/') && !repo.is_empty())
    {
        Some((repo, tag)) => {
            m.insert("repository".into(), s(repo));
            m.insert("tag".into(), s(tag));
        }
        None => {
            m.insert("image".into(), s(image));
        }
    }
    m.insert(
        "essential".into(),
        Value::Bool(c.essential().unwrap_or(true)),
    );
    let ports = c
        .port_mappings()
        .iter()
        .map(|p| {
            let mut pm = BTreeMap::new();
            pm.insert(
                "container_port".into(),
                Value::Int(p.container_port().unwrap_or_default().into()),
            );
            pm.insert(
                "protocol".into(),
                s(p.protocol().map(|p| p.as_str()).unwrap_or("tcp")),
            );
            Value::Map(pm)
        })
        .collect();
    m.insert("port_mappings".into(), Value::List(ports));
    m.insert(
        "environment".into(),
        Value::Map(
            c.environment()
                .iter()
                .filter_map(|kv| Some((kv.name()?.to_owned(), s(kv.value().unwrap_or_default()))))
                .collect(),
        ),
    );
    m.insert(
        "secrets".into(),
        Value::Map(
            c.secrets()
                .iter()
                .map(|x| (x.name().to_owned(), s(x.value_from())))
                .collect(),
        ),
    );
    if let Some(l) = c
        .log_configuration()
        .filter(|l| l.log_driver() == &LogDriver::Awslogs)
    {
        let opt = |k: &str| {
            l.options()
                .and_then(|o| o.get(k))
                .map(|v| s(v))
                .unwrap_or(Value::Null)
        };
        let mut logs = BTreeMap::new();
        logs.insert("group".into(), opt("awslogs-group"));
        logs.insert("stream_prefix".into(), opt("awslogs-stream-prefix"));
        m.insert("logs".into(), Value::Map(logs));
    }
    Value::Map(m)
}

// --- services ---------------------------------------------------------------------------------------

impl Ecs {
    async fn read_services(&self, cx: &ReadCx<'_>) -> Result<Vec<Live>> {
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

    async fn create_service(&self, r: &Resolved) -> Result<Live> {
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
                .client_token(super::toolkit::client_token(r, &gone, 36))
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
    async fn update_service(&self, r: &Resolved, live: &Live, fields: &[&str]) -> Result<()> {
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
    async fn rollout(&self, cluster: &str, live: &Live, id: &str) -> Result<()> {
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
    async fn delete_service(&self, live: &Live) -> Result<()> {
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

fn network(props: &Props) -> Result<NetworkConfiguration> {
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

fn deployment(props: &Props) -> DeploymentConfiguration {
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

fn load_balancers(props: &Props) -> Vec<LoadBalancer> {
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

fn circuit_breaker(s: &Service) -> bool {
    s.deployment_configuration()
        .and_then(|d| d.deployment_circuit_breaker())
        .is_some_and(|c| c.enable() && c.rollback())
}

fn service_live(address: &str, s: &Service, tags: Tags) -> Live {
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

// --- tags -------------------------------------------------------------------------------------------

fn ecs_tags<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<Tag> {
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
