//! AWS drivers: one module per service behind the small [`Driver`] trait.
//! The engine talks to [`Aws`] through [`crate::provider::Provider`] and never sees SDK types.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use async_trait::async_trait;

use crate::model::{Address, Live, Resolved, Resource, TAG_ADDRESS, TAG_STACK, Tags, kind_of};
use crate::provider::{Provider, StackInfo};

pub mod acm;
pub mod cloudfront;
pub mod dynamodb;
pub mod ec2;
pub mod ecr;
pub mod ecs;
pub mod elasticache;
pub mod elbv2;
pub mod guardduty;
pub mod iam;
pub mod kafka;
pub mod kms;
pub mod lock;
pub mod ratelimit;
pub mod retry;
pub mod route53;
pub mod s3;
pub mod s3_bucket_policy;
pub mod securityhub;
pub mod singleton;
pub mod ssm;
pub mod wafv2;

/// What a driver is given to find a stack's live resources of one kind.
pub struct ReadCx<'a> {
    pub stack: &'a str,
    pub kind: &'a str,
    /// The resources of this kind the stack file declares.
    pub desired: Vec<&'a Resource>,
    /// (address, ARN) of every resource of this kind tagged for the stack, from one tagging-API call.
    /// An address may come more than once (a key pending deletion beside its successor, a lost-reply
    /// duplicate, a stale index entry): drivers read each and drop the ones that are gone.
    pub tagged: Vec<(Address, String)>,
    /// What every kind's read in this run shares: the tag indexes and lists several kinds need.
    pub run: &'a ReadRun,
}

impl ReadCx<'_> {
    /// The stack's tag index in its own region (the listing `tagged` comes from).
    pub async fn index(&self) -> Result<Arc<TagIndex>> {
        self.run.index().await
    }

    /// The stack's tag index in us-east-1, where CloudFront and what it uses live.
    pub async fn global_index(&self) -> Result<Arc<TagIndex>> {
        self.run.global_index().await
    }
}

/// Everything tagged for one stack in one region, from the Resource Groups Tagging API (GetResources
/// filtered by the stack tag, 100 resources a page): ARN → address and tags. A driver of a service the
/// API covers needs no tag read of its own: a resource's tags come with it here.
#[derive(Debug, Default)]
pub struct TagIndex {
    entries: Vec<(Address, String)>,
    tags: HashMap<String, Tags>,
}

impl TagIndex {
    /// (address, ARN) of the stack's resources of `kind`, in the order AWS listed them.
    pub fn of_kind(&self, kind: &str) -> Vec<(Address, String)> {
        self.entries
            .iter()
            .filter(|(a, _)| kind_of(a) == kind)
            .cloned()
            .collect()
    }

    /// (ARN, tags) of everything the index lists, addressed or not.
    pub fn all(&self) -> impl Iterator<Item = (&str, &Tags)> {
        self.tags.iter().map(|(a, t)| (a.as_str(), t))
    }

    /// The tags AWS holds for `arn` (without `aws:` keys), when the index lists it.
    pub fn tags(&self, arn: &str) -> Option<&Tags> {
        self.tags.get(arn)
    }
}

type IndexFuture = futures::future::Shared<
    futures::future::BoxFuture<'static, std::result::Result<Arc<TagIndex>, Arc<String>>>,
>;

type Memo = Arc<dyn std::any::Any + Send + Sync>;

/// The state one read of a stack (a plan, or apply's look after a failed change) shares between the
/// kinds it reads concurrently: each region's tag index, fetched at most once and only when a driver
/// asks for it, and lists several kinds need (hosted zones, listeners, ...) via [`ReadRun::once`].
pub struct ReadRun {
    regional: IndexFuture,
    global: IndexFuture,
    memo: std::sync::Mutex<HashMap<String, Arc<tokio::sync::OnceCell<Memo>>>>,
}

impl ReadRun {
    fn new(stack: &str, regional: &[TaggingClient], global: Option<&[TaggingClient]>) -> ReadRun {
        let regional_index = index_future(regional.to_vec(), stack.to_owned());
        let global = match global {
            Some(g) => index_future(g.to_vec(), stack.to_owned()),
            None => regional_index.clone(),
        };
        ReadRun {
            regional: regional_index,
            global,
            memo: Default::default(),
        }
    }

