//! Load balancers: scheme, subnets, security groups, attributes (invalid headers dropped).

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use aws_sdk_elasticloadbalancingv2::types::{
    LoadBalancer, LoadBalancerAttribute, LoadBalancerSchemeEnum, LoadBalancerStateEnum,
    LoadBalancerTypeEnum,
};

use crate::drivers::toolkit::{absent_if, error_code, sdk_error};
use crate::model::{Live, Props, PropsExt, Resolved, Tags, Value};
use crate::wait::{self, Poll};

use super::common::*;

impl Elbv2 {
    pub(super) async fn read_lb(
        &self,
        address: String,
        l: &LoadBalancer,
        tags: &BTreeMap<String, Tags>,
    ) -> Result<Option<Live>> {
        let arn = l.load_balancer_arn().unwrap_or_default();
        // Deleted since it was listed: not live.
        let Some(attrs) = absent_if(
            "DescribeLoadBalancerAttributes",
            self.client
                .describe_load_balancer_attributes()
                .load_balancer_arn(arn)
                .send()
                .await,
            &["LoadBalancerNotFound"],
        )?
        else {
            return Ok(None);
        };
        let attr = |k: &str| {
            attrs
                .attributes()
                .iter()
                .find(|a| a.key() == Some(k))
                .and_then(|a| a.value())
                .map(str::to_owned)
        };
        let mut live = Live::new(&address, LB, arn);
        lb_outputs(&mut live, l);
        let p = &mut live.props;
        p.insert(
            "name".into(),
            Value::Str(l.load_balancer_name().unwrap_or_default().into()),
        );
        if let Some(s) = l.scheme() {
            p.insert("scheme".into(), Value::Str(s.as_str().into()));
        }
        p.insert(
            "subnets".into(),
            strs(
                &l.availability_zones()
                    .iter()
                    .filter_map(|z| z.subnet_id().map(str::to_owned))
                    .collect::<Vec<_>>(),
            ),
        );
        p.insert("security_groups".into(), strs(l.security_groups()));
        for (field, key) in LB_ATTRIBUTES {
            if let Some(v) = attr(key) {
                p.insert(field.into(), Value::Bool(v == "true"));
            }
        }
        if let Some(v) = attr("idle_timeout.timeout_seconds").and_then(|v| v.parse().ok()) {
            p.insert("idle_timeout".into(), Value::Int(v));
        }
        live.tags = tags.get(arn).cloned().unwrap_or_default();
        Ok(Some(live))
    }
}

impl Elbv2 {
    pub(super) async fn create_lb(&self, r: &Resolved) -> Result<Live> {
        let name = r.props.str("name").context("`name` is required")?;
        // CreateLoadBalancer is idempotent: the same name and settings return the existing load balancer.
        let out = self
            .client
            .create_load_balancer()
            .name(name)
            .r#type(LoadBalancerTypeEnum::Application)
            .scheme(LoadBalancerSchemeEnum::from(
                r.props.str("scheme").unwrap_or("internet-facing"),
            ))
            .set_subnets(Some(r.props.strs("subnets")))
            .set_security_groups(Some(r.props.strs("security_groups")))
            .set_tags(Some(tags(&r.tags)))
            .send()
            .await
            .map_err(|e| sdk_error("CreateLoadBalancer", e))?;
        let lb = out
            .load_balancers()
            .first()
            .context("CreateLoadBalancer returned nothing")?;
        let arn = lb.load_balancer_arn().context("no ARN")?.to_owned();
        self.lb_attributes(&arn, &r.props).await?;
        let lb = wait::until("load balancer", LB_TIMEOUT, POLL_MAX, || async {
            let l = self.describe_lbs(Some(vec![arn.clone()])).await?;
            let Some(l) = l.into_iter().next() else {
                return Ok(Poll::Pending("not visible yet".into()));
            };
            Ok(match l.state().and_then(|s| s.code()) {
                Some(LoadBalancerStateEnum::Active) => Poll::Ready(l),
                Some(LoadBalancerStateEnum::Failed) => {
                    anyhow::bail!("load balancer {arn} failed to provision")
                }
                s => Poll::Pending(s.map_or("unknown", |s| s.as_str()).to_owned()),
            })
        })
        .await?;
        let mut live = Live::new(&r.address, LB, &arn);
        lb_outputs(&mut live, &lb);
        live.props = r.props.clone();
        live.tags = r.tags.clone();
        Ok(live)
    }

    pub(super) async fn lb_attributes(&self, arn: &str, p: &Props) -> Result<()> {
        let mut attrs = Vec::new();
        for (field, key) in LB_ATTRIBUTES {
            if let Some(b) = p.get(field).and_then(Value::as_bool) {
                attrs.push(
                    LoadBalancerAttribute::builder()
                        .key(key)
                        .value(b.to_string())
                        .build(),
                );
            }
        }
        if let Some(t) = p.int("idle_timeout") {
            attrs.push(
                LoadBalancerAttribute::builder()
                    .key("idle_timeout.timeout_seconds")
                    .value(t.to_string())
                    .build(),
            );
        }
        if attrs.is_empty() {
            return Ok(());
        }
        self.client
            .modify_load_balancer_attributes()
            .load_balancer_arn(arn)
            .set_attributes(Some(attrs))
            .send()
            .await
            .map_err(|e| sdk_error("ModifyLoadBalancerAttributes", e))?;
        Ok(())
    }

    /// Delete and wait until it is gone, so its name is free and its target groups are released.
    pub(super) async fn delete_lb(&self, arn: &str) -> Result<()> {
        match self
            .client
            .delete_load_balancer()
            .load_balancer_arn(arn)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if error_code(&e) == Some("LoadBalancerNotFound") => return Ok(()),
            Err(e) => return Err(sdk_error("DeleteLoadBalancer", e)),
        }
        wait::until("load balancer deletion", LB_TIMEOUT, POLL_MAX, || async {
            Ok(
                if self
                    .describe_lbs(Some(vec![arn.to_owned()]))
                    .await?
                    .is_empty()
                {
                    Poll::Ready(())
                } else {
                    Poll::Pending("deleting".into())
                },
            )
        })
        .await
    }
}

pub(super) fn lb_outputs(live: &mut Live, l: &LoadBalancer) {
    let dns = lower_dns(l.dns_name().unwrap_or_default());
    let zone = l.canonical_hosted_zone_id().unwrap_or_default().to_owned();
    live.outputs.insert("arn".into(), live.id.clone());
    live.outputs
        .insert("alias_target".into(), format!("{zone}/{dns}"));
    live.outputs.insert("dns_name".into(), dns);
    live.outputs.insert("zone_id".into(), zone);
}

/// The load balancer attributes zinfra manages: (field, attribute key), read and written alike.
const LB_ATTRIBUTES: [(&str, &str); 2] = [
    (
        "drop_invalid_header_fields",
        "routing.http.drop_invalid_header_fields.enabled",
    ),
    ("deletion_protection", "deletion_protection.enabled"),
];
