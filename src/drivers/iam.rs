//! IAM roles and OpenID Connect providers.
//!
//! IAM is global and the Resource Groups Tagging API does not cover it, so `read` lists the account's roles
//! (or providers) and looks at each one's tags to find the stack's resources, orphans included. Roles
//! come from two account-wide listings (ListRoles and GetAccountAuthorizationDetails), not from calls
//! per role.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use async_trait::async_trait;
use aws_sdk_iam::types::{EntityType, Role, RoleDetail, Tag};
use futures::future::try_join_all;
use futures::{StreamExt, TryStreamExt, stream};

use super::toolkit::{
    Driver, ReadCx, Undeclared, absent_if, build_tags, owned_address, sdk_error, sync_tags,
    tag_pairs, user_tags,
};
use crate::model::{Live, Props, PropsExt, Resolved, Resource, Tags, Value};

const ROLE: &str = "iam_role";
const OIDC: &str = "iam_oidc_provider";
/// Parallel IAM calls per read: IAM's request rate quota is per account and low.
const CONCURRENCY: usize = 8;

pub struct Iam {
    client: aws_sdk_iam::Client,
}

impl Iam {
    pub fn new(client: aws_sdk_iam::Client) -> Iam {
        Iam { client }
    }
}

#[async_trait]
impl Driver for Iam {
    fn kinds(&self) -> &'static [&'static str] {
        &[ROLE, OIDC]
    }

    fn service(&self) -> &'static str {
        "IAM"
    }

    fn undeclared(&self, _kind: &str) -> Undeclared {
        Undeclared::Listing
    }

    /// Found by tag filters (EC2) or account-wide listing (IAM is global), not the tagging API.
    fn uses_tag_index(&self) -> bool {
        false
    }

    async fn read(&self, cx: &ReadCx<'_>) -> Result<Vec<Live>> {
        match cx.kind {
            ROLE => self.read_roles(cx).await,
            OIDC => self.read_oidc_providers(cx).await,
            k => bail!("iam driver does not manage kind `{k}`"),
        }
    }

    async fn find(&self, cx: &ReadCx<'_>, r: &Resource) -> Result<Option<Live>> {
        match r.kind.as_str() {
            ROLE => self.find_role(cx, r).await,
            _ => Ok(None),
        }
    }

    async fn create(&self, r: &Resolved) -> Result<Live> {
        let live = match r.kind.as_str() {
            ROLE => self.create_role(r).await,
            OIDC => self.create_oidc_provider(r).await,
            k => Err(anyhow!("iam driver does not manage kind `{k}`")),
        };
        live.with_context(|| r.address.clone())
    }

    async fn update(&self, r: &Resolved, live: &Live, changed: &[String]) -> Result<Live> {
        let live = match r.kind.as_str() {
            ROLE => self.update_role(r, live, changed).await,
            OIDC => self.update_oidc_provider(r, live, changed).await,
            k => Err(anyhow!("iam driver does not manage kind `{k}`")),
        };
        live.with_context(|| r.address.clone())
    }

    async fn delete(&self, live: &Live) -> Result<()> {
        let done = match live.kind.as_str() {
            ROLE => self.delete_role(&live.id).await,
            OIDC => self.delete_oidc_provider(&live.id).await,
            k => Err(anyhow!("iam driver does not manage kind `{k}`")),
        };
        done.with_context(|| live.address.clone())
    }
}

// ---------------------------------------------------------------------------------------------------------------
// iam_role

impl Iam {
    /// Two account-wide listings, each one paginated call however many roles there are:
    /// GetAccountAuthorizationDetails (Filter=Role) gives every role's tags, trust policy, inline
    /// policies and attached managed policies; ListRoles adds the description and maximum session
    /// duration it leaves out. Roles tagged for the stack are the stack's, orphans included.
    async fn read_roles(&self, cx: &ReadCx<'_>) -> Result<Vec<Live>> {
        let roles = self.roles(cx).await?;
        let mut out = Vec::new();
        for (name, (role, d)) in roles.iter() {
            let tags = live_tags(d.tags());
            let Some(address) = owned_address(cx.stack, tag_pairs(&tags)) else {
                continue;
            };
            let live = role_from(address, role, d, tags)
                .with_context(|| format!("reading role {name}"))?;
            out.push(live);
        }
        Ok(out)
    }