    pub async fn index(&self) -> Result<Arc<TagIndex>> {
        self.regional.clone().await.map_err(|e| anyhow!("{e}"))
    }

    pub async fn global_index(&self) -> Result<Arc<TagIndex>> {
        self.global.clone().await.map_err(|e| anyhow!("{e}"))
    }

    /// `fetch`'s result, computed once per run for `key` however many kinds ask, concurrently or not.
    /// Keys are "service:what"; one key always holds one type. A failed fetch is tried again by the
    /// next caller.
    pub async fn once<T, F, Fut>(&self, key: impl Into<String>, fetch: F) -> Result<Arc<T>>
    where
        T: Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let key = key.into();
        let cell = self
            .memo
            .lock()
            .expect("read cache lock")
            .entry(key.clone())
            .or_default()
            .clone();
        let v = cell
            .get_or_try_init(|| async { fetch().await.map(|v| Arc::new(v) as Memo) })
            .await?;
        v.clone()
            .downcast::<T>()
            .map_err(|_| anyhow!("read cache `{key}` holds another type"))
    }
}

type TaggingClient = aws_sdk_resourcegroupstagging::Client;

/// The index over every tagging endpoint in use: one on AWS; with services split between emulators
/// (`AWS_ENDPOINT_URL_<SERVICE>`), each emulator's own index, merged.
fn index_future(clients: Vec<TaggingClient>, stack: String) -> IndexFuture {
    futures::FutureExt::shared(Box::pin(async move {
        let mut out = TagIndex::default();
        let parts = futures::future::try_join_all(clients.iter().map(|c| tag_index(c, &stack)))
            .await
            .map_err(|e| Arc::new(format!("{e:#}")))?;
        for part in parts {
            out.entries.extend(part.entries);
            out.tags.extend(part.tags);
        }
        Ok(Arc::new(out))
    }))
}

/// Everything tagged for the stack in the client's region: one paginated call.
async fn tag_index(client: &TaggingClient, stack: &str) -> Result<TagIndex> {
    let mut out = TagIndex::default();
    let mut pages = client
        .get_resources()
        .tag_filters(
            aws_sdk_resourcegroupstagging::types::TagFilter::builder()
                .key(TAG_STACK)
                .values(stack)
                .build(),
        )
        // The most AWS allows (the default is 50); AWS recommends it over TagsPerPage.
        .resources_per_page(100)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error("GetResources", e))?;
        for m in page.resource_tag_mapping_list() {
            let tags = user_tags(m.tags().iter().map(|t| (t.key(), t.value())));
            let Some(arn) = m.resource_arn() else {
                continue;
            };
            // Resources a stack resource writes for it (zinfra:parent) carry no address of their own.
            if let Some(addr) = tags.get(TAG_ADDRESS) {
                out.entries.push((addr.clone(), arn.to_owned()));
            }
            out.tags.insert(arn.to_owned(), tags);
        }
    }
    Ok(out)
}

/// How a plan looks for a kind the stack file does not declare (resources left from an earlier version
/// of the file): a stack reads what it can own, nothing else, so a stack without MSK never calls Kafka.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Undeclared {
    /// Read only when the stack's tag index lists resources of the kind (in the stack's region, or in
    /// us-east-1 for `us_east_1` kinds). Right for every kind AWS's index covers.
    Index,
    /// Kinds an index can miss (IAM and Route 53 are global; S3 buckets, KMS keys and Elastic IPs are
    /// missing from some emulators' indexes): read with the kind's own listing. A service that is not
    /// there at all means there is nothing of the kind to find.
    Listing,
    /// [`Undeclared::Index`], looking in us-east-1's index too (CloudFront and what it uses).
    IndexWithUsEast1,
}

