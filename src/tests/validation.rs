//! Each class of bad input, with the exact message a user sees.

use super::Case;

#[test]
fn toml_syntax() {
    Case::new(
        "
        [vpc.main]
        cidr_block = \"10.0.0.0/16
        ",
    )
    .errors(
        "
        error: invalid TOML: invalid basic string, expected `\"`
          --> stack.toml:7:26
          |
        7 | cidr_block = \"10.0.0.0/16
          |                          ^ here
        ",
    );
}

#[test]
fn missing_stack_table() {
    Case::raw(
        "
        [vpc.main]
        cidr_block = \"10.0.0.0/16\"
        ",
    )
    .errors(
        "
        error: missing `[stack]` table
          --> stack.toml:1:1
          |
        1 | [vpc.main]
          | ^ expected here
          |
          = help: add `[stack]` with `name`, `environment` and `region`
        ",
    );
}

#[test]
fn unknown_kind() {
    Case::new(
        "
        [vpcc.main]
        cidr_block = \"10.0.0.0/16\"
        ",
    )
    .errors(
        "
        error: unknown resource kind `vpcc`
          --> stack.toml:6:2
          |
        6 | [vpcc.main]
          |  ^^^^ unknown kind
          |
          = help: did you mean `vpc`?
        ",
    );
}

#[test]
fn unknown_field() {
    Case::new(
        "
        [vpc.main]
        cidr_blok = \"10.0.0.0/16\"
        ",
    )
    .errors(
        "
        error: unknown field `cidr_blok` in vpc.main
          --> stack.toml:7:1
          |
        7 | cidr_blok = \"10.0.0.0/16\"
          | ^^^^^^^^^ unknown field
          |
          = help: did you mean `cidr_block`?

        error: missing required field `cidr_block` in vpc.main
          --> stack.toml:6:6
          |
        6 | [vpc.main]
          |      ^^^^ `cidr_block` is required here
          |
          = help: cidr_block: IPv4 range, e.g. `10.0.0.0/16`.
        ",
    );
}

#[test]
fn wrong_type() {
    Case::new(
        "
        [vpc.main]
        cidr_block = \"10.0.0.0/16\"
        enable_dns_support = \"yes\"
        ",
    )
    .errors(
        "
        error: wrong type for `enable_dns_support` in vpc.main: expected a boolean, found string
          --> stack.toml:8:22
          |
        8 | enable_dns_support = \"yes\"
          |                      ^^^^^ expected a boolean
        ",
    );
}

#[test]
fn missing_required_field() {
    Case::new(
        "
        [vpc.main]
        cidr_block = \"10.0.0.0/16\"

        [subnet.a]
        vpc = \"vpc.main\"
        availability_zone = \"us-east-1a\"
        ",
    )
    .errors(
        "
        error: missing required field `cidr_block` in subnet.a
          --> stack.toml:9:9
          |
        9 | [subnet.a]
          |         ^ `cidr_block` is required here
          |
          = help: cidr_block: IPv4 range inside the VPC's.
        ",
    );
}

#[test]
fn dangling_reference() {
    Case::new(
        "
        [vpc.main]
        cidr_block = \"10.0.0.0/16\"

        [subnet.a]
        vpc = \"vpc.mian\"
        cidr_block = \"10.0.1.0/24\"
        availability_zone = \"us-east-1a\"
        ",
    )
    .errors(
        "
        error: reference to undeclared resource `vpc.mian`
           --> stack.toml:10:7
           |
        10 | vpc = \"vpc.mian\"
           |       ^^^^^^^^^^ in subnet.a
           |
           = help: did you mean `vpc.main`?
        ",
    );
}

#[test]
fn reference_to_wrong_kind() {
    Case::new(
        "
        [vpc.main]
        cidr_block = \"10.0.0.0/16\"

        [subnet.a]
        vpc = \"vpc.main\"
        cidr_block = \"10.0.1.0/24\"
        availability_zone = \"us-east-1a\"

        [internet_gateway.gw]
        vpc = \"subnet.a\"
        ",
    )
    .errors(
        "
        error: `vpc` in internet_gateway.gw must reference `vpc`, not `subnet`
           --> stack.toml:15:7
           |
        15 | vpc = \"subnet.a\"
           |       ^^^^^^^^^^ this is a subnet
           |
           = help: reference a resource like \"vpc.<name>\"
        ",
    );
}

