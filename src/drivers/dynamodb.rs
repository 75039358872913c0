//! DynamoDB tables: keys, capacity, encryption at rest, TTL, point-in-time recovery and deletion protection.

use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, PointInTimeRecoverySpecification,
    PointInTimeRecoveryStatus, ProvisionedThroughput, ScalarAttributeType, SseSpecification,
    SseType, TableDescription, TableStatus, Tag, TimeToLiveSpecification, TimeToLiveStatus,
};
use futures::future::try_join_all;

use super::toolkit::{
    AwsError, Driver, POLL, ReadCx, absent_if, build_tags, code, error_code, retry_while,
    sdk_error, sync_tags, tag_pairs, user_tags,
};
use crate::model::{Live, Props, PropsExt, Resolved, Resource, Tags, Value};
use crate::wait::{self, Poll};

const KIND: &str = "dynamodb_table";
const NOT_FOUND: &str = "ResourceNotFoundException";
/// How long to wait for a table to become ACTIVE after a create or an update.
const ACTIVE_TIMEOUT: Duration = crate::kinds::dynamodb_table::WAIT;

pub struct DynamoDb {
    client: aws_sdk_dynamodb::Client,
}

impl DynamoDb {
    pub fn new(client: aws_sdk_dynamodb::Client) -> DynamoDb {
        DynamoDb { client }
    }
}

#[async_trait]
impl Driver for DynamoDb {
    fn kinds(&self) -> &'static [&'static str] {
        &[KIND]
    }

    fn service(&self) -> &'static str {
        "DYNAMODB"
    }

    /// Tables come from the tagging API (`cx.tagged`) with their tags; per table, concurrently:
    /// DescribeTable, then DescribeTimeToLive and DescribeContinuousBackups together.
    async fn read(&self, cx: &ReadCx<'_>) -> Result<Vec<Live>> {
        let index = cx.index().await?;
        let index = &index;
        let tables = cx.tagged.iter().map(|(address, arn)| async move {
            self.read_table(address, arn, index.tags(arn))
                .await
                .with_context(|| format!("reading {address} ({arn})"))
        });
        Ok(try_join_all(tables).await?.into_iter().flatten().collect())
    }

    async fn find(&self, _cx: &ReadCx<'_>, r: &Resource) -> Result<Option<Live>> {
        let Some(name) = r.props.get("table_name").and_then(Value::as_str) else {
            return Ok(None);
        };
        let res = self.client.describe_table().table_name(name).send().await;
        let Some(arn) = absent_if("DescribeTable", res, &[NOT_FOUND])?
            .and_then(|o| o.table)
            .and_then(|t| t.table_arn)
        else {
            return Ok(None);
        };
        // Rare (the name is taken): the full read describes it once more.
        self.read_table(&r.address, &arn, None).await
    }

    async fn create(&self, r: &Resolved) -> Result<Live> {
        self.create_table(r)
            .await
            .with_context(|| r.address.clone())
    }

    async fn update(&self, r: &Resolved, live: &Live, changed: &[String]) -> Result<Live> {
        self.update_table(r, live, changed)
            .await
            .with_context(|| r.address.clone())
    }

    async fn delete(&self, live: &Live) -> Result<()> {
        self.delete_table(live)
            .await
            .with_context(|| live.address.clone())
    }
}