#[async_trait]
pub trait Driver: Send + Sync {
    /// Kinds this driver manages.
    fn kinds(&self) -> &'static [&'static str];
    /// Whether `read` uses `ReadCx::tagged`; those that find resources their own way start without waiting for it.
    fn uses_tag_index(&self) -> bool {
        true
    }
    /// The service's id in `AWS_ENDPOINT_URL_<ID>` (e.g. `KAFKA`), for messages about its endpoint.
    fn service(&self) -> &'static str;
    /// How a plan finds this kind's resources when the stack file declares none of them.
    fn undeclared(&self, _kind: &str) -> Undeclared {
        Undeclared::Index
    }
    /// Every live resource of `cx.kind` that belongs to the stack (tagged for it, or found from its parent),
    /// with props normalized into the same shape the schema gives the desired ones.
    async fn read(&self, cx: &ReadCx<'_>) -> Result<Vec<Live>>;
    /// The existing resource with `r`'s physical name, whoever's it is (read only for declared
    /// resources the stack's read did not find): apply must not take it over unless the file adopts
    /// it. `None` when nothing of that name exists, or the kind's names cannot collide.
    async fn find(&self, _cx: &ReadCx<'_>, _r: &Resource) -> Result<Option<Live>> {
        Ok(None)
    }
    /// Create the resource, tagging it with `r.tags`; returns at least its id and outputs.
    async fn create(&self, r: &Resolved) -> Result<Live>;
    /// Change the named fields (and tags, listed as `tags`) in place.
    async fn update(&self, r: &Resolved, live: &Live, changed: &[String]) -> Result<Live>;
    async fn delete(&self, live: &Live) -> Result<()>;
}

/// One client of an SDK crate, with zinfra's retry rules (see [`retry`]) and its requests labelled for
/// the per-API rate limits that the HTTP client of [`Aws::connect`]'s configuration applies (see [`ratelimit`]).
#[macro_export]
macro_rules! client {
    ($sdk:ident, $conf:expr) => {
        $sdk::Client::from_conf(
            $sdk::config::Builder::from($conf)
                .interceptor($crate::drivers::retry::NoBlindCreateRetry)
                .interceptor($crate::drivers::ratelimit::RateLimit)
                .build(),
        )
    };
}

/// Connection settings for every service client.
#[derive(Clone, Debug, Default)]
pub struct Endpoint {
    pub url: Option<String>,
    pub region: String,
}

pub struct Aws {
    drivers: Vec<Arc<dyn Driver>>,
    /// The tagging API: one client per endpoint in use (see [`index_future`]).
    tagging: Vec<TaggingClient>,
    /// The tagging API in us-east-1, when the stack's region is another one.
    tagging_global: Option<Vec<TaggingClient>>,
    locks: std::result::Result<lock::Locks, String>,
    limiter: Arc<ratelimit::Limiter>,
    endpoint: Endpoint,
}

impl Aws {
    /// One SDK client per service, sharing one loaded configuration, one HTTP client (one connection
    /// pool, one TLS configuration) and the rate limits of `ZINFRA_RPS`/`ZINFRA_MAX_RPS`.
    pub async fn connect(endpoint: &Endpoint) -> Aws {
        let limits = ratelimit::Config::from_env().unwrap_or_else(|e| {
            tracing::warn!("{e}; using the default rate limits");
            ratelimit::Config::default()
        });
        Aws::connect_with(endpoint, limits).await
    }

