//! S3 general purpose buckets: default encryption, public access block, versioning, policy and tags.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use async_trait::async_trait;
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, Delete,
    ObjectIdentifier, ObjectOwnership, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag, Tagging, VersioningConfiguration,
};
use futures::future::try_join_all;

use super::toolkit::{
    AllItems, Driver, ReadCx, Undeclared, error_code, owned_address, partition, sdk_error,
    unhandled, updated, user_tags,
};
use crate::model::{Live, PropsExt, Resolved, Resource, TAG_ADDRESS, TAG_STACK, Tags, Value};

const KIND: &str = "s3_bucket";
/// How long the first call after CreateBucket retries NoSuchBucket (S3 is eventually consistent there).
const CONSISTENCY_WAIT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_secs(1);

pub struct S3 {
    client: aws_sdk_s3::Client,
}

impl S3 {
    pub fn new(client: aws_sdk_s3::Client) -> S3 {
        S3 { client }
    }
}

/// The bucket disappeared while being read: it is simply not part of the stack any more.
#[derive(Debug)]
struct Gone;

impl fmt::Display for Gone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NoSuchBucket")
    }
}

impl std::error::Error for Gone {}

/// Map an SDK error: NoSuchBucket becomes [`Gone`], the `absent` codes (configuration not set) `Ok(None)`.
fn absent_or<T, E>(
    res: Result<T, aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>>,
    op: &str,
    absent: &[&str],
) -> Result<Option<T>>
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match res {
        Ok(v) => Ok(Some(v)),
        Err(e) if error_code(&e) == Some("NoSuchBucket") => Err(Gone.into()),
        Err(e) if error_code(&e).is_some_and(|c| absent.contains(&c)) => Ok(None),
        Err(e) => Err(sdk_error(op, e)),
    }
}

#[async_trait]
impl Driver for S3 {
    fn kinds(&self) -> &'static [&'static str] {
        &[KIND]
    }

    fn service(&self) -> &'static str {
        "S3"
    }

    fn undeclared(&self, _kind: &str) -> Undeclared {
        Undeclared::Listing
    }

    async fn read(&self, cx: &ReadCx<'_>) -> Result<Vec<Live>> {
        // Tags come from the index `cx.tagged` is taken from. The index can miss buckets (LocalStack's
        // does not list them): ListBuckets confirms, and only the buckets the index did not list have
        // their tags read one by one.
        let index = cx.index().await?;
        let found = stack_buckets(&self.client, cx).await?;
        let tagged: Vec<(String, String)> = found
            .iter()
            .map(|(a, arn, _)| (a.clone(), arn.clone()))
            .collect();
        let listed_tags: BTreeMap<String, Tags> = found
            .iter()
            .filter_map(|(_, arn, t)| Some((arn.clone(), t.clone()?)))
            .collect();
        let all = try_join_all(tagged.iter().map(|(address, arn)| {
            let index = &index;
            let listed_tags = &listed_tags;
            async move {
                // arn:aws:s3:::name
                let name = arn.rsplit(':').next().unwrap_or_default();
                // The policy is read only where the file manages it (an omitted `policy` is AWS's
                // business, and an s3_bucket_policy resource reads it through the same shared read).
                let wants_policy = cx.desired.iter().any(|r| {
                    &r.address == address
                        && r.props.get("policy").is_some_and(|v| *v != Value::Null)
                });
                match self
                    .read_bucket(
                        cx,
                        address,
                        name,
                        arn,
                        index.tags(arn).or(listed_tags.get(arn)),
                        wants_policy,
                    )
                    .await
                {
                    Ok(live) => Ok(Some(live)),
                    Err(e) if e.is::<Gone>() => Ok(None),
                    Err(e) => Err(e.context(format!("{address} (bucket {name})"))),
                }
            }
        }))
        .await?;
        Ok(all.into_iter().flatten().collect())
    }

    async fn find(&self, cx: &ReadCx<'_>, r: &Resource) -> Result<Option<Live>> {
        let Some(name) = r.props.get("bucket").and_then(Value::as_str) else {
            return Ok(None);
        };
        // Bucket names are global: a 404 is free, a 403 is another account's (CreateBucket will say
        // so); a 200 is this account's.
        match self.client.head_bucket().bucket(name).send().await {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.raw_response().map(|r| r.status().as_u16()),
                    Some(403 | 404 | 301)
                ) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(sdk_error("HeadBucket", e)),
        }
        let arn = format!("arn:{}:s3:::{name}", partition(&self.region()));
        let wants_policy = r.props.get("policy").is_some_and(|v| *v != Value::Null);
        match self
            .read_bucket(cx, &r.address, name, &arn, None, wants_policy)
            .await
        {
            Ok(live) => Ok(Some(live)),
            Err(e) if e.is::<Gone>() => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn create(&self, r: &Resolved) -> Result<Live> {
        self.create_bucket(r)
            .await
            .with_context(|| format!("creating {}", r.address))
    }

    async fn update(&self, r: &Resolved, live: &Live, changed: &[String]) -> Result<Live> {
        let name = live.id.as_str();
        for field in changed {
            let done = match field.as_str() {
                "tags" => self.put_tags(name, &r.tags).await,
                "sse_algorithm" | "kms_key" => {
                    // Both live in one configuration: write it once.
                    if field == "kms_key" && changed.iter().any(|f| f == "sse_algorithm") {
                        continue;
                    }
                    self.put_encryption(name, r).await
                }
                "block_public_access" => {
                    self.put_public_access_block(name, r.props.bool_or("block_public_access", true))
                        .await
                }
                "versioning" => {
                    // Versioning cannot be turned off once on, only suspended.
                    let on = r.props.bool_or("versioning", true);
                    self.put_versioning(
                        name,
                        if on {
                            BucketVersioningStatus::Enabled
                        } else {
                            BucketVersioningStatus::Suspended
                        },
                    )
                    .await
                }
                "policy" => self.put_policy(name, r.props.json("policy")).await,
                other => Err(unhandled("s3_bucket", other)),
            };
            done.with_context(|| format!("updating {} ({field})", r.address))?;
        }
        Ok(updated(r, live))
    }

    async fn delete(&self, live: &Live) -> Result<()> {
        self.delete_bucket(&live.id, live.props.bool_or("force_destroy", false))
            .await
            .with_context(|| format!("deleting {} (bucket {})", live.address, live.id))
    }
}

