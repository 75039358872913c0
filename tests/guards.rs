//! The guards of issue 15 through the CLI, as a CI job runs it (`apply --auto-approve`): live state is
//! set up and checked with plain SDK clients, never through zinfra.

use aws_sdk_dynamodb::types::AttributeValue;

use crate::support::cli::{Scratch, path, zinfra};
use crate::support::{sdk_config, unique};

fn stack_file(stack: &str, region: &str, body: &str) -> String {
    format!("[stack]\nname = \"{stack}\"\nenvironment = \"test\"\nregion = \"{region}\"\n\n{body}")
}

fn table(address: &str, table: &str) -> String {
    format!(
        "[dynamodb_table.{address}]\ntable_name = \"{table}\"\nhash_key = \"pk\"\nattributes = {{ pk = \"S\" }}\n\n"
    )
}

const ROLE: &str = "[iam_role.app]\nassume_role_policy = { Version = \"2012-10-17\", Statement = [{ Effect = \"Allow\", Action = \"sts:AssumeRole\", Principal = { Service = \"ecs-tasks.amazonaws.com\" } }] }\n\n";

async fn item_count(ddb: &aws_sdk_dynamodb::Client, table: &str) -> i32 {
    ddb.scan().table_name(table).send().await.unwrap().count()
}

