//! Apply is bounded by the dependency graph's critical path, not by a global parallelism number, and
//! the per-API rate limits bound the request rate (src/drivers/ratelimit.rs), against the emulator
//! behind the fault proxy with added latency.

use std::sync::Arc;
use std::time::{Duration, Instant};

use zinfra::apply::{self, Progress, Step};
use zinfra::drivers::Aws;
use zinfra::drivers::ratelimit::Config;
use zinfra::graph::Graph;
use zinfra::plan::{self, Plan};
use zinfra::provider::Provider;

use crate::support::proxy::{Faults, Proxy};

struct Quiet;
impl Progress for Quiet {
    fn started(&self, _: &str, _: Step) {}
    fn still_running(&self, _: &str, _: Step, _: Duration, _: Option<&str>) {}
    fn finished(&self, _: &str, _: Step, _: Duration, _: Option<&str>) {}
    fn failed(&self, _: &str, _: Step, _: &str) {}
}

/// `n` SSM parameters; each `depends_on` the one `chain` places before it when `chain` is set.
fn parameters(stack: &str, n: usize, chain: bool) -> String {
    let mut text =
        format!("[stack]\nname = \"{stack}\"\nenvironment = \"test\"\nregion = \"us-east-1\"\n");
    for i in 0..n {
        text.push_str(&format!(
            "\n[ssm_parameter.p{i}]\nname = \"/{stack}/p{i}\"\ntype = \"String\"\nvalue = \"v{i}\"\n"
        ));
        if chain && i > 0 {
            text.push_str(&format!("depends_on = [\"ssm_parameter.p{}\"]\n", i - 1));
        }
    }
    text
}

async fn connect(endpoint: &str, limits: Config) -> Arc<Aws> {
    Arc::new(
        Aws::connect_with(
            &crate::drivers::common::endpoint_at(endpoint, "us-east-1"),
            limits,
        )
        .await,
    )
}

async fn plan(aws: &Aws, text: &str, destroy: bool) -> (Plan, Vec<zinfra::model::Live>) {
    let s = zinfra::validate::load("pacing.toml", text.to_owned(), &|_| None)
        .unwrap_or_else(|e| panic!("{}", e.render(false)));
    let g = Graph::new(&s).unwrap();
    let deps = s
        .resources
        .iter()
        .map(|r| (r.address.clone(), g.deps(&r.address).cloned().collect()))
        .collect();
    let live = aws.read(&s.info, &s.resources).await.unwrap();
    let p = plan::compute(&s.info, &s.resources, &deps, g.order(), &live, destroy);
    (p, live)
}

/// Apply (or destroy) `text`; the wall time of carrying out the plan, and the longest single step.
async fn run(aws: &Arc<Aws>, text: &str, destroy: bool, cap: usize) -> (Duration, Duration) {
    let (p, live) = plan(aws, text, destroy).await;
    let t0 = Instant::now();
    let report = apply::run(
        &p,
        &live,
        aws.clone() as Arc<dyn Provider>,
        cap,
        Arc::new(Quiet),
    )
    .await;
    let wall = t0.elapsed();
    assert!(report.ok(), "{report:?}");
    let longest = report.done.iter().map(|d| d.2).max().unwrap_or_default();
    (wall, longest)
}

#[tokio::test(flavor = "multi_thread")]
async fn independent_resources_apply_at_once_and_a_chain_takes_its_length() {
    let moto = crate::support::moto();
    let latency = Duration::from_millis(250);
    let proxy = Proxy::start(
        &moto.endpoint,
        Faults {
            latency,
            ..Faults::default()
        },
        11,
    );
    // Generous limits: this test is about scheduling; the next one about the limits.
    let aws = connect(
        &proxy.endpoint,
        Config::parse(Some("ssm=200"), None).unwrap(),
    )
    .await;
    let n = 8;

    // Independent parameters: no cap by default, so the apply takes about as long as the
    // slowest one, not all of them one after another.
    let stack = crate::support::unique("wide");
    let wide = parameters(&stack, n, false);
    let (wall, longest) = run(&aws, &wide, false, usize::MAX).await;
    assert!(
        longest >= latency && wall < longest * 2,
        "{n} independent creates took {wall:?}; the slowest alone {longest:?}"
    );

    // The same ones chained: each waits for the one before, so the apply is the chain's length.
    let stack2 = crate::support::unique("chain");
    let chain = parameters(&stack2, n, true);
    let (chain_wall, _) = run(&aws, &chain, false, usize::MAX).await;
    assert!(
        chain_wall > wall * 4,
        "a chain of {n} took {chain_wall:?}, {n} independent ones {wall:?}"
    );

    // `--parallelism 1` still caps for those who want it: one at a time, each at least one request.
    let (destroy_serial, _) = run(&aws, &wide, true, 1).await;
    assert!(
        destroy_serial >= latency * n as u32,
        "{n} deletes one at a time took {destroy_serial:?}"
    );
    // A chain is deleted from its end, one after another.
    let (destroy_chain, _) = run(&aws, &chain, true, usize::MAX).await;
    assert!(destroy_chain >= latency * n as u32, "{destroy_chain:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rate_limit_bounds_requests_per_api_and_slows_down_on_throttling() {
    let moto = crate::support::moto();
    let proxy = Proxy::start(&moto.endpoint, Faults::default(), 12);
    // Parameter Store writes at 4 per second; reads stay fast.
    let limits = Config::parse(Some("ssm:write=4"), None).unwrap();
    let (rate, burst) = (
        limits.rate("ssm", false).per_second,
        limits.rate("ssm", false).burst,
    );
    assert_eq!(rate, 4.0);
    let aws = connect(&proxy.endpoint, limits).await;
    let n = 12;
    let stack = crate::support::unique("paced");
    let text = parameters(&stack, n, false);
    proxy.reset_counts();
    let (wall, _) = run(&aws, &text, false, usize::MAX).await;
    let puts = proxy
        .counts()
        .iter()
        .filter(|((svc, op), _)| svc == "ssm" && op == "PutParameter")
        .map(|(_, c)| *c)
        .sum::<u64>();
    assert_eq!(puts, n as u64, "{:?}", proxy.counts());
    // The burst goes at once, the rest one every 1/rate seconds.
    let floor = Duration::from_secs_f64((puts as f64 - burst) / rate);
    assert!(
        wall >= floor.mul_f64(0.95),
        "{puts} PutParameter calls in {wall:?}: faster than {rate}/s"
    );
    assert!(wall < floor * 3, "{puts} calls took {wall:?}");

    // Throttling answers, in whatever API, reach that API's bucket (which halves its rate; see the
    // unit tests), and the deletes still succeed: the SDK retries, paced.
    proxy.set_faults(Faults {
        throttle: 0.2,
        ..Faults::default()
    });
    proxy.reset_counts();
    run(&aws, &text, true, usize::MAX).await;
    let injected = proxy.injected().get("throttle").copied().unwrap_or(0);
    assert!(injected > 0, "{:?}", proxy.injected());
    // Every throttling answer reached its bucket, and slowed it.
    assert_eq!(aws.rate_limits().throttles(), injected);
}
