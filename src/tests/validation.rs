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
fn missing_secret_env_var() {
    Case::new(
        "
        [ssm_parameter.db]
        name = \"/t/db\"
        value_from_env = \"UNSET_VAR\"
        ",
    )
    .errors(
        "
        error: environment variable `UNSET_VAR` is not set
          --> stack.toml:8:18
          |
        8 | value_from_env = \"UNSET_VAR\"
          |                  ^^^^^^^^^^^ ssm_parameter.db takes its secret value from it
          |
          = help: export UNSET_VAR before running zinfra; secret values never live in the stack file
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
        let env = |_: &str| Some("x".to_owned());
        if let Err(inv) = crate::stack::load(path, text, &env) {
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
