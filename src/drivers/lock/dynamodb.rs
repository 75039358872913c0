//! The DynamoDB lock store (`ZINFRA_LOCK=dynamodb`): one item per stack in a table zinfra creates on
//! first use, taken with a conditional write.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, TableStatus, Tag,
};

use super::record::{Holder, Locked, Me, Next, Watch, lease, now};
use crate::drivers::toolkit::{error_code, sdk_error};

/// The lock table, one per account and region; `ZINFRA_LOCK_TABLE` names another.
pub fn table_name() -> String {
    std::env::var("ZINFRA_LOCK_TABLE").unwrap_or_else(|_| "zinfra-locks".to_owned())
}

#[derive(Clone)]
pub struct DynamoLocks {
    client: Client,
    table: String,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

impl DynamoLocks {
    pub fn new(client: Client) -> DynamoLocks {
        DynamoLocks {
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
    pub(crate) async fn acquire(&self, stack: &str, me: &Me, wait: Duration) -> Result<()> {
        let (id, who, command, since) = (&me.id, &me.who, &me.command, &me.since);
        let mut watch = Watch::new(wait, lease());
        let mut table_checked = false;
        // (lock id, revision) of a holder watched for a whole lease without renewal: taken over on
        // the condition that it is still exactly that.
        let mut take_over: Option<(String, u64)> = None;
        loop {
            let t = now();
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .item("stack", s(stack))
                .item("lock_id", s(id))
                .item("who", s(who))
                .item("command", s(command))
                .item("since", s(since))
                .item(
                    "expires",
                    AttributeValue::N((t + lease().as_secs()).to_string()),
                )
                .item("rev", AttributeValue::N("0".into()));
            let put = match take_over.take() {
                Some((old, rev)) => put
                    .condition_expression(
                        "lock_id = :old AND (rev = :rev OR (attribute_not_exists(rev) AND :rev = :zero))",
                    )
                    .expression_attribute_values(":old", s(old))
                    .expression_attribute_values(":rev", AttributeValue::N(rev.to_string()))
                    .expression_attribute_values(":zero", AttributeValue::N("0".into())),
                None => put
                    .condition_expression("attribute_not_exists(stack) OR lock_id = :id")
                    .expression_attribute_values(":id", s(id)),
            };
            let put = put.send().await;
            match put {
                Ok(_) => return Ok(()),
                Err(e) if error_code(&e) == Some("ResourceNotFoundException") && !table_checked => {
                    table_checked = true;
                    self.ensure_table().await?;
                }
                Err(e) if error_code(&e) == Some("ConditionalCheckFailedException") => {
                    let holder = self.current(stack).await?;
                    match holder {
                        // Released between our write and our read: try again at once.
                        None => continue,
                        Some(holder) => {
                            let token = format!("{}/{}", holder.id, holder.rev);
                            match watch.next(&token, &holder) {
                                Next::TakeOver => take_over = Some((holder.id, holder.rev)),
                                Next::Wait => tokio::time::sleep(watch.pause()).await,
                                Next::GiveUp => {
                                    return Err(Locked {
                                        stack: stack.to_owned(),
                                        holder,
                                    }
                                    .into());
                                }
                            }
                        }
                    }
                }
                Err(e) => return Err(sdk_error("PutItem", e)).context("taking the stack lock"),
            }
        }
    }

    /// The stack's marker item (`<stack>#marker`), if any.
    pub(crate) async fn marker(&self, stack: &str) -> Result<Option<String>> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("stack", s(format!("{stack}#marker")))
            .consistent_read(true)
            .send()
            .await;
        match got {
            Ok(o) => Ok(o
                .item
                .and_then(|i| i.get("marker").and_then(|v| v.as_s().ok()).cloned())),
            Err(e) if error_code(&e) == Some("ResourceNotFoundException") => Ok(None),
            Err(e) => Err(sdk_error("GetItem", e)),
        }
    }

    /// Written under the stack's lock, so no condition is needed.
    pub(crate) async fn set_marker(&self, stack: &str, raw: &str) -> Result<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("stack", s(format!("{stack}#marker")))
            .item("marker", s(raw))
            .send()
            .await
            .map_err(|e| sdk_error("PutItem", e))
            .context("writing the stack marker")?;
        Ok(())
    }

    /// The holder whose lease is live by this machine's clock (for `unlock`'s message).
    pub async fn holder(&self, stack: &str) -> Result<Option<Holder>> {
        Ok(self.current(stack).await?.filter(|h| h.expires >= now()))
    }

    /// Whoever the item names, expired by a clock or not.
    async fn current(&self, stack: &str) -> Result<Option<Holder>> {
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
        Ok(item.and_then(|i| holder_of(&i)))
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
                match self.current(stack).await? {
                    Some(h) => bail!("stack {stack} is locked by {h}, not by lock id {id}"),
                    None => bail!("stack {stack} is not locked (no lock with id {id})"),
                }
            }
            Err(e) => Err(sdk_error("DeleteItem", e)),
        }
    }

    pub(crate) async fn renew(&self, stack: &str, id: &str) -> Result<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("stack", s(stack))
            .update_expression("SET expires = :e ADD rev :one")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .condition_expression("lock_id = :id")
            .expression_attribute_values(
                ":e",
                AttributeValue::N((now() + lease().as_secs()).to_string()),
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
        rev: i
            .get("rev")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
    })
}
