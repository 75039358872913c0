//! WAFv2 web ACLs (REGIONAL in the stack's region, CLOUDFRONT in us-east-1) and their associations
//! with load balancers. Every update goes GetWebACL → UpdateWebACL with the lock token it returned.

use std::collections::BTreeMap;

use anyhow::{Context, Result, anyhow, bail};
use async_trait::async_trait;
use aws_sdk_wafv2::Client;
use aws_sdk_wafv2::types::{
    AllowAction, BlockAction, Body, ComparisonOperator, DefaultAction, FieldToMatch,
    ManagedRuleGroupStatement, NoneAction, OverrideAction, OversizeHandling, RateBasedStatement,
    RateBasedStatementAggregateKeyType, Rule, RuleAction, Scope, SizeConstraintStatement,
    Statement, Tag, TextTransformation, TextTransformationType, VisibilityConfig, WebAcl,
};
use futures::future::try_join_all;

use super::toolkit::{
    Driver, ReadCx, Undeclared, absent_if, build_tags, error_code, owned_address, sdk_error,
    sync_tags, unhandled, user_tags,
};
use crate::kinds::wafv2_web_acl::BASELINE_GROUPS;
use crate::model::{Live, Props, PropsExt, Resolved, TAG_ADDRESS, TAG_STACK, Value};

const ACL: &str = "wafv2_web_acl";
const ASSOCIATION: &str = "wafv2_web_acl_association";
const NOT_FOUND: &[&str] = &["WAFNonexistentItemException"];
const LOCK: &str = "WAFOptimisticLockException";
/// Rate-based rules count requests over this window (seconds).
const RATE_WINDOW: i64 = 300;
const RATE_RULE: &str = "rate-limit";
const SIZE_RULE: &str = "max-body-size";

pub struct Wafv2 {
    /// The stack's region: REGIONAL web ACLs and associations.
    regional: Client,
    /// us-east-1: CLOUDFRONT web ACLs live there whatever the stack's region.
    global: Client,
}

impl Wafv2 {
    pub fn new(regional: Client, global: Client) -> Wafv2 {
        Wafv2 { regional, global }
    }

    fn client(&self, scope: &Scope) -> &Client {
        match scope {
            Scope::Cloudfront => &self.global,
            _ => &self.regional,
        }
    }
}

/// Name, id and scope of a web ACL from its ARN
/// (`arn:aws:wafv2:<region>:<account>:<regional|global>/webacl/<name>/<id>`).
/// The web ACL with its lock token; `None` when it is gone.
async fn get_acl(
    client: &Client,
    scope: &Scope,
    name: &str,
    id: &str,
) -> Result<Option<aws_sdk_wafv2::operation::get_web_acl::GetWebAclOutput>> {
    let res = client
        .get_web_acl()
        .name(name)
        .scope(scope.clone())
        .id(id)
        .send()
        .await;
    absent_if("GetWebACL", res, NOT_FOUND)
}

fn parse_arn(arn: &str) -> Result<(Scope, String, String)> {
    let res = arn
        .splitn(6, ':')
        .nth(5)
        .ok_or_else(|| anyhow!("not a web ACL ARN: {arn}"))?;
    let parts: Vec<&str> = res.split('/').collect();
    match parts.as_slice() {
        [scope, "webacl", name, id] => Ok((
            if *scope == "global" {
                Scope::Cloudfront
            } else {
                Scope::Regional
            },
            (*name).to_owned(),
            (*id).to_owned(),
        )),
        _ => bail!("not a web ACL ARN: {arn}"),
    }
}

