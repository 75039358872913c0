//! Records and their ownership records (the TXT registry).

use std::collections::BTreeMap;

use anyhow::{Context, Result, anyhow, bail};
use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ResourceRecord, ResourceRecordSet, RrType,
};

use crate::drivers::toolkit::ReadCx;
use crate::kinds::route53_zone::normalize;
use crate::model::{Live, PropsExt, Resolved, Resource, Value};

use super::common::*;

impl Route53 {
    pub(super) async fn read_records(&self, cx: &ReadCx<'_>, z: &StackZone) -> Result<Vec<Live>> {
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
    pub(super) async fn find_record(&self, cx: &ReadCx<'_>, r: &Resource) -> Result<Option<Live>> {
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
}

impl Route53 {
    /// Create the record (with its marker), or replace its values. The old record set is deleted and the
    /// new one created in one atomic batch, which also turns a plain record into an alias or back.
    pub(super) async fn put_record(&self, r: &Resolved, live: Option<&Live>) -> Result<Live> {
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

    pub(super) async fn delete_record(&self, live: &Live) -> Result<()> {
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
pub(super) fn record_live(address: &str, zone: &str, set: &ResourceRecordSet) -> Live {
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
