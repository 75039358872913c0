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
        let env = |_: &str| Some("x-demo-secret-0123456789".to_owned());
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
