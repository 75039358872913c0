//! One moto server per test process, installed into a project-owned virtualenv on first use.

use std::fs::{self, File};
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const MOTO_VERSION: &str = "5.2.5";

/// Where the virtualenv lives: `$ZINFRA_MOTO_HOME`, else `~/.cache/zinfra-moto`.
fn home() -> PathBuf {
    if let Some(dir) = std::env::var_os("ZINFRA_MOTO_HOME") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    base.join(".cache").join("zinfra-moto")
}

fn fail(what: &str) -> ! {
    panic!(
        "could not {what}.\n\
         The end-to-end tests need moto {MOTO_VERSION} (`pip install 'moto[server]=={MOTO_VERSION}'`), which they \
         install into {} on first use. Check that python3 with the venv module is installed and that PyPI is \
         reachable, or point ZINFRA_MOTO_HOME at a directory holding a virtualenv `venv` with moto installed.",
        home().display()
    )
}

/// The moto_server binary, installing moto first when needed (serialized across processes by a file lock).
pub fn moto_server_bin() -> PathBuf {
    let home = home();
    let venv = home.join("venv");
    let bin = venv.join("bin").join("moto_server");
    let stamp = venv.join(format!("zinfra-moto-{MOTO_VERSION}"));
    if stamp.exists() && bin.exists() {
        return bin;
    }
    fs::create_dir_all(&home).unwrap_or_else(|_| fail("create the moto directory"));
    let lock =
        File::create(home.join("install.lock")).unwrap_or_else(|_| fail("create the install lock"));
    lock.lock()
        .unwrap_or_else(|_| fail("take the install lock"));
    if !(stamp.exists() && bin.exists()) {
        eprintln!(
            "installing moto {MOTO_VERSION} into {} (once)",
            venv.display()
        );
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let ok = Command::new(&python)
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            fail(&format!("create a virtualenv with `{python} -m venv`"));
        }
        let ok = Command::new(venv.join("bin").join("pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .arg(format!("moto[server]=={MOTO_VERSION}"))
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok || !bin.exists() {
            fail("install moto with pip");
        }
        File::create(&stamp)
            .and_then(|mut f| f.write_all(b"ok"))
            .unwrap_or_else(|_| fail("write the install stamp"));
    }
    let _ = lock.unlock();
    bin
}

pub struct Moto {
    pub endpoint: String,
    /// The watcher shell; it stops the server when this process ends.
    _watcher: std::sync::Mutex<std::process::Child>,
}

/// The process-wide emulator, started on a free loopback port the first time a test asks for it.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(start)
}

impl Moto {
    /// Forget every resource: a fresh emulator, without a restart.
    pub fn reset(&self) {
        let addr = self.endpoint.trim_start_matches("http://");
        let mut s = TcpStream::connect(addr).expect("reach moto");
        let _ = s.write_all(
            format!("POST /moto-api/reset HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        );
        let mut reply = String::new();
        let _ = std::io::Read::read_to_string(&mut s, &mut reply);
        assert!(
            reply.starts_with("HTTP/1.1 200") || reply.starts_with("HTTP/1.0 200"),
            "reset: {reply}"
        );
    }
}

/// moto plus zinfra's extensions (tests/emulator/server.py), run by the virtualenv's python.
pub fn server_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/emulator/server.py")
}

/// A server of its own, for tests that reset the emulator's state (never the shared one).
pub fn start_private() -> Moto {
    start_with(&[])
}

/// A server of its own with emulator settings (e.g. `ZINFRA_EMULATOR_SETTLE_SECONDS`, tests/emulator/eventual.py).
pub fn start_private_with(env: &[(&str, &str)]) -> Moto {
    start_with(env)
}

fn start() -> Moto {
    start_with(&[])
}

fn start_with(env: &[(&str, &str)]) -> Moto {
    let python = moto_server_bin()
        .parent()
        .map(|d| d.join("python"))
        .unwrap_or_else(|| fail("find the virtualenv's python"));
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|_| fail("find a free port"));
    // The server must not outlive the test process: a shell watches our pid and stops it.
    let script = format!(
        "\"$0\" \"$1\" -H 127.0.0.1 -p {port} >/dev/null 2>&1 & srv=$!; \
         while kill -0 {parent} 2>/dev/null && kill -0 $srv 2>/dev/null; do sleep 0.5; done; kill $srv 2>/dev/null",
        parent = std::process::id()
    );
    let watcher = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(&python)
        .arg(server_script())
        .env("MOTO_ACM_VALIDATION_WAIT", "0")
        // AWS managed policies (e.g. AmazonECSTaskExecutionRolePolicy) exist on real AWS; moto loads them on request.
        .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|_| fail("start moto_server"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            fail(&format!(
                "reach moto_server on 127.0.0.1:{port} within 60 s"
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Moto {
        endpoint: format!("http://127.0.0.1:{port}"),
        _watcher: std::sync::Mutex::new(watcher),
    }
}

/// Environment for SDK clients and the zinfra binary pointed at the emulator.
pub fn aws_env() -> Vec<(&'static str, String)> {
    let mut env = credentials_env();
    env.insert(0, ("AWS_ENDPOINT_URL", moto().endpoint.clone()));
    env
}

/// Credentials and region for an emulator, without its endpoint (and without starting moto).
pub fn credentials_env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]
}

/// A loaded SDK configuration for the emulator, for tests that verify live state directly.
pub async fn sdk_config() -> aws_config::SdkConfig {
    sdk_config_at(&moto().endpoint).await
}

/// [`sdk_config`] for another emulator (a private moto).
pub async fn sdk_config_at(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await
}

/// A name no other test in this process (or an earlier run against the same server) uses.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() % 100_000_000)
        .unwrap_or(0);
    format!("{prefix}-{t}-{n}")
}

/// The account id an emulator (or AWS) answers with, from STS: moto's and LocalStack's differ.
pub async fn account_of(conf: &aws_config::SdkConfig) -> String {
    aws_sdk_sts::Client::new(conf)
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity")
        .account()
        .expect("an account id")
        .to_owned()
}
