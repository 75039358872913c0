//! The per-stack lock `apply` and `destroy` hold while they change anything: one item per stack in a
//! DynamoDB table zinfra creates on first use, taken with a conditional write, renewed while work runs,
//! and expiring by itself if its holder dies.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, TableStatus, Tag,
};

use super::{error_code, sdk_error};

/// The lock table, one per account and region; `ZINFRA_LOCK_TABLE` names another.
pub fn table_name() -> String {
    std::env::var("ZINFRA_LOCK_TABLE").unwrap_or_else(|_| "zinfra-locks".to_owned())
}

/// How long a lock lives without renewal: a holder that dies frees the stack after this.
pub const LEASE: Duration = Duration::from_secs(60);
/// Renewal period, well inside the lease.
pub const RENEW_EVERY: Duration = Duration::from_secs(20);

/// Who holds a lock, as stored in its item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub id: String,
    pub who: String,
    pub command: String,
    pub since: String,
    /// Unix seconds.
    pub expires: u64,
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
     --lock-timeout to wait here. If that run is gone, the lock expires by itself within {lease}s; to \
     release it now: zinfra unlock STACK {id}",
    lease = LEASE.as_secs(),
    id = holder.id
)]
pub struct Locked {
    pub stack: String,
    pub holder: Holder,
}

#[derive(Clone)]
pub struct Locks {
    client: Client,
    table: String,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

impl Locks {
    pub fn new(client: Client) -> Locks {
        Locks {
            client,
            table: table_name(),
        }
    }

    /// Create the lock table unless it exists, and wait until it is usable.
    async fn ensure_table(&self) -> Result<()> {
        // The SDK never re-sends a create (nor a throttled one); a table name is unique, so trying
        // again is safe: a lost reply's table answers ResourceInUseException.
        let mut tries = 0;
        loop {
            tries += 1;
            match self.create_table().await {
                Err(e)
                    if (crate::provider::outcome_unknown(&e) || crate::provider::not_yet(&e))
                        && tries < 8 =>
                {
                    tokio::time::sleep(Duration::from_millis(200 * tries)).await;
                }
                other => break other?,
            }
        }
        crate::wait::until(
            "lock table",
            Duration::from_secs(120),
            Duration::from_secs(2),
            || async {
                let d = self
                    .client
                    .describe_table()
                    .table_name(&self.table)
                    .send()
                    .await
                    .map_err(|e| sdk_error("DescribeTable", e))?;
                let status = d.table().and_then(|t| t.table_status().cloned());
                Ok(match status {
                    Some(TableStatus::Active) => crate::wait::Poll::Ready(()),
                    other => crate::wait::Poll::Pending(format!("{other:?}")),
                })
            },
        )
        .await
    }

