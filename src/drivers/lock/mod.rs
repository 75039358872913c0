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

use std::time::Duration;

use anyhow::{Result, anyhow, bail};

pub mod dynamodb;
pub mod record;
pub mod s3;

pub use record::*;

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
