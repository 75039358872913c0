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

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use async_trait::async_trait;
use aws_sdk_route53::Client;
use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, HostedZone, HostedZoneConfig, ResourceRecord,
    ResourceRecordSet, RrType, Tag, TagResourceType,
};
use futures::future::try_join_all;

use super::toolkit::{
    Driver, ReadCx, Undeclared, absent_if, error_code, owned_address, sdk_error, tag_changes,
    unhandled,
};
use crate::kinds::route53_zone::normalize;
use crate::model::{Live, PropsExt, Resolved, Resource, Tags, Value};

const ZONE: &str = "route53_zone";
const RECORD: &str = "route53_record";
/// Prefix of the zone tags that mark a record as the stack's.
pub const MARKER: &str = "zinfra:record:";
/// ListTagsForResources and ChangeTagsForResource take at most 10 items.
const TAG_BATCH: usize = 10;

pub struct Route53 {
    client: Client,
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
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| sdk_error("ListHostedZones", e))?;
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
fn parse_marker(value: &str) -> Option<(String, String)> {
    let (ty, name) = value.split_once(' ')?;
    Some((ty.to_owned(), name.replace('@', "*")))
}

/// The name of the ownership record of `(name, type)`: `zinfra-<type>.<name>`; for a wildcard, whose
/// `*` must stay the leftmost label, `zinfra-<type>-wildcard.<rest>`.
fn registry_name(name: &str, ty: &str) -> String {
    let t = ty.to_ascii_lowercase();
    match name.strip_prefix("*.") {
        Some(rest) => format!("zinfra-{t}-wildcard.{rest}"),
        None => format!("zinfra-{t}.{name}"),
    }
}

fn registry_value(stack: &str, address: &str) -> String {
    format!("\"heritage=zinfra,zinfra/stack={stack},zinfra/address={address}\"")
}

