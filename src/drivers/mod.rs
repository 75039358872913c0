//! AWS drivers: one module per service behind the small [`Driver`] trait.
//! The engine talks to [`Aws`] through [`crate::provider::Provider`] and never sees SDK types.

use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use async_trait::async_trait;

use crate::model::{Live, Resolved, Resource};
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
pub mod logs;
pub mod ratelimit;
pub mod retry;
pub mod route53;
pub mod s3;
pub mod s3_bucket_policy;
pub mod securityhub;
pub mod singleton;
pub mod ssm;
pub mod toolkit;
pub mod wafv2;

use toolkit::read::TaggingClient;
pub use toolkit::{Driver, ReadCx, ReadRun, TagIndex, Undeclared, error_code, in_region};

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
    /// A fixed access key id and secret (an emulator's) instead of the default credential chain.
    pub static_credentials: Option<(String, String)>,
}

pub struct Aws {
    drivers: Vec<Arc<dyn Driver>>,
    /// The tagging API: one client per endpoint in use (see [`toolkit::read`]).
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
        if let Some((id, secret)) = &endpoint.static_credentials {
            loader = loader.credentials_provider(aws_sdk_sts::config::Credentials::new(
                id, secret, None, None, "static",
            ));
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
            Arc::new(logs::Logs::new(client!(aws_sdk_cloudwatchlogs, &conf))),
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
             endpoint that serves it (see docs/emulators.md: LocalStack), or remove its resources from the file.",
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
    "CLOUDWATCH_LOGS",
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

impl Aws {
    /// The driver for a kind, for tests that exercise one driver directly.
    pub fn driver_for(&self, kind: &str) -> Arc<dyn Driver> {
        self.driver(kind).expect("known kind").clone()
    }
}
