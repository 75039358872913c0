//! Driver tests against moto over HTTP: create, read back, update, delete, one module per service.

mod acm;
mod common;
mod dynamodb;
mod ec2;
mod elbv2;
mod iam;
mod kms;
mod route53;
mod s3;
mod ssm;
