//! ECR private repositories: tag mutability, scan on push, encryption, lifecycle and repository policies, tags.
//!
//! The tagging API does not index ECR everywhere (moto's does not), so repositories are found by listing
//! them and reading their tags.

use anyhow::{Context, Result, anyhow};
use async_trait::async_trait;
use aws_sdk_ecr::types::{
    EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability,
    Repository, Tag,
};
use futures::future::try_join_all;
use futures::{StreamExt, TryStreamExt};

use super::toolkit::{
    AllItems, Driver, ReadCx, absent_if, build_tags, error_code, owned_address, sdk_error,
    sync_tags, unhandled, updated, user_tags,
};
use crate::model::{Live, PropsExt, Resolved, Resource, Tags, Value};

const KIND: &str = "ecr_repository";
const NOT_FOUND: &[&str] = &["RepositoryNotFoundException"];
/// Concurrent `ListTagsForResource` calls while reading.
const TAG_LOOKUPS: usize = 8;

pub struct Ecr {
    client: aws_sdk_ecr::Client,
}

impl Ecr {
    pub fn new(client: aws_sdk_ecr::Client) -> Ecr {
        Ecr { client }
    }
}

#[async_trait]
impl Driver for Ecr {
    fn kinds(&self) -> &'static [&'static str] {
        &[KIND]
    }

    fn service(&self) -> &'static str {
        "ECR"
    }

    fn uses_tag_index(&self) -> bool {
        false
    }

    async fn read(&self, cx: &ReadCx<'_>) -> Result<Vec<Live>> {
        let repos: Vec<Repository> = self
            .client
            .describe_repositories()
            .into_paginator()
            .items()
            .send()
            .all("DescribeRepositories")
            .await?;
        // One tag lookup per repository, a few at a time: ECR's request rate limits are per account.
        let arns: Vec<Option<String>> = repos
            .iter()
            .map(|r| r.repository_arn().map(str::to_owned))
            .collect();
        // Where the tagging API lists repositories (AWS does, moto does not) their tags come with it.
        let index = cx.index().await?;
        let index = &index;
        let owned: Vec<Option<(String, Tags)>> = futures::stream::iter(arns)
            .map(|arn: Option<String>| async move {
                let Some(arn) = arn else {
                    return Ok(None);
                };
                let tags = match index.tags(&arn) {
                    Some(t) => t.clone(),
                    None => match self.tags_of(&arn).await? {
                        Some(t) => t,
                        None => return Ok(None),
                    },
                };
                let address =
                    owned_address(cx.stack, tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                Ok::<_, anyhow::Error>(address.map(|a| (a, tags)))
            })
            .buffered(TAG_LOOKUPS)
            .try_collect()
            .await?;
        let lives = repos
            .iter()
            .zip(owned)
            .filter_map(|(repo, owned)| owned.map(|(a, tags)| self.live(repo, a, tags)));
        Ok(try_join_all(lives).await?.into_iter().flatten().collect())
    }

    async fn find(&self, _cx: &ReadCx<'_>, r: &Resource) -> Result<Option<Live>> {
        let Some(name) = r.props.get("repository_name").and_then(Value::as_str) else {
            return Ok(None);
        };
        let res = self
            .client
            .describe_repositories()
            .repository_names(name)
            .send()
            .await;
        let Some(repo) = absent_if("DescribeRepositories", res, NOT_FOUND)?
            .and_then(|o| o.repositories.unwrap_or_default().into_iter().next())
        else {
            return Ok(None);
        };
        let tags = match repo.repository_arn() {
            Some(arn) => self.tags_of(arn).await?.unwrap_or_default(),
            None => Tags::new(),
        };
        self.live(&repo, r.address.clone(), tags).await
    }

    async fn create(&self, r: &Resolved) -> Result<Live> {
        self.create_repository(r)
            .await
            .with_context(|| format!("creating {}", r.address))
    }

    async fn update(&self, r: &Resolved, live: &Live, changed: &[String]) -> Result<Live> {
        let name = live.id.as_str();
        let arn = live.outputs.get("arn").cloned().unwrap_or_default();
        for field in changed {
            let done = match field.as_str() {
                "image_tag_mutability" => self.put_mutability(name, &r.props).await,
                "scan_on_push" => self.put_scanning(name, &r.props).await,
                "lifecycle_policy" => self.put_lifecycle(name, &r.props).await,
                "repository_policy" => self.put_policy(name, &r.props).await,
                "tags" => sync_tags(&self.client, &arn, &r.tags, &live.tags).await,
                other => Err(unhandled("ecr_repository", other)),
            };
            done.with_context(|| format!("updating {} ({field})", r.address))?;
        }
        Ok(updated(r, live))
    }

    async fn delete(&self, live: &Live) -> Result<()> {
        let force = live.props.bool_or("force_delete", false);
        let res = self
            .client
            .delete_repository()
            .repository_name(&live.id)
            .force(force)
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if error_code(&e).is_some_and(|c| NOT_FOUND.contains(&c)) => Ok(()),
            Err(e) if error_code(&e) == Some("RepositoryNotEmptyException") => Err(anyhow!(
                "{}: the repository still holds images; delete them, or set `force_delete = true` to delete them with it",
                sdk_error("DeleteRepository", e)
            )),
            Err(e) => Err(sdk_error("DeleteRepository", e)),
        }
        .with_context(|| format!("deleting {} ({})", live.address, live.id))
    }
}

