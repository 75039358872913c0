//! EC2 networking: VPCs, subnets, internet gateways, Elastic IPs, NAT gateways, route tables and
//! security groups.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use async_trait::async_trait;
use aws_sdk_ec2::types::{
    AttachmentStatus, AttributeBooleanValue, ConnectivityType, DomainType, Filter, IpPermission,
    IpRange, Ipv6Range, NatGatewayState, ResourceType, RouteTableAssociationStateCode,
    SecurityGroup, Tag, TagSpecification, UserIdGroupPair, VpcAttributeName, VpcState,
};
use futures::future::try_join_all;

use super::toolkit::error::not_found;
use super::toolkit::{
    AwsError, Driver, POLL, ReadCx, TagApi, Undeclared, code, error_code, owned_address, partition,
    retry_while, sdk_error, sync_tags, tag_pairs, user_tags,
};
use crate::model::{Live, Props, PropsExt, Resolved, TAG_STACK, Tags, Value};
use crate::wait::Poll;

const KINDS: &[&str] = &[
    "vpc",
    "subnet",
    "internet_gateway",
    "eip",
    "nat_gateway",
    "route_table",
    "security_group",
];
/// Subnet `tier` lives in this tag; it is kept out of `Live.tags` so it never shows up as tag drift.
const TAG_TIER: &str = "zinfra:tier";
/// How long a delete keeps retrying while dependents (ENIs, attachments, other deletes) go away.
const DEPENDENCY_WAIT: Duration = Duration::from_secs(60);
/// How long a call right after a create retries NotFound (EC2 is eventually consistent).
const CONSISTENCY_WAIT: Duration = Duration::from_secs(30);

pub struct Ec2 {
    client: aws_sdk_ec2::Client,
}

impl Ec2 {
    pub fn new(client: aws_sdk_ec2::Client) -> Ec2 {
        Ec2 { client }
    }
}

#[async_trait]
impl Driver for Ec2 {
    fn kinds(&self) -> &'static [&'static str] {
        KINDS
    }

    fn service(&self) -> &'static str {
        "EC2"
    }

    fn undeclared(&self, kind: &str) -> Undeclared {
        if kind == "eip" {
            Undeclared::Listing
        } else {
            Undeclared::Index
        }
    }

    /// Found by tag filters (EC2) or account-wide listing (IAM is global), not the tagging API.
    fn uses_tag_index(&self) -> bool {
        false
    }

    async fn read(&self, cx: &ReadCx<'_>) -> Result<Vec<Live>> {
        match cx.kind {
            "vpc" => self.read_vpcs(cx.stack).await,
            "subnet" => self.read_subnets(cx.stack).await,
            "internet_gateway" => self.read_igws(cx.stack).await,
            "eip" => self.read_eips(cx.stack).await,
            "nat_gateway" => self.read_nats(cx.stack).await,
            "route_table" => self.read_route_tables(cx.stack).await,
            "security_group" => self.read_security_groups(cx.stack).await,
            other => bail!("the ec2 driver does not manage `{other}`"),
        }
    }

    async fn create(&self, r: &Resolved) -> Result<Live> {
        let live = match r.kind.as_str() {
            "vpc" => self.create_vpc(r).await,
            "subnet" => self.create_subnet(r).await,
            "internet_gateway" => self.create_igw(r).await,
            "eip" => self.create_eip(r).await,
            "nat_gateway" => self.create_nat(r).await,
            "route_table" => self.create_route_table(r).await,
            "security_group" => self.create_security_group(r).await,
            other => bail!("the ec2 driver does not manage `{other}`"),
        };
        live.with_context(|| format!("creating {}", r.address))
    }

    async fn update(&self, r: &Resolved, live: &Live, changed: &[String]) -> Result<Live> {
        let id = live.id.as_str();
        let has = |f: &str| changed.iter().any(|c| c == f);
        if let Some(field) = changed
            .iter()
            .find(|f| *f != "tags" && !in_place(&r.kind).contains(&f.as_str()))
        {
            bail!("{}: `{field}` cannot be changed in place", r.address);
        }
        let done = match r.kind.as_str() {
            "vpc" => {
                let want = |f: &str| has(f).then(|| bool_prop(&r.props, f)).flatten();
                self.set_vpc_dns(id, want("enable_dns_support"), want("enable_dns_hostnames"))
                    .await
            }
            "subnet" => {
                async {
                    if let Some(tier) = r.props.str("tier").filter(|_| has("tier")) {
                        self.create_tags(id, [(TAG_TIER, tier)]).await?;
                    }
                    match bool_prop(&r.props, "map_public_ip_on_launch") {
                        Some(on) if has("map_public_ip_on_launch") => {
                            self.set_map_public_ip(id, on).await
                        }
                        _ => Ok(()),
                    }
                }
                .await
            }
            "internet_gateway" if has("vpc") => self.move_igw(id, r.props.str("vpc")).await,
            "route_table" if has("routes") || has("subnets") => {
                self.update_route_table(id, r, has("routes"), has("subnets"))
                    .await
            }
            "security_group" if has("ingress") || has("egress") => {
                self.update_security_group(id, r, has("ingress"), has("egress"))
                    .await
            }
            _ => Ok(()),
        };
        done.with_context(|| format!("updating {}", r.address))?;
        if has("tags") {
            sync_tags(&self.client, id, &r.tags, &live.tags)
                .await
                .with_context(|| format!("updating the tags of {}", r.address))?;
        }
        let mut out = Live::new(&r.address, &r.kind, id);
        out.outputs = live.outputs.clone();
        out.tags = r.tags.clone();
        Ok(out)
    }

    async fn delete(&self, live: &Live) -> Result<()> {
        let id = live.id.as_str();
        let c = &self.client;
        let done = match live.kind.as_str() {
            "vpc" => {
                delete_retrying(|| async move {
                    c.delete_vpc()
                        .vpc_id(id)
                        .send()
                        .await
                        .map(drop)
                        .map_err(|e| AwsError::new("DeleteVpc", &e))
                })
                .await
            }
            "subnet" => {
                delete_retrying(|| async move {
                    c.delete_subnet()
                        .subnet_id(id)
                        .send()
                        .await
                        .map(drop)
                        .map_err(|e| AwsError::new("DeleteSubnet", &e))
                })
                .await
            }
            "internet_gateway" => self.delete_igw(id).await,
            "eip" => self.release_eip(id).await,
            "nat_gateway" => self.delete_nat(id).await,
            "route_table" => self.delete_route_table(id).await,
            "security_group" => {
                delete_retrying(|| async move {
                    c.delete_security_group()
                        .group_id(id)
                        .send()
                        .await
                        .map(drop)
                        .map_err(|e| AwsError::new("DeleteSecurityGroup", &e))
                })
                .await
            }
            other => Err(anyhow!("the ec2 driver does not manage `{other}`")),
        };
        done.with_context(|| format!("deleting {} ({id})", live.address))
    }
}