    /// [`Aws::connect`] with the given rate limits.
    pub async fn connect_with(endpoint: &Endpoint, limits: ratelimit::Config) -> Aws {
        // Throttling, 5xx and connection errors are retried with jittered exponential backoff, bounded
        // in attempts (8) and in wait per attempt (20 s): enough to ride out a throttled minute.
        let retry = aws_config::retry::RetryConfig::standard()
            .with_max_attempts(8)
            .with_initial_backoff(std::time::Duration::from_millis(200))
            .with_max_backoff(std::time::Duration::from_secs(20));
        let limiter = ratelimit::Limiter::new(limits);
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(endpoint.region.clone()))
            .retry_config(retry)
            // The rate limiter holds a request inside the HTTP client until its turn: to the SDK that
            // looks like an upload stalled at 0 B/s, which it would cut after 5 s. API request bodies
            // are small; replies stay protected.
            .stalled_stream_protection(
                aws_config::stalled_stream_protection::StalledStreamProtectionConfig::enabled()
                    .upload_enabled(false)
                    .build(),
            )
            .http_client(ratelimit::Paced::shared(https_client(), limiter.clone()));
        // `--endpoint-url` sends every call there. The same URL from AWS_ENDPOINT_URL is left to the
        // SDK, which then also honours the per-service AWS_ENDPOINT_URL_<SERVICE> variables (an
        // explicit endpoint would override them).
        if let Some(url) = &endpoint.url
            && std::env::var("AWS_ENDPOINT_URL").ok().as_ref() != Some(url)
        {
            loader = loader.endpoint_url(url);
        }
        let conf = loader.load().await;
        // Emulators serve buckets by path, not by virtual host.
        let path_style = endpoint.url.is_some()
            || conf.endpoint_url().is_some()
            || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        let s3_client = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&conf)
                .force_path_style(path_style)
                .interceptor(retry::NoBlindCreateRetry)
                .interceptor(ratelimit::RateLimit)
                .build(),
        );
        let s3 = s3_client.clone();
        let dynamodb = client!(aws_sdk_dynamodb, &conf);
        let route53 = client!(aws_sdk_route53, &conf);
        let ssm = client!(aws_sdk_ssm, &conf);
        let tagging = tagging_clients(&conf);
        // CloudFront and its certificates and web ACLs live in us-east-1 whatever the stack's region.
        let us_east_1 = in_region(&conf, "us-east-1");
        let drivers: Vec<Arc<dyn Driver>> = vec![
            Arc::new(kms::Kms::new(client!(aws_sdk_kms, &conf))),
            Arc::new(ec2::Ec2::new(client!(aws_sdk_ec2, &conf))),
            Arc::new(s3::S3::new(s3.clone())),
            Arc::new(s3_bucket_policy::S3BucketPolicy::new(s3)),
            Arc::new(dynamodb::DynamoDb::new(dynamodb.clone())),
            Arc::new(ssm::Ssm::new(ssm.clone())),
            Arc::new(iam::Iam::new(client!(aws_sdk_iam, &conf))),
            Arc::new(route53::Route53::new(route53.clone())),
            Arc::new(acm::Acm::new(&conf, &endpoint.region, route53)),
            Arc::new(elbv2::Elbv2::new(client!(
                aws_sdk_elasticloadbalancingv2,
                &conf
            ))),
            Arc::new(wafv2::Wafv2::new(
                client!(aws_sdk_wafv2, &conf),
                client!(aws_sdk_wafv2, &us_east_1),
            )),
            Arc::new(cloudfront::CloudFront::new(client!(
                aws_sdk_cloudfront,
                &us_east_1
            ))),
            Arc::new(ecr::Ecr::new(client!(aws_sdk_ecr, &conf))),
            Arc::new(ecs::Ecs::new(client!(aws_sdk_ecs, &conf))),
            Arc::new(elasticache::ElastiCache::new(client!(
                aws_sdk_elasticache,
                &conf
            ))),
            Arc::new(guardduty::GuardDuty::new(
                client!(aws_sdk_guardduty, &conf),
                client!(aws_sdk_sts, &conf),
            )),
            Arc::new(kafka::Kafka::new(
                client!(aws_sdk_kafka, &conf),
                ssm.clone(),
            )),
            Arc::new(securityhub::SecurityHub::new(client!(
                aws_sdk_securityhub,
                &conf
            ))),
        ];
        // An unknown store is an error at the first lock, never a silent fallback: two runs on
        // different stores would not exclude each other.
        let locks = lock::Store::from_env()
            .map(|store| match store {
                lock::Store::DynamoDb => {
                    lock::Locks::DynamoDb(lock::dynamodb::DynamoLocks::new(dynamodb))
                }
                lock::Store::S3 => lock::Locks::S3(lock::s3::S3Locks::new(
                    s3_client.clone(),
                    client!(aws_sdk_sts, &conf),
                    &endpoint.region,
                )),
            })
            .map_err(|e| format!("{e:#}"));
        let tagging_global = (endpoint.region != "us-east-1").then(|| tagging_clients(&us_east_1));
        Aws {
            drivers,
            tagging,
            tagging_global,
            locks,
            limiter,
            endpoint: endpoint.clone(),
        }
    }

    /// The per-API rate limits every call of this connection goes through.
    pub fn rate_limits(&self) -> &ratelimit::Limiter {
        &self.limiter
    }

    /// The per-stack locks of `apply` and `destroy`.
    pub fn locks(&self) -> Result<&lock::Locks> {
        self.locks.as_ref().map_err(|e| anyhow!("{e}"))
    }

    fn driver(&self, kind: &str) -> Result<&Arc<dyn Driver>> {
        self.drivers
            .iter()
            .find(|d| d.kinds().contains(&kind))
            .ok_or_else(|| anyhow!("no driver for kind `{kind}`"))
    }

    /// A fresh read state for `stack`: nothing is fetched until a driver asks.
    pub fn read_run(&self, stack: &str) -> ReadRun {
        ReadRun::new(stack, &self.tagging, self.tagging_global.as_deref())
    }

    async fn read_with(
        &self,
        run: &ReadRun,
        stack: &StackInfo,
        kind: &str,
        desired: &[Resource],
    ) -> Result<Vec<Live>> {
        let d = self.driver(kind)?;
        // Drivers that find resources their own way start without waiting for the index.
        let tagged = if d.uses_tag_index() {
            run.index().await?.of_kind(kind)
        } else {
            Vec::new()
        };
        let cx = ReadCx {
            stack: &stack.name,
            kind,
            desired: desired.iter().filter(|r| r.kind == kind).collect(),
            tagged,
            run,
        };
        d.read(&cx).await
    }
}

