//! The security baseline through the CLI: plan and apply refuse a stack that breaks it before any API
//! call, and `check --live` catches a control weakened behind zinfra's back.

use std::sync::atomic::Ordering;

use crate::cli::counting_endpoint;
use crate::stack::{DEV_ENV, REFERENCE, reference_stack, tagged_leftovers};
use crate::support::cli::{Scratch, path, zinfra, zinfra_at};
use crate::support::sdk_config;

const PUBLIC_BUCKET: &str = "[stack]
name = \"leaky\"
environment = \"dev\"
region = \"us-east-1\"

[s3_bucket.assets]
bucket = \"leaky-assets\"
block_public_access = false
";

#[test]
fn plan_and_apply_refuse_a_stack_that_breaks_the_baseline_before_any_call() {
    let s = Scratch::new("leaky");
    let f = s.write("stack.toml", PUBLIC_BUCKET);
    let (url, count) = counting_endpoint();
    for args in [
        vec!["plan", path(&f)],
        vec!["apply", path(&f), "--auto-approve"],
    ] {
        let run = zinfra_at(&url, &args, &[]).expect(1);
        let shown = run.stderr.replace(path(&f), "stack.toml");
        assert_eq!(
            shown,
            "s3_bucket.assets (stack.toml:6)
error[ZS-S3-002]: S3 buckets block all public access
  --> stack.toml:8:23
  |
8 | block_public_access = false
  |                       ^^^^^ public access is not blocked
  |
  = seed: \"They are encrypted with a built-in option called \u{201c}Server-side encryption with Amazon S3 managed keys (SSE-S3))\u{201d}. Public access is blocked with the bucket policy containing relevant CloudFront origin access identity only.\"
  = also: checkov CKV_AWS_53..56; Trivy AVD-AWS-0086, 0087, 0091, 0093

check: stack.toml: 1 error, 0 warnings
error: stack.toml violates the security baseline; nothing was sent to AWS. Fix it, or add a waiver naming the rule and why next to the resource (see `zinfra check`).
"
        );
    }
    // `check` itself: exit 1, same finding; JSON and SARIF name the rule and the line.
    let run = zinfra_at(&url, &["check", path(&f), "--format", "json"], &[]).expect(1);
    let json = run.json();
    assert_eq!(json["findings"][0]["rule"], "ZS-S3-002");
    assert_eq!(json["findings"][0]["line"], 8);
    let run = zinfra_at(&url, &["check", path(&f), "--format", "sarif"], &[]).expect(1);
    assert_eq!(run.json()["runs"][0]["results"][0]["ruleId"], "ZS-S3-002");
    // In GitHub Actions the finding is also an annotation on the line.
    let run = zinfra_at(&url, &["check", path(&f)], &[("GITHUB_ACTIONS", "true")]).expect(1);
    assert!(
        run.stdout.contains(&format!(
            "::error file={},line=8,col=23,title=ZS-S3-002%3A S3 buckets block all public access::s3_bucket.assets: public access is not blocked\n",
            path(&f).replace(':', "%3A")
        )),
        "{}",
        run.stdout
    );
    // A waiver lets it through, and the plan says so.
    let waived = s.write(
        "waived.toml",
        &PUBLIC_BUCKET.replace(
            "block_public_access = false\n",
            "block_public_access = false\nwaivers = [{ rule = \"ZS-S3-002\", reason = \"public downloads bucket\", expires = \"2999-12-31\" }]\n",
        ),
    );
    let run = zinfra_at(&url, &["check", path(&waived)], &[]).expect(0);
    assert!(
        run.stdout.ends_with(&format!(
            "check: {} meets the {} rules of the security baseline, 1 waived\n",
            path(&waived),
            zinfra::check::rules::RULES.len()
        )),
        "{}",
        run.stdout
    );
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(count.load(Ordering::SeqCst), 0, "a request reached AWS");
}

#[tokio::test(flavor = "multi_thread")]
async fn check_live_reports_a_control_weakened_behind_zinfras_back() {
    let _turn = REFERENCE.lock().await;
    let s = Scratch::new("live-check");
    let f = s.write("zenoo-dev.toml", &reference_stack());
    let env = DEV_ENV;
    zinfra(&["apply", path(&f), "--auto-approve"], &env).expect(0);
    // What was applied meets the baseline when read back.
    let run = zinfra(&["check", path(&f), "--live", "--format", "json"], &env).expect(0);
    assert_eq!(
        run.json()["findings"],
        serde_json::json!([]),
        "{}",
        run.stdout
    );

    // Someone turns key rotation off in the console.
    let kms = aws_sdk_kms::Client::new(&sdk_config().await);
    let key = kms
        .describe_key()
        .key_id("alias/zenoo-dev-data")
        .send()
        .await
        .unwrap();
    let key_id = key.key_metadata().unwrap().key_id().to_owned();
    kms.disable_key_rotation()
        .key_id(&key_id)
        .send()
        .await
        .unwrap();

    let run = zinfra(&["check", path(&f), "--live", "--format", "json"], &env).expect(1);
    let found: Vec<(String, String)> = run.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["address"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [("ZS-KMS-001".to_owned(), "kms_key.data".to_owned())]
    );
    let human = zinfra(&["check", path(&f), "--live"], &env).expect(1);
    assert!(
        human.stdout.starts_with(
            "live kms_key.data\nerror[ZS-KMS-001]: KMS keys rotate automatically\n = live: automatic key rotation is off\n"
        ),
        "{}",
        human.stdout
    );

    zinfra(&["destroy", path(&f), "--auto-approve"], &env).expect(0);
    assert_eq!(tagged_leftovers("zenoo-dev").await, Vec::<String>::new());
}
