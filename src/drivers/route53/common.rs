//! What the route53 driver's resource kinds share: the client, constants, tags.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Result;
use aws_sdk_route53::Client;
use aws_sdk_route53::types::{
    Change, ChangeBatch, HostedZone, ResourceRecord, ResourceRecordSet, RrType, Tag,
    TagResourceType,
};
use futures::future::try_join_all;

use crate::drivers::toolkit::{AllItems, ReadCx, owned_address, sdk_error};
use crate::kinds::route53_zone::normalize;
use crate::model::{Live, Tags};

pub(super) const ZONE: &str = "route53_zone";
pub(super) const RECORD: &str = "route53_record";
/// Prefix of the zone tags that mark a record as the stack's.
pub const MARKER: &str = "zinfra:record:";
/// ListTagsForResources and ChangeTagsForResource take at most 10 items.
pub(super) const TAG_BATCH: usize = 10;

pub struct Route53 {
    pub(super) client: Client,
}

impl Route53 {
    pub fn new(client: Client) -> Route53 {
        Route53 { client }
    }
}

/// A stack zone as listed, with its tags (markers included).
pub struct StackZone {
    pub id: String,
    pub name: String,
    pub comment: String,
    pub tags: Tags,
}

/// `Z123` from `/hostedzone/Z123`.
pub fn bare_id(id: &str) -> &str {
    id.trim_start_matches("/hostedzone/")
}

