//! The GitHub Action (/action.yml) runs three scripts (.github/action/): install, run, comment. They run
//! here as the action runs them, offline: the release is a directory served over file://, the runner's
//! files (GITHUB_PATH, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY) are temporary files, zinfra plans against
//! the emulator, and GitHub's comments API is a stand-in `curl` that keeps the comments in a file.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::support::cli::{Scratch, path};
use crate::support::moto::{credentials_env, moto, unique};

const TARGET: &str = "x86_64-unknown-linux-musl";

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".github/action")
        .join(name)
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn bash(script: &Path, env: &[(&str, &str)]) -> Out {
    let mut cmd = Command::new("bash");
    cmd.arg(script)
        .stdin(Stdio::null())
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("GITHUB_OUTPUT")
        .env_remove("GITHUB_PATH")
        .env("NO_COLOR", "1")
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A release as /.github/workflows/release.yml publishes it: the archive with `zinfra` at its top, and
/// SHA256SUMS. The binary is the one under test.
fn fake_release(dir: &Path, version: &str) {
    let at = dir.join(version);
    std::fs::create_dir_all(at.join("pkg")).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_zinfra"), at.join("pkg/zinfra")).unwrap();
    let asset = format!("zinfra-{TARGET}.tar.gz");
    let ok = Command::new("tar")
        .args([
            "-C",
            path(&at.join("pkg")),
            "-czf",
            path(&at.join(&asset)),
            "zinfra",
        ])
        .status()
        .unwrap();
    assert!(ok.success());
    let sums = Command::new("sha256sum")
        .arg(&asset)
        .current_dir(&at)
        .output()
        .unwrap();
    std::fs::write(at.join("SHA256SUMS"), sums.stdout).unwrap();
    std::fs::remove_dir_all(at.join("pkg")).unwrap();
}

#[test]
fn install_verifies_the_release_caches_it_and_refuses_a_tampered_one() {
    let s = Scratch::new("action-install");
    let releases = s.dir.join("releases");
    fake_release(&releases, "v0.2.0");
    let cache = s.dir.join("tool-cache");
    let gh_path = s.dir.join("github_path");
    let gh_out = s.dir.join("github_output");
    let base = format!("file://{}", path(&releases));
    let env = |version: &'static str| {
        vec![
            ("ZINFRA_VERSION", version),
            ("ZINFRA_INSTALL_DIR", path(&cache)),
            ("ZINFRA_RELEASES", base.as_str()),
            ("GITHUB_PATH", path(&gh_path)),
            ("GITHUB_OUTPUT", path(&gh_out)),
        ]
    };
    let install = script("install.sh");

    let t0 = Instant::now();
    let cold = bash(&install, &env("v0.2.0"));
    let cold_took = t0.elapsed();
    assert_eq!(cold.code, 0, "{}{}", cold.stdout, cold.stderr);
    assert!(
        cold.stdout.contains("downloaded and verified"),
        "{}",
        cold.stdout
    );
    let dir = cache.join("v0.2.0").join(TARGET);
    assert!(dir.join("zinfra").exists());
    assert_eq!(
        std::fs::read_to_string(&gh_path).unwrap(),
        format!("{}\n", path(&dir))
    );
    let outputs = std::fs::read_to_string(&gh_out).unwrap();
    assert!(
        outputs.contains(&format!("path={}/zinfra\n", path(&dir))),
        "{outputs}"
    );
    assert!(outputs.contains("cached=false\n"), "{outputs}");

    // Warm: what actions/cache restored is used without a download (the release is gone), after its
    // recorded checksum is checked.
    std::fs::rename(&releases, s.dir.join("gone")).unwrap();
    let t0 = Instant::now();
    let warm = bash(&install, &env("v0.2.0"));
    let warm_took = t0.elapsed();
    assert_eq!(warm.code, 0, "{}{}", warm.stdout, warm.stderr);
    assert!(warm.stdout.contains("from the cache"), "{}", warm.stdout);
    eprintln!(
        "action install: {cold_took:?} downloading and verifying the release, {warm_took:?} from a warm cache"
    );

    // A cached binary changed since it was installed is refused.
    std::fs::write(dir.join("zinfra"), "#!/bin/sh\necho pwned\n").unwrap();
    let changed = bash(&install, &env("v0.2.0"));
    assert_eq!(changed.code, 1);
    assert!(
        changed
            .stderr
            .contains("does not match the checksum recorded when it was installed"),
        "{}",
        changed.stderr
    );

    // An archive that does not match SHA256SUMS is never unpacked.
    std::fs::rename(s.dir.join("gone"), &releases).unwrap();
    fake_release(&releases, "v0.3.0");
    std::fs::write(
        releases
            .join("v0.3.0")
            .join(format!("zinfra-{TARGET}.tar.gz")),
        "not the release",
    )
    .unwrap();
    let tampered = bash(&install, &env("v0.3.0"));
    assert_eq!(tampered.code, 1);
    assert!(
        tampered.stderr.contains(&format!(
            "::error title=zinfra install::checksum mismatch for zinfra-{TARGET}.tar.gz of v0.3.0"
        )),
        "{}",
        tampered.stderr
    );
    assert!(!cache.join("v0.3.0").join(TARGET).join("zinfra").exists());

    // Inputs that cannot name a release, and a missing one.
    let bad = bash(&install, &env("latest"));
    assert!(
        bad.stderr
            .contains("version must be a release tag such as v0.2.0, got 'latest'"),
        "{}",
        bad.stderr
    );
    let missing = bash(&install, &env("v9.9.9"));
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("could not download"),
        "{}",
        missing.stderr
    );
}

