//! Task definitions: immutable revisions in the family `<stack>-<name>`.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, anyhow};
use aws_sdk_ecs::error::ProvideErrorMetadata;
use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, KeyValuePair, LogConfiguration, LogDriver, NetworkMode,
    PortMapping, Secret, TaskDefinition, TaskDefinitionField, TaskDefinitionStatus,
    TransportProtocol,
};
use futures::future::try_join_all;

use crate::drivers::toolkit::{ReadCx, owned_address, sdk_error, tag_pairs, user_tags};
use crate::model::{Live, PropsExt, Resolved, Resource, Tags, Value};

use super::common::*;

// --- task definitions -------------------------------------------------------------------------------

impl Ecs {
    pub(super) async fn read_task_definitions(&self, cx: &ReadCx<'_>) -> Result<Vec<Live>> {
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

    pub(super) async fn register(&self, r: &Resolved) -> Result<Live> {
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

    pub(super) async fn deregister(&self, live: &Live) -> Result<()> {
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
pub(super) fn absent_task_definition<E: ProvideErrorMetadata, R>(
    e: &aws_sdk_ecs::error::SdkError<E, R>,
) -> bool {
    e.code() == Some("ClientException")
        && e.message().is_some_and(|m| {
            m.contains("does not exist")
                || m.contains("Unable to describe")
                || m.contains("Revision is missing")
        })
}

/// A task definition's family: `<stack>-<name>`, as physical names are made.
pub fn family(stack: &str, name: &str) -> String {
    format!("{stack}-{}", name.replace('_', "-"))
}

pub(super) fn container(c: &BTreeMap<String, Value>, region: &str) -> Result<ContainerDefinition> {
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
pub(super) fn task_definition_live(
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

pub(super) fn container_value(c: &ContainerDefinition, split_image: bool) -> Value {
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