/// A bucket's policy as GetBucketPolicy reports it.
pub enum BucketPolicy {
    Text(String),
    None,
    /// The bucket itself is gone.
    Gone,
}

/// The bucket's policy, read once per run however many kinds ask (s3_bucket and s3_bucket_policy).
pub async fn bucket_policy(
    c: &aws_sdk_s3::Client,
    run: &super::toolkit::ReadRun,
    name: &str,
) -> Result<std::sync::Arc<BucketPolicy>> {
    run.once(format!("s3:policy:{name}"), || async {
        match c.get_bucket_policy().bucket(name).send().await {
            Ok(o) => Ok(o
                .policy()
                .map_or(BucketPolicy::None, |p| BucketPolicy::Text(p.to_owned()))),
            Err(e) if error_code(&e) == Some("NoSuchBucketPolicy") => Ok(BucketPolicy::None),
            Err(e) if error_code(&e) == Some("NoSuchBucket") => Ok(BucketPolicy::Gone),
            Err(e) => Err(sdk_error("GetBucketPolicy", e)),
        }
    })
    .await
}

impl S3 {
    fn region(&self) -> String {
        self.client
            .config()
            .region()
            .map(|r| r.as_ref().to_owned())
            .unwrap_or_else(|| "us-east-1".into())
    }

