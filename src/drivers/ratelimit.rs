//! Client-side request-rate limits, one token bucket per AWS API, shaped like AWS's own quotas: per
//! service, region and read or write (EC2's documented buckets), per operation where AWS sets a quota
//! per action (WAF, ACM, KMS, SSM, Security Hub, ECS, ECR), or one per account (Route 53).
//! AWS throttles per account and region with token buckets of its own (EC2 documents 20 describe
//! and 5 mutating requests per second, Route 53 5 per second per account, ...), so zinfra paces every
//! SDK call — first attempts and the SDK's retries alike — to stay under them instead of capping how
//! many resources are changed at once. A throttling answer means someone else shares the quota: the
//! bucket halves its rate (down to a quarter of the default) and climbs back as calls succeed.
//!
//! Two pieces: [`RateLimit`], an interceptor on every client (see `client!`), labels each request with
//! its API from the operation's metadata; [`Paced`], a wrapper around the one HTTP client all SDK
//! clients share, waits for that API's bucket before sending and reads throttling answers. Waiting in
//! the HTTP layer is what makes the SDK's retries pay too (interceptors cannot wait).
//!
//! Configuration (environment): `ZINFRA_RPS=off` turns the limits off (e.g. against an emulator);
//! `ZINFRA_RPS=ec2=40,ec2:write=10,route53=2` overrides services (`service[:read|:write]=rate`, the
//! service as the SDK names it, lower case without spaces; `*` means every service);
//! `ZINFRA_MAX_RPS=N` caps every bucket at N requests per second.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, Metadata};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::{
    RuntimeComponents, RuntimeComponentsBuilder,
};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use aws_smithy_types::config_bag::ConfigBag;
use tokio::time::Instant;

/// Requests per second and burst of one bucket.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    /// Requests that may go at once after a quiet spell.
    pub burst: f64,
}

impl Rate {
    pub const fn new(per_second: f64, burst: f64) -> Rate {
        Rate { per_second, burst }
    }
}

/// What one bucket covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// All reads of the service share one bucket, all writes another (EC2's documented categories).
    Class,
    /// Each operation has its own bucket at its class's rate (AWS quotas "per action" or "per API").
    Operation,
    /// One bucket for every call of the service (Route 53: five requests per second per account).
    Account,
}

/// Default scope and (read, write) rates per service, from AWS's documented quotas where it documents
/// them, conservative otherwise. Keys are SDK service names, lower case, without spaces.
const DEFAULTS: &[(&str, Scope, Rate, Rate)] = &[
    // EC2 API request throttling: non-mutating 20/s (bucket 100), mutating 5/s (bucket 50).
    def("ec2", Scope::Class, (20.0, 100.0), (5.0, 50.0)),
    // Route 53: five requests per second per account, whatever the API.
    def("route53", Scope::Account, (5.0, 5.0), (5.0, 5.0)),
    // AWS WAF: calls to any individual Get or List action 5 per second, Create/Put/Update 1.
    def("wafv2", Scope::Operation, (5.0, 5.0), (1.0, 2.0)),
    // Parameter Store: 40 TPS for gets (default throughput), 3 TPS for PutParameter.
    def("ssm", Scope::Operation, (40.0, 40.0), (3.0, 5.0)),
    // ACM, per API: 10/s for Describe/Get/List, 5/s for RequestCertificate and tagging.
    def("acm", Scope::Operation, (10.0, 10.0), (5.0, 5.0)),
    // KMS, per API: DescribeKey 2,000/s, Get* 1,000/s, List* 100/s; control-plane calls such as
    // CreateKey, CreateAlias, EnableKeyRotation 5/s.
    def("kms", Scope::Operation, (100.0, 100.0), (5.0, 5.0)),
    // Security Hub: 10 TPS (burst 30) for most APIs, each API its own.
    def("securityhub", Scope::Operation, (10.0, 30.0), (10.0, 30.0)),
    // ECS and ECR throttle each API action separately (token buckets of their own); conservative
    // rates here.
    def("ecs", Scope::Operation, (20.0, 50.0), (5.0, 10.0)),
    def("ecr", Scope::Operation, (20.0, 50.0), (5.0, 10.0)),
    // Not published: IAM, CloudFront, ELB, ElastiCache, MSK, GuardDuty, S3's bucket configuration,
    // DynamoDB's control plane. Conservative sustained rates, with bursts that let a stack of about a
    // hundred resources be read without waiting.
    def("iam", Scope::Class, (10.0, 20.0), (5.0, 10.0)),
    def("cloudfront", Scope::Class, (5.0, 10.0), (2.0, 5.0)),
    // S3 documents 5,500 GET/HEAD and 3,500 PUT/DELETE requests per second per prefix, and nothing
    // lower for a bucket's configuration: a tenth of that, so a plan reading a thousand buckets'
    // settings is not held back.
    def("s3", Scope::Class, (500.0, 500.0), (350.0, 350.0)),
    def("dynamodb", Scope::Class, (20.0, 20.0), (10.0, 10.0)),
    def("sts", Scope::Class, (20.0, 20.0), (20.0, 20.0)),
];