#[async_trait]
impl Driver for Wafv2 {
    fn kinds(&self) -> &'static [&'static str] {
        &[ACL, ASSOCIATION]
    }

    fn service(&self) -> &'static str {
        "WAFV2"
    }

    fn undeclared(&self, kind: &str) -> Undeclared {
        if kind == ACL {
            Undeclared::IndexWithUsEast1
        } else {
            Undeclared::Index
        }
    }

    // moto's tagging API does not list web ACLs; ListWebACLs + ListTagsForResource works on both.
    fn uses_tag_index(&self) -> bool {
        false
    }

    async fn read(&self, cx: &ReadCx<'_>) -> Result<Vec<Live>> {
        match cx.kind {
            ACL => self.read_acls(cx).await,
            _ => self.read_associations(cx).await,
        }
    }

    async fn create(&self, r: &Resolved) -> Result<Live> {
        let res = match r.kind.as_str() {
            ACL => self.create_acl(r).await,
            _ => self.associate(r).await,
        };
        res.with_context(|| format!("creating {}", r.address))
    }

    async fn update(&self, r: &Resolved, live: &Live, changed: &[String]) -> Result<Live> {
        if r.kind != ACL {
            return Err(unhandled(
                &r.kind,
                changed.first().map_or("", String::as_str),
            ));
        }
        let arn = live.outputs.get("arn").context("web ACL without an ARN")?;
        let (scope, name, id) = parse_arn(arn)?;
        let client = self.client(&scope);
        let rules_changed = changed.iter().any(|f| f != "tags");
        if rules_changed {
            self.update_acl(client, r, &scope, &name, &id)
                .await
                .with_context(|| format!("updating {}", r.address))?;
        }
        if changed.iter().any(|f| f == "tags") {
            sync_tags(client, arn, &r.tags, &live.tags)
                .await
                .with_context(|| format!("updating {} (tags)", r.address))?;
        }
        let mut out = live.clone();
        out.tags = r.tags.clone();
        Ok(out)
    }

    async fn delete(&self, live: &Live) -> Result<()> {
        let res = match live.kind.as_str() {
            ACL => self.delete_acl(live).await,
            _ => self.disassociate(&live.id).await,
        };
        res.with_context(|| format!("deleting {} ({})", live.address, live.id))
    }
}

impl Wafv2 {
    async fn read_acls(&self, cx: &ReadCx<'_>) -> Result<Vec<Live>> {
        let stack = cx.stack;
        let (regional, global, regional_index, global_index) = futures::try_join!(
            self.list(&Scope::Regional),
            self.list(&Scope::Cloudfront),
            cx.index(),
            cx.global_index()
        )?;
        let (regional_index, global_index) = (&regional_index, &global_index);
        let all = regional
            .into_iter()
            .map(|a| (Scope::Regional, a))
            .chain(global.into_iter().map(|a| (Scope::Cloudfront, a)));
        let lives = try_join_all(all.map(|(scope, (name, id, arn))| async move {
            let client = self.client(&scope);
            // Where the tagging API lists web ACLs (AWS does, moto does not) their tags come with it.
            let indexed = match scope {
                Scope::Cloudfront => global_index.tags(&arn),
                _ => regional_index.tags(&arn),
            };
            let tags = match indexed {
                Some(t) => t.clone(),
                None => match self.tags_of(client, &arn).await? {
                    Some(t) => t,
                    None => return Ok(None),
                },
            };
            let Some(address) =
                owned_address(stack, tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            else {
                return Ok(None);
            };
            let out = get_acl(client, &scope, &name, &id)
                .await
                .with_context(|| format!("{address} (web ACL {name})"))?;
            let Some(acl) = out.as_ref().and_then(|o| o.web_acl()) else {
                return Ok(None);
            };
            let mut live = acl_live(&address, acl, &scope);
            live.tags = tags;
            Ok::<_, anyhow::Error>(Some(live))
        }))
        .await?;
        Ok(lives.into_iter().flatten().collect())
    }

    /// (name, id, ARN) of every web ACL of a scope.
    async fn list(&self, scope: &Scope) -> Result<Vec<(String, String, String)>> {
        let client = self.client(scope);
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = client
                .list_web_acls()
                .scope(scope.clone())
                .limit(100)
                .set_next_marker(marker.clone())
                .send()
                .await
                .map_err(|e| sdk_error("ListWebACLs", e))?;
            for s in page.web_acls() {
                if let (Some(n), Some(i), Some(a)) = (s.name(), s.id(), s.arn()) {
                    out.push((n.to_owned(), i.to_owned(), a.to_owned()));
                }
            }
            // An empty page ends the list even if a marker comes back.
            match page.next_marker() {
                Some(m) if !m.is_empty() && !page.web_acls().is_empty() => {
                    marker = Some(m.to_owned())
                }
                _ => break,
            }
        }
        Ok(out)
    }

    /// The ACL's tags (without `aws:` ones), or `None` when it is gone.
    async fn tags_of(&self, client: &Client, arn: &str) -> Result<Option<crate::model::Tags>> {
        let out = absent_if(
            "ListTagsForResource",
            client
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await,
            NOT_FOUND,
        )?;
        Ok(out.map(|o| {
            user_tags(
                o.tag_info_for_resource()
                    .map(|t| t.tag_list())
                    .unwrap_or_default()
                    .iter()
                    .map(|t| (t.key(), t.value())),
            )
        }))
    }

