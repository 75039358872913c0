//! Every GitHub Actions workflow in the repository, read as GitHub reads it: each job that runs zinfra
//! gets every variable and secret its stack needs, no pull-request job can see a secret, and each job's
//! timeout is longer than its stack's longest chain of waits. No network.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_yaml_ng::Value;
use zinfra::model::Value as ZValue;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The workflows zinfra ships: its own and the examples users copy.
fn workflow_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [".github/workflows", "examples/github-actions"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml")) {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_mapping()?.get(key)
}

fn triggers(wf: &Value) -> BTreeSet<String> {
    match get(wf, "on") {
        Some(Value::String(one)) => [one.clone()].into(),
        Some(Value::Sequence(list)) => list.iter().map(s).collect(),
        Some(Value::Mapping(m)) => m.keys().map(s).collect(),
        _ => BTreeSet::new(),
    }
}

/// Environment variable names set on the workflow, the job and the step.
fn env_names(levels: &[Option<&Value>]) -> BTreeSet<String> {
    levels
        .iter()
        .flatten()
        .filter_map(|l| get(l, "env").and_then(Value::as_mapping))
        .flat_map(|m| m.keys().map(s))
        .collect()
}

/// One zinfra command a job runs: the command, the stack file (with `${{ matrix.x }}` still in it),
/// the rest of its arguments, and the environment names the step has.
#[derive(Debug)]
struct Run {
    command: String,
    stack: String,
    args: String,
    env: BTreeSet<String>,
}

fn zinfra_runs(wf: &Value, job: &Value) -> Vec<Run> {
    let mut runs = Vec::new();
    for step in get(job, "steps")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        let env = env_names(&[Some(wf), Some(job), Some(step)]);
        let uses = get(step, "uses").map(s).unwrap_or_default();
        // The action: `your-org/zinfra@v…` or this repository's own (`./`).
        if uses.contains("/zinfra@") || uses == "./" {
            let with = get(step, "with");
            let input = |k: &str| with.and_then(|w| get(w, k)).map(s).unwrap_or_default();
            let command = input("command");
            runs.push(Run {
                command: if command.is_empty() {
                    "plan".into()
                } else {
                    command
                },
                stack: input("stack"),
                args: input("args"),
                env,
            });
            continue;
        }
        for line in get(step, "run").map(s).unwrap_or_default().lines() {
            // A command line that starts with zinfra (not a message that mentions it).
            let words: Vec<&str> = line.split_whitespace().collect();
            if let ["zinfra", command, stack, rest @ ..] = &words[..] {
                runs.push(Run {
                    command: command.to_string(),
                    stack: stack.trim_matches('"').to_string(),
                    args: rest.join(" "),
                    env: env.clone(),
                });
            }
        }
    }
    runs
}

/// The stack file for each value of the matrix: `stacks/${{ matrix.stack }}.toml` becomes one path per
/// matrix entry. A file the workflow copies from the examples (`stacks/preview.toml`) is found there.
fn stack_paths(job: &Value, stack: &str) -> Vec<PathBuf> {
    let mut names = vec![stack.to_owned()];
    if let Some(matrix) = get(job, "strategy").and_then(|st| get(st, "matrix")) {
        let mut entries: Vec<BTreeMap<String, String>> = Vec::new();
        if let Some(list) = get(matrix, "include").and_then(Value::as_sequence) {
            for e in list {
                let m = e.as_mapping().unwrap();
                entries.push(m.iter().map(|(k, v)| (s(k), s(v))).collect());
            }
        }
        if let Some(list) = get(matrix, "stack").and_then(Value::as_sequence) {
            entries.extend(list.iter().map(|v| [("stack".to_owned(), s(v))].into()));
        }
        if !entries.is_empty() && stack.contains("matrix.") {
            names = entries
                .iter()
                .map(|e| {
                    e.iter().fold(stack.to_owned(), |acc, (k, v)| {
                        acc.replace(&format!("${{{{ matrix.{k} }}}}"), v)
                    })
                })
                .collect();
        }
    }
    names
        .into_iter()
        .map(|n| {
            assert!(!n.contains("${{"), "stack path {n} is not resolvable");
            let direct = root().join(&n);
            if direct.exists() {
                return direct;
            }
            let file = Path::new(&n).file_name().unwrap();
            let example = root().join("examples/github-actions").join(file);
            assert!(example.exists(), "no stack file {n}");
            example
        })
        .collect()
}

/// `--var NAME=` in the arguments, or `ZINFRA_VAR_NAME` in the environment.
fn provided_vars(run: &Run) -> BTreeSet<String> {
    let mut vars: BTreeSet<String> = run
        .env
        .iter()
        .filter_map(|e| e.strip_prefix("ZINFRA_VAR_").map(str::to_owned))
        .collect();
    let words: Vec<&str> = run.args.split_whitespace().collect();
    for w in words.windows(2) {
        if w[0] == "--var"
            && let Some((name, _)) = w[1].split_once('=')
        {
            vars.insert(name.to_owned());
        }
    }
    vars
}

