//! Shared by benches/compare.rs and benches/scaling.rs: the emulator (moto with zinfra's extensions,
//! started as tests/support/moto.rs does) behind the counting proxy (tests/support/proxy.rs), running
//! and measuring a command (wall time, peak RSS of its process tree), Terraform's offline set-up,
//! statistics, Markdown and PNG output under target/bench/.

#![allow(dead_code)]

#[path = "../../tests/support/moto.rs"]
pub mod moto;
#[path = "../../tests/support/proxy.rs"]
pub mod proxy;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub const DEV_SECRETS: [(&str, &str); 3] = [
    ("ZENOO_DEV_DB_PASSWORD", "bench-db-password-0123"),
    (
        "ZENOO_DEV_REDIS_DEFAULT_PASSWORD",
        "bench-redis-default-0123",
    ),
    (
        "ZENOO_DEV_REDIS_APP_PASSWORD",
        "bench-redis-app-password-0123",
    ),
];

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `target/bench/` of the repository (`ZINFRA_BENCH_OUT` to put it elsewhere).
pub fn out_dir() -> PathBuf {
    let dir = std::env::var_os("ZINFRA_BENCH_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join("target").join("bench"));
    std::fs::create_dir_all(&dir).expect("create target/bench");
    dir
}

pub fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v}: not a number")),
        Err(_) => default,
    }
}

/// A comma-separated list of numbers, e.g. `ZINFRA_BENCH_N=10,100`.
pub fn env_list(name: &str, default: &[usize]) -> Vec<usize> {
    match std::env::var(name) {
        Ok(v) => v
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                s.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("{name}={v}: not a list of numbers"))
            })
            .collect(),
        Err(_) => default.to_vec(),
    }
}

/// The zinfra binary measured: `ZINFRA_BIN`, else the one cargo built with this bench.
pub fn zinfra_bin() -> PathBuf {
    std::env::var_os("ZINFRA_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_zinfra")))
}

/// Which build of zinfra is measured, from its path (`target/debug` or `target/release`).
pub fn zinfra_build() -> String {
    let bin = zinfra_bin();
    let profile = bin
        .parent()
        .and_then(|d| d.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let label = match profile.as_str() {
        "debug" => "dev profile (unoptimized)",
        "release" => "release profile",
        _ => "custom",
    };
    format!("{label}, {}", bin.display())
}

/// moto (with tests/emulator's extensions) and the counting proxy in front of it.
pub struct Emulator {
    pub moto: moto::Moto,
    pub proxy: proxy::Proxy,
}

impl Emulator {
    pub fn start() -> Emulator {
        let moto = moto::start_private();
        let proxy = proxy::Proxy::start(&moto.endpoint, proxy::Faults::default(), 1);
        Emulator { moto, proxy }
    }

    /// Forget every resource and every count: a fresh emulator for the next measurement.
    pub fn fresh(&self) {
        self.moto.reset();
        self.proxy.reset_counts();
    }

    /// What the proxy saw since the last `take` (or `fresh`), then start counting again.
    pub fn take(&self) -> Traffic {
        let t = Traffic {
            counts: self.proxy.counts(),
            latencies: self.proxy.upstream_latencies(),
        };
        self.proxy.reset_counts();
        t
    }

    /// Environment for zinfra (and the SDK) pointed at the proxy.
    pub fn aws_env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.proxy.endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("NO_COLOR", "1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }
}

/// Requests that reached the proxy during one measurement.
#[derive(Clone, Default)]
pub struct Traffic {
    /// (service, operation) → requests.
    pub counts: BTreeMap<(String, String), u64>,
    /// The emulator's time per forwarded request.
    pub latencies: Vec<Duration>,
}

impl Traffic {
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }
    pub fn per_service(&self) -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        for ((svc, _), n) in &self.counts {
            *m.entry(svc.clone()).or_default() += n;
        }
        m
    }
    pub fn emulator_time(&self) -> Duration {
        self.latencies.iter().sum()
    }
}

