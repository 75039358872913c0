//! Subnets: CIDR, zone, tier and public IPs on launch.

use anyhow::{Context, Result};
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, Tag};

use crate::drivers::toolkit::{owned_address, sdk_error};
use crate::model::{Live, PropsExt, Resolved};

use super::common::*;

// Subnet

impl Ec2 {
    pub(super) async fn read_subnets(&self, stack: &str) -> Result<Vec<Live>> {
        let subnets = owned_items!(stack, self.client.describe_subnets(), "DescribeSubnets");
        let mut out = Vec::new();
        for (address, s) in subnets {
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

    pub(super) async fn create_subnet(&self, r: &Resolved) -> Result<Live> {
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

    pub(super) async fn set_map_public_ip(&self, id: &str, on: bool) -> Result<()> {
        let req = self
            .client
            .modify_subnet_attribute()
            .subnet_id(id)
            .map_public_ip_on_launch(AttributeBooleanValue::builder().value(on).build());
        send_when_visible!(req, "ModifySubnetAttribute").map_err(anyhow::Error::from)
    }
}