#[test]
fn run_writes_the_summary_and_outputs_and_maps_plan_exit_codes() {
    let s = Scratch::new("action-run");
    let stack = unique("action");
    let file = s.write(
        "stack.toml",
        &format!(
            "[stack]\nname = \"{stack}\"\nenvironment = \"ci\"\nregion = \"us-east-1\"\n\n\
             [variables.image_tag]\ntype = \"string\"\n\n\
             [ssm_parameter.image]\nname = \"/{stack}/image\"\ntype = \"String\"\nvalue = \"registry.test/app:${{var.image_tag}}\"\n"
        ),
    );
    let summary = s.dir.join("summary.md");
    let outputs = s.dir.join("outputs");
    let endpoint = moto().endpoint.clone();
    let creds = credentials_env();
    let run = |command: &str, args: &str| {
        std::fs::write(&outputs, "").unwrap();
        let mut env: Vec<(&str, &str)> = vec![
            ("ZINFRA", env!("CARGO_BIN_EXE_zinfra")),
            ("INPUT_COMMAND", command),
            ("INPUT_STACK", path(&file)),
            ("INPUT_ARGS", args),
            ("RUNNER_TEMP", path(&s.dir)),
            ("GITHUB_STEP_SUMMARY", path(&summary)),
            ("GITHUB_OUTPUT", path(&outputs)),
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ];
        env.extend(creds.iter().map(|(k, v)| (*k, v.as_str())));
        let out = bash(&script("run.sh"), &env);
        (out, std::fs::read_to_string(&outputs).unwrap())
    };

    // Changes: the step succeeds and says so; the plan is in the step summary and in the file the
    // comment step posts.
    let (out, outs) = run("plan", "--var image_tag=abc1234");
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        outs.contains("exitcode=2\n") && outs.contains("changes=true\n"),
        "{outs}"
    );
    let body = outs
        .lines()
        .find_map(|l| l.strip_prefix("summary-file="))
        .unwrap()
        .to_owned();
    let plan_md = std::fs::read_to_string(&body).unwrap();
    assert!(plan_md.contains("ssm_parameter.image"), "{plan_md}");
    assert!(
        std::fs::read_to_string(&summary)
            .unwrap()
            .contains(&plan_md),
        "the step summary has the plan"
    );

    let (out, outs) = run("apply", "--var image_tag=abc1234 --auto-approve");
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(outs.contains("exitcode=0\n"), "{outs}");
    let (out, outs) = run("plan", "--var image_tag=abc1234");
    assert_eq!(out.code, 0);
    assert!(
        outs.contains("exitcode=0\n") && outs.contains("changes=false\n"),
        "{outs}"
    );

    // An error fails the step with zinfra's exit code; a missing variable is such an error.
    let (out, outs) = run("plan", "");
    assert_eq!(out.code, 1);
    assert!(outs.contains("exitcode=1\n"), "{outs}");
    assert!(
        out.stderr.contains("variable `image_tag` has no value"),
        "{}",
        out.stderr
    );
    let (out, _) = run("import", "");
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(
            "command must be one of validate, check, plan, apply, destroy, output; got 'import'"
        ),
        "{}",
        out.stderr
    );

    let (out, _) = run("destroy", "--var image_tag=abc1234 --auto-approve");
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}

/// A stand-in for `curl` against GitHub's issue comments API: comments live in `$FAKE_GITHUB/comments.json`,
/// every call is logged to `$FAKE_GITHUB/calls`.
const FAKE_CURL: &str = r#"#!/usr/bin/env python3
import json, os, re, sys
state = os.environ["FAKE_GITHUB"]
args = sys.argv[1:]
method = args[args.index("-X") + 1]
url = next(a for a in args if a.startswith("http"))
data = args[args.index("--data") + 1] if "--data" in args else None
auth = [args[i + 1] for i, a in enumerate(args) if a == "-H" and args[i + 1].startswith("Authorization:")]
path = os.path.join(state, "comments.json")
comments = json.load(open(path)) if os.path.exists(path) else []
with open(os.path.join(state, "calls"), "a") as log:
    log.write(f"{method} {url} {auth[0] if auth else '-'}\n")
