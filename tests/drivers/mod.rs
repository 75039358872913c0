//! Driver tests against moto over HTTP: create, read back, update, delete, one module per service.

mod common;
mod dynamodb;
mod ec2;
mod guardduty;
mod iam;
mod kafka;
mod kms;
mod nat;
mod s3;
mod securityhub;
mod ssm;
