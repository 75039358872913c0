//! The bad-input corpus (tests/bad/*.toml): every malformed stack file gives its exact diagnostic
//! (tests/bad/*.stderr), exits 1, never panics, and sends nothing to AWS.
//! This is the one way diagnostics are tested: a new check gets a file here, named after the kind it is
//! about (`stack-`, `aws-`, `baseline-` for what is not one kind's). `ZINFRA_BLESS=1 cargo test --test e2e corpus`
//! writes the expected files after a deliberate change; review the diff.

use std::sync::atomic::Ordering;

use crate::cli::counting_endpoint;
use crate::support::cli::zinfra_at;

/// The environment every file is loaded with: secrets some files name (never in any output).
const SECRETS: &[(&str, &str)] = &[
    ("CORPUS_SECRET", "s3cr3t-corpus-value"),
    ("SET_VAR", "s3cr3t-value"),
    ("REDIS_PASSWORD", "redis-s3cr3t-0123456789"),
];

#[test]
fn every_bad_stack_file_gives_its_exact_diagnostic_and_no_request() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bad");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 50, "the corpus has {} files", files.len());
    let (url, count) = counting_endpoint();
    let bless = std::env::var_os("ZINFRA_BLESS").is_some();
    let mut wrong = Vec::new();
    for f in &files {
        let name = f.file_name().unwrap().to_str().unwrap();
        let shown = format!("tests/bad/{name}");
        let run = zinfra_at(&url, &["plan", f.to_str().unwrap()], SECRETS);
        let stderr = run.stderr.replace(f.to_str().unwrap(), &shown);
        assert_eq!(run.code, 1, "{name}: exit {}\n{stderr}", run.code);
        assert!(!stderr.contains("panicked"), "{name} panicked:\n{stderr}");
        for (var, value) in SECRETS {
            assert!(!stderr.contains(value), "{name} leaked {var}");
        }
        let expected = f.with_extension("stderr");
        if bless {
            std::fs::write(&expected, &stderr).unwrap();
        } else if std::fs::read_to_string(&expected).ok().as_deref() != Some(stderr.as_str()) {
            wrong.push(format!("--- {name}: got ---\n{stderr}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(
        count.load(Ordering::SeqCst),
        0,
        "a bad stack file reached the network"
    );
}
