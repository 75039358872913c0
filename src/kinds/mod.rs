//! One module per resource kind: its schema and the checks that need only the resource itself.

use crate::schema::KindDef;

pub mod dynamodb_table;
pub mod eip;
pub mod guardduty_detector;
pub mod iam_oidc_provider;
pub mod iam_role;
pub mod internet_gateway;
pub mod kms_key;
pub mod msk_cluster;
pub mod nat_gateway;
pub mod route_table;
pub mod s3_bucket;
pub mod security_group;
pub mod securityhub_account;
pub mod ssm_parameter;
pub mod subnet;
pub mod vpc;

/// Every kind zinfra knows, in the order the reference documents them.
pub static ALL: &[&KindDef] = &[
    &kms_key::KIND,
    &vpc::KIND,
    &subnet::KIND,
    &internet_gateway::KIND,
    &eip::KIND,
    &nat_gateway::KIND,
    &route_table::KIND,
    &security_group::KIND,
    &s3_bucket::KIND,
    &dynamodb_table::KIND,
    &msk_cluster::KIND,
    &ssm_parameter::KIND,
    &iam_role::KIND,
    &iam_oidc_provider::KIND,
    &guardduty_detector::KIND,
    &securityhub_account::KIND,
];