if method == "GET":
    page = int(re.search(r"[?&]page=(\d+)", url).group(1))
    print(json.dumps(comments[(page - 1) * 100 : page * 100]))
elif method == "POST":
    body = json.loads(data)["body"]
    comments.append({"id": 1000 + len(comments), "body": body})
    print(json.dumps(comments[-1]))
elif method == "PATCH":
    cid = int(url.rsplit("/", 1)[1])
    for c in comments:
        if c["id"] == cid:
            c["body"] = json.loads(data)["body"]
    print("{}")
json.dump(comments, open(path, "w"))
"#;

#[test]
fn comment_keeps_one_sticky_plan_comment_per_stack() {
    let s = Scratch::new("action-comment");
    let fake = s.dir.join("github");
    let bin = s.dir.join("bin");
    std::fs::create_dir_all(&fake).unwrap();
    std::fs::create_dir_all(&bin).unwrap();
    let curl = bin.join("curl");
    std::fs::write(&curl, FAKE_CURL).unwrap();
    Command::new("chmod").arg("+x").arg(&curl).status().unwrap();
    // 150 comments by people first: the script reads past the first page.
    let people: Vec<serde_json::Value> = (0..150)
        .map(|i| serde_json::json!({"id": i, "body": format!("looks good {i}")}))
        .collect();
    std::fs::write(
        fake.join("comments.json"),
        serde_json::to_string(&people).unwrap(),
    )
    .unwrap();
    let search_path = format!("{}:{}", path(&bin), std::env::var("PATH").unwrap());
    let plan = s.write("plan.md", "### zinfra plan\n\n+ ssm_parameter.image\n");
    let comment = |stack: &str, code: &str, body: &Path| {
        bash(
            &script("comment.sh"),
            &[
                ("PATH", search_path.as_str()),
                ("FAKE_GITHUB", path(&fake)),
                ("GITHUB_TOKEN", "token-123"),
                ("GITHUB_API_URL", "https://api.github.test"),
                ("GITHUB_REPOSITORY", "acme/infra"),
                ("GITHUB_RUN_ID", "77"),
                ("PR_NUMBER", "42"),
                ("STACK", stack),
                ("BODY_FILE", path(body)),
                ("EXITCODE", code),
            ],
        )
    };
    let comments = || -> Vec<serde_json::Value> {
        serde_json::from_str(&std::fs::read_to_string(fake.join("comments.json")).unwrap()).unwrap()
    };

    let first = comment("stacks/zenoo-dev.toml", "2", &plan);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    assert!(
        first
            .stdout
            .contains("posted the plan comment on pull request #42")
    );
    let all = comments();
    assert_eq!(all.len(), 151);
    let ours = all[150]["body"].as_str().unwrap();
    assert!(ours.starts_with("<!-- zinfra-plan: stacks/zenoo-dev.toml -->\n**zinfra plan** `stacks/zenoo-dev.toml`: changes ([run](https://github.com/acme/infra/actions/runs/77))\n\n### zinfra plan"), "{ours}");

    // The next push edits the same comment; people's comments stay as they were.
    let again = s.write("plan2.md", "No changes.\n");
    let second = comment("stacks/zenoo-dev.toml", "0", &again);
    assert_eq!(second.code, 0, "{}{}", second.stdout, second.stderr);
    assert!(
        second.stdout.contains("updated the plan comment 1150"),
        "{}",
        second.stdout
    );
    let all = comments();
    assert_eq!(all.len(), 151);
    assert!(
        all[150]["body"]
            .as_str()
            .unwrap()
            .contains(": no changes (")
    );
    assert_eq!(all[3]["body"], "looks good 3");

    // Another stack has a comment of its own; a failed plan says so; a long plan is cut to fit.
    let long = s.write("long.md", &"x".repeat(70_000));
    let third = comment("stacks/zenoo-prod.toml", "1", &long);
    assert_eq!(third.code, 0, "{}{}", third.stdout, third.stderr);
    let all = comments();
    assert_eq!(all.len(), 152);
    let prod = all[151]["body"].as_str().unwrap();
    assert!(
        prod.contains("`stacks/zenoo-prod.toml`: failed (exit 1)"),
        "{}",
        &prod[..200]
    );
    assert!(prod.len() < 65_536 && prod.ends_with("the whole plan is in the run's summary."));

    let calls = std::fs::read_to_string(fake.join("calls")).unwrap();
    assert!(
        calls
            .lines()
            .all(|l| l.ends_with("Authorization: Bearer token-123")),
        "{calls}"
    );
    assert!(calls.contains("PATCH https://api.github.test/repos/acme/infra/issues/comments/1150 "));
    assert!(calls.contains(
        "GET https://api.github.test/repos/acme/infra/issues/42/comments?per_page=100&page=2 "
    ));
}