fn secret_envs(stack: &zinfra::stack::Stack) -> BTreeSet<String> {
    fn walk(v: &ZValue, out: &mut BTreeSet<String>) {
        match v {
            ZValue::Secret(s) if !s.env.is_empty() => {
                out.insert(s.env.clone());
            }
            ZValue::List(l) => l.iter().for_each(|v| walk(v, out)),
            ZValue::Map(m) => m.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    for r in &stack.resources {
        r.props.values().for_each(|v| walk(v, &mut out));
    }
    out
}

#[test]
fn every_workflow_gives_zinfra_what_its_stack_needs_and_no_secret_to_pull_requests() {
    let files = workflow_files();
    assert!(files.len() >= 6, "{files:?}");
    let mut checked = 0;
    for file in &files {
        let name = file.strip_prefix(root()).unwrap().display().to_string();
        let text = std::fs::read_to_string(file).unwrap();
        let wf: Value = serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let on = triggers(&wf);
        assert!(!on.is_empty(), "{name}: no triggers");
        let jobs = get(&wf, "jobs").and_then(Value::as_mapping).unwrap();
        for (job_name, job) in jobs {
            let at = format!("{name} job {}", s(job_name));
            // A pull request's code runs in these jobs: a secret there can be printed by any branch.
            if on.contains("pull_request") || on.contains("pull_request_target") {
                let job_text = serde_yaml_ng::to_string(job).unwrap();
                assert!(
                    !job_text.contains("secrets."),
                    "{at}: a job run by pull requests uses a secret"
                );
            }
            let timeout = get(job, "timeout-minutes").and_then(Value::as_u64);
            for run in zinfra_runs(&wf, job) {
                for path in stack_paths(job, &run.stack) {
                    let at = format!("{at} (zinfra {} {})", run.command, path.display());
                    if run.command == "apply" && run.stack.ends_with(".zplan") {
                        continue;
                    }
                    let source = std::fs::read_to_string(&path).unwrap();
                    let provided = provided_vars(&run);
                    let value = "0123456789abcdef0123456789abcdef01234567".to_owned();
                    let lookup = |k: &str| {
                        k.strip_prefix("ZINFRA_VAR_")
                            .filter(|v| provided.contains(*v))
                            .map(|_| value.clone())
                    };
                    let stack =
                        zinfra::validate::load(&path.display().to_string(), source, &lookup)
                            .unwrap_or_else(|e| {
                                panic!(
                                    "{at}: the stack does not load with what the job gives it:\n{}",
                                    e.render(false)
                                )
                            });
                    // Every --var names a declared variable (zinfra refuses undeclared ones).
                    for v in &provided {
                        assert!(
                            stack.info.variables.contains_key(v),
                            "{at}: --var {v} is not declared"
                        );
                    }
                    // An apply writes secrets (on create, or a bumped version): each one's variable must
                    // be in the step's environment. Plans and destroys never need them.
                    if run.command == "apply" {
                        for env in secret_envs(&stack) {
                            assert!(run.env.contains(&env), "{at}: secret {env} is not passed");
                        }
                    }
                    if matches!(run.command.as_str(), "apply" | "destroy") {
                        let graph = zinfra::graph::Graph::new(&stack).unwrap();
                        let (longest, chain) = graph.longest_wait(&stack);
                        let minutes = timeout.unwrap_or(360);
                        assert!(
                            minutes * 60 > longest.as_secs(),
                            "{at}: timeout-minutes {minutes} is not longer than the stack's longest \
                             chain of waits, {} ({chain:?})",
                            zinfra::wait::human(longest)
                        );
                    }
                    checked += 1;
                }
            }
        }
    }
    // plan x2, apply x2, drift x2, preview apply + destroy: the examples run zinfra eight times.
    assert!(checked >= 8, "only {checked} zinfra runs found");
}

/// The test above would pass on workflows it fails to read: check it on broken ones.
#[test]
fn the_workflow_checks_catch_a_missing_secret_and_a_short_timeout() {
    let wf: Value = serde_yaml_ng::from_str(
        "on: push\njobs:\n  a:\n    timeout-minutes: 60\n    steps:\n      - uses: your-org/zinfra@v0.2.0\n        env:\n          ZENOO_DEV_DB_PASSWORD: x\n        with:\n          command: apply\n          stack: stacks/zenoo-dev.toml\n",
    )
    .unwrap();
    let job = get(get(&wf, "jobs").unwrap(), "a").unwrap();
    let runs = zinfra_runs(&wf, job);
    assert_eq!(runs.len(), 1);
    let path = &stack_paths(job, &runs[0].stack)[0];
    let stack = zinfra::validate::load(
        &path.display().to_string(),
        std::fs::read_to_string(path).unwrap(),
        &|_| None,
    )
    .unwrap();
    let missing: Vec<String> = secret_envs(&stack)
        .into_iter()
        .filter(|e| !runs[0].env.contains(e))
        .collect();
    assert_eq!(missing, ["ZENOO_DEV_REDIS_DEFAULT_PASSWORD"]);
    let (longest, _) = zinfra::graph::Graph::new(&stack)
        .unwrap()
        .longest_wait(&stack);
    assert!(longest.as_secs() >= 60 * 60, "{longest:?}");
}