    async fn create_acl(&self, r: &Resolved) -> Result<Live> {
        let name = r.props.str("name").context("`name` is required")?;
        let scope = Scope::from(r.props.str("scope").unwrap_or("REGIONAL"));
        let client = self.client(&scope);
        let tags = r
            .tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()?;
        let res = client
            .create_web_acl()
            .name(name)
            .scope(scope.clone())
            .default_action(default_action(&r.props))
            .set_description(description(&r.props))
            .set_rules(Some(rules(&r.props)?))
            .visibility_config(visibility(name)?)
            .set_tags(Some(tags))
            .send()
            .await;
        let summary = match res {
            Ok(out) => out.summary.context("CreateWebACL returned no summary")?,
            // A create whose reply was lost: take over our own ACL, never another's.
            Err(e) if error_code(&e) == Some("WAFDuplicateItemException") => {
                return self.adopt(r, &scope, name).await;
            }
            Err(e) => return Err(sdk_error("CreateWebACL", e)),
        };
        let (Some(id), Some(arn)) = (summary.id(), summary.arn()) else {
            bail!("CreateWebACL returned no id or ARN");
        };
        let mut live = Live::new(&r.address, ACL, id);
        live.outputs.insert("arn".into(), arn.to_owned());
        live.outputs.insert("name".into(), name.to_owned());
        live.tags = r.tags.clone();
        Ok(live)
    }

    async fn adopt(&self, r: &Resolved, scope: &Scope, name: &str) -> Result<Live> {
        let found = self
            .list(scope)
            .await?
            .into_iter()
            .find(|(n, _, _)| n == name);
        let Some((_, id, arn)) = found else {
            bail!("web ACL {name} already exists");
        };
        let client = self.client(scope);
        let tags = self.tags_of(client, &arn).await?.unwrap_or_default();
        let ours = tags.get(TAG_STACK) == r.tags.get(TAG_STACK)
            && tags.get(TAG_ADDRESS) == Some(&r.address);
        if !ours {
            bail!(
                "web ACL {name} already exists and belongs to {} in stack {}",
                tags.get(TAG_ADDRESS)
                    .map_or("another resource", String::as_str),
                tags.get(TAG_STACK).map_or("(none)", String::as_str)
            );
        }
        self.update_acl(client, r, scope, name, &id).await?;
        let mut live = Live::new(&r.address, ACL, id);
        live.outputs.insert("arn".into(), arn);
        live.outputs.insert("name".into(), name.to_owned());
        live.tags = r.tags.clone();
        Ok(live)
    }

    /// GetWebACL for the lock token, then UpdateWebACL with it; another writer in between costs one retry.
    async fn update_acl(
        &self,
        client: &Client,
        r: &Resolved,
        scope: &Scope,
        name: &str,
        id: &str,
    ) -> Result<()> {
        let mut retried = false;
        loop {
            let got = get_acl(client, scope, name, id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("GetWebACL: the web ACL {name} is gone"))?;
            let token = got
                .lock_token()
                .context("GetWebACL returned no lock token")?;
            let res = client
                .update_web_acl()
                .name(name)
                .scope(scope.clone())
                .id(id)
                .lock_token(token)
                .default_action(default_action(&r.props))
                .set_description(description(&r.props))
                .set_rules(Some(rules(&r.props)?))
                .visibility_config(visibility(name)?)
                .send()
                .await;
            match res {
                Ok(_) => return Ok(()),
                Err(e) if error_code(&e) == Some(LOCK) && !retried => retried = true,
                Err(e) => return Err(sdk_error("UpdateWebACL", e)),
            }
        }
    }

    async fn delete_acl(&self, live: &Live) -> Result<()> {
        let arn = live.outputs.get("arn").context("web ACL without an ARN")?;
        let (scope, name, id) = parse_arn(arn)?;
        let client = self.client(&scope);
        let mut retried = false;
        loop {
            let got = get_acl(client, &scope, &name, &id).await?;
            let Some(token) = got.as_ref().and_then(|g| g.lock_token()) else {
                return Ok(());
            };
            let res = client
                .delete_web_acl()
                .name(&name)
                .scope(scope.clone())
                .id(&id)
                .lock_token(token)
                .send()
                .await;
            match res {
                Ok(_) => return Ok(()),
                Err(e) if error_code(&e).is_some_and(|c| NOT_FOUND.contains(&c)) => {
                    return Ok(());
                }
                Err(e) if error_code(&e) == Some(LOCK) && !retried => retried = true,
                Err(e) => return Err(sdk_error("DeleteWebACL", e)),
            }
        }
    }

