//! Route tables: their routes and subnet associations.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result};
use aws_sdk_ec2::types::{Filter, ResourceType, RouteTableAssociationStateCode};

use crate::drivers::toolkit::error::not_found;
use crate::drivers::toolkit::{AwsError, code, error_code, owned_address, sdk_error};
use crate::model::{Live, Props, PropsExt, Resolved, Value};

use super::common::*;

// Route table

/// What zinfra manages in a route table: routes to internet or NAT gateways by destination, and subnet
/// associations.
#[derive(Default)]
pub(super) struct TableState {
    /// Destination → target id (`igw-…` or `nat-…`).
    routes: BTreeMap<String, String>,
    /// Subnet id → association id.
    subnets: BTreeMap<String, String>,
}

pub(super) fn table_state(t: &aws_sdk_ec2::types::RouteTable) -> TableState {
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
pub(super) fn destination(dest: &str) -> (Option<String>, Option<String>) {
    if dest.contains(':') {
        (None, Some(dest.to_owned()))
    } else {
        (Some(dest.to_owned()), None)
    }
}

pub(super) fn is_nat(target: &str) -> bool {
    target.starts_with("nat-")
}

/// The route field a target id belongs in.
pub(super) fn route_target_field(target: &str) -> &'static str {
    if is_nat(target) {
        "nat_gateway"
    } else {
        "gateway"
    }
}

pub(super) fn desired_routes(props: &Props) -> Result<BTreeMap<String, String>> {
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
    pub(super) async fn read_route_tables(&self, stack: &str) -> Result<Vec<Live>> {
        let tables = owned_items!(
            stack,
            self.client.describe_route_tables(),
            "DescribeRouteTables"
        );
        let mut out = Vec::new();
        for (address, t) in tables {
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

    pub(super) async fn create_route_table(&self, r: &Resolved) -> Result<Live> {
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

    pub(super) async fn update_route_table(
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

    pub(super) async fn describe_route_table(
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

    pub(super) async fn apply_route_table(
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
                        send_when_visible!(req, "CreateRoute")
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
    pub(super) async fn associate(&self, id: &str, subnet: &str) -> Result<()> {
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

    pub(super) async fn disassociate(&self, assoc: &str) -> Result<()> {
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

    pub(super) async fn delete_route_table(&self, id: &str) -> Result<()> {
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
