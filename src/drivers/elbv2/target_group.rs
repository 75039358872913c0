//! Target groups: `ip` targets, health checks, attributes.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use aws_sdk_elasticloadbalancingv2::types::{
    Matcher, ProtocolEnum, TargetGroup, TargetGroupAttribute, TargetTypeEnum,
};

use crate::drivers::toolkit::{absent_if, sdk_error};
use crate::model::{Live, Props, PropsExt, Resolved, Tags, Value};

use super::common::*;

impl Elbv2 {
    pub(super) async fn read_tg(
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
}

impl Elbv2 {
    pub(super) async fn create_tg(&self, r: &Resolved) -> Result<Live> {
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

    pub(super) async fn tg_attributes(&self, arn: &str, p: &Props) -> Result<()> {
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

    pub(super) async fn modify_health_check(&self, arn: &str, p: &Props) -> Result<()> {
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
}