    async fn create_table(&self) -> Result<()> {
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("stack")
                    .attribute_type(ScalarAttributeType::S)
                    .build()?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("stack")
                    .key_type(KeyType::Hash)
                    .build()?,
            )
            .billing_mode(BillingMode::PayPerRequest)
            .tags(Tag::builder().key("zinfra:role").value("locks").build()?)
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            Err(e) if error_code(&e) == Some("ResourceInUseException") => Ok(()),
            Err(e) => Err(sdk_error("CreateTable", e)).context("creating the lock table"),
        }
    }

    /// Take the stack's lock, waiting up to `wait` for another holder to let go.
    pub async fn acquire(&self, stack: &str, command: &str, wait: Duration) -> Result<Lease> {
        let id = lock_id(stack);
        let who = format!(
            "{}@{} (pid {})",
            std::env::var("USER")
                .or_else(|_| std::env::var("GITHUB_ACTOR"))
                .unwrap_or_else(|_| "unknown".into()),
            hostname(),
            std::process::id()
        );
        let since = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
        let deadline = std::time::Instant::now() + wait;
        let mut table_checked = false;
        loop {
            let t = now();
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .item("stack", s(stack))
                .item("lock_id", s(&id))
                .item("who", s(&who))
                .item("command", s(command))
                .item("since", s(&since))
                .item(
                    "expires",
                    AttributeValue::N((t + LEASE.as_secs()).to_string()),
                )
                .condition_expression(
                    "attribute_not_exists(stack) OR expires < :now OR lock_id = :id",
                )
                .expression_attribute_values(":now", AttributeValue::N(t.to_string()))
                .expression_attribute_values(":id", s(&id))
                .send()
                .await;
            match put {
                Ok(_) => {
                    return Ok(Lease {
                        locks: self.clone(),
                        stack: stack.to_owned(),
                        id,
                    });
                }
                Err(e) if error_code(&e) == Some("ResourceNotFoundException") && !table_checked => {
                    table_checked = true;
                    self.ensure_table().await?;
                }
                Err(e) if error_code(&e) == Some("ConditionalCheckFailedException") => {
                    let holder = self.holder(stack).await?;
                    match holder {
                        // Released between our write and our read: try again at once.
                        None => continue,
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
                Err(e) => return Err(sdk_error("PutItem", e)).context("taking the stack lock"),
            }
        }
    }

    /// The current holder of a stack's lock, if any (an expired lock counts as none).
    pub async fn holder(&self, stack: &str) -> Result<Option<Holder>> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("stack", s(stack))
            .consistent_read(true)
            .send()
            .await;
        let item = match got {
            Ok(o) => o.item,
            Err(e) if error_code(&e) == Some("ResourceNotFoundException") => None,
            Err(e) => return Err(sdk_error("GetItem", e)),
        };
        Ok(item
            .and_then(|i| holder_of(&i))
            .filter(|h| h.expires >= now()))
    }

    /// Release a lock by id: `zinfra unlock`, or the holder itself.
    pub async fn release(&self, stack: &str, id: &str) -> Result<()> {
        let del = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("stack", s(stack))
            .condition_expression("lock_id = :id")
            .expression_attribute_values(":id", s(id))
            .send()
            .await;
        match del {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    error_code(&e),
                    Some("ConditionalCheckFailedException" | "ResourceNotFoundException")
                ) =>
            {
                match self.holder(stack).await? {
                    Some(h) => bail!("stack {stack} is locked by {h}, not by lock id {id}"),
                    None => bail!("stack {stack} is not locked (no lock with id {id})"),
                }
            }
            Err(e) => Err(sdk_error("DeleteItem", e)),
        }
    }

    async fn renew(&self, stack: &str, id: &str) -> Result<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("stack", s(stack))
            .update_expression("SET expires = :e")
            .condition_expression("lock_id = :id")
            .expression_attribute_values(
                ":e",
                AttributeValue::N((now() + LEASE.as_secs()).to_string()),
            )
            .expression_attribute_values(":id", s(id))
            .send()
            .await
            .map_err(|e| sdk_error("UpdateItem", e))
            .map(|_| ())
    }
}

fn holder_of(i: &HashMap<String, AttributeValue>) -> Option<Holder> {
    let get = |k: &str| i.get(k).and_then(|v| v.as_s().ok()).cloned();
    Some(Holder {
        id: get("lock_id")?,
        who: get("who").unwrap_or_default(),
        command: get("command").unwrap_or_default(),
        since: get("since").unwrap_or_default(),
        expires: i
            .get("expires")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
    })
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

/// A held lock: renewed in the background until released (or the process dies and it expires).
pub struct Lease {
    locks: Locks,
    pub stack: String,
    pub id: String,
}

impl Lease {
    /// Keep the lease alive while `work` runs, then release it whatever the outcome.
    pub async fn hold<T>(self, work: impl std::future::Future<Output = T>) -> (T, Result<()>) {
        let renew = {
            let (locks, stack, id) = (self.locks.clone(), self.stack.clone(), self.id.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(RENEW_EVERY).await;
                    if let Err(e) = locks.renew(&stack, &id).await {
                        tracing::warn!("renewing the lock of {stack}: {e:#}");
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
