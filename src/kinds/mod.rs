//! One module per resource kind: its schema and the checks that need only the resource itself.

use crate::schema::{Field, KindDef, Ty};

pub mod acm_certificate;
pub mod cloudfront_distribution;
pub mod cloudfront_origin_access_control;
pub mod cloudwatch_log_group;
pub mod dynamodb_table;
pub mod ecr_repository;
pub mod ecs_cluster;
pub mod ecs_service;
pub mod ecs_task_definition;
pub mod eip;
pub mod elasticache_parameter_group;
pub mod elasticache_replication_group;
pub mod elasticache_subnet_group;
pub mod elasticache_user;
pub mod elasticache_user_group;
pub mod guardduty_detector;
pub mod iam_oidc_provider;
pub mod iam_role;
pub mod internet_gateway;
pub mod kms_key;
pub mod lb;
pub mod lb_listener;
pub mod lb_listener_rule;
pub mod lb_target_group;
pub mod msk_cluster;
pub mod nat_gateway;
pub mod route53_record;
pub mod route53_zone;
pub mod route_table;
pub mod s3_bucket;
pub mod s3_bucket_policy;
pub mod security_group;
pub mod securityhub_account;
pub mod ssm_parameter;
pub mod subnet;
pub mod vpc;
pub mod wafv2_web_acl;
pub mod wafv2_web_acl_association;

pub mod reference;

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
    &route53_zone::KIND,
    &route53_record::KIND,
    &acm_certificate::KIND,
    &lb::KIND,
    &lb_target_group::KIND,
    &lb_listener::KIND,
    &lb_listener_rule::KIND,
    &wafv2_web_acl::KIND,
    &wafv2_web_acl_association::KIND,
    &cloudfront_origin_access_control::KIND,
    &cloudfront_distribution::KIND,
    &s3_bucket_policy::KIND,
    &ecr_repository::KIND,
    &cloudwatch_log_group::KIND,
    &ecs_cluster::KIND,
    &ecs_task_definition::KIND,
    &ecs_service::KIND,
    &elasticache_subnet_group::KIND,
    &elasticache_parameter_group::KIND,
    &elasticache_user::KIND,
    &elasticache_user_group::KIND,
    &elasticache_replication_group::KIND,
    &guardduty_detector::KIND,
    &securityhub_account::KIND,
];

/// Kinds whose replacement is a new resource beside the old one (a task definition's new revision): the
/// successor is created first, and the old one deleted once everything that used it has moved.
pub fn creates_before_delete(kind: &str) -> bool {
    self::kind(kind).is_some_and(|k| k.create_before_delete)
}

pub fn kind(name: &str) -> Option<&'static KindDef> {
    ALL.iter().copied().find(|k| k.name == name)
}

pub fn kind_names() -> Vec<&'static str> {
    ALL.iter().map(|k| k.name).collect()
}

/// Every kind's fields, flattened to paths (`container_definitions[].name` for a field of the objects
/// in a list), with their types: what tools outside the crate need to know of the schema.
pub fn to_json() -> serde_json::Value {
    fn ty_name(t: &Ty) -> String {
        match t {
            Ty::Str => "string".into(),
            Ty::Int => "integer".into(),
            Ty::Bool => "boolean".into(),
            Ty::Enum(_) => "enum".into(),
            Ty::Cidr => "cidr".into(),
            Ty::Ref(..) => "reference".into(),
            Ty::List(t) | Ty::Set(t) => format!("list<{}>", ty_name(t)),
            Ty::Map(t) => format!("map<{}>", ty_name(t)),
            Ty::Object(_) => "object".into(),
            Ty::Json => "json".into(),
            Ty::SecretEnv => "secret".into(),
        }
    }
    fn walk(prefix: &str, fields: &[Field], out: &mut Vec<serde_json::Value>) {
        for f in fields {
            let path = format!("{prefix}{}", f.name);
            out.push(serde_json::json!({ "path": path, "type": ty_name(&f.ty) }));
            match f.ty {
                Ty::Object(inner) => walk(&format!("{path}."), inner, out),
                Ty::List(Ty::Object(inner)) | Ty::Set(Ty::Object(inner)) => {
                    walk(&format!("{path}[]."), inner, out)
                }
                Ty::Map(Ty::Object(inner)) => walk(&format!("{path}{{}}."), inner, out),
                _ => {}
            }
        }
    }
    let kinds: serde_json::Map<String, serde_json::Value> = ALL
        .iter()
        .map(|k| {
            let mut fields = Vec::new();
            walk("", k.fields, &mut fields);
            (k.name.to_owned(), serde_json::Value::Array(fields))
        })
        .collect();
    serde_json::Value::Object(kinds)
}
