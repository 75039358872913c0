//! The command line without AWS: exit codes, diagnostics, and proof that bad input never reaches the network.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::cli::{Scratch, path, zinfra_at};

/// A loopback port that counts every connection made to it.
pub(crate) fn counting_endpoint() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            c.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (url, count)
}

const BAD: &str = "[stack]
name = \"bad\"
environment = \"dev\"
region = \"us-east-1\"

[vpc.main]
cidr_block = \"10.0.0.0/16\"

[subnet.a]
vpc = \"vpc.main\"
cidr_block = \"10.1.0.0/24\"
availability_zone = \"us-east-1a\"
";

#[test]
fn invalid_stack_makes_no_api_call_in_any_command() {
    let s = Scratch::new("bad");
    let f = s.write("bad.toml", BAD);
    let (url, count) = counting_endpoint();
    for args in [
        vec!["validate", path(&f)],
        vec!["plan", path(&f)],
        vec!["plan", path(&f), "--detailed-exitcode"],
        vec!["apply", path(&f), "--auto-approve"],
        vec!["destroy", path(&f), "--auto-approve"],
        vec!["graph", path(&f)],
    ] {
        let run = zinfra_at(&url, &args, &[]).expect(1);
        assert!(
            run.stderr
                .contains("error: subnet CIDR 10.1.0.0/24 is outside its VPC's 10.0.0.0/16"),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains("bad.toml:11:14"), "{}", run.stderr);
        assert!(
            run.stderr
                .ends_with("has 1 problem; nothing was sent to AWS\n"),
            "{}",
            run.stderr
        );
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(
        count.load(Ordering::SeqCst),
        0,
        "an invalid stack reached the network"
    );
}

#[test]
fn validate_output() {
    let s = Scratch::new("validate");
    let f = s.write("bad.toml", BAD);
    let run = zinfra_at("http://127.0.0.1:9", &["validate", path(&f)], &[]).expect(1);
    let shown = run.stderr.replace(path(&f), "bad.toml");
    insta::assert_snapshot!("validate_error", shown);

    let root = env!("CARGO_MANIFEST_DIR");
    let dev = format!("{root}/stacks/zenoo-dev.toml");
    let run = zinfra_at("http://127.0.0.1:9", &["validate", &dev], &DEV_ENV).expect(0);
    assert_eq!(
        run.stdout.replace(&dev, "stacks/zenoo-dev.toml"),
        "stacks/zenoo-dev.toml is valid: 58 resources in stack zenoo-dev (dev).\n\
         Longest chain of waits: 2h (msk_cluster.events -> ecs_service.hub); \
         give a job that applies or destroys it more.\n"
    );
}

/// The dev reference stack's secrets (the Redis passwords need 16 to 128 characters).
const DEV_ENV: [(&str, &str); 2] = [
    ("ZENOO_DEV_DB_PASSWORD", "x"),
    ("ZENOO_DEV_REDIS_DEFAULT_PASSWORD", "x-0123456789abcdef"),
];

#[test]
fn graph_output() {
    let root = env!("CARGO_MANIFEST_DIR");
    let dev = format!("{root}/stacks/zenoo-dev.toml");
    let env = DEV_ENV;
    let dot = zinfra_at("http://127.0.0.1:9", &["graph", &dev], &env).expect(0);
    insta::assert_snapshot!("graph_dot", dot.stdout);
    let mermaid = zinfra_at(
        "http://127.0.0.1:9",
        &["graph", &dev, "--format", "mermaid"],
        &env,
    )
    .expect(0);
    insta::assert_snapshot!("graph_mermaid", mermaid.stdout);
}

#[test]
fn secrets_are_not_needed_to_validate_or_graph() {
    // Write-only secrets: only an apply that writes one needs its variable (tests/stack.rs).
    let root = env!("CARGO_MANIFEST_DIR");
    let dev = format!("{root}/stacks/zenoo-dev.toml");
    let (url, count) = counting_endpoint();
    zinfra_at(&url, &["validate", &dev], &[]).expect(0);
    zinfra_at(&url, &["graph", &dev], &[]).expect(0);
    assert_eq!(count.load(Ordering::SeqCst), 0);
}

#[test]
fn unreadable_file_and_bad_plan_file() {
    let s = Scratch::new("files");
    let run = zinfra_at(
        "http://127.0.0.1:9",
        &["plan", "/nonexistent/stack.toml"],
        &[],
    )
    .expect(1);
    assert_eq!(
        run.stderr,
        "error: cannot read /nonexistent/stack.toml: No such file or directory (os error 2)\n"
    );
    let f = s.write("p.zplan", "{\"format\": 99}");
    let run = zinfra_at("http://127.0.0.1:9", &["apply", path(&f)], &[]).expect(1);
    assert!(
        run.stderr.contains("is not a zinfra plan file"),
        "{}",
        run.stderr
    );
}

#[test]
fn unreachable_endpoint_is_one_clear_line() {
    let root = env!("CARGO_MANIFEST_DIR");
    let stack = format!("{root}/examples/minimal.toml");
    let run = zinfra_at("http://127.0.0.1:1", &["plan", &stack], &[]).expect(1);
    // Whichever concurrent read fails first names its operation.
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.starts_with("error: reading live state: "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.ends_with(
            ": dispatch failure: io error: client error (Connect): tcp connect error: Connection refused (os error 111)\n"
        ),
        "{}",
        run.stderr
    );
}