/// One row of [`DEFAULTS`]: (per second, burst) for reads and for writes.
const fn def(
    service: &'static str,
    scope: Scope,
    read: (f64, f64),
    write: (f64, f64),
) -> (&'static str, Scope, Rate, Rate) {
    (
        service,
        scope,
        Rate::new(read.0, read.1),
        Rate::new(write.0, write.1),
    )
}

/// Services without a documented or listed rate.
const FALLBACK: (Scope, Rate, Rate) = (Scope::Class, Rate::new(10.0, 20.0), Rate::new(5.0, 10.0));

/// Services whose quotas are per account, not per region.
const GLOBAL: &[&str] = &["iam", "route53", "cloudfront"];

/// A service's scope.
pub fn scope(service: &str) -> Scope {
    DEFAULTS
        .iter()
        .find(|(s, ..)| *s == service)
        .map_or(FALLBACK.0, |(_, scope, ..)| *scope)
}

/// Read-only operations, by name prefix; everything else counts as a write.
pub fn is_read(op: &str) -> bool {
    ["Describe", "Get", "List", "Head", "Search", "Lookup"]
        .iter()
        .any(|p| op.starts_with(p))
}

/// The lower-case, space-free name the limits use for an SDK's service name ("Route 53" → "route53").
pub fn service_key(sdk_name: &str) -> String {
    sdk_name
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The rates in force: defaults, overrides and a cap, or none at all.
#[derive(Clone, Debug)]
pub struct Config {
    pub enabled: bool,
    /// (service or `*`, Some(read?) or None for both) → requests per second.
    pub overrides: Vec<(String, Option<bool>, f64)>,
    pub cap: Option<f64>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            enabled: true,
            overrides: Vec::new(),
            cap: None,
        }
    }
}

impl Config {
    /// No limits (tests that need raw speed, emulators).
    pub fn off() -> Config {
        Config {
            enabled: false,
            ..Config::default()
        }
    }

    /// From `ZINFRA_RPS` and `ZINFRA_MAX_RPS`; a malformed value is an error naming it.
    pub fn from_env() -> Result<Config, String> {
        let rps = std::env::var("ZINFRA_RPS").ok();
        let max = std::env::var("ZINFRA_MAX_RPS").ok();
        Config::parse(rps.as_deref(), max.as_deref())
    }

    pub fn parse(rps: Option<&str>, max: Option<&str>) -> Result<Config, String> {
        let mut c = Config::default();
        let rate = |s: &str, what: &str| -> Result<f64, String> {
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|r| r.is_finite() && *r > 0.0)
                .ok_or_else(|| {
                    format!("{what}: `{s}` is not a positive number of requests per second")
                })
        };
        match rps.map(str::trim) {
            None | Some("") => {}
            Some("off") => c.enabled = false,
            Some(list) => {
                for item in list.split(',').filter(|i| !i.trim().is_empty()) {
                    let (api, r) = item.split_once('=').ok_or_else(|| {
                        format!("ZINFRA_RPS: `{item}` is not service[:read|:write]=rate")
                    })?;
                    let (svc, class) = match api.trim().split_once(':') {
                        None => (api.trim(), None),
                        Some((s, "read")) => (s, Some(true)),
                        Some((s, "write")) => (s, Some(false)),
                        Some(_) => {
                            return Err(format!(
                                "ZINFRA_RPS: `{api}`: the class is `read` or `write`"
                            ));
                        }
                    };
                    c.overrides
                        .push((service_key(svc), class, rate(r, "ZINFRA_RPS")?));
                }
            }
        }
        if let Some(m) = max.map(str::trim).filter(|m| !m.is_empty()) {
            c.cap = Some(rate(m, "ZINFRA_MAX_RPS")?);
        }
        Ok(c)
    }

    /// The rate of one bucket.
    pub fn rate(&self, service: &str, read: bool) -> Rate {
        let (r, w) = DEFAULTS
            .iter()
            .find(|(s, ..)| *s == service)
            .map_or((FALLBACK.1, FALLBACK.2), |(_, _, r, w)| (*r, *w));
        let mut rate = if read { r } else { w };
        // A specific override wins over `*`; a class-specific one over one for both classes.
        let score = |(s, class, _): &&(String, Option<bool>, f64)| {
            (s.as_str() != "*") as u8 * 2 + class.is_some() as u8
        };
        if let Some((_, _, per_second)) = self
            .overrides
            .iter()
            .filter(|(s, class, _)| (s == service || s == "*") && class.is_none_or(|c| c == read))
            .max_by_key(score)
        {
            rate.burst = rate.burst.max(*per_second).min(per_second * 5.0);
            rate.per_second = *per_second;
        }
        if let Some(cap) = self.cap {
            rate.per_second = rate.per_second.min(cap);
            rate.burst = rate.burst.min(cap.max(1.0));
        }
        rate.burst = rate.burst.max(1.0);
        rate
    }
}