/// (stack, address) from an ownership record's value.
fn parse_registry(value: &str) -> Option<(String, String)> {
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

fn registry_set(name: &str, ty: &str, stack: &str, address: &str) -> Result<ResourceRecordSet> {
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
fn registry(sets: &[ResourceRecordSet]) -> BTreeMap<String, (String, String)> {
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
fn record_id(zone: &str, name: &str, ty: &str) -> String {
    format!("{zone}_{name}_{ty}")
}

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

impl Route53 {
    /// The zone as zinfra compares it; `None` when it was deleted since it was listed.
    async fn read_zone(&self, stack: &str, z: &StackZone) -> Result<Option<Live>> {
        let address = owned_address(stack, z.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .unwrap_or_default();
        let got = absent_if(
            "GetHostedZone",
            self.client.get_hosted_zone().id(&z.id).send().await,
            &["NoSuchHostedZone"],
        )?;
        let Some(got) = got else { return Ok(None) };
        let mut live = Live::new(&address, ZONE, &z.id);
        live.props.insert("name".into(), Value::Str(z.name.clone()));
        live.props
            .insert("comment".into(), Value::Str(z.comment.clone()));
        live.tags = zone_tags(&z.tags);
        outputs(
            &mut live,
            &z.id,
            got.delegation_set()
                .map(|d| d.name_servers())
                .unwrap_or_default(),
        );
        Ok(Some(live))
    }

    async fn read_records(&self, cx: &ReadCx<'_>, z: &StackZone) -> Result<Vec<Live>> {
        // (type, name) -> address, from the zone's legacy marker tags.
        let marked: BTreeMap<(String, String), String> = z
            .tags
            .iter()
            .filter_map(|(k, v)| {
                let name = k.strip_prefix(MARKER)?;
                Some((parse_marker(v)?, format!("{RECORD}.{name}")))
            })
            .collect();
        let sets = zone_records_once(&self.client, cx, &z.id).await?;
        let owners = registry(&sets);
        let mut out = Vec::new();
        for set in sets.iter() {
            let name = record_name(set.name());
            let ty = set.r#type().as_str().to_owned();
            let address = match owners.get(&registry_name(&name, &ty)) {
                // A subdomain's delegation: its zone's (`parent_zone`), not a record of the file.
                Some((_, address)) if address.starts_with("route53_zone.") => continue,
                Some((stack, address)) if stack == cx.stack => address,
                Some(_) => continue,
                None => match marked.get(&(ty.clone(), name.clone())) {
                    Some(address) => address,
                    None => continue,
                },
            };
            out.push(record_live(address, &z.id, set));
        }
        Ok(out)
    }

    /// The record a declared record's name and type would take, when it exists and the stack's read
    /// did not claim it: made by hand, or another stack's. From the zone listing the read made anyway.
    async fn find_record(&self, cx: &ReadCx<'_>, r: &Resource) -> Result<Option<Live>> {
        let (Some(Value::Ref(zone)), Some(name), Some(ty)) = (
            r.props.get("zone"),
            r.props.get("name").and_then(Value::as_str),
            r.props.get("type").and_then(Value::as_str),
        ) else {
            return Ok(None);
        };
        let zones = stack_zones_once(&self.client, cx).await?;
        let Some(z) = zones
            .iter()
            .find(|z| z.tags.get(crate::model::TAG_ADDRESS) == Some(&zone.address))
        else {
            return Ok(None);
        };
        let name = record_name(name);
        let sets = zone_records_once(&self.client, cx, &z.id).await?;
        let Some(set) = sets
            .iter()
            .find(|s| record_name(s.name()) == name && s.r#type().as_str() == ty)
        else {
            return Ok(None);
        };
        let mut live = record_live(&r.address, &z.id, set);
        if let Some((stack, address)) = registry(&sets).get(&registry_name(&name, ty)) {
            live.tags
                .insert(crate::model::TAG_STACK.into(), stack.clone());
            live.tags
                .insert(crate::model::TAG_ADDRESS.into(), address.clone());
        }
        Ok(Some(live))
    }

    async fn create_zone(&self, r: &Resolved) -> Result<Live> {
        let name = normalize(r.props.str("name").context("`name` is required")?);
        let stack = r
            .tags
            .get(crate::model::TAG_STACK)
            .cloned()
            .unwrap_or_default();
        // The caller reference names the stack and address, so a zone whose create was cut off before it was
        // tagged (read cannot see it) is recognised and taken over instead of made twice.
        let prefix = format!("zinfra/{stack}/{}/", r.address);
        let same_name = self
            .client
            .list_hosted_zones_by_name()
            .dns_name(&name)
            .send()
            .await
            .map_err(|e| sdk_error("ListHostedZonesByName", e))?;
        let left = same_name
            .hosted_zones()
            .iter()
            .find(|z| normalize(z.name()) == name && z.caller_reference().starts_with(&prefix));
        let id = match left {
            Some(z) => bare_id(z.id()).to_owned(),
            None => self.create_hosted_zone(r, &name, &prefix).await?,
        };
        change_zone_tags(
            &self.client,
            &id,
            r.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            vec![],
        )
        .await?;
        let got = self
            .client
            .get_hosted_zone()
            .id(&id)
            .send()
            .await
            .map_err(|e| sdk_error("GetHostedZone", e))?;
        let mut live = Live::new(&r.address, ZONE, &id);
        live.tags = r.tags.clone();
        let servers = got
            .delegation_set()
            .map(|d| d.name_servers())
            .unwrap_or_default();
        outputs(&mut live, &id, servers);
        if let Some(parent) = r.props.str("parent_zone").filter(|p| !p.is_empty()) {
            self.delegate(
                ChangeAction::Create,
                parent,
                &name,
                servers,
                &stack,
                &r.address,
            )
            .await?;
        }
        Ok(live)
    }

    /// [`Route53::delegate`] for a zone as read: its name, name servers and owner.
    /// The owner is `address`: the zone's address in the file (which a move may have changed).
    async fn delegation(
        &self,
        action: ChangeAction,
        parent: &str,
        zone: &Live,
        address: &str,
    ) -> Result<()> {
        let servers: Vec<String> = zone
            .outputs
            .get("name_servers")
            .map(|n| n.split(',').map(str::to_owned).collect())
            .unwrap_or_default();
        let stack = zone
            .tags
            .get(crate::model::TAG_STACK)
            .cloned()
            .unwrap_or_default();
        let name = normalize(zone.props.str("name").unwrap_or_default());
        self.delegate(action, parent, &name, &servers, &stack, address)
            .await
    }

    /// The NS record in `parent` that delegates `name` to its zone's name servers, with its ownership
    /// record, in one atomic batch (CREATE fails rather than overwrite a delegation made by hand).
    async fn delegate(
        &self,
        action: ChangeAction,
        parent: &str,
        name: &str,
        servers: &[String],
        stack: &str,
        address: &str,
    ) -> Result<()> {
        let ns = ResourceRecordSet::builder()
            .name(name)
            .r#type(RrType::Ns)
            .ttl(DELEGATION_TTL)
            .set_resource_records(Some(
                servers
                    .iter()
                    .map(|s| ResourceRecord::builder().value(s).build())
                    .collect::<Result<_, _>>()?,
            ))
            .build()?;
        let changes = [ns, registry_set(name, "NS", stack, address)?]
            .into_iter()
            .map(|set| {
                Change::builder()
                    .action(action.clone())
                    .resource_record_set(set)
                    .build()
            })
            .collect::<Result<_, _>>()?;
        self.change(parent, changes)
            .await
            .with_context(|| format!("delegating {name} from zone {parent}"))
    }

    async fn create_hosted_zone(&self, r: &Resolved, name: &str, prefix: &str) -> Result<String> {
        // CallerReference must be unique per request: the address plus the time.
        let reference = format!(
            "{prefix}{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        );
        let out = self
            .client
            .create_hosted_zone()
            .name(name)
            .caller_reference(reference)
            .hosted_zone_config(
                HostedZoneConfig::builder()
                    .set_comment(r.props.str("comment").map(str::to_owned))
                    .private_zone(false)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| sdk_error("CreateHostedZone", e))?;
        let zone = out
            .hosted_zone()
            .context("CreateHostedZone returned no zone")?;
        Ok(bare_id(zone.id()).to_owned())
    }

    async fn update_zone(&self, r: &Resolved, live: &Live, changed: &[String]) -> Result<Live> {
        for field in changed {
            match field.as_str() {
                "comment" => {
                    self.client
                        .update_hosted_zone_comment()
                        .id(&live.id)
                        .comment(r.props.str("comment").unwrap_or_default())
                        .send()
                        .await
                        .map_err(|e| sdk_error("UpdateHostedZoneComment", e))?;
                }
                "tags" => {
                    // `live.tags` never holds record markers, so they are never removed here.
                    let c = tag_changes(&live.tags, &r.tags);
                    change_zone_tags(
                        &self.client,
                        &live.id,
                        c.set
                            .into_iter()
                            .map(|(k, v)| (k.to_owned(), v.to_owned()))
                            .collect(),
                        c.remove,
                    )
                    .await?;
                }
                "parent_zone" => {
                    if let Some(old) = live.props.str("parent_zone").filter(|p| !p.is_empty()) {
                        self.delegation(ChangeAction::Delete, old, live, &live.address)
                            .await?;
                    }
                    if let Some(new) = r.props.str("parent_zone").filter(|p| !p.is_empty()) {
                        self.delegation(ChangeAction::Create, new, live, &r.address)
                            .await?;
                    }
                }
                other => return Err(unhandled("route53_zone", other)),
            }
        }
        let mut out = live.clone();
        out.address = r.address.clone();
        out.props = r.props.clone();
        out.tags = r.tags.clone();
        Ok(out)
    }

    async fn delete_zone(&self, live: &Live) -> Result<()> {
        // The parent's NS record goes first: a delegation to name servers that are gone is a lame one.
        if let Some(parent) = live.props.str("parent_zone").filter(|p| !p.is_empty()) {
            self.delegation(ChangeAction::Delete, parent, live, &live.address)
                .await?;
        }
        // AWS deletes only empty zones. Certificate validation CNAMEs that acm_certificate wrote (and left,
        // see src/drivers/acm.rs) go with the zone; anything else in it stops the delete with AWS's error.
        let records = match zone_records(&self.client, &live.id).await {
            Ok(r) => r,
            Err(e) if format!("{e:#}").contains("NoSuchHostedZone") => return Ok(()),
            Err(e) => return Err(e),
        };
        let validation: Vec<Change> = records
            .into_iter()
            .filter(|s| {
                s.r#type() == &RrType::Cname
                    && s.name().starts_with('_')
                    && s.resource_records()
                        .iter()
                        .all(|v| normalize(v.value()).ends_with(".acm-validations.aws"))
            })
            .map(|s| {
                Change::builder()
                    .action(ChangeAction::Delete)
                    .resource_record_set(s)
                    .build()
            })
            .collect::<Result<_, _>>()?;
        if !validation.is_empty() {
            self.change(&live.id, validation).await?;
        }
        match self.client.delete_hosted_zone().id(&live.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if error_code(&e) == Some("NoSuchHostedZone") => Ok(()),
            Err(e) => Err(sdk_error("DeleteHostedZone", e)),
        }
    }

    async fn change(&self, zone: &str, changes: Vec<Change>) -> Result<()> {
        self.client
            .change_resource_record_sets()
            .hosted_zone_id(zone)
            .change_batch(ChangeBatch::builder().set_changes(Some(changes)).build()?)
            .send()
            .await
            .map_err(|e| sdk_error("ChangeResourceRecordSets", e))?;
        Ok(())
    }

    /// Create the record (with its marker), or replace its values. The old record set is deleted and the
    /// new one created in one atomic batch, which also turns a plain record into an alias or back.
    async fn put_record(&self, r: &Resolved, live: Option<&Live>) -> Result<Live> {
        let zone = r.props.str("zone").context("`zone` is required")?;
        let name = record_name(r.props.str("name").context("`name` is required")?);
        let ty = r.props.str("type").context("`type` is required")?;
        let mut set = ResourceRecordSet::builder()
            .name(&name)
            .r#type(RrType::from(ty));
        if let Some(alias) = r.props.str("alias") {
            let (hz, dns) = alias
                .split_once('/')
                .ok_or_else(|| anyhow!("alias target `{alias}` is not `<zone id>/<dns name>`"))?;
            set = set.alias_target(
                AliasTarget::builder()
                    .hosted_zone_id(hz)
                    .dns_name(dns)
                    .evaluate_target_health(r.props.bool_or("evaluate_target_health", false))
                    .build()?,
            );
        } else {
            set = set.set_ttl(r.props.int("ttl"));
            for v in r.props.strs("records") {
                set = set.resource_records(ResourceRecord::builder().value(v).build()?);
            }
        }
        let stack = r
            .tags
            .get(crate::model::TAG_STACK)
            .cloned()
            .unwrap_or_default();
        let mut changes = Vec::new();
        let sets = match live {
            Some(_) => zone_records(&self.client, zone).await?,
            None => Vec::new(),
        };
        let existing = sets
            .iter()
            .find(|s| record_name(s.name()) == name && s.r#type().as_str() == ty);
        if let Some(old) = existing {
            changes.push(
                Change::builder()
                    .action(ChangeAction::Delete)
                    .resource_record_set(old.clone())
                    .build()?,
            );
        }
        // A new record is CREATEd, never UPSERTed: one made by hand makes the batch fail instead of
        // being overwritten. Its ownership record goes in the same batch.
        changes.push(
            Change::builder()
                .action(ChangeAction::Create)
                .resource_record_set(set.build()?)
                .build()?,
        );
        match registry(&sets).get(&registry_name(&name, ty)) {
            Some((s, a)) if *s == stack && *a == r.address => {}
            Some((s, a)) => bail!(
                "record {name} {ty} belongs to {a} in stack {s}; zinfra does not take it over"
            ),
            // New, adopted, or owned through a legacy zone tag: write its ownership record now.
            None => changes.push(
                Change::builder()
                    .action(ChangeAction::Create)
                    .resource_record_set(registry_set(&name, ty, &stack, &r.address)?)
                    .build()?,
            ),
        }
        if let Err(e) = self.change(zone, changes).await {
            let text = format!("{e:#}");
            if live.is_none()
                && text.contains("InvalidChangeBatch")
                && text.contains("already exists")
            {
                bail!(
                    "record {name} {ty} already exists and is not this stack's: zinfra does not overwrite it. Declare [[adopt]] address = \"{}\" id = \"{}\" to take it over. ({text})",
                    r.address,
                    record_id(zone, &name, ty)
                );
            }
            return Err(e);
        }
        let mut out = Live::new(&r.address, RECORD, record_id(zone, &name, ty));
        out.outputs.insert("fqdn".into(), name);
        out.props = r.props.clone();
        Ok(out)
    }

    async fn delete_record(&self, live: &Live) -> Result<()> {
        let zone = live
            .props
            .str("zone")
            .context("record without a zone")?
            .to_owned();
        let name = live.props.str("name").unwrap_or_default().to_owned();
        let ty = live.props.str("type").unwrap_or_default().to_owned();
        let sets = match zone_records(&self.client, &zone).await {
            Ok(sets) => sets,
            Err(e) if format!("{e:#}").contains("NoSuchHostedZone") => return Ok(()),
            Err(e) => return Err(e),
        };
        let existing = sets
            .iter()
            .find(|s| record_name(s.name()) == name && s.r#type().as_str() == ty)
            .cloned();
        if let Some(old) = existing {
            let mut changes = vec![
                Change::builder()
                    .action(ChangeAction::Delete)
                    .resource_record_set(old)
                    .build()?,
            ];
            // Its ownership record goes with it, in the same batch.
            if let Some(own) = sets.iter().find(|s| {
                s.r#type() == &RrType::Txt && record_name(s.name()) == registry_name(&name, &ty)
            }) {
                changes.push(
                    Change::builder()
                        .action(ChangeAction::Delete)
                        .resource_record_set(own.clone())
                        .build()?,
                );
            }
            match self.change(&zone, changes).await {
                Ok(()) => {}
                // Deleted meanwhile.
                Err(e)
                    if format!("{e:#}").contains("InvalidChangeBatch")
                        && format!("{e:#}").contains("not found") => {}
                Err(e) => return Err(e),
            }
        }
        let short = live
            .address
            .strip_prefix("route53_record.")
            .unwrap_or(&live.address);
        change_zone_tags(
            &self.client,
            &zone,
            vec![],
            vec![format!("{MARKER}{short}")],
        )
        .await
    }
}

/// A record set as zinfra compares it.
fn record_live(address: &str, zone: &str, set: &ResourceRecordSet) -> Live {
    let name = record_name(set.name());
    let ty = set.r#type().as_str().to_owned();
    let mut live = Live::new(address, RECORD, record_id(zone, &name, &ty));
    live.outputs.insert("fqdn".into(), name.clone());
    live.props
        .insert("zone".into(), Value::Str(zone.to_owned()));
    live.props.insert("name".into(), Value::Str(name));
    live.props.insert("type".into(), Value::Str(ty));
    match set.alias_target() {
        Some(a) => {
            live.props.insert(
                "alias".into(),
                Value::Str(format!(
                    "{}/{}",
                    a.hosted_zone_id(),
                    normalize(a.dns_name())
                )),
            );
            live.props.insert(
                "evaluate_target_health".into(),
                Value::Bool(a.evaluate_target_health()),
            );
        }
        None => {
            if let Some(ttl) = set.ttl() {
                live.props.insert("ttl".into(), Value::Int(ttl));
            }
            live.props.insert(
                "records".into(),
                Value::List(
                    set.resource_records()
                        .iter()
                        .map(|r| Value::Str(r.value().to_owned()))
                        .collect(),
                ),
            );
            live.props
                .insert("evaluate_target_health".into(), Value::Bool(false));
        }
    }
    live
}

/// The zone's own tags: AWS's minus zinfra's record markers and `aws:` keys.
/// AWS's TTL for a delegation (the NS records of a new zone carry the same, two days).
const DELEGATION_TTL: i64 = 172_800;

fn zone_tags(all: &Tags) -> Tags {
    all.iter()
        .filter(|(k, _)| !k.starts_with(MARKER) && !k.starts_with("aws:"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn outputs(live: &mut Live, id: &str, name_servers: &[String]) {
    live.outputs
        .insert("arn".into(), format!("arn:aws:route53:::hostedzone/{id}"));
    live.outputs.insert("zone_id".into(), id.to_owned());
    live.outputs
        .insert("name_servers".into(), name_servers.join(","));
}
