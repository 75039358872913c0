//! Security groups: their rules, kept as AWS stores them (one atom per peer and port range).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result};
use aws_sdk_ec2::types::{
    IpPermission, IpRange, Ipv6Range, ResourceType, SecurityGroup, UserIdGroupPair,
};

use crate::drivers::toolkit::{AwsError, owned_address, sdk_error};
use crate::model::{Live, Props, PropsExt, Resolved, Value};

use super::common::*;

// Security group
//
// AWS stores rules as atoms (one protocol/port range with one CIDR or one group) but reports them grouped by
// protocol and ports. Both sides are reduced to atoms to diff, and atoms are regrouped per
// (protocol, ports, description) to give the file's shape back.

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Peer {
    Cidr(String),
    /// Another group, or the group itself (a `self` rule).
    Group(String),
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Atom {
    protocol: String,
    from: i64,
    to: i64,
    peer: Peer,
    description: String,
}

impl Atom {
    pub(super) fn same_rule(&self, other: &Atom) -> bool {
        (&self.protocol, self.from, self.to, &self.peer)
            == (&other.protocol, other.from, other.to, &other.peer)
    }
}

pub(super) fn normalize_protocol(p: &str) -> String {
    match p.to_ascii_lowercase().as_str() {
        "all" => "-1".into(),
        "6" => "tcp".into(),
        "17" => "udp".into(),
        "1" => "icmp".into(),
        p => p.into(),
    }
}

/// Only these protocols carry a port (or ICMP type/code) range; AWS ignores or rejects ports for the rest.
pub(super) fn has_ports(protocol: &str) -> bool {
    matches!(protocol, "tcp" | "udp" | "icmp" | "icmpv6" | "58")
}

pub(super) fn atoms_from_aws(perms: &[IpPermission]) -> BTreeSet<Atom> {
    let mut atoms = BTreeSet::new();
    for p in perms {
        let protocol = normalize_protocol(p.ip_protocol().unwrap_or("-1"));
        // Protocols without ports come back without them (or as -1); the file writes them as 0..0.
        let (from, to) = if has_ports(&protocol) {
            (
                p.from_port().unwrap_or(0) as i64,
                p.to_port().unwrap_or(0) as i64,
            )
        } else {
            (0, 0)
        };
        let atom = |peer: Peer, description: Option<&str>| Atom {
            protocol: protocol.clone(),
            from,
            to,
            peer,
            description: description.unwrap_or_default().to_owned(),
        };
        for r in p.ip_ranges() {
            if let Some(c) = r.cidr_ip() {
                atoms.insert(atom(Peer::Cidr(c.to_owned()), r.description()));
            }
        }
        for r in p.ipv6_ranges() {
            if let Some(c) = r.cidr_ipv6() {
                atoms.insert(atom(Peer::Cidr(c.to_owned()), r.description()));
            }
        }
        for g in p.user_id_group_pairs() {
            if let Some(id) = g.group_id() {
                atoms.insert(atom(Peer::Group(id.to_owned()), g.description()));
            }
        }
    }
    atoms
}

pub(super) fn atoms_from_rules(rules: &[Value], own_id: &str) -> Result<BTreeSet<Atom>> {
    let mut atoms = BTreeSet::new();
    for rule in rules {
        let m = rule.as_map().context("a rule must be a table")?;
        let protocol =
            normalize_protocol(m.get("protocol").and_then(Value::as_str).unwrap_or("tcp"));
        let (from, to) = if has_ports(&protocol) {
            let port = |k: &str| {
                m.get(k)
                    .and_then(Value::as_int)
                    .with_context(|| format!("a {protocol} rule needs `{k}`"))
            };
            (port("from_port")?, port("to_port")?)
        } else {
            (0, 0)
        };
        let description = m
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let mut peers: Vec<Peer> = Vec::new();
        let strs = |k: &str| {
            m.get(k)
                .map(Value::as_list)
                .unwrap_or(&[])
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        peers.extend(strs("cidr_blocks").into_iter().map(Peer::Cidr));
        peers.extend(strs("security_groups").into_iter().map(Peer::Group));
        if m.get("self").and_then(Value::as_bool) == Some(true) {
            peers.push(Peer::Group(own_id.to_owned()));
        }
        for peer in peers {
            atoms.insert(Atom {
                protocol: protocol.clone(),
                from,
                to,
                peer,
                description: description.clone(),
            });
        }
    }
    Ok(atoms)
}

pub(super) fn rules_from_atoms(atoms: &BTreeSet<Atom>, own_id: &str) -> Value {
    #[derive(Default)]
    struct Rule {
        cidrs: BTreeSet<String>,
        groups: BTreeSet<String>,
        own: bool,
    }
    let mut rules: BTreeMap<(&str, i64, i64, &str), Rule> = BTreeMap::new();
    for a in atoms {
        let rule = rules
            .entry((&a.protocol, a.from, a.to, &a.description))
            .or_default();
        match &a.peer {
            Peer::Cidr(c) => {
                rule.cidrs.insert(c.clone());
            }
            Peer::Group(g) if g == own_id => rule.own = true,
            Peer::Group(g) => {
                rule.groups.insert(g.clone());
            }
        }
    }
    Value::List(
        rules
            .into_iter()
            .map(|((protocol, from, to, description), r)| {
                Value::Map(BTreeMap::from([
                    ("protocol".into(), Value::Str(protocol.into())),
                    ("from_port".into(), Value::Int(from)),
                    ("to_port".into(), Value::Int(to)),
                    (
                        "cidr_blocks".into(),
                        Value::List(r.cidrs.into_iter().map(Value::Str).collect()),
                    ),
                    (
                        "security_groups".into(),
                        Value::List(r.groups.into_iter().map(Value::Str).collect()),
                    ),
                    ("self".into(), Value::Bool(r.own)),
                    ("description".into(), Value::Str(description.into())),
                ]))
            })
            .collect(),
    )
}

pub(super) fn permission(a: &Atom) -> IpPermission {
    let mut p = IpPermission::builder().ip_protocol(&a.protocol);
    if has_ports(&a.protocol) {
        p = p.from_port(a.from as i32).to_port(a.to as i32);
    }
    let description = (!a.description.is_empty()).then(|| a.description.clone());
    match &a.peer {
        Peer::Cidr(c) if c.contains(':') => p.ipv6_ranges(
            Ipv6Range::builder()
                .cidr_ipv6(c)
                .set_description(description)
                .build(),
        ),
        Peer::Cidr(c) => p.ip_ranges(
            IpRange::builder()
                .cidr_ip(c)
                .set_description(description)
                .build(),
        ),
        Peer::Group(g) => p.user_id_group_pairs(
            UserIdGroupPair::builder()
                .group_id(g)
                .set_description(description)
                .build(),
        ),
    }
    .build()
}

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Direction {
    Ingress,
    Egress,
}

impl Ec2 {
    pub(super) async fn read_security_groups(&self, stack: &str) -> Result<Vec<Live>> {
        let groups = owned_items!(
            stack,
            self.client.describe_security_groups(),
            "DescribeSecurityGroups"
        );
        let mut out = Vec::new();
        for (address, g) in groups {
            let id = g.group_id().unwrap_or_default();
            let mut live = Live::new(&address, "security_group", id);
            live.props.insert("vpc".into(), opt_str(g.vpc_id()));
            live.props
                .insert("group_name".into(), opt_str(g.group_name()));
            live.props
                .insert("description".into(), opt_str(g.description()));
            live.props.insert(
                "ingress".into(),
                rules_from_atoms(&atoms_from_aws(g.ip_permissions()), id),
            );
            live.props.insert(
                "egress".into(),
                rules_from_atoms(&atoms_from_aws(g.ip_permissions_egress()), id),
            );
            live.tags = tags_of(g.tags(), &[]);
            self.add_sg_arn(&mut live, &g);
            out.push(live);
        }
        Ok(out)
    }

    pub(super) fn add_sg_arn(&self, live: &mut Live, g: &SecurityGroup) {
        match g.security_group_arn() {
            Some(arn) => {
                live.outputs.insert("arn".into(), arn.to_owned());
            }
            None => self.add_arn(live, g.owner_id(), "security-group"),
        }
    }

    pub(super) async fn describe_security_group(&self, id: &str) -> Result<SecurityGroup> {
        let c = &self.client;
        let out = retry_not_found(|| async move {
            c.describe_security_groups()
                .group_ids(id)
                .send()
                .await
                .map_err(|e| AwsError::new("DescribeSecurityGroups", &e))
        })
        .await
        .map_err(anyhow::Error::from)?;
        out.security_groups()
            .first()
            .cloned()
            .with_context(|| format!("{id} not found"))
    }

    pub(super) async fn create_security_group(&self, r: &Resolved) -> Result<Live> {
        let out = self
            .client
            .create_security_group()
            .vpc_id(r.props.str("vpc").context("vpc is required")?)
            .group_name(
                r.props
                    .str("group_name")
                    .context("group_name is required")?,
            )
            .description(r.props.str("description").unwrap_or("Managed by zinfra"))
            .tag_specifications(tag_spec(ResourceType::SecurityGroup, &r.tags))
            .send()
            .await
            .map_err(|e| sdk_error("CreateSecurityGroup", e))?;
        let id = out
            .group_id()
            .context("CreateSecurityGroup returned no id")?;
        // AWS adds an allow-all egress rule (and ::/0 in IPv6 VPCs); diffing against what it really
        // holds removes it unless the file declares it.
        let group = self.describe_security_group(id).await?;
        self.apply_rules(id, Direction::Egress, &r.props, &group)
            .await?;
        self.apply_rules(id, Direction::Ingress, &r.props, &group)
            .await?;
        let mut live = Live::new(&r.address, &r.kind, id);
        match out.security_group_arn() {
            Some(arn) => {
                live.outputs.insert("arn".into(), arn.to_owned());
            }
            None => self.add_sg_arn(&mut live, &group),
        }
        Ok(live)
    }

    pub(super) async fn update_security_group(
        &self,
        id: &str,
        r: &Resolved,
        ingress: bool,
        egress: bool,
    ) -> Result<()> {
        let group = self.describe_security_group(id).await?;
        if egress {
            self.apply_rules(id, Direction::Egress, &r.props, &group)
                .await?;
        }
        if ingress {
            self.apply_rules(id, Direction::Ingress, &r.props, &group)
                .await?;
        }
        Ok(())
    }

    /// Makes one direction's rules equal the file's: revoke what is gone, fix descriptions in place,
    /// authorize what is new. Revoking first means the group never allows old and new rules at once.
    pub(super) async fn apply_rules(
        &self,
        id: &str,
        dir: Direction,
        props: &Props,
        group: &SecurityGroup,
    ) -> Result<()> {
        let (field, have) = match dir {
            Direction::Ingress => ("ingress", atoms_from_aws(group.ip_permissions())),
            Direction::Egress => ("egress", atoms_from_aws(group.ip_permissions_egress())),
        };
        let want =
            atoms_from_rules(props.list(field), id).with_context(|| format!("{field} rules"))?;
        let mut revoke: Vec<&Atom> = have.difference(&want).collect();
        let mut authorize: Vec<&Atom> = want.difference(&have).collect();
        // A description-only change is an in-place update (AWS cannot clear a description that way).
        let mut describe: Vec<&Atom> = Vec::new();
        authorize.retain(|a| {
            if a.description.is_empty() {
                return true;
            }
            match revoke.iter().position(|old| old.same_rule(a)) {
                Some(i) => {
                    revoke.remove(i);
                    describe.push(a);
                    false
                }
                None => true,
            }
        });
        let perms = |atoms: &[&Atom]| Some(atoms.iter().map(|a| permission(a)).collect::<Vec<_>>());
        let c = &self.client;
        // One EC2 call per step and direction. `$done`: the code a call re-sent after its first reply
        // was lost gets when its work is done, which is success.
        macro_rules! rules {
            ($atoms:expr, $ingress:ident, $egress:ident, $op_in:literal, $op_out:literal, $done:expr) => {{
                let res = match dir {
                    Direction::Ingress => c
                        .$ingress()
                        .group_id(id)
                        .set_ip_permissions(perms($atoms))
                        .send()
                        .await
                        .map(drop)
                        .map_err(|e| AwsError::new($op_in, &e)),
                    Direction::Egress => c
                        .$egress()
                        .group_id(id)
                        .set_ip_permissions(perms($atoms))
                        .send()
                        .await
                        .map(drop)
                        .map_err(|e| AwsError::new($op_out, &e)),
                };
                let done: Option<&str> = $done;
                res.or_else(|e| match done {
                    Some(d) if crate::drivers::toolkit::code(&e, d) => Ok(()),
                    _ => Err(anyhow::Error::from(e)),
                })
            }};
        }
        if !revoke.is_empty() {
            rules!(
                &revoke,
                revoke_security_group_ingress,
                revoke_security_group_egress,
                "RevokeSecurityGroupIngress",
                "RevokeSecurityGroupEgress",
                Some("InvalidPermission.NotFound")
            )
            .with_context(|| format!("revoking {field} rules"))?;
        }
        if !describe.is_empty() {
            rules!(
                &describe,
                update_security_group_rule_descriptions_ingress,
                update_security_group_rule_descriptions_egress,
                "UpdateSecurityGroupRuleDescriptionsIngress",
                "UpdateSecurityGroupRuleDescriptionsEgress",
                None
            )
            .with_context(|| format!("updating {field} rule descriptions"))?;
        }
        if !authorize.is_empty() {
            rules!(
                &authorize,
                authorize_security_group_ingress,
                authorize_security_group_egress,
                "AuthorizeSecurityGroupIngress",
                "AuthorizeSecurityGroupEgress",
                Some("InvalidPermission.Duplicate")
            )
            .with_context(|| format!("authorizing {field} rules"))?;
        }
        Ok(())
    }
}