// ---------------------------------------------------------------------------------------------------------------
// VPC

impl Ec2 {
    async fn read_vpcs(&self, stack: &str) -> Result<Vec<Live>> {
        let vpcs: Vec<_> = self
            .client
            .describe_vpcs()
            .filters(stack_filter(stack))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| sdk_error("DescribeVpcs", e))?;
        let owned = vpcs
            .into_iter()
            .filter_map(|v| Some((owned_address(stack, tag_iter(v.tags()))?, v)));
        try_join_all(owned.map(|(address, vpc)| async move {
            let id = vpc.vpc_id().unwrap_or_default();
            let (support, hostnames) = futures::try_join!(
                self.vpc_attribute(id, VpcAttributeName::EnableDnsSupport),
                self.vpc_attribute(id, VpcAttributeName::EnableDnsHostnames),
            )?;
            let mut live = Live::new(&address, "vpc", id);
            live.props
                .insert("cidr_block".into(), opt_str(vpc.cidr_block()));
            live.props
                .insert("enable_dns_support".into(), opt_bool(support));
            live.props
                .insert("enable_dns_hostnames".into(), opt_bool(hostnames));
            live.tags = tags_of(vpc.tags(), &[]);
            self.add_arn(&mut live, vpc.owner_id(), "vpc");
            Ok::<_, anyhow::Error>(live)
        }))
        .await
    }

    async fn vpc_attribute(&self, id: &str, attr: VpcAttributeName) -> Result<Option<bool>> {
        let out = self
            .client
            .describe_vpc_attribute()
            .vpc_id(id)
            .attribute(attr.clone())
            .send()
            .await
            .map_err(|e| sdk_error("DescribeVpcAttribute", e))
            .with_context(|| format!("{id} {attr}"))?;
        let value = match attr {
            VpcAttributeName::EnableDnsHostnames => out.enable_dns_hostnames(),
            _ => out.enable_dns_support(),
        };
        Ok(value.and_then(AttributeBooleanValue::value))
    }

    async fn create_vpc(&self, r: &Resolved) -> Result<Live> {
        let cidr = r
            .props
            .str("cidr_block")
            .context("cidr_block is required")?;
        let out = self
            .client
            .create_vpc()
            .cidr_block(cidr)
            .tag_specifications(tag_spec(ResourceType::Vpc, &r.tags))
            .send()
            .await
            .map_err(|e| sdk_error("CreateVpc", e))?;
        let vpc = out.vpc().context("CreateVpc returned no VPC")?;
        let id = vpc.vpc_id().context("CreateVpc returned no VPC id")?;
        if vpc.state() != Some(&VpcState::Available) {
            self.wait_vpc_available(id).await?;
        }
        self.set_vpc_dns(
            id,
            r.props.get("enable_dns_support").and_then(Value::as_bool),
            r.props.get("enable_dns_hostnames").and_then(Value::as_bool),
        )
        .await?;
        let mut live = Live::new(&r.address, &r.kind, id);
        self.add_arn(&mut live, vpc.owner_id(), "vpc");
        Ok(live)
    }

    async fn wait_vpc_available(&self, id: &str) -> Result<()> {
        crate::wait::until(
            &format!("{id} to be available"),
            CONSISTENCY_WAIT * 2,
            POLL,
            || async {
                let state = match self.client.describe_vpcs().vpc_ids(id).send().await {
                    Ok(out) => out.vpcs().first().and_then(|v| v.state().cloned()),
                    Err(e) if not_found(error_code(&e)) => None,
                    Err(e) => return Err(sdk_error("DescribeVpcs", e)),
                };
                Ok(match state {
                    Some(VpcState::Available) => Poll::Ready(()),
                    other => Poll::Pending(
                        other.map_or("not visible yet".into(), |s| s.as_str().to_owned()),
                    ),
                })
            },
        )
        .await
    }

    /// ModifyVpcAttribute takes one attribute per call, and hostnames need DNS support on:
    /// enable support before hostnames, disable hostnames before support.
    async fn set_vpc_dns(
        &self,
        id: &str,
        support: Option<bool>,
        hostnames: Option<bool>,
    ) -> Result<()> {
        let set = |attr: VpcAttributeName, on: bool| async move {
            let v = AttributeBooleanValue::builder().value(on).build();
            let req = self.client.modify_vpc_attribute().vpc_id(id);
            let req = match attr {
                VpcAttributeName::EnableDnsHostnames => req.enable_dns_hostnames(v),
                _ => req.enable_dns_support(v),
            };
            retry_not_found(|| {
                let req = req.clone();
                async move {
                    req.send()
                        .await
                        .map(drop)
                        .map_err(|e| AwsError::new("ModifyVpcAttribute", &e))
                }
            })
            .await
            .map_err(anyhow::Error::from)
            .with_context(|| format!("{id} {attr}={on}"))
        };
        if support == Some(false) {
            if let Some(h) = hostnames {
                set(VpcAttributeName::EnableDnsHostnames, h).await?;
            }
            set(VpcAttributeName::EnableDnsSupport, false).await
        } else {
            if let Some(s) = support {
                set(VpcAttributeName::EnableDnsSupport, s).await?;
            }
            if let Some(h) = hostnames {
                set(VpcAttributeName::EnableDnsHostnames, h).await?;
            }
            Ok(())
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Subnet

impl Ec2 {
    async fn read_subnets(&self, stack: &str) -> Result<Vec<Live>> {
        let subnets: Vec<_> = self
            .client
            .describe_subnets()
            .filters(stack_filter(stack))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| sdk_error("DescribeSubnets", e))?;
        let mut out = Vec::new();
        for s in subnets {
            let Some(address) = owned_address(stack, tag_iter(s.tags())) else {
                continue;
            };
            let mut live = Live::new(&address, "subnet", s.subnet_id().unwrap_or_default());
            let tier = s
                .tags()
                .iter()
                .find(|t| t.key() == Some(TAG_TIER))
                .and_then(Tag::value);
            live.props.insert("vpc".into(), opt_str(s.vpc_id()));
            live.props
                .insert("cidr_block".into(), opt_str(s.cidr_block()));
            live.props
                .insert("availability_zone".into(), opt_str(s.availability_zone()));
            live.props.insert("tier".into(), opt_str(tier));
            live.props.insert(
                "map_public_ip_on_launch".into(),
                opt_bool(s.map_public_ip_on_launch()),
            );
            live.tags = tags_of(s.tags(), &[TAG_TIER]);
            if let Some(arn) = s.subnet_arn() {
                live.outputs.insert("arn".into(), arn.to_owned());
            } else {
                self.add_arn(&mut live, s.owner_id(), "subnet");
            }
            out.push(live);
        }
        Ok(out)
    }

    async fn create_subnet(&self, r: &Resolved) -> Result<Live> {
        let mut tags = r.tags.clone();
        if let Some(tier) = r.props.str("tier") {
            tags.insert(TAG_TIER.into(), tier.into());
        }
        let out = self
            .client
            .create_subnet()
            .vpc_id(r.props.str("vpc").context("vpc is required")?)
            .cidr_block(
                r.props
                    .str("cidr_block")
                    .context("cidr_block is required")?,
            )
            .set_availability_zone(r.props.str("availability_zone").map(str::to_owned))
            .tag_specifications(tag_spec(ResourceType::Subnet, &tags))
            .send()
            .await
            .map_err(|e| sdk_error("CreateSubnet", e))?;
        let subnet = out.subnet().context("CreateSubnet returned no subnet")?;
        let id = subnet
            .subnet_id()
            .context("CreateSubnet returned no subnet id")?;
        // New subnets never map public IPs; only a `true` needs a call.
        if r.props.bool_or("map_public_ip_on_launch", false) {
            self.set_map_public_ip(id, true).await?;
        }
        let mut live = Live::new(&r.address, &r.kind, id);
        match subnet.subnet_arn() {
            Some(arn) => {
                live.outputs.insert("arn".into(), arn.to_owned());
            }
            None => self.add_arn(&mut live, subnet.owner_id(), "subnet"),
        }
        Ok(live)
    }

    async fn set_map_public_ip(&self, id: &str, on: bool) -> Result<()> {
        let req = self
            .client
            .modify_subnet_attribute()
            .subnet_id(id)
            .map_public_ip_on_launch(AttributeBooleanValue::builder().value(on).build());
        retry_not_found(|| {
            let req = req.clone();
            async move {
                req.send()
                    .await
                    .map(drop)
                    .map_err(|e| AwsError::new("ModifySubnetAttribute", &e))
            }
        })
        .await
        .map_err(anyhow::Error::from)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Internet gateway

impl Ec2 {
    async fn read_igws(&self, stack: &str) -> Result<Vec<Live>> {
        let igws: Vec<_> = self
            .client
            .describe_internet_gateways()
            .filters(stack_filter(stack))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| sdk_error("DescribeInternetGateways", e))?;
        let mut out = Vec::new();
        for igw in igws {
            let Some(address) = owned_address(stack, tag_iter(igw.tags())) else {
                continue;
            };
            let mut live = Live::new(
                &address,
                "internet_gateway",
                igw.internet_gateway_id().unwrap_or_default(),
            );
            let vpc = attached_vpcs(igw.attachments()).into_iter().next();
            live.props.insert("vpc".into(), opt_str(vpc.as_deref()));
            live.tags = tags_of(igw.tags(), &[]);
            self.add_arn(&mut live, igw.owner_id(), "internet-gateway");
            out.push(live);
        }
        Ok(out)
    }

    async fn create_igw(&self, r: &Resolved) -> Result<Live> {
        let out = self
            .client
            .create_internet_gateway()
            .tag_specifications(tag_spec(ResourceType::InternetGateway, &r.tags))
            .send()
            .await
            .map_err(|e| sdk_error("CreateInternetGateway", e))?;
        let igw = out
            .internet_gateway()
            .context("CreateInternetGateway returned no gateway")?;
        let id = igw
            .internet_gateway_id()
            .context("CreateInternetGateway returned no id")?;
        if let Some(vpc) = r.props.str("vpc") {
            self.attach_igw(id, vpc).await?;
        }
        let mut live = Live::new(&r.address, &r.kind, id);
        self.add_arn(&mut live, igw.owner_id(), "internet-gateway");
        Ok(live)
    }

    async fn attach_igw(&self, id: &str, vpc: &str) -> Result<()> {
        let c = &self.client;
        retry_not_found(|| async move {
            c.attach_internet_gateway()
                .internet_gateway_id(id)
                .vpc_id(vpc)
                .send()
                .await
                .map(drop)
                .map_err(|e| AwsError::new("AttachInternetGateway", &e))
        })
        .await
        .map_err(anyhow::Error::from)
        .with_context(|| format!("attaching {id} to {vpc}"))
    }

    /// Detaching fails with DependencyViolation while the VPC still has public addresses mapped.
    async fn detach_igw(&self, id: &str, vpc: &str) -> Result<()> {
        let c = &self.client;
        let done = retry_while(
            DEPENDENCY_WAIT,
            |e| code(e, "DependencyViolation"),
            || async move {
                c.detach_internet_gateway()
                    .internet_gateway_id(id)
                    .vpc_id(vpc)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| AwsError::new("DetachInternetGateway", &e))
            },
        )
        .await;
        match done {
            Err(f) if !f.is_not_found() && !code(&f, "Gateway.NotAttached") => {
                Err(anyhow::Error::from(f)).with_context(|| format!("detaching {id} from {vpc}"))
            }
            _ => Ok(()),
        }
    }

    /// The VPCs the gateway is attached to, or None when the gateway is gone.
    async fn igw_vpcs(&self, id: &str) -> Result<Option<Vec<String>>> {
        match self
            .client
            .describe_internet_gateways()
            .internet_gateway_ids(id)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .internet_gateways()
                .first()
                .map(|g| attached_vpcs(g.attachments()))),
            Err(e) if not_found(error_code(&e)) => Ok(None),
            Err(e) => Err(sdk_error("DescribeInternetGateways", e)),
        }
    }

    async fn move_igw(&self, id: &str, vpc: Option<&str>) -> Result<()> {
        let current = self
            .igw_vpcs(id)
            .await?
            .with_context(|| format!("{id} no longer exists"))?;
        for old in current.iter().filter(|v| Some(v.as_str()) != vpc) {
            self.detach_igw(id, old).await?;
        }
        match vpc {
            Some(vpc) if !current.iter().any(|v| v == vpc) => self.attach_igw(id, vpc).await,
            _ => Ok(()),
        }
    }

    async fn delete_igw(&self, id: &str) -> Result<()> {
        let Some(vpcs) = self.igw_vpcs(id).await? else {
            return Ok(());
        };
        for vpc in &vpcs {
            self.detach_igw(id, vpc).await?;
        }
        let c = &self.client;
        delete_retrying(|| async move {
            c.delete_internet_gateway()
                .internet_gateway_id(id)
                .send()
                .await
                .map(drop)
                .map_err(|e| AwsError::new("DeleteInternetGateway", &e))
        })
        .await
    }
}

