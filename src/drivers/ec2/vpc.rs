//! VPCs: their CIDR block and DNS attributes.

use anyhow::{Context, Result};
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, VpcAttributeName, VpcState};
use futures::future::try_join_all;

use crate::drivers::toolkit::error::not_found;
use crate::drivers::toolkit::{POLL, error_code, owned_address, sdk_error};
use crate::model::{Live, PropsExt, Resolved, Value};
use crate::wait::Poll;

use super::common::*;

// VPC

impl Ec2 {
    pub(super) async fn read_vpcs(&self, stack: &str) -> Result<Vec<Live>> {
        let vpcs = owned_items!(stack, self.client.describe_vpcs(), "DescribeVpcs");
        let owned = vpcs.into_iter();
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

    pub(super) async fn vpc_attribute(
        &self,
        id: &str,
        attr: VpcAttributeName,
    ) -> Result<Option<bool>> {
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

    pub(super) async fn create_vpc(&self, r: &Resolved) -> Result<Live> {
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

    pub(super) async fn wait_vpc_available(&self, id: &str) -> Result<()> {
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
    pub(super) async fn set_vpc_dns(
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
            send_when_visible!(req, "ModifyVpcAttribute")
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
