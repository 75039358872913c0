//! What a lock record holds and how long it lives: shared by both stores.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a lock lives without renewal: a holder that dies frees the stack after this.
pub const LEASE: Duration = Duration::from_secs(60);

/// The lease in force: [`LEASE`], or `ZINFRA_LOCK_LEASE_SECONDS` (at least 3; tests shorten it).
pub fn lease() -> Duration {
    std::env::var("ZINFRA_LOCK_LEASE_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map(|s| Duration::from_secs(s.max(3)))
        .unwrap_or(LEASE)
}

/// Renewal period: a third of the lease, so two renewals can fail before it runs out.
pub fn renew_every() -> Duration {
    lease() / 3
}

/// What a stack's last apply recorded in AWS beside its lock: `protected = true` lives here too, so a
/// file that dropped the line cannot destroy the stack in the same change.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Marker {
    pub protected: bool,
    pub region: String,
    /// When the marker was written (RFC 3339).
    pub updated: String,
}

impl Marker {
    pub fn new(protected: bool, region: &str) -> Marker {
        Marker {
            protected,
            region: region.to_owned(),
            updated: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        }
    }
}

/// Who holds a lock, as stored in its item or object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub id: String,
    pub who: String,
    pub command: String,
    pub since: String,
    /// Unix seconds, by the holder's clock: only a hint (see `Watch`).
    pub expires: u64,
    /// Bumped by every renewal: the lease counter a contender watches.
    pub rev: u64,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (`{}`, since {}, lock id {})",
            self.who, self.command, self.since, self.id
        )
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "stack {stack} is locked by {holder}. Another zinfra run is changing it: wait for it, or pass \
     --lock-timeout to wait here. If that run is gone, a run takes the lock over once it has gone {lease}s unrenewed; to \
     release it now: zinfra unlock STACK {id}",
    lease = lease().as_secs(),
    id = holder.id
)]
pub struct Locked {
    pub stack: String,
    pub holder: Holder,
}

/// The lock this process writes: who, doing what, since when.
pub(crate) struct Me {
    pub id: String,
    pub who: String,
    pub command: String,
    pub since: String,
}

impl Me {
    pub(crate) fn new(stack: &str, command: &str) -> Me {
        Me {
            id: lock_id(stack),
            who: format!(
                "{}@{} (pid {})",
                std::env::var("USER")
                    .or_else(|_| std::env::var("GITHUB_ACTOR"))
                    .unwrap_or_else(|_| "unknown".into()),
                hostname(),
                std::process::id()
            ),
            command: command.to_owned(),
            since: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        }
    }
}

/// Unix seconds on this machine's clock.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown-host".into())
}

/// Unique enough to tell two holders apart: stack, time, pid, hashed.
fn lock_id(stack: &str) -> String {
    use sha2::Digest;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let h = sha2::Sha256::digest(format!("{stack}/{nanos}/{}", std::process::id()));
    h.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// When a contender may take over a lock that is not released: only after watching it go a whole lease
/// without a renewal (its store token, the S3 ETag or the DynamoDB revision, unchanged), timed on this
/// machine's monotonic clock. Wall clocks are never compared across machines: a holder's `expires` only
/// decides whether a contender that would give up watches for one lease first.
pub(crate) struct Watch {
    lease: Duration,
    deadline: std::time::Instant,
    seen: Option<(String, std::time::Instant)>,
    extended: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Unrenewed for a whole lease: write over it, on the condition of the token watched.
    TakeOver,
    /// Look again in a moment.
    Wait,
    /// Held, and renewed: fail with [`Locked`].
    GiveUp,
}

impl Watch {
    pub(crate) fn new(wait: Duration, lease: Duration) -> Watch {
        Watch {
            lease,
            deadline: std::time::Instant::now() + wait,
            seen: None,
            extended: false,
        }
    }

    /// What to do about a lock held by `h` whose store token is now `token`.
    pub(crate) fn next(&mut self, token: &str, h: &Holder) -> Next {
        let at = std::time::Instant::now();
        match &self.seen {
            Some((t, since)) if t == token => {
                if at.duration_since(*since) >= self.lease {
                    return Next::TakeOver;
                }
            }
            _ => self.seen = Some((token.to_owned(), at)),
        }
        if at < self.deadline {
            return Next::Wait;
        }
        // Its holder's clock says the lease ran out (the run died, most likely): watch it for one
        // lease before giving up; a live holder renews within a third of it.
        if !self.extended && h.expires < now() {
            self.extended = true;
            let since = self.seen.as_ref().map_or(at, |(_, s)| *s);
            self.deadline = since + self.lease + self.lease / 10;
            return Next::Wait;
        }
        if at < self.deadline {
            return Next::Wait;
        }
        Next::GiveUp
    }

    /// How long to sleep before looking again.
    pub(crate) fn pause(&self) -> Duration {
        (self.lease / 6).clamp(Duration::from_millis(20), Duration::from_secs(2))
    }
}