    async fn read_bucket(
        &self,
        cx: &ReadCx<'_>,
        address: &str,
        name: &str,
        arn: &str,
        indexed_tags: Option<&Tags>,
        wants_policy: bool,
    ) -> Result<Live> {
        let c = &self.client;
        let encryption = async {
            let out = absent_or(
                c.get_bucket_encryption().bucket(name).send().await,
                "GetBucketEncryption",
                &["ServerSideEncryptionConfigurationNotFoundError"],
            )?;
            let rule = out
                .as_ref()
                .and_then(|o| o.server_side_encryption_configuration())
                .and_then(|c| c.rules().first())
                .and_then(|r| r.apply_server_side_encryption_by_default());
            Ok::<_, anyhow::Error>(rule.map(|d| {
                (
                    d.sse_algorithm().as_str().to_owned(),
                    d.kms_master_key_id().map(str::to_owned),
                )
            }))
        };
        let public_access = async {
            let out = absent_or(
                c.get_public_access_block().bucket(name).send().await,
                "GetPublicAccessBlock",
                &["NoSuchPublicAccessBlockConfiguration"],
            )?;
            let all = out
                .as_ref()
                .and_then(|o| o.public_access_block_configuration())
                .is_some_and(|p| {
                    [
                        p.block_public_acls(),
                        p.ignore_public_acls(),
                        p.block_public_policy(),
                        p.restrict_public_buckets(),
                    ]
                    .iter()
                    .all(|f| *f == Some(true))
                });
            Ok::<_, anyhow::Error>(all)
        };
        let versioning = async {
            // Never enabled and Suspended both read as off.
            let status = match c.get_bucket_versioning().bucket(name).send().await {
                Ok(out) => out.status().map(|s| s.as_str().to_owned()),
                Err(e) => match undecoded_body(&e) {
                    // moto answers with a `GetBucketVersioningResponse` root the SDK refuses; the payload is right.
                    Some(body) => xml_text(&body, "Status"),
                    None => absent_or::<Option<String>, _>(Err(e), "GetBucketVersioning", &[])?
                        .flatten(),
                },
            };
            Ok::<_, anyhow::Error>(status.as_deref() == Some("Enabled"))
        };
        let tags = async {
            if let Some(t) = indexed_tags {
                return Ok(t.clone());
            }
            let out = absent_or(
                c.get_bucket_tagging().bucket(name).send().await,
                "GetBucketTagging",
                &["NoSuchTagSet"],
            )?;
            Ok::<_, anyhow::Error>(
                out.map(|o| user_tags(o.tag_set().iter().map(|t| (t.key(), t.value()))))
                    .unwrap_or_default(),
            )
        };
        let policy = async {
            if !wants_policy {
                return Ok(None);
            }
            match bucket_policy(c, cx.run, name).await?.as_ref() {
                BucketPolicy::Gone => Err(Gone.into()),
                BucketPolicy::None => Ok(None),
                BucketPolicy::Text(p) => serde_json::from_str::<serde_json::Value>(p)
                    .context("the bucket policy AWS returned is not JSON")
                    .map(Some),
            }
        };
        let (encryption, public_access, versioning, tags, policy) =
            futures::try_join!(encryption, public_access, versioning, tags, policy)?;

        let mut live = Live::new(address, KIND, name);
        live.outputs.insert("arn".into(), arn.to_owned());
        live.outputs.insert(
            "regional_domain_name".into(),
            regional_domain_name(name, &self.region()),
        );
        live.props
            .insert("bucket".into(), Value::Str(name.to_owned()));
        if let Some((algorithm, key)) = encryption {
            live.props
                .insert("sse_algorithm".into(), Value::Str(algorithm));
            if let Some(key) = key {
                live.props.insert("kms_key".into(), Value::Str(key));
            }
        }
        live.props
            .insert("block_public_access".into(), Value::Bool(public_access));
        live.props
            .insert("versioning".into(), Value::Bool(versioning));
        if let Some(policy) = policy {
            live.props.insert("policy".into(), Value::Json(policy));
        }
        live.tags = tags;
        Ok(live)
    }

    /// Whether an existing bucket of this account may become `r`: untagged, or already tagged as `r`.
    async fn adoptable(&self, name: &str, r: &Resolved) -> Result<()> {
        let tags = match self.client.get_bucket_tagging().bucket(name).send().await {
            Ok(out) => out
                .tag_set()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect::<Vec<_>>(),
            Err(e) if error_code(&e) == Some("NoSuchTagSet") => vec![],
            Err(e) => return Err(sdk_error("GetBucketTagging", e)),
        };
        let owner = |key: &str| tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        match (owner(TAG_STACK), owner(TAG_ADDRESS)) {
            (None, None) => Ok(()),
            (s, a)
                if s == r.tags.get(TAG_STACK).map(String::as_str)
                    && a == Some(r.address.as_str()) =>
            {
                Ok(())
            }
            (s, a) => Err(anyhow!(
                "bucket {name} already exists in this account and belongs to {} in stack {}",
                a.unwrap_or("another resource"),
                s.unwrap_or("(none)")
            )),
        }
    }