impl Aws {
    /// A kind the file does not declare: read only where the stack can own something of it.
    async fn read_undeclared(
        &self,
        run: &ReadRun,
        stack: &StackInfo,
        d: &dyn Driver,
        kind: &str,
    ) -> Result<Vec<Live>> {
        let listed = match d.undeclared(kind) {
            Undeclared::Listing => {
                return match self.read_with(run, stack, kind, &[]).await {
                    Err(e) if crate::provider::unavailable(&e) => {
                        tracing::debug!("{kind}: {} is not served here: {e:#}", d.service());
                        Ok(Vec::new())
                    }
                    other => other.with_context(|| format!("reading {kind} resources")),
                };
            }
            Undeclared::Index => !run.index().await?.of_kind(kind).is_empty(),
            Undeclared::IndexWithUsEast1 => {
                !run.index().await?.of_kind(kind).is_empty()
                    || (self.tagging_global.is_some()
                        && !run.global_index().await?.of_kind(kind).is_empty())
            }
        };
        if !listed {
            return Ok(Vec::new());
        }
        self.read_with(run, stack, kind, &[])
            .await
            .map_err(|e| self.explain_unavailable(e, d))
            .with_context(|| format!("reading {kind} resources"))
    }

    /// An unavailable service as one clear line: which service, at which endpoint.
    fn explain_unavailable(&self, e: anyhow::Error, d: &dyn Driver) -> anyhow::Error {
        if !crate::provider::unavailable(&e) {
            return e;
        }
        let service = d.service();
        let at = std::env::var(format!("AWS_ENDPOINT_URL_{service}"))
            .ok()
            .or_else(|| self.endpoint.url.clone())
            .unwrap_or_else(|| format!("AWS's endpoint in {}", self.endpoint.region));
        anyhow!(
            "service {} is not available at {at} ({e:#}). Point AWS_ENDPOINT_URL_{service} at an \
             endpoint that serves it (see README: LocalStack), or remove its resources from the file.",
            service.to_ascii_lowercase()
        )
    }
}

#[async_trait]
impl Provider for Aws {
    async fn read_kind(
        &self,
        stack: &StackInfo,
        kind: &str,
        desired: &[Resource],
    ) -> Result<Vec<Live>> {
        let run = self.read_run(&stack.name);
        self.read_with(&run, stack, kind, desired).await
    }

    async fn read(&self, stack: &StackInfo, desired: &[Resource]) -> Result<Vec<Live>> {
        // One run for every kind: one tag index per region, shared lists fetched once.
        let run = self.read_run(&stack.name);
        let declared: std::collections::HashSet<&str> =
            desired.iter().map(|r| r.kind.as_str()).collect();
        let reads = crate::kinds::ALL.iter().map(|k| {
            let (run, declared) = (&run, &declared);
            async move {
                let kind = k.name;
                let d = self.driver(kind)?;
                if !declared.contains(kind) {
                    return self.read_undeclared(run, stack, d.as_ref(), kind).await;
                }
                self.read_with(run, stack, kind, desired)
                    .await
                    .map_err(|e| self.explain_unavailable(e, d.as_ref()))
                    .with_context(|| format!("reading {kind} resources"))
            }
        });
        let mut live: Vec<Live> = futures::future::try_join_all(reads)
            .await?
            .into_iter()
            .flatten()
            .collect();
        // Declared resources the stack does not have yet (and no move brings): is their name taken?
        let missing: Vec<&Resource> = desired
            .iter()
            .filter(|r| !live.iter().any(|l| l.address == r.address))
            .filter(|r| !stack.moved.iter().any(|m| m.to == r.address))
            .collect();
        let found = futures::future::try_join_all(missing.into_iter().map(|r| {
            let run = &run;
            async move {
                let cx = ReadCx {
                    stack: &stack.name,
                    kind: &r.kind,
                    desired: vec![r],
                    tagged: Vec::new(),
                    run,
                };
                self.driver(&r.kind)?
                    .find(&cx, r)
                    .await
                    .with_context(|| format!("looking for an existing {}", r.address))
            }
        }))
        .await?;
        live.extend(found.into_iter().flatten().map(|mut l| {
            l.found = true;
            l
        }));
        Ok(live)
    }

