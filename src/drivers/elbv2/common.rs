//! What the elbv2 driver's resource kinds share: the client, constants, tags.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Listener, LoadBalancer, Rule, Tag, TargetGroup,
};
use futures::future::try_join_all;

use crate::drivers::toolkit::{ReadCx, error_code, owned_address, sdk_error, user_tags};
use crate::model::{Tags, Value};

pub(super) const LB: &str = "lb";
pub(super) const TG: &str = "lb_target_group";
pub(super) const LISTENER: &str = "lb_listener";
pub(super) const RULE: &str = "lb_listener_rule";
/// DescribeTags, DescribeLoadBalancers and DescribeTargetGroups take at most 20 ARNs.
pub(super) const BATCH: usize = 20;
pub(super) const LB_TIMEOUT: Duration = crate::kinds::lb::WAIT;
pub(super) const POLL_MAX: Duration = Duration::from_secs(10);

pub struct Elbv2 {
    pub(super) client: Client,
}

impl Elbv2 {
    pub fn new(client: Client) -> Elbv2 {
        Elbv2 { client }
    }
}

/// The stack's listeners and listener rules, with the tags of each.
pub(super) struct Children {
    pub(super) listeners: Vec<Listener>,
    pub(super) rules: Vec<(String, Rule)>,
    pub(super) tags: BTreeMap<String, Tags>,
}

/// The address `arn`'s tags claim for `stack`.
pub(super) fn owner(stack: &str, tags: &BTreeMap<String, Tags>, arn: &str) -> Option<String> {
    owned_address(
        stack,
        tags.get(arn)?.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    )
}

pub(super) fn strs(v: &[String]) -> Value {
    Value::List(v.iter().map(|s| Value::Str(s.clone())).collect())
}

pub(super) fn lower_dns(s: &str) -> String {
    s.trim_end_matches('.').to_ascii_lowercase()
}

impl Elbv2 {
    /// ARN → tags, 20 ARNs per DescribeTags; resources gone meanwhile are left out.
    pub(super) async fn tags<'a>(
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
    pub(super) async fn describe_lbs(
        &self,
        arns: Option<Vec<String>>,
    ) -> Result<Vec<LoadBalancer>> {
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

    pub(super) async fn describe_tgs(&self, arns: Vec<String>) -> Result<Vec<TargetGroup>> {
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
    pub(super) async fn tags_for<'a>(
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
    pub(super) async fn stack_children(&self, cx: &ReadCx<'_>) -> Result<Arc<Children>> {
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
    pub(super) async fn listeners_of(&self, lbs: &[String]) -> Result<Vec<Listener>> {
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
    pub(super) async fn describe_rules(&self, listener: &str) -> Result<Vec<(String, Rule)>> {
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
}

pub(super) fn tags(t: &Tags) -> Vec<Tag> {
    t.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}
/// Tags as the service takes them.
fn elb_tags(set: Vec<(&str, &str)>) -> Result<Vec<Tag>> {
    Ok(set
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect())
}

crate::tag_resource_api!(
    Client,
    add_tags "AddTags",
    remove_tags "RemoveTags",
    resource_arns,
    elb_tags
);

pub(super) fn forward(tg: &str) -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .target_group_arn(tg)
        .build()
}

/// The target group a forward action sends to (directly or as its only weighted group).
pub(super) fn forward_target(a: &Action) -> Option<String> {
    a.target_group_arn().map(str::to_owned).or_else(|| {
        let groups = a.forward_config()?.target_groups();
        (groups.len() == 1)
            .then(|| groups[0].target_group_arn().map(str::to_owned))
            .flatten()
    })
}