impl DynamoDb {
    async fn read_table(
        &self,
        address: &str,
        arn: &str,
        indexed_tags: Option<&Tags>,
    ) -> Result<Option<Live>> {
        let name = arn.split_once(":table/").map(|(_, n)| n).unwrap_or(arn);
        let res = self.client.describe_table().table_name(name).send().await;
        let Some(table) = absent_if("DescribeTable", res, &[NOT_FOUND])?.and_then(|o| o.table)
        else {
            return Ok(None);
        };
        if table.table_status() == Some(&TableStatus::Deleting) {
            return Ok(None);
        }
        let ttl = async {
            absent_if(
                "DescribeTimeToLive",
                self.client
                    .describe_time_to_live()
                    .table_name(name)
                    .send()
                    .await,
                &[NOT_FOUND],
            )
        };
        let backups = async {
            let res = self
                .client
                .describe_continuous_backups()
                .table_name(name)
                .send()
                .await;
            absent_if("DescribeContinuousBackups", res, &[NOT_FOUND])
        };
        let tags = async {
            match indexed_tags {
                Some(t) => Ok(Some(t.clone())),
                None => self.tags(arn).await,
            }
        };
        let (ttl, backups, tags) = futures::try_join!(ttl, backups, tags)?;
        let (Some(ttl), Some(backups), Some(tags)) = (ttl, backups, tags) else {
            return Ok(None);
        };

        let mut props = Props::new();
        props.insert("table_name".into(), Value::Str(name.to_owned()));
        for k in table.key_schema() {
            let field = match k.key_type() {
                KeyType::Hash => "hash_key",
                KeyType::Range => "range_key",
                _ => continue,
            };
            props.insert(field.into(), Value::Str(k.attribute_name().to_owned()));
        }
        let attributes = table
            .attribute_definitions()
            .iter()
            .map(|a| {
                (
                    a.attribute_name().to_owned(),
                    Value::Str(a.attribute_type().as_str().to_owned()),
                )
            })
            .collect();
        props.insert("attributes".into(), Value::Map(attributes));
        // Tables created PROVISIONED and never switched report no billing mode summary.
        let billing = table
            .billing_mode_summary()
            .and_then(|b| b.billing_mode())
            .unwrap_or(&BillingMode::Provisioned);
        props.insert(
            "billing_mode".into(),
            Value::Str(billing.as_str().to_owned()),
        );
        if *billing == BillingMode::Provisioned
            && let Some(t) = table.provisioned_throughput()
        {
            if let Some(r) = t.read_capacity_units() {
                props.insert("read_capacity".into(), Value::Int(r));
            }
            if let Some(w) = t.write_capacity_units() {
                props.insert("write_capacity".into(), Value::Int(w));
            }
        }
        // No SSE description, or one without a key ARN, means the AWS owned key.
        if let Some(key) = table.sse_description().and_then(|s| s.kms_master_key_arn()) {
            props.insert("kms_key".into(), Value::Str(key.to_owned()));
        }
        // A disabled TTL still reports the attribute it last used.
        if let Some(t) = ttl.time_to_live_description()
            && matches!(
                t.time_to_live_status(),
                Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
            )
            && let Some(attr) = t.attribute_name()
        {
            props.insert("ttl_attribute".into(), Value::Str(attr.to_owned()));
        }
        let pitr = backups
            .continuous_backups_description()
            .and_then(|c| c.point_in_time_recovery_description())
            .and_then(|p| p.point_in_time_recovery_status());
        props.insert(
            "point_in_time_recovery".into(),
            Value::Bool(pitr == Some(&PointInTimeRecoveryStatus::Enabled)),
        );
        props.insert(
            "deletion_protection".into(),
            Value::Bool(table.deletion_protection_enabled().unwrap_or(false)),
        );

        let mut live = table_live(address, name, table.table_arn().unwrap_or(arn));
        live.props = props;
        live.tags = tags;
        Ok(Some(live))
    }

    async fn tags(&self, arn: &str) -> Result<Option<Tags>> {
        let mut tags = Tags::new();
        let mut token = None;
        loop {
            let res = self
                .client
                .list_tags_of_resource()
                .resource_arn(arn)
                .set_next_token(token)
                .send()
                .await;
            let Some(page) = absent_if("ListTagsOfResource", res, &[NOT_FOUND])? else {
                return Ok(None);
            };
            tags.extend(user_tags(page.tags().iter().map(|t| (t.key(), t.value()))));
            match page.next_token() {
                Some(t) => token = Some(t.to_owned()),
                None => return Ok(Some(tags)),
            }
        }
    }