    async fn create(&self, r: &Resolved) -> Result<Live> {
        self.driver(&r.kind)?.create(r).await
    }

    async fn update(&self, r: &Resolved, live: &Live, changed: &[String]) -> Result<Live> {
        self.driver(&r.kind)?.update(r, live, changed).await
    }

    async fn delete(&self, live: &Live) -> Result<()> {
        self.driver(&live.kind)?.delete(live).await
    }
}

/// The services whose `AWS_ENDPOINT_URL_<ID>` can send their resources to another endpoint.
const SERVICE_IDS: &[&str] = &[
    "ACM",
    "CLOUDFRONT",
    "DYNAMODB",
    "EC2",
    "ECR",
    "ECS",
    "ELASTICACHE",
    "ELASTIC_LOAD_BALANCING_V2",
    "GUARDDUTY",
    "IAM",
    "KAFKA",
    "KMS",
    "ROUTE_53",
    "S3",
    "SECURITYHUB",
    "SSM",
    "WAFV2",
];

/// One tagging client per endpoint that holds resources: the tagging API's own (as the SDK resolves it),
/// plus every other endpoint a service is sent to with `AWS_ENDPOINT_URL_<SERVICE>` (LocalStack for some
/// services and moto for the rest, say), since each emulator indexes only its own resources.
fn tagging_clients(conf: &aws_config::SdkConfig) -> Vec<TaggingClient> {
    let own = std::env::var("AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API")
        .ok()
        .or_else(|| conf.endpoint_url().map(str::to_owned));
    let mut others: Vec<String> = SERVICE_IDS
        .iter()
        .filter_map(|id| std::env::var(format!("AWS_ENDPOINT_URL_{id}")).ok())
        .filter(|url| !url.is_empty() && Some(url) != own.as_ref())
        .collect();
    others.sort();
    others.dedup();
    let mut clients = vec![client!(aws_sdk_resourcegroupstagging, conf)];
    for url in others {
        clients.push(TaggingClient::from_conf(
            aws_sdk_resourcegroupstagging::config::Builder::from(conf)
                .endpoint_url(url)
                .interceptor(retry::NoBlindCreateRetry)
                .interceptor(ratelimit::RateLimit)
                .build(),
        ));
    }
    clients
}

/// The HTTP client every SDK client shares: the SDK's default (hyper 1, rustls with aws-lc, the
/// platform's root certificates, `HTTPS_PROXY`/`NO_PROXY` from the environment), built once, so the
/// service clients share one connection pool and one TLS configuration instead of one each.
fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::{Builder, ConnectorBuilder, proxy::ProxyConfig, tls};
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut conn = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ));
        conn.set_connector_settings(settings.cloned());
        if let Some(c) = components {
            conn.set_sleep_impl(c.sleep_impl());
        }
        conn.set_proxy_config(Some(ProxyConfig::from_env()));
        conn.build()
    })
}

/// The shared configuration pointed at another region, for resources AWS requires there (CloudFront's
/// certificates and web ACLs live in us-east-1 whatever the stack's region). Build one client per region
/// at connect time and reuse it.
pub fn in_region(conf: &aws_config::SdkConfig, region: &str) -> aws_config::SdkConfig {
    conf.to_builder()
        .region(aws_config::Region::new(region.to_owned()))
        .build()
}