    async fn create_bucket(&self, r: &Resolved) -> Result<Live> {
        let name = r.props.str("bucket").context("`bucket` is required")?;
        let region = self.region();
        let mut create = self
            .client
            .create_bucket()
            .bucket(name)
            // ACLs off: the bucket owner owns every object.
            .object_ownership(ObjectOwnership::BucketOwnerEnforced);
        // Tagged in the create itself, so a run cut off after it leaves no untagged bucket (the tags
        // are written again below for endpoints that ignore them here). us-east-1 rejects an explicit
        // location constraint.
        let mut config = CreateBucketConfiguration::builder().set_tags(Some(
            r.tags
                .iter()
                .map(|(k, v)| aws_sdk_s3::types::Tag::builder().key(k).value(v).build())
                .collect::<Result<Vec<_>, _>>()?,
        ));
        if region != "us-east-1" {
            config = config.location_constraint(BucketLocationConstraint::from(region.as_str()));
        }
        create = create.create_bucket_configuration(config.build());
        match create.send().await {
            Ok(_) => {}
            Err(e) if error_code(&e) == Some("BucketAlreadyOwnedByYou") => {}
            Err(e) => return Err(sdk_error("CreateBucket", e)),
        }
        // A create whose reply was lost, or that was interrupted before tagging, leaves our own
        // untagged bucket: take it over (us-east-1 even answers 200 to re-creating it), but never one
        // that another stack or resource owns.
        self.adoptable(name, r).await?;

        // Tag first so that a failure below leaves a bucket the stack still owns.
        let deadline = Instant::now() + CONSISTENCY_WAIT;
        loop {
            match self.put_tags(name, &r.tags).await {
                Err(e) if e.is::<Gone>() && Instant::now() < deadline => {
                    tokio::time::sleep(POLL).await
                }
                res => break res?,
            }
        }
        let rest = async {
            self.put_encryption(name, r).await?;
            if let Some(block) = r.props.get("block_public_access").and_then(Value::as_bool) {
                self.put_public_access_block(name, block).await?;
            }
            if r.props.bool_or("versioning", false) {
                self.put_versioning(name, BucketVersioningStatus::Enabled)
                    .await?;
            }
            if let Some(policy) = r.props.json("policy") {
                self.put_policy(name, Some(policy)).await?;
            }
            Ok::<_, anyhow::Error>(())
        };
        rest.await
            .with_context(|| format!("bucket {name} was created"))?;

        let mut live = Live::new(&r.address, KIND, name);
        live.outputs.insert(
            "arn".into(),
            format!("arn:{}:s3:::{name}", partition(&region)),
        );
        live.outputs.insert(
            "regional_domain_name".into(),
            regional_domain_name(name, &region),
        );
        live.tags = r.tags.clone();
        Ok(live)
    }

    async fn put_tags(&self, name: &str, tags: &Tags) -> Result<()> {
        if tags.is_empty() {
            return absent_or(
                self.client
                    .delete_bucket_tagging()
                    .bucket(name)
                    .send()
                    .await,
                "DeleteBucketTagging",
                &[],
            )
            .map(drop);
        }
        let set = tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()?;
        let tagging = Tagging::builder().set_tag_set(Some(set)).build()?;
        absent_or(
            self.client
                .put_bucket_tagging()
                .bucket(name)
                .tagging(tagging)
                .send()
                .await,
            "PutBucketTagging",
            &[],
        )
        .map(drop)
    }

