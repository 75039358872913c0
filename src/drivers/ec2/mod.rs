//! EC2 networking: VPCs, subnets, internet gateways, Elastic IPs, NAT gateways, route tables and
//! security groups.

mod common;
mod gateways;
mod route_table;
mod security_group;
mod subnet;
mod vpc;

pub use common::Ec2;

use anyhow::{Context, Result, anyhow, bail};
use async_trait::async_trait;

use crate::drivers::toolkit::{AwsError, Driver, ReadCx, Undeclared, sync_tags, updated};
use crate::model::{Live, PropsExt, Resolved};

use common::*;

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
        Ok(updated(r, live))
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
