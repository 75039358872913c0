//! Every baseline rule: a fixture that fails it (rule id and location asserted) and one that passes;
//! waivers; the output formats. No network.

use super::Case;
use crate::check::{self, Finding};

/// (rule, address, line:column) of every finding, waived ones marked.
fn findings(body: &str) -> Vec<String> {
    let s = Case::new(body).ok();
    check::check_stack(&s)
        .iter()
        .map(|f| describe(&s, f))
        .collect()
}

fn describe(s: &crate::stack::Stack, f: &Finding) -> String {
    let at = check::location(s, f)
        .map(|(_, l, c)| format!("{l}:{c}"))
        .unwrap_or_default();
    let w = if f.waived.is_some() { " (waived)" } else { "" };
    format!("{} {} {at}{w}", f.rule.id, f.address)
}

#[track_caller]
fn fails(rule: &str, body: &str, expected: &str) {
    let got = findings(body);
    assert!(
        got.iter().any(|g| g == expected),
        "expected `{expected}` for {rule}, got {got:#?}"
    );
    assert!(expected.starts_with(rule));
}

#[track_caller]
fn passes(rule: &str, body: &str) {
    let got = findings(body);
    assert!(
        !got.iter().any(|g| g.starts_with(rule)),
        "{rule} should pass, got {got:#?}"
    );
}

/// A VPC with one public and one private subnet, so network rules are quiet unless a test breaks them.
const NET: &str = "
    [vpc.main]
    cidr_block = \"10.0.0.0/16\"

    [subnet.public]
    vpc = \"vpc.main\"
    cidr_block = \"10.0.0.0/24\"
    availability_zone = \"us-east-1a\"
    tier = \"public\"

    [subnet.private]
    vpc = \"vpc.main\"
    cidr_block = \"10.0.1.0/24\"
    availability_zone = \"us-east-1a\"

    [internet_gateway.main]
    vpc = \"vpc.main\"
";

fn net(extra: &str) -> String {
    format!("{}\n{}", super::unindent(NET), super::unindent(extra))
}

#[test]
fn kms_rotation() {
    fails(
        "ZS-KMS-001",
        "
        [kms_key.k]
        enable_key_rotation = false
        ",
        "ZS-KMS-001 kms_key.k 7:23",
    );
    passes("ZS-KMS-001", "[kms_key.k]\n");
}

#[test]
fn s3_encryption_and_public_access() {
    // sse_algorithm has no insecure value in the schema: only a live bucket without encryption fails it.
    passes("ZS-S3-001", "[s3_bucket.b]\nbucket = \"b-1\"\n");
    fails(
        "ZS-S3-002",
        "
        [s3_bucket.b]
        bucket = \"b-1\"
        block_public_access = false
        ",
        "ZS-S3-002 s3_bucket.b 8:23",
    );
    passes("ZS-S3-002", "[s3_bucket.b]\nbucket = \"b-1\"\n");
}

