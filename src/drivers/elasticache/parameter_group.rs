//! Parameter groups: only the declared parameters differ from the family's defaults.

use anyhow::{Context, Result};

use crate::drivers::toolkit::{absent_if, sdk_error};
use crate::model::{Live, PropsExt, Resolved, Value};

use super::common::*;

impl ElastiCache {
    pub(super) async fn read_parameter_group(
        &self,
        address: &str,
        name: &str,
    ) -> Result<Option<Live>> {
        let out = absent_if(
            "DescribeCacheParameterGroups",
            self.client
                .describe_cache_parameter_groups()
                .cache_parameter_group_name(name)
                .send()
                .await,
            PG_ABSENT,
        )?;
        let Some(g) = out.and_then(|o| {
            o.cache_parameter_groups
                .unwrap_or_default()
                .into_iter()
                .next()
        }) else {
            return Ok(None);
        };
        // Only the parameters set on the group (`Source = user`): the engine defaults are not the file's.
        let mut parameters = std::collections::BTreeMap::new();
        let mut marker = None;
        loop {
            let out = absent_if(
                "DescribeCacheParameters",
                self.client
                    .describe_cache_parameters()
                    .cache_parameter_group_name(name)
                    .source("user")
                    .set_marker(marker.take())
                    .send()
                    .await,
                PG_ABSENT,
            )?;
            let Some(out) = out else { return Ok(None) };
            for p in out.parameters() {
                if let (Some(k), Some(v)) = (p.parameter_name(), p.parameter_value()) {
                    parameters.insert(k.to_owned(), s(v));
                }
            }
            match out.marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_owned()),
                _ => break,
            }
        }
        let mut live = Live::new(address, PARAMETER_GROUP, name);
        live.props.insert("name".into(), s(name));
        live.props.insert(
            "family".into(),
            s(g.cache_parameter_group_family().unwrap_or_default()),
        );
        live.props
            .insert("description".into(), s(g.description().unwrap_or_default()));
        live.props
            .insert("parameters".into(), Value::Map(parameters));
        Ok(Some(live))
    }

    pub(super) async fn create_parameter_group(&self, r: &Resolved) -> Result<Live> {
        let name = r.props.str("name").context("`name` is required")?;
        let out = self
            .client
            .create_cache_parameter_group()
            .cache_parameter_group_name(name)
            .cache_parameter_group_family(r.props.str("family").context("`family` is required")?)
            .description(r.props.str("description").unwrap_or("Managed by zinfra"))
            .set_tags(Some(tags_of(&r.tags)?))
            .send()
            .await
            .map_err(|e| sdk_error("CreateCacheParameterGroup", e))?;
        let mut live = Live::new(&r.address, PARAMETER_GROUP, name);
        if let Some(arn) = out.cache_parameter_group().and_then(|g| g.arn()) {
            live.outputs.insert("arn".into(), arn.to_owned());
        }
        self.set_parameters(name, &parameters_of(&r.props), &Default::default())
            .await?;
        live.tags = r.tags.clone();
        Ok(live)
    }

    pub(super) async fn update_parameters(&self, r: &Resolved, live: &Live) -> Result<()> {
        self.set_parameters(
            &live.id,
            &parameters_of(&r.props),
            &parameters_of(&live.props),
        )
        .await
    }

    /// Make the group's own parameters `want`: set the new and changed ones, reset the others to the default.
    pub(super) async fn set_parameters(
        &self,
        name: &str,
        want: &std::collections::BTreeMap<String, String>,
        have: &std::collections::BTreeMap<String, String>,
    ) -> Result<()> {
        use aws_sdk_elasticache::types::ParameterNameValue;
        let set: Vec<ParameterNameValue> = want
            .iter()
            .filter(|(k, v)| have.get(*k) != Some(*v))
            .map(|(k, v)| {
                ParameterNameValue::builder()
                    .parameter_name(k)
                    .parameter_value(v)
                    .build()
            })
            .collect();
        for batch in set.chunks(PARAMETER_BATCH) {
            self.client
                .modify_cache_parameter_group()
                .cache_parameter_group_name(name)
                .set_parameter_name_values(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| sdk_error("ModifyCacheParameterGroup", e))?;
        }
        let reset: Vec<ParameterNameValue> = have
            .keys()
            .filter(|k| !want.contains_key(*k))
            .map(|k| ParameterNameValue::builder().parameter_name(k).build())
            .collect();
        for batch in reset.chunks(PARAMETER_BATCH) {
            self.client
                .reset_cache_parameter_group()
                .cache_parameter_group_name(name)
                .set_parameter_name_values(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| sdk_error("ResetCacheParameterGroup", e))?;
        }
        Ok(())
    }

    pub(super) async fn delete_parameter_group(&self, name: &str) -> Result<()> {
        absent_if(
            "DeleteCacheParameterGroup",
            self.client
                .delete_cache_parameter_group()
                .cache_parameter_group_name(name)
                .send()
                .await,
            PG_ABSENT,
        )?;
        Ok(())
    }
}

pub(super) fn parameters_of(
    props: &crate::model::Props,
) -> std::collections::BTreeMap<String, String> {
    props
        .get("parameters")
        .and_then(Value::as_map)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

// --- users -----------------------------------------------------------------------------------------------
