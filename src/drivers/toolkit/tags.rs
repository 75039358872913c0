//! Tags: AWS's tags as zinfra's, the changes that make live tags equal the file's, ownership by tag,
//! and one [`sync_tags`] over a service's two tag calls ([`TagApi`]).

use anyhow::Result;
use async_trait::async_trait;

use crate::model::{Resolved, TAG_ADDRESS, TAG_STACK, Tags};

/// A client token (idempotency token, caller reference) that is the same for every try of one create
/// of `r`: a digest of its address, desired props and tags (stack and region among them), never random
/// per call, so a create sent again after a lost reply, in this run or the next, is answered with what
/// the first one made. `after` names the resource a previous token already made and that is gone since
/// (a token AWS still remembers after a destroy): the next token in the chain, just as deterministic.
/// `len` lowercase hex characters (at most 64; AWS's limits differ per API).
pub fn client_token(r: &Resolved, after: &[String], len: usize) -> String {
    use sha2::Digest;
    let spec = serde_json::to_string(&(&r.address, &r.props, &r.tags, after)).unwrap_or_default();
    let h = sha2::Sha256::digest(spec.as_bytes());
    let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
    hex[..len.min(hex.len())].to_owned()
}

/// Tags as `(key, value)` pairs, ready for any SDK's tag builder.
pub fn tag_pairs(tags: &Tags) -> impl Iterator<Item = (&str, &str)> {
    tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

/// AWS's tags without the `aws:` keys AWS manages itself.
pub fn user_tags<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Tags {
    pairs
        .into_iter()
        .filter(|(k, _)| !k.starts_with("aws:"))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The calls that make a resource's tags `have` equal `want`; skip either when its list is empty.
#[derive(Debug, PartialEq, Eq)]
pub struct TagChanges<'a> {
    /// Tags absent from `have` or with another value there.
    pub set: Vec<(&'a str, &'a str)>,
    /// Keys in `have` but not in `want`, never `aws:` ones.
    pub remove: Vec<String>,
}

/// What makes `have` equal `want`: tags to set (absent or different) and keys to remove (never `aws:` ones).
pub fn tag_changes<'a>(have: &Tags, want: &'a Tags) -> TagChanges<'a> {
    let set = tag_pairs(want)
        .filter(|(k, v)| have.get(*k).map(String::as_str) != Some(*v))
        .collect();
    let remove = have
        .keys()
        .filter(|k| !k.starts_with("aws:") && !want.contains_key(*k))
        .cloned()
        .collect();
    TagChanges { set, remove }
}

/// The address a set of tags claims, if they belong to `stack`.
pub fn owned_address<'a>(
    stack: &str,
    tags: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Option<String> {
    let mut s = None;
    let mut a = None;
    for (k, v) in tags {
        if k == TAG_STACK {
            s = Some(v);
        } else if k == TAG_ADDRESS {
            a = Some(v.to_owned());
        }
    }
    (s == Some(stack)).then_some(a).flatten()
}

/// A service's two tag calls, the only part of tag sync that differs between services.
#[async_trait]
pub trait TagApi: Sync {
    /// Set these tags on `id` (added or changed).
    async fn tag(&self, id: &str, set: Vec<(&str, &str)>) -> Result<()>;
    /// Remove these keys from `id` (`have`: its tags as read, for APIs that remove by key and value).
    async fn untag(&self, id: &str, keys: Vec<String>, have: &Tags) -> Result<()>;
}

/// Makes `id`'s tags `have` equal `want` with at most one call of each kind, none when they match.
pub async fn sync_tags(api: &impl TagApi, id: &str, want: &Tags, have: &Tags) -> Result<()> {
    let TagChanges { set, remove } = tag_changes(have, want);
    if !set.is_empty() {
        api.tag(id, set).await?;
    }
    if !remove.is_empty() {
        api.untag(id, remove, have).await?;
    }
    Ok(())
}

/// Tags in a service's own `Tag` type: `build` is its builder (`|k, v| Tag::builder().key(k).value(v).build()`).
pub fn build_tags<'a, T, E: std::fmt::Display>(
    tags: impl IntoIterator<Item = (&'a str, &'a str)>,
    build: impl Fn(&str, &str) -> std::result::Result<T, E>,
) -> Result<Vec<T>> {
    tags.into_iter()
        .map(|(k, v)| build(k, v).map_err(|e| anyhow::anyhow!("tag `{k}`: {e}")))
        .collect()
}

/// Tags as a string map, the shape some services take (Kafka, CloudWatch Logs).
pub fn string_map(set: Vec<(&str, &str)>) -> Result<std::collections::HashMap<String, String>> {
    Ok(set
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
}

/// The [`TagApi`] of a service whose calls are `TagResource` and `UntagResource` (or, with their
/// names given, `AddTags` / `RemoveTags` and the like), naming the resource with the builder method
/// `$id` (`resource_arn`, `key_id`); `$tags` turns the pairs into what the tag call takes
/// (`anyhow::Result` of a list of the service's `Tag`s, or of a map).
#[macro_export]
macro_rules! tag_resource_api {
    ($client:ty, $id:ident, $tags:expr) => {
        $crate::tag_resource_api!(
            $client, tag_resource "TagResource", untag_resource "UntagResource", $id, $tags
        );
    };
    ($client:ty, $tag:ident $tag_op:literal, $untag:ident $untag_op:literal, $id:ident, $tags:expr) => {
        #[async_trait::async_trait]
        impl $crate::drivers::toolkit::tags::TagApi for $client {
            async fn tag(&self, id: &str, set: Vec<(&str, &str)>) -> anyhow::Result<()> {
                self.$tag()
                    .$id(id)
                    .set_tags(Some(($tags)(set)?))
                    .send()
                    .await
                    .map_err(|e| $crate::drivers::toolkit::error::sdk_error($tag_op, e))?;
                Ok(())
            }

            async fn untag(
                &self,
                id: &str,
                keys: Vec<String>,
                _have: &$crate::model::Tags,
            ) -> anyhow::Result<()> {
                self.$untag()
                    .$id(id)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .map_err(|e| $crate::drivers::toolkit::error::sdk_error($untag_op, e))?;
                Ok(())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn user_tags_leave_out_aws_own() {
        let t = user_tags([("aws:cloudformation:stack-name", "x"), ("Name", "web")]);
        assert_eq!(t, tags(&[("Name", "web")]));
    }

    #[test]
    fn tag_changes_set_only_what_differs_and_remove_the_rest() {
        let have = tags(&[
            ("Name", "old"),
            ("Keep", "same"),
            ("Gone", "x"),
            ("aws:managed", "y"),
        ]);
        let want = tags(&[("Name", "new"), ("Keep", "same"), ("Added", "z")]);
        let TagChanges { set, remove } = tag_changes(&have, &want);
        assert_eq!(set, [("Added", "z"), ("Name", "new")]);
        assert_eq!(remove, ["Gone"]);
        let none = TagChanges {
            set: vec![],
            remove: vec![],
        };
        assert_eq!(tag_changes(&want, &want), none);
    }
}
