//! Application Load Balancers: load balancers, target groups, listeners and listener rules.
//!
//! Load balancers and target groups come from the tag index, with their tags. Listeners and rules are
//! tagged too, but the tagging API does not list them everywhere, so they are found from their parents
//! (the stack's load balancers in the index, their listeners, the listeners' rules), once per run for
//! both kinds, and their tags read in batches of 20 ARNs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, FixedResponseActionConfig, HostHeaderConditionConfig,
    Listener, LoadBalancer, LoadBalancerAttribute, LoadBalancerSchemeEnum, LoadBalancerStateEnum,
    LoadBalancerTypeEnum, Matcher, PathPatternConditionConfig, ProtocolEnum, RedirectActionConfig,
    RedirectActionStatusCodeEnum, Rule, RuleCondition, RulePriorityPair, Tag, TargetGroup,
    TargetGroupAttribute, TargetTypeEnum,
};
use futures::future::try_join_all;

use super::toolkit::{
    Driver, ReadCx, TagApi, Undeclared, absent_if, error_code, owned_address, sdk_error, sync_tags,
    unhandled, user_tags,
};
use crate::kinds::lb_listener::DEFAULT_SSL_POLICY;
use crate::model::{Live, Props, PropsExt, Resolved, Tags, Value};
use crate::wait::{self, Poll};

const LB: &str = "lb";
const TG: &str = "lb_target_group";
const LISTENER: &str = "lb_listener";
const RULE: &str = "lb_listener_rule";
/// DescribeTags, DescribeLoadBalancers and DescribeTargetGroups take at most 20 ARNs.
const BATCH: usize = 20;
const LB_TIMEOUT: Duration = crate::kinds::lb::WAIT;
const POLL_MAX: Duration = Duration::from_secs(10);

pub struct Elbv2 {
    client: Client,
}

impl Elbv2 {
    pub fn new(client: Client) -> Elbv2 {
        Elbv2 { client }
    }
}