/// One API's token bucket, kept as the time its next request may go (GCRA): each request reserves a
/// slot, so waiters go in arrival order and no one spins.
#[derive(Debug)]
pub struct Bucket {
    max: Rate,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    per_second: f64,
    /// Theoretical arrival time: when the bucket would be full again if nothing else came.
    tat: Option<Instant>,
    throttled: u64,
}

impl Bucket {
    pub fn new(rate: Rate) -> Bucket {
        Bucket {
            max: rate,
            state: Mutex::new(State {
                per_second: rate.per_second,
                tat: None,
                throttled: 0,
            }),
        }
    }

    /// How long the caller must wait before sending, reserving its slot.
    pub fn reserve(&self) -> Duration {
        self.reserve_at(Instant::now())
    }

    /// [`Bucket::reserve`] at a given time (tests drive the clock).
    pub fn reserve_at(&self, now: Instant) -> Duration {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let interval = Duration::from_secs_f64(1.0 / s.per_second);
        let tolerance = interval.mul_f64(self.max.burst - 1.0);
        let tat = s.tat.map_or(now, |t| t.max(now));
        let go = (tat.checked_sub(tolerance)).map_or(now, |t| t.max(now));
        s.tat = Some(tat + interval);
        go - now
    }

    /// Wait for this request's turn.
    pub async fn acquire(&self) {
        let wait = self.reserve();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// AWS said slow down: halve the rate (not below a quarter of the default) and empty the burst.
    pub fn throttled(&self) {
        self.throttled_at(Instant::now())
    }

    /// [`Bucket::throttled`] at a given time.
    pub fn throttled_at(&self, now: Instant) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.throttled += 1;
        s.per_second = (s.per_second / 2.0).max(self.max.per_second / 4.0);
        // The next request waits one interval, as if the bucket had just been emptied.
        let interval = Duration::from_secs_f64(1.0 / s.per_second);
        let empty = now + interval.mul_f64(self.max.burst - 1.0) + interval;
        s.tat = Some(s.tat.map_or(empty, |t| t.max(empty)));
    }

    /// A call went through: climb back towards the default, a twentieth of it per success.
    pub fn succeeded(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.per_second < self.max.per_second {
            s.per_second = (s.per_second + self.max.per_second / 20.0).min(self.max.per_second);
        }
    }

    /// Requests per second in force now.
    pub fn rate(&self) -> f64 {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .per_second
    }

    /// Throttling answers seen.
    pub fn throttles(&self) -> u64 {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .throttled
    }
}

/// (service, region or "" for global services, read?, operation or "" unless per operation).
type BucketKey = (String, String, bool, String);

/// Every bucket of one connection to AWS.
#[derive(Debug, Default)]
pub struct Limiter {
    config: Config,
    buckets: Mutex<HashMap<BucketKey, Arc<Bucket>>>,
}

impl Limiter {
    pub fn new(config: Config) -> Arc<Limiter> {
        Arc::new(Limiter {
            config,
            buckets: Mutex::default(),
        })
    }

