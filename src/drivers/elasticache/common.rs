//! What the elasticache driver's resource kinds share: the client, constants, tags.

use std::time::Duration;

use anyhow::Result;
use aws_sdk_elasticache::types::Tag;

use crate::drivers::toolkit::{absent_if, user_tags};
use crate::model::{Tags, Value};

pub(super) const SUBNET_GROUP: &str = "elasticache_subnet_group";
pub(super) const PARAMETER_GROUP: &str = "elasticache_parameter_group";
pub(super) const USER: &str = "elasticache_user";
pub(super) const USER_GROUP: &str = "elasticache_user_group";
pub(super) const REPLICATION_GROUP: &str = "elasticache_replication_group";

/// Where users written before versions kept a fingerprint of their password: still never a user tag.
pub(super) const OLD_PASSWORD_TAG: &str = "zinfra:password-fingerprint";

/// Replication groups: 15-30 minutes on AWS to create, similar to delete.
pub(super) const GROUP_TIMEOUT: Duration = crate::kinds::elasticache_replication_group::WAIT;
pub(super) const GROUP_POLL: Duration = Duration::from_secs(30);
/// Users and user groups: seconds to a few minutes.
pub(super) const RBAC_TIMEOUT: Duration = crate::kinds::elasticache_user::WAIT;
pub(super) const RBAC_POLL: Duration = Duration::from_secs(5);

pub(super) const RG_ABSENT: &[&str] = &["ReplicationGroupNotFoundFault"];
pub(super) const USER_ABSENT: &[&str] = &["UserNotFound", "UserNotFoundFault"];
pub(super) const UG_ABSENT: &[&str] = &["UserGroupNotFound", "UserGroupNotFoundFault"];
pub(super) const SNG_ABSENT: &[&str] = &["CacheSubnetGroupNotFoundFault"];
pub(super) const PG_ABSENT: &[&str] = &[
    "CacheParameterGroupNotFound",
    "CacheParameterGroupNotFoundFault",
];
/// ModifyCacheParameterGroup and ResetCacheParameterGroup take at most 20 parameters a call.
pub(super) const PARAMETER_BATCH: usize = 20;

pub struct ElastiCache {
    pub(super) client: aws_sdk_elasticache::Client,
}

impl ElastiCache {
    pub fn new(client: aws_sdk_elasticache::Client) -> ElastiCache {
        ElastiCache { client }
    }
}

impl ElastiCache {
    /// The resource's tags (`aws:` ones left out), or `None` when it no longer exists.
    pub(super) async fn tags(&self, arn: &str) -> Result<Option<Tags>> {
        let out = absent_if(
            "ListTagsForResource",
            self.client
                .list_tags_for_resource()
                .resource_name(arn)
                .send()
                .await,
            &[
                "CacheSubnetGroupNotFoundFault",
                "CacheParameterGroupNotFound",
                "CacheParameterGroupNotFoundFault",
                "ReplicationGroupNotFoundFault",
                "UserNotFound",
                "UserNotFoundFault",
                "UserGroupNotFound",
                "UserGroupNotFoundFault",
                "InvalidARN",
            ],
        )?;
        Ok(out.map(|o| {
            user_tags(
                o.tag_list()
                    .iter()
                    .filter_map(|t| Some((t.key()?, t.value()?))),
            )
        }))
    }
}

pub(super) fn tags_of(tags: &Tags) -> Result<Vec<Tag>> {
    Ok(tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect())
}

pub(super) fn s(v: &str) -> Value {
    Value::Str(v.to_owned())
}

/// Tags as the service takes them.
fn cache_tags(set: Vec<(&str, &str)>) -> Result<Vec<Tag>> {
    Ok(set
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect())
}

crate::tag_resource_api!(
    aws_sdk_elasticache::Client,
    add_tags_to_resource "AddTagsToResource",
    remove_tags_from_resource "RemoveTagsFromResource",
    resource_name,
    cache_tags
);
