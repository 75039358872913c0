//! Running the real `zinfra` binary against the emulator, in a scratch directory per test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::moto::{credentials_env, moto, unique};

pub struct Scratch {
    pub dir: PathBuf,
}

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(unique(&format!("zinfra-test-{name}")));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch { dir }
    }
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::write(&p, text).expect("write file");
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
    #[track_caller]
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout, self.stderr
        );
        self
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }
}

/// `zinfra ARGS` with the emulator's endpoint and credentials, no terminal, no color.
pub fn zinfra(args: &[&str], extra_env: &[(&str, &str)]) -> Run {
    zinfra_at(&moto().endpoint, args, extra_env)
}

pub fn zinfra_at(endpoint: &str, args: &[&str], extra_env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zinfra"));
    cmd.args(args)
        .stdin(Stdio::null())
        .env("NO_COLOR", "1")
        .env_remove("ZINFRA_LOG")
        // The suite itself runs in GitHub Actions: tests opt in to CI mode explicitly.
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("ZINFRA_STACK_NAME");
    // Secrets come only from what each test passes.
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("ZENOO_")) {
        cmd.env_remove(k);
    }
    for (k, v) in credentials_env() {
        cmd.env(k, v);
    }
    cmd.env("AWS_ENDPOINT_URL", endpoint);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    Run::from(cmd.output().expect("run zinfra"))
}

pub fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Actions in a `plan --json`, as (address, action) for everything that changes.
pub fn changes(plan: &serde_json::Value) -> Vec<(String, String)> {
    plan["resource_changes"]
        .as_array()
        .expect("resource_changes")
        .iter()
        .filter(|r| r["action"] != "no_op")
        .map(|r| {
            (
                r["address"].as_str().unwrap().to_owned(),
                r["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}