    async fn put_encryption(&self, name: &str, r: &Resolved) -> Result<()> {
        let Some(algorithm) = r.props.str("sse_algorithm") else {
            return Ok(());
        };
        let algorithm = ServerSideEncryption::from(algorithm);
        let kms = algorithm == ServerSideEncryption::AwsKms;
        let key = r.props.str("kms_key").filter(|_| kms);
        if kms && key.is_none() {
            bail!("sse_algorithm aws:kms needs kms_key");
        }
        let default = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(algorithm)
            .set_kms_master_key_id(key.map(str::to_owned))
            .build()?;
        let mut rule =
            ServerSideEncryptionRule::builder().apply_server_side_encryption_by_default(default);
        if kms {
            // An S3 bucket key cuts the KMS requests (and their cost) for SSE-KMS objects.
            rule = rule.bucket_key_enabled(true);
        }
        let config = ServerSideEncryptionConfiguration::builder()
            .rules(rule.build())
            .build()?;
        self.client
            .put_bucket_encryption()
            .bucket(name)
            .server_side_encryption_configuration(config)
            .send()
            .await
            .map(drop)
            .map_err(|e| sdk_error("PutBucketEncryption", e))
    }

    async fn put_public_access_block(&self, name: &str, block: bool) -> Result<()> {
        let config = PublicAccessBlockConfiguration::builder()
            .block_public_acls(block)
            .ignore_public_acls(block)
            .block_public_policy(block)
            .restrict_public_buckets(block)
            .build();
        self.client
            .put_public_access_block()
            .bucket(name)
            .public_access_block_configuration(config)
            .send()
            .await
            .map(drop)
            .map_err(|e| sdk_error("PutPublicAccessBlock", e))
    }

    async fn put_versioning(&self, name: &str, status: BucketVersioningStatus) -> Result<()> {
        self.client
            .put_bucket_versioning()
            .bucket(name)
            .versioning_configuration(VersioningConfiguration::builder().status(status).build())
            .send()
            .await
            .map(drop)
            .map_err(|e| sdk_error("PutBucketVersioning", e))
    }

    async fn put_policy(&self, name: &str, policy: Option<&serde_json::Value>) -> Result<()> {
        match policy {
            Some(policy) => self
                .client
                .put_bucket_policy()
                .bucket(name)
                .policy(serde_json::to_string(policy)?)
                .send()
                .await
                .map(drop)
                .map_err(|e| sdk_error("PutBucketPolicy", e)),
            None => self
                .client
                .delete_bucket_policy()
                .bucket(name)
                .send()
                .await
                .map(drop)
                .map_err(|e| sdk_error("DeleteBucketPolicy", e)),
        }
    }

    async fn delete_bucket(&self, name: &str, force: bool) -> Result<()> {
        match self.empty(name, force).await {
            Err(e) if e.is::<Gone>() => return Ok(()),
            res => res?,
        }
        match self.client.delete_bucket().bucket(name).send().await {
            Ok(_) => Ok(()),
            Err(e) if error_code(&e) == Some("NoSuchBucket") => Ok(()),
            Err(e) => Err(sdk_error("DeleteBucket", e)),
        }
    }

    /// Delete every object version and delete marker, a page at a time; refuse unless `force`.
    async fn empty(&self, name: &str, force: bool) -> Result<()> {
        loop {
            // Without force one entry is enough to know the answer.
            let list = self
                .client
                .list_object_versions()
                .bucket(name)
                .set_max_keys((!force).then_some(1));
            let page = absent_or(list.send().await, "ListObjectVersions", &[])?
                .context("ListObjectVersions returned nothing")?;
            let ids = page
                .versions()
                .iter()
                .map(|v| (v.key(), v.version_id()))
                .chain(
                    page.delete_markers()
                        .iter()
                        .map(|m| (m.key(), m.version_id())),
                )
                .filter_map(|(key, version)| {
                    ObjectIdentifier::builder()
                        .set_key(key.map(str::to_owned))
                        .set_version_id(version.map(str::to_owned))
                        .build()
                        .ok()
                })
                .collect::<Vec<_>>();
            if ids.is_empty() {
                return Ok(());
            }
            if !force {
                bail!(
                    "bucket {name} is not empty; set force_destroy = true to let zinfra delete its objects"
                );
            }
            let out = absent_or(
                self.client
                    .delete_objects()
                    .bucket(name)
                    .delete(
                        Delete::builder()
                            .set_objects(Some(ids))
                            .quiet(true)
                            .build()?,
                    )
                    .send()
                    .await,
                "DeleteObjects",
                &[],
            )?;
            if let Some(err) = out.as_ref().and_then(|o| o.errors().first()) {
                bail!(
                    "DeleteObjects: {}: {} ({} objects not deleted, first: {})",
                    err.code().unwrap_or("error"),
                    err.message().unwrap_or_default(),
                    out.as_ref().map(|o| o.errors().len()).unwrap_or_default(),
                    err.key().unwrap_or_default()
                );
            }
        }
    }
}

