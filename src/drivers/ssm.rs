//! SSM Parameter Store parameters. Secret values are never formatted into errors or logs.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result};
use async_trait::async_trait;
use aws_sdk_ssm::types::{
    Parameter, ParameterMetadata, ParameterStringFilter, ParameterType, ResourceTypeForTagging, Tag,
};
use futures::future::try_join_all;

use super::toolkit::{
    AllItems, AwsError, Driver, ReadCx, TagApi, code, error_code, owned_address, retry_while,
    sdk_error, sync_tags, unhandled, updated, user_tags,
};
use crate::model::{
    Live, Props, PropsExt, Resolved, Resource, Secret, TAG_SECRET_VERSION, TAG_STACK, Tags, Value,
    take_secret_version,
};

const KIND: &str = "ssm_parameter";
/// GetParameters takes at most 10 names.
const GET_BATCH: usize = 10;
/// How long reading a just-written parameter retries ParameterNotFound.
const CONSISTENCY_WAIT: Duration = Duration::from_secs(30);

pub struct Ssm {
    client: aws_sdk_ssm::Client,
}

impl Ssm {
    pub fn new(client: aws_sdk_ssm::Client) -> Ssm {
        Ssm { client }
    }
}

#[async_trait]
impl Driver for Ssm {
    fn kinds(&self) -> &'static [&'static str] {
        &[KIND]
    }

    fn service(&self) -> &'static str {
        "SSM"
    }

    async fn read(&self, cx: &ReadCx<'_>) -> Result<Vec<Live>> {
        // Parameter ARNs drop the leading `/` of a name, so `cx.tagged` cannot tell `/a` from `a`:
        // one filtered DescribeParameters gives the exact names plus type, key and description.
        let metas = self.describe_stack(cx.stack).await?;
        if metas.is_empty() {
            return Ok(vec![]);
        }
        let names: Vec<&str> = metas.iter().filter_map(ParameterMetadata::name).collect();
        // Tags come with the index entry of the parameter's ARN; only where two names share an ARN
        // (`/a` and `a`) or the index lacks it is ListTagsForResource asked.
        let index = cx.index().await?;
        let arn_of = |name: &str| format!("parameter/{}", name.trim_start_matches('/'));
        let mut per_arn: BTreeMap<String, usize> = BTreeMap::new();
        for name in &names {
            *per_arn.entry(arn_of(name)).or_default() += 1;
        }
        let indexed: BTreeMap<String, (&str, &Tags)> = index
            .all()
            .filter(|(arn, _)| arn.contains(":ssm:"))
            .filter_map(|(arn, tags)| {
                let tail = arn.split_once(":parameter/")?.1;
                Some((format!("parameter/{tail}"), (arn, tags)))
            })
            .collect();
        // Write-only secrets: a SecureString, or a value the file takes from the environment, is never
        // read, let alone decrypted. Plain values are read, and so is a parameter whose ARN neither
        // DescribeParameters nor the index gave (without decryption).
        let from_env: Vec<&str> = cx
            .desired
            .iter()
            .filter(|r| matches!(r.props.get("value"), Some(Value::Secret(_))))
            .filter_map(|r| r.props.str("name"))
            .collect();
        let is_secret = |m: &ParameterMetadata| {
            m.r#type() == Some(&ParameterType::SecureString)
                || m.name().is_some_and(|n| from_env.contains(&n))
        };
        let known_arn = |m: &ParameterMetadata| -> Option<String> {
            let name = m.name()?;
            m.arn().map(str::to_owned).or_else(|| {
                indexed
                    .get(&arn_of(name))
                    .filter(|_| per_arn.get(&arn_of(name)) == Some(&1))
                    .map(|(arn, _)| (*arn).to_owned())
            })
        };
        let to_get: Vec<&str> = metas
            .iter()
            .filter(|m| !is_secret(m) || known_arn(m).is_none())
            .filter_map(ParameterMetadata::name)
            .collect();
        let values = try_join_all(to_get.chunks(GET_BATCH).map(|batch| self.get_values(batch)));
        let tags = try_join_all(names.iter().map(|name| {
            let arn = arn_of(name);
            let unique = per_arn.get(&arn) == Some(&1);
            let found = indexed
                .get(&arn)
                .filter(|_| unique)
                .map(|(_, t)| (*t).clone());
            async move {
                match found {
                    Some(t) => Ok(Some(t)),
                    None => self.tags_of(name).await,
                }
            }
        }));
        let (values, tags) = futures::try_join!(values, tags)?;
        let values: BTreeMap<String, Parameter> = values
            .into_iter()
            .flatten()
            .filter_map(|p| Some((p.name()?.to_owned(), p)))
            .collect();
        let mut out = Vec::new();
        for (meta, tags) in metas.iter().zip(tags) {
            let (Some(name), Some(tags)) = (meta.name(), tags) else {
                continue;
            };
            let Some(address) =
                owned_address(cx.stack, tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            else {
                continue;
            };
            let ty = meta
                .r#type()
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default();
            let mut tags = tags;
            let version = take_secret_version(&mut tags);
            let param = values.get(name);
            let value = if is_secret(meta) {
                // A value taken from the environment compares by version whatever the type.
                Value::Secret(Secret::as_read(version))
            } else {
                // Deleted between the two calls.
                let Some(param) = param else {
                    continue;
                };
                Value::Str(param.value().unwrap_or_default().to_owned())
            };
            let arn = known_arn(meta).or_else(|| param.and_then(|p| p.arn()).map(str::to_owned));
            let mut live = Live::new(&address, KIND, name);
            if let Some(arn) = &arn {
                live.outputs.insert("arn".into(), arn.clone());
            }
            live.props
                .insert("name".into(), Value::Str(name.to_owned()));
            live.props.insert("type".into(), Value::Str(ty));
            live.props.insert("value".into(), value);
            if let Some(key) = meta.key_id() {
                live.props
                    .insert("kms_key".into(), Value::Str(key_arn(key, arn.as_deref())));
            }
            if let Some(description) = meta.description() {
                live.props
                    .insert("description".into(), Value::Str(description.to_owned()));
            }
            live.tags = tags;
            out.push(live);
        }
        Ok(out)
    }

    /// A parameter of the declared name that the stack's read did not claim: its metadata and tags,
    /// never its value (nothing is decrypted to find out whose it is; an adoption writes the value).
    async fn find(&self, _cx: &ReadCx<'_>, r: &Resource) -> Result<Option<Live>> {
        let Some(name) = r.props.get("name").and_then(Value::as_str) else {
            return Ok(None);
        };
        let filter = ParameterStringFilter::builder()
            .key("Name")
            .option("Equals")
            .values(name)
            .build()?;
        let out = self
            .client
            .describe_parameters()
            .parameter_filters(filter)
            .send()
            .await
            .map_err(|e| sdk_error("DescribeParameters", e))?;
        let Some(meta) = out.parameters().iter().find(|m| m.name() == Some(name)) else {
            return Ok(None);
        };
        let Some(tags) = self.tags_of(name).await? else {
            return Ok(None);
        };
        let mut live = Live::new(&r.address, KIND, name);
        live.props
            .insert("name".into(), Value::Str(name.to_owned()));
        if let Some(ty) = meta.r#type() {
            live.props
                .insert("type".into(), Value::Str(ty.as_str().to_owned()));
        }
        if let Some(description) = meta.description() {
            live.props
                .insert("description".into(), Value::Str(description.to_owned()));
        }
        live.tags = tags;
        Ok(Some(live))
    }

    async fn create(&self, r: &Resolved) -> Result<Live> {
        self.create_parameter(r)
            .await
            .with_context(|| format!("creating {}", r.address))
    }

    async fn update(&self, r: &Resolved, live: &Live, changed: &[String]) -> Result<Live> {
        let name = live.id.as_str();
        let mut put = false;
        for field in changed {
            let done = match field.as_str() {
                "tags" => sync_tags(&self.client, name, &r.tags, &live.tags).await,
                // One overwrite carries every attribute.
                "value" | "type" | "kms_key" | "description" if !put => {
                    put = true;
                    self.put(r, name, true).await
                }
                "value" | "type" | "kms_key" | "description" => Ok(()),
                other => Err(unhandled(KIND, other)),
            };
            done.with_context(|| format!("updating {} ({field})", r.address))?;
        }
        Ok(updated(r, live))
    }

    async fn delete(&self, live: &Live) -> Result<()> {
        match self.client.delete_parameter().name(&live.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if error_code(&e) == Some("ParameterNotFound") => Ok(()),
            Err(e) => Err(sdk_error("DeleteParameter", e))
                .with_context(|| format!("deleting {} ({})", live.address, live.id)),
        }
    }
}

