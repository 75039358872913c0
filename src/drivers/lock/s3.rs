//! The S3 lock store (the default): one small JSON object per stack, `locks/<stack>.json`, in a bucket
//! zinfra creates on first use (`zinfra-locks-<account>-<region>`, or `ZINFRA_LOCK_BUCKET`). Every
//! write is conditional, as Terraform's `use_lockfile` does it: `If-None-Match: *` takes a free lock,
//! `If-Match: <etag>` renews it, takes over an expired or released one, or releases it. A release
//! writes a released record instead of deleting the object, since conditional deletes are not served
//! everywhere (LocalStack answers NotImplemented); a released record is a free lock.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, PublicAccessBlockConfiguration, Tag,
    Tagging,
};
use serde::{Deserialize, Serialize};

use super::{Holder, LEASE, Locked, Me, now};
use crate::drivers::{error_code, sdk_error};

/// The default lock bucket's name starts with this.
pub const BUCKET_PREFIX: &str = "zinfra-locks-";

#[derive(Clone)]
pub struct S3Locks {
    client: Client,
    sts: aws_sdk_sts::Client,
    /// `ZINFRA_LOCK_BUCKET`, else found from the account id on first use.
    bucket: std::sync::Arc<tokio::sync::OnceCell<String>>,
    named: Option<String>,
    region: String,
}

/// The lock object's content.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    lock_id: String,
    who: String,
    command: String,
    since: String,
    /// Unix seconds.
    expires: u64,
    #[serde(default)]
    released: bool,
}

impl Record {
    fn holder(&self) -> Option<Holder> {
        (!self.released && self.expires >= now()).then(|| Holder {
            id: self.lock_id.clone(),
            who: self.who.clone(),
            command: self.command.clone(),
            since: self.since.clone(),
            expires: self.expires,
        })
    }
}

/// A write lost to another writer: the object is not what the condition said.
fn conflict(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("PreconditionFailed" | "ConditionalRequestConflict")
    )
}

impl S3Locks {
    pub fn new(client: Client, sts: aws_sdk_sts::Client, region: &str) -> S3Locks {
        S3Locks {
            client,
            sts,
            bucket: Default::default(),
            named: std::env::var("ZINFRA_LOCK_BUCKET")
                .ok()
                .filter(|b| !b.is_empty()),
            region: region.to_owned(),
        }
    }

    pub fn describe(&self) -> String {
        match self.bucket.get().or(self.named.as_ref()) {
            Some(b) => format!("S3 bucket {b}"),
            None => format!("S3 bucket zinfra-locks-<account>-{}", self.region),
        }
    }

    async fn bucket(&self) -> Result<&str> {
        self.bucket
            .get_or_try_init(|| async {
                if let Some(b) = &self.named {
                    return Ok(b.clone());
                }
                let me = self
                    .sts
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(|e| sdk_error("GetCallerIdentity", e))
                    .context("finding the account for the lock bucket's name")?;
                let account = me.account().unwrap_or("unknown");
                Ok::<_, anyhow::Error>(format!("{BUCKET_PREFIX}{account}-{}", self.region))
            })
            .await
            .map(String::as_str)
    }

    fn key(stack: &str) -> String {
        format!("locks/{stack}.json")
    }

    /// Write the record; `None` condition = only if absent. Returns the new ETag, or `None` when the
    /// condition did not hold (another writer got there first).
    async fn put(
        &self,
        stack: &str,
        record: &Record,
        if_match: Option<&str>,
    ) -> Result<Option<String>> {
        let bucket = self.bucket().await?;
        let body = serde_json::to_vec(record)?;
        let mut req = self
            .client
            .put_object()
            .bucket(bucket)
            .key(Self::key(stack))
            .content_type("application/json")
            .body(ByteStream::from(body));
        req = match if_match {
            Some(etag) => req.if_match(etag),
            None => req.if_none_match("*"),
        };
        match req.send().await {
            Ok(out) => Ok(Some(out.e_tag().unwrap_or_default().to_owned())),
            Err(e) if conflict(error_code(&e)) => Ok(None),
            Err(e) if error_code(&e) == Some("NoSuchBucket") => Err(anyhow::Error::new(NoBucket)),
            Err(e) => {
                let err = sdk_error("PutObject", e);
                if crate::provider::unavailable(&err) {
                    bail!(
                        "{err:#}: this S3 endpoint does not serve conditional writes, which the S3 lock needs; \
                         use the DynamoDB lock instead (ZINFRA_LOCK=dynamodb)"
                    );
                }
                Err(err)
            }
        }
    }