#[async_trait]
impl Driver for Elbv2 {
    fn kinds(&self) -> &'static [&'static str] {
        &[LB, TG, LISTENER, RULE]
    }

    fn service(&self) -> &'static str {
        "ELASTIC_LOAD_BALANCING_V2"
    }

    fn undeclared(&self, kind: &str) -> Undeclared {
        if kind == LB || kind == TG {
            Undeclared::Index
        } else {
            Undeclared::Listing
        }
    }

    async fn read(&self, cx: &ReadCx<'_>) -> Result<Vec<Live>> {
        match cx.kind {
            LB => {
                let arns: Vec<String> = cx.tagged.iter().map(|(_, a)| a.clone()).collect();
                let lbs = self.describe_lbs(Some(arns)).await?;
                let tags = self
                    .tags_for(cx, lbs.iter().filter_map(|l| l.load_balancer_arn()))
                    .await?;
                let owned: Vec<(String, &LoadBalancer)> = lbs
                    .iter()
                    .filter_map(|l| Some((owner(cx.stack, &tags, l.load_balancer_arn()?)?, l)))
                    .collect();
                Ok(
                    try_join_all(owned.into_iter().map(|(a, l)| self.read_lb(a, l, &tags)))
                        .await?
                        .into_iter()
                        .flatten()
                        .collect(),
                )
            }
            TG => {
                let arns: Vec<String> = cx.tagged.iter().map(|(_, a)| a.clone()).collect();
                let tgs = self.describe_tgs(arns).await?;
                let tags = self
                    .tags_for(cx, tgs.iter().filter_map(|t| t.target_group_arn()))
                    .await?;
                let owned: Vec<(String, &TargetGroup)> = tgs
                    .iter()
                    .filter_map(|t| Some((owner(cx.stack, &tags, t.target_group_arn()?)?, t)))
                    .collect();
                Ok(
                    try_join_all(owned.into_iter().map(|(a, t)| self.read_tg(a, t, &tags)))
                        .await?
                        .into_iter()
                        .flatten()
                        .collect(),
                )
            }
            LISTENER => {
                let c = self.stack_children(cx).await?;
                Ok(c.listeners
                    .iter()
                    .filter_map(|l| {
                        Some(read_listener(
                            owner(cx.stack, &c.tags, l.listener_arn()?)?,
                            l,
                            &c.tags,
                        ))
                    })
                    .collect())
            }
            _ => {
                let c = self.stack_children(cx).await?;
                Ok(c.rules
                    .iter()
                    .filter_map(|(listener, r)| {
                        Some(read_rule(
                            owner(cx.stack, &c.tags, r.rule_arn()?)?,
                            listener,
                            r,
                            &c.tags,
                        ))
                    })
                    .collect())
            }
        }
    }

    async fn create(&self, r: &Resolved) -> Result<Live> {
        match r.kind.as_str() {
            LB => self.create_lb(r).await,
            TG => self.create_tg(r).await,
            LISTENER => self.create_listener(r).await,
            _ => self.create_rule(r).await,
        }
        .with_context(|| format!("creating {}", r.address))
    }

    async fn update(&self, r: &Resolved, live: &Live, changed: &[String]) -> Result<Live> {
        let arn = live.id.as_str();
        let mut attributes = false;
        let mut modify = false;
        for field in changed {
            let f = field.as_str();
            let done = match (r.kind.as_str(), f) {
                (_, "tags") => sync_tags(&self.client, arn, &r.tags, &live.tags).await,
                (LB, "subnets") => self
                    .client
                    .set_subnets()
                    .load_balancer_arn(arn)
                    .set_subnets(Some(r.props.strs("subnets")))
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| sdk_error("SetSubnets", e)),
                (LB, "security_groups") => self
                    .client
                    .set_security_groups()
                    .load_balancer_arn(arn)
                    .set_security_groups(Some(r.props.strs("security_groups")))
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| sdk_error("SetSecurityGroups", e)),
                (LB, "drop_invalid_header_fields" | "deletion_protection" | "idle_timeout") => {
                    if attributes {
                        Ok(())
                    } else {
                        attributes = true;
                        self.lb_attributes(arn, &r.props).await
                    }
                }
                (TG, "health_check") => self.modify_health_check(arn, &r.props).await,
                (TG, "deregistration_delay") => self.tg_attributes(arn, &r.props).await,
                (
                    LISTENER,
                    "port" | "protocol" | "certificate" | "ssl_policy" | "default_action"
                    | "target_group",
                ) => {
                    if modify {
                        Ok(())
                    } else {
                        modify = true;
                        self.modify_listener(arn, &r.props).await
                    }
                }
                (RULE, "priority") => self
                    .client
                    .set_rule_priorities()
                    .rule_priorities(
                        RulePriorityPair::builder()
                            .rule_arn(arn)
                            .priority(r.props.int("priority").unwrap_or_default() as i32)
                            .build(),
                    )
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| sdk_error("SetRulePriorities", e)),
                (RULE, "host_headers" | "path_patterns" | "target_group") => {
                    if modify {
                        Ok(())
                    } else {
                        modify = true;
                        self.client
                            .modify_rule()
                            .rule_arn(arn)
                            .set_conditions(Some(conditions(&r.props)))
                            .actions(forward(r.props.str("target_group").unwrap_or_default()))
                            .send()
                            .await
                            .map(drop)
                            .map_err(|e| sdk_error("ModifyRule", e))
                    }
                }
                (kind, other) => Err(unhandled(kind, other)),
            };
            done.with_context(|| format!("updating {} ({field})", r.address))?;
        }
        let mut out = live.clone();
        out.address = r.address.clone();
        out.props = r.props.clone();
        out.tags = r.tags.clone();
        Ok(out)
    }

    async fn delete(&self, live: &Live) -> Result<()> {
        let arn = live.id.as_str();
        let done = match live.kind.as_str() {
            LB => self.delete_lb(arn).await,
            TG => {
                // A target group stays in use for a moment after its listener or load balancer is deleted.
                wait::until(
                    "target group release",
                    crate::kinds::lb_target_group::WAIT,
                    POLL_MAX,
                    || async {
                        match self
                            .client
                            .delete_target_group()
                            .target_group_arn(arn)
                            .send()
                            .await
                        {
                            Ok(_) => Ok(Poll::Ready(())),
                            Err(e) if error_code(&e) == Some("TargetGroupNotFound") => {
                                Ok(Poll::Ready(()))
                            }
                            Err(e) if error_code(&e) == Some("ResourceInUse") => {
                                Ok(Poll::Pending("IN_USE".into()))
                            }
                            Err(e) => Err(sdk_error("DeleteTargetGroup", e)),
                        }
                    },
                )
                .await
            }
            LISTENER => match self.client.delete_listener().listener_arn(arn).send().await {
                Ok(_) => Ok(()),
                Err(e)
                    if matches!(
                        error_code(&e),
                        Some("ListenerNotFound" | "LoadBalancerNotFound")
                    ) =>
                {
                    Ok(())
                }
                Err(e) => Err(sdk_error("DeleteListener", e)),
            },
            _ => match self.client.delete_rule().rule_arn(arn).send().await {
                Ok(_) => Ok(()),
                Err(e) if matches!(error_code(&e), Some("RuleNotFound" | "ListenerNotFound")) => {
                    Ok(())
                }
                Err(e) => Err(sdk_error("DeleteRule", e)),
            },
        };
        done.with_context(|| format!("deleting {} ({})", live.address, live.id))
    }
}