/// An SDK error as one line: operation, AWS error code and message.
pub fn sdk_error<E>(
    op: &str,
    e: aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> anyhow::Error
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    use aws_sdk_s3::error::ProvideErrorMetadata;
    use aws_sdk_s3::error::SdkError;
    let status = e.raw_response().map(|r| r.status().as_u16());
    let text = match (e.code(), e.message()) {
        (Some(code), Some(msg)) => format!("{op}: {code}: {msg}"),
        (Some(code), None) => format!("{op}: {code}"),
        _ => no_code(op, &e),
    };
    if service_unavailable(status, e.message(), &text) {
        return anyhow::Error::new(crate::provider::Unavailable(text));
    }
    let unknown = matches!(
        e,
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_)
    ) || status.is_some_and(|s| s >= 500);
    let settling = match (e.code(), e.message()) {
        // A principal created a moment ago is not yet known to IAM (IAM says MalformedPolicyDocument,
        // KMS MalformedPolicyDocumentException, S3 MalformedPolicy); a malformed policy stays malformed.
        (
            Some(
                "MalformedPolicyDocument" | "MalformedPolicyDocumentException" | "MalformedPolicy",
            ),
            Some(m),
        ) => m.to_lowercase().contains("principal"),
        (Some(c), _) => NOT_YET.contains(&c),
        _ => false,
    };
    if settling {
        anyhow::Error::new(crate::provider::NotYet(text))
    } else if unknown {
        anyhow::Error::new(crate::provider::OutcomeUnknown(text))
    } else {
        anyhow!(text)
    }
}

/// Whether an answer says the service itself is missing at this endpoint: HTTP 501 (LocalStack's free
/// edition for the services it does not serve, any emulator for an API it lacks), or no such host (a
/// region without the service). Operations a service lacks (`NotImplemented` for one S3 header, say)
/// are answered 501 too: callers that probe a feature check for [`crate::provider::Unavailable`].
fn service_unavailable(status: Option<u16>, message: Option<&str>, text: &str) -> bool {
    if status == Some(501) {
        return true;
    }
    let m = message.unwrap_or_default().to_ascii_lowercase();
    if m.contains("not included in your current license plan") || m.contains("not yet implemented")
    {
        return true;
    }
    // No answer at all because the host does not exist: retrying cannot help.
    status.is_none() && (text.contains("failed to lookup address") || text.contains("dns error"))
}

/// Error codes AWS returns while a change made a moment ago settles.
const NOT_YET: &[&str] = &[
    "DependencyViolation",
    "InvalidGroup.NotFound",
    "InvalidSubnetID.NotFound",
    "InvalidVpcID.NotFound",
    "InvalidRouteTableID.NotFound",
    "InvalidInternetGatewayID.NotFound",
    // Throttled: creates are not retried by the SDK (see `retry`), so the engine waits and retries.
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "SlowDown",
    "PriorRequestNotComplete",
];

fn no_code<E>(
    op: &str,
    e: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> String
where
    E: std::error::Error + Send + Sync + 'static,
{
    // No answer from AWS (no credentials, endpoint unreachable, timeout), or one without an error
    // code: the HTTP status if any, then the cause chain in words.
    let mut msg = match e.raw_response() {
        Some(r) => format!("HTTP {}: {e}", r.status().as_u16()),
        None => e.to_string(),
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !msg.ends_with(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        source = s.source();
    }
    format!("{op}: {msg}")
}

/// `None` when AWS answers with one of the `absent` error codes (the thing does not exist), else the error.
pub fn absent_if<T, E>(
    op: &str,
    res: Result<T, aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>>,
    absent: &[&str],
) -> Result<Option<T>>
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match res {
        Ok(v) => Ok(Some(v)),
        Err(e) if error_code(&e).is_some_and(|c| absent.contains(&c)) => Ok(None),
        Err(e) => Err(sdk_error(op, e)),
    }
}

/// The AWS error code of an SDK error, if the service sent one.
pub fn error_code<E, R>(e: &aws_sdk_s3::error::SdkError<E, R>) -> Option<&str>
where
    E: aws_sdk_s3::error::ProvideErrorMetadata,
{
    use aws_sdk_s3::error::ProvideErrorMetadata;
    e.code()
}

/// A client token (idempotency token, caller reference) that is the same for every try of one create
/// of `r`: a digest of its address, desired props and tags (stack and region among them), never random
/// per call, so a create sent again after a lost reply, in this run or the next, is answered with what
/// the first one made. `after` names the resource a previous token already made and that is gone since
/// (a token AWS still remembers after a destroy): the next token in the chain, just as deterministic.
/// `len` lowercase hex characters (at most 64; AWS's limits differ per API).
pub fn client_token(r: &Resolved, after: &[String], len: usize) -> String {
    use sha2::Digest;
    let spec = serde_json::to_string(&(&r.address, &r.props, &r.tags, after)).unwrap_or_default();
    let h = sha2::Sha256::digest(spec.as_bytes());
    let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
    hex[..len.min(hex.len())].to_owned()
}

/// Tags as `(key, value)` pairs, ready for any SDK's tag builder.
pub fn tag_pairs(tags: &Tags) -> impl Iterator<Item = (&str, &str)> {
    tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

/// AWS's tags without the `aws:` keys AWS manages itself.
pub fn user_tags<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Tags {
    pairs
        .into_iter()
        .filter(|(k, _)| !k.starts_with("aws:"))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The calls that make a resource's tags `have` equal `want`; skip either when its list is empty.
#[derive(Debug, PartialEq, Eq)]
pub struct TagChanges<'a> {
    /// Tags absent from `have` or with another value there.
    pub set: Vec<(&'a str, &'a str)>,
    /// Keys in `have` but not in `want`, never `aws:` ones.
    pub remove: Vec<String>,
}

/// What makes `have` equal `want`: tags to set (absent or different) and keys to remove (never `aws:` ones).
pub fn tag_changes<'a>(have: &Tags, want: &'a Tags) -> TagChanges<'a> {
    let set = tag_pairs(want)
        .filter(|(k, v)| have.get(*k).map(String::as_str) != Some(*v))
        .collect();
    let remove = have
        .keys()
        .filter(|k| !k.starts_with("aws:") && !want.contains_key(*k))
        .cloned()
        .collect();
    TagChanges { set, remove }
}