fn attached_vpcs(attachments: &[aws_sdk_ec2::types::InternetGatewayAttachment]) -> Vec<String> {
    // AWS reports an attached gateway as "available", which the SDK enum does not name.
    attachments
        .iter()
        .filter(|a| {
            !matches!(
                a.state(),
                Some(AttachmentStatus::Detached | AttachmentStatus::Detaching)
            )
        })
        .filter_map(|a| a.vpc_id().map(str::to_owned))
        .collect()
}

// ---------------------------------------------------------------------------------------------------------------
// Elastic IP and NAT gateway

/// NAT gateways take a minute or two to become available and about as long to delete.
const NAT_TIMEOUT: Duration = crate::kinds::nat_gateway::WAIT;
const NAT_POLL: Duration = Duration::from_secs(15);

impl Ec2 {
    async fn read_eips(&self, stack: &str) -> Result<Vec<Live>> {
        let out = self
            .client
            .describe_addresses()
            .filters(stack_filter(stack))
            .send()
            .await
            .map_err(|e| sdk_error("DescribeAddresses", e))?;
        let mut lives = Vec::new();
        for a in out.addresses() {
            let (Some(address), Some(id)) =
                (owned_address(stack, tag_iter(a.tags())), a.allocation_id())
            else {
                continue;
            };
            let mut live = Live::new(&address, "eip", id);
            if let Some(ip) = a.public_ip() {
                live.outputs.insert("public_ip".into(), ip.to_owned());
            }
            live.tags = tags_of(a.tags(), &[]);
            lives.push(live);
        }
        Ok(lives)
    }