impl Ssm {
    async fn describe_stack(&self, stack: &str) -> Result<Vec<ParameterMetadata>> {
        let filter = ParameterStringFilter::builder()
            .key(format!("tag:{TAG_STACK}"))
            .option("Equals")
            .values(stack)
            .build()?;
        let pages = self
            .client
            .describe_parameters()
            .parameter_filters(filter)
            // The most AWS allows a page (the default is 10).
            .max_results(50)
            .into_paginator()
            .send()
            .all("DescribeParameters")
            .await?;
        Ok(pages
            .into_iter()
            .flat_map(|p| p.parameters.unwrap_or_default())
            .filter(|m| m.name().is_some())
            .collect())
    }

    async fn get_values(&self, names: &[&str]) -> Result<Vec<Parameter>> {
        let out = self
            .client
            .get_parameters()
            .set_names(Some(names.iter().map(|n| (*n).to_owned()).collect()))
            // Only plain values are wanted: nothing is decrypted.
            .with_decryption(false)
            .send()
            .await
            .map_err(|e| sdk_error("GetParameters", e))?;
        Ok(out.parameters.unwrap_or_default())
    }

    /// The parameter's tags, or `None` when it no longer exists.
    async fn tags_of(&self, name: &str) -> Result<Option<Tags>> {
        match self
            .client
            .list_tags_for_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(name)
            .send()
            .await
        {
            Ok(out) => Ok(Some(user_tags(
                out.tag_list().iter().map(|t| (t.key(), t.value())),
            ))),
            Err(e)
                if matches!(
                    error_code(&e),
                    Some("InvalidResourceId" | "ParameterNotFound")
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(sdk_error("ListTagsForResource", e))
                .with_context(|| format!("parameter {name}")),
        }
    }

    async fn create_parameter(&self, r: &Resolved) -> Result<Live> {
        let name = r.props.str("name").context("`name` is required")?;
        self.put(r, name, false).await?;
        // PutParameter does not return the ARN, and the ARN needs the account id.
        let found = retry_while(
            CONSISTENCY_WAIT,
            |e| code(e, "ParameterNotFound"),
            || async {
                self.client
                    .get_parameter()
                    .name(name)
                    .with_decryption(false)
                    .send()
                    .await
                    .map_err(|e| AwsError::new("GetParameter", &e))
            },
        )
        .await;
        let param = match found {
            Ok(out) => out.parameter,
            Err(e) => {
                return Err(anyhow::Error::from(e))
                    .with_context(|| format!("parameter {name} was created"));
            }
        };
        let mut live = Live::new(&r.address, KIND, name);
        if let Some(arn) = param.as_ref().and_then(Parameter::arn) {
            live.outputs.insert("arn".into(), arn.to_owned());
        }
        live.tags = r.tags.clone();
        Ok(live)
    }

    /// PutParameter. AWS refuses tags together with `Overwrite`, so tags go only with the create.
    async fn put(&self, r: &Resolved, name: &str, overwrite: bool) -> Result<()> {
        let ty = r.props.str("type").unwrap_or("SecureString");
        let (value, secret) = value_of(&r.props).context("the parameter has no value")?;
        let key = r.props.str("kms_key").filter(|_| ty == "SecureString");
        // The version of a secret value goes with it, tagged after the value is written so that a
        // run cut in between writes it again rather than believe it written.
        let version = match r.props.get("value") {
            Some(Value::Secret(s)) => Some(s.version.to_string()),
            _ => None,
        };
        let tags = if overwrite {
            None
        } else {
            Some(
                r.tags
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .chain(version.as_deref().map(|v| (TAG_SECRET_VERSION, v)))
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect::<Result<Vec<_>, _>>()?,
            )
        };
        let res = self
            .client
            .put_parameter()
            .name(name)
            .r#type(ParameterType::from(ty))
            .value(value)
            .set_key_id(key.map(str::to_owned))
            .set_description(r.props.str("description").map(str::to_owned))
            .overwrite(overwrite)
            .set_tags(tags)
            .send()
            .await;
        match res {
            Ok(_) if overwrite => match version {
                Some(v) => {
                    self.add_tags(name, &[(TAG_SECRET_VERSION, v.as_str())])
                        .await
                }
                None => Ok(()),
            },
            Ok(_) => Ok(()),
            Err(e) => {
                let err = sdk_error("PutParameter", e);
                // Validation messages may quote the value; never let a secret through.
                Err(if secret {
                    crate::provider::redact(err, value)
                } else {
                    err
                })
            }
        }
    }

    async fn add_tags(&self, name: &str, tags: &[(&str, &str)]) -> Result<()> {
        self.client.tag(name, tags.to_vec()).await
    }
}

/// The value to write and whether it is secret.
fn value_of(props: &Props) -> Option<(&str, bool)> {
    props
        .secret("value")
        .map(|v| (v, true))
        .or_else(|| props.str("value").map(|v| (v, false)))
}

/// The KMS key as an ARN when AWS reports a bare key id (the account and region come from the parameter's ARN);
/// aliases and ARNs are kept as reported.
fn key_arn(key: &str, parameter_arn: Option<&str>) -> String {
    if key.starts_with("arn:") || key.starts_with("alias/") {
        return key.to_owned();
    }
    match parameter_arn.map(|a| a.splitn(6, ':').collect::<Vec<_>>()) {
        Some(p) if p.len() == 6 => format!("arn:{}:kms:{}:{}:key/{key}", p[1], p[3], p[4]),
        _ => key.to_owned(),
    }
}

#[async_trait]
impl TagApi for aws_sdk_ssm::Client {
    async fn tag(&self, id: &str, set: Vec<(&str, &str)>) -> Result<()> {
        let tags = set
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()?;
        self.add_tags_to_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(id)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| sdk_error("AddTagsToResource", e))?;
        Ok(())
    }

    async fn untag(&self, id: &str, keys: Vec<String>, _have: &Tags) -> Result<()> {
        self.remove_tags_from_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(id)
            .set_tag_keys(Some(keys))
            .send()
            .await
            .map_err(|e| sdk_error("RemoveTagsFromResource", e))?;
        Ok(())
    }
}
