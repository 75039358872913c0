//! CloudFront origin access controls and distributions. CloudFront is global: its API and its entries
//! in the tagging API answer in us-east-1 whatever the stack's region. Distribution updates send the
//! ETag the last read returned (IfMatch); deletion disables, waits until deployed, then deletes.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use async_trait::async_trait;
use aws_sdk_cloudfront::Client;
use aws_sdk_cloudfront::types::{
    Aliases, AllowedMethods, CacheBehavior, CacheBehaviors, CachedMethods, CustomOriginConfig,
    DefaultCacheBehavior, Distribution, DistributionConfig, DistributionConfigWithTags, Method,
    MinimumProtocolVersion, OriginAccessControlConfig, OriginAccessControlOriginTypes,
    OriginAccessControlSigningBehaviors, OriginAccessControlSigningProtocols,
    OriginAccessControlSummary, OriginProtocolPolicy, OriginSslProtocols, Origins, PriceClass,
    S3OriginConfig, SslProtocol, SslSupportMethod, Tag, TagKeys, Tags, ViewerCertificate,
    ViewerProtocolPolicy,
};
use futures::future::try_join_all;

use super::toolkit::{Driver, ReadCx, TagApi, Undeclared, absent_if, sdk_error, sync_tags};
use crate::kinds::cloudfront_distribution::HOSTED_ZONE_ID;
use crate::model::{Live, Props, PropsExt, Resolved, Resource, TAG_STACK, Value};
use crate::wait::{Poll, until};

const OAC: &str = "cloudfront_origin_access_control";
const DISTRIBUTION: &str = "cloudfront_distribution";
/// Origin access controls carry no tags: zinfra writes `zinfra <stack> <address>` as their description.
const OAC_MARK: &str = "zinfra";
/// Real distributions take minutes to deploy; emulators answer at once.
const DEPLOY_TIMEOUT: Duration = crate::kinds::cloudfront_distribution::WAIT;
const DEPLOY_POLL: Duration = Duration::from_secs(30);

pub struct CloudFront {
    client: Client,
}

impl CloudFront {
    pub fn new(client: Client) -> CloudFront {
        CloudFront { client }
    }
}

#[async_trait]
impl Driver for CloudFront {
    fn kinds(&self) -> &'static [&'static str] {
        &[OAC, DISTRIBUTION]
    }

    fn service(&self) -> &'static str {
        "CLOUDFRONT"
    }

    fn undeclared(&self, _kind: &str) -> Undeclared {
        Undeclared::IndexWithUsEast1
    }

    // The stack's regional tagging index does not hold CloudFront: it is read from us-east-1.
    fn uses_tag_index(&self) -> bool {
        false
    }

    async fn read(&self, cx: &ReadCx<'_>) -> Result<Vec<Live>> {
        match cx.kind {
            OAC => Ok(self
                .stack_oacs(cx)
                .await?
                .iter()
                .filter_map(|s| oac_live(cx.stack, s))
                .collect()),
            _ => self.read_distributions(cx).await,
        }
    }

    async fn create(&self, r: &Resolved) -> Result<Live> {
        let res = match r.kind.as_str() {
            OAC => self.create_oac(r).await,
            _ => self.create_distribution(r).await,
        };
        res.with_context(|| format!("creating {}", r.address))
    }

    async fn update(&self, r: &Resolved, live: &Live, changed: &[String]) -> Result<Live> {
        let res = match r.kind.as_str() {
            OAC => self.update_oac(r, live).await,
            _ => self.update_distribution(r, live, changed).await,
        };
        res.with_context(|| format!("updating {}", r.address))
    }

    async fn delete(&self, live: &Live) -> Result<()> {
        let res = match live.kind.as_str() {
            OAC => self.delete_oac(&live.id).await,
            _ => self.delete_distribution(&live.id).await,
        };
        res.with_context(|| format!("deleting {} ({})", live.address, live.id))
    }
}

fn oac_mark(stack: &str, address: &str) -> String {
    format!("{OAC_MARK} {stack} {address}")
}