    /// Every role of the account by name, from the two listings, once per run (the stack's read and
    /// the lookup of a declared role's name share them). A role created or deleted between the two
    /// listings is left out: read again next time.
    async fn roles(&self, cx: &ReadCx<'_>) -> Result<Arc<BTreeMap<String, (Role, RoleDetail)>>> {
        cx.run
            .once("iam:roles", || async {
                let listed = async {
                    self.client
                        .list_roles()
                        .into_paginator()
                        .page_size(1000)
                        .items()
                        .send()
                        .try_collect()
                        .await
                        .map_err(|e| sdk_error("ListRoles", e))
                };
                let details = async {
                    self.client
                        .get_account_authorization_details()
                        .filter(EntityType::Role)
                        .into_paginator()
                        .page_size(1000)
                        .send()
                        .try_collect()
                        .await
                        .map_err(|e| sdk_error("GetAccountAuthorizationDetails", e))
                };
                let (listed, pages): (Vec<Role>, Vec<_>) = futures::try_join!(listed, details)?;
                let mut listed: BTreeMap<String, Role> = listed
                    .into_iter()
                    .map(|r| (r.role_name().to_owned(), r))
                    .collect();
                let mut out = BTreeMap::new();
                for d in pages.iter().flat_map(|p| p.role_detail_list()) {
                    let name = d.role_name().unwrap_or_default().to_owned();
                    if let Some(role) = listed.remove(&name) {
                        out.insert(name, (role, d.clone()));
                    }
                }
                Ok(out)
            })
            .await
    }

    /// The role of a declared role's name, from the listings the read made anyway: no extra call.
    async fn find_role(&self, cx: &ReadCx<'_>, r: &Resource) -> Result<Option<Live>> {
        let Some(name) = r.props.get("role_name").and_then(Value::as_str) else {
            return Ok(None);
        };
        let roles = self.roles(cx).await?;
        let Some((role, d)) = roles.get(name) else {
            return Ok(None);
        };
        role_from(r.address.clone(), role, d, live_tags(d.tags()))
            .map(Some)
            .with_context(|| format!("reading role {name}"))
    }

    async fn create_role(&self, r: &Resolved) -> Result<Live> {
        let name = r
            .props
            .str("role_name")
            .ok_or_else(|| anyhow!("role_name is not set"))?;
        let trust = r
            .props
            .json("assume_role_policy")
            .ok_or_else(|| anyhow!("assume_role_policy is not set"))?;
        let out = self
            .client
            .create_role()
            .role_name(name)
            .set_path(r.props.str("path").map(str::to_owned))
            .set_description(
                r.props
                    .str("description")
                    .filter(|d| !d.is_empty())
                    .map(str::to_owned),
            )
            .assume_role_policy_document(trust.to_string())
            .set_max_session_duration(
                r.props
                    .int("max_session_duration")
                    .map(i32::try_from)
                    .transpose()?,
            )
            .set_tags(Some(iam_tags(tag_pairs(&r.tags))?))
            .send()
            .await
            .map_err(|e| sdk_error("CreateRole", e))?;
        let arn = out.role().map(|r| r.arn().to_owned()).unwrap_or_default();
        try_join_all(
            r.props
                .strs("managed_policy_arns")
                .iter()
                .map(|arn| self.attach(name, arn)),
        )
        .await?;
        if let Some(inline) = r.props.get("inline_policies").and_then(Value::as_map) {
            try_join_all(
                inline
                    .iter()
                    .map(|(policy, doc)| self.put_inline(name, policy, doc)),
            )
            .await?;
        }
        let mut live = role_live(&r.address, name, &arn);
        live.tags = r.tags.clone();
        Ok(live)
    }

