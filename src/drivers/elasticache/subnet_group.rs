//! Cache subnet groups: private subnets only.

use anyhow::{Context, Result};

use crate::drivers::toolkit::{absent_if, sdk_error};
use crate::model::{Live, PropsExt, Resolved, Value};

use super::common::*;

impl ElastiCache {
    pub(super) async fn read_subnet_group(
        &self,
        address: &str,
        name: &str,
    ) -> Result<Option<Live>> {
        let out = absent_if(
            "DescribeCacheSubnetGroups",
            self.client
                .describe_cache_subnet_groups()
                .cache_subnet_group_name(name)
                .send()
                .await,
            SNG_ABSENT,
        )?;
        let Some(g) =
            out.and_then(|o| o.cache_subnet_groups.unwrap_or_default().into_iter().next())
        else {
            return Ok(None);
        };
        let mut live = Live::new(address, SUBNET_GROUP, name);
        live.props.insert("name".into(), s(name));
        live.props.insert(
            "description".into(),
            s(g.cache_subnet_group_description().unwrap_or_default()),
        );
        live.props.insert(
            "subnets".into(),
            Value::List(
                g.subnets()
                    .iter()
                    .filter_map(|x| x.subnet_identifier())
                    .map(s)
                    .collect(),
            ),
        );
        Ok(Some(live))
    }

    pub(super) async fn create_subnet_group(&self, r: &Resolved) -> Result<Live> {
        let name = r.props.str("name").context("`name` is required")?;
        let out = self
            .client
            .create_cache_subnet_group()
            .cache_subnet_group_name(name)
            .cache_subnet_group_description(
                r.props.str("description").unwrap_or("Managed by zinfra"),
            )
            .set_subnet_ids(Some(r.props.strs("subnets")))
            .set_tags(Some(tags_of(&r.tags)?))
            .send()
            .await
            .map_err(|e| sdk_error("CreateCacheSubnetGroup", e))?;
        let mut live = Live::new(&r.address, SUBNET_GROUP, name);
        if let Some(arn) = out.cache_subnet_group().and_then(|g| g.arn()) {
            live.outputs.insert("arn".into(), arn.to_owned());
        }
        live.tags = r.tags.clone();
        Ok(live)
    }

    pub(super) async fn update_subnet_group(&self, r: &Resolved, name: &str) -> Result<()> {
        self.client
            .modify_cache_subnet_group()
            .cache_subnet_group_name(name)
            .set_cache_subnet_group_description(r.props.str("description").map(str::to_owned))
            .set_subnet_ids(Some(r.props.strs("subnets")))
            .send()
            .await
            .map_err(|e| sdk_error("ModifyCacheSubnetGroup", e))?;
        Ok(())
    }

    pub(super) async fn delete_subnet_group(&self, name: &str) -> Result<()> {
        absent_if(
            "DeleteCacheSubnetGroup",
            self.client
                .delete_cache_subnet_group()
                .cache_subnet_group_name(name)
                .send()
                .await,
            SNG_ABSENT,
        )?;
        Ok(())
    }
}

// --- parameter groups ------------------------------------------------------------------------------------