fn oac_live(stack: &str, s: &OriginAccessControlSummary) -> Option<Live> {
    let mut words = s.description().split(' ');
    let (Some(OAC_MARK), Some(st), Some(address), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return None;
    };
    if st != stack {
        return None;
    }
    let mut live = Live::new(address, OAC, s.id());
    live.props
        .insert("name".into(), Value::Str(s.name().to_owned()));
    live.props.insert(
        "signing_behavior".into(),
        Value::Str(s.signing_behavior().as_str().to_owned()),
    );
    Some(live)
}

fn oac_config(r: &Resolved, stack: &str) -> Result<OriginAccessControlConfig> {
    let name = r.props.str("name").context("`name` is required")?;
    Ok(OriginAccessControlConfig::builder()
        .name(name)
        .description(oac_mark(stack, &r.address))
        .signing_protocol(OriginAccessControlSigningProtocols::Sigv4)
        .signing_behavior(OriginAccessControlSigningBehaviors::Always)
        .origin_access_control_origin_type(OriginAccessControlOriginTypes::S3)
        .build()?)
}

fn stack_of(r: &Resolved) -> &str {
    r.tags
        .get(TAG_STACK)
        .map(String::as_str)
        .unwrap_or_default()
}

impl CloudFront {
    async fn list_oacs(&self) -> Result<Vec<OriginAccessControlSummary>> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .list_origin_access_controls()
                .set_marker(marker.clone())
                .send()
                .await
                .map_err(|e| sdk_error("ListOriginAccessControls", e))?;
            let Some(list) = page.origin_access_control_list() else {
                break;
            };
            out.extend(list.items().iter().cloned());
            match list.next_marker() {
                Some(m) if list.is_truncated() && !m.is_empty() => marker = Some(m.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }

    async fn create_oac(&self, r: &Resolved) -> Result<Live> {
        let stack = stack_of(r);
        // A create whose reply was lost left ours behind: names are unique, so look first.
        if let Some(live) = self
            .list_oacs()
            .await?
            .iter()
            .filter_map(|s| oac_live(stack, s))
            .find(|l| l.address == r.address)
        {
            return self.update_oac(r, &live).await;
        }
        let out = self
            .client
            .create_origin_access_control()
            .origin_access_control_config(oac_config(r, stack)?)
            .send()
            .await
            .map_err(|e| sdk_error("CreateOriginAccessControl", e))?;
        let id = out
            .origin_access_control()
            .map(|o| o.id().to_owned())
            .context("CreateOriginAccessControl returned no id")?;
        Ok(Live::new(&r.address, OAC, id))
    }

    async fn update_oac(&self, r: &Resolved, live: &Live) -> Result<Live> {
        let got = self
            .client
            .get_origin_access_control()
            .id(&live.id)
            .send()
            .await
            .map_err(|e| sdk_error("GetOriginAccessControl", e))?;
        self.client
            .update_origin_access_control()
            .id(&live.id)
            .set_if_match(got.e_tag().map(str::to_owned))
            .origin_access_control_config(oac_config(r, stack_of(r))?)
            .send()
            .await
            .map_err(|e| sdk_error("UpdateOriginAccessControl", e))?;
        Ok(Live::new(&r.address, OAC, &live.id))
    }

    async fn delete_oac(&self, id: &str) -> Result<()> {
        let absent = &["NoSuchOriginAccessControl"];
        let Some(got) = absent_if(
            "GetOriginAccessControl",
            self.client.get_origin_access_control().id(id).send().await,
            absent,
        )?
        else {
            return Ok(());
        };
        absent_if(
            "DeleteOriginAccessControl",
            self.client
                .delete_origin_access_control()
                .id(id)
                .set_if_match(got.e_tag().map(str::to_owned))
                .send()
                .await,
            absent,
        )
        .map(drop)
    }

    /// The account's origin access controls, listed once per run (both kinds need them).
    async fn stack_oacs(
        &self,
        cx: &ReadCx<'_>,
    ) -> Result<std::sync::Arc<Vec<OriginAccessControlSummary>>> {
        cx.run.once("cloudfront:oacs", || self.list_oacs()).await
    }

    async fn read_distributions(&self, cx: &ReadCx<'_>) -> Result<Vec<Live>> {
        // Distributions and their tags, from the stack's tag index in us-east-1.
        let index = cx.global_index().await?;
        let tagged = index.of_kind(DISTRIBUTION);
        let lives = try_join_all(tagged.into_iter().map(|(address, arn)| {
            let index = &index;
            async move {
                let id = arn.rsplit('/').next().unwrap_or_default().to_owned();
                let Some(d) = self.get(&id).await? else {
                    return Ok(None);
                };
                let mut live = distribution_live(&address, &d)?;
                live.tags = index.tags(&arn).cloned().unwrap_or_default();
                Ok::<_, anyhow::Error>(Some(live))
            }
        }))
        .await?;
        let mut lives: Vec<Live> = lives.into_iter().flatten().collect();
        self.fill_dropped_oac_ids(cx, &mut lives).await?;
        for live in &mut lives {
            // CloudFront's own certificate allows TLSv1 whatever the field says: the field does not
            // apply then, and is read as the file gives it rather than shown as a change it cannot make.
            if !live.props.contains_key("certificate")
                && let Some(want) = cx
                    .desired
                    .iter()
                    .find(|r| r.address == live.address)
                    .and_then(|r| r.props.get("minimum_protocol_version"))
            {
                live.props
                    .insert("minimum_protocol_version".into(), want.clone());
            }
        }
        Ok(lives)
    }

    /// moto drops an origin's OAC id (AWS always returns it for an OAC origin): an origin read without
    /// one is taken to have the OAC the file gives it, looked up by address, rather than shown as a change.
    async fn fill_dropped_oac_ids(&self, cx: &ReadCx<'_>, lives: &mut [Live]) -> Result<()> {
        let missing = |l: &Live| {
            l.props.list("origins").iter().any(|o| {
                o.as_map()
                    .and_then(|m| m.get("origin_access_control"))
                    .is_none_or(Value::is_null)
            })
        };
        if !lives.iter().any(missing) {
            return Ok(());
        }
        let oacs: BTreeMap<String, String> = self
            .stack_oacs(cx)
            .await?
            .iter()
            .filter_map(|s| oac_live(cx.stack, s))
            .map(|l| (l.address, l.id))
            .collect();
        for live in lives.iter_mut() {
            let Some(want) = cx.desired.iter().find(|r| r.address == live.address) else {
                continue;
            };
            let Some(Value::List(origins)) = live.props.get_mut("origins") else {
                continue;
            };
            for o in origins.iter_mut() {
                let Value::Map(m) = o else { continue };
                if !m.get("origin_access_control").is_none_or(Value::is_null) {
                    continue;
                }
                let id = m.get("origin_id").cloned();
                if let Some(oac) = desired_oac(want, id.as_ref(), &oacs) {
                    m.insert("origin_access_control".into(), Value::Str(oac));
                }
            }
        }
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<Distribution>> {
        let out = absent_if(
            "GetDistribution",
            self.client.get_distribution().id(id).send().await,
            &["NoSuchDistribution"],
        )?;
        Ok(out.and_then(|o| o.distribution))
    }

    /// Wait until the distribution's changes have reached every edge location.
    async fn deployed(&self, id: &str) -> Result<Distribution> {
        until(
            &format!("distribution {id}"),
            DEPLOY_TIMEOUT,
            DEPLOY_POLL,
            || async {
                let d = self
                    .get(id)
                    .await?
                    .ok_or_else(|| anyhow!("distribution {id} disappeared"))?;
                Ok(if d.status() == "Deployed" {
                    Poll::Ready(d)
                } else {
                    Poll::Pending(d.status().to_owned())
                })
            },
        )
        .await
    }

    async fn create_distribution(&self, r: &Resolved) -> Result<Live> {
        // The caller reference is the same for every try of this create (`client_token`): a request
        // repeated after a lost reply, by the SDK or by a later run, gets the first distribution back.
        // A reference CloudFront still holds for another distribution (one deleted since, or one made
        // from another spec) is refused with DistributionAlreadyExists: then the next reference in the
        // chain, salted with what the refusal names.
        let tags = r
            .tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()?;
        let mut taken = Vec::new();
        let out = loop {
            let mut config = DistributionConfig::builder()
                .caller_reference(format!(
                    "zinfra-{}",
                    super::toolkit::client_token(r, &taken, 48)
                ))
                .comment(format!("{} {}", stack_of(r), r.address))
                .enabled(true)
                .build()?;
            apply_props(&mut config, &r.props)?;
            let sent = self
                .client
                .create_distribution_with_tags()
                .distribution_config_with_tags(
                    DistributionConfigWithTags::builder()
                        .distribution_config(config)
                        .tags(Tags::builder().set_items(Some(tags.clone())).build())
                        .build(),
                )
                .send()
                .await;
            match sent {
                Ok(out) => break out,
                Err(e)
                    if super::toolkit::error_code(&e) == Some("DistributionAlreadyExists")
                        && taken.len() < 3 =>
                {
                    taken.push(
                        aws_sdk_cloudfront::error::ProvideErrorMetadata::message(&e)
                            .unwrap_or("taken")
                            .to_owned(),
                    );
                }
                Err(e) => return Err(sdk_error("CreateDistributionWithTags", e)),
            }
        };
        let d = out
            .distribution
            .context("CreateDistributionWithTags returned no distribution")?;
        let d = self
            .deployed(d.id())
            .await
            .with_context(|| format!("distribution {} was created", d.id()))?;
        let mut live = distribution_live(&r.address, &d)?;
        live.tags = r.tags.clone();
        Ok(live)
    }

    /// GetDistributionConfig, change it, UpdateDistribution with the ETag that read returned.
    async fn put_config(
        &self,
        id: &str,
        change: impl Fn(&mut DistributionConfig) -> Result<()>,
    ) -> Result<()> {
        let got = self
            .client
            .get_distribution_config()
            .id(id)
            .send()
            .await
            .map_err(|e| sdk_error("GetDistributionConfig", e))?;
        let etag = got
            .e_tag()
            .context("GetDistributionConfig returned no ETag")?
            .to_owned();
        let mut config = got
            .distribution_config
            .context("GetDistributionConfig returned no configuration")?;
        change(&mut config)?;
        self.client
            .update_distribution()
            .id(id)
            .if_match(etag)
            .distribution_config(config)
            .send()
            .await
            .map_err(|e| sdk_error("UpdateDistribution", e))?;
        Ok(())
    }

    async fn update_distribution(
        &self,
        r: &Resolved,
        live: &Live,
        changed: &[String],
    ) -> Result<Live> {
        let id = live.id.as_str();
        if changed.iter().any(|f| f != "tags") {
            self.put_config(id, |c| apply_props(c, &r.props)).await?;
        }
        if changed.iter().any(|f| f == "tags") {
            let arn = live
                .outputs
                .get("arn")
                .context("distribution without an ARN")?;
            sync_tags(&self.client, arn, &r.tags, &live.tags).await?;
        }
        // Also picks up a distribution a timed-out apply left deploying.
        let d = self.deployed(id).await?;
        let mut out = distribution_live(&r.address, &d)?;
        out.tags = r.tags.clone();
        Ok(out)
    }

    async fn delete_distribution(&self, id: &str) -> Result<()> {
        let Some(d) = self.get(id).await? else {
            return Ok(());
        };
        // AWS deletes only a disabled, deployed distribution.
        if d.distribution_config().is_none_or(|c| c.enabled()) {
            self.put_config(id, |c| {
                c.enabled = false;
                Ok(())
            })
            .await?;
        }
        self.deployed(id).await?;
        let got = absent_if(
            "GetDistribution",
            self.client.get_distribution().id(id).send().await,
            &["NoSuchDistribution"],
        )?;
        let Some(etag) = got.as_ref().and_then(|g| g.e_tag()) else {
            return Ok(());
        };
        absent_if(
            "DeleteDistribution",
            self.client
                .delete_distribution()
                .id(id)
                .if_match(etag)
                .send()
                .await,
            &["NoSuchDistribution"],
        )
        .map(drop)
    }
}

/// The OAC id the file gives the origin `origin_id`: a literal id, or the id of the OAC it refers to.
fn desired_oac(
    want: &Resource,
    origin_id: Option<&Value>,
    oacs: &BTreeMap<String, String>,
) -> Option<String> {
    let origin = want.props.list("origins").iter().find_map(|o| {
        let m = o.as_map()?;
        (m.get("origin_id") == origin_id).then_some(m)
    })?;
    match origin.get("origin_access_control")? {
        Value::Str(id) => Some(id.clone()),
        Value::Ref(x) => oacs.get(&x.address).cloned(),
        _ => None,
    }
}

/// Write the fields zinfra manages into a distribution's configuration; the rest is kept as AWS has it.
fn apply_props(c: &mut DistributionConfig, p: &Props) -> Result<()> {
    let mut origins = Vec::new();
    let mut alb_origins: Vec<String> = Vec::new();
    let mut first = None;
    for o in p.list("origins") {
        let m = o.as_map().context("an origin is not a table")?;
        let s = |k: &str| m.get(k).and_then(Value::as_str);
        let id = s("origin_id").context("origin without `origin_id`")?;
        first.get_or_insert_with(|| id.to_owned());
        let origin = aws_sdk_cloudfront::types::Origin::builder()
            .id(id)
            .origin_path(s("origin_path").unwrap_or_default());
        let origin = match s("alb_record") {
            // An ALB: by its record's name, over HTTPS only and TLS 1.2, so its certificate matches.
            Some(name) => {
                alb_origins.push(id.to_owned());
                origin.domain_name(name).custom_origin_config(
                    CustomOriginConfig::builder()
                        .http_port(80)
                        .https_port(443)
                        .origin_protocol_policy(OriginProtocolPolicy::HttpsOnly)
                        .origin_ssl_protocols(
                            OriginSslProtocols::builder()
                                .quantity(1)
                                .items(SslProtocol::TlSv12)
                                .build()?,
                        )
                        .origin_read_timeout(30)
                        .origin_keepalive_timeout(5)
                        .build()?,
                )
            }
            None => origin
                .domain_name(s("bucket").context("origin without `bucket`")?)
                // An OAC origin keeps an empty origin access identity.
                .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
                .origin_access_control_id(
                    s("origin_access_control").context("origin without `origin_access_control`")?,
                ),
        };
        origins.push(origin.build()?);
    }
    let target = p
        .str("default_origin")
        .map(str::to_owned)
        .or(first)
        .context("a distribution needs an origin")?;
    c.origins = Some(
        Origins::builder()
            .quantity(origins.len() as i32)
            .set_items(Some(origins))
            .build()?,
    );
    let aliases = p.strs("aliases");
    c.aliases = Some(
        Aliases::builder()
            .quantity(aliases.len() as i32)
            .set_items(Some(aliases))
            .build()?,
    );
    c.default_root_object = Some(p.str("default_root_object").unwrap_or_default().to_owned());
    c.price_class = p.str("price_class").map(PriceClass::from);
    c.enabled = p.bool_or("enabled", true);
    // The web ACL is removed when the file gives none: AWS takes an empty id for that.
    c.web_acl_id = Some(p.str("web_acl").unwrap_or_default().to_owned());
    c.viewer_certificate = Some(match p.str("certificate") {
        Some(arn) => ViewerCertificate::builder()
            .cloud_front_default_certificate(false)
            .acm_certificate_arn(arn)
            .ssl_support_method(SslSupportMethod::SniOnly)
            .minimum_protocol_version(MinimumProtocolVersion::from(
                p.str("minimum_protocol_version").unwrap_or("TLSv1.2_2021"),
            ))
            .build(),
        // CloudFront's own *.cloudfront.net certificate always allows TLSv1: ask for nothing else.
        None => ViewerCertificate::builder()
            .cloud_front_default_certificate(true)
            .minimum_protocol_version(MinimumProtocolVersion::from("TLSv1"))
            .build(),
    });
    let mut behavior = c.default_cache_behavior.take().map(|b| {
        DefaultCacheBehavior::builder()
            .set_allowed_methods(b.allowed_methods)
            .set_function_associations(b.function_associations)
            .set_lambda_function_associations(b.lambda_function_associations)
            .set_response_headers_policy_id(b.response_headers_policy_id)
            .set_origin_request_policy_id(b.origin_request_policy_id)
    });
    let b = behavior
        .take()
        .unwrap_or_else(DefaultCacheBehavior::builder)
        .target_origin_id(target)
        .viewer_protocol_policy(ViewerProtocolPolicy::from(
            p.str("viewer_protocol_policy")
                .unwrap_or("redirect-to-https"),
        ))
        .compress(p.bool_or("compress", true))
        .set_cache_policy_id(p.str("cache_policy_id").map(str::to_owned))
        .build()?;
    c.default_cache_behavior = Some(b);
    // Path behaviours, in the file's order: an ALB origin's answers are not cached and it gets every
    // viewer header but Host; an S3 origin's are cached like the default behaviour's.
    let viewer = ViewerProtocolPolicy::from(
        p.str("viewer_protocol_policy")
            .unwrap_or("redirect-to-https"),
    );
    let mut behaviors = Vec::new();
    for b in p.list("behaviors") {
        let m = b.as_map().context("a behaviour is not a table")?;
        let s = |k: &str| m.get(k).and_then(Value::as_str);
        let origin = s("origin").context("behaviour without `origin`")?;
        let api = alb_origins.iter().any(|o| o == origin);
        let methods: &[Method] = if api {
            &[
                Method::Get,
                Method::Head,
                Method::Options,
                Method::Put,
                Method::Post,
                Method::Patch,
                Method::Delete,
            ]
        } else {
            &[Method::Get, Method::Head]
        };
        let cached = CachedMethods::builder()
            .quantity(2)
            .items(Method::Get)
            .items(Method::Head)
            .build()?;
        behaviors.push(
            CacheBehavior::builder()
                .path_pattern(s("path_pattern").context("behaviour without `path_pattern`")?)
                .target_origin_id(origin)
                .viewer_protocol_policy(viewer.clone())
                .compress(p.bool_or("compress", true))
                .allowed_methods(
                    AllowedMethods::builder()
                        .quantity(methods.len() as i32)
                        .set_items(Some(methods.to_vec()))
                        .cached_methods(cached)
                        .build()?,
                )
                .cache_policy_id(if api {
                    crate::kinds::cloudfront_distribution::CACHING_DISABLED
                } else {
                    p.str("cache_policy_id")
                        .unwrap_or(crate::kinds::cloudfront_distribution::CACHING_OPTIMIZED)
                })
                .set_origin_request_policy_id(api.then(|| {
                    crate::kinds::cloudfront_distribution::ALL_VIEWER_EXCEPT_HOST.to_owned()
                }))
                .build()?,
        );
    }
    c.cache_behaviors = Some(
        CacheBehaviors::builder()
            .quantity(behaviors.len() as i32)
            .set_items((!behaviors.is_empty()).then_some(behaviors))
            .build()?,
    );
    Ok(())
}

/// A distribution in the schema's shape.
fn distribution_live(address: &str, d: &Distribution) -> Result<Live> {
    let c = d
        .distribution_config()
        .ok_or_else(|| anyhow!("distribution {} has no configuration", d.id()))?;
    let mut live = Live::new(address, DISTRIBUTION, d.id());
    live.outputs.insert("arn".into(), d.arn().to_owned());
    live.outputs
        .insert("domain_name".into(), d.domain_name().to_owned());
    live.outputs.insert(
        "alias_target".into(),
        format!("{HOSTED_ZONE_ID}/{}", d.domain_name()),
    );
    let p = &mut live.props;
    let origins = c
        .origins()
        .map(|o| o.items())
        .unwrap_or_default()
        .iter()
        .map(|o| {
            let mut m = BTreeMap::new();
            m.insert("origin_id".into(), Value::Str(o.id().to_owned()));
            m.insert(
                "origin_path".into(),
                Value::Str(o.origin_path().unwrap_or_default().to_owned()),
            );
            // A custom origin is an ALB reached by its record's name.
            if o.custom_origin_config().is_some() {
                m.insert("alb_record".into(), Value::Str(o.domain_name().to_owned()));
                return Value::Map(m);
            }
            m.insert("bucket".into(), Value::Str(o.domain_name().to_owned()));
            // Empty when moto dropped it: filled in by `fill_dropped_oac_ids`.
            let oac = o.origin_access_control_id().filter(|i| !i.is_empty());
            m.insert(
                "origin_access_control".into(),
                oac.map_or(Value::Null, |i| Value::Str(i.to_owned())),
            );
            Value::Map(m)
        })
        .collect();
    p.insert("origins".into(), Value::List(origins));
    let behaviors = c
        .cache_behaviors()
        .map(|b| b.items())
        .unwrap_or_default()
        .iter()
        .map(|b| {
            Value::Map(BTreeMap::from([
                (
                    "path_pattern".to_owned(),
                    Value::Str(b.path_pattern().to_owned()),
                ),
                (
                    "origin".to_owned(),
                    Value::Str(b.target_origin_id().to_owned()),
                ),
            ]))
        })
        .collect();
    p.insert("behaviors".into(), Value::List(behaviors));
    let str = |s: &str| Value::Str(s.to_owned());
    if let Some(b) = c.default_cache_behavior() {
        p.insert("default_origin".into(), str(b.target_origin_id()));
        p.insert(
            "viewer_protocol_policy".into(),
            str(b.viewer_protocol_policy().as_str()),
        );
        p.insert(
            "compress".into(),
            Value::Bool(b.compress().unwrap_or(false)),
        );
        if let Some(id) = b.cache_policy_id().filter(|i| !i.is_empty()) {
            p.insert("cache_policy_id".into(), str(id));
        }
    }
    // With CloudFront's own certificate `minimum_protocol_version` does not apply (see `read_distributions`).
    if let Some(v) = c.viewer_certificate()
        && let Some(arn) = v.acm_certificate_arn().filter(|a| !a.is_empty())
    {
        p.insert("certificate".into(), str(arn));
        if let Some(m) = v.minimum_protocol_version() {
            p.insert("minimum_protocol_version".into(), str(m.as_str()));
        }
    }
    p.insert(
        "aliases".into(),
        Value::List(
            c.aliases()
                .map(|a| a.items())
                .unwrap_or_default()
                .iter()
                .map(|a| str(a))
                .collect(),
        ),
    );
    if let Some(w) = c.web_acl_id().filter(|w| !w.is_empty()) {
        p.insert("web_acl".into(), str(w));
    }
    p.insert(
        "default_root_object".into(),
        str(c.default_root_object().unwrap_or_default()),
    );
    if let Some(pc) = c.price_class() {
        p.insert("price_class".into(), str(pc.as_str()));
    }
    p.insert("enabled".into(), Value::Bool(c.enabled()));
    Ok(live)
}

#[async_trait]
impl TagApi for Client {
    async fn tag(&self, id: &str, set: Vec<(&str, &str)>) -> Result<()> {
        let tags = set
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()?;
        self.tag_resource()
            .resource(id)
            .tags(Tags::builder().set_items(Some(tags)).build())
            .send()
            .await
            .map_err(|e| sdk_error("TagResource", e))?;
        Ok(())
    }

    async fn untag(&self, id: &str, keys: Vec<String>, _have: &crate::model::Tags) -> Result<()> {
        self.untag_resource()
            .resource(id)
            .tag_keys(TagKeys::builder().set_items(Some(keys)).build())
            .send()
            .await
            .map_err(|e| sdk_error("UntagResource", e))?;
        Ok(())
    }
}