    async fn create_table(&self, r: &Resolved) -> Result<Live> {
        let name = r
            .props
            .str("table_name")
            .ok_or_else(|| anyhow!("table_name is not set"))?;
        let hash = r
            .props
            .str("hash_key")
            .ok_or_else(|| anyhow!("hash_key is not set"))?;
        let mut keys = vec![key(hash, KeyType::Hash)?];
        if let Some(range) = r.props.str("range_key") {
            keys.push(key(range, KeyType::Range)?);
        }
        let attributes = r
            .props
            .get("attributes")
            .and_then(Value::as_map)
            .ok_or_else(|| anyhow!("attributes is not set"))?
            .iter()
            .map(|(name, ty)| {
                let ty = ty
                    .as_str()
                    .ok_or_else(|| anyhow!("attribute `{name}` has no type"))?;
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::from(ty))
                    .build()
                    .map_err(anyhow::Error::from)
            })
            .collect::<Result<Vec<_>>>()?;
        let billing = BillingMode::from(r.props.str("billing_mode").unwrap_or("PAY_PER_REQUEST"));
        let throughput = if billing == BillingMode::Provisioned {
            Some(throughput(&r.props)?)
        } else {
            None
        };
        let out = self
            .client
            .create_table()
            .table_name(name)
            .set_key_schema(Some(keys))
            .set_attribute_definitions(Some(attributes))
            .billing_mode(billing)
            .set_provisioned_throughput(throughput)
            .set_sse_specification(r.props.str("kms_key").map(sse))
            .set_deletion_protection_enabled(
                r.props.get("deletion_protection").and_then(Value::as_bool),
            )
            .set_tags(Some(dynamo_tags(tag_pairs(&r.tags))?))
            .send()
            .await
            .map_err(|e| sdk_error("CreateTable", e))?;
        let table = out
            .table_description
            .unwrap_or_else(|| TableDescription::builder().build());
        let arn = table.table_arn().map(str::to_owned);
        // TTL and backups can only be configured on an ACTIVE table.
        if table.table_status() != Some(&TableStatus::Active) {
            self.wait_active(name).await?;
        }
        if let Some(attr) = r.props.str("ttl_attribute") {
            self.set_ttl(name, attr, true).await?;
        }
        // Backups are off on a new table: only a request to turn them on needs a call.
        if r.props.bool_or("point_in_time_recovery", false) {
            self.set_pitr(name, true).await?;
        }
        let arn = self.arn_of(name, arn).await?;
        let mut live = table_live(&r.address, name, &arn);
        live.tags = r.tags.clone();
        Ok(live)
    }

    async fn update_table(&self, r: &Resolved, live: &Live, changed: &[String]) -> Result<Live> {
        let name = live.id.as_str();
        let has = |f: &str| changed.iter().any(|c| c == f);
        // UpdateTable takes one kind of change at a time and leaves the table UPDATING meanwhile.
        let billing = BillingMode::from(r.props.str("billing_mode").unwrap_or("PAY_PER_REQUEST"));
        let on_demand =
            |p: &Props| p.str("billing_mode") == Some(BillingMode::PayPerRequest.as_str());
        // Capacity means nothing to an on-demand table, and AWS rejects an UpdateTable that changes nothing.
        let capacity_only = on_demand(&r.props) && on_demand(&live.props) && !has("billing_mode");
        if (has("billing_mode") || has("read_capacity") || has("write_capacity")) && !capacity_only
        {
            let throughput = if billing == BillingMode::Provisioned {
                Some(throughput(&r.props)?)
            } else {
                None
            };
            self.client
                .update_table()
                .table_name(name)
                .billing_mode(billing)
                .set_provisioned_throughput(throughput)
                .send()
                .await
                .map_err(|e| sdk_error("UpdateTable", e))
                .context("changing billing mode or capacity (AWS limits how often a table may switch billing mode)")?;
            self.wait_active(name).await?;
        }
        if has("kms_key")
            && let Some(key) = r.props.str("kms_key")
        {
            self.client
                .update_table()
                .table_name(name)
                .sse_specification(sse(key))
                .send()
                .await
                .map_err(|e| sdk_error("UpdateTable", e))
                .context("changing the encryption key")?;
            self.wait_active(name).await?;
        }
        if has("deletion_protection") {
            self.client
                .update_table()
                .table_name(name)
                .deletion_protection_enabled(r.props.bool_or("deletion_protection", false))
                .send()
                .await
                .map_err(|e| sdk_error("UpdateTable", e))
                .context("changing deletion protection")?;
        }
        if has("ttl_attribute") {
            self.change_ttl(
                name,
                live.props.str("ttl_attribute"),
                r.props.str("ttl_attribute"),
            )
            .await?;
        }
        if has("point_in_time_recovery") {
            self.set_pitr(name, r.props.bool_or("point_in_time_recovery", false))
                .await?;
        }
        let arn = self.arn_of(name, live.outputs.get("arn").cloned()).await?;
        if has("tags") {
            sync_tags(&self.client, &arn, &r.tags, &live.tags).await?;
        }
        let mut out = table_live(&r.address, name, &arn);
        out.tags = r.tags.clone();
        Ok(out)
    }

    async fn delete_table(&self, live: &Live) -> Result<()> {
        let name = live.id.as_str();
        let protected = || {
            anyhow!(
                "table {name} has deletion protection on: set `deletion_protection = false` for it and apply, \
                 then delete it"
            )
        };
        if live.props.bool_or("deletion_protection", false) {
            return Err(protected());
        }
        // Refused while the table is being created or updated: tried again until it can be
        // deleted, within the resource's timeout. `true`: deleting (wait until gone), `false`: gone.
        let what = format!("table {name} to accept its deletion");
        let deleting = wait::until(&what, ACTIVE_TIMEOUT, POLL, || async {
            let e = match self.client.delete_table().table_name(name).send().await {
                Ok(_) => return Ok(Poll::Ready(true)),
                Err(e) => e,
            };
            match error_code(&e) {
                Some(NOT_FOUND) => Ok(Poll::Ready(false)),
                _ if e
                    .message()
                    .unwrap_or_default()
                    .to_ascii_lowercase()
                    .contains("protect") =>
                {
                    Err(protected())
                }
                Some("ResourceInUseException") => {
                    let res = self.client.describe_table().table_name(name).send().await;
                    Ok(
                        match absent_if("DescribeTable", res, &[NOT_FOUND])?.and_then(|o| o.table) {
                            None => Poll::Ready(false),
                            Some(t) if t.table_status() == Some(&TableStatus::Deleting) => {
                                Poll::Ready(true)
                            }
                            Some(t) => Poll::Pending(
                                t.table_status().map_or("IN_USE", |s| s.as_str()).to_owned(),
                            ),
                        },
                    )
                }
                _ => Err(sdk_error("DeleteTable", e)),
            }
        })
        .await?;
        if deleting {
            // A replacement re-creates the same name: it must be gone first, not just DELETING.
            self.wait_gone(name).await
        } else {
            Ok(())
        }
    }

    /// The table's ARN: `known`, else from DescribeTable.
    async fn arn_of(&self, name: &str, known: Option<String>) -> Result<String> {
        match known {
            Some(arn) => Ok(arn),
            None => Ok(self
                .describe(name)
                .await?
                .table_arn()
                .unwrap_or_default()
                .to_owned()),
        }
    }

    async fn describe(&self, name: &str) -> Result<TableDescription> {
        let out = self
            .client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| sdk_error("DescribeTable", e))?;
        out.table
            .ok_or_else(|| anyhow!("DescribeTable returned no table"))
    }

    /// The table's status; `None` when DescribeTable does not (or not yet) see it.
    async fn status(&self, name: &str) -> Result<Option<TableStatus>> {
        let res = self.client.describe_table().table_name(name).send().await;
        Ok(absent_if("DescribeTable", res, &[NOT_FOUND])?
            .and_then(|o| o.table)
            .map(|t| t.table_status().cloned().unwrap_or(TableStatus::Creating)))
    }

    /// Polls until DescribeTable no longer finds the table, within the same bound as creation (or
    /// the resource's `timeout`).
    async fn wait_gone(&self, name: &str) -> Result<()> {
        wait::until(
            &format!("table {name} to be deleted"),
            ACTIVE_TIMEOUT,
            POLL,
            || async {
                Ok(match self.status(name).await? {
                    None => Poll::Ready(()),
                    Some(s) => Poll::Pending(s.as_str().to_owned()),
                })
            },
        )
        .await
    }

    async fn wait_active(&self, name: &str) -> Result<()> {
        wait::until(
            &format!("table {name} to be active"),
            ACTIVE_TIMEOUT,
            POLL,
            || async {
                // DescribeTable is eventually consistent: just after CreateTable it may not see the table yet.
                Ok(
                    match self.status(name).await?.unwrap_or(TableStatus::Creating) {
                        TableStatus::Active => Poll::Ready(()),
                        s => Poll::Pending(s.as_str().to_owned()),
                    },
                )
            },
        )
        .await
    }

    async fn set_ttl(&self, name: &str, attribute: &str, enabled: bool) -> Result<()> {
        let spec = TimeToLiveSpecification::builder()
            .attribute_name(attribute)
            .enabled(enabled)
            .build()?;
        self.client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(spec)
            .send()
            .await
            .map_err(|e| sdk_error("UpdateTimeToLive", e))?;
        Ok(())
    }

    /// A table has at most one TTL attribute: moving it means disabling the old one first.
    async fn change_ttl(&self, name: &str, old: Option<&str>, new: Option<&str>) -> Result<()> {
        const LIMIT: &str = "AWS allows one TTL change per table per hour; apply again later";
        if let Some(old) = old.filter(|o| Some(*o) != new) {
            self.set_ttl(name, old, false)
                .await
                .with_context(|| format!("disabling TTL on `{old}` ({LIMIT})"))?;
        }
        if let Some(new) = new.filter(|n| Some(*n) != old) {
            let what = match old {
                Some(old) => {
                    format!("enabling TTL on `{new}` after disabling it on `{old}` ({LIMIT})")
                }
                None => format!("enabling TTL on `{new}` ({LIMIT})"),
            };
            self.set_ttl(name, new, true).await.context(what)?;
        }
        Ok(())
    }

    async fn set_pitr(&self, name: &str, enabled: bool) -> Result<()> {
        let spec = PointInTimeRecoverySpecification::builder()
            .point_in_time_recovery_enabled(enabled)
            .build()?;
        // Shortly after CreateTable, AWS may still be turning on the table's continuous backups.
        let again = |e: &AwsError| code(e, "ContinuousBackupsUnavailableException");
        retry_while(Duration::from_secs(120), again, || async {
            self.client
                .update_continuous_backups()
                .table_name(name)
                .point_in_time_recovery_specification(spec.clone())
                .send()
                .await
                .map(drop)
                .map_err(|e| AwsError::new("UpdateContinuousBackups", &e))
        })
        .await?;
        Ok(())
    }
}

