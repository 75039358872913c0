//! The per-stack lock `apply` and `destroy` hold while they change anything, taken with a conditional
//! write, renewed while work runs, and expiring by itself if its holder dies. Two stores:
//!
//! - **S3** (the default, like Terraform 1.10+'s `use_lockfile`): one object per stack in a bucket
//!   zinfra creates on first use, written with `If-None-Match: *` to take it and `If-Match: <etag>` to
//!   renew, take over an expired lock or release it. Works on AWS, LocalStack and moto.
//! - **DynamoDB**: one item per stack in a table zinfra creates on first use (`ZINFRA_LOCK=dynamodb`).
//!
//! `ZINFRA_LOCK` chooses the store (`s3` or `dynamodb`); `ZINFRA_LOCK_BUCKET` / `ZINFRA_LOCK_TABLE`
//! name the bucket or table instead of the defaults.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Result, anyhow, bail};

pub mod dynamodb;
pub mod s3;

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
    /// Unix seconds, by the holder's clock: only a hint (see [`Watch`]).
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

/// The lock store of this run.
#[derive(Clone)]
pub enum Locks {
    S3(s3::S3Locks),
    DynamoDb(dynamodb::DynamoLocks),
}

/// Which store `ZINFRA_LOCK` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    S3,
    DynamoDb,
}

impl Store {
    pub fn from_env() -> Result<Store> {
        match std::env::var("ZINFRA_LOCK").ok().as_deref() {
            None | Some("") | Some("s3") => Ok(Store::S3),
            Some("dynamodb") => Ok(Store::DynamoDb),
            Some(other) => {
                bail!("ZINFRA_LOCK={other}: the lock store is `s3` (the default) or `dynamodb`")
            }
        }
    }
}

impl Locks {
    /// Take the stack's lock, waiting up to `wait` for another holder to let go.
    pub async fn acquire(&self, stack: &str, command: &str, wait: Duration) -> Result<Lease> {
        let me = Me::new(stack, command);
        match self {
            Locks::S3(l) => l.acquire(stack, &me, wait).await?,
            Locks::DynamoDb(l) => l.acquire(stack, &me, wait).await?,
        }
        Ok(Lease {
            locks: self.clone(),
            stack: stack.to_owned(),
            id: me.id,
        })
    }

    /// The current holder of a stack's lock, if any (an expired or released lock counts as none).
    pub async fn holder(&self, stack: &str) -> Result<Option<Holder>> {
        match self {
            Locks::S3(l) => Ok(l
                .read(stack)
                .await?
                .and_then(|(_, h)| h)
                .filter(|h| h.expires >= now())),
            Locks::DynamoDb(l) => l.holder(stack).await,
        }
    }

    /// The stack's marker, if an apply wrote one (what the file said when it was last applied).
    pub async fn marker(&self, stack: &str) -> Result<Option<Marker>> {
        let raw = match self {
            Locks::S3(l) => l.marker(stack).await?,
            Locks::DynamoDb(l) => l.marker(stack).await?,
        };
        Ok(raw.and_then(|m| serde_json::from_str(&m).ok()))
    }

    /// Record the stack's marker (under the stack's lock, after an apply).
    pub async fn set_marker(&self, stack: &str, m: &Marker) -> Result<()> {
        let raw = serde_json::to_string(m)?;
        match self {
            Locks::S3(l) => l.set_marker(stack, &raw).await,
            Locks::DynamoDb(l) => l.set_marker(stack, &raw).await,
        }
    }

    /// Release a lock by id: `zinfra unlock`, or the holder itself.
    pub async fn release(&self, stack: &str, id: &str) -> Result<()> {
        match self {
            Locks::S3(l) => l.release(stack, id).await,
            Locks::DynamoDb(l) => l.release(stack, id).await,
        }
    }
}

/// The lock this process writes: who, doing what, since when.
pub(crate) struct Me {
    pub id: String,
    pub who: String,
    pub command: String,
    pub since: String,
}

impl Me {
    fn new(stack: &str, command: &str) -> Me {
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

/// A held lock: renewed in the background until released (or the process dies and it expires).
pub struct Lease {
    locks: Locks,
    pub stack: String,
    pub id: String,
}

impl Lease {
    /// Keep the lease alive while `work` runs, then release it whatever the outcome. When the lease is
    /// lost (a renewal finds the lock is no longer this run's, or renewals failed until the lease would
    /// have run out), `lost` is called once with the reason: the caller must start nothing new.
    pub async fn hold<T>(
        self,
        work: impl std::future::Future<Output = T>,
        lost: impl Fn(String) + Send + 'static,
    ) -> (T, Result<()>) {
        let renew = {
            let (locks, stack, id) = (self.locks.clone(), self.stack.clone(), self.id.clone());
            tokio::spawn(async move {
                // This run's own clock, and only its elapsed time since its last successful write:
                // the lease is given up before anyone else could take the lock over.
                let mut last_ok = std::time::Instant::now();
                loop {
                    tokio::time::sleep(renew_every()).await;
                    let renewed = match &locks {
                        Locks::S3(l) => l.renew(&stack, &id).await,
                        Locks::DynamoDb(l) => l.renew(&stack, &id).await,
                    };
                    match renewed {
                        Ok(()) => last_ok = std::time::Instant::now(),
                        Err(e) => {
                            let transient = crate::provider::outcome_unknown(&e)
                                || crate::provider::not_yet(&e);
                            if !transient || last_ok.elapsed() + renew_every() >= lease() {
                                lost(format!("{e:#}"));
                                return;
                            }
                            tracing::warn!("renewing the lock of {stack}: {e:#}");
                        }
                    }
                }
            })
        };
        let out = work.await;
        renew.abort();
        let released = self
            .locks
            .release(&self.stack, &self.id)
            .await
            .map_err(|e| anyhow!("releasing the lock: {e:#}"));
        (out, released)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(expires: u64) -> Holder {
        Holder {
            id: "a".into(),
            who: "w".into(),
            command: "c".into(),
            since: "s".into(),
            expires,
            rev: 0,
        }
    }

    #[test]
    fn a_lock_is_taken_over_only_after_a_whole_lease_without_renewal() {
        let lease = Duration::from_millis(60);
        // Held and renewed (the token changes): give up once the wait is over.
        let mut w = Watch::new(Duration::ZERO, lease);
        assert_eq!(w.next("e1", &holder(now() + 60)), Next::GiveUp);
        // Expired by the holder's clock: watched for a lease, then taken over if unchanged ...
        let mut w = Watch::new(Duration::ZERO, lease);
        let dead = holder(now() - 1);
        assert_eq!(w.next("e1", &dead), Next::Wait);
        std::thread::sleep(lease / 2);
        assert_eq!(w.next("e1", &dead), Next::Wait);
        std::thread::sleep(lease);
        assert_eq!(w.next("e1", &dead), Next::TakeOver);
        // ... but a renewal while watched means the holder lives, whatever its clock says.
        let mut w = Watch::new(Duration::ZERO, lease);
        assert_eq!(w.next("e1", &dead), Next::Wait);
        std::thread::sleep(lease / 2);
        assert_eq!(w.next("e2", &dead), Next::Wait);
        std::thread::sleep(lease);
        assert_eq!(w.next("e3", &dead), Next::GiveUp);
    }
}
