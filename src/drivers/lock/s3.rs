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

use super::record::{Holder, Locked, Me, Next, Watch, lease, now};
use crate::drivers::toolkit::{error_code, sdk_error};

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
    /// Bumped by every write of the holder: the lease counter (and a fresh ETag even when the clock
    /// would write the same `expires`).
    #[serde(default)]
    rev: u64,
}

impl Record {
    fn holder(&self) -> Option<Holder> {
        // Expiry is not judged here, by this machine's clock: see `Watch`.
        (!self.released).then(|| Holder {
            id: self.lock_id.clone(),
            who: self.who.clone(),
            command: self.command.clone(),
            since: self.since.clone(),
            expires: self.expires,
            rev: self.rev,
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
    fn marker_key(stack: &str) -> String {
        format!("stacks/{stack}.json")
    }

    /// The stack's marker object, if any (no bucket yet: none).
    pub(crate) async fn marker(&self, stack: &str) -> Result<Option<String>> {
        let bucket = self.bucket().await?;
        let got = self
            .client
            .get_object()
            .bucket(bucket)
            .key(Self::marker_key(stack))
            .send()
            .await;
        match got {
            Ok(o) => {
                let bytes = o.body.collect().await.context("reading the stack marker")?;
                Ok(Some(
                    String::from_utf8_lossy(&bytes.into_bytes()).into_owned(),
                ))
            }
            Err(e) if matches!(error_code(&e), Some("NoSuchKey" | "NoSuchBucket")) => Ok(None),
            Err(e) => Err(sdk_error("GetObject", e)).context("reading the stack marker"),
        }
    }

    /// Written under the stack's lock, so no condition is needed.
    pub(crate) async fn set_marker(&self, stack: &str, raw: &str) -> Result<()> {
        let bucket = self.bucket().await?;
        self.client
            .put_object()
            .bucket(bucket)
            .key(Self::marker_key(stack))
            .content_type("application/json")
            .body(ByteStream::from(raw.as_bytes().to_vec()))
            .send()
            .await
            .map_err(|e| sdk_error("PutObject", e))
            .context("writing the stack marker")?;
        Ok(())
    }

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
        // Already ours (an earlier run cut short, or a reply lost): its settings are written again all
        // the same. A bucket name is unique, so re-sending a create whose outcome is unknown is safe.
        let mut tries = 0;
        loop {
            tries += 1;
            match create.clone().send().await {
                Ok(_) => break,
                Err(e) if matches!(error_code(&e), Some("BucketAlreadyOwnedByYou")) => break,
                Err(e) => {
                    let e = sdk_error("CreateBucket", e);
                    if tries < 8
                        && (crate::provider::outcome_unknown(&e) || crate::provider::not_yet(&e))
                    {
                        tokio::time::sleep(Duration::from_millis(200 * tries)).await;
                        continue;
                    }
                    return Err(e).context("creating the lock bucket");
                }
            }
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

    /// Take the stack's lock, waiting up to `wait`.
    pub(crate) async fn acquire(&self, stack: &str, me: &Me, wait: Duration) -> Result<()> {
        let mut watch = Watch::new(wait, lease());
        let mut bucket_checked = false;
        let record = || Record {
            lock_id: me.id.clone(),
            who: me.who.clone(),
            command: me.command.clone(),
            since: me.since.clone(),
            expires: now() + lease().as_secs(),
            released: false,
            rev: 0,
        };
        loop {
            let taken = match self.take(stack, me, &record(), None).await {
                Ok(t) => t,
                Err(e) if e.is::<NoBucket>() && !bucket_checked => {
                    bucket_checked = true;
                    self.ensure_bucket().await?;
                    continue;
                }
                Err(e) => return Err(e).context("taking the stack lock"),
            };
            if taken.is_some() {
                return Ok(());
            }
            // The object exists: a released lock is taken at once, a held one only once watched unrenewed.
            let Some((etag, holder)) = self.read(stack).await? else {
                continue;
            };
            match holder {
                // This run's own write, sent again by the SDK after a lost reply and refused (412).
                Some(h) if h.id == me.id => return Ok(()),
                None => {
                    let taken = self.take(stack, me, &record(), Some(&etag)).await;
                    if taken.context("taking the stack lock")?.is_some() {
                        return Ok(());
                    }
                }
                Some(holder) => match watch.next(&etag, &holder) {
                    // Unrenewed for a whole lease: taken over on the ETag watched.
                    Next::TakeOver => {
                        let taken = self.take(stack, me, &record(), Some(&etag)).await;
                        if taken.context("taking the stack lock")?.is_some() {
                            return Ok(());
                        }
                    }
                    Next::Wait => tokio::time::sleep(watch.pause()).await,
                    Next::GiveUp => {
                        return Err(Locked {
                            stack: stack.to_owned(),
                            holder,
                        }
                        .into());
                    }
                },
            }
        }
    }

    /// One conditional write of this holder's record ([`S3Locks::put`]). A write whose reply was lost
    /// (or that was throttled) may have landed: the object then says whose the lock is, so the run
    /// never leaves a lock it took behind without knowing it.
    async fn take(
        &self,
        stack: &str,
        me: &Me,
        record: &Record,
        if_match: Option<&str>,
    ) -> Result<Option<String>> {
        let mut tries = 0;
        loop {
            match self.put(stack, record, if_match).await {
                Err(e)
                    if (crate::provider::outcome_unknown(&e) || crate::provider::not_yet(&e))
                        && tries < 8 =>
                {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(200 * tries)).await;
                    match self.read(stack).await? {
                        Some((etag, Some(h))) if h.id == me.id => return Ok(Some(etag)),
                        // Not ours: the object changed (lost to another run, or our write never
                        // landed and a condition on the old ETag would now fail): the caller looks again.
                        Some((now, _)) if if_match.is_some_and(|e| e != now) => return Ok(None),
                        _ => continue,
                    }
                }
                other => return other,
            }
        }
    }

    /// Extend the lease. Fails when the lock is no longer this holder's.
    pub(crate) async fn renew(&self, stack: &str, id: &str) -> Result<()> {
        self.rewrite(stack, id, false).await
    }

    /// Release by lock id (the holder itself, or `zinfra unlock`).
    pub(crate) async fn release(&self, stack: &str, id: &str) -> Result<()> {
        self.rewrite(stack, id, true).await
    }

    /// Rewrite the record of holder `id` (renewed, or released), fenced by its lock id: each try reads
    /// the object and writes on the condition of the ETag it read. A write that landed with its reply
    /// lost, or that the SDK sent again and S3 then refused (412), is found by the next read.
    async fn rewrite(&self, stack: &str, id: &str, release: bool) -> Result<()> {
        let mut wrote = false;
        for attempt in 1..=6u64 {
            let holder = match self.read(stack).await? {
                Some((etag, holder)) => holder.map(|h| (etag, h)),
                None => None,
            };
            match holder {
                Some((etag, h)) if h.id == id => {
                    let record = Record {
                        lock_id: h.id,
                        who: h.who,
                        command: h.command,
                        since: h.since,
                        expires: if release {
                            now()
                        } else {
                            now() + lease().as_secs()
                        },
                        released: release,
                        rev: h.rev + 1,
                    };
                    match self.put(stack, &record, Some(&etag)).await {
                        Ok(Some(_)) => return Ok(()),
                        // Changed since the read: perhaps by this very write, sent twice. Look again.
                        Ok(None) => {}
                        Err(e)
                            if crate::provider::outcome_unknown(&e)
                                || crate::provider::not_yet(&e) =>
                        {
                            tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
                        }
                        Err(e) => return Err(e),
                    }
                    wrote = true;
                }
                // This run's release landed, its reply lost.
                None if release && wrote => return Ok(()),
                Some((_, h)) => bail!("stack {stack} is locked by {h}, not by lock id {id}"),
                None if release => bail!("stack {stack} is not locked (no lock with id {id})"),
                None => bail!("the lock of stack {stack} was released before it could be renewed"),
            }
        }
        bail!("the lock of stack {stack} kept changing while this run wrote it")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the lock bucket does not exist")]
struct NoBucket;