/// Every hosted zone tagged for `stack`: ListHostedZones (paginated) plus ListTagsForResources per 10.
pub async fn stack_zones(client: &Client, stack: &str) -> Result<Vec<StackZone>> {
    let pages = client
        .list_hosted_zones()
        .into_paginator()
        .send()
        .all("ListHostedZones")
        .await?;
    let zones: Vec<HostedZone> = pages
        .into_iter()
        .flat_map(|p| p.hosted_zones)
        .filter(|z| !z.config().is_some_and(|c| c.private_zone()))
        .collect();
    let ids: Vec<String> = zones.iter().map(|z| bare_id(z.id()).to_owned()).collect();
    let tag_sets = try_join_all(ids.chunks(TAG_BATCH).map(|batch| async move {
        client
            .list_tags_for_resources()
            .resource_type(TagResourceType::Hostedzone)
            .set_resource_ids(Some(batch.to_vec()))
            .send()
            .await
            .map_err(|e| sdk_error("ListTagsForResources", e))
    }))
    .await?;
    let mut tags_by_id: BTreeMap<String, Tags> = BTreeMap::new();
    for out in tag_sets {
        for set in out.resource_tag_sets() {
            let Some(id) = set.resource_id() else {
                continue;
            };
            tags_by_id.insert(
                bare_id(id).to_owned(),
                set.tags()
                    .iter()
                    .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
                    .collect(),
            );
        }
    }
    Ok(zones
        .into_iter()
        .filter_map(|z| {
            let id = bare_id(z.id()).to_owned();
            let tags = tags_by_id.remove(&id)?;
            owned_address(stack, tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
            Some(StackZone {
                name: normalize(z.name()),
                comment: z
                    .config()
                    .and_then(|c| c.comment())
                    .unwrap_or_default()
                    .to_owned(),
                id,
                tags,
            })
        })
        .collect())
}

/// The stack's zones, listed once per run for every kind that needs them (zones, records, certificates).
pub async fn stack_zones_once(client: &Client, cx: &ReadCx<'_>) -> Result<Arc<Vec<StackZone>>> {
    cx.run
        .once("route53:zones", || stack_zones(client, cx.stack))
        .await
}

/// A zone's record sets, read once per run for every kind that needs them (records, certificates).
pub async fn zone_records_once(
    client: &Client,
    cx: &ReadCx<'_>,
    zone_id: &str,
) -> Result<Arc<Vec<ResourceRecordSet>>> {
    cx.run
        .once(format!("route53:records:{zone_id}"), || {
            zone_records(client, zone_id)
        })
        .await
}

/// Every record set of a zone (ListResourceRecordSets, following its own pagination).
pub async fn zone_records(client: &Client, zone_id: &str) -> Result<Vec<ResourceRecordSet>> {
    let mut out = Vec::new();
    let mut next: Option<(String, RrType)> = None;
    loop {
        let mut req = client.list_resource_record_sets().hosted_zone_id(zone_id);
        if let Some((name, ty)) = next.take() {
            req = req.start_record_name(name).start_record_type(ty);
        }
        let page = req
            .send()
            .await
            .map_err(|e| sdk_error("ListResourceRecordSets", e))?;
        out.extend(page.resource_record_sets().iter().cloned());
        match (
            page.is_truncated(),
            page.next_record_name(),
            page.next_record_type(),
        ) {
            (true, Some(n), Some(t)) => next = Some((n.to_owned(), t.clone())),
            _ => return Ok(out),
        }
    }
}

/// A record name as zinfra compares it: no trailing dot, lower case, `*` for Route53's `\052`.
pub fn record_name(name: &str) -> String {
    normalize(&name.replace("\\052", "*"))
}

/// Add and remove zone tags, 10 at a time.
pub async fn change_zone_tags(
    client: &Client,
    zone_id: &str,
    set: Vec<(String, String)>,
    remove: Vec<String>,
) -> Result<()> {
    let set: Vec<Tag> = set
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    let (mut set, mut remove) = (set.as_slice(), remove.as_slice());
    while !set.is_empty() || !remove.is_empty() {
        let (s, r) = (set.len().min(TAG_BATCH), remove.len().min(TAG_BATCH));
        client
            .change_tags_for_resource()
            .resource_type(TagResourceType::Hostedzone)
            .resource_id(zone_id)
            .set_add_tags((s > 0).then(|| set[..s].to_vec()))
            .set_remove_tag_keys((r > 0).then(|| remove[..r].to_vec()))
            .send()
            .await
            .map_err(|e| sdk_error("ChangeTagsForResource", e))?;
        set = &set[s..];
        remove = &remove[r..];
    }
    Ok(())
}

/// A legacy marker's value: `<TYPE> <name>`, a wildcard label stored as `@` (tag values allow no `*`).
pub(super) fn parse_marker(value: &str) -> Option<(String, String)> {
    let (ty, name) = value.split_once(' ')?;
    Some((ty.to_owned(), name.replace('@', "*")))
}

/// The name of the ownership record of `(name, type)`: `zinfra-<type>.<name>`; for a wildcard, whose
/// `*` must stay the leftmost label, `zinfra-<type>-wildcard.<rest>`.
pub(super) fn registry_name(name: &str, ty: &str) -> String {
    let t = ty.to_ascii_lowercase();
    match name.strip_prefix("*.") {
        Some(rest) => format!("zinfra-{t}-wildcard.{rest}"),
        None => format!("zinfra-{t}.{name}"),
    }
}

pub(super) fn registry_value(stack: &str, address: &str) -> String {
    format!("\"heritage=zinfra,zinfra/stack={stack},zinfra/address={address}\"")
}

/// (stack, address) from an ownership record's value.
pub(super) fn parse_registry(value: &str) -> Option<(String, String)> {
    let v = value.trim_matches('"');
    let mut stack = None;
    let mut address = None;
    let mut zinfra = false;
    for part in v.split(',') {
        match part.split_once('=') {
            Some(("heritage", "zinfra")) => zinfra = true,
            Some(("zinfra/stack", s)) => stack = Some(s.to_owned()),
            Some(("zinfra/address", a)) => address = Some(a.to_owned()),
            _ => {}
        }
    }
    zinfra.then_some(())?;
    Some((stack?, address?))
}

pub(super) fn registry_set(
    name: &str,
    ty: &str,
    stack: &str,
    address: &str,
) -> Result<ResourceRecordSet> {
    Ok(ResourceRecordSet::builder()
        .name(registry_name(name, ty))
        .r#type(RrType::Txt)
        .ttl(300)
        .resource_records(
            ResourceRecord::builder()
                .value(registry_value(stack, address))
                .build()?,
        )
        .build()?)
}

/// Owner (stack, address) of each record of a zone by its ownership record's name.
pub(super) fn registry(sets: &[ResourceRecordSet]) -> BTreeMap<String, (String, String)> {
    sets.iter()
        .filter(|s| s.r#type() == &RrType::Txt && record_name(s.name()).starts_with("zinfra-"))
        .filter_map(|s| {
            let owner = s
                .resource_records()
                .iter()
                .find_map(|r| parse_registry(r.value()))?;
            Some((record_name(s.name()), owner))
        })
        .collect()
}

/// The record's physical id: `<zone id>_<name>_<type>`.
pub(super) fn record_id(zone: &str, name: &str, ty: &str) -> String {
    format!("{zone}_{name}_{ty}")
}

impl Route53 {
    pub(super) async fn change(&self, zone: &str, changes: Vec<Change>) -> Result<()> {
        self.client
            .change_resource_record_sets()
            .hosted_zone_id(zone)
            .change_batch(ChangeBatch::builder().set_changes(Some(changes)).build()?)
            .send()
            .await
            .map_err(|e| sdk_error("ChangeResourceRecordSets", e))?;
        Ok(())
    }
}

/// The zone's own tags: AWS's minus zinfra's record markers and `aws:` keys.
/// AWS's TTL for a delegation (the NS records of a new zone carry the same, two days).
pub(super) const DELEGATION_TTL: i64 = 172_800;

pub(super) fn zone_tags(all: &Tags) -> Tags {
    all.iter()
        .filter(|(k, _)| !k.starts_with(MARKER) && !k.starts_with("aws:"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

pub(super) fn outputs(live: &mut Live, id: &str, name_servers: &[String]) {
    live.outputs
        .insert("arn".into(), format!("arn:aws:route53:::hostedzone/{id}"));
    live.outputs.insert("zone_id".into(), id.to_owned());
    live.outputs
        .insert("name_servers".into(), name_servers.join(","));
}