    /// Associations carry no tags and moto lacks ListResourcesForWebACL: each declared one is found
    /// from its load balancer with GetWebACLForResource.
    async fn read_associations(&self, cx: &ReadCx<'_>) -> Result<Vec<Live>> {
        let needs_index = cx
            .desired
            .iter()
            .any(|r| matches!(r.props.get("resource_arn"), Some(Value::Ref(_))));
        // address → ARN of the stack's load balancers, from the stack's tag index.
        let index: BTreeMap<String, String> = if needs_index {
            cx.index().await?.of_kind("lb").into_iter().collect()
        } else {
            BTreeMap::new()
        };
        let lives = try_join_all(cx.desired.iter().map(|r| {
            let index = &index;
            async move {
                let arn = match r.props.get("resource_arn") {
                    Some(Value::Str(a)) => Some(a.clone()),
                    Some(Value::Ref(x)) => index.get(&x.address).cloned(),
                    _ => None,
                };
                let Some(arn) = arn else {
                    return Ok(None);
                };
                let out = absent_if(
                    "GetWebACLForResource",
                    self.regional
                        .get_web_acl_for_resource()
                        .resource_arn(&arn)
                        .send()
                        .await,
                    NOT_FOUND,
                )
                .with_context(|| format!("{} ({arn})", r.address))?;
                let Some(acl) = out.as_ref().and_then(|o| o.web_acl()) else {
                    return Ok(None);
                };
                let mut live = Live::new(&r.address, ASSOCIATION, &arn);
                live.props
                    .insert("web_acl".into(), Value::Str(acl.arn().to_owned()));
                live.props.insert("resource_arn".into(), Value::Str(arn));
                Ok::<_, anyhow::Error>(Some(live))
            }
        }))
        .await?;
        Ok(lives.into_iter().flatten().collect())
    }

    async fn associate(&self, r: &Resolved) -> Result<Live> {
        let acl = r.props.str("web_acl").context("`web_acl` is required")?;
        let arn = r
            .props
            .str("resource_arn")
            .context("`resource_arn` is required")?;
        self.regional
            .associate_web_acl()
            .web_acl_arn(acl)
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| sdk_error("AssociateWebACL", e))?;
        Ok(Live::new(&r.address, ASSOCIATION, arn))
    }

    async fn disassociate(&self, resource_arn: &str) -> Result<()> {
        absent_if(
            "DisassociateWebACL",
            self.regional
                .disassociate_web_acl()
                .resource_arn(resource_arn)
                .send()
                .await,
            NOT_FOUND,
        )
        .map(drop)
    }
}

fn default_action(p: &Props) -> DefaultAction {
    if p.str("default_action") == Some("block") {
        DefaultAction::builder()
            .block(BlockAction::builder().build())
            .build()
    } else {
        DefaultAction::builder()
            .allow(AllowAction::builder().build())
            .build()
    }
}

/// AWS refuses an empty description: send none instead.
fn description(p: &Props) -> Option<String> {
    p.str("description")
        .filter(|d| !d.is_empty())
        .map(str::to_owned)
}

fn visibility(metric: &str) -> Result<VisibilityConfig> {
    Ok(VisibilityConfig::builder()
        .sampled_requests_enabled(true)
        .cloud_watch_metrics_enabled(true)
        .metric_name(metric)
        .build()?)
}

fn managed_group(name: &str, priority: i32) -> Result<Rule> {
    let rule_name = format!("AWS-{name}");
    Ok(Rule::builder()
        .name(&rule_name)
        .priority(priority)
        .statement(
            Statement::builder()
                .managed_rule_group_statement(
                    ManagedRuleGroupStatement::builder()
                        .vendor_name("AWS")
                        .name(name)
                        .build()?,
                )
                .build(),
        )
        // The group's own actions (block) apply.
        .override_action(
            OverrideAction::builder()
                .none(NoneAction::builder().build())
                .build(),
        )
        .visibility_config(visibility(&rule_name)?)
        .build()?)
}

fn block() -> RuleAction {
    RuleAction::builder()
        .block(BlockAction::builder().build())
        .build()
}

