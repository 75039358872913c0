//! What every driver uses, written once: typed SDK errors, tag sync, ARNs, and the read side
//! (the [`Driver`] trait, the read context and the stack's tag index). Nothing here knows a service.

pub mod arn;
pub mod error;
pub mod read;
pub mod settle;
pub mod tags;

pub use arn::{arn, partition};
pub use error::{AwsError, absent_if, error_code, sdk_error};
pub use read::{Driver, ReadCx, ReadRun, TagIndex, Undeclared};
pub use settle::{POLL, code, retry_while};
pub use tags::{
    TagApi, TagChanges, client_token, owned_address, sync_tags, tag_changes, tag_pairs, user_tags,
};

/// The shared configuration pointed at another region, for resources AWS requires there (CloudFront's
/// certificates and web ACLs live in us-east-1 whatever the stack's region). Build one client per region
/// at connect time and reuse it.
pub fn in_region(conf: &aws_config::SdkConfig, region: &str) -> aws_config::SdkConfig {
    conf.to_builder()
        .region(aws_config::Region::new(region.to_owned()))
        .build()
}
