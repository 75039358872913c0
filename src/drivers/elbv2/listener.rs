//! Listeners: HTTP redirects to HTTPS, HTTPS forwards with a modern TLS policy.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, FixedResponseActionConfig, Listener, ProtocolEnum,
    RedirectActionConfig, RedirectActionStatusCodeEnum,
};

use crate::drivers::toolkit::sdk_error;
use crate::kinds::lb_listener::DEFAULT_SSL_POLICY;
use crate::model::{Live, Props, PropsExt, Resolved, Tags, Value};

use super::common::*;

impl Elbv2 {
    pub(super) async fn create_listener(&self, r: &Resolved) -> Result<Live> {
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

    pub(super) async fn modify_listener(&self, arn: &str, p: &Props) -> Result<()> {
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
}

/// 301 to HTTPS on 443, keeping host, path and query.
pub(super) fn redirect_https() -> Action {
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

pub(super) fn default_action(p: &Props) -> Result<Action> {
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
pub(super) fn action_name(a: &Action) -> String {
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

pub(super) fn read_listener(address: String, l: &Listener, tags: &BTreeMap<String, Tags>) -> Live {
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