    async fn create_eip(&self, r: &Resolved) -> Result<Live> {
        let out = self
            .client
            .allocate_address()
            .domain(DomainType::Vpc)
            .tag_specifications(tag_spec(ResourceType::ElasticIp, &r.tags))
            .send()
            .await
            .map_err(|e| sdk_error("AllocateAddress", e))?;
        let id = out
            .allocation_id()
            .context("AllocateAddress returned no allocation id")?;
        let mut live = Live::new(&r.address, &r.kind, id);
        if let Some(ip) = out.public_ip() {
            live.outputs.insert("public_ip".into(), ip.to_owned());
        }
        Ok(live)
    }

    /// AWS refuses to release an address still associated (a NAT gateway being deleted): retried.
    async fn release_eip(&self, id: &str) -> Result<()> {
        let c = &self.client;
        let done = retry_while(
            DEPENDENCY_WAIT,
            |e| code(e, "InvalidIPAddress.InUse") || code(e, "DependencyViolation"),
            || async move {
                c.release_address()
                    .allocation_id(id)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| AwsError::new("ReleaseAddress", &e))
            },
        )
        .await;
        match done {
            Err(f) if !f.is_not_found() => Err(anyhow::Error::from(f)),
            _ => Ok(()),
        }
    }

    async fn read_nats(&self, stack: &str) -> Result<Vec<Live>> {
        let nats: Vec<_> = self
            .client
            .describe_nat_gateways()
            .filter(stack_filter(stack))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| sdk_error("DescribeNatGateways", e))?;
        let owned: Vec<_> = nats
            .iter()
            .filter(|n| {
                // Deleted gateways stay listed for about an hour; they are gone for zinfra.
                !matches!(
                    n.state(),
                    Some(NatGatewayState::Deleted | NatGatewayState::Deleting)
                )
            })
            .filter_map(|n| Some((owned_address(stack, tag_iter(n.tags()))?, n)))
            .collect();
        // A gateway still `pending` (an apply that timed out, or another one running) is waited for
        // here, so the plan sees it usable and never creates a second one.
        try_join_all(owned.into_iter().map(|(address, n)| async move {
            let id = n.nat_gateway_id().unwrap_or_default();
            if n.state() == Some(&NatGatewayState::Pending) {
                self.wait_nat_available(id).await?;
            }
            let mut live = Live::new(&address, "nat_gateway", id);
            let eip = n
                .nat_gateway_addresses()
                .iter()
                .find_map(|a| a.allocation_id());
            live.props.insert("subnet".into(), opt_str(n.subnet_id()));
            live.props.insert("eip".into(), opt_str(eip));
            live.tags = tags_of(n.tags(), &[]);
            Ok::<_, anyhow::Error>(live)
        }))
        .await
    }

    async fn create_nat(&self, r: &Resolved) -> Result<Live> {
        let subnet = r.props.str("subnet").context("subnet is required")?;
        let eip = r.props.str("eip").context("eip is required")?;
        // The client token is the same for every try of this create (`client_token`): a request sent
        // again after a lost reply gets the first gateway back instead of a second one (tags alone
        // find it only once the index catches up). EC2 remembers a token after its gateway is
        // deleted and hands that one back: then the next token in the chain makes a new one.
        let mut gone = Vec::new();
        let id = loop {
            let out = self
                .client
                .create_nat_gateway()
                .subnet_id(subnet)
                .allocation_id(eip)
                .connectivity_type(ConnectivityType::Public)
                .tag_specifications(tag_spec(ResourceType::Natgateway, &r.tags))
                .client_token(super::toolkit::client_token(r, &gone, 64))
                .send()
                .await
                .map_err(|e| sdk_error("CreateNatGateway", e))?;
            let nat = out
                .nat_gateway()
                .context("CreateNatGateway returned no gateway")?;
            let id = nat
                .nat_gateway_id()
                .context("CreateNatGateway returned no id")?
                .to_owned();
            let dead = matches!(
                nat.state(),
                Some(
                    NatGatewayState::Deleted | NatGatewayState::Deleting | NatGatewayState::Failed
                )
            );
            if dead && gone.len() < 3 {
                gone.push(id);
                continue;
            }
            break id;
        };
        let id = id.as_str();
        self.wait_nat_available(id).await?;
        Ok(Live::new(&r.address, &r.kind, id))
    }

    async fn describe_nat(&self, id: &str) -> Result<Option<aws_sdk_ec2::types::NatGateway>> {
        match self
            .client
            .describe_nat_gateways()
            .nat_gateway_ids(id)
            .send()
            .await
        {
            Ok(out) => Ok(out.nat_gateways().first().cloned()),
            Err(e) if is_nat_not_found(error_code(&e)) => Ok(None),
            Err(e) => Err(sdk_error("DescribeNatGateways", e)),
        }
    }

    async fn wait_nat_available(&self, id: &str) -> Result<()> {
        crate::wait::until("NAT gateway", NAT_TIMEOUT, NAT_POLL, || async {
            let n = self
                .describe_nat(id)
                .await?
                .with_context(|| format!("NAT gateway {id} disappeared"))?;
            Ok(match n.state() {
                Some(NatGatewayState::Available) => Poll::Ready(()),
                Some(NatGatewayState::Pending) | None => Poll::Pending("pending".into()),
                Some(other) => bail!(
                    "NAT gateway {id} is {} instead of available: {}",
                    other.as_str(),
                    n.failure_message()
                        .or(n.failure_code())
                        .unwrap_or("no reason given")
                ),
            })
        })
        .await
    }

    /// Deleting takes a while; the address stays associated until the gateway is `deleted`.
    async fn delete_nat(&self, id: &str) -> Result<()> {
        let Some(n) = self.describe_nat(id).await? else {
            return Ok(());
        };
        match n.state() {
            Some(NatGatewayState::Deleted) => return Ok(()),
            Some(NatGatewayState::Deleting) => {}
            _ => match self
                .client
                .delete_nat_gateway()
                .nat_gateway_id(id)
                .send()
                .await
            {
                Err(e) if !is_nat_not_found(error_code(&e)) => {
                    return Err(sdk_error("DeleteNatGateway", e));
                }
                _ => {}
            },
        }
        crate::wait::until("NAT gateway deletion", NAT_TIMEOUT, NAT_POLL, || async {
            Ok(
                match self
                    .describe_nat(id)
                    .await?
                    .as_ref()
                    .and_then(|n| n.state())
                {
                    None | Some(NatGatewayState::Deleted) => Poll::Ready(()),
                    Some(other) => Poll::Pending(other.as_str().to_owned()),
                },
            )
        })
        .await
    }
}

