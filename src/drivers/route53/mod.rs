//! Route53 public hosted zones and their records.
//!
//! Zones are tagged like every other resource, but the tagging API does not cover Route53 (and Route53 is
//! global), so they are found by listing zones plus one `ListTagsForResources` per 10 zones. Records carry
//! no tags: a record is found from its zone, and it belongs to the stack when an ownership record says so
//! (external-dns's TXT registry): a TXT record `zinfra-<type>.<name>` holding
//! `"heritage=zinfra,zinfra/stack=<stack>,zinfra/address=<address>"`, created and deleted in the same
//! atomic change batch as the record itself, so a zone can hold thousands of owned records and a record
//! is never without its owner. Records made elsewhere have no ownership record: zinfra never overwrites
//! them unless the file adopts them. Records from before the registry are owned through zone tags
//! `zinfra:record:<name>` = `<TYPE> <record name>` (at most ~45 per zone); those are still read, and the
//! record's next change writes its ownership record. Zones and each zone's records are read once per
//! run, shared by zones, records and certificates.

mod common;
mod record;
mod zone;

pub use common::{
    MARKER, Route53, StackZone, bare_id, change_zone_tags, record_name, stack_zones,
    stack_zones_once, zone_records, zone_records_once,
};

use anyhow::{Context, Result};
use async_trait::async_trait;
use futures::future::try_join_all;

use crate::drivers::toolkit::{Driver, ReadCx, Undeclared};
use crate::model::{Live, PropsExt, Resolved, Resource, Value};
use common::*;

#[async_trait]
impl Driver for Route53 {
    fn kinds(&self) -> &'static [&'static str] {
        &[ZONE, RECORD]
    }

    fn service(&self) -> &'static str {
        "ROUTE_53"
    }

    fn undeclared(&self, _kind: &str) -> Undeclared {
        Undeclared::Listing
    }

    fn uses_tag_index(&self) -> bool {
        false
    }

    async fn read(&self, cx: &ReadCx<'_>) -> Result<Vec<Live>> {
        let zones = stack_zones_once(&self.client, cx).await?;
        match cx.kind {
            ZONE => {
                let mut lives: Vec<Live> =
                    try_join_all(zones.iter().map(|z| self.read_zone(cx.stack, z)))
                        .await?
                        .into_iter()
                        .flatten()
                        .collect();
                // A zone is delegated by a parent zone of the stack when the parent holds its NS
                // record with the zone's ownership record.
                for live in &mut lives {
                    let name = live.props.str("name").unwrap_or_default().to_owned();
                    let mut parent = Value::Str(String::new());
                    for p in zones
                        .iter()
                        .filter(|p| name.ends_with(&format!(".{}", p.name)))
                    {
                        let sets = zone_records_once(&self.client, cx, &p.id).await?;
                        let owned = registry(&sets)
                            .get(&registry_name(&name, "NS"))
                            .is_some_and(|(stack, address)| {
                                stack == cx.stack && *address == live.address
                            });
                        if owned {
                            parent = Value::Str(p.id.clone());
                        }
                    }
                    live.props.insert("parent_zone".into(), parent);
                }
                Ok(lives)
            }
            _ => {
                let per_zone = try_join_all(zones.iter().map(|z| self.read_records(cx, z))).await?;
                Ok(per_zone.into_iter().flatten().collect())
            }
        }
    }

    async fn find(&self, cx: &ReadCx<'_>, r: &Resource) -> Result<Option<Live>> {
        match r.kind.as_str() {
            RECORD => self.find_record(cx, r).await,
            _ => Ok(None),
        }
    }

    async fn create(&self, r: &Resolved) -> Result<Live> {
        match r.kind.as_str() {
            ZONE => self.create_zone(r).await,
            _ => self.put_record(r, None).await,
        }
        .with_context(|| format!("creating {}", r.address))
    }

    async fn update(&self, r: &Resolved, live: &Live, changed: &[String]) -> Result<Live> {
        let done = match r.kind.as_str() {
            ZONE => self.update_zone(r, live, changed).await,
            _ => self.put_record(r, Some(live)).await,
        };
        done.with_context(|| format!("updating {}", r.address))
    }

    async fn delete(&self, live: &Live) -> Result<()> {
        match live.kind.as_str() {
            ZONE => self.delete_zone(live).await,
            _ => self.delete_record(live).await,
        }
        .with_context(|| format!("deleting {} ({})", live.address, live.id))
    }
}