/// The ACL's rules: the baseline groups, the rate limit, the body size limit, then any extra groups.
fn rules(p: &Props) -> Result<Vec<Rule>> {
    let mut out = Vec::new();
    let mut priority = 0;
    for (field, group) in BASELINE_GROUPS {
        if p.bool_or(field, true) {
            out.push(managed_group(group, priority)?);
        }
        priority += 1;
    }
    if let Some(limit) = p.int("rate_limit") {
        out.push(
            Rule::builder()
                .name(RATE_RULE)
                .priority(priority)
                .statement(
                    Statement::builder()
                        .rate_based_statement(
                            RateBasedStatement::builder()
                                .limit(limit)
                                .evaluation_window_sec(RATE_WINDOW)
                                .aggregate_key_type(RateBasedStatementAggregateKeyType::Ip)
                                .build()?,
                        )
                        .build(),
                )
                .action(block())
                .visibility_config(visibility(RATE_RULE)?)
                .build()?,
        );
    }
    priority += 1;
    if let Some(size) = p.int("max_body_size") {
        out.push(
            Rule::builder()
                .name(SIZE_RULE)
                .priority(priority)
                .statement(
                    Statement::builder()
                        .size_constraint_statement(
                            SizeConstraintStatement::builder()
                                // A body larger than WAF inspects counts as a match: blocked.
                                .field_to_match(
                                    FieldToMatch::builder()
                                        .body(
                                            Body::builder()
                                                .oversize_handling(OversizeHandling::Match)
                                                .build(),
                                        )
                                        .build(),
                                )
                                .comparison_operator(ComparisonOperator::Gt)
                                .size(size)
                                .text_transformations(
                                    TextTransformation::builder()
                                        .priority(0)
                                        .r#type(TextTransformationType::None)
                                        .build()?,
                                )
                                .build()?,
                        )
                        .build(),
                )
                .action(block())
                .visibility_config(visibility(SIZE_RULE)?)
                .build()?,
        );
    }
    priority += 1;
    for (i, group) in p.strs("managed_rule_groups").iter().enumerate() {
        out.push(managed_group(group, priority + 10 + i as i32)?);
    }
    Ok(out)
}

/// A web ACL in the schema's shape. Rules zinfra did not write are not represented.
fn acl_live(address: &str, acl: &WebAcl, scope: &Scope) -> Live {
    let mut live = Live::new(address, ACL, acl.id());
    live.outputs.insert("arn".into(), acl.arn().to_owned());
    live.outputs.insert("name".into(), acl.name().to_owned());
    let p = &mut live.props;
    p.insert("name".into(), Value::Str(acl.name().to_owned()));
    p.insert("scope".into(), Value::Str(scope.as_str().to_owned()));
    p.insert(
        "description".into(),
        Value::Str(acl.description().unwrap_or_default().to_owned()),
    );
    let block = acl.default_action().is_some_and(|a| a.block().is_some());
    p.insert(
        "default_action".into(),
        Value::Str(if block { "block" } else { "allow" }.into()),
    );
    for (field, _) in BASELINE_GROUPS {
        p.insert((*field).into(), Value::Bool(false));
    }
    let mut extra = Vec::new();
    for rule in acl.rules() {
        let Some(st) = rule.statement() else { continue };
        if let Some(g) = st.managed_rule_group_statement() {
            match BASELINE_GROUPS.iter().find(|(_, b)| *b == g.name()) {
                // Counted only when its own actions apply (not overridden to count).
                Some((field, _)) if rule.override_action().is_none_or(|o| o.count().is_none()) => {
                    p.insert((*field).into(), Value::Bool(true));
                }
                Some(_) => {}
                None => extra.push(Value::Str(g.name().to_owned())),
            }
        } else if let Some(rate) = st.rate_based_statement()
            && rule.name() == RATE_RULE
            && rule.action().is_some_and(|a| a.block().is_some())
        {
            p.insert("rate_limit".into(), Value::Int(rate.limit()));
        } else if let Some(size) = st.size_constraint_statement()
            && rule.name() == SIZE_RULE
            && rule.action().is_some_and(|a| a.block().is_some())
            && size.comparison_operator() == &ComparisonOperator::Gt
            && size.field_to_match().is_some_and(|f| f.body().is_some())
        {
            p.insert("max_body_size".into(), Value::Int(size.size()));
        }
    }
    p.insert("managed_rule_groups".into(), Value::List(extra));
    live
}

/// Tags as WAF takes them.
fn waf_tags(set: Vec<(&str, &str)>) -> Result<Vec<Tag>> {
    build_tags(set, |k, v| Tag::builder().key(k).value(v).build())
}

crate::tag_resource_api!(Client, resource_arn, waf_tags);