    /// Deletes a role's inline policy; one already gone is done.
    async fn delete_inline_policy(&self, role: &str, policy: &str) -> Result<Option<()>> {
        let res = self
            .client
            .delete_role_policy()
            .role_name(role)
            .policy_name(policy)
            .send()
            .await
            .map(drop);
        absent_if("DeleteRolePolicy", res, &["NoSuchEntity"])
            .with_context(|| format!("inline policy `{policy}`"))
    }

    async fn update_role(&self, r: &Resolved, live: &Live, changed: &[String]) -> Result<Live> {
        let name = live.id.as_str();
        let has = |f: &str| changed.iter().any(|c| c == f);
        if has("assume_role_policy") {
            let trust = r
                .props
                .json("assume_role_policy")
                .ok_or_else(|| anyhow!("assume_role_policy is not set"))?;
            self.client
                .update_assume_role_policy()
                .role_name(name)
                .policy_document(trust.to_string())
                .send()
                .await
                .map_err(|e| sdk_error("UpdateAssumeRolePolicy", e))?;
        }
        if has("description") || has("max_session_duration") {
            // UpdateRole sets both: pass the current value of the one that did not change.
            let description = r.props.str("description").or(live.props.str("description"));
            let max = r
                .props
                .int("max_session_duration")
                .or(live.props.int("max_session_duration"));
            self.client
                .update_role()
                .role_name(name)
                .set_description(description.map(str::to_owned))
                .set_max_session_duration(max.map(i32::try_from).transpose()?)
                .send()
                .await
                .map_err(|e| sdk_error("UpdateRole", e))?;
        }
        if has("managed_policy_arns") && is_set(&r.props, "managed_policy_arns") {
            let want: BTreeSet<String> = r.props.strs("managed_policy_arns").into_iter().collect();
            let have: BTreeSet<String> =
                live.props.strs("managed_policy_arns").into_iter().collect();
            // Attach before detaching: a policy replaced by another never leaves a gap in permissions.
            try_join_all(want.difference(&have).map(|arn| self.attach(name, arn))).await?;
            try_join_all(have.difference(&want).map(|arn| self.detach(name, arn))).await?;
        }
        if has("inline_policies") && is_set(&r.props, "inline_policies") {
            let empty = BTreeMap::new();
            let want = r
                .props
                .get("inline_policies")
                .and_then(Value::as_map)
                .unwrap_or(&empty);
            let have = live
                .props
                .get("inline_policies")
                .and_then(Value::as_map)
                .unwrap_or(&empty);
            try_join_all(
                want.iter()
                    .filter(|(policy, doc)| have.get(*policy) != Some(*doc))
                    .map(|(policy, doc)| self.put_inline(name, policy, doc)),
            )
            .await?;
            try_join_all(
                have.keys()
                    .filter(|p| !want.contains_key(*p))
                    .map(|policy| self.delete_inline_policy(name, policy)),
            )
            .await?;
        }
        if has("tags") {
            sync_tags(&RoleTags(&self.client), name, &r.tags, &live.tags).await?;
        }
        let mut out = role_live(
            &r.address,
            name,
            live.outputs
                .get("arn")
                .map(String::as_str)
                .unwrap_or_default(),
        );
        out.tags = r.tags.clone();
        Ok(out)
    }

