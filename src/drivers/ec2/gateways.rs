//! Internet gateways, Elastic IPs and NAT gateways.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use aws_sdk_ec2::types::{
    AttachmentStatus, ConnectivityType, DomainType, NatGatewayState, ResourceType,
};
use futures::future::try_join_all;

use crate::drivers::toolkit::error::not_found;
use crate::drivers::toolkit::{
    AllItems, AwsError, code, error_code, owned_address, retry_while, sdk_error,
};
use crate::model::{Live, PropsExt, Resolved};
use crate::wait::Poll;

use super::common::*;

// Internet gateway

impl Ec2 {
    pub(super) async fn read_igws(&self, stack: &str) -> Result<Vec<Live>> {
        let igws = owned_items!(
            stack,
            self.client.describe_internet_gateways(),
            "DescribeInternetGateways"
        );
        let mut out = Vec::new();
        for (address, igw) in igws {
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

    pub(super) async fn create_igw(&self, r: &Resolved) -> Result<Live> {
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

    pub(super) async fn attach_igw(&self, id: &str, vpc: &str) -> Result<()> {
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
    pub(super) async fn detach_igw(&self, id: &str, vpc: &str) -> Result<()> {
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
    pub(super) async fn igw_vpcs(&self, id: &str) -> Result<Option<Vec<String>>> {
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

    pub(super) async fn move_igw(&self, id: &str, vpc: Option<&str>) -> Result<()> {
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

    pub(super) async fn delete_igw(&self, id: &str) -> Result<()> {
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

pub(super) fn attached_vpcs(
    attachments: &[aws_sdk_ec2::types::InternetGatewayAttachment],
) -> Vec<String> {
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

// Elastic IP and NAT gateway

/// NAT gateways take a minute or two to become available and about as long to delete.
pub(super) const NAT_TIMEOUT: Duration = crate::kinds::nat_gateway::WAIT;
pub(super) const NAT_POLL: Duration = Duration::from_secs(15);

impl Ec2 {
    pub(super) async fn read_eips(&self, stack: &str) -> Result<Vec<Live>> {
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

    pub(super) async fn create_eip(&self, r: &Resolved) -> Result<Live> {
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
    pub(super) async fn release_eip(&self, id: &str) -> Result<()> {
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

    pub(super) async fn read_nats(&self, stack: &str) -> Result<Vec<Live>> {
        let nats: Vec<_> = self
            .client
            .describe_nat_gateways()
            .filter(stack_filter(stack))
            .into_paginator()
            .items()
            .send()
            .all("DescribeNatGateways")
            .await?;
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

    pub(super) async fn create_nat(&self, r: &Resolved) -> Result<Live> {
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
                .client_token(crate::drivers::toolkit::client_token(r, &gone, 64))
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

    pub(super) async fn describe_nat(
        &self,
        id: &str,
    ) -> Result<Option<aws_sdk_ec2::types::NatGateway>> {
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

    pub(super) async fn wait_nat_available(&self, id: &str) -> Result<()> {
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
    pub(super) async fn delete_nat(&self, id: &str) -> Result<()> {
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

pub(super) fn is_nat_not_found(code: Option<&str>) -> bool {
    code == Some("NatGatewayNotFound") || not_found(code)
}