impl Ecr {
    /// The repository's tags, or `None` when it is gone.
    async fn tags_of(&self, arn: &str) -> Result<Option<Tags>> {
        let out = absent_if(
            "ListTagsForResource",
            self.client
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await,
            NOT_FOUND,
        )?;
        Ok(out.map(|o| user_tags(o.tags().iter().map(|t| (t.key(), t.value())))))
    }

    /// The live resource with its policies, or `None` when it was deleted meanwhile.
    async fn live(&self, repo: &Repository, address: String, tags: Tags) -> Result<Option<Live>> {
        let name = repo.repository_name().unwrap_or_default();
        let lifecycle = async {
            let out = absent_if(
                "GetLifecyclePolicy",
                self.client
                    .get_lifecycle_policy()
                    .repository_name(name)
                    .send()
                    .await,
                &["LifecyclePolicyNotFoundException", NOT_FOUND[0]],
            )?;
            out.and_then(|o| o.lifecycle_policy_text)
                .map(|t| serde_json::from_str(&t).context("the lifecycle policy is not JSON"))
                .transpose()
        };
        let policy = async {
            let out = absent_if(
                "GetRepositoryPolicy",
                self.client
                    .get_repository_policy()
                    .repository_name(name)
                    .send()
                    .await,
                &["RepositoryPolicyNotFoundException", NOT_FOUND[0]],
            )?;
            out.and_then(|o| o.policy_text)
                .map(|t| serde_json::from_str(&t).context("the repository policy is not JSON"))
                .transpose()
        };
        let (lifecycle, policy): (Option<serde_json::Value>, Option<serde_json::Value>) =
            futures::try_join!(lifecycle, policy)?;

        let mut live = Live::new(&address, KIND, name);
        if let Some(arn) = repo.repository_arn() {
            live.outputs.insert("arn".into(), arn.to_owned());
        }
        if let Some(uri) = repo.repository_uri() {
            live.outputs.insert("repository_url".into(), uri.to_owned());
        }
        let p = &mut live.props;
        p.insert("repository_name".into(), Value::Str(name.to_owned()));
        if let Some(m) = repo.image_tag_mutability() {
            p.insert(
                "image_tag_mutability".into(),
                Value::Str(m.as_str().to_owned()),
            );
        }
        p.insert(
            "scan_on_push".into(),
            Value::Bool(
                repo.image_scanning_configuration()
                    .is_some_and(|s| s.scan_on_push()),
            ),
        );
        let enc = repo.encryption_configuration();
        p.insert(
            "encryption_type".into(),
            Value::Str(
                enc.map(|e| e.encryption_type().as_str().to_owned())
                    .unwrap_or_else(|| "AES256".into()),
            ),
        );
        if let Some(key) = enc.and_then(|e| e.kms_key()) {
            p.insert("kms_key".into(), Value::Str(key.to_owned()));
        }
        if let Some(l) = lifecycle {
            p.insert("lifecycle_policy".into(), Value::Json(l));
        }
        if let Some(pol) = policy {
            p.insert("repository_policy".into(), Value::Json(pol));
        }
        live.tags = tags;
        Ok(Some(live))
    }