/// The stack's listeners and listener rules, with the tags of each.
struct Children {
    listeners: Vec<Listener>,
    rules: Vec<(String, Rule)>,
    tags: BTreeMap<String, Tags>,
}

/// The address `arn`'s tags claim for `stack`.
fn owner(stack: &str, tags: &BTreeMap<String, Tags>, arn: &str) -> Option<String> {
    owned_address(
        stack,
        tags.get(arn)?.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    )
}

fn strs(v: &[String]) -> Value {
    Value::List(v.iter().map(|s| Value::Str(s.clone())).collect())
}

fn lower_dns(s: &str) -> String {
    s.trim_end_matches('.').to_ascii_lowercase()
}

impl Elbv2 {
    /// ARN → tags, 20 ARNs per DescribeTags; resources gone meanwhile are left out.
    async fn tags<'a>(
        &self,
        arns: impl Iterator<Item = &'a str>,
    ) -> Result<BTreeMap<String, Tags>> {
        let arns: Vec<String> = arns.map(str::to_owned).collect();
        let outs = try_join_all(arns.chunks(BATCH).map(|batch| async move {
            match self
                .client
                .describe_tags()
                .set_resource_arns(Some(batch.to_vec()))
                .send()
                .await
            {
                Ok(o) => Ok(o.tag_descriptions.unwrap_or_default()),
                // One ARN of the batch is gone: ask one by one.
                Err(e)
                    if error_code(&e).is_some_and(|c| c.ends_with("NotFound"))
                        && batch.len() > 1 =>
                {
                    let each = try_join_all(batch.iter().map(|a| async move {
                        match self.client.describe_tags().resource_arns(a).send().await {
                            Ok(o) => Ok(o.tag_descriptions.unwrap_or_default()),
                            Err(e) if error_code(&e).is_some_and(|c| c.ends_with("NotFound")) => {
                                Ok(vec![])
                            }
                            Err(e) => Err(sdk_error("DescribeTags", e)),
                        }
                    }))
                    .await?;
                    Ok(each.into_iter().flatten().collect())
                }
                Err(e) if error_code(&e).is_some_and(|c| c.ends_with("NotFound")) => Ok(vec![]),
                Err(e) => Err(sdk_error("DescribeTags", e)),
            }
        }))
        .await?;
        Ok(outs
            .into_iter()
            .flatten()
            .filter_map(|d| {
                let arn = d.resource_arn()?.to_owned();
                let tags = user_tags(
                    d.tags()
                        .iter()
                        .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default()))),
                );
                Some((arn, tags))
            })
            .collect())
    }

    /// The named load balancers (all of them with `None`); ones gone meanwhile are left out.
    async fn describe_lbs(&self, arns: Option<Vec<String>>) -> Result<Vec<LoadBalancer>> {
        let batches: Vec<Option<Vec<String>>> = match arns {
            Some(a) if a.is_empty() => return Ok(vec![]),
            Some(a) => a.chunks(BATCH).map(|c| Some(c.to_vec())).collect(),
            None => vec![None],
        };
        let outs = try_join_all(batches.into_iter().map(|batch| async move {
            let res = self
                .client
                .describe_load_balancers()
                .set_load_balancer_arns(batch.clone())
                .into_paginator()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await;
            match res {
                Ok(pages) => Ok(pages
                    .into_iter()
                    .flat_map(|p| p.load_balancers.unwrap_or_default())
                    .collect()),
                Err(e) if error_code(&e) == Some("LoadBalancerNotFound") => {
                    // One of the batch is gone: ask one by one.
                    let each =
                        try_join_all(batch.unwrap_or_default().into_iter().map(|a| async move {
                            match self
                                .client
                                .describe_load_balancers()
                                .load_balancer_arns(a)
                                .send()
                                .await
                            {
                                Ok(o) => Ok(o.load_balancers.unwrap_or_default()),
                                Err(e) if error_code(&e) == Some("LoadBalancerNotFound") => {
                                    Ok(vec![])
                                }
                                Err(e) => Err(sdk_error("DescribeLoadBalancers", e)),
                            }
                        }))
                        .await?;
                    Ok(each.into_iter().flatten().collect::<Vec<_>>())
                }
                Err(e) => Err(sdk_error("DescribeLoadBalancers", e)),
            }
        }))
        .await?;
        Ok(outs.into_iter().flatten().collect())
    }

    async fn describe_tgs(&self, arns: Vec<String>) -> Result<Vec<TargetGroup>> {
        let outs = try_join_all(arns.chunks(BATCH).map(|batch| async move {
            match self
                .client
                .describe_target_groups()
                .set_target_group_arns(Some(batch.to_vec()))
                .send()
                .await
            {
                Ok(o) => Ok(o.target_groups.unwrap_or_default()),
                Err(e) if error_code(&e) == Some("TargetGroupNotFound") => {
                    let each = try_join_all(batch.iter().map(|a| async move {
                        match self
                            .client
                            .describe_target_groups()
                            .target_group_arns(a)
                            .send()
                            .await
                        {
                            Ok(o) => Ok(o.target_groups.unwrap_or_default()),
                            Err(e) if error_code(&e) == Some("TargetGroupNotFound") => Ok(vec![]),
                            Err(e) => Err(sdk_error("DescribeTargetGroups", e)),
                        }
                    }))
                    .await?;
                    Ok(each.into_iter().flatten().collect())
                }
                Err(e) => Err(sdk_error("DescribeTargetGroups", e)),
            }
        }))
        .await?;
        Ok(outs.into_iter().flatten().collect())
    }

    /// ARN → tags: from the stack's tag index where it lists the resource (AWS and moto list load
    /// balancers and target groups), else 20 ARNs per DescribeTags.
    async fn tags_for<'a>(
        &self,
        cx: &ReadCx<'_>,
        arns: impl Iterator<Item = &'a str>,
    ) -> Result<BTreeMap<String, Tags>> {
        let index = cx.index().await?;
        let mut out = BTreeMap::new();
        let mut rest = Vec::new();
        for arn in arns {
            match index.tags(arn) {
                Some(t) => {
                    out.insert(arn.to_owned(), t.clone());
                }
                None => rest.push(arn),
            }
        }
        out.extend(self.tags(rest.into_iter()).await?);
        Ok(out)
    }

    /// Listeners and rules of the stack's load balancers with their tags, read once per run for both
    /// kinds: DescribeListeners per load balancer, DescribeRules per listener, and their tags in
    /// batches of 20.
    async fn stack_children(&self, cx: &ReadCx<'_>) -> Result<Arc<Children>> {
        cx.run
            .once("elbv2:children", || async {
                let mut lbs: Vec<String> = cx
                    .index()
                    .await?
                    .of_kind(LB)
                    .into_iter()
                    .map(|(_, arn)| arn)
                    .collect();
                lbs.sort();
                lbs.dedup();
                let listeners = self.listeners_of(&lbs).await?;
                let rules = try_join_all(
                    listeners
                        .iter()
                        .filter_map(|l| l.listener_arn())
                        .map(|arn| self.describe_rules(arn)),
                )
                .await?;
                let rules: Vec<(String, Rule)> = rules.into_iter().flatten().collect();
                let tags = self
                    .tags_for(
                        cx,
                        listeners
                            .iter()
                            .filter_map(|l| l.listener_arn())
                            .chain(rules.iter().filter_map(|(_, r)| r.rule_arn())),
                    )
                    .await?;
                Ok(Children {
                    listeners,
                    rules,
                    tags,
                })
            })
            .await
    }

    /// Listeners of the given load balancers; ones gone meanwhile have none.
    async fn listeners_of(&self, lbs: &[String]) -> Result<Vec<Listener>> {
        let per_lb = try_join_all(lbs.iter().map(|lb| async move {
            match self
                .client
                .describe_listeners()
                .load_balancer_arn(lb)
                .into_paginator()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
            {
                Ok(pages) => Ok(pages
                    .into_iter()
                    .flat_map(|p| p.listeners.unwrap_or_default())
                    .collect()),
                Err(e) if error_code(&e) == Some("LoadBalancerNotFound") => Ok(vec![]),
                Err(e) => Err(sdk_error("DescribeListeners", e)),
            }
        }))
        .await?;
        Ok(per_lb.into_iter().flatten().collect::<Vec<Listener>>())
    }

    /// (listener ARN, rule) for the listener's rules, the default rule left out.
    async fn describe_rules(&self, listener: &str) -> Result<Vec<(String, Rule)>> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = match self
                .client
                .describe_rules()
                .listener_arn(listener)
                .set_marker(marker.take())
                .send()
                .await
            {
                Ok(p) => p,
                Err(e) if error_code(&e) == Some("ListenerNotFound") => return Ok(out),
                Err(e) => return Err(sdk_error("DescribeRules", e)),
            };
            out.extend(
                page.rules()
                    .iter()
                    .filter(|r| !r.is_default().unwrap_or(false) && r.priority() != Some("default"))
                    .map(|r| (listener.to_owned(), r.clone())),
            );
            match page.next_marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_owned()),
                _ => return Ok(out),
            }
        }
    }

    async fn read_lb(
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
        for (field, key) in [
            (
                "drop_invalid_header_fields",
                "routing.http.drop_invalid_header_fields.enabled",
            ),
            ("deletion_protection", "deletion_protection.enabled"),
        ] {
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

    async fn read_tg(
        &self,
        address: String,
        t: &TargetGroup,
        tags: &BTreeMap<String, Tags>,
    ) -> Result<Option<Live>> {
        let arn = t.target_group_arn().unwrap_or_default();
        let Some(attrs) = absent_if(
            "DescribeTargetGroupAttributes",
            self.client
                .describe_target_group_attributes()
                .target_group_arn(arn)
                .send()
                .await,
            &["TargetGroupNotFound"],
        )?
        else {
            return Ok(None);
        };
        let mut live = Live::new(&address, TG, arn);
        live.outputs.insert("arn".into(), arn.to_owned());
        let p = &mut live.props;
        p.insert(
            "name".into(),
            Value::Str(t.target_group_name().unwrap_or_default().into()),
        );
        if let Some(v) = t.vpc_id() {
            p.insert("vpc".into(), Value::Str(v.into()));
        }
        if let Some(v) = t.target_type() {
            p.insert("target_type".into(), Value::Str(v.as_str().into()));
        }
        if let Some(v) = t.protocol() {
            p.insert("protocol".into(), Value::Str(v.as_str().into()));
        }
        if let Some(v) = t.port() {
            p.insert("port".into(), Value::Int(v.into()));
        }
        let int = |v: Option<i32>| v.map_or(Value::Null, |v| Value::Int(v.into()));
        p.insert(
            "health_check".into(),
            Value::Map(BTreeMap::from([
                (
                    "path".to_owned(),
                    Value::Str(t.health_check_path().unwrap_or_default().into()),
                ),
                (
                    "matcher".to_owned(),
                    Value::Str(
                        t.matcher()
                            .and_then(|m| m.http_code())
                            .unwrap_or_default()
                            .into(),
                    ),
                ),
                (
                    "interval_seconds".to_owned(),
                    int(t.health_check_interval_seconds()),
                ),
                (
                    "timeout_seconds".to_owned(),
                    int(t.health_check_timeout_seconds()),
                ),
                (
                    "healthy_threshold".to_owned(),
                    int(t.healthy_threshold_count()),
                ),
                (
                    "unhealthy_threshold".to_owned(),
                    int(t.unhealthy_threshold_count()),
                ),
            ])),
        );
        if let Some(v) = attrs
            .attributes()
            .iter()
            .find(|a| a.key() == Some("deregistration_delay.timeout_seconds"))
            .and_then(|a| a.value()?.parse().ok())
        {
            p.insert("deregistration_delay".into(), Value::Int(v));
        }
        live.tags = tags.get(arn).cloned().unwrap_or_default();
        Ok(Some(live))
    }

    async fn create_lb(&self, r: &Resolved) -> Result<Live> {
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

    async fn lb_attributes(&self, arn: &str, p: &Props) -> Result<()> {
        let mut attrs = Vec::new();
        for (field, key) in [
            (
                "drop_invalid_header_fields",
                "routing.http.drop_invalid_header_fields.enabled",
            ),
            ("deletion_protection", "deletion_protection.enabled"),
        ] {
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
    async fn delete_lb(&self, arn: &str) -> Result<()> {
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

    async fn create_tg(&self, r: &Resolved) -> Result<Live> {
        let p = &r.props;
        let hc = p.get("health_check").and_then(Value::as_map);
        let hint = |k: &str| {
            hc.and_then(|m| m.get(k))
                .and_then(Value::as_int)
                .map(|v| v as i32)
        };
        let hstr = |k: &str| {
            hc.and_then(|m| m.get(k))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        // CreateTargetGroup is idempotent for the same name and settings.
        let out = self
            .client
            .create_target_group()
            .name(p.str("name").context("`name` is required")?)
            .target_type(TargetTypeEnum::from(p.str("target_type").unwrap_or("ip")))
            .protocol(ProtocolEnum::from(p.str("protocol").unwrap_or("HTTP")))
            .set_port(p.int("port").map(|v| v as i32))
            .set_vpc_id(p.str("vpc").map(str::to_owned))
            .set_health_check_path(hstr("path"))
            .set_matcher(hstr("matcher").map(|m| Matcher::builder().http_code(m).build()))
            .set_health_check_interval_seconds(hint("interval_seconds"))
            .set_health_check_timeout_seconds(hint("timeout_seconds"))
            .set_healthy_threshold_count(hint("healthy_threshold"))
            .set_unhealthy_threshold_count(hint("unhealthy_threshold"))
            .set_tags(Some(tags(&r.tags)))
            .send()
            .await
            .map_err(|e| sdk_error("CreateTargetGroup", e))?;
        let arn = out
            .target_groups()
            .first()
            .and_then(|t| t.target_group_arn())
            .context("CreateTargetGroup returned nothing")?
            .to_owned();
        self.tg_attributes(&arn, p).await?;
        let mut live = Live::new(&r.address, TG, &arn);
        live.outputs.insert("arn".into(), arn);
        live.props = p.clone();
        live.tags = r.tags.clone();
        Ok(live)
    }

    async fn tg_attributes(&self, arn: &str, p: &Props) -> Result<()> {
        let Some(d) = p.int("deregistration_delay") else {
            return Ok(());
        };
        self.client
            .modify_target_group_attributes()
            .target_group_arn(arn)
            .attributes(
                TargetGroupAttribute::builder()
                    .key("deregistration_delay.timeout_seconds")
                    .value(d.to_string())
                    .build(),
            )
            .send()
            .await
            .map_err(|e| sdk_error("ModifyTargetGroupAttributes", e))?;
        Ok(())
    }

    async fn modify_health_check(&self, arn: &str, p: &Props) -> Result<()> {
        let Some(hc) = p.get("health_check").and_then(Value::as_map) else {
            return Ok(());
        };
        let hint = |k: &str| hc.get(k).and_then(Value::as_int).map(|v| v as i32);
        let hstr = |k: &str| hc.get(k).and_then(Value::as_str).map(str::to_owned);
        self.client
            .modify_target_group()
            .target_group_arn(arn)
            .set_health_check_path(hstr("path"))
            .set_matcher(hstr("matcher").map(|m| Matcher::builder().http_code(m).build()))
            .set_health_check_interval_seconds(hint("interval_seconds"))
            .set_health_check_timeout_seconds(hint("timeout_seconds"))
            .set_healthy_threshold_count(hint("healthy_threshold"))
            .set_unhealthy_threshold_count(hint("unhealthy_threshold"))
            .send()
            .await
            .map_err(|e| sdk_error("ModifyTargetGroup", e))?;
        Ok(())
    }

    async fn create_listener(&self, r: &Resolved) -> Result<Live> {
        let p = &r.props;
        let https = p.str("protocol") == Some("HTTPS");
        let out = self
            .client
            .create_listener()
            .load_balancer_arn(
                p.str("load_balancer")
                    .context("`load_balancer` is required")?,
            )
            .set_port(p.int("port").map(|v| v as i32))
            .protocol(ProtocolEnum::from(p.str("protocol").unwrap_or("HTTPS")))
            .set_ssl_policy(
                https.then(|| p.str("ssl_policy").unwrap_or(DEFAULT_SSL_POLICY).to_owned()),
            )
            .set_certificates(
                p.str("certificate")
                    .filter(|_| https)
                    .map(|c| vec![Certificate::builder().certificate_arn(c).build()]),
            )
            .default_actions(default_action(p)?)
            .set_tags(Some(tags(&r.tags)))
            .send()
            .await
            .map_err(|e| sdk_error("CreateListener", e))?;
        let arn = out
            .listeners()
            .first()
            .and_then(|l| l.listener_arn())
            .context("CreateListener returned nothing")?
            .to_owned();
        let mut live = Live::new(&r.address, LISTENER, &arn);
        live.outputs.insert("arn".into(), arn);
        live.props = p.clone();
        live.tags = r.tags.clone();
        Ok(live)
    }

    async fn modify_listener(&self, arn: &str, p: &Props) -> Result<()> {
        let https = p.str("protocol") == Some("HTTPS");
        self.client
            .modify_listener()
            .listener_arn(arn)
            .set_port(p.int("port").map(|v| v as i32))
            .set_protocol(p.str("protocol").map(ProtocolEnum::from))
            .set_ssl_policy(
                https.then(|| p.str("ssl_policy").unwrap_or(DEFAULT_SSL_POLICY).to_owned()),
            )
            .set_certificates(
                p.str("certificate")
                    .filter(|_| https)
                    .map(|c| vec![Certificate::builder().certificate_arn(c).build()]),
            )
            .default_actions(default_action(p)?)
            .send()
            .await
            .map_err(|e| sdk_error("ModifyListener", e))?;
        Ok(())
    }

    async fn create_rule(&self, r: &Resolved) -> Result<Live> {
        let p = &r.props;
        let out = self
            .client
            .create_rule()
            .listener_arn(p.str("listener").context("`listener` is required")?)
            .priority(p.int("priority").context("`priority` is required")? as i32)
            .set_conditions(Some(conditions(p)))
            .actions(forward(
                p.str("target_group")
                    .context("`target_group` is required")?,
            ))
            .set_tags(Some(tags(&r.tags)))
            .send()
            .await
            .map_err(|e| sdk_error("CreateRule", e))?;
        let arn = out
            .rules()
            .first()
            .and_then(|x| x.rule_arn())
            .context("CreateRule returned nothing")?
            .to_owned();
        let mut live = Live::new(&r.address, RULE, &arn);
        live.outputs.insert("arn".into(), arn);
        live.props = p.clone();
        live.tags = r.tags.clone();
        Ok(live)
    }
}

fn tags(t: &Tags) -> Vec<Tag> {
    t.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn lb_outputs(live: &mut Live, l: &LoadBalancer) {
    let dns = lower_dns(l.dns_name().unwrap_or_default());
    let zone = l.canonical_hosted_zone_id().unwrap_or_default().to_owned();
    live.outputs.insert("arn".into(), live.id.clone());
    live.outputs
        .insert("alias_target".into(), format!("{zone}/{dns}"));
    live.outputs.insert("dns_name".into(), dns);
    live.outputs.insert("zone_id".into(), zone);
}

/// 301 to HTTPS on 443, keeping host, path and query.
fn redirect_https() -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::Redirect)
        .redirect_config(
            RedirectActionConfig::builder()
                .protocol("HTTPS")
                .port("443")
                .host("#{host}")
                .path("/#{path}")
                .query("#{query}")
                .status_code(RedirectActionStatusCodeEnum::Http301)
                .build(),
        )
        .build()
}

fn forward(tg: &str) -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .target_group_arn(tg)
        .build()
}

fn default_action(p: &Props) -> Result<Action> {
    match p.str("default_action") {
        Some("redirect-https") => Ok(redirect_https()),
        Some("forward") => Ok(forward(
            p.str("target_group")
                .context("`forward` needs `target_group`")?,
        )),
        _ => Ok(Action::builder()
            .r#type(ActionTypeEnum::FixedResponse)
            .fixed_response_config(
                FixedResponseActionConfig::builder()
                    .status_code("404")
                    .content_type("text/plain")
                    .message_body("Not Found")
                    .build(),
            )
            .build()),
    }
}

/// An action as the schema names it; anything else shows as itself, so a change made by hand is drift.
fn action_name(a: &Action) -> String {
    let Some(ty) = a.r#type() else {
        return "none".into();
    };
    match ty {
        ActionTypeEnum::Redirect => {
            let r = a.redirect_config();
            let ok = r.is_some_and(|r| {
                r.protocol() == Some("HTTPS")
                    && r.port() == Some("443")
                    && r.status_code() == Some(&RedirectActionStatusCodeEnum::Http301)
                    && r.host().is_none_or(|h| h == "#{host}")
                    && r.path().is_none_or(|h| h == "/#{path}")
                    && r.query().is_none_or(|h| h == "#{query}")
            });
            if ok {
                "redirect-https".into()
            } else {
                "redirect (other)".into()
            }
        }
        ActionTypeEnum::Forward => "forward".into(),
        ActionTypeEnum::FixedResponse => {
            let ok = a
                .fixed_response_config()
                .is_some_and(|f| f.status_code() == Some("404"));
            if ok {
                "fixed-response".into()
            } else {
                "fixed-response (other)".into()
            }
        }
        other => other.as_str().to_owned(),
    }
}

/// The target group a forward action sends to (directly or as its only weighted group).
fn forward_target(a: &Action) -> Option<String> {
    a.target_group_arn().map(str::to_owned).or_else(|| {
        let groups = a.forward_config()?.target_groups();
        (groups.len() == 1)
            .then(|| groups[0].target_group_arn().map(str::to_owned))
            .flatten()
    })
}

fn read_listener(address: String, l: &Listener, tags: &BTreeMap<String, Tags>) -> Live {
    let arn = l.listener_arn().unwrap_or_default();
    let mut live = Live::new(&address, LISTENER, arn);
    live.outputs.insert("arn".into(), arn.to_owned());
    let p = &mut live.props;
    p.insert(
        "load_balancer".into(),
        Value::Str(l.load_balancer_arn().unwrap_or_default().into()),
    );
    if let Some(v) = l.port() {
        p.insert("port".into(), Value::Int(v.into()));
    }
    let https = l.protocol() == Some(&ProtocolEnum::Https);
    if let Some(v) = l.protocol() {
        p.insert("protocol".into(), Value::Str(v.as_str().into()));
    }
    if https {
        if let Some(c) = l.certificates().first().and_then(|c| c.certificate_arn()) {
            p.insert("certificate".into(), Value::Str(c.into()));
        }
        if let Some(s) = l.ssl_policy() {
            p.insert("ssl_policy".into(), Value::Str(s.into()));
        }
    } else {
        // HTTP listeners have no TLS policy; the field reads as its default (validation forbids setting it).
        p.insert("ssl_policy".into(), Value::Str(DEFAULT_SSL_POLICY.into()));
    }
    if let [a] = l.default_actions() {
        p.insert("default_action".into(), Value::Str(action_name(a)));
        if let Some(tg) = forward_target(a) {
            p.insert("target_group".into(), Value::Str(tg));
        }
    } else {
        p.insert(
            "default_action".into(),
            Value::Str(format!("{} actions", l.default_actions().len())),
        );
    }
    live.tags = tags.get(arn).cloned().unwrap_or_default();
    live
}

fn conditions(p: &Props) -> Vec<RuleCondition> {
    let mut out = Vec::new();
    let hosts = p.strs("host_headers");
    if !hosts.is_empty() {
        out.push(
            RuleCondition::builder()
                .field("host-header")
                .host_header_config(
                    HostHeaderConditionConfig::builder()
                        .set_values(Some(hosts))
                        .build(),
                )
                .build(),
        );
    }
    let paths = p.strs("path_patterns");
    if !paths.is_empty() {
        out.push(
            RuleCondition::builder()
                .field("path-pattern")
                .path_pattern_config(
                    PathPatternConditionConfig::builder()
                        .set_values(Some(paths))
                        .build(),
                )
                .build(),
        );
    }
    out
}

fn read_rule(address: String, listener: &str, r: &Rule, tags: &BTreeMap<String, Tags>) -> Live {
    let arn = r.rule_arn().unwrap_or_default();
    let mut live = Live::new(&address, RULE, arn);
    live.outputs.insert("arn".into(), arn.to_owned());
    let p = &mut live.props;
    p.insert("listener".into(), Value::Str(listener.into()));
    if let Some(v) = r.priority().and_then(|v| v.parse::<i64>().ok()) {
        p.insert("priority".into(), Value::Int(v));
    }
    let mut hosts = Vec::new();
    let mut paths = Vec::new();
    for c in r.conditions() {
        let values: Vec<String> = match c.field() {
            Some("host-header") => c.host_header_config().map(|h| h.values().to_vec()),
            Some("path-pattern") => c.path_pattern_config().map(|h| h.values().to_vec()),
            _ => None,
        }
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| c.values().to_vec());
        match c.field() {
            Some("host-header") => hosts.extend(values),
            Some("path-pattern") => paths.extend(values),
            // Other conditions, added by hand, show as drift in the hosts.
            Some(other) => hosts.push(format!("({other} condition)")),
            None => {}
        }
    }
    p.insert("host_headers".into(), strs(&hosts));
    p.insert("path_patterns".into(), strs(&paths));
    if let [a] = r.actions()
        && a.r#type() == Some(&ActionTypeEnum::Forward)
        && let Some(tg) = forward_target(a)
    {
        p.insert("target_group".into(), Value::Str(tg));
    }
    live.tags = tags.get(arn).cloned().unwrap_or_default();
    live
}

#[async_trait]
impl TagApi for Client {
    async fn tag(&self, id: &str, set: Vec<(&str, &str)>) -> Result<()> {
        self.add_tags()
            .resource_arns(id)
            .set_tags(Some(
                set.into_iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect(),
            ))
            .send()
            .await
            .map_err(|e| sdk_error("AddTags", e))?;
        Ok(())
    }

    async fn untag(&self, id: &str, keys: Vec<String>, _have: &Tags) -> Result<()> {
        self.remove_tags()
            .resource_arns(id)
            .set_tag_keys(Some(keys))
            .send()
            .await
            .map_err(|e| sdk_error("RemoveTags", e))?;
        Ok(())
    }
}