/// The address a set of tags claims, if they belong to `stack`.
pub fn owned_address<'a>(
    stack: &str,
    tags: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Option<String> {
    let mut s = None;
    let mut a = None;
    for (k, v) in tags {
        if k == TAG_STACK {
            s = Some(v);
        } else if k == TAG_ADDRESS {
            a = Some(v.to_owned());
        }
    }
    (s == Some(stack)).then_some(a).flatten()
}

impl Aws {
    /// The driver for a kind, for tests that exercise one driver directly.
    pub fn driver_for(&self, kind: &str) -> Arc<dyn Driver> {
        self.driver(kind).expect("known kind").clone()
    }

    pub async fn tagged_for_tests(&self, stack: &str) -> Result<Vec<(Address, String)>> {
        let idx = self.read_run(stack).index().await?;
        Ok(idx.entries.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn an_unavailable_service_is_told_from_a_failing_one() {
        // LocalStack's free edition, any emulator lacking an API: HTTP 501.
        assert!(service_unavailable(
            Some(501),
            Some("x"),
            "ListClusters: InternalFailure: x"
        ));
        let license = "The API for service 'kafka' is either not included in your current license plan or has not yet been emulated by LocalStack.";
        assert!(service_unavailable(Some(500), Some(license), license));
        // No such host: a region without the service.
        assert!(service_unavailable(
            None,
            None,
            "ListClusters: dispatch failure: io error: dns error: failed to lookup address information"
        ));
        // A failing service is not a missing one: retried as before.
        assert!(!service_unavailable(
            Some(500),
            Some("We encountered an internal error"),
            "x"
        ));
        assert!(!service_unavailable(Some(503), None, "SlowDown"));
        assert!(!service_unavailable(
            None,
            None,
            "dispatch failure: connection refused"
        ));
    }

    #[test]
    fn user_tags_leave_out_aws_own() {
        let t = user_tags([("aws:cloudformation:stack-name", "x"), ("Name", "web")]);
        assert_eq!(t, tags(&[("Name", "web")]));
    }

    #[test]
    fn tag_changes_set_only_what_differs_and_remove_the_rest() {
        let have = tags(&[
            ("Name", "old"),
            ("Keep", "same"),
            ("Gone", "x"),
            ("aws:managed", "y"),
        ]);
        let want = tags(&[("Name", "new"), ("Keep", "same"), ("Added", "z")]);
        let TagChanges { set, remove } = tag_changes(&have, &want);
        assert_eq!(set, [("Added", "z"), ("Name", "new")]);
        assert_eq!(remove, ["Gone"]);
        let none = TagChanges {
            set: vec![],
            remove: vec![],
        };
        assert_eq!(tag_changes(&want, &want), none);
    }
}
