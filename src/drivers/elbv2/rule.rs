//! Listener rules: host and path conditions forwarding to a target group.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use aws_sdk_elasticloadbalancingv2::types::{
    ActionTypeEnum, HostHeaderConditionConfig, PathPatternConditionConfig, Rule, RuleCondition,
};

use crate::drivers::toolkit::sdk_error;
use crate::model::{Live, Props, PropsExt, Resolved, Tags, Value};

use super::common::*;

impl Elbv2 {
    pub(super) async fn create_rule(&self, r: &Resolved) -> Result<Live> {
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

pub(super) fn conditions(p: &Props) -> Vec<RuleCondition> {
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

pub(super) fn read_rule(
    address: String,
    listener: &str,
    r: &Rule,
    tags: &BTreeMap<String, Tags>,
) -> Live {
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
