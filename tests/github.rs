//! zinfra inside GitHub Actions: log groups, error annotations, the job summary, plain timestamped
//! progress, per-pull-request stack names, and destroy's safety checks.

use crate::support::cli::{Scratch, path, zinfra};
use crate::support::moto::{sdk_config, unique};

/// A small stack whose parameter names start with `prefix`, so concurrent tests never share one.
fn stack_file(prefix: &str) -> String {
    format!(
        r#"[stack]
name = "gha"
environment = "ci"
region = "us-east-1"

[ssm_parameter.endpoint]
name = "/{prefix}/api-endpoint"
type = "String"
value = "https://api.example.test"

# A chain, so the order of progress lines and summary rows is fixed.
[ssm_parameter.mode]
name = "/{prefix}/mode"
type = "String"
value = "blue"
depends_on = ["dynamodb_table.sessions"]

# Named after the stack: `<stack>-sessions`.
[dynamodb_table.sessions]
hash_key = "id"
attributes = {{ id = "S" }}
ttl_attribute = "expires_at"
depends_on = ["ssm_parameter.endpoint"]
"#
    )
}

/// Snapshot with the variable parts of a run (times, durations, the per-test stack name) made stable.
fn snapshot(name: &str, text: &str, stack: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[time]");
    settings.add_filter(r"\d+\.\d+ ?s\b", "[t]");
    settings.add_filter(r"\S*zinfra-test-[^/\s]+/", "[dir]/");
    let text = text.replace(stack, "[stack]");
    settings.bind(|| insta::assert_snapshot!(name, text));
}

#[tokio::test]
async fn github_actions_mode_groups_annotates_and_writes_the_summary() {
    let s = Scratch::new("gha");
    let stack = unique("gha");
    let file = s.write("stack.toml", &stack_file(&stack));
    let summary = s.dir.join("summary.md");
    let gha = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_STEP_SUMMARY", path(&summary)),
    ];
    let named = ["--stack-name", stack.as_str()];
    let args = |cmd: &[&'static str]| -> Vec<String> {
        cmd.iter()
            .map(|s| s.to_string())
            .chain([path(&file).to_owned()])
            .chain(named.iter().map(|s| s.to_string()))
            .collect()
    };
    let run = |cmd: &[&'static str], env: &[(&str, &str)]| {
        let a = args(cmd);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        zinfra(&a, env)
    };

    // The per-PR stack name names every resource: a parameter made outside the stack is refused in the
    // plan (never taken over), annotated as an error.
    let ssm = aws_sdk_ssm::Client::new(&sdk_config().await);
    ssm.put_parameter()
        .name(format!("/{stack}/mode"))
        .value("taken")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    let failed = run(&["apply", "--auto-approve"], &gha).expect(1);
    snapshot("gha_apply_failed_stdout", &failed.stdout, &stack);
    snapshot("gha_apply_failed_stderr", &failed.stderr, &stack);

    ssm.delete_parameter()
        .name(format!("/{stack}/mode"))
        .send()
        .await
        .unwrap();
    let applied = run(&["apply", "--auto-approve"], &gha).expect(0);
    snapshot("gha_apply_stdout", &applied.stdout, &stack);
    snapshot("gha_apply_stderr", &applied.stderr, &stack);
    run(&["plan", "--detailed-exitcode"], &gha).expect(0);
    run(&["destroy", "--auto-approve"], &gha).expect(0);
    snapshot(
        "gha_summary",
        &std::fs::read_to_string(&summary).unwrap(),
        &stack,
    );
    // Nothing left under the per-PR name.
    let left = ssm
        .get_parameters()
        .names(format!("/{stack}/mode"))
        .names(format!("/{stack}/api-endpoint"))
        .send()
        .await
        .unwrap();
    assert!(left.parameters().is_empty(), "{left:?}");
}

#[test]
fn github_actions_mode_annotates_invalid_files_at_their_line() {
    let s = Scratch::new("gha-bad");
    let file = s.write(
        "stack.toml",
        &stack_file("bad").replace(
            "type = \"String\"\nvalue = \"blue\"",
            "type = \"Strnig\"\nvalue = \"blue\"",
        ),
    );
    let run = zinfra(&["validate", path(&file)], &[("GITHUB_ACTIONS", "true")]).expect(1);
    let shown = run.stdout.replace(path(&file), "stack.toml");
    assert_eq!(
        shown,
        "::error file=stack.toml,line=14,col=8,title=zinfra%3A invalid stack file::invalid value \"Strnig\" for `type` in ssm_parameter.mode\n"
    );
}

#[test]
fn stack_name_override_names_every_resource_and_is_validated() {
    let s = Scratch::new("named");
    let file = s.write("stack.toml", &stack_file("named"));
    let run = zinfra(&["validate", path(&file), "--stack-name", "pr-42"], &[]).expect(0);
    assert!(
        run.stdout
            .contains("is valid: 3 resources in stack pr-42 (ci).\nLongest chain of waits: 10m (dynamodb_table.sessions);"),
        "{}",
        run.stdout
    );
    let run = zinfra(
        &["plan", path(&file), "--json"],
        &[("ZINFRA_STACK_NAME", "pr-42")],
    )
    .expect(0);
    let plan = run.json();
    assert_eq!(plan["stack"], "pr-42");
    let table = plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "dynamodb_table.sessions")
        .unwrap();
    let name = table["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == "table_name")
        .unwrap();
    assert_eq!(name["after"], "pr-42-sessions");
    let run = zinfra(&["plan", path(&file), "--stack-name", "pr 42"], &[]).expect(1);
    assert_eq!(
        run.stderr,
        "error: invalid stack name \"pr 42\" given by --stack-name\n = help: 1 to 64 characters: letters, digits and `-` (it names and tags every resource)\n\nerror: stack.toml has 1 problem; nothing was sent to AWS\n"
            .replace("stack.toml", path(&file))
    );
}

#[test]
fn destroy_refuses_protected_stacks_and_needs_confirmation() {
    let s = Scratch::new("protected");
    let stack = unique("prot");
    let file = s.write(
        "stack.toml",
        &stack_file(&stack).replace(
            "region = \"us-east-1\"\n",
            "region = \"us-east-1\"\nprotected = true\n",
        ),
    );
    let run = zinfra(
        &[
            "destroy",
            path(&file),
            "--auto-approve",
            "--stack-name",
            &stack,
        ],
        &[],
    )
    .expect(1);
    assert_eq!(
        run.stderr.replace(path(&file), "stack.toml"),
        format!(
            "error: refusing to destroy stack {stack}: it is marked `protected = true` (stack.toml:5). \
             Remove that line (or set it to false) first if the stack really must go. Nothing was changed.\n"
        )
    );
    // Unprotected, with something to destroy, but no terminal to type the name and no --auto-approve.
    let plain = s.write("plain.toml", &stack_file(&stack));
    zinfra(
        &[
            "apply",
            path(&plain),
            "--auto-approve",
            "--stack-name",
            &stack,
        ],
        &[],
    )
    .expect(0);
    let run = zinfra(&["destroy", path(&plain), "--stack-name", &stack], &[]).expect(1);
    assert!(
        run.stderr.ends_with(
            "error: refusing to destroy without confirmation: stdin is not a terminal. Review the plan, then pass --auto-approve\n"
        ),
        "{}",
        run.stderr
    );
    zinfra(
        &[
            "destroy",
            path(&plain),
            "--auto-approve",
            "--stack-name",
            &stack,
        ],
        &[],
    )
    .expect(0);
}
