//! One LocalStack (community edition, host mode) per test process, installed into a project-owned
//! virtualenv on first use, like moto (tests/support/moto.rs). `.ci/run` installs it first so that a
//! missing Python 3.13 fails in seconds with the message below.
//!
//! LocalStack 2026.3 needs Python 3.13. It is found as `$ZINFRA_PYTHON313`, `python3.13` on PATH, or
//! pyenv's `~/.pyenv/versions/3.13*/bin/python3.13`. Without it the LocalStack tests fail, naming how
//! to install it: they are never skipped.

use std::fs::{self, File};
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const LOCALSTACK_VERSION: &str = "2026.3.0";
/// Pins that LocalStack 2026.3.0's own requirements leave open and that break it when newer.
const PINS: &[&str] = &["cbor2<6", "pyopenssl<26.1"];

/// Where the virtualenv lives: `$ZINFRA_LOCALSTACK_HOME`, else `~/.cache/zinfra-localstack`.
fn home() -> PathBuf {
    if let Some(dir) = std::env::var_os("ZINFRA_LOCALSTACK_HOME") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    base.join(".cache").join("zinfra-localstack")
}

fn fail(what: &str) -> ! {
    panic!(
        "could not {what}.\n\
         The LocalStack tests need LocalStack community {LOCALSTACK_VERSION} \
         (`pip install 'localstack-core[runtime]=={LOCALSTACK_VERSION}' {pins}`) on Python 3.13, which they install into \
         {} on first use. Install Python 3.13 (for example `pyenv install 3.13`, or your distribution's python3.13 \
         with its venv module) and make sure PyPI is reachable, or set ZINFRA_PYTHON313 to a Python 3.13 interpreter.",
        home().display(),
        pins = PINS
            .iter()
            .map(|p| format!("'{p}'"))
            .collect::<Vec<_>>()
            .join(" ")
    )
}

/// A Python 3.13 interpreter, or `None`.
pub fn python313() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ZINFRA_PYTHON313") {
        return Some(PathBuf::from(p));
    }
    if let Ok(path) = std::env::var("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join("python3.13");
            if p.is_file() && !dir.ends_with("shims") {
                return Some(p);
            }
        }
    }
    let versions = PathBuf::from(std::env::var_os("HOME")?).join(".pyenv/versions");
    let mut found: Vec<PathBuf> = fs::read_dir(versions)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("3.13"))
        })
        .map(|p| p.join("bin/python3.13"))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found.pop()
}

/// The virtualenv's python, installing LocalStack first when needed (serialized by a file lock).
pub fn localstack_python() -> PathBuf {
    let home = home();
    let venv = home.join("venv");
    let python = venv.join("bin").join("python");
    let stamp = venv.join(format!("zinfra-localstack-{LOCALSTACK_VERSION}"));
    if stamp.exists() && python.exists() {
        return python;
    }
    let Some(base) = python313() else {
        fail("find Python 3.13")
    };
    fs::create_dir_all(&home).unwrap_or_else(|_| fail("create the LocalStack directory"));
    let lock =
        File::create(home.join("install.lock")).unwrap_or_else(|_| fail("create the install lock"));
    lock.lock()
        .unwrap_or_else(|_| fail("take the install lock"));
    if !(stamp.exists() && python.exists()) {
        eprintln!(
            "installing LocalStack {LOCALSTACK_VERSION} into {} (once)",
            venv.display()
        );
        let ok = Command::new(&base)
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            fail(&format!(
                "create a virtualenv with `{} -m venv`",
                base.display()
            ));
        }
        let ok = Command::new(venv.join("bin").join("pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .arg(format!("localstack-core[runtime]=={LOCALSTACK_VERSION}"))
            .args(PINS)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            fail("install LocalStack with pip");
        }
        File::create(&stamp)
            .and_then(|mut f| f.write_all(b"ok"))
            .unwrap_or_else(|_| fail("write the install stamp"));
    }
    let _ = lock.unlock();
    python
}

pub struct LocalStack {
    pub endpoint: String,
    _watcher: std::sync::Mutex<std::process::Child>,
    _root: PathBuf,
}

/// The process-wide LocalStack, started on a free loopback port the first time a test asks.
pub fn localstack() -> &'static LocalStack {
    static LS: OnceLock<LocalStack> = OnceLock::new();
    LS.get_or_init(start)
}

fn start() -> LocalStack {
    let python = localstack_python();
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|_| fail("find a free port"));
    let root =
        std::env::temp_dir().join(format!("zinfra-localstack-{}-{port}", std::process::id()));
    fs::create_dir_all(&root).unwrap_or_else(|_| fail("create LocalStack's file system root"));
    let log = root.join("localstack.log");
    // The server must not outlive the test process. LocalStack sometimes ignores SIGTERM: the watcher
    // sends it, waits up to 10 s, then SIGKILLs the server and its children.
    let script = format!(
        "\"$0\" -m localstack.runtime.main >\"$1\" 2>&1 & srv=$!; \
         while kill -0 {parent} 2>/dev/null && kill -0 $srv 2>/dev/null; do sleep 0.5; done; \
         kill $srv 2>/dev/null; for i in $(seq 1 20); do kill -0 $srv 2>/dev/null || break; sleep 0.5; done; \
         pkill -KILL -P $srv 2>/dev/null; kill -KILL $srv 2>/dev/null",
        parent = std::process::id()
    );
    let watcher = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(&python)
        .arg(&log)
        .env("GATEWAY_LISTEN", format!("127.0.0.1:{port}"))
        .env("GATEWAY_SERVER", "hypercorn")
        .env("OVERRIDE_IN_DOCKER", "0")
        .env("DNS_ADDRESS", "0")
        .env("FILESYSTEM_ROOT", &root)
        // Offline: no analytics, no downloads of certificates or service packages.
        .env("DISABLE_EVENTS", "1")
        .env("SKIP_SSL_CERT_DOWNLOAD", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|_| fail("start LocalStack"));
    let deadline = Instant::now() + Duration::from_secs(120);
    let health = format!(
        "GET /_localstack/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    );
    loop {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.write_all(health.as_bytes());
            let mut reply = String::new();
            let _ = std::io::Read::read_to_string(&mut s, &mut reply);
            if reply.starts_with("HTTP/1.1 200") {
                break;
            }
        }
        if Instant::now() > deadline {
            let tail = fs::read_to_string(&log).unwrap_or_default();
            let tail: String = tail
                .lines()
                .rev()
                .take(30)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n");
            fail(&format!(
                "reach LocalStack's health endpoint on 127.0.0.1:{port} within 120 s. Its log ends:\n{tail}\n"
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    LocalStack {
        endpoint: format!("http://127.0.0.1:{port}"),
        _watcher: std::sync::Mutex::new(watcher),
        _root: root,
    }
}

/// A loaded SDK configuration for LocalStack in `region`, for tests that verify live state directly.
pub async fn sdk_config(region: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_owned()))
        .endpoint_url(&localstack().endpoint)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .load()
        .await
}