fn table_live(address: &str, name: &str, arn: &str) -> Live {
    let mut live = Live::new(address, KIND, name);
    live.outputs.insert("arn".into(), arn.to_owned());
    live
}

fn key(attribute: &str, ty: KeyType) -> Result<KeySchemaElement> {
    Ok(KeySchemaElement::builder()
        .attribute_name(attribute)
        .key_type(ty)
        .build()?)
}

fn throughput(props: &Props) -> Result<ProvisionedThroughput> {
    let read = props
        .int("read_capacity")
        .ok_or_else(|| anyhow!("PROVISIONED needs read_capacity"))?;
    let write = props
        .int("write_capacity")
        .ok_or_else(|| anyhow!("PROVISIONED needs write_capacity"))?;
    Ok(ProvisionedThroughput::builder()
        .read_capacity_units(read)
        .write_capacity_units(write)
        .build()?)
}

fn sse(kms_key: &str) -> SseSpecification {
    SseSpecification::builder()
        .enabled(true)
        .sse_type(SseType::Kms)
        .kms_master_key_id(kms_key)
        .build()
}

fn dynamo_tags<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Vec<Tag>> {
    build_tags(tags, |k, v| Tag::builder().key(k).value(v).build())
}

crate::tag_resource_api!(aws_sdk_dynamodb::Client, resource_arn, dynamo_tags);