#[test]
fn dependency_cycle() {
    Case::new(
        "
        [vpc.main]
        cidr_block = \"10.0.0.0/16\"

        [security_group.a]
        vpc = \"vpc.main\"
        ingress = [{ from_port = 1, to_port = 1, security_groups = [\"security_group.b\"] }]

        [security_group.b]
        vpc = \"vpc.main\"
        ingress = [{ from_port = 1, to_port = 1, security_groups = [\"security_group.a\"] }]
        ",
    )
    .errors(
        "
        error: dependency cycle: security_group.a -> security_group.b -> security_group.a
           --> stack.toml:11:61
           |
        11 | ingress = [{ from_port = 1, to_port = 1, security_groups = [\"security_group.b\"] }]
           |                                                             ^^^^^^^^^^^^^^^^^^ security_group.a depends on security_group.b here
           |
           = help: break the cycle: resources cannot depend on themselves, directly or through others
        ",
    );
}

#[test]
fn invalid_cidr() {
    Case::new(
        "
        [vpc.main]
        cidr_block = \"10.0.0.0/33\"

        [vpc.other]
        cidr_block = \"10.1.0.1/16\"
        ",
    )
    .errors(
        "
        error: invalid CIDR block \"10.0.0.0/33\" for `cidr_block` in vpc.main
          --> stack.toml:7:14
          |
        7 | cidr_block = \"10.0.0.0/33\"
          |              ^^^^^^^^^^^^^ not an IPv4 CIDR block
          |
          = help: write it as `a.b.c.d/n`, e.g. \"10.0.0.0/16\"

        error: invalid CIDR block \"10.1.0.1/16\" for `cidr_block` in vpc.other: host bits are set
           --> stack.toml:10:14
           |
        10 | cidr_block = \"10.1.0.1/16\"
           |              ^^^^^^^^^^^^^ not a network address
           |
           = help: did you mean \"10.1.0.0/16\"?
        ",
    );
}

#[test]
fn subnet_outside_vpc() {
    Case::new(
        "
        [vpc.main]
        cidr_block = \"10.0.0.0/16\"

        [subnet.a]
        vpc = \"vpc.main\"
        cidr_block = \"10.1.0.0/24\"
        availability_zone = \"us-east-1a\"
        ",
    )
    .errors(
        "
        error: subnet CIDR 10.1.0.0/24 is outside its VPC's 10.0.0.0/16
           --> stack.toml:11:14
           |
        11 | cidr_block = \"10.1.0.0/24\"
           |              ^^^^^^^^^^^^^ in subnet.a
           |
           = help: vpc.main has 10.0.0.0/16; pick a range inside it
        ",
    );
}

#[test]
fn overlapping_subnets() {
    Case::new(
        "
        [vpc.main]
        cidr_block = \"10.0.0.0/16\"

        [subnet.a]
        vpc = \"vpc.main\"
        cidr_block = \"10.0.0.0/23\"
        availability_zone = \"us-east-1a\"

        [subnet.b]
        vpc = \"vpc.main\"
        cidr_block = \"10.0.1.0/24\"
        availability_zone = \"us-east-1b\"
        ",
    )
    .errors(
        "
        error: subnet CIDR 10.0.1.0/24 overlaps subnet.a (10.0.0.0/23)
           --> stack.toml:16:14
           |
        16 | cidr_block = \"10.0.1.0/24\"
           |              ^^^^^^^^^^^^^ in subnet.b
           |
           = help: subnets of one VPC must not overlap
        ",
    );
}

#[test]
fn invalid_bucket_name() {
    Case::new(
        "
        [s3_bucket.assets]
        bucket = \"Zenoo_Assets\"
        ",
    )
    .errors(
        "
        error: invalid S3 bucket name
          --> stack.toml:7:10
          |
        7 | bucket = \"Zenoo_Assets\"
          |          ^^^^^^^^^^^^^^ in s3_bucket.assets
          |
          = help: use only lowercase letters, digits, `.` and `-`
        ",
    );
}

#[test]
fn invalid_table_name_length() {
    Case::new(
        "
        [dynamodb_table.t]
        table_name = \"ab\"
        hash_key = \"pk\"
        attributes = { pk = \"S\" }
        ",
    )
    .errors(
        "
        error: invalid DynamoDB table name
          --> stack.toml:7:14
          |
        7 | table_name = \"ab\"
          |              ^^^^ in dynamodb_table.t
          |
          = help: 3 to 255 characters: letters, digits, `_`, `-` and `.`
        ",
    );
}

#[test]
fn duplicate_physical_names() {
    Case::new(
        "
        [s3_bucket.a]
        bucket = \"zenoo-assets\"

        [s3_bucket.b]
        bucket = \"zenoo-assets\"
        ",
    )
    .errors(
        "
        error: duplicate s3_bucket `bucket` \"zenoo-assets\"
           --> stack.toml:10:10
           |
        10 | bucket = \"zenoo-assets\"
           |          ^^^^^^^^^^^^^^ s3_bucket.a already uses this name
           |
           = help: physical names must be unique within a stack
        ",
    );
}

#[test]
fn invalid_enum_value() {
    Case::new(
        "
        [s3_bucket.a]
        bucket = \"zenoo-assets\"
        sse_algorithm = \"AES265\"
        ",
    )
    .errors(
        "
        error: invalid value \"AES265\" for `sse_algorithm` in s3_bucket.a
          --> stack.toml:8:17
          |
        8 | sse_algorithm = \"AES265\"
          |                 ^^^^^^^^ not allowed here
          |
          = help: did you mean \"AES256\"?
        ",
    );
}

#[test]
fn a_secret_variable_is_not_needed_to_load_a_stack() {
    // Write-only secrets: plan never needs the variable; apply asks for it when it writes.
    let s = Case::new(
        "
        [ssm_parameter.db]
        name = \"/t/db\"
        value_from_env = \"UNSET_VAR\"
        value_version = 3
        ",
    )
    .ok();
    match s.get("ssm_parameter.db").unwrap().props.get("value") {
        Some(crate::model::Value::Secret(secret)) => {
            assert_eq!((secret.env.as_str(), secret.version), ("UNSET_VAR", 3));
            assert!(secret.value.is_none());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_secret_version_starts_at_one_and_needs_a_secret() {
    Case::new(
        "
        [ssm_parameter.db]
        name = \"/t/db\"
        value_from_env = \"SET_VAR\"
        value_version = 0
        ",
    )
    .errors(
        "
        error: versions start at 1
          --> stack.toml:9:17
          |
        9 | value_version = 0
          |                 ^ in ssm_parameter.db
          |
          = help: use 1 or more
        ",
    );
    Case::new(
        "
        [ssm_parameter.db]
        name = \"/t/db\"
        type = \"String\"
        value = \"x\"
        value_version = 2
        ",
    )
    .errors(
        "
        error: `value_version` versions a value from `value_from_env`
           --> stack.toml:10:17
           |
        10 | value_version = 2
           |                 ^ in ssm_parameter.db
           |
           = help: remove it, or take the value from the environment
        ",
    );
}

#[test]
fn secret_value_in_file() {
    Case::new(
        "
        [ssm_parameter.db]
        name = \"/t/db\"
        type = \"SecureString\"
        value = \"hunter2\"
        ",
    )
    .errors(
        "
        error: secret values never live in the stack file
          --> stack.toml:9:9
          |
        9 | value = \"hunter2\"
          |         ^^^^^^^^^ in ssm_parameter.db
          |
          = help: use `value_from_env = \"ENV_VAR\"`
        ",
    );
}

#[test]
fn secret_is_loaded_and_never_debug_printed() {
    let s = Case::new(
        "
        [ssm_parameter.db]
        name = \"/t/db\"
        value_from_env = \"SET_VAR\"
        ",
    )
    .ok();
    let r = &s.resources[0];
    assert_eq!(
        crate::model::PropsExt::secret(&r.props, "value"),
        Some("s3cr3t-value")
    );
    assert!(!format!("{r:?}").contains("s3cr3t"));
    assert!(!serde_json::to_string(r).unwrap().contains("s3cr3t"));
}

#[test]
fn reference_stacks_are_valid() {
    for path in ["stacks/zenoo-dev.toml", "stacks/zenoo-prod.toml"] {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/").to_owned() + path)
                .unwrap();
        let env = |_: &str| Some("x-demo-secret-0123456789".to_owned());
        if let Err(inv) = crate::validate::load(path, text, &env) {
            panic!("{}", inv.render(false));
        }
    }
}

#[test]
fn defaults_are_secure() {
    let s = Case::new(
        "
        [s3_bucket.a]
        bucket = \"zenoo-assets\"

        [kms_key.k]

        [dynamodb_table.t]
        hash_key = \"pk\"
        attributes = { pk = \"S\" }
        ",
    )
    .ok();
    let get = |a: &str, f: &str| s.get(a).unwrap().props.get(f).cloned();
    use crate::model::Value::*;
    assert_eq!(
        get("s3_bucket.a", "sse_algorithm"),
        Some(Str("AES256".into()))
    );
    assert_eq!(get("s3_bucket.a", "block_public_access"), Some(Bool(true)));
    assert_eq!(get("kms_key.k", "enable_key_rotation"), Some(Bool(true)));
    assert_eq!(
        get("dynamodb_table.t", "point_in_time_recovery"),
        Some(Bool(true))
    );
    assert_eq!(
        get("dynamodb_table.t", "ttl_attribute"),
        Some(Str("expires_at".into()))
    );
    assert_eq!(
        get("dynamodb_table.t", "table_name"),
        Some(Str("t-t".into()))
    );
}

#[test]
fn unknown_attribute_in_policy_reference() {
    Case::new(
        "
        [kms_key.k]

        [iam_role.r]
        assume_role_policy = { Statement = [{ Resource = \"${kms_key.k.name}\" }] }
        ",
    )
    .errors(
        "
        error: unknown attribute `name` of `kms_key.k`
          --> stack.toml:9:22
          |
        9 | assume_role_policy = { Statement = [{ Resource = \"${kms_key.k.name}\" }] }
          |                      ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ in iam_role.r
          |
          = help: kms_key exposes id, arn
        ",
    );
}

#[test]
fn security_group_rules() {
    Case::new(
        "
        [vpc.main]
        cidr_block = \"10.0.0.0/16\"

        [security_group.a]
        vpc = \"vpc.main\"
        ingress = [{ from_port = 443, to_port = 443 }]
        egress = [{ protocol = \"-1\", from_port = 0, to_port = 65535, cidr_blocks = [\"0.0.0.0/0\"] }]
        ",
    )
    .errors(
        "
        error: security group rule without a source
           --> stack.toml:11:12
           |
        11 | ingress = [{ from_port = 443, to_port = 443 }]
           |            ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ in security_group.a
           |
           = help: give `cidr_blocks`, `security_groups` or `self = true`

        error: protocol \"-1\" covers every port
           --> stack.toml:12:11
           |
        12 | egress = [{ protocol = \"-1\", from_port = 0, to_port = 65535, cidr_blocks = [\"0.0.0.0/0\"] }]
           |           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ in security_group.a
           |
           = help: write `from_port = 0, to_port = 0`
        ",
    );
}

#[test]
fn kms_key_on_a_plain_parameter() {
    Case::new(
        "
        [kms_key.k]

        [ssm_parameter.p]
        name = \"/t/p\"
        type = \"String\"
        value = \"x\"
        kms_key = \"kms_key.k\"
        ",
    )
    .errors(
        "
        error: only SecureString parameters are encrypted
           --> stack.toml:12:11
           |
        12 | kms_key = \"kms_key.k\"
           |           ^^^^^^^^^^^ in ssm_parameter.p
           |
           = help: remove `kms_key`, or set `type = \"SecureString\"`
        ",
    );
}

#[test]
fn invalid_timeout() {
    Case::new(
        "
        [vpc.main]
        cidr_block = \"10.0.0.0/16\"
        timeout = \"20 minutes\"
        ",
    )
    .errors(
        "
        error: invalid timeout in vpc.main
          --> stack.toml:8:11
          |
        8 | timeout = \"20 minutes\"
          |           ^^^^^^^^^^^^ not a duration
          |
          = help: write a duration such as \"90s\", \"20m\" or \"1h30m\"
        ",
    );
}

#[test]
fn protected_must_be_a_boolean() {
    Case::raw(
        "
        [stack]
        name = \"t\"
        environment = \"prod\"
        region = \"us-east-1\"
        protected = \"yes\"
        ",
    )
    .errors(
        "
        error: wrong type for `protected` in [stack]: expected a boolean, found string
          --> stack.toml:5:13
          |
        5 | protected = \"yes\"
          |             ^^^^^ expected true or false
          |
          = help: `protected = true` makes `zinfra destroy` refuse to run on this stack
        ",
    );
}

/// The front door's resources, for the checks below: a zone, a certificate, an ALB and its listeners.
const FRONT: &str = "
[vpc.main]
cidr_block = \"10.0.0.0/16\"

[subnet.a]
vpc = \"vpc.main\"
cidr_block = \"10.0.1.0/24\"
availability_zone = \"us-east-1a\"
tier = \"public\"

[subnet.b]
vpc = \"vpc.main\"
cidr_block = \"10.0.2.0/24\"
availability_zone = \"us-east-1b\"
tier = \"public\"

[security_group.alb]
vpc = \"vpc.main\"

[route53_zone.main]
name = \"dev.zenoo.example\"

[acm_certificate.alb]
domain_name = \"api.dev.zenoo.example\"
zone = \"route53_zone.main\"

[lb.web]
subnets = [\"subnet.a\", \"subnet.b\"]
security_groups = [\"security_group.alb\"]

[lb_target_group.api]
vpc = \"vpc.main\"
port = 8080
";

/// A case made of the front door's resources plus `body`.
fn front(body: &str) -> Case {
    Case::new(&format!("{FRONT}{}", super::unindent(body)))
}

#[test]
fn front_door_is_valid() {
    front(
        "
        [lb_listener.http]
        load_balancer = \"lb.web\"
        port = 80
        protocol = \"HTTP\"
        default_action = \"redirect-https\"

        [lb_listener.https]
        load_balancer = \"lb.web\"
        port = 443
        protocol = \"HTTPS\"
        certificate = \"acm_certificate.alb\"
        default_action = \"forward\"
        target_group = \"lb_target_group.api\"

        [lb_listener_rule.api]
        listener = \"lb_listener.https\"
        priority = 10
        host_headers = [\"api.dev.zenoo.example\"]
        target_group = \"lb_target_group.api\"

        [route53_record.api]
        zone = \"route53_zone.main\"
        name = \"api.dev.zenoo.example\"
        type = \"A\"
        alias = \"lb.web\"
        ",
    )
    .ok();
}

#[test]
fn http_listener_that_forwards() {
    front(
        "
        [lb_listener.http]
        load_balancer = \"lb.web\"
        port = 80
        protocol = \"HTTP\"
        default_action = \"forward\"
        target_group = \"lb_target_group.api\"
        ",
    )
    .errors(
        "
        error: an HTTP listener can only redirect to HTTPS
           --> stack.toml:42:18
           |
        42 | default_action = \"forward\"
           |                  ^^^^^^^^^ in lb_listener.http
           |
           = help: write `default_action = \"redirect-https\"`, and forward from an HTTPS listener
        ",
    );
}

#[test]
fn forwarding_rule_on_an_http_listener() {
    front(
        "
        [lb_listener.http]
        load_balancer = \"lb.web\"
        port = 80
        protocol = \"HTTP\"
        default_action = \"redirect-https\"

        [lb_listener_rule.api]
        listener = \"lb_listener.http\"
        priority = 10
        path_patterns = [\"/api/*\"]
        target_group = \"lb_target_group.api\"
        ",
    )
    .errors(
        "
        error: lb_listener.http is an HTTP listener: it only redirects to HTTPS
           --> stack.toml:45:12
           |
        45 | listener = \"lb_listener.http\"
           |            ^^^^^^^^^^^^^^^^^^ in lb_listener_rule.api
           |
           = help: attach forwarding rules to the HTTPS listener
        ",
    );
}

#[test]
fn unknown_tls_policy() {
    front(
        "
        [lb_listener.https]
        load_balancer = \"lb.web\"
        port = 443
        protocol = \"HTTPS\"
        certificate = \"acm_certificate.alb\"
        ssl_policy = \"ELBSecurityPolicy-2016-08\"
        default_action = \"fixed-response\"
        ",
    )
    .errors(
        "
        error: invalid value \"ELBSecurityPolicy-2016-08\" for `ssl_policy` in lb_listener.https
           --> stack.toml:43:14
           |
        43 | ssl_policy = \"ELBSecurityPolicy-2016-08\"
           |              ^^^^^^^^^^^^^^^^^^^^^^^^^^^ not allowed here
           |
           = help: did you mean \"ELBSecurityPolicy-TLS-1-2-Ext-2018-06\"?
        ",
    );
}

#[test]
fn https_listener_without_certificate() {
    front(
        "
        [lb_listener.https]
        load_balancer = \"lb.web\"
        port = 443
        protocol = \"HTTPS\"
        default_action = \"fixed-response\"
        ",
    )
    .errors(
        "
        error: HTTPS listener without a certificate
           --> stack.toml:38:14
           |
        38 | [lb_listener.https]
           |              ^^^^^ in lb_listener.https
           |
           = help: add `certificate = \"acm_certificate.<name>\"`
        ",
    );
}

#[test]
fn certificate_validated_by_email() {
    Case::new(
        "
        [route53_zone.main]
        name = \"dev.zenoo.example\"

        [acm_certificate.alb]
        domain_name = \"api.dev.zenoo.example\"
        validation_method = \"EMAIL\"
        zone = \"route53_zone.main\"
        ",
    )
    .errors(
        "
        error: invalid value \"EMAIL\" for `validation_method` in acm_certificate.alb
           --> stack.toml:11:21
           |
        11 | validation_method = \"EMAIL\"
           |                     ^^^^^^^ not allowed here
           |
           = help: expected one of \"DNS\"
        ",
    );
}

#[test]
fn certificate_name_outside_its_validation_zone() {
    Case::new(
        "
        [route53_zone.main]
        name = \"dev.zenoo.example\"

        [acm_certificate.alb]
        domain_name = \"api.dev.zenoo.example\"
        subject_alternative_names = [\"api.prod.zenoo.example\"]
        zone = \"route53_zone.main\"
        ",
    )
    .errors(
        "
        error: `api.prod.zenoo.example` is outside the validation zone `dev.zenoo.example`
           --> stack.toml:11:30
           |
        11 | subject_alternative_names = [\"api.prod.zenoo.example\"]
           |                              ^^^^^^^^^^^^^^^^^^^^^^^^ in acm_certificate.alb
           |
           = help: DNS validation records are written into `zone`: every name must end in the zone's name
        ",
    );
}

#[test]
fn record_outside_its_zone_and_alias_with_ttl() {
    front(
        "
        [route53_record.api]
        zone = \"route53_zone.main\"
        name = \"api.zenoo.example\"
        type = \"A\"
        ttl = 300
        alias = \"lb.web\"
        ",
    )
    .errors(
        "
        error: an alias record has no TTL
           --> stack.toml:42:7
           |
        42 | ttl = 300
           |       ^^^ in route53_record.api
           |
           = help: remove `ttl`: Route53 answers with the target's TTL

        error: record name `api.zenoo.example` is outside its zone `dev.zenoo.example`
           --> stack.toml:40:8
           |
        40 | name = \"api.zenoo.example\"
           |        ^^^^^^^^^^^^^^^^^^^ in route53_record.api
           |
           = help: write the full name, ending in `dev.zenoo.example`
        ",
    );
}

#[test]
fn record_with_static_addresses_and_an_alias() {
    front(
        "
        [route53_record.api]
        zone = \"route53_zone.main\"
        name = \"api.dev.zenoo.example\"
        type = \"A\"
        ttl = 300
        records = [\"203.0.113.10\"]
        alias = \"lb.web\"
        ",
    )
    .errors(
        "
        error: a record has either `records` or `alias`, not both
           --> stack.toml:44:9
           |
        44 | alias = \"lb.web\"
           |         ^^^^^^^^ in route53_record.api
           |
           = help: remove `records` to point at the target by name, or remove `alias`

        error: an alias record has no TTL
           --> stack.toml:42:7
           |
        42 | ttl = 300
           |       ^^^ in route53_record.api
           |
           = help: remove `ttl`: Route53 answers with the target's TTL
        ",
    );
}

#[test]
fn internet_facing_load_balancer_in_a_private_subnet() {
    Case::new(
        "
        [vpc.main]
        cidr_block = \"10.0.0.0/16\"

        [subnet.a]
        vpc = \"vpc.main\"
        cidr_block = \"10.0.1.0/24\"
        availability_zone = \"us-east-1a\"
        tier = \"public\"

        [subnet.private]
        vpc = \"vpc.main\"
        cidr_block = \"10.0.2.0/24\"
        availability_zone = \"us-east-1b\"

        [security_group.alb]
        vpc = \"vpc.main\"

        [lb.web]
        subnets = [\"subnet.a\", \"subnet.private\"]
        security_groups = [\"security_group.alb\"]
        ",
    )
    .errors(
        "
        error: internet-facing load balancer in private subnet subnet.private
           --> stack.toml:24:24
           |
        24 | subnets = [\"subnet.a\", \"subnet.private\"]
           |                        ^^^^^^^^^^^^^^^^ in lb.web
           |
           = help: use subnets with `tier = \"public\"`, or set `scheme = \"internal\"`
        ",
    );
}

#[test]
fn certificate_repeats_its_main_name() {
    Case::new(
        "
        [route53_zone.main]
        name = \"dev.zenoo.example\"

        [acm_certificate.alb]
        domain_name = \"api.dev.zenoo.example\"
        subject_alternative_names = [\"api.dev.zenoo.example\"]
        zone = \"route53_zone.main\"
        ",
    )
    .errors(
        "
        error: the main name is repeated in `subject_alternative_names`
           --> stack.toml:11:30
           |
        11 | subject_alternative_names = [\"api.dev.zenoo.example\"]
           |                              ^^^^^^^^^^^^^^^^^^^^^^^ in acm_certificate.alb
           |
           = help: remove it: the certificate always covers `domain_name`
        ",
    );
}

#[test]
fn load_balancer_in_one_availability_zone() {
    Case::new(
        "
        [vpc.main]
        cidr_block = \"10.0.0.0/16\"

        [subnet.a]
        vpc = \"vpc.main\"
        cidr_block = \"10.0.1.0/24\"
        availability_zone = \"us-east-1a\"
        tier = \"public\"

        [subnet.a2]
        vpc = \"vpc.main\"
        cidr_block = \"10.0.2.0/24\"
        availability_zone = \"us-east-1a\"
        tier = \"public\"

        [security_group.alb]
        vpc = \"vpc.main\"

        [lb.web]
        subnets = [\"subnet.a\", \"subnet.a2\"]
        security_groups = [\"security_group.alb\"]
        ",
    )
    .errors(
        "
        error: all the load balancer's subnets are in us-east-1a
           --> stack.toml:25:11
           |
        25 | subnets = [\"subnet.a\", \"subnet.a2\"]
           |           ^^^^^^^^^^^^^^^^^^^^^^^^^ in lb.web
           |
           = help: give subnets in at least two availability zones
        ",
    );
}

#[test]
fn cloudfront_viewers_must_use_https_and_tls_1_2() {
    Case::new(
        "
        [s3_bucket.site]
        bucket = \"zenoo-site\"

        [cloudfront_origin_access_control.site]

        [cloudfront_distribution.cdn]
        origins = [{ origin_id = \"site\", bucket = \"s3_bucket.site\", origin_access_control = \"cloudfront_origin_access_control.site\" }]
        viewer_protocol_policy = \"allow-all\"
        minimum_protocol_version = \"TLSv1.1_2016\"
        aliases = [\"www.zenoo.com\"]
        ",
    )
    .errors(
        "
        error: viewers must use HTTPS
           --> stack.toml:13:26
           |
        13 | viewer_protocol_policy = \"allow-all\"
           |                          ^^^^^^^^^^^ in cloudfront_distribution.cdn
           |
           = help: use \"redirect-to-https\" (the default) or \"https-only\"

        error: `TLSv1.1_2016` allows TLS older than 1.2
           --> stack.toml:14:28
           |
        14 | minimum_protocol_version = \"TLSv1.1_2016\"
           |                            ^^^^^^^^^^^^^^ in cloudfront_distribution.cdn
           |
           = help: use \"TLSv1.2_2021\" (the default) or another TLSv1.2 policy

        error: aliases need a certificate
           --> stack.toml:15:11
           |
        15 | aliases = [\"www.zenoo.com\"]
           |           ^^^^^^^^^^^^^^^^^ in cloudfront_distribution.cdn
           |
           = help: add `certificate = \"acm_certificate.<name>\"` covering every alias
        ",
    );
}

#[test]
fn cloudfront_takes_only_a_cloudfront_web_acl() {
    Case::new(
        "
        [s3_bucket.site]
        bucket = \"zenoo-site\"

        [cloudfront_origin_access_control.site]

        [wafv2_web_acl.alb]

        [cloudfront_distribution.cdn]
        origins = [{ origin_id = \"site\", bucket = \"s3_bucket.site\", origin_access_control = \"cloudfront_origin_access_control.site\" }]
        default_origin = \"assets\"
        web_acl = \"wafv2_web_acl.alb\"
        ",
    )
    .errors(
        "
        error: wafv2_web_acl.alb is not a CLOUDFRONT web ACL
           --> stack.toml:16:11
           |
        16 | web_acl = \"wafv2_web_acl.alb\"
           |           ^^^^^^^^^^^^^^^^^^^ in cloudfront_distribution.cdn
           |
           = help: CloudFront takes only web ACLs with `scope = \"CLOUDFRONT\"`

        error: no origin has the id `assets`
           --> stack.toml:15:18
           |
        15 | default_origin = \"assets\"
           |                  ^^^^^^^^ in cloudfront_distribution.cdn
           |
           = help: use one of: site
        ",
    );
}

#[test]
fn web_acl_keeps_the_baseline_rules() {
    Case::new(
        "
        [wafv2_web_acl.alb]
        common_rule_set = false
        rate_limit = 5
        max_body_size = 65536
        managed_rule_groups = [\"AWSManagedRulesKnownBadInputsRuleSet\", \"MyRules\"]
        ",
    )
    .errors(
        "
        error: the security baseline requires `AWSManagedRulesCommonRuleSet` in every web ACL
          --> stack.toml:7:19
          |
        7 | common_rule_set = false
          |                   ^^^^^ in wafv2_web_acl.alb
          |
          = help: remove `common_rule_set = false`

        error: rate limit out of range
          --> stack.toml:8:14
          |
        8 | rate_limit = 5
          |              ^ in wafv2_web_acl.alb
          |
          = help: AWS WAF takes 10 to 2000000000 requests per 5 minutes

        error: body size limit out of range
          --> stack.toml:9:17
          |
        9 | max_body_size = 65536
          |                 ^^^^^ in wafv2_web_acl.alb
          |
          = help: 1 to 8192 bytes: AWS WAF inspects only the first 8 KB of a body, so a larger limit could not be enforced

        error: `AWSManagedRulesKnownBadInputsRuleSet` is already part of every web ACL
           --> stack.toml:10:24
           |
        10 | managed_rule_groups = [\"AWSManagedRulesKnownBadInputsRuleSet\", \"MyRules\"]
           |                        ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ in wafv2_web_acl.alb
           |
           = help: remove it from the list; `known_bad_inputs` keeps it

        error: `MyRules` is not an AWS managed rule group
           --> stack.toml:10:64
           |
        10 | managed_rule_groups = [\"AWSManagedRulesKnownBadInputsRuleSet\", \"MyRules\"]
           |                                                                ^^^^^^^^^ in wafv2_web_acl.alb
           |
           = help: AWS managed rule group names begin with `AWSManagedRules`
        ",
    );
}

#[test]
fn bucket_policy_declared_once_and_without_id() {
    Case::new(
        "
        [s3_bucket.site]
        bucket = \"zenoo-site\"
        policy = { Version = \"2012-10-17\", Statement = [{ Effect = \"Deny\", Principal = \"*\", Action = \"s3:*\", Resource = \"*\" }] }

        [s3_bucket_policy.site]
        bucket = \"s3_bucket.site\"
        policy = { Id = \"mine\", Version = \"2012-10-17\", Statement = [{ Effect = \"Deny\", Principal = \"*\", Action = \"s3:*\", Resource = \"*\" }] }
        ",
    )
    .errors(
        "
        error: the policy's `Id` is set by zinfra
           --> stack.toml:12:10
           |
        12 | policy = { Id = \"mine\", Version = \"2012-10-17\", Statement = [{ Effect = \"Deny\", Principal = \"*\", Action = \"s3:*\", Resource = \"*\" }] }
           |          ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ in s3_bucket_policy.site
           |
           = help: remove `Id`: zinfra writes its own there to find the policy again (bucket policies carry no tags)

        error: s3_bucket.site already declares a `policy`
           --> stack.toml:11:10
           |
        11 | bucket = \"s3_bucket.site\"
           |          ^^^^^^^^^^^^^^^^ in s3_bucket_policy.site
           |
           = help: declare the policy in one place: remove `policy` from the bucket or this resource
        ",
    );
}

#[test]
fn frontend_defaults_are_secure() {
    let s = Case::new(
        "
        [s3_bucket.site]
        bucket = \"zenoo-site\"

        [cloudfront_origin_access_control.site]

        [wafv2_web_acl.cdn]
        scope = \"CLOUDFRONT\"

        [cloudfront_distribution.cdn]
        origins = [{ origin_id = \"site\", bucket = \"s3_bucket.site\", origin_access_control = \"cloudfront_origin_access_control.site\" }]
        web_acl = \"wafv2_web_acl.cdn\"
        ",
    )
    .ok();
    let get = |a: &str, f: &str| s.get(a).unwrap().props.get(f).cloned();
    use crate::model::Value::*;
    for (f, v) in [
        ("ip_reputation_list", Bool(true)),
        ("known_bad_inputs", Bool(true)),
        ("common_rule_set", Bool(true)),
        ("rate_limit", Int(2000)),
        ("max_body_size", Int(8192)),
        ("default_action", Str("allow".into())),
    ] {
        assert_eq!(get("wafv2_web_acl.cdn", f), Some(v), "{f}");
    }
    for (f, v) in [
        ("viewer_protocol_policy", "redirect-to-https"),
        ("minimum_protocol_version", "TLSv1.2_2021"),
        ("default_root_object", "index.html"),
        ("cache_policy_id", "658327ea-f89d-4fab-a63d-7e88639e58f6"),
    ] {
        assert_eq!(
            get("cloudfront_distribution.cdn", f),
            Some(Str(v.into())),
            "{f}"
        );
    }
    assert_eq!(
        get("cloudfront_origin_access_control.site", "signing_behavior"),
        Some(Str("always".into()))
    );
}

/// A role ECS tasks can assume, for the task definition cases below.
const ECS_ROLES: &str = "
        [iam_role.exec]
        assume_role_policy = { Version = \"2012-10-17\", Statement = [{ Effect = \"Allow\", Principal = { Service = \"ecs-tasks.amazonaws.com\" }, Action = \"sts:AssumeRole\" }] }

        [iam_role.app]
        assume_role_policy = { Version = \"2012-10-17\", Statement = [{ Effect = \"Allow\", Principal = { Service = \"ecs-tasks.amazonaws.com\" }, Action = \"sts:AssumeRole\" }] }
";

#[test]
fn fargate_task_sizes() {
    Case::new(&format!(
        "{ECS_ROLES}
        [ecs_task_definition.small]
        cpu = 256
        memory = 4096
        execution_role = \"iam_role.exec\"
        container_definitions = [{{ name = \"app\", image = \"nginx:1.27\" }}]

        [ecs_task_definition.odd]
        cpu = 300
        memory = 1024
        execution_role = \"iam_role.exec\"
        container_definitions = [{{ name = \"app\", image = \"nginx:1.27\" }}]

        [ecs_task_definition.big]
        cpu = 1024
        memory = 1536
        execution_role = \"iam_role.exec\"
        container_definitions = [{{ name = \"app\", image = \"nginx:1.27\" }}]
        "
    ))
    .errors(
        "
        error: memory does not fit the Fargate CPU size
           --> stack.toml:14:10
           |
        14 | memory = 4096
           |          ^^^^ in ecs_task_definition.small
           |
           = help: with cpu = 256, memory is 512, 1024 or 2048

        error: not a Fargate CPU size
           --> stack.toml:19:7
           |
        19 | cpu = 300
           |       ^^^ in ecs_task_definition.odd
           |
           = help: use 256, 512, 1024, 2048, 4096, 8192 or 16384

        error: memory does not fit the Fargate CPU size
           --> stack.toml:26:10
           |
        26 | memory = 1536
           |          ^^^^ in ecs_task_definition.big
           |
           = help: with cpu = 1024, memory is 2048 to 8192 (2 GiB to 8 GiB) in steps of 1024
        ",
    );
}

#[test]
fn fargate_network_mode_and_distinct_roles() {
    Case::new(&format!(
        "{ECS_ROLES}
        [ecs_task_definition.app]
        cpu = 512
        memory = 1024
        network_mode = \"bridge\"
        execution_role = \"iam_role.exec\"
        task_role = \"iam_role.exec\"
        container_definitions = [{{ name = \"app\", image = \"nginx:1.27\" }}]
        "
    ))
    .errors(
        "
        error: Fargate tasks use the `awsvpc` network mode
           --> stack.toml:15:16
           |
        15 | network_mode = \"bridge\"
           |                ^^^^^^^^ in ecs_task_definition.app
           |
           = help: remove `network_mode` (it defaults to \"awsvpc\")

        error: the task role and the execution role must be distinct roles
           --> stack.toml:17:13
           |
        17 | task_role = \"iam_role.exec\"
           |             ^^^^^^^^^^^^^^^ in ecs_task_definition.app
           |
           = help: the execution role (pulling images, reading secrets) and the application's role need separate `iam_role` resources
        ",
    );
}

#[test]
fn container_images() {
    Case::new(&format!(
        "{ECS_ROLES}
        [ecr_repository.hub]

        [ecs_task_definition.app]
        cpu = 512
        memory = 1024
        execution_role = \"iam_role.exec\"
        container_definitions = [
          {{ name = \"both\", image = \"nginx:1.27\", repository = \"ecr_repository.hub\", tag = \"v1\" }},
          {{ name = \"untagged\", repository = \"ecr_repository.hub\", essential = false }},
          {{ name = \"both\", image = \"nginx:1.27\", environment = {{ TOKEN = \"x\" }}, secrets = {{ TOKEN = \"ssm_parameter.token\" }} }},
        ]

        [ssm_parameter.token]
        name = \"/t/token\"
        type = \"String\"
        value = \"x\"
        "
    ))
    .errors(
        "
        error: a container needs exactly one of `image` and `repository`
           --> stack.toml:19:3
           |
        19 |   { name = \"both\", image = \"nginx:1.27\", repository = \"ecr_repository.hub\", tag = \"v1\" },
           |   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ in ecs_task_definition.app
           |
           = help: give `repository = \"ecr_repository.<name>\"` with a `tag`, or a full `image`

        error: an image from a repository needs a `tag`
           --> stack.toml:20:37
           |
        20 |   { name = \"untagged\", repository = \"ecr_repository.hub\", essential = false },
           |                                     ^^^^^^^^^^^^^^^^^^^^ in ecs_task_definition.app
           |
           = help: add `tag = \"<image tag>\"`

        error: duplicate container name
           --> stack.toml:21:12
           |
        21 |   { name = \"both\", image = \"nginx:1.27\", environment = { TOKEN = \"x\" }, secrets = { TOKEN = \"ssm_parameter.token\" } },
           |            ^^^^^^ in ecs_task_definition.app
           |
           = help: each container of a task definition has its own name

        error: a variable is set twice
           --> stack.toml:21:93
           |
        21 |   { name = \"both\", image = \"nginx:1.27\", environment = { TOKEN = \"x\" }, secrets = { TOKEN = \"ssm_parameter.token\" } },
           |                                                                                             ^^^^^^^^^^^^^^^^^^^^^ in ecs_task_definition.app
           |
           = help: give each variable either in `environment` or in `secrets`
        ",
    );
}

#[test]
fn services_have_no_public_ip() {
    Case::new(&format!(
        "{ECS_ROLES}
        [vpc.main]
        cidr_block = \"10.0.0.0/16\"

        [subnet.public]
        vpc = \"vpc.main\"
        cidr_block = \"10.0.0.0/24\"
        availability_zone = \"us-east-1a\"
        tier = \"public\"

        [security_group.app]
        vpc = \"vpc.main\"

        [ecs_cluster.main]

        [ecs_task_definition.app]
        cpu = 512
        memory = 1024
        execution_role = \"iam_role.exec\"
        container_definitions = [{{ name = \"app\", image = \"nginx:1.27\" }}]

        [ecs_service.app]
        cluster = \"ecs_cluster.main\"
        task_definition = \"ecs_task_definition.app\"
        subnets = [\"subnet.public\"]
        security_groups = [\"security_group.app\"]
        assign_public_ip = true
        "
    ))
    .errors(
        "
        error: services never get public IP addresses
           --> stack.toml:37:20
           |
        37 | assign_public_ip = true
           |                    ^^^^ in ecs_service.app
           |
           = help: remove `assign_public_ip`: tasks run in private subnets and take traffic from the load balancer

        error: services run in private subnets
           --> stack.toml:35:12
           |
        35 | subnets = [\"subnet.public\"]
           |            ^^^^^^^^^^^^^^^ in ecs_service.app
           |
           = help: subnet.public is a public subnet: use a private one
        ",
    );
}

#[test]
fn ecr_repository_encryption_and_name() {
    Case::new(
        "
        [kms_key.k]

        [ecr_repository.a]
        repository_name = \"Hub__App\"
        encryption_type = \"KMS\"

        [ecr_repository.b]
        kms_key = \"kms_key.k\"
        ",
    )
    .errors(
        "
        error: invalid ECR repository name
          --> stack.toml:9:19
          |
        9 | repository_name = \"Hub__App\"
          |                   ^^^^^^^^^^ in ecr_repository.a
          |
          = help: 2 to 256 characters: lowercase letters, digits and `-_./`, starting with a letter or digit

        error: `KMS` encryption needs a key
           --> stack.toml:10:19
           |
        10 | encryption_type = \"KMS\"
           |                   ^^^^^ in ecr_repository.a
           |
           = help: add `kms_key = \"kms_key.<name>\"`

        error: `kms_key` is only used with `KMS` encryption
           --> stack.toml:13:11
           |
        13 | kms_key = \"kms_key.k\"
           |           ^^^^^^^^^^^ in ecr_repository.b
           |
           = help: remove `kms_key`, or set `encryption_type = \"KMS\"`
        ",
    );
}

#[test]
fn delivery_defaults_are_secure() {
    let s = Case::new(&format!(
        "{ECS_ROLES}
        [vpc.main]
        cidr_block = \"10.0.0.0/16\"

        [subnet.private]
        vpc = \"vpc.main\"
        cidr_block = \"10.0.0.0/24\"
        availability_zone = \"us-east-1a\"

        [security_group.app]
        vpc = \"vpc.main\"

        [ecr_repository.hub]

        [ecs_cluster.main]

        [ecs_task_definition.app]
        cpu = 512
        memory = 1024
        execution_role = \"iam_role.exec\"
        task_role = \"iam_role.app\"
        container_definitions = [{{ name = \"app\", repository = \"ecr_repository.hub\", tag = \"v1\" }}]

        [ecs_service.app]
        cluster = \"ecs_cluster.main\"
        task_definition = \"ecs_task_definition.app\"
        subnets = [\"subnet.private\"]
        security_groups = [\"security_group.app\"]
        "
    ))
    .ok();
    let get = |a: &str, f: &str| s.get(a).unwrap().props.get(f).cloned();
    use crate::model::Value::*;
    assert_eq!(
        get("ecr_repository.hub", "image_tag_mutability"),
        Some(Str("IMMUTABLE".into()))
    );
    assert_eq!(get("ecr_repository.hub", "scan_on_push"), Some(Bool(true)));
    assert_eq!(
        get("ecr_repository.hub", "encryption_type"),
        Some(Str("AES256".into()))
    );
    assert_eq!(
        get("ecr_repository.hub", "repository_name"),
        Some(Str("t-hub".into()))
    );
    assert_eq!(
        get("ecs_cluster.main", "container_insights"),
        Some(Str("enabled".into()))
    );
    assert_eq!(
        get("ecs_task_definition.app", "network_mode"),
        Some(Str("awsvpc".into()))
    );
    assert_eq!(
        get("ecs_service.app", "assign_public_ip"),
        Some(Bool(false))
    );
    assert_eq!(get("ecs_service.app", "circuit_breaker"), Some(Bool(true)));
    let containers = get("ecs_task_definition.app", "container_definitions").unwrap();
    let c = containers.as_list()[0].as_map().unwrap();
    assert_eq!(c.get("essential"), Some(&Bool(true)));
}

#[test]
fn github_actions_preview_template_is_valid_for_any_pull_request() {
    let path = "examples/github-actions/preview.toml";
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/").to_owned() + path)
        .unwrap();
    // What zinfra-preview.yml's `sed` does to the template.
    assert_eq!(text.matches("\nname = \"preview\"\n").count(), 1);
    for name in ["preview", "preview-pr-1234"] {
        let text = text.replace("\nname = \"preview\"\n", &format!("\nname = \"{name}\"\n"));
        let env = |_: &str| Some("x".to_owned());
        match crate::validate::load(path, text, &env) {
            Ok(s) => {
                // Physical names follow the stack name, so pull requests never collide.
                let r = s.get("iam_role.task").unwrap();
                assert_eq!(
                    r.props.get("role_name"),
                    Some(&crate::model::Value::Str(format!("{name}-task")))
                );
            }
            Err(inv) => panic!("{}", inv.render(false)),
        }
    }
}

/// A valid Redis setup; each case below breaks one thing in it.
const REDIS: &str = "
[vpc.main]
cidr_block = \"10.0.0.0/16\"

[subnet.private_a]
vpc = \"vpc.main\"
cidr_block = \"10.0.1.0/24\"
availability_zone = \"us-east-1a\"

[subnet.public_a]
vpc = \"vpc.main\"
cidr_block = \"10.0.2.0/24\"
availability_zone = \"us-east-1a\"
tier = \"public\"

[kms_key.k]

[security_group.redis]
vpc = \"vpc.main\"

[elasticache_subnet_group.redis]
subnets = [\"subnet.private_a\"]

[elasticache_user.default]
user_name = \"default\"
access_string = \"off -@all\"
password_from_env = \"REDIS_PASSWORD\"

[elasticache_user.app]
user_name = \"app\"
access_string = \"on ~app:* +@all\"
password_from_env = \"REDIS_PASSWORD\"

[elasticache_user_group.redis]
users = [\"elasticache_user.default\", \"elasticache_user.app\"]

[elasticache_replication_group.redis]
engine_version = \"7.1\"
node_type = \"cache.t4g.small\"
subnet_group = \"elasticache_subnet_group.redis\"
security_groups = [\"security_group.redis\"]
kms_key = \"kms_key.k\"
user_group = \"elasticache_user_group.redis\"
replicas = 0
";

#[track_caller]
fn redis_with(from: &str, to: &str) -> Case {
    assert_eq!(REDIS.matches(from).count(), 1, "`{from}` must occur once");
    Case::new(&REDIS.replacen(from, to, 1))
}

#[test]
fn redis_reference_shape_is_valid() {
    let s = Case::new(REDIS).ok();
    let rg = s
        .resources
        .iter()
        .find(|r| r.kind == "elasticache_replication_group")
        .unwrap();
    // Omitted means secure: encrypted at rest and in transit, TLS required.
    for (f, v) in [
        ("at_rest_encryption", crate::model::Value::Bool(true)),
        ("transit_encryption", crate::model::Value::Bool(true)),
        (
            "transit_encryption_mode",
            crate::model::Value::Str("required".into()),
        ),
    ] {
        assert_eq!(rg.props.get(f), Some(&v), "{f}");
    }
}

#[test]
fn redis_encryption_off() {
    redis_with(
        "replicas = 0\n",
        "replicas = 0\nat_rest_encryption = false\ntransit_encryption = false\n",
    )
    .errors(
        "
        error: encryption at rest cannot be turned off
           --> stack.toml:49:22
           |
        49 | at_rest_encryption = false
           |                      ^^^^^ in elasticache_replication_group.redis
           |
           = help: remove the line: Redis data is encrypted at rest with `kms_key`

        error: encryption in transit cannot be turned off
           --> stack.toml:50:22
           |
        50 | transit_encryption = false
           |                      ^^^^^ in elasticache_replication_group.redis
           |
           = help: remove the line: clients reach Redis over TLS only
        ",
    );
}

#[test]
fn redis_tls_preferred() {
    redis_with(
        "replicas = 0\n",
        "replicas = 0\ntransit_encryption_mode = \"preferred\"\n",
    )
    .errors(
        "
        error: `preferred` lets clients connect without TLS
           --> stack.toml:49:27
           |
        49 | transit_encryption_mode = \"preferred\"
           |                           ^^^^^^^^^^^ in elasticache_replication_group.redis
           |
           = help: use `required` (the default); `preferred` is only a migration step
        ",
    );
}

#[test]
fn redis_user_group_without_default_user() {
    redis_with(
        "users = [\"elasticache_user.default\", \"elasticache_user.app\"]",
        "users = [\"elasticache_user.app\"]",
    )
    .errors("
        error: the user group has no `default` user
           --> stack.toml:39:9
           |
        39 | users = [\"elasticache_user.app\"]
           |         ^^^^^^^^^^^^^^^^^^^^^^^^ in elasticache_user_group.redis
           |
           = help: add a user with `user_name = \"default\"` and `access_string = \"off -@all\"`: it replaces Redis's open default user
        ");
}

#[test]
fn redis_default_user_enabled() {
    redis_with("access_string = \"off -@all\"", "access_string = \"on ~* +@all\"").errors("
        error: the default user elasticache_user.default is enabled
           --> stack.toml:39:9
           |
        39 | users = [\"elasticache_user.default\", \"elasticache_user.app\"]
           |         ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ in elasticache_user_group.redis
           |
           = help: give it `access_string = \"off -@all\"`: clients must log in as their own user
        ");
}

#[test]
fn redis_without_user_group() {
    redis_with("user_group = \"elasticache_user_group.redis\"\n", "").errors(
        "
        error: missing required field `user_group` in elasticache_replication_group.redis
           --> stack.toml:41:32
           |
        41 | [elasticache_replication_group.redis]
           |                                ^^^^^ `user_group` is required here
           |
           = help: user_group: The RBAC user group clients authenticate against.
        ",
    );
}

#[test]
fn redis_public_subnet_in_subnet_group() {
    redis_with(
        "subnets = [\"subnet.private_a\"]",
        "subnets = [\"subnet.private_a\", \"subnet.public_a\"]",
    )
    .errors("
        error: subnet.public_a is a public subnet
           --> stack.toml:26:32
           |
        26 | subnets = [\"subnet.private_a\", \"subnet.public_a\"]
           |                                ^^^^^^^^^^^^^^^^^ in elasticache_subnet_group.redis
           |
           = help: the data layer lives in private subnets only: list subnets with `tier = \"private\"`
        ");
}

#[test]
fn redis_replicas_without_failover() {
    redis_with("replicas = 0\n", "replicas = 1\n").errors(
        "
        error: a replication group with replicas must fail over across availability zones
           --> stack.toml:48:12
           |
        48 | replicas = 1
           |            ^ in elasticache_replication_group.redis
           |
           = help: set `automatic_failover = true` and `multi_az = true`
        ",
    );
}

#[test]
fn redis_failover_without_replicas() {
    redis_with(
        "replicas = 0\n",
        "replicas = 0\nautomatic_failover = true\nmulti_az = true\n",
    )
    .errors(
        "
        error: failover needs a replica to promote
           --> stack.toml:49:22
           |
        49 | automatic_failover = true
           |                      ^^^^ in elasticache_replication_group.redis
           |
           = help: set `replicas = 1` or more, or turn `automatic_failover` and `multi_az` off
        ",
    );
}

#[test]
fn redis_password_literal() {
    redis_with(
        "user_name = \"app\"\naccess_string = \"on ~app:* +@all\"\npassword_from_env = \"REDIS_PASSWORD\"",
        "user_name = \"app\"\naccess_string = \"on ~app:* +@all\"\npassword = \"hunter2-hunter2-hunter2\"",
    )
    .errors("
        error: unknown field `password` in elasticache_user.app
           --> stack.toml:36:1
           |
        36 | password = \"hunter2-hunter2-hunter2\"
           | ^^^^^^^^ unknown field
           |
           = help: did you mean `password_from_env`?
        ");
}

#[test]
fn redis_password_too_short() {
    redis_with(
        "user_name = \"app\"\naccess_string = \"on ~app:* +@all\"\npassword_from_env = \"REDIS_PASSWORD\"",
        "user_name = \"app\"\naccess_string = \"on ~app:* +@all\"\npassword_from_env = \"SET_VAR\"",
    )
    .errors("
        error: the password in `SET_VAR` is not a valid ElastiCache password
           --> stack.toml:36:21
           |
        36 | password_from_env = \"SET_VAR\"
           |                     ^^^^^^^^^ in elasticache_user.app
           |
           = help: 16 to 128 printable ASCII characters without spaces, `\"`, `/` or `@`
        ");
}

#[test]
fn redis_iam_user_with_password() {
    redis_with(
        "user_name = \"app\"\naccess_string = \"on ~app:* +@all\"\n",
        "user_name = \"app\"\naccess_string = \"on ~app:* +@all\"\nauthentication = \"iam\"\n",
    )
    .errors(
        "
        error: an IAM-authenticated user has no password
           --> stack.toml:37:21
           |
        37 | password_from_env = \"REDIS_PASSWORD\"
           |                     ^^^^^^^^^^^^^^^^ in elasticache_user.app
           |
           = help: remove `password_from_env`, or use `authentication = \"password\"`
        ",
    );
}

#[test]
fn redis_parameter_group_of_another_family() {
    redis_with(
        "[elasticache_replication_group.redis]\n",
        "[elasticache_parameter_group.redis]\nfamily = \"redis6.x\"\n\n[elasticache_replication_group.redis]\nparameter_group = \"elasticache_parameter_group.redis\"\n",
    )
    .errors("
        error: elasticache_parameter_group.redis is for family `redis6.x`, not Redis 7.1
           --> stack.toml:45:19
           |
        45 | parameter_group = \"elasticache_parameter_group.redis\"
           |                   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ in elasticache_replication_group.redis
           |
           = help: use a parameter group of the engine version's family, e.g. `redis7` for 7.x
        ");
}

#[test]
fn redis_without_security_group() {
    redis_with(
        "security_groups = [\"security_group.redis\"]",
        "security_groups = []",
    )
    .errors("
        error: a replication group needs its own security group
           --> stack.toml:45:19
           |
        45 | security_groups = []
           |                   ^^ in elasticache_replication_group.redis
           |
           = help: without one AWS uses the VPC's default group; list one that admits only the clients, on 6379
        ");
}

#[test]
fn route_needs_exactly_one_target() {
    Case::new(
        "
        [vpc.main]
        cidr_block = \"10.0.0.0/16\"

        [internet_gateway.main]
        vpc = \"vpc.main\"

        [route_table.t]
        vpc = \"vpc.main\"
        routes = [{ destination = \"0.0.0.0/0\" }]
        ",
    )
    .errors(
        "
        error: a route needs exactly one target
           --> stack.toml:14:11
           |
        14 | routes = [{ destination = \"0.0.0.0/0\" }]
           |           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ in route_table.t
           |
           = help: give either `gateway` (an internet gateway) or `nat_gateway`
        ",
    );
}

#[test]
fn nat_gateway_in_a_private_subnet() {
    Case::new(
        "
        [vpc.main]
        cidr_block = \"10.0.0.0/16\"

        [subnet.private]
        vpc = \"vpc.main\"
        cidr_block = \"10.0.1.0/24\"
        availability_zone = \"us-east-1a\"

        [eip.nat]

        [nat_gateway.a]
        subnet = \"subnet.private\"
        eip = \"eip.nat\"
        ",
    )
    .errors(
        "
        error: NAT gateway in private subnet subnet.private
           --> stack.toml:17:10
           |
        17 | subnet = \"subnet.private\"
           |          ^^^^^^^^^^^^^^^^ in nat_gateway.a
           |
           = help: a public NAT gateway needs a subnet with `tier = \"public\"` (routing to an internet gateway)
        ",
    );
}

#[test]
fn guardduty_detector_disabled() {
    Case::new(
        "
        [guardduty_detector.main]
        enable = false
        ",
    )
    .errors(
        "
        error: GuardDuty detector disabled
          --> stack.toml:7:10
          |
        7 | enable = false
          |          ^^^^^ in guardduty_detector.main
          |
          = help: the security baseline requires threat detection on; remove `enable = false`
        ",
    );
}

#[test]
fn securityhub_without_the_standard() {
    Case::new(
        "
        [securityhub_account.main]
        foundational_best_practices = false
        ",
    )
    .errors(
        "
        error: Security Hub without the Foundational Security Best Practices standard
          --> stack.toml:7:31
          |
        7 | foundational_best_practices = false
          |                               ^^^^^ in securityhub_account.main
          |
          = help: the security baseline requires the standard; remove `foundational_best_practices = false`
        ",
    );
}

#[test]
fn msk_cluster_controls() {
    Case::new(
        "
        [vpc.main]
        cidr_block = \"10.0.0.0/16\"

        [subnet.a]
        vpc = \"vpc.main\"
        cidr_block = \"10.0.1.0/24\"
        availability_zone = \"us-east-1a\"
        tier = \"public\"

        [subnet.b]
        vpc = \"vpc.main\"
        cidr_block = \"10.0.2.0/24\"
        availability_zone = \"us-east-1b\"

        [security_group.kafka]
        vpc = \"vpc.main\"
        description = \"kafka\"

        [kms_key.k]

        [msk_cluster.events]
        kafka_version = \"3.6.0\"
        broker_instance_type = \"kafka.m5.large\"
        number_of_broker_nodes = 3
        client_subnets = [\"subnet.a\", \"subnet.b\"]
        security_groups = [\"security_group.kafka\"]
        kms_key = \"kms_key.k\"
        client_broker_encryption = \"TLS_PLAINTEXT\"
        in_cluster_encryption = false
        sasl_iam = false
        unauthenticated = true
        ",
    )
    .errors(
        "
        error: MSK client traffic allows plaintext (TLS_PLAINTEXT)
           --> stack.toml:33:28
           |
        33 | client_broker_encryption = \"TLS_PLAINTEXT\"
           |                            ^^^^^^^^^^^^^^^ in msk_cluster.events
           |
           = help: the security baseline requires TLS between clients and brokers; use \"TLS\"

        error: MSK brokers talk in plaintext
           --> stack.toml:34:25
           |
        34 | in_cluster_encryption = false
           |                         ^^^^^ in msk_cluster.events
           |
           = help: the security baseline requires TLS inside the cluster; remove `in_cluster_encryption = false`

        error: MSK cluster open to unauthenticated clients
           --> stack.toml:36:19
           |
        36 | unauthenticated = true
           |                   ^^^^ in msk_cluster.events
           |
           = help: clients must authenticate with IAM; remove `unauthenticated = true`

        error: MSK cluster without client authentication
           --> stack.toml:35:12
           |
        35 | sasl_iam = false
           |            ^^^^^ in msk_cluster.events
           |
           = help: clients must authenticate with IAM (SASL/IAM); remove `sasl_iam = false`

        error: 3 brokers cannot be spread evenly over 2 client subnets
           --> stack.toml:29:26
           |
        29 | number_of_broker_nodes = 3
           |                          ^ in msk_cluster.events
           |
           = help: MSK places the same number of brokers in each subnet; use a multiple of the subnet count

        error: MSK brokers in public subnet subnet.a
           --> stack.toml:30:19
           |
        30 | client_subnets = [\"subnet.a\", \"subnet.b\"]
           |                   ^^^^^^^^^^ in msk_cluster.events
           |
           = help: the data layer belongs in private subnets (`tier = \"private\"`)
        ",
    );
}

#[test]
fn msk_cluster_needs_a_key() {
    Case::new(
        "
        [msk_cluster.events]
        kafka_version = \"3.6.0\"
        broker_instance_type = \"kafka.m5.large\"
        number_of_broker_nodes = 2
        client_subnets = []
        security_groups = []
        ",
    )
    .errors(
        "
        error: missing required field `kms_key` in msk_cluster.events
          --> stack.toml:6:14
          |
        6 | [msk_cluster.events]
          |              ^^^^^^ `kms_key` is required here
          |
          = help: kms_key: Customer-managed key of this stack for encryption at rest.
        ",
    );
}

#[test]
fn outputs_name_declared_resources_and_their_outputs() {
    Case::new(
        "
        [ecr_repository.app]

        [outputs]
        url = \"ecr_repository.app.repository_uri\"
        lb = \"lb.web.dns_name\"
        bad = 3
        ",
    )
    .errors(
        "
        error: output `bad` must name a resource's output
           --> stack.toml:11:7
           |
        11 | bad = 3
           |       ^ expected \"kind.name.attribute\"
           |
           = help: write `[outputs]` with lines like `alb_dns_name = \"lb.web.dns_name\"`

        error: ecr_repository.app has no output `repository_uri`
          --> stack.toml:9:7
          |
        9 | url = \"ecr_repository.app.repository_uri\"
          |       ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ no such output
          |
          = help: outputs of ecr_repository: id, arn, repository_url

        error: output `lb` names lb.web, which the file does not declare
           --> stack.toml:10:6
           |
        10 | lb = \"lb.web.dns_name\"
           |      ^^^^^^^^^^^^^^^^^ no such resource
           |
           = help: name a resource declared in this file
        ",
    );
}

#[test]
fn variables_are_typed_validated_and_substituted() {
    const VARS: &str = "
        [variables.image_tag]
        type = \"string\"
        pattern = \"[0-9a-f]{7,40}|v[0-9.]+\"
        default = \"v1.0\"

        [variables.size]
        type = \"number\"
        default = 2

        [ssm_parameter.tag]
        name = \"/t/tag-${var.image_tag}\"
        type = \"String\"
        value = \"${var.image_tag}:${var.size}\"
        ";
    let s = Case::new(VARS).ok();
    let r = s.get("ssm_parameter.tag").unwrap();
    assert_eq!(r.props.get("value").unwrap().as_str(), Some("v1.0:2"));
    assert_eq!(r.props.get("name").unwrap().as_str(), Some("/t/tag-v1.0"));
    assert_eq!(s.info.variables["image_tag"], "v1.0");

    // A value from the environment (what `--var` sets) that breaks the pattern, at the declaration.
    Case::new(&VARS.replace("default = \"v1.0\"", "")).errors(
        "
        error: variable `image_tag` has no value
          --> stack.toml:6:12
          |
        6 | [variables.image_tag]
          |            ^^^^^^^^^ declared without a default
          |
          = help: set it with `--var image_tag=…` or the environment variable `ZINFRA_VAR_image_tag`
        ",
    );
    Case::new(&VARS.replace("v1.0", "latest")).errors(
        "
        error: variable `image_tag` = \"latest\" (from its default) does not match the pattern `[0-9a-f]{7,40}|v[0-9.]+`
          --> stack.toml:9:11
          |
        9 | default = \"latest\"
          |           ^^^^^^^^ invalid value
          |
          = help: give `image_tag` a valid value
        ",
    );
    Case::new(&VARS.replace("${var.size}", "${var.sise}")).errors(
        "
        error: `${var.sise}` names no declared variable
           --> stack.toml:18:9
           |
        18 | value = \"${var.image_tag}:${var.sise}\"
           |         ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ unknown variable
           |
           = help: did you mean `${var.size}`?
        ",
    );
}

/// A load balancer serves certificates of its own region; CloudFront only ones in us-east-1.
#[test]
fn certificates_are_in_the_region_that_serves_them() {
    let text = format!("{}{FRONT}", super::HEADER)
        .replace("us-east-1", "eu-west-1")
        + "
[acm_certificate.edge]
domain_name = \"app.dev.zenoo.example\"
zone = \"route53_zone.main\"
region = \"us-east-1\"

[acm_certificate.regional]
domain_name = \"cdn.dev.zenoo.example\"
zone = \"route53_zone.main\"

[lb_listener.https]
load_balancer = \"lb.web\"
port = 443
protocol = \"HTTPS\"
certificate = \"acm_certificate.edge\"
default_action = \"forward\"
target_group = \"lb_target_group.api\"

[s3_bucket.site]
bucket = \"zenoo-site\"

[cloudfront_origin_access_control.site]

[cloudfront_distribution.cdn]
origins = [{ origin_id = \"site\", bucket = \"s3_bucket.site\", origin_access_control = \"cloudfront_origin_access_control.site\" }]
default_origin = \"site\"
aliases = [\"cdn.dev.zenoo.example\"]
certificate = \"acm_certificate.regional\"
";
    let got = match Case::raw(&text).load() {
        Ok(_) => panic!("expected errors"),
        Err(inv) => inv.render(false),
    };
    let messages: Vec<&str> = got
        .lines()
        .filter_map(|l| l.strip_prefix("error: "))
        .collect();
    assert_eq!(
        messages,
        [
            "acm_certificate.edge is requested in us-east-1; a load balancer in eu-west-1 serves certificates of its own region only",
            "acm_certificate.regional is requested in eu-west-1; CloudFront uses certificates in us-east-1 only",
        ],
        "{got}"
    );
}

#[test]
fn a_parent_zone_is_a_parent_domain_and_not_beside_external() {
    Case::new(
        "
        [route53_zone.root]
        name = \"zenoo.example\"

        [route53_zone.other]
        name = \"dev.other.example\"
        parent_zone = \"route53_zone.root\"

        [route53_zone.both]
        name = \"api.zenoo.example\"
        parent_zone = \"route53_zone.root\"
        delegation = \"external\"
        ",
    )
    .errors(
        "
        error: route53_zone.root (zenoo.example) is not a parent domain of dev.other.example
           --> stack.toml:11:15
           |
        11 | parent_zone = \"route53_zone.root\"
           |               ^^^^^^^^^^^^^^^^^^^ in route53_zone.other
           |
           = help: a parent zone's name is a suffix of this zone's, e.g. zenoo.example for dev.zenoo.example

        error: a zone is delegated either by its `parent_zone` or by hand (`delegation = \"external\"`), not both
           --> stack.toml:16:14
           |
        16 | delegation = \"external\"
           |              ^^^^^^^^^^ in route53_zone.both
           |
           = help: remove one
        ",
    );
}

/// An origin is S3 (with its access control) or an ALB (its alias record), and behaviours name origins.
#[test]
fn cloudfront_origins_are_s3_or_an_alb_record() {
    let text = format!("{}{FRONT}", super::HEADER)
        + "
[route53_record.api]
zone = \"route53_zone.main\"
name = \"api.dev.zenoo.example\"
type = \"A\"
alias = \"lb.web\"

[route53_record.txt]
zone = \"route53_zone.main\"
name = \"txt.dev.zenoo.example\"
type = \"TXT\"
ttl = 300
records = [\"\\\"hello\\\"\"]

[s3_bucket.site]
bucket = \"zenoo-site\"

[cloudfront_origin_access_control.site]

[cloudfront_distribution.cdn]
origins = [
  { origin_id = \"both\", bucket = \"s3_bucket.site\", alb_record = \"route53_record.api\" },
  { origin_id = \"signed\", alb_record = \"route53_record.api\", origin_access_control = \"cloudfront_origin_access_control.site\" },
  { origin_id = \"text\", alb_record = \"route53_record.txt\" },
  { origin_id = \"bare\", bucket = \"s3_bucket.site\" },
]
behaviors = [{ path_pattern = \"/api/*\", origin = \"apii\" }]
";
    let got = match Case::raw(&text).load() {
        Ok(_) => panic!("expected errors"),
        Err(inv) => inv.render(false),
    };
    let messages: Vec<&str> = got
        .lines()
        .filter_map(|l| l.strip_prefix("error: "))
        .collect();
    assert_eq!(
        messages,
        [
            "an origin is either an S3 `bucket` or an `alb_record`",
            "an origin access control signs requests to S3 only",
            "route53_record.txt is not an alias record of a load balancer",
            "an S3 origin needs its `origin_access_control`",
            "no origin has the id `apii`",
        ],
        "{got}"
    );
}