    async fn create_repository(&self, r: &Resolved) -> Result<Live> {
        let name = r
            .props
            .str("repository_name")
            .context("`repository_name` is required")?;
        let encryption = match r.props.str("encryption_type") {
            Some("KMS") => EncryptionConfiguration::builder()
                .encryption_type(EncryptionType::Kms)
                .set_kms_key(r.props.str("kms_key").map(str::to_owned))
                .build()?,
            _ => EncryptionConfiguration::builder()
                .encryption_type(EncryptionType::Aes256)
                .build()?,
        };
        let tags = r
            .tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()?;
        let res = self
            .client
            .create_repository()
            .repository_name(name)
            .image_tag_mutability(mutability(&r.props))
            .image_scanning_configuration(
                ImageScanningConfiguration::builder()
                    .scan_on_push(r.props.bool_or("scan_on_push", true))
                    .build(),
            )
            .encryption_configuration(encryption)
            .set_tags(Some(tags))
            .send()
            .await;
        let repo = match res {
            Ok(out) => out
                .repository
                .context("CreateRepository returned no repository")?,
            // A lost reply: the repository is ours only if it carries our address.
            Err(e) if error_code(&e) == Some("RepositoryAlreadyExistsException") => {
                let out = self
                    .client
                    .describe_repositories()
                    .repository_names(name)
                    .send()
                    .await
                    .map_err(|e| sdk_error("DescribeRepositories", e))?;
                let repo = out
                    .repositories
                    .unwrap_or_default()
                    .into_iter()
                    .next()
                    .context("the repository vanished")?;
                let tags = self
                    .tags_of(repo.repository_arn().unwrap_or_default())
                    .await?
                    .unwrap_or_default();
                if tags.get(crate::model::TAG_ADDRESS) != r.tags.get(crate::model::TAG_ADDRESS)
                    || tags.get(crate::model::TAG_STACK) != r.tags.get(crate::model::TAG_STACK)
                {
                    return Err(anyhow!(
                        "repository `{name}` already exists and is not {} of this stack",
                        r.address
                    ));
                }
                repo
            }
            Err(e) => return Err(sdk_error("CreateRepository", e)),
        };
        if r.props.json("lifecycle_policy").is_some() {
            self.put_lifecycle(name, &r.props).await?;
        }
        if r.props.json("repository_policy").is_some() {
            self.put_policy(name, &r.props).await?;
        }
        let mut live = Live::new(&r.address, KIND, name);
        if let Some(arn) = repo.repository_arn() {
            live.outputs.insert("arn".into(), arn.to_owned());
        }
        if let Some(uri) = repo.repository_uri() {
            live.outputs.insert("repository_url".into(), uri.to_owned());
        }
        live.tags = r.tags.clone();
        Ok(live)
    }

    async fn put_mutability(&self, name: &str, props: &crate::model::Props) -> Result<()> {
        self.client
            .put_image_tag_mutability()
            .repository_name(name)
            .image_tag_mutability(mutability(props))
            .send()
            .await
            .map_err(|e| sdk_error("PutImageTagMutability", e))?;
        Ok(())
    }

    async fn put_scanning(&self, name: &str, props: &crate::model::Props) -> Result<()> {
        self.client
            .put_image_scanning_configuration()
            .repository_name(name)
            .image_scanning_configuration(
                ImageScanningConfiguration::builder()
                    .scan_on_push(props.bool_or("scan_on_push", true))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| sdk_error("PutImageScanningConfiguration", e))?;
        Ok(())
    }

    /// Writes the declared lifecycle policy; an undeclared one is left alone (unmanaged).
    async fn put_lifecycle(&self, name: &str, props: &crate::model::Props) -> Result<()> {
        let Some(policy) = props.json("lifecycle_policy") else {
            return Ok(());
        };
        self.client
            .put_lifecycle_policy()
            .repository_name(name)
            .lifecycle_policy_text(serde_json::to_string(policy)?)
            .send()
            .await
            .map_err(|e| sdk_error("PutLifecyclePolicy", e))?;
        Ok(())
    }

    /// Writes the declared repository policy; an undeclared one is left alone (unmanaged).
    async fn put_policy(&self, name: &str, props: &crate::model::Props) -> Result<()> {
        let Some(policy) = props.json("repository_policy") else {
            return Ok(());
        };
        self.client
            .set_repository_policy()
            .repository_name(name)
            .policy_text(serde_json::to_string(policy)?)
            .send()
            .await
            .map_err(|e| sdk_error("SetRepositoryPolicy", e))?;
        Ok(())
    }
}

fn mutability(props: &crate::model::Props) -> ImageTagMutability {
    ImageTagMutability::from(props.str("image_tag_mutability").unwrap_or("IMMUTABLE"))
}

/// Tags as ECR takes them.
fn ecr_tags(set: Vec<(&str, &str)>) -> Result<Vec<Tag>> {
    build_tags(set, |k, v| Tag::builder().key(k).value(v).build())
}

crate::tag_resource_api!(aws_sdk_ecr::Client, resource_arn, ecr_tags);
