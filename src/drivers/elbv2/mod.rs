//! Application Load Balancers: load balancers, target groups, listeners and listener rules.
//!
//! Load balancers and target groups come from the tag index, with their tags. Listeners and rules are
//! tagged too, but the tagging API does not list them everywhere, so they are found from their parents
//! (the stack's load balancers in the index, their listeners, the listeners' rules), once per run for
//! both kinds, and their tags read in batches of 20 ARNs.

mod common;
mod lb;
mod listener;
mod rule;
mod target_group;

pub use common::Elbv2;

use anyhow::{Context, Result};
use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{LoadBalancer, RulePriorityPair, TargetGroup};
use futures::future::try_join_all;

use crate::drivers::toolkit::{
    Driver, ReadCx, Undeclared, delete_step, error_code, sdk_error, sync_tags, unhandled,
};
use crate::model::{Live, PropsExt, Resolved};
use crate::wait::{self};
use common::*;
use listener::*;
use rule::*;

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
                        let res = self
                            .client
                            .delete_target_group()
                            .target_group_arn(arn)
                            .send()
                            .await;
                        delete_step(
                            "DeleteTargetGroup",
                            res,
                            "TargetGroupNotFound",
                            "ResourceInUse",
                        )
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
