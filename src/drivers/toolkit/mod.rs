//! What every driver uses, written once: typed SDK errors, tag sync, ARNs, and the read side
//! (the [`Driver`] trait, the read context and the stack's tag index). Nothing here knows a service.

pub mod arn;
pub mod error;
pub mod read;
pub mod settle;
pub mod tags;

pub use arn::{arn, partition};
pub use error::{AllItems, AwsError, absent_if, delete_step, error_code, sdk_error};
pub use read::{Driver, ReadCx, ReadRun, TagIndex, Undeclared};
pub use settle::{POLL, code, retry_while};
pub use tags::{
    TagApi, TagChanges, build_tags, client_token, owned_address, string_map, sync_tags,
    tag_changes, tag_pairs, user_tags,
};

/// The shared configuration pointed at another region, for resources AWS requires there (CloudFront's
/// certificates and web ACLs live in us-east-1 whatever the stack's region). Build one client per region
/// at connect time and reuse it.
pub fn in_region(conf: &aws_config::SdkConfig, region: &str) -> aws_config::SdkConfig {
    conf.to_builder()
        .region(aws_config::Region::new(region.to_owned()))
        .build()
}

/// How [`unhandled`] starts, for the test that asks every driver for every in-place field.
pub const UNHANDLED: &str = "no in-place update for";

/// The error of an update asked to change a field its driver has no call for. The schema alone
/// decides what changes in place (a field not marked `force_new`); a driver never refuses such a
/// field, and this fires only if one lags behind its kind's schema, which `tests/drivers/updates.rs`
/// catches by asking every driver to update every in-place field.
pub fn unhandled(kind: &str, field: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{UNHANDLED} `{kind}.{field}`: the schema changes it in place but the driver has no call for it (a zinfra bug)"
    )
}

/// What an update returns: the resource by the file's address and tags, with its live id and
/// outputs (an update in place changes neither).
pub fn updated(r: &crate::model::Resolved, live: &crate::model::Live) -> crate::model::Live {
    let mut out = crate::model::Live::new(&r.address, &r.kind, &live.id);
    out.outputs = live.outputs.clone();
    out.tags = r.tags.clone();
    out
}