    /// The lock object: its ETag and its holder (none when released or expired). `None`: no object.
    pub(crate) async fn read(&self, stack: &str) -> Result<Option<(String, Option<Holder>)>> {
        let bucket = self.bucket().await?;
        let got = self
            .client
            .get_object()
            .bucket(bucket)
            .key(Self::key(stack))
            .send()
            .await;
        let out = match got {
            Ok(o) => o,
            Err(e) if matches!(error_code(&e), Some("NoSuchKey" | "NoSuchBucket")) => {
                return Ok(None);
            }
            Err(e) => return Err(sdk_error("GetObject", e)).context("reading the stack lock"),
        };
        let etag = out.e_tag().unwrap_or_default().to_owned();
        let bytes = out
            .body
            .collect()
            .await
            .context("reading the stack lock")?
            .into_bytes();
        // An unreadable record is nobody's lock: the next conditional write replaces it.
        let holder = serde_json::from_slice::<Record>(&bytes)
            .ok()
            .and_then(|r| r.holder());
        Ok(Some((etag, holder)))
    }

    /// Create the lock bucket unless it exists: private, encrypted (S3's default), tagged.
    async fn ensure_bucket(&self) -> Result<()> {
        let bucket = self.bucket().await?;
        let mut create = self.client.create_bucket().bucket(bucket);
        if self.region != "us-east-1" {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(self.region.as_str()))
                    .build(),
            );
        }
        // Already ours (an earlier run cut short): its settings are written again all the same.
        match create.send().await {
            Ok(_) => {}
            Err(e) if matches!(error_code(&e), Some("BucketAlreadyOwnedByYou")) => {}
            Err(e) => return Err(sdk_error("CreateBucket", e)).context("creating the lock bucket"),
        }
        self.client
            .put_public_access_block()
            .bucket(bucket)
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(true)
                    .restrict_public_buckets(true)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| sdk_error("PutPublicAccessBlock", e))?;
        self.client
            .put_bucket_tagging()
            .bucket(bucket)
            .tagging(
                Tagging::builder()
                    .tag_set(Tag::builder().key("zinfra:role").value("locks").build()?)
                    .build()?,
            )
            .send()
            .await
            .map_err(|e| sdk_error("PutBucketTagging", e))?;
        Ok(())
    }

    /// Take the stack's lock, waiting up to `wait`; returns the ETag this holder wrote.
    pub(crate) async fn acquire(&self, stack: &str, me: &Me, wait: Duration) -> Result<String> {
        let deadline = std::time::Instant::now() + wait;
        let mut bucket_checked = false;
        let record = || Record {
            lock_id: me.id.clone(),
            who: me.who.clone(),
            command: me.command.clone(),
            since: me.since.clone(),
            expires: now() + LEASE.as_secs(),
            released: false,
        };
        let mut unknown = 0;
        loop {
            let taken = match self.put(stack, &record(), None).await {
                Ok(t) => t,
                Err(e) if e.is::<NoBucket>() && !bucket_checked => {
                    bucket_checked = true;
                    self.ensure_bucket().await?;
                    continue;
                }
                // The write may have landed with its reply lost: the object says whose it is.
                Err(e)
                    if (crate::provider::outcome_unknown(&e) || crate::provider::not_yet(&e))
                        && unknown < 8 =>
                {
                    unknown += 1;
                    tokio::time::sleep(Duration::from_millis(200 * unknown)).await;
                    match self.read(stack).await {
                        Ok(Some((etag, Some(h)))) if h.id == me.id => return Ok(etag),
                        _ => continue,
                    }
                }
                Err(e) => return Err(e).context("taking the stack lock"),
            };
            if let Some(etag) = taken {
                return Ok(etag);
            }
            // The object exists: free (released or expired) locks are taken over, conditionally.
            let Some((etag, holder)) = self.read(stack).await? else {
                continue;
            };
            match holder {
                None => {
                    if let Some(etag) = self.put(stack, &record(), Some(&etag)).await? {
                        return Ok(etag);
                    }
                }
                Some(holder) if std::time::Instant::now() >= deadline => {
                    return Err(Locked {
                        stack: stack.to_owned(),
                        holder,
                    }
                    .into());
                }
                Some(_) => tokio::time::sleep(Duration::from_secs(2)).await,
            }
        }
    }

    /// Extend the lease; `etag` is what this holder last wrote. Fails when the lock is no longer ours.
    pub(crate) async fn renew(&self, stack: &str, id: &str, etag: Option<&str>) -> Result<String> {
        let Some((now_etag, holder)) = self.read(stack).await? else {
            bail!("the lock of stack {stack} is gone");
        };
        match holder {
            Some(h) if h.id == id && etag.is_none_or(|e| e == now_etag) => {
                let record = Record {
                    lock_id: h.id,
                    who: h.who,
                    command: h.command,
                    since: h.since,
                    expires: now() + LEASE.as_secs(),
                    released: false,
                };
                match self.put(stack, &record, Some(&now_etag)).await? {
                    Some(etag) => Ok(etag),
                    None => bail!("the lock of stack {stack} was taken over while being renewed"),
                }
            }
            Some(h) => bail!("the lock of stack {stack} is held by {h}, not by lock id {id}"),
            None => bail!("the lock of stack {stack} expired before it could be renewed"),
        }
    }

    /// Release by id (`zinfra unlock`, or the holder with the ETag it last wrote). A release whose
    /// reply was lost is checked by reading the lock again: released, or no longer ours, is done.
    pub(crate) async fn release(&self, stack: &str, id: &str, etag: Option<&str>) -> Result<()> {
        let mut last = None;
        for attempt in 0..4u64 {
            match self.release_once(stack, id, etag, attempt > 0).await {
                Ok(()) => return Ok(()),
                Err(e) if crate::provider::outcome_unknown(&e) || crate::provider::not_yet(&e) => {
                    tokio::time::sleep(Duration::from_millis(300 * (attempt + 1))).await;
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("releasing the lock of stack {stack}")))
    }

    async fn release_once(
        &self,
        stack: &str,
        id: &str,
        etag: Option<&str>,
        retry: bool,
    ) -> Result<()> {
        let Some((now_etag, holder)) = self.read(stack).await? else {
            bail!("stack {stack} is not locked (no lock with id {id})");
        };
        match holder {
            // An earlier try whose reply was lost did release it.
            None if retry => Ok(()),
            Some(h) if h.id == id => {
                if etag.is_some_and(|e| e != now_etag) && !retry {
                    bail!("the lock of stack {stack} changed since this run last wrote it");
                }
                let record = Record {
                    lock_id: h.id,
                    who: h.who,
                    command: h.command,
                    since: h.since,
                    expires: now(),
                    released: true,
                };
                match self.put(stack, &record, Some(&now_etag)).await? {
                    Some(_) => Ok(()),
                    None => bail!("the lock of stack {stack} changed while being released"),
                }
            }
            Some(h) => bail!("stack {stack} is locked by {h}, not by lock id {id}"),
            None => bail!("stack {stack} is not locked (no lock with id {id})"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the lock bucket does not exist")]
struct NoBucket;