/// One run of a command.
pub struct Sample {
    pub wall: Duration,
    /// Peak resident memory of the process tree, bytes.
    pub peak_rss: u64,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Sample {
    /// Stop the benchmark with the command's output when it did not end as expected.
    pub fn expect(self, what: &str, codes: &[i32]) -> Sample {
        if !codes.contains(&self.code) {
            let tail = |s: &str| {
                let lines: Vec<&str> = s.lines().collect();
                lines[lines.len().saturating_sub(40)..].join("\n")
            };
            panic!(
                "{what}: exit code {} (expected {codes:?})\n--- stdout (end) ---\n{}\n--- stderr (end) ---\n{}",
                self.code,
                tail(&self.stdout),
                tail(&self.stderr)
            );
        }
        self
    }
}

/// Run `cmd` to completion: wall time from spawn to exit, and (with `watch_memory`) the peak RSS of its
/// process tree, sampled from /proc every 10 ms: the highest sum of VmRSS over the process and its
/// descendants (Terraform's provider plugin is a child process), or the process's own VmHWM (its exact
/// peak, kernel-kept) when that is higher.
pub fn measure(cmd: &mut Command, watch_memory: bool) -> Sample {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("start {:?}: {e}", cmd.get_program()));
    let pid = child.id();
    let done = Arc::new(AtomicBool::new(false));
    let watcher = watch_memory.then(|| {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut peak = 0u64;
            while !done.load(Ordering::Relaxed) {
                peak = peak.max(tree_rss(pid));
                std::thread::sleep(Duration::from_millis(10));
            }
            peak
        })
    });
    let out = child.wait_with_output().expect("wait for the command");
    let wall = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let peak_rss = watcher.map(|w| w.join().unwrap_or(0)).unwrap_or(0);
    Sample {
        wall,
        peak_rss,
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `(VmRSS, VmHWM)` of one process, bytes.
fn rss_of(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .map(|kb| kb * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:").unwrap_or(0)))
}

/// The parent of every process, from /proc/*/stat (this kernel has no /proc/PID/task/TID/children).
fn parents() -> Vec<(u32, u32)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // `pid (comm) state ppid ...`: comm may hold spaces and parentheses.
            let after = &stat[stat.rfind(')')? + 2..];
            let ppid = after.split_whitespace().nth(1)?.parse().ok()?;
            Some((pid, ppid))
        })
        .collect()
}

fn tree_rss(root: u32) -> u64 {
    let parents = parents();
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let p = tree[i];
        tree.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == p)
                .map(|(pid, _)| *pid),
        );
        i += 1;
    }
    let mut sum = 0;
    let mut own_peak = 0;
    for pid in &tree {
        if let Some((rss, hwm)) = rss_of(*pid) {
            sum += rss;
            if *pid == root {
                own_peak = hwm;
            }
        }
    }
    sum.max(own_peak)
}

/// `zinfra ARGS` against the emulator behind the proxy, without a terminal.
pub fn zinfra(emu: &Emulator, args: &[&str], extra_env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(zinfra_bin());
    cmd.args(args)
        .env_remove("ZINFRA_LOG")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("ZINFRA_STACK_NAME");
    for (k, v) in emu.aws_env() {
        cmd.env(k, v);
    }
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    cmd
}

/// Terraform with its AWS provider from the local filesystem mirror (no network).
pub struct Terraform {
    /// The CLI configuration naming the mirror.
    pub rc: PathBuf,
    pub version: String,
}

impl Terraform {
    /// None (with the reason) when terraform or the provider mirror is missing, or when
    /// `ZINFRA_BENCH_TERRAFORM=0` asks for zinfra alone.
    pub fn find() -> Result<Terraform, String> {
        if std::env::var("ZINFRA_BENCH_TERRAFORM").is_ok_and(|v| v == "0") {
            return Err("ZINFRA_BENCH_TERRAFORM=0".into());
        }
        let version = Command::new("terraform")
            .args(["version"])
            .env("CHECKPOINT_DISABLE", "1")
            .output()
            .map_err(|e| format!("no terraform on the PATH ({e})"))?;
        let version = String::from_utf8_lossy(&version.stdout)
            .lines()
            .next()
            .unwrap_or("Terraform")
            .to_owned();
        let mirror = provider_mirror().ok_or(
            "no Terraform provider mirror (a `plugins` folder holding registry.terraform.io; \
             set ZINFRA_BENCH_TF_MIRROR)",
        )?;
        let rc = out_dir().join("terraformrc");
        std::fs::write(
            &rc,
            format!(
                "provider_installation {{\n  filesystem_mirror {{\n    path = {:?}\n  }}\n}}\n",
                mirror.display().to_string()
            ),
        )
        .map_err(|e| e.to_string())?;
        Ok(Terraform { rc, version })
    }

    pub fn command(&self, dir: &Path, args: &[&str], emu: &Emulator) -> Command {
        let mut cmd = Command::new("terraform");
        cmd.current_dir(dir)
            .args(args)
            .env("TF_CLI_CONFIG_FILE", &self.rc)
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("CHECKPOINT_DISABLE", "1")
            .env_remove("TF_LOG");
        for (k, v) in emu.aws_env() {
            cmd.env(k, v);
        }
        cmd
    }

    /// A scratch directory with `main_tf`, initialised once (offline).
    pub fn workdir(&self, name: &str, main_tf: &str, emu: &Emulator) -> PathBuf {
        let dir = out_dir().join(name);
        std::fs::create_dir_all(&dir).expect("terraform scratch dir");
        let path = dir.join("main.tf");
        if std::fs::read_to_string(&path).ok().as_deref() != Some(main_tf) {
            std::fs::write(&path, main_tf).expect("write main.tf");
        }
        if !dir.join(".terraform").exists() {
            measure(
                &mut self.command(&dir, &["init", "-input=false", "-no-color"], emu),
                false,
            )
            .expect("terraform init", &[0]);
        }
        Terraform::forget_state(&dir);
        dir
    }