    /// The bucket an operation of `service` in `region` waits for; `None` when limits are off.
    pub fn bucket(&self, service: &str, region: &str, op: &str) -> Option<Arc<Bucket>> {
        if !self.config.enabled {
            return None;
        }
        let region = if GLOBAL.contains(&service) {
            ""
        } else {
            region
        };
        let read = is_read(op);
        let (read, op) = match scope(service) {
            Scope::Class => (read, ""),
            Scope::Operation => (read, op),
            // One bucket, at the (equal) write rate.
            Scope::Account => (false, ""),
        };
        let mut all = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let b = all
            .entry((service.to_owned(), region.to_owned(), read, op.to_owned()))
            .or_insert_with(|| Arc::new(Bucket::new(self.config.rate(service, read))));
        Some(b.clone())
    }

    /// Throttling answers seen, over every bucket.
    pub fn throttles(&self) -> u64 {
        let all = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        all.values().map(|b| b.throttles()).sum()
    }
}

/// The API a request belongs to, handed from the interceptor to the HTTP layer.
#[derive(Clone, Debug)]
struct Api {
    service: String,
    region: String,
    op: String,
}

/// Labels each attempt of each call with its API, for [`Paced`]: the interceptor knows the
/// operation, the HTTP client knows the limits. Clients whose HTTP client is not [`Paced`] (plain
/// test clients) ignore the label.
#[derive(Debug, Default)]
pub struct RateLimit;

impl Intercept for RateLimit {
    fn name(&self) -> &'static str {
        "zinfra: per-API rate limit"
    }

    fn modify_before_transmit(
        &self,
        ctx: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(m) = cfg.load::<Metadata>() {
            let api = Api {
                service: service_key(m.service()),
                region: cfg
                    .load::<aws_config::Region>()
                    .map(|r| r.to_string())
                    .unwrap_or_default(),
                op: m.name().to_owned(),
            };
            ctx.request_mut().add_extension(api);
        }
        Ok(())
    }
}

/// Whether an answer is AWS asking to slow down, in any protocol (JSON `__type`, XML `<Code>`,
/// the `x-amzn-ErrorType` header, HTTP 429).
pub fn throttling(status: u16, error_type: Option<&str>, body: &[u8]) -> bool {
    const CODES: &[&str] = &[
        "Throttling",
        "ThrottledException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "TooManyRequestsException",
        "SlowDown",
        "PriorRequestNotComplete",
        "Rate exceeded",
    ];
    if status == 429 {
        return true;
    }
    if status < 400 {
        return false;
    }
    let named = |text: &str| CODES.iter().any(|c| text.contains(c));
    error_type.is_some_and(named) || named(&String::from_utf8_lossy(&body[..body.len().min(2048)]))
}

/// The shared HTTP client, made to wait for each request's bucket before sending it and to slow the
/// bucket down when AWS answers that it throttles.
#[derive(Clone, Debug)]
pub struct Paced {
    inner: SharedHttpClient,
    limiter: Arc<Limiter>,
}

impl Paced {
    pub fn shared(inner: SharedHttpClient, limiter: Arc<Limiter>) -> SharedHttpClient {
        SharedHttpClient::new(Paced { inner, limiter })
    }
}

impl HttpClient for Paced {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(PacedConnector {
            inner: self.inner.http_connector(settings, components),
            limiter: self.limiter.clone(),
        })
    }

    fn validate_base_client_config(
        &self,
        components: &RuntimeComponentsBuilder,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.inner.validate_base_client_config(components, cfg)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.inner.connector_metadata()
    }
}

#[derive(Debug)]
struct PacedConnector {
    inner: SharedHttpConnector,
    limiter: Arc<Limiter>,
}