/// The body of a successful response the SDK could not decode (no AWS error code: a 2xx it failed to parse).
fn undecoded_body<E>(
    e: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> Option<String>
where
    E: aws_sdk_s3::error::ProvideErrorMetadata,
{
    use aws_sdk_s3::error::SdkError;
    match e {
        SdkError::ServiceError(se) if error_code(e).is_none() && se.raw().status().is_success() => {
            se.raw()
                .body()
                .bytes()
                .map(|b| String::from_utf8_lossy(b).into_owned())
        }
        _ => None,
    }
}

/// The text of the first `<tag>` element of a small XML document.
fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = start + xml[start..].find(&format!("</{tag}>"))?;
    Some(xml[start..end].to_owned())
}

/// The bucket's regional endpoint, the domain CloudFront reaches an S3 origin by.
pub fn regional_domain_name(bucket: &str, region: &str) -> String {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("{bucket}.s3.{region}.{suffix}")
}

/// The stack's buckets, once per run for `s3_bucket` and `s3_bucket_policy`: (address, ARN, tags when
/// not from the index). The tag index can miss buckets (LocalStack's does not list them), so
/// ListBuckets confirms it and only the buckets the index did not list have their tags read.
pub async fn stack_buckets(
    client: &aws_sdk_s3::Client,
    cx: &ReadCx<'_>,
) -> Result<Arc<Vec<(String, String, Option<Tags>)>>> {
    let (client, stack) = (client.clone(), cx.stack.to_owned());
    let index = cx.index().await?;
    cx.run
        .once("s3:stack-buckets", || async move {
            let known = index.of_kind(KIND);
            let mut out: Vec<(String, String, Option<Tags>)> = known
                .iter()
                .map(|(a, arn)| (a.clone(), arn.clone(), None))
                .collect();
            for (a, arn, t) in unindexed_buckets(&client, &stack, &known).await? {
                out.push((a, arn, Some(t)));
            }
            Ok(out)
        })
        .await
}

async fn unindexed_buckets(
    client: &aws_sdk_s3::Client,
    stack: &str,
    known: &[(String, String)],
) -> Result<Vec<(String, String, Tags)>> {
    let region = client
        .config()
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "us-east-1".into());
    let buckets = client
        .list_buckets()
        .bucket_region(&region)
        .into_paginator()
        .send()
        .all("ListBuckets")
        .await?;
    let names: Vec<String> = buckets
        .iter()
        .flat_map(|page| page.buckets())
        .filter(|b| b.bucket_region().is_none_or(|r| r == region))
        .filter_map(|b| b.name().map(str::to_owned))
        .filter(|n| {
            !known
                .iter()
                .any(|(_, arn)| arn.rsplit(':').next() == Some(n))
        })
        // The lock store's bucket (crate::drivers::lock::s3) belongs to no stack.
        .filter(|n| !n.starts_with(crate::drivers::lock::s3::BUCKET_PREFIX))
        .collect();
    let region = &region;
    let found = try_join_all(names.iter().map(|name| async move {
        let tags = match client.get_bucket_tagging().bucket(name).send().await {
            Ok(out) => user_tags(out.tag_set().iter().map(|t| (t.key(), t.value()))),
            // No tags, gone since the listing, in another region, or not readable: not the stack's.
            Err(e)
                if matches!(
                    error_code(&e),
                    Some(
                        "NoSuchTagSet"
                            | "NoSuchBucket"
                            | "AccessDenied"
                            | "PermanentRedirect"
                            | "AuthorizationHeaderMalformed"
                    )
                ) || e.raw_response().is_some_and(|r| r.status().as_u16() == 301) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(sdk_error("GetBucketTagging", e)),
        };
        let address = owned_address(stack, tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let arn = format!("arn:{}:s3:::{name}", partition(region));
        Ok::<_, anyhow::Error>(address.map(|a| (a, arn, tags)))
    }))
    .await?;
    Ok(found.into_iter().flatten().collect())
}