#[test]
fn s3_policy_only_for_cloudfront() {
    fails(
        "ZS-S3-003",
        "
        [s3_bucket.b]
        bucket = \"b-1\"
        policy = { Version = \"2012-10-17\", Statement = [{ Effect = \"Allow\", Principal = \"*\", Action = \"s3:GetObject\", Resource = \"arn:aws:s3:::b-1/*\" }] }
        ",
        "ZS-S3-003 s3_bucket.b 8:10",
    );
    fails(
        "ZS-S3-003",
        "
        [s3_bucket.b]
        bucket = \"b-1\"
        policy = { Version = \"2012-10-17\", Statement = [{ Effect = \"Allow\", Principal = { Service = \"cloudfront.amazonaws.com\" }, Action = \"s3:GetObject\", Resource = \"arn:aws:s3:::b-1/*\" }] }
        ",
        "ZS-S3-003 s3_bucket.b 8:10",
    );
    passes(
        "ZS-S3-003",
        "
        [s3_bucket.b]
        bucket = \"b-1\"
        policy = { Version = \"2012-10-17\", Statement = [{ Effect = \"Allow\", Principal = { Service = \"cloudfront.amazonaws.com\" }, Action = \"s3:GetObject\", Resource = \"arn:aws:s3:::b-1/*\", Condition = { StringEquals = { \"AWS:SourceArn\" = \"arn:aws:cloudfront::123456789012:distribution/E1\" } } }] }
        ",
    );
}

#[test]
fn dynamodb_ttl_and_key() {
    let table = |extra: &str| {
        format!("[dynamodb_table.t]\nhash_key = \"pk\"\nattributes = {{ pk = \"S\" }}\n{extra}")
    };
    // TTL is on by default (`expires_at`); turning it off is what fails.
    fails(
        "ZS-DDB-001",
        &table("ttl_attribute = \"\"\n"),
        "ZS-DDB-001 dynamodb_table.t 9:17",
    );
    passes("ZS-DDB-001", &table("ttl_attribute = \"exp\"\n"));
    fails(
        "ZS-DDB-002",
        &table("ttl_attribute = \"exp\"\n"),
        "ZS-DDB-002 dynamodb_table.t 6:17",
    );
    passes(
        "ZS-DDB-002",
        &format!(
            "[kms_key.k]\n\n{}",
            table("ttl_attribute = \"exp\"\nkms_key = \"kms_key.k\"\n")
        ),
    );
}

#[test]
fn ssm_secure_strings_with_a_cmk() {
    fails(
        "ZS-SSM-001",
        "
        [ssm_parameter.p]
        name = \"/p\"
        type = \"String\"
        value_from_env = \"SET_VAR\"
        ",
        "ZS-SSM-001 ssm_parameter.p 8:8",
    );
    passes(
        "ZS-SSM-001",
        "[ssm_parameter.p]\nname = \"/p\"\ntype = \"String\"\nvalue = \"info\"\n",
    );
    fails(
        "ZS-SSM-002",
        "
        [ssm_parameter.p]
        name = \"/p\"
        type = \"SecureString\"
        value_from_env = \"SET_VAR\"
        ",
        "ZS-SSM-002 ssm_parameter.p 6:16",
    );
    passes(
        "ZS-SSM-002",
        "
        [kms_key.k]

        [ssm_parameter.p]
        name = \"/p\"
        type = \"SecureString\"
        value_from_env = \"SET_VAR\"
        kms_key = \"kms_key.k\"
        ",
    );
}

#[test]
fn vpc_has_both_tiers() {
    fails(
        "ZS-NET-001",
        "
        [vpc.main]
        cidr_block = \"10.0.0.0/16\"

        [subnet.a]
        vpc = \"vpc.main\"
        cidr_block = \"10.0.1.0/24\"
        availability_zone = \"us-east-1a\"
        ",
        "ZS-NET-001 vpc.main 6:6",
    );
    passes("ZS-NET-001", NET);
}

#[test]
fn private_subnets_do_not_route_to_the_internet() {
    fails(
        "ZS-NET-002",
        &net("
            [route_table.r]
            vpc = \"vpc.main\"
            routes = [{ destination = \"0.0.0.0/0\", gateway = \"internet_gateway.main\" }]
            subnets = [\"subnet.public\", \"subnet.private\"]
            "),
        "ZS-NET-002 subnet.private 15:9",
    );
    passes(
        "ZS-NET-002",
        &net("
            [route_table.r]
            vpc = \"vpc.main\"
            routes = [{ destination = \"0.0.0.0/0\", gateway = \"internet_gateway.main\" }]
            subnets = [\"subnet.public\"]
            "),
    );
}

#[test]
fn only_web_ports_open_to_the_internet() {
    fails(
        "ZS-NET-003",
        &net("
            [security_group.g]
            vpc = \"vpc.main\"
            ingress = [{ from_port = 22, to_port = 22, cidr_blocks = [\"0.0.0.0/0\"] }]
            "),
        "ZS-NET-003 security_group.g 25:11",
    );
    passes(
        "ZS-NET-003",
        &net("
            [security_group.g]
            vpc = \"vpc.main\"
            ingress = [
              { from_port = 443, to_port = 443, cidr_blocks = [\"0.0.0.0/0\"] },
              { from_port = 22, to_port = 22, cidr_blocks = [\"10.0.0.0/16\"] },
            ]
            "),
    );
}

#[test]
fn github_trust_names_repositories() {
    let role = |sub: &str| {
        format!(
            "
            [iam_oidc_provider.gh]
            url = \"https://token.actions.githubusercontent.com\"
            client_ids = [\"sts.amazonaws.com\"]
            thumbprints = [\"6938fd4d98bab03faadb97b34396831e3780aea1\"]

            [iam_role.deploy]
            assume_role_policy = {{ Version = \"2012-10-17\", Statement = [{{ Effect = \"Allow\", Principal = {{ Federated = \"${{iam_oidc_provider.gh.arn}}\" }}, Action = \"sts:AssumeRoleWithWebIdentity\", Condition = {{ StringLike = {{ \"token.actions.githubusercontent.com:aud\" = \"sts.amazonaws.com\", \"token.actions.githubusercontent.com:sub\" = \"{sub}\" }} }} }}] }}
            "
        )
    };
    fails(
        "ZS-IAM-001",
        &role("repo:zenoo/*"),
        "ZS-IAM-001 iam_role.deploy 12:22",
    );
    passes("ZS-IAM-001", &role("repo:zenoo/hub:ref:refs/heads/main"));
}

#[test]
fn reference_stacks_pass_without_waivers() {
    for name in ["zenoo-dev", "zenoo-prod"] {
        let path = format!("{}/stacks/{name}.toml", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        let env = |_: &str| Some("x-demo-secret-0123456789".to_owned());
        let s =
            crate::stack::load(&path, text, &env).unwrap_or_else(|e| panic!("{}", e.render(false)));
        let found: Vec<String> = check::check_stack(&s)
            .iter()
            .map(|f| describe(&s, f))
            .collect();
        assert!(found.is_empty(), "{name}: {found:#?}");
        assert!(check::waivers(&s).is_empty(), "{name} has waivers");
    }
}

#[test]
fn a_waiver_excuses_one_rule_on_one_resource_until_it_expires() {
    let got = findings(
        "
        [kms_key.k]
        enable_key_rotation = false
        waivers = [{ rule = \"ZS-KMS-001\", reason = \"imported key material\", expires = \"2999-01-01\" }]

        [kms_key.j]
        enable_key_rotation = false
        waivers = [{ rule = \"ZS-KMS-001\", reason = \"was fine once\", expires = \"2020-01-01\" }]
        ",
    );
    assert_eq!(
        got,
        [
            "ZS-KMS-001 kms_key.k 7:23 (waived)",
            "ZS-KMS-001 kms_key.j 11:23"
        ]
    );
}

#[test]
fn unknown_or_misplaced_waivers_are_errors() {
    Case::new(
        "
        [kms_key.k]
        waivers = [{ rule = \"ZS-KMS-01\", reason = \"typo\" }]
        ",
    )
    .errors(
        "
        error: unknown rule `ZS-KMS-01` in a waiver of kms_key.k
          --> stack.toml:7:21
          |
        7 | waivers = [{ rule = \"ZS-KMS-01\", reason = \"typo\" }]
          |                     ^^^^^^^^^^^ no such rule
          |
          = help: did you mean `ZS-KMS-001`? `zinfra check --list` shows every rule
        ",
    );
    Case::new(
        "
        [kms_key.k]
        waivers = [{ rule = \"ZS-S3-002\", reason = \"\", expires = \"soon\" }]
        ",
    )
    .errors(
        "
        error: rule `ZS-S3-002` does not apply to kms_key.k: it checks s3_bucket resources
          --> stack.toml:7:21
          |
        7 | waivers = [{ rule = \"ZS-S3-002\", reason = \"\", expires = \"soon\" }]
          |                     ^^^^^^^^^^^ not applicable here
          |
          = help: write this waiver on the s3_bucket it concerns

        error: waiver of `ZS-S3-002` in kms_key.k has no reason
          --> stack.toml:7:43
          |
        7 | waivers = [{ rule = \"ZS-S3-002\", reason = \"\", expires = \"soon\" }]
          |                                           ^^ empty reason
          |
          = help: say why the exception is acceptable: it shows in every plan

        error: invalid expiry date \"soon\" in a waiver of kms_key.k
          --> stack.toml:7:57
          |
        7 | waivers = [{ rule = \"ZS-S3-002\", reason = \"\", expires = \"soon\" }]
          |                                                         ^^^^^^ not a date
          |
          = help: write it as YYYY-MM-DD, e.g. \"2027-03-31\"
        ",
    );
    Case::new(
        "
        [kms_key.k]
        waivers = [{ rule = \"ZS-KMS-001\" }]
        ",
    )
    .errors(
        "
        error: a waiver in kms_key.k needs `reason`
          --> stack.toml:7:12
          |
        7 | waivers = [{ rule = \"ZS-KMS-001\" }]
          |            ^^^^^^^^^^^^^^^^^^^^^^^ incomplete waiver
          |
          = help: write `waivers = [{ rule = \"ZS-S3-002\", reason = \"why\", expires = \"2027-03-31\" }]`
        ",
    );
}

#[test]
fn waivers_show_in_every_plan() {
    let s = Case::new(
        "
        [kms_key.k]
        enable_key_rotation = false
        waivers = [{ rule = \"ZS-KMS-001\", reason = \"imported key material\", expires = \"2999-01-01\" }]
        ",
    )
    .ok();
    let p = crate::plan::compute(
        &s.info,
        &s.resources,
        &Default::default(),
        &["kms_key.k".to_owned()],
        &[],
        false,
    );
    let text = crate::render::human(&p, crate::render::Style::default());
    assert!(
        text.ends_with(
            "Plan: 1 to add, 0 to change, 0 to destroy.\n\nBaseline waivers in force:\n  ZS-KMS-001 on kms_key.k: imported key material (until 2999-01-01)\n"
        ),
        "{text}"
    );
    let json = crate::render::json(&p);
    assert_eq!(json["waivers"][0]["rule"], "ZS-KMS-001");
}

#[test]
fn human_output_groups_by_resource_with_locations() {
    let s = Case::new(
        "
        [kms_key.k]
        enable_key_rotation = false

        [s3_bucket.b]
        bucket = \"b-1\"
        block_public_access = false
        ",
    )
    .ok();
    let found = check::check_stack(&s);
    insta::assert_snapshot!(check::human(&s, &found, false, false));
}

#[test]
fn sarif_for_code_scanning() {
    let s = Case::new(
        "
        [kms_key.k]
        enable_key_rotation = false
        waivers = [{ rule = \"ZS-KMS-001\", reason = \"imported key material\" }]

        [s3_bucket.b]
        bucket = \"b-1\"
        block_public_access = false
        ",
    )
    .ok();
    let found = check::check_stack(&s);
    let sarif = check::sarif(&s, &found, false);
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(
        run["tool"]["driver"]["rules"].as_array().unwrap().len(),
        check::rules::RULES.len()
    );
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["ruleId"], "ZS-KMS-001");
    assert_eq!(
        results[0]["suppressions"][0]["justification"],
        "imported key material"
    );
    assert_eq!(results[1]["ruleId"], "ZS-S3-002");
    assert_eq!(results[1]["level"], "error");
    let loc = &results[1]["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "stack.toml");
    assert_eq!(loc["region"]["startLine"], 12);
    assert_eq!(loc["region"]["startColumn"], 23);
    let json = check::json(&s, &found, false);
    assert_eq!(
        (json["errors"].as_u64(), json["waived"].as_u64()),
        (Some(1), Some(1))
    );
}

#[test]
fn rules_doc_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/rules.md");
    let want = check::rules::rules_doc();
    if std::env::var_os("ZINFRA_UPDATE_DOCS").is_some() {
        std::fs::write(path, &want).unwrap();
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        have == want,
        "docs/rules.md is out of date: run `ZINFRA_UPDATE_DOCS=1 cargo test --lib rules_doc_is_current`"
    );
}
