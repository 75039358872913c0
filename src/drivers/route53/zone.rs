//! Hosted zones: their tags, comment, and delegation from a parent zone of the stack.

use anyhow::{Context, Result};
use aws_sdk_route53::types::{
    Change, ChangeAction, HostedZoneConfig, ResourceRecord, ResourceRecordSet, RrType,
};

use crate::drivers::toolkit::{
    absent_if, error_code, owned_address, sdk_error, tag_changes, unhandled,
};
use crate::kinds::route53_zone::normalize;
use crate::model::{Live, PropsExt, Resolved, Value};

use super::common::*;

impl Route53 {
    /// The zone as zinfra compares it; `None` when it was deleted since it was listed.
    pub(super) async fn read_zone(&self, stack: &str, z: &StackZone) -> Result<Option<Live>> {
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
}

impl Route53 {
    pub(super) async fn create_zone(&self, r: &Resolved) -> Result<Live> {
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
    pub(super) async fn delegation(
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
    pub(super) async fn delegate(
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

    pub(super) async fn create_hosted_zone(
        &self,
        r: &Resolved,
        name: &str,
        prefix: &str,
    ) -> Result<String> {
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

    pub(super) async fn update_zone(
        &self,
        r: &Resolved,
        live: &Live,
        changed: &[String],
    ) -> Result<Live> {
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

    pub(super) async fn delete_zone(&self, live: &Live) -> Result<()> {
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
}