    /// IAM refuses to delete a role that still has policies or instance profiles.
    async fn delete_role(&self, name: &str) -> Result<()> {
        let attached = self
            .client
            .list_attached_role_policies()
            .role_name(name)
            .into_paginator()
            .items()
            .send();
        let Some(attached) = absent_if(
            "ListAttachedRolePolicies",
            attached.try_collect().await,
            &["NoSuchEntity"],
        )?
        else {
            return Ok(());
        };
        try_join_all(
            attached
                .iter()
                .filter_map(|p| p.policy_arn())
                .map(|arn| self.detach(name, arn)),
        )
        .await?;
        let inline = self
            .client
            .list_role_policies()
            .role_name(name)
            .into_paginator()
            .items()
            .send();
        let Some(inline) = absent_if(
            "ListRolePolicies",
            inline.try_collect().await,
            &["NoSuchEntity"],
        )?
        else {
            return Ok(());
        };
        try_join_all(
            inline
                .iter()
                .map(|policy| self.delete_inline_policy(name, policy)),
        )
        .await?;
        let profiles = self
            .client
            .list_instance_profiles_for_role()
            .role_name(name)
            .into_paginator()
            .items()
            .send();
        let Some(profiles) = absent_if(
            "ListInstanceProfilesForRole",
            profiles.try_collect().await,
            &["NoSuchEntity"],
        )?
        else {
            return Ok(());
        };
        try_join_all(profiles.iter().map(|p| async move {
            let res = self
                .client
                .remove_role_from_instance_profile()
                .instance_profile_name(p.instance_profile_name())
                .role_name(name)
                .send()
                .await;
            absent_if("RemoveRoleFromInstanceProfile", res, &["NoSuchEntity"])
        }))
        .await?;
        absent_if(
            "DeleteRole",
            self.client.delete_role().role_name(name).send().await,
            &["NoSuchEntity"],
        )?;
        Ok(())
    }

    async fn attach(&self, role: &str, arn: &str) -> Result<()> {
        self.client
            .attach_role_policy()
            .role_name(role)
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| sdk_error("AttachRolePolicy", e))
            .with_context(|| format!("managed policy {arn}"))?;
        Ok(())
    }

    async fn detach(&self, role: &str, arn: &str) -> Result<()> {
        let res = self
            .client
            .detach_role_policy()
            .role_name(role)
            .policy_arn(arn)
            .send()
            .await;
        absent_if("DetachRolePolicy", res, &["NoSuchEntity"])
            .with_context(|| format!("managed policy {arn}"))?;
        Ok(())
    }

    async fn put_inline(&self, role: &str, policy: &str, doc: &Value) -> Result<()> {
        let Value::Json(doc) = doc else {
            bail!("inline policy `{policy}` is not a policy document");
        };
        self.client
            .put_role_policy()
            .role_name(role)
            .policy_name(policy)
            .policy_document(doc.to_string())
            .send()
            .await
            .map_err(|e| sdk_error("PutRolePolicy", e))
            .with_context(|| format!("inline policy `{policy}`"))?;
        Ok(())
    }
}

fn role_live(address: &str, name: &str, arn: &str) -> Live {
    let mut live = Live::new(address, ROLE, name);
    live.outputs.insert("arn".into(), arn.to_owned());
    live.outputs.insert("name".into(), name.to_owned());
    live
}

/// A role as the stack file describes it, from its ListRoles entry and its authorization details.
fn role_from(address: String, role: &Role, d: &RoleDetail, tags: Tags) -> Result<Live> {
    let name = role.role_name();
    let trust = d
        .assume_role_policy_document()
        .unwrap_or(role.assume_role_policy_document().unwrap_or_default());
    if trust.is_empty() {
        bail!("role {name} has no trust policy");
    }
    let inline = d
        .role_policy_list()
        .iter()
        .map(|p| {
            let policy = p.policy_name().unwrap_or_default().to_owned();
            let doc = parse_doc(p.policy_document().unwrap_or_default())
                .with_context(|| format!("inline policy `{policy}`"))?;
            Ok((policy, Value::Json(doc)))
        })
        .collect::<Result<BTreeMap<_, _>>>()?;
    let mut props = Props::new();
    props.insert("role_name".into(), Value::Str(name.to_owned()));
    props.insert("path".into(), Value::Str(role.path().to_owned()));
    props.insert(
        "description".into(),
        Value::Str(role.description().unwrap_or_default().to_owned()),
    );
    props.insert(
        "assume_role_policy".into(),
        Value::Json(parse_doc(trust).context("trust policy")?),
    );
    props.insert(
        "managed_policy_arns".into(),
        Value::List(
            d.attached_managed_policies()
                .iter()
                .filter_map(|p| p.policy_arn())
                .map(|a| Value::Str(a.to_owned()))
                .collect(),
        ),
    );
    props.insert("inline_policies".into(), Value::Map(inline));
    props.insert(
        "max_session_duration".into(),
        Value::Int(role.max_session_duration().unwrap_or(3600).into()),
    );
    let mut live = role_live(&address, name, role.arn());
    live.props = props;
    live.tags = tags;
    Ok(live)
}