fn is_nat_not_found(code: Option<&str>) -> bool {
    code == Some("NatGatewayNotFound") || not_found(code)
}

// ---------------------------------------------------------------------------------------------------------------
// Route table

/// What zinfra manages in a route table: routes to internet or NAT gateways by destination, and subnet
/// associations.
#[derive(Default)]
struct TableState {
    /// Destination → target id (`igw-…` or `nat-…`).
    routes: BTreeMap<String, String>,
    /// Subnet id → association id.
    subnets: BTreeMap<String, String>,
}

fn table_state(t: &aws_sdk_ec2::types::RouteTable) -> TableState {
    let mut s = TableState::default();
    for r in t.routes() {
        // The VPC's `local` route and routes to other targets (peering, endpoints …) are not zinfra's.
        let Some(gw) = r
            .gateway_id()
            .filter(|g| g.starts_with("igw-"))
            .or(r.nat_gateway_id())
        else {
            continue;
        };
        if let Some(dest) = r
            .destination_cidr_block()
            .or(r.destination_ipv6_cidr_block())
        {
            s.routes.insert(dest.to_owned(), gw.to_owned());
        }
    }
    for a in t.associations() {
        if a.main() == Some(true) {
            continue;
        }
        let gone = a
            .association_state()
            .and_then(|s| s.state())
            .is_some_and(|s| {
                matches!(
                    s,
                    RouteTableAssociationStateCode::Disassociated
                        | RouteTableAssociationStateCode::Disassociating
                        | RouteTableAssociationStateCode::Failed
                )
            });
        if let (false, Some(subnet), Some(assoc)) =
            (gone, a.subnet_id(), a.route_table_association_id())
        {
            s.subnets.insert(subnet.to_owned(), assoc.to_owned());
        }
    }
    s
}

/// A route destination as (IPv4, IPv6) parameters: EC2 takes each family in its own field.
fn destination(dest: &str) -> (Option<String>, Option<String>) {
    if dest.contains(':') {
        (None, Some(dest.to_owned()))
    } else {
        (Some(dest.to_owned()), None)
    }
}