#[tokio::test(flavor = "multi_thread")]
async fn data_survives_renames_removals_and_the_same_stack_in_another_region() {
    let s = Scratch::new("guards");
    let stack = unique("guards");
    let name = format!("{stack}-orders");
    let ddb = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let iam = aws_sdk_iam::Client::new(&sdk_config().await);

    let f = s.write(
        "stack.toml",
        &stack_file(
            &stack,
            "us-east-1",
            &format!("{}{ROLE}", table("orders", &name)),
        ),
    );
    zinfra(&["apply", path(&f), "--auto-approve"], &[]).expect(0);
    ddb.put_item()
        .table_name(&name)
        .item("pk", AttributeValue::S("order-1".into()))
        .send()
        .await
        .unwrap();

    // Renamed in the file, no move declared: refused before anything changes.
    let renamed = table("purchases", &name);
    let g = s.write(
        "renamed.toml",
        &stack_file(&stack, "us-east-1", &format!("{renamed}{ROLE}")),
    );
    let run = zinfra(&["apply", path(&g), "--auto-approve"], &[]).expect(1);
    assert!(
        run.stdout.contains("looks like a rename: declare a move"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains(&format!(
            "refusing to apply: the plan deletes or replaces resources that hold data:\n  dynamodb_table.orders ({name}) holds its items"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(item_count(&ddb, &name).await, 1);

    // Removed from the file: refused too.
    let h = s.write("removed.toml", &stack_file(&stack, "us-east-1", ROLE));
    let run = zinfra(&["apply", path(&h), "--auto-approve"], &[]).expect(1);
    assert!(
        run.stderr.contains("--allow-destroy dynamodb_table.orders"),
        "{}",
        run.stderr
    );
    assert_eq!(item_count(&ddb, &name).await, 1);

    // The same stack name from another region: the global role is not its to change or delete.
    let other = s.write("other-region.toml", &stack_file(&stack, "eu-west-1", ROLE));
    let run = zinfra(&["plan", path(&other)], &[]).expect(1);
    assert!(
        run.stderr.contains(&format!(
            "stack {stack} in eu-west-1 (this file) declares resources that stack {stack} in another region owns:\n  iam_role.app ({stack}-app) belongs to stack {stack} in us-east-1"
        )),
        "{}",
        run.stderr
    );
    let empty = s.write("empty.toml", &stack_file(&stack, "eu-west-1", ""));
    let run = zinfra(&["destroy", path(&empty), "--auto-approve"], &[]).expect(0);
    assert!(
        run.stdout.starts_with("Nothing to destroy"),
        "{}",
        run.stdout
    );
    iam.get_role()
        .role_name(format!("{stack}-app"))
        .send()
        .await
        .expect("the other region's role is still there");

    // Declared as a move: re-tagged in place, the item kept, and the next plan is clean.
    let moved = s.write(
        "moved.toml",
        &stack_file(
            &stack,
            "us-east-1",
            &format!(
                "{renamed}{ROLE}[[moved]]\nfrom = \"dynamodb_table.orders\"\nto = \"dynamodb_table.purchases\"\n"
            ),
        ),
    );
    let run = zinfra(&["apply", path(&moved), "--auto-approve"], &[]).expect(0);
    assert!(
        run.stdout.contains(
            "# dynamodb_table.purchases has moved from dynamodb_table.orders (re-tagged in place)"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("0 added, 1 changed, 0 destroyed"),
        "{}",
        run.stdout
    );
    assert_eq!(item_count(&ddb, &name).await, 1);
    zinfra(&["plan", path(&moved), "--detailed-exitcode"], &[]).expect(0);

    // Removing it on purpose takes the run naming it.
    let run = zinfra(
        &[
            "apply",
            path(&h),
            "--auto-approve",
            "--allow-destroy",
            "dynamodb_table.purchases",
        ],
        &[],
    )
    .expect(0);
    assert!(run.stdout.contains("1 destroyed"), "{}", run.stdout);
    assert!(ddb.describe_table().table_name(&name).send().await.is_err());

    // An ephemeral stack still goes in one command, data-holding resources and all.
    zinfra(&["apply", path(&f), "--auto-approve"], &[]).expect(0);
    zinfra(&["destroy", path(&f), "--auto-approve"], &[]).expect(0);
    assert!(ddb.describe_table().table_name(&name).send().await.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_is_sealed_and_checked_again_at_apply() {
    let s = Scratch::new("sealed");
    let stack = unique("sealed");
    let bucket = format!("{stack}-assets");
    let f = s.write(
        "stack.toml",
        &stack_file(
            &stack,
            "us-east-1",
            &format!("[s3_bucket.assets]\nbucket = \"{bucket}\"\n"),
        ),
    );
    let planfile = s.dir.join("plan.json");
    zinfra(&["plan", path(&f), "--out", path(&planfile)], &[]).expect(0);
    let text = std::fs::read_to_string(&planfile).unwrap();

    // Edited after it was written (by hand, or by a step in between): refused.
    let edited = s.write(
        "edited.json",
        &text.replace(&bucket, &format!("{bucket}-x")),
    );
    let run = zinfra(&["apply", path(&edited)], &[]).expect(1);
    assert!(
        run.stderr
            .contains("was changed after zinfra wrote it (its content no longer matches its seal); nothing was applied"),
        "{}",
        run.stderr
    );
    // Cut short: refused.
    let cut = s.write("cut.json", &text[..text.len() / 2]);
    let run = zinfra(&["apply", path(&cut)], &[]).expect(1);
    assert!(
        run.stderr
            .contains("or it was cut short; nothing was applied"),
        "{}",
        run.stderr
    );

    // Sealed, but breaking the baseline (a plan made by an older zinfra, or before a waiver expired):
    // the baseline is checked again at apply.
    let mut p: zinfra::plan::Plan = serde_json::from_str(&text).unwrap();
    p.desired[0].props.insert(
        "block_public_access".into(),
        zinfra::model::Value::Bool(false),
    );
    let open = s.write("open.json", &p.sealed_json("").unwrap());
    let run = zinfra(&["apply", path(&open)], &[]).expect(1);
    assert!(run.stderr.contains("ZS-S3-002"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("violates the security baseline; nothing was sent to AWS"),
        "{}",
        run.stderr
    );

    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk_config().await)
            .force_path_style(true)
            .build(),
    );
    assert!(
        s3.head_bucket().bucket(&bucket).send().await.is_err(),
        "nothing was created"
    );
    zinfra(&["apply", path(&planfile)], &[]).expect(0);
    s3.head_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("the sealed plan applied");
    zinfra(&["destroy", path(&f), "--auto-approve"], &[]).expect(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn protection_is_recorded_in_aws_so_dropping_the_line_cannot_destroy_in_the_same_change() {
    let s = Scratch::new("protected");
    let stack = unique("protected");
    let param = format!(
        "[ssm_parameter.flag]\nname = \"/{stack}/flag\"\ntype = \"String\"\nvalue = \"on\"\n"
    );
    let protected = stack_file(&stack, "us-east-1", &param).replace(
        "region = \"us-east-1\"\n",
        "region = \"us-east-1\"\nprotected = true\n",
    );
    let f = s.write("protected.toml", &protected);
    zinfra(&["apply", path(&f), "--auto-approve"], &[]).expect(0);

    // The line is gone from the file, but AWS remembers.
    let g = s.write("unprotected.toml", &stack_file(&stack, "us-east-1", &param));
    let run = zinfra(&["destroy", path(&g), "--auto-approve"], &[]).expect(1);
    assert!(
        run.stderr.contains(&format!(
            "refusing to destroy stack {stack}: AWS records it as protected (its last apply had `protected = true`)"
        )),
        "{}",
        run.stderr
    );
    let ssm = aws_sdk_ssm::Client::new(&sdk_config().await);
    ssm.get_parameter()
        .name(format!("/{stack}/flag"))
        .send()
        .await
        .expect("nothing was destroyed");

    // Applying the file without the line records that; then destroy goes through.
    zinfra(&["apply", path(&g), "--auto-approve"], &[]).expect(0);
    zinfra(&["destroy", path(&g), "--auto-approve"], &[]).expect(0);
    assert!(
        ssm.get_parameter()
            .name(format!("/{stack}/flag"))
            .send()
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hand_made_table_and_role_are_refused_until_adopted() {
    let s = Scratch::new("takeover");
    let stack = unique("takeover");
    let name = format!("{stack}-orders");
    let role = format!("{stack}-app");
    let conf = sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    let iam = aws_sdk_iam::Client::new(&conf);
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    ddb.create_table()
        .table_name(&name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    ddb.put_item()
        .table_name(&name)
        .item("pk", AttributeValue::S("hand-made".into()))
        .send()
        .await
        .unwrap();
    iam.create_role()
        .role_name(&role)
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":"ecs-tasks.amazonaws.com"}}]}"#,
        )
        .send()
        .await
        .unwrap();

    let body = format!("{}{ROLE}", table("orders", &name));
    let f = s.write("stack.toml", &stack_file(&stack, "us-east-1", &body));
    let run = zinfra(&["apply", path(&f), "--auto-approve"], &[]).expect(1);
    assert!(
        run.stderr.contains(&format!(
            "refusing to take over what is not this stack's:\n  dynamodb_table.orders: table {name} already exists and is not this stack's"
        )) && run.stderr.contains(&format!("iam_role.app: role {role} already exists and is not this stack's")),
        "{}",
        run.stderr
    );
    assert_eq!(item_count(&ddb, &name).await, 1);
    let tags = iam.list_role_tags().role_name(&role).send().await.unwrap();
    assert!(tags.tags().is_empty(), "the role was tagged");

    let adopting = format!(
        "{body}[[adopt]]\naddress = \"dynamodb_table.orders\"\nid = \"{name}\"\n\n[[adopt]]\naddress = \"iam_role.app\"\nid = \"{role}\"\n"
    );
    let g = s.write("adopt.toml", &stack_file(&stack, "us-east-1", &adopting));
    let run = zinfra(&["apply", path(&g), "--auto-approve"], &[]).expect(0);
    assert!(
        run.stdout.contains("0 added, 2 changed, 0 destroyed"),
        "{}",
        run.stdout
    );
    assert_eq!(item_count(&ddb, &name).await, 1);
    zinfra(&["plan", path(&g), "--detailed-exitcode"], &[]).expect(0);
    zinfra(&["destroy", path(&g), "--auto-approve"], &[]).expect(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hand_made_record_is_refused_in_the_plan_until_adopted() {
    let s = Scratch::new("record");
    let stack = unique("record");
    let domain = format!("{stack}.zenoo.example");
    let zone = format!("[route53_zone.main]\nname = \"{domain}\"\ndelegation = \"external\"\n\n");
    let f = s.write("zone.toml", &stack_file(&stack, "us-east-1", &zone));
    zinfra(&["apply", path(&f), "--auto-approve"], &[]).expect(0);
    let r53 = aws_sdk_route53::Client::new(&sdk_config().await);
    let zone_id = r53
        .list_hosted_zones_by_name()
        .dns_name(&domain)
        .send()
        .await
        .unwrap()
        .hosted_zones()[0]
        .id()
        .trim_start_matches("/hostedzone/")
        .to_owned();
    let hand = format!("www.{domain}");
    use aws_sdk_route53::types::{
        Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
    };
    r53.change_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .change_batch(
            ChangeBatch::builder()
                .changes(
                    Change::builder()
                        .action(ChangeAction::Create)
                        .resource_record_set(
                            ResourceRecordSet::builder()
                                .name(&hand)
                                .r#type(RrType::A)
                                .ttl(60)
                                .resource_records(
                                    ResourceRecord::builder()
                                        .value("192.0.2.9")
                                        .build()
                                        .unwrap(),
                                )
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let value = || async {
        let sets = r53
            .list_resource_record_sets()
            .hosted_zone_id(&zone_id)
            .send()
            .await
            .unwrap();
        sets.resource_record_sets()
            .iter()
            .find(|s| s.name().trim_end_matches('.') == hand && s.r#type() == &RrType::A)
            .map(|s| s.resource_records()[0].value().to_owned())
    };

    let record = format!(
        "[route53_record.www]\nzone = \"route53_zone.main\"\nname = \"{hand}\"\ntype = \"A\"\nttl = 300\nrecords = [\"192.0.2.1\"]\n\n"
    );
    let g = s.write(
        "record.toml",
        &stack_file(&stack, "us-east-1", &format!("{zone}{record}")),
    );
    let run = zinfra(&["plan", path(&g)], &[]).expect(1);
    assert!(
        run.stdout.contains(&format!(
            "record {zone_id}_{hand}_A already exists and is not this stack's"
        )),
        "{}",
        run.stdout
    );
    zinfra(&["apply", path(&g), "--auto-approve"], &[]).expect(1);
    assert_eq!(
        value().await.as_deref(),
        Some("192.0.2.9"),
        "the hand-made record was changed"
    );

    let adopting = format!(
        "{zone}{record}[[adopt]]\naddress = \"route53_record.www\"\nid = \"{zone_id}_{hand}_A\"\n"
    );
    let h = s.write("adopt.toml", &stack_file(&stack, "us-east-1", &adopting));
    let run = zinfra(&["apply", path(&h), "--auto-approve"], &[]).expect(0);
    assert!(
        run.stdout
            .contains("# route53_record.www will be adopted (tagged and converged in place)"),
        "{}",
        run.stdout
    );
    assert_eq!(value().await.as_deref(), Some("192.0.2.1"));
    zinfra(&["plan", path(&h), "--detailed-exitcode"], &[]).expect(0);
    zinfra(&["destroy", path(&h), "--auto-approve"], &[]).expect(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hand_made_repository_and_parameter_are_refused_until_adopted() {
    let s = Scratch::new("takeover2");
    let stack = unique("takeover2");
    let repo = format!("{stack}-app");
    let param = format!("/{stack}/mode");
    let conf = sdk_config().await;
    let ecr = aws_sdk_ecr::Client::new(&conf);
    let ssm = aws_sdk_ssm::Client::new(&conf);
    ecr.create_repository()
        .repository_name(&repo)
        .send()
        .await
        .unwrap();
    ssm.put_parameter()
        .name(&param)
        .value("by-hand")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    let body = format!(
        "[ecr_repository.app]\nrepository_name = \"{repo}\"\n\n[ssm_parameter.mode]\nname = \"{param}\"\ntype = \"String\"\nvalue = \"blue\"\n\n"
    );
    let f = s.write("stack.toml", &stack_file(&stack, "us-east-1", &body));
    let run = zinfra(&["plan", path(&f)], &[]).expect(1);
    assert!(
        run.stdout.contains(&format!(
            "repository {repo} already exists and is not this stack's"
        )) && run.stdout.contains(&format!(
            "parameter {param} already exists and is not this stack's"
        )),
        "{}",
        run.stdout
    );
    zinfra(&["apply", path(&f), "--auto-approve"], &[]).expect(1);
    let value = ssm.get_parameter().name(&param).send().await.unwrap();
    assert_eq!(value.parameter().unwrap().value(), Some("by-hand"));

    let adopting = format!(
        "{body}[[adopt]]\naddress = \"ecr_repository.app\"\nid = \"{repo}\"\n\n[[adopt]]\naddress = \"ssm_parameter.mode\"\nid = \"{param}\"\n"
    );
    let g = s.write("adopt.toml", &stack_file(&stack, "us-east-1", &adopting));
    let run = zinfra(&["apply", path(&g), "--auto-approve"], &[]).expect(0);
    assert!(
        run.stdout.contains("0 added, 2 changed, 0 destroyed"),
        "{}",
        run.stdout
    );
    let value = ssm.get_parameter().name(&param).send().await.unwrap();
    assert_eq!(value.parameter().unwrap().value(), Some("blue"));
    zinfra(&["plan", path(&g), "--detailed-exitcode"], &[]).expect(0);
    zinfra(&["destroy", path(&g), "--auto-approve"], &[]).expect(0);
}