// ---------------------------------------------------------------------------------------------------------------
// iam_oidc_provider

impl Iam {
    /// ListOpenIDConnectProviders, then GetOpenIDConnectProvider for each: it returns the tags with the rest.
    async fn read_oidc_providers(&self, cx: &ReadCx<'_>) -> Result<Vec<Live>> {
        let list = self
            .client
            .list_open_id_connect_providers()
            .send()
            .await
            .map_err(|e| sdk_error("ListOpenIDConnectProviders", e))?;
        let arns: Vec<String> = list
            .open_id_connect_provider_list()
            .iter()
            .filter_map(|p| p.arn())
            .map(str::to_owned)
            .collect();
        let lives: Vec<Option<Live>> = stream::iter(arns)
            .map(|arn| async move {
                let res = self
                    .client
                    .get_open_id_connect_provider()
                    .open_id_connect_provider_arn(&arn)
                    .send()
                    .await;
                let Some(out) = absent_if("GetOpenIDConnectProvider", res, &["NoSuchEntity"])
                    .with_context(|| arn.clone())?
                else {
                    return Ok(None);
                };
                let tags = live_tags(out.tags());
                let Some(address) = owned_address(cx.stack, tag_pairs(&tags)) else {
                    return Ok(None);
                };
                let mut live = Live::new(&address, OIDC, &arn);
                live.outputs.insert("arn".into(), arn.clone());
                // IAM stores the issuer without its scheme; it is always https.
                let url = out.url().unwrap_or_default();
                let url = if url.contains("://") {
                    url.to_owned()
                } else {
                    format!("https://{url}")
                };
                live.props.insert("url".into(), Value::Str(url));
                live.props
                    .insert("client_ids".into(), str_list(out.client_id_list()));
                live.props
                    .insert("thumbprints".into(), str_list(out.thumbprint_list()));
                live.tags = tags;
                Ok::<_, anyhow::Error>(Some(live))
            })
            .buffer_unordered(CONCURRENCY)
            .try_collect()
            .await?;
        Ok(lives.into_iter().flatten().collect())
    }

    async fn create_oidc_provider(&self, r: &Resolved) -> Result<Live> {
        let url = r
            .props
            .str("url")
            .ok_or_else(|| anyhow!("url is not set"))?;
        let out = self
            .client
            .create_open_id_connect_provider()
            .url(url)
            .set_client_id_list(Some(r.props.strs("client_ids")))
            .set_thumbprint_list(
                is_set(&r.props, "thumbprints").then(|| r.props.strs("thumbprints")),
            )
            .set_tags(Some(iam_tags(tag_pairs(&r.tags))?))
            .send()
            .await
            .map_err(|e| sdk_error("CreateOpenIDConnectProvider", e))?;
        let arn = out
            .open_id_connect_provider_arn()
            .ok_or_else(|| anyhow!("CreateOpenIDConnectProvider returned no ARN"))?;
        let mut live = Live::new(&r.address, OIDC, arn);
        live.outputs.insert("arn".into(), arn.to_owned());
        live.tags = r.tags.clone();
        Ok(live)
    }

