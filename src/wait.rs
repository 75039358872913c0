//! Bounded waits for slow resources (certificates, distributions, clusters), reported while they run.
//!
//! The apply engine runs each operation inside [`scope`], which carries the resource's deadline (its
//! `timeout` meta field, else the driver's default) and a status slot the progress ticker prints. Drivers
//! only call [`until`] and never see the engine.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

/// The operation a driver call runs for.
#[derive(Clone, Debug, Default)]
pub struct OpCx {
    /// Set from the resource's `timeout`; overrides the driver's default.
    pub timeout: Option<Duration>,
    /// What the operation is waiting for right now, e.g. `PENDING_VALIDATION`.
    pub status: Arc<Mutex<Option<String>>>,
    /// `apply --no-wait`: start rollouts (ECS deployments) and return without waiting for them.
    pub no_wait: bool,
}

impl OpCx {
    pub fn new(timeout: Option<Duration>) -> OpCx {
        OpCx {
            timeout,
            status: Arc::default(),
            no_wait: false,
        }
    }

    pub fn status(&self) -> Option<String> {
        self.status.lock().ok()?.clone()
    }
}

tokio::task_local! {
    static OP: OpCx;
}

/// Run `f` as the operation `cx`: waits inside it honour its timeout and report to its status.
pub async fn scope<F: Future>(cx: OpCx, f: F) -> F::Output {
    OP.scope(cx, f).await
}

/// What one poll found.
pub enum Poll<T> {
    Ready(T),
    /// Not there yet, with the state AWS reports (shown to the user and in the timeout error).
    Pending(String),
}

/// Set the status line of the running operation (no-op outside [`scope`]).
pub fn status(s: impl Into<String>) {
    let s = s.into();
    let _ = OP.try_with(|cx| {
        if let Ok(mut slot) = cx.status.lock() {
            *slot = Some(s);
        }
    });
}

/// Whether this run skips waiting for rollouts (`apply --no-wait`); false outside [`scope`].
pub fn no_wait() -> bool {
    OP.try_with(|cx| cx.no_wait).unwrap_or(false)
}

/// The timeout in force: the resource's own, else `default`.
pub fn timeout(default: Duration) -> Duration {
    OP.try_with(|cx| cx.timeout)
        .ok()
        .flatten()
        .unwrap_or(default)
}

/// Poll until `poll` is ready or the timeout (the resource's, else `default`) runs out. Polls start
/// fast (emulators answer at once) and back off to `max_interval` (real AWS takes minutes).
pub async fn until<T, F, Fut>(
    what: &str,
    default: Duration,
    max_interval: Duration,
    mut poll: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>>>,
{
    let limit = timeout(default);
    let t0 = Instant::now();
    let mut interval = Duration::from_millis(100).min(max_interval);
    loop {
        match poll().await? {
            Poll::Ready(v) => {
                status(String::new());
                return Ok(v);
            }
            Poll::Pending(state) => {
                if t0.elapsed() >= limit {
                    bail!(
                        "timed out after {} waiting for {what} (last state: {state}); \
                         run apply again to resume waiting, or raise the resource's `timeout`",
                        human(limit)
                    );
                }
                status(format!("{what}: {state}"));
            }
        }
        let left = limit.saturating_sub(t0.elapsed());
        tokio::time::sleep(interval.min(left)).await;
        interval = (interval * 2).min(max_interval);
    }
}

/// `1h5m`, `20m`, `45s`: the form the stack file's `timeout` takes.
pub fn human(d: Duration) -> String {
    if d < Duration::from_secs(1) && !d.is_zero() {
        return format!("{}ms", d.as_millis());
    }
    let s = d.as_secs();
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        out += &format!("{h}h");
    }
    if m > 0 {
        out += &format!("{m}m");
    }
    if s > 0 || out.is_empty() {
        out += &format!("{s}s");
    }
    out
}

/// Parse `90s`, `20m`, `1h30m`; `None` for anything else.
pub fn parse(text: &str) -> Option<Duration> {
    let mut total = 0u64;
    let mut num = String::new();
    let mut any = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().ok()?;
        num.clear();
        total += n * match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        any = true;
    }
    (any && num.is_empty() && total > 0).then(|| Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print() {
        assert_eq!(parse("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse("20m"), Some(Duration::from_secs(1200)));
        for bad in ["", "20", "m", "5x", "0s", "1.5h", "-3m"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert_eq!(human(Duration::from_secs(5400)), "1h30m");
        assert_eq!(human(Duration::from_secs(45)), "45s");
        assert_eq!(human(Duration::ZERO), "0s");
    }

    #[tokio::test]
    async fn until_reports_status_and_times_out_with_the_last_state() {
        let cx = OpCx::new(Some(Duration::from_millis(300)));
        let seen = cx.clone();
        let err = scope(cx, async {
            until(
                "certificate",
                Duration::from_secs(3600),
                Duration::from_millis(50),
                || async { Ok(Poll::<()>::Pending("PENDING_VALIDATION".into())) },
            )
            .await
        })
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "timed out after 300ms waiting for certificate (last state: PENDING_VALIDATION); \
             run apply again to resume waiting, or raise the resource's `timeout`"
        );
        assert_eq!(
            seen.status().as_deref(),
            Some("certificate: PENDING_VALIDATION")
        );
    }

    #[tokio::test]
    async fn until_returns_once_ready() {
        let mut n = 0;
        let v = until(
            "cluster",
            Duration::from_secs(5),
            Duration::from_millis(10),
            || {
                n += 1;
                let ready = n >= 3;
                async move {
                    Ok(if ready {
                        Poll::Ready(7)
                    } else {
                        Poll::Pending("CREATING".into())
                    })
                }
            },
        )
        .await
        .unwrap();
        assert_eq!((v, n), (7, 3));
    }
}
