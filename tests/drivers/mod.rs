//! Driver tests against moto over HTTP: create, read back, update, delete, one module per service.

mod acm;
mod cloudfront;
pub(crate) mod common;
mod dynamodb;
mod ec2;
mod ecr;
mod ecs;
mod elasticache;
mod elbv2;
mod guardduty;
mod iam;
mod kafka;
mod kms;
mod logs;
mod nat;
mod route53;
mod s3;
mod s3_bucket_policy;
mod securityhub;
mod ssm;
mod updates;
pub(crate) mod wafv2;