    async fn update_oidc_provider(
        &self,
        r: &Resolved,
        live: &Live,
        changed: &[String],
    ) -> Result<Live> {
        let arn = live.id.as_str();
        let has = |f: &str| changed.iter().any(|c| c == f);
        if has("client_ids") {
            let want: BTreeSet<String> = r.props.strs("client_ids").into_iter().collect();
            let have: BTreeSet<String> = live.props.strs("client_ids").into_iter().collect();
            // Add before removing: a provider cannot be left without any audience.
            for id in want.difference(&have) {
                self.client
                    .add_client_id_to_open_id_connect_provider()
                    .open_id_connect_provider_arn(arn)
                    .client_id(id)
                    .send()
                    .await
                    .map_err(|e| sdk_error("AddClientIDToOpenIDConnectProvider", e))?;
            }
            for id in have.difference(&want) {
                self.client
                    .remove_client_id_from_open_id_connect_provider()
                    .open_id_connect_provider_arn(arn)
                    .client_id(id)
                    .send()
                    .await
                    .map_err(|e| sdk_error("RemoveClientIDFromOpenIDConnectProvider", e))?;
            }
        }
        if has("thumbprints") && is_set(&r.props, "thumbprints") {
            self.client
                .update_open_id_connect_provider_thumbprint()
                .open_id_connect_provider_arn(arn)
                .set_thumbprint_list(Some(r.props.strs("thumbprints")))
                .send()
                .await
                .map_err(|e| sdk_error("UpdateOpenIDConnectProviderThumbprint", e))?;
        }
        if has("tags") {
            sync_tags(&OidcTags(&self.client), arn, &r.tags, &live.tags).await?;
        }
        let mut out = Live::new(&r.address, OIDC, arn);
        out.outputs.insert("arn".into(), arn.to_owned());
        out.tags = r.tags.clone();
        Ok(out)
    }

    async fn delete_oidc_provider(&self, arn: &str) -> Result<()> {
        let res = self
            .client
            .delete_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await;
        absent_if("DeleteOpenIDConnectProvider", res, &["NoSuchEntity"])?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------------------------
// helpers

/// IAM returns policy documents URL-encoded.
fn parse_doc(doc: &str) -> Result<serde_json::Value> {
    let decoded = urlencoding::decode(doc).context("policy document is not valid URL encoding")?;
    serde_json::from_str(&decoded).context("policy document is not valid JSON")
}

/// True when the field is declared (absent or null means unmanaged: leave AWS as it is).
fn is_set(props: &Props, field: &str) -> bool {
    props.get(field).is_some_and(|v| !v.is_null())
}

fn str_list(items: &[String]) -> Value {
    Value::List(items.iter().map(|s| Value::Str(s.clone())).collect())
}

fn iam_tags<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Vec<Tag>> {
    build_tags(tags, |k, v| Tag::builder().key(k).value(v).build())
}

/// Tags as AWS reports them, without the `aws:` ones it manages itself.
fn live_tags(tags: &[Tag]) -> Tags {
    user_tags(tags.iter().map(|t| (t.key(), t.value())))
}

/// A role's tag calls.
struct RoleTags<'a>(&'a aws_sdk_iam::Client);

/// An OpenID Connect provider's tag calls.
struct OidcTags<'a>(&'a aws_sdk_iam::Client);

impl std::ops::Deref for RoleTags<'_> {
    type Target = aws_sdk_iam::Client;
    fn deref(&self) -> &aws_sdk_iam::Client {
        self.0
    }
}

impl std::ops::Deref for OidcTags<'_> {
    type Target = aws_sdk_iam::Client;
    fn deref(&self) -> &aws_sdk_iam::Client {
        self.0
    }
}

crate::tag_resource_api!(
    RoleTags<'_>,
    tag_role "TagRole",
    untag_role "UntagRole",
    role_name,
    iam_tags
);
crate::tag_resource_api!(
    OidcTags<'_>,
    tag_open_id_connect_provider "TagOpenIDConnectProvider",
    untag_open_id_connect_provider "UntagOpenIDConnectProvider",
    open_id_connect_provider_arn,
    iam_tags
);