fn is_nat(target: &str) -> bool {
    target.starts_with("nat-")
}

/// The route field a target id belongs in.
fn route_target_field(target: &str) -> &'static str {
    if is_nat(target) {
        "nat_gateway"
    } else {
        "gateway"
    }
}

fn desired_routes(props: &Props) -> Result<BTreeMap<String, String>> {
    props
        .list("routes")
        .iter()
        .map(|r| {
            let m = r.as_map().context("a route must be a table")?;
            let dest = m
                .get("destination")
                .and_then(Value::as_str)
                .context("a route needs `destination`")?;
            let gw = m
                .get("gateway")
                .or(m.get("nat_gateway"))
                .and_then(Value::as_str)
                .context("a route needs `gateway` or `nat_gateway`")?;
            Ok((dest.to_owned(), gw.to_owned()))
        })
        .collect()
}

impl Ec2 {
    async fn read_route_tables(&self, stack: &str) -> Result<Vec<Live>> {
        let tables: Vec<_> = self
            .client
            .describe_route_tables()
            .filters(stack_filter(stack))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| sdk_error("DescribeRouteTables", e))?;
        let mut out = Vec::new();
        for t in tables {
            let Some(address) = owned_address(stack, tag_iter(t.tags())) else {
                continue;
            };
            let state = table_state(&t);
            let mut live = Live::new(
                &address,
                "route_table",
                t.route_table_id().unwrap_or_default(),
            );
            let routes = state
                .routes
                .into_iter()
                .map(|(d, g)| {
                    Value::Map(BTreeMap::from([
                        ("destination".into(), Value::Str(d)),
                        (route_target_field(&g).into(), Value::Str(g)),
                    ]))
                })
                .collect();
            live.props.insert("vpc".into(), opt_str(t.vpc_id()));
            live.props.insert("routes".into(), Value::List(routes));
            live.props.insert(
                "subnets".into(),
                Value::List(state.subnets.into_keys().map(Value::Str).collect()),
            );
            live.tags = tags_of(t.tags(), &[]);
            self.add_arn(&mut live, t.owner_id(), "route-table");
            out.push(live);
        }
        Ok(out)
    }

    async fn create_route_table(&self, r: &Resolved) -> Result<Live> {
        let out = self
            .client
            .create_route_table()
            .vpc_id(r.props.str("vpc").context("vpc is required")?)
            .tag_specifications(tag_spec(ResourceType::RouteTable, &r.tags))
            .send()
            .await
            .map_err(|e| sdk_error("CreateRouteTable", e))?;
        let table = out
            .route_table()
            .context("CreateRouteTable returned no table")?;
        let id = table
            .route_table_id()
            .context("CreateRouteTable returned no id")?;
        let mut live = Live::new(&r.address, &r.kind, id);
        self.add_arn(&mut live, table.owner_id(), "route-table");
        self.apply_route_table(id, r, &table_state(table), true, true)
            .await?;
        Ok(live)
    }

    async fn update_route_table(
        &self,
        id: &str,
        r: &Resolved,
        routes: bool,
        subnets: bool,
    ) -> Result<()> {
        let current = self
            .describe_route_table(id)
            .await?
            .with_context(|| format!("{id} no longer exists"))?;
        self.apply_route_table(id, r, &table_state(&current), routes, subnets)
            .await
    }

    async fn describe_route_table(
        &self,
        id: &str,
    ) -> Result<Option<aws_sdk_ec2::types::RouteTable>> {
        match self
            .client
            .describe_route_tables()
            .route_table_ids(id)
            .send()
            .await
        {
            Ok(out) => Ok(out.route_tables().first().cloned()),
            Err(e) if not_found(error_code(&e)) => Ok(None),
            Err(e) => Err(sdk_error("DescribeRouteTables", e)),
        }
    }

    async fn apply_route_table(
        &self,
        id: &str,
        r: &Resolved,
        have: &TableState,
        routes: bool,
        subnets: bool,
    ) -> Result<()> {
        let c = &self.client;
        // Both fields lack a default: omitted from the file, they are left as AWS has them.
        let managed = |k: &str| r.props.get(k).is_some_and(|v| !v.is_null());
        if routes && managed("routes") {
            let want = desired_routes(&r.props)?;
            for dest in have.routes.keys().filter(|d| !want.contains_key(*d)) {
                let (v4, v6) = destination(dest);
                let req = c.delete_route().route_table_id(id);
                let req = req
                    .set_destination_cidr_block(v4)
                    .set_destination_ipv6_cidr_block(v6);
                match req.send().await {
                    Err(e) if error_code(&e) != Some("InvalidRoute.NotFound") => {
                        return Err(sdk_error("DeleteRoute", e))
                            .with_context(|| format!("route {dest}"));
                    }
                    _ => {}
                }
            }
            for (dest, gw) in &want {
                match have.routes.get(dest) {
                    Some(old) if old == gw => {}
                    Some(_) => {
                        let (v4, v6) = destination(dest);
                        let req = c.replace_route().route_table_id(id);
                        let req = if is_nat(gw) {
                            req.nat_gateway_id(gw)
                        } else {
                            req.gateway_id(gw)
                        };
                        req.set_destination_cidr_block(v4)
                            .set_destination_ipv6_cidr_block(v6)
                            .send()
                            .await
                            .map_err(|e| sdk_error("ReplaceRoute", e))
                            .with_context(|| format!("route {dest} → {gw}"))?;
                    }
                    None => {
                        let (v4, v6) = destination(dest);
                        let req = c.create_route().route_table_id(id);
                        let req = if is_nat(gw) {
                            req.nat_gateway_id(gw)
                        } else {
                            req.gateway_id(gw)
                        };
                        let req = req
                            .set_destination_cidr_block(v4)
                            .set_destination_ipv6_cidr_block(v6);
                        retry_not_found(|| {
                            let req = req.clone();
                            async move {
                                req.send()
                                    .await
                                    .map(drop)
                                    .map_err(|e| AwsError::new("CreateRoute", &e))
                            }
                        })
                        .await
                        .map_err(anyhow::Error::from)
                        .with_context(|| format!("route {dest} → {gw}"))?;
                    }
                }
            }
        }
        if subnets && managed("subnets") {
            let want: BTreeSet<String> = r.props.strs("subnets").into_iter().collect();
            for (subnet, assoc) in have.subnets.iter().filter(|(s, _)| !want.contains(*s)) {
                self.disassociate(assoc)
                    .await
                    .with_context(|| format!("subnet {subnet}"))?;
            }
            for subnet in want.iter().filter(|s| !have.subnets.contains_key(*s)) {
                self.associate(id, subnet)
                    .await
                    .with_context(|| format!("subnet {subnet}"))?;
            }
        }
        Ok(())
    }

    /// A subnet has one explicit table: when another table still holds it (a move within one apply),
    /// take it over with ReplaceRouteTableAssociation instead of failing.
    async fn associate(&self, id: &str, subnet: &str) -> Result<()> {
        let c = &self.client;
        let done = retry_not_found(|| async move {
            c.associate_route_table()
                .route_table_id(id)
                .subnet_id(subnet)
                .send()
                .await
                .map(drop)
                .map_err(|e| AwsError::new("AssociateRouteTable", &e))
        })
        .await;
        let Err(f) = done else { return Ok(()) };
        if !code(&f, "Resource.AlreadyAssociated") {
            return Err(anyhow::Error::from(f));
        }
        let holders = c
            .describe_route_tables()
            .filters(
                Filter::builder()
                    .name("association.subnet-id")
                    .values(subnet)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| sdk_error("DescribeRouteTables", e))?;
        let assoc = holders
            .route_tables()
            .iter()
            .flat_map(|t| t.associations())
            .find(|a| a.subnet_id() == Some(subnet))
            .and_then(|a| a.route_table_association_id())
            .ok_or(anyhow::Error::from(f))?;
        c.replace_route_table_association()
            .association_id(assoc)
            .route_table_id(id)
            .send()
            .await
            .map_err(|e| sdk_error("ReplaceRouteTableAssociation", e))?;
        Ok(())
    }

    async fn disassociate(&self, assoc: &str) -> Result<()> {
        match self
            .client
            .disassociate_route_table()
            .association_id(assoc)
            .send()
            .await
        {
            Err(e) if !not_found(error_code(&e)) => Err(sdk_error("DisassociateRouteTable", e)),
            _ => Ok(()),
        }
    }

    async fn delete_route_table(&self, id: &str) -> Result<()> {
        let Some(table) = self.describe_route_table(id).await? else {
            return Ok(());
        };
        for assoc in table_state(&table).subnets.values() {
            self.disassociate(assoc).await?;
        }
        let c = &self.client;
        delete_retrying(|| async move {
            c.delete_route_table()
                .route_table_id(id)
                .send()
                .await
                .map(drop)
                .map_err(|e| AwsError::new("DeleteRouteTable", &e))
        })
        .await
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Security group
//
// AWS stores rules as atoms (one protocol/port range with one CIDR or one group) but reports them grouped by
// protocol and ports. Both sides are reduced to atoms to diff, and atoms are regrouped per
// (protocol, ports, description) to give the file's shape back.

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Peer {
    Cidr(String),
    /// Another group, or the group itself (a `self` rule).
    Group(String),
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Atom {
    protocol: String,
    from: i64,
    to: i64,
    peer: Peer,
    description: String,
}

impl Atom {
    fn same_rule(&self, other: &Atom) -> bool {
        (&self.protocol, self.from, self.to, &self.peer)
            == (&other.protocol, other.from, other.to, &other.peer)
    }
}

fn normalize_protocol(p: &str) -> String {
    match p.to_ascii_lowercase().as_str() {
        "all" => "-1".into(),
        "6" => "tcp".into(),
        "17" => "udp".into(),
        "1" => "icmp".into(),
        p => p.into(),
    }
}

/// Only these protocols carry a port (or ICMP type/code) range; AWS ignores or rejects ports for the rest.
fn has_ports(protocol: &str) -> bool {
    matches!(protocol, "tcp" | "udp" | "icmp" | "icmpv6" | "58")
}

fn atoms_from_aws(perms: &[IpPermission]) -> BTreeSet<Atom> {
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

fn atoms_from_rules(rules: &[Value], own_id: &str) -> Result<BTreeSet<Atom>> {
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

fn rules_from_atoms(atoms: &BTreeSet<Atom>, own_id: &str) -> Value {
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

fn permission(a: &Atom) -> IpPermission {
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
enum Direction {
    Ingress,
    Egress,
}

impl Ec2 {
    async fn read_security_groups(&self, stack: &str) -> Result<Vec<Live>> {
        let groups: Vec<_> = self
            .client
            .describe_security_groups()
            .filters(stack_filter(stack))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| sdk_error("DescribeSecurityGroups", e))?;
        let mut out = Vec::new();
        for g in groups {
            let Some(address) = owned_address(stack, tag_iter(g.tags())) else {
                continue;
            };
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

    fn add_sg_arn(&self, live: &mut Live, g: &SecurityGroup) {
        match g.security_group_arn() {
            Some(arn) => {
                live.outputs.insert("arn".into(), arn.to_owned());
            }
            None => self.add_arn(live, g.owner_id(), "security-group"),
        }
    }

    async fn describe_security_group(&self, id: &str) -> Result<SecurityGroup> {
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

    async fn create_security_group(&self, r: &Resolved) -> Result<Live> {
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

    async fn update_security_group(
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
    async fn apply_rules(
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
        if !revoke.is_empty() {
            let done = match dir {
                Direction::Ingress => c
                    .revoke_security_group_ingress()
                    .group_id(id)
                    .set_ip_permissions(perms(&revoke))
                    .send()
                    .await
                    .map(drop)
                    .or_else(|e| {
                        already(
                            e,
                            "RevokeSecurityGroupIngress",
                            "InvalidPermission.NotFound",
                        )
                    }),
                Direction::Egress => c
                    .revoke_security_group_egress()
                    .group_id(id)
                    .set_ip_permissions(perms(&revoke))
                    .send()
                    .await
                    .map(drop)
                    .or_else(|e| {
                        already(e, "RevokeSecurityGroupEgress", "InvalidPermission.NotFound")
                    }),
            };
            done.with_context(|| format!("revoking {field} rules"))?;
        }
        if !describe.is_empty() {
            let done = match dir {
                Direction::Ingress => c
                    .update_security_group_rule_descriptions_ingress()
                    .group_id(id)
                    .set_ip_permissions(perms(&describe))
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| sdk_error("UpdateSecurityGroupRuleDescriptionsIngress", e)),
                Direction::Egress => c
                    .update_security_group_rule_descriptions_egress()
                    .group_id(id)
                    .set_ip_permissions(perms(&describe))
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| sdk_error("UpdateSecurityGroupRuleDescriptionsEgress", e)),
            };
            done.with_context(|| format!("updating {field} rule descriptions"))?;
        }
        if !authorize.is_empty() {
            let done = match dir {
                Direction::Ingress => c
                    .authorize_security_group_ingress()
                    .group_id(id)
                    .set_ip_permissions(perms(&authorize))
                    .send()
                    .await
                    .map(drop)
                    .or_else(|e| {
                        already(
                            e,
                            "AuthorizeSecurityGroupIngress",
                            "InvalidPermission.Duplicate",
                        )
                    }),
                Direction::Egress => c
                    .authorize_security_group_egress()
                    .group_id(id)
                    .set_ip_permissions(perms(&authorize))
                    .send()
                    .await
                    .map(drop)
                    .or_else(|e| {
                        already(
                            e,
                            "AuthorizeSecurityGroupEgress",
                            "InvalidPermission.Duplicate",
                        )
                    }),
            };
            done.with_context(|| format!("authorizing {field} rules"))?;
        }
        Ok(())
    }
}

/// A rule change the SDK re-sent after its first reply was lost finds its work done: that is success.
fn already<E>(
    e: aws_sdk_ec2::error::SdkError<E, aws_sdk_ec2::config::http::HttpResponse>,
    op: &str,
    done_code: &str,
) -> Result<()>
where
    E: aws_sdk_ec2::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if error_code(&e) == Some(done_code) {
        Ok(())
    } else {
        Err(sdk_error(op, e))
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Tags, ARNs, errors and retries

impl Ec2 {
    async fn create_tags<'a>(
        &self,
        id: &str,
        tags: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<()> {
        let tags: Vec<Tag> = tags
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        self.client
            .create_tags()
            .resources(id)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| sdk_error("CreateTags", e))?;
        Ok(())
    }

    /// `arn:<partition>:ec2:<region>:<account>:<path>/<id>`, when AWS told us the owning account.
    fn add_arn(&self, live: &mut Live, owner: Option<&str>, path: &str) {
        let (Some(owner), Some(region)) = (owner, self.client.config().region()) else {
            return;
        };
        let region = region.as_ref();
        let partition = partition(region);
        let arn = format!("arn:{partition}:ec2:{region}:{owner}:{path}/{}", live.id);
        live.outputs.insert("arn".into(), arn);
    }
}

fn stack_filter(stack: &str) -> Filter {
    Filter::builder()
        .name(format!("tag:{TAG_STACK}"))
        .values(stack)
        .build()
}

fn tag_spec(resource: ResourceType, tags: &Tags) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource)
        .set_tags(Some(
            tag_pairs(tags)
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .build()
}

fn tag_iter(tags: &[Tag]) -> impl Iterator<Item = (&str, &str)> {
    tags.iter()
        .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default())))
}

/// AWS's tags minus its own `aws:` keys and any zinfra keeps as props.
fn tags_of(tags: &[Tag], skip: &[&str]) -> Tags {
    user_tags(tag_iter(tags).filter(|(k, _)| !skip.contains(k)))
}

fn opt_str(s: Option<&str>) -> Value {
    s.map_or(Value::Null, |s| Value::Str(s.to_owned()))
}

fn bool_prop(props: &Props, key: &str) -> Option<bool> {
    props.get(key).and_then(Value::as_bool)
}

/// The fields of each kind that change in place; the schema marks every other one force_new.
fn in_place(kind: &str) -> &'static [&'static str] {
    match kind {
        "vpc" => &["enable_dns_support", "enable_dns_hostnames"],
        "subnet" => &["tier", "map_public_ip_on_launch"],
        "internet_gateway" => &["vpc"],
        "route_table" => &["routes", "subnets"],
        "security_group" => &["ingress", "egress"],
        _ => &[],
    }
}

fn opt_bool(b: Option<bool>) -> Value {
    b.map_or(Value::Null, Value::Bool)
}

/// For the first calls on a resource just created, which EC2 may not show everywhere yet.
async fn retry_not_found<T, F, Fut>(f: F) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    retry_while(CONSISTENCY_WAIT, AwsError::is_not_found, f).await
}

/// A delete: NotFound means done; DependencyViolation is retried while dependents are being deleted.
async fn delete_retrying<F, Fut>(f: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), AwsError>>,
{
    match retry_while(DEPENDENCY_WAIT, |e| code(e, "DependencyViolation"), f).await {
        Err(e) if !e.is_not_found() => Err(e.into()),
        _ => Ok(()),
    }
}

#[async_trait]
impl TagApi for aws_sdk_ec2::Client {
    async fn tag(&self, id: &str, set: Vec<(&str, &str)>) -> Result<()> {
        let tags: Vec<Tag> = set
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        self.create_tags()
            .resources(id)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| sdk_error("CreateTags", e))?;
        Ok(())
    }

    async fn untag(&self, id: &str, keys: Vec<String>, _have: &Tags) -> Result<()> {
        self.delete_tags()
            .resources(id)
            .set_tags(Some(
                keys.iter().map(|k| Tag::builder().key(k).build()).collect(),
            ))
            .send()
            .await
            .map_err(|e| sdk_error("DeleteTags", e))?;
        Ok(())
    }
}