impl HttpConnector for PacedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let api = request.extension::<Api>().cloned();
        let bucket = api
            .as_ref()
            .and_then(|a| self.limiter.bucket(&a.service, &a.region, &a.op));
        let inner = self.inner.clone();
        HttpConnectorFuture::new(async move {
            let (Some(bucket), Some(api)) = (bucket, api) else {
                return inner.call(request).await;
            };
            let wait = bucket.reserve();
            if !wait.is_zero() {
                tracing::debug!(
                    "rate limit: {} {} waits {wait:?} ({}/s)",
                    api.service,
                    api.op,
                    bucket.rate()
                );
                tokio::time::sleep(wait).await;
            }
            let resp = inner.call(request).await?;
            let status = resp.status().as_u16();
            if status < 400 {
                bucket.succeeded();
                return Ok(resp);
            }
            // An error answer is small and read whole by the SDK anyway: read it here to see whether
            // it is throttling, and hand the SDK the same bytes.
            let mut resp = resp;
            let body = std::mem::replace(resp.body_mut(), SdkBody::taken());
            let bytes = ByteStream::new(body)
                .collect()
                .await
                .map_err(|e| ConnectorError::io(e.into()))?
                .into_bytes();
            if throttling(status, resp.headers().get("x-amzn-errortype"), &bytes) {
                bucket.throttled();
            }
            *resp.body_mut() = SdkBody::from(bytes);
            Ok(resp)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bucket on a clock the test moves: `take` reserves a slot and returns when the caller goes,
    /// in seconds since the start.
    struct Clock {
        t0: Instant,
        now: Instant,
    }

    impl Clock {
        fn new() -> Clock {
            let t0 = Instant::now();
            Clock { t0, now: t0 }
        }
        /// A caller arriving now: when (seconds from the start) it is let through.
        fn arrive(&self, b: &Bucket) -> f64 {
            (self.now + b.reserve_at(self.now) - self.t0).as_secs_f64()
        }
        /// A caller that waits its turn before the clock moves on (one after another).
        fn take(&mut self, b: &Bucket) -> f64 {
            self.now += b.reserve_at(self.now);
            (self.now - self.t0).as_secs_f64()
        }
        fn sleep(&mut self, secs: f64) {
            self.now += Duration::from_secs_f64(secs);
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn a_bucket_lets_its_burst_through_then_paces() {
        let b = Bucket::new(Rate::new(10.0, 3.0));
        let mut c = Clock::new();
        let at: Vec<f64> = (0..13).map(|_| c.take(&b)).collect();
        // Three at once, then one every 100 ms.
        assert_eq!(&at[..3], &[0.0, 0.0, 0.0]);
        for (i, t) in at[3..].iter().enumerate() {
            assert!(close(*t, 0.1 * (i + 1) as f64), "{at:?}");
        }
    }

    #[test]
    fn concurrent_callers_take_turns_at_the_rate() {
        // Ten callers arrive together: each gets its own slot, 200 ms apart, in arrival order.
        let b = Bucket::new(Rate::new(5.0, 1.0));
        let c = Clock::new();
        let at: Vec<f64> = (0..10).map(|_| c.arrive(&b)).collect();
        for (i, t) in at.iter().enumerate() {
            assert!(close(*t, 0.2 * i as f64), "{at:?}");
        }
    }

    #[test]
    fn a_refilled_bucket_bursts_again() {
        let b = Bucket::new(Rate::new(2.0, 4.0));
        let mut c = Clock::new();
        for _ in 0..4 {
            assert_eq!(c.take(&b), 0.0);
        }
        c.sleep(2.0);
        for _ in 0..4 {
            assert!(close(c.take(&b), 2.0));
        }
        assert!(close(c.take(&b), 2.5));
        // Partly refilled: after 1 s, two tokens are back.
        c.sleep(1.0);
        assert!(close(c.take(&b), 3.5));
        assert!(close(c.take(&b), 3.5));
        assert!(close(c.take(&b), 4.0));
    }

    #[test]
    fn throttling_slows_the_bucket_and_successes_restore_it() {
        let b = Bucket::new(Rate::new(8.0, 8.0));
        let mut c = Clock::new();
        b.throttled_at(c.now);
        assert_eq!(b.rate(), 4.0);
        // The burst is gone: the next call waits one interval at the new rate, and so on.
        assert!(close(c.take(&b), 0.25));
        assert!(close(c.take(&b), 0.5));
        for _ in 0..5 {
            b.throttled_at(c.now);
        }
        assert_eq!(b.rate(), 2.0, "never below a quarter of the default");
        assert_eq!(b.throttles(), 6);
        for _ in 0..10 {
            b.succeeded();
        }
        assert!(close(b.rate(), 6.0), "{}", b.rate());
        for _ in 0..10 {
            b.succeeded();
        }
        assert_eq!(b.rate(), 8.0, "never above the default");
    }

    #[tokio::test]
    async fn acquire_waits_for_the_slot() {
        let b = Bucket::new(Rate::new(20.0, 1.0));
        let t0 = Instant::now();
        for _ in 0..5 {
            b.acquire().await;
        }
        // Four intervals of 50 ms after the first.
        let took = t0.elapsed().as_secs_f64();
        assert!((0.2..0.6).contains(&took), "{took}");
    }

    #[test]
    fn documented_defaults_overrides_and_cap() {
        let c = Config::default();
        assert_eq!(c.rate("ec2", true), Rate::new(20.0, 100.0));
        assert_eq!(c.rate("ec2", false), Rate::new(5.0, 50.0));
        assert_eq!(c.rate("route53", false).per_second, 5.0);
        assert_eq!(c.rate("kafka", true), FALLBACK.1);
        let c = Config::parse(Some("ec2=40, ec2:write=10,*=7"), Some("30")).unwrap();
        assert_eq!(c.rate("ec2", true).per_second, 30.0, "capped");
        assert_eq!(c.rate("ec2", false).per_second, 10.0);
        assert_eq!(c.rate("iam", false).per_second, 7.0);
        assert!(c.rate("iam", false).burst <= 30.0);
        assert!(!Config::parse(Some("off"), None).unwrap().enabled);
        for bad in ["ec2", "ec2=fast", "ec2:poll=3", "ec2=0", "ec2=-1"] {
            assert!(Config::parse(Some(bad), None).is_err(), "{bad}");
        }
        assert!(Config::parse(None, Some("x")).is_err());
    }

    #[test]
    fn buckets_follow_the_shape_of_aws_quotas() {
        let l = Limiter::new(Config::default());
        let same = |a: (&str, &str, &str), b: (&str, &str, &str)| {
            Arc::ptr_eq(
                &l.bucket(a.0, a.1, a.2).unwrap(),
                &l.bucket(b.0, b.1, b.2).unwrap(),
            )
        };
        let (eu, us) = ("eu-west-1", "us-east-1");
        // EC2: every describe call of a region shares one bucket, every mutating call another.
        assert!(same(
            ("ec2", eu, "DescribeVpcs"),
            ("ec2", eu, "DescribeSubnets")
        ));
        assert!(same(("ec2", eu, "CreateVpc"), ("ec2", eu, "DeleteSubnet")));
        assert!(!same(("ec2", eu, "DescribeVpcs"), ("ec2", eu, "CreateVpc")));
        assert!(!same(
            ("ec2", eu, "DescribeVpcs"),
            ("ec2", us, "DescribeVpcs")
        ));
        // WAF: each action has its own quota.
        assert!(!same(
            ("wafv2", eu, "DeleteWebACL"),
            ("wafv2", eu, "DisassociateWebACL")
        ));
        assert!(same(
            ("wafv2", eu, "DeleteWebACL"),
            ("wafv2", eu, "DeleteWebACL")
        ));
        assert_eq!(l.bucket("wafv2", eu, "CreateWebACL").unwrap().rate(), 1.0);
        // Route 53: five requests per second per account, reads and writes, any region.
        assert!(same(
            ("route53", eu, "ListHostedZones"),
            ("route53", us, "ChangeResourceRecordSets")
        ));
        assert_eq!(l.bucket("route53", us, "GetChange").unwrap().rate(), 5.0);
        assert!(
            Limiter::new(Config::off())
                .bucket("ec2", "x", "DescribeVpcs")
                .is_none()
        );
        assert_eq!(service_key("Route 53"), "route53");
        assert_eq!(
            service_key("Elastic Load Balancing v2"),
            "elasticloadbalancingv2"
        );
        assert!(is_read("DescribeVpcs") && is_read("ListTagsForResource"));
        assert!(!is_read("CreateVpc") && !is_read("PutParameter"));
    }

    #[test]
    fn throttling_answers_are_recognized_in_every_protocol() {
        let xml = b"<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>";
        assert!(throttling(400, None, xml));
        let ec2 = b"<Response><Errors><Error><Code>RequestLimitExceeded</Code></Error></Errors></Response>";
        assert!(throttling(503, None, ec2));
        let json = br#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
        assert!(throttling(400, None, json));
        assert!(throttling(400, Some("ThrottlingException:http://x"), b""));
        assert!(throttling(429, None, b""));
        assert!(throttling(
            503,
            None,
            b"<Error><Code>SlowDown</Code></Error>"
        ));
        let other = br#"{"__type":"ResourceNotFoundException","message":"no such table"}"#;
        assert!(!throttling(400, None, other));
        assert!(!throttling(500, None, b"<Code>InternalError</Code>"));
        assert!(!throttling(200, None, b"Throttling"));
    }
}