    /// A fresh emulator needs a fresh state: delete terraform.tfstate*.
    pub fn forget_state(dir: &Path) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if e.file_name()
                .to_string_lossy()
                .starts_with("terraform.tfstate")
            {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }

    /// Resources in state (`terraform state list`; no API call).
    pub fn state_count(&self, dir: &Path, emu: &Emulator) -> usize {
        measure(&mut self.command(dir, &["state", "list"], emu), false)
            .expect("terraform state list", &[0])
            .stdout
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with("data."))
            .count()
    }
}

/// `ZINFRA_BENCH_TF_MIRROR`, else the usual places, else the README's `find`.
fn provider_mirror() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("ZINFRA_BENCH_TF_MIRROR") {
        return Some(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let known = [
        PathBuf::from("/opt/tf-plugins"),
        home.join(".terraform.d/plugins"),
        home.join(".local/share/terraform/plugins"),
        PathBuf::from("/usr/local/share/terraform/plugins"),
        PathBuf::from("/usr/share/terraform/plugins"),
    ];
    if let Some(d) = known
        .into_iter()
        .find(|d| d.join("registry.terraform.io/hashicorp/aws").is_dir())
    {
        return Some(d);
    }
    let found = Command::new("find")
        .args([
            "/",
            "-xdev",
            "-type",
            "d",
            "-name",
            "registry.terraform.io",
            "-path",
            "*plugins*",
        ])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let line = String::from_utf8_lossy(&found.stdout)
        .lines()
        .next()?
        .to_owned();
    Path::new(&line).parent().map(Path::to_path_buf)
}

/// `../shared/bench/terraform` beside the repository (or beside one of its parents, for a git
/// worktree), or `ZINFRA_BENCH_TF_DIR`.
pub fn terraform_reference_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("ZINFRA_BENCH_TF_DIR") {
        return Some(PathBuf::from(dir));
    }
    let root = manifest_dir();
    root.ancestors()
        .skip(1)
        .map(|d| d.join("shared/bench/terraform"))
        .find(|d| d.join("main.tf").is_file())
}

pub fn median(mut xs: Vec<f64>) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.sort_by(|a, b| a.total_cmp(b));
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

pub fn median_u64(xs: impl IntoIterator<Item = u64>) -> u64 {
    median(xs.into_iter().map(|x| x as f64).collect()).round() as u64
}

pub fn median_latency(ls: impl IntoIterator<Item = Duration>) -> Duration {
    let m = median(ls.into_iter().map(|d| d.as_secs_f64()).collect());
    if m.is_nan() {
        Duration::ZERO
    } else {
        Duration::from_secs_f64(m)
    }
}

/// Seconds with a precision that suits the size.
pub fn secs(s: f64) -> String {
    if s.is_nan() {
        "–".into()
    } else if s < 1.0 {
        format!("{s:.3}")
    } else if s < 10.0 {
        format!("{s:.2}")
    } else {
        format!("{s:.1}")
    }
}

pub fn mb(bytes: u64) -> String {
    if bytes == 0 {
        "–".into()
    } else {
        format!("{:.0}", bytes as f64 / 1e6)
    }
}

/// The run's circumstances, for the top of each report.
pub fn context_lines() -> Vec<String> {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into());
    let when = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    vec![
        format!("- zinfra build: {}", zinfra_build()),
        format!(
            "- emulator: moto {} with tests/emulator's extensions, on loopback behind the counting proxy (tests/support/proxy.rs)",
            moto::MOTO_VERSION
        ),
        format!(
            "- machine: {cores} cores, load average {load} when the report was written; {when}"
        ),
    ]
}

/// A TrueType font for the charts: DejaVu Sans where Debian puts it, else the first .ttf found under
/// the usual font folders (`ZINFRA_BENCH_FONT` to choose).
pub fn register_font() -> bool {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(f) = std::env::var_os("ZINFRA_BENCH_FONT") {
        candidates.push(f.into());
    }
    candidates.push("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf".into());
    for dir in [
        "/usr/share/fonts",
        "/usr/local/share/fonts",
        "/Library/Fonts",
    ] {
        let mut stack = vec![PathBuf::from(dir)];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("ttf")) {
                    candidates.push(p);
                }
            }
        }
    }
    for path in candidates {
        if let Ok(bytes) = std::fs::read(&path) {
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            if plotters::style::register_font(
                "sans-serif",
                plotters::style::FontStyle::Normal,
                bytes,
            )
            .is_ok()
            {
                return true;
            }
        }
    }
    eprintln!("no TrueType font found: the chart has no text (set ZINFRA_BENCH_FONT)");
    false
}

/// Write `text` to target/bench/`name` and say where.
pub fn write_report(name: &str, text: &str) -> PathBuf {
    let path = out_dir().join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path
}
