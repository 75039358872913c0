//! zinfra against Terraform on the reference stack, side by side in one run (issue 8):
//!
//!     cargo bench --profile dev --bench compare      # the dev build (minutes to build here)
//!     cargo bench --bench compare                    # the release build (cargo bench's default)
//!
//! Each round applies, re-plans (no change) and destroys `stacks/zenoo-dev.toml` with zinfra, then
//! `../shared/bench/terraform/main.tf` with Terraform (A B A B ...), each life cycle on a freshly reset
//! emulator behind the counting proxy. Per phase it reports the median wall time, the speed-up, the API
//! requests per service and per resource, the peak RSS, and the emulator's own cost (requests × median
//! emulator latency), plus `zinfra validate` start-up time. Writes target/bench/compare.md and
//! compare.png and prints the Markdown.
//!
//! Environment: ZINFRA_BENCH_ROUNDS (3), ZINFRA_BENCH_STARTUP_RUNS (20), ZINFRA_BIN (the zinfra binary;
//! default: the one cargo built with this bench), ZINFRA_BENCH_TERRAFORM=0 (zinfra alone),
//! ZINFRA_BENCH_TF_DIR, ZINFRA_BENCH_TF_MIRROR, ZINFRA_BENCH_OUT (default target/bench), ZINFRA_BENCH_FONT.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use common::*;
use plotters::prelude::*;

const PHASES: [&str; 3] = ["apply", "no-change plan", "destroy"];
const TOOLS: [&str; 2] = ["zinfra", "Terraform"];

struct Measured {
    wall: f64,
    rss: u64,
    code: i32,
    traffic: Traffic,
}

/// All rounds of one (tool, phase).
#[derive(Default)]
struct Cell(Vec<Measured>);

impl Cell {
    fn wall(&self) -> f64 {
        median(self.0.iter().map(|m| m.wall).collect())
    }
    fn rss(&self) -> u64 {
        median_u64(self.0.iter().map(|m| m.rss))
    }
    fn requests(&self) -> u64 {
        median_u64(self.0.iter().map(|m| m.traffic.total()))
    }
    fn p50(&self) -> Duration {
        median_latency(
            self.0
                .iter()
                .flat_map(|m| m.traffic.latencies.iter().copied()),
        )
    }
    /// Median over rounds of each (service, operation) count.
    fn counts(&self) -> BTreeMap<(String, String), u64> {
        let keys: BTreeSet<_> = self
            .0
            .iter()
            .flat_map(|m| m.traffic.counts.keys().cloned())
            .collect();
        keys.into_iter()
            .map(|k| {
                let n = median_u64(
                    self.0
                        .iter()
                        .map(|m| m.traffic.counts.get(&k).copied().unwrap_or(0)),
                );
                (k, n)
            })
            .collect()
    }
    fn per_service(&self) -> BTreeMap<String, u64> {
        let keys: BTreeSet<String> = self
            .0
            .iter()
            .flat_map(|m| m.traffic.per_service().into_keys())
            .collect();
        keys.into_iter()
            .map(|svc| {
                let n = median_u64(
                    self.0
                        .iter()
                        .map(|m| m.traffic.per_service().get(&svc).copied().unwrap_or(0)),
                );
                (svc, n)
            })
            .collect()
    }
}

type Results = BTreeMap<(usize, usize), Cell>;
/// The requests of an extra, untimed run with the proxy forwarding one request at a time.
type Serial = BTreeMap<(usize, usize), Traffic>;

fn record(
    results: &mut Results,
    emu: &Emulator,
    tool: usize,
    phase: usize,
    round: usize,
    s: Sample,
) {
    let traffic = emu.take();
    eprintln!(
        "  round {} {:<9} {:<15} {:>7} s  {:>5} requests  {:>5} MB  exit {}",
        round + 1,
        TOOLS[tool],
        PHASES[phase],
        secs(s.wall.as_secs_f64()),
        traffic.total(),
        mb(s.peak_rss),
        s.code
    );
    results.entry((tool, phase)).or_default().0.push(Measured {
        wall: s.wall.as_secs_f64(),
        rss: s.peak_rss,
        code: s.code,
        traffic,
    });
}

fn main() {
    let rounds = env_usize("ZINFRA_BENCH_ROUNDS", 3).max(1);
    let startup_runs = env_usize("ZINFRA_BENCH_STARTUP_RUNS", 20).max(1);
    let stack = manifest_dir().join("stacks/zenoo-dev.toml");
    let stack_arg = stack.to_str().expect("UTF-8 path");
    let secrets: Vec<(&str, &str)> = DEV_SECRETS.to_vec();

    eprintln!("zinfra: {}", zinfra_build());
    let emu = Emulator::start();
    eprintln!(
        "emulator {} behind proxy {}",
        emu.moto.endpoint, emu.proxy.endpoint
    );

    // Resources in the stack, and start-up time: `zinfra validate` never calls AWS.
    let validated = measure(&mut zinfra(&emu, &["validate", stack_arg], &secrets), false)
        .expect("zinfra validate", &[0]);
    let zinfra_resources: usize = validated
        .stdout
        .split(" resources")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("resource count in: {}", validated.stdout));
    let startup: Vec<f64> = (0..startup_runs)
        .map(|_| {
            measure(&mut zinfra(&emu, &["validate", stack_arg], &secrets), false)
                .expect("zinfra validate", &[0])
                .wall
                .as_secs_f64()
        })
        .collect();
    let startup = median(startup);
    eprintln!(
        "zinfra validate: {:.1} ms (median of {startup_runs})",
        startup * 1e3
    );

    let terraform = match (Terraform::find(), terraform_reference_dir()) {
        (Ok(tf), Some(dir)) => {
            let main_tf = std::fs::read_to_string(dir.join("main.tf")).expect("read main.tf");
            let work = tf.workdir("tf-reference", &main_tf, &emu);
            Some((tf, work))
        }
        (Err(why), _) => {
            eprintln!("Terraform left out: {why}");
            None
        }
        (_, None) => {
            eprintln!(
                "Terraform left out: no ../shared/bench/terraform/main.tf (set ZINFRA_BENCH_TF_DIR)"
            );
            None
        }
    };
    let var = format!("emulator_endpoint={}", emu.proxy.endpoint);
    let mut tf_resources = 0;

    let mut results = Results::new();
    let mut serial = Serial::new();
    for round in 0..rounds {
        eprintln!("round {}/{rounds}", round + 1);
        // A: zinfra.
        emu.fresh();
        let z = |args: &[&str]| measure(&mut zinfra(&emu, args, &secrets), true);
        let s = z(&["apply", stack_arg, "--auto-approve"]).expect("zinfra apply", &[0]);
        record(&mut results, &emu, 0, 0, round, s);
        let s = z(&["plan", stack_arg, "--detailed-exitcode"]).expect("zinfra plan", &[0, 2]);
        record(&mut results, &emu, 0, 1, round, s);
        let s = z(&["destroy", stack_arg, "--auto-approve"]).expect("zinfra destroy", &[0]);
        record(&mut results, &emu, 0, 2, round, s);

        // B: Terraform.
        if let Some((tf, dir)) = &terraform {
            emu.fresh();
            Terraform::forget_state(dir);
            let t = |args: &[&str]| {
                let mut all = args.to_vec();
                all.extend(["-input=false", "-no-color", "-var", var.as_str()]);
                measure(&mut tf.command(dir, &all, &emu), true)
            };
            let s = t(&["apply", "-auto-approve"]).expect("terraform apply", &[0]);
            record(&mut results, &emu, 1, 0, round, s);
            if tf_resources == 0 {
                tf_resources = tf.state_count(dir, &emu);
                emu.take();
            }
            // Exit 2: the AWS provider reports perpetual diffs against moto (see its README).
            let s = t(&["plan", "-detailed-exitcode"]).expect("terraform plan", &[0, 2]);
            record(&mut results, &emu, 1, 1, round, s);
            if round == 0 {
                emu.proxy.set_serial(true);
                t(&["plan", "-detailed-exitcode"]).expect("terraform plan (serial)", &[0, 2]);
                emu.proxy.set_serial(false);
                serial.insert((1, 1), emu.take());
            }
            let s = t(&["destroy", "-auto-approve"]).expect("terraform destroy", &[0]);
            record(&mut results, &emu, 1, 2, round, s);
        }
    }

    // The emulator's unloaded latency: zinfra's life cycle once more, one request at a time, untimed.
    eprintln!("zinfra once more with the proxy forwarding one request at a time");
    emu.fresh();
    emu.proxy.set_serial(true);
    for (p, args) in [
        vec!["apply", stack_arg, "--auto-approve"],
        vec!["plan", stack_arg, "--detailed-exitcode"],
        vec!["destroy", stack_arg, "--auto-approve"],
    ]
    .iter()
    .enumerate()
    {
        measure(&mut zinfra(&emu, args, &secrets), false).expect("zinfra (serial)", &[0, 2]);
        serial.insert((0, p), emu.take());
    }
    emu.proxy.set_serial(false);

    let tf_version = terraform
        .as_ref()
        .map(|(tf, _)| tf.version.clone())
        .unwrap_or_default();
    let meta = Meta {
        rounds,
        zr: zinfra_resources,
        tr: tf_resources,
        tf_version,
        startup,
        startup_runs,
    };
    let report = report(&results, &serial, &meta);
    let md = write_report("compare.md", &report);
    let png = out_dir().join("compare.png");
    if let Err(e) = chart(&results, &png) {
        eprintln!("chart not written: {e}");
    }
    println!("{report}");
    eprintln!("wrote {} and {}", md.display(), png.display());
}

fn per_resource(requests: u64, resources: usize) -> String {
    if resources == 0 {
        "–".into()
    } else {
        format!("{:.2}", requests as f64 / resources as f64)
    }
}

/// What the report says besides the measurements.
struct Meta {
    rounds: usize,
    /// Resources: zinfra's stack, Terraform's state.
    zr: usize,
    tr: usize,
    tf_version: String,
    /// `zinfra validate`, median seconds, and of how many runs.
    startup: f64,
    startup_runs: usize,
}

fn report(results: &Results, serial: &Serial, meta: &Meta) -> String {
    let Meta {
        rounds,
        zr,
        tr,
        ref tf_version,
        startup,
        startup_runs,
    } = *meta;
    let empty = Cell::default();
    let cell = |t: usize, p: usize| results.get(&(t, p)).unwrap_or(&empty);
    let have_tf = results.contains_key(&(1, 0));
    let mut md = String::new();
    md.push_str("# zinfra and Terraform on the reference stack\n\n");
    md.push_str(&format!(
        "`stacks/zenoo-dev.toml` ({zr} resources) with zinfra; `../shared/bench/terraform/main.tf` ({} resources in state) with {}. \
         Medians of {rounds} rounds, alternating zinfra and Terraform, each life cycle (apply, no-change plan, destroy) on a freshly reset emulator.\n\n",
        if tr == 0 { "–".to_string() } else { tr.to_string() },
        if tf_version.is_empty() { "Terraform (left out of this run)" } else { tf_version },
    ));
    for l in context_lines() {
        md.push_str(&l);
        md.push('\n');
    }
    md.push_str(
        "- peak RSS: the highest sum of VmRSS over the process and its children (Terraform's AWS provider \
         plugin), sampled from /proc every 10 ms, or the process's own VmHWM when higher\n",
    );
    md.push_str(&format!(
        "- start-up: `zinfra validate stacks/zenoo-dev.toml` (no network) takes **{:.1} ms** (median of {startup_runs} runs)\n\n",
        startup * 1e3
    ));

    // Headline.
    md.push_str("| phase | zinfra | Terraform | speed-up | requests zinfra (per resource) | requests Terraform (per resource) | peak RSS zinfra | peak RSS Terraform |\n");
    md.push_str("|---|---|---|---|---|---|---|---|\n");
    for (p, phase) in PHASES.iter().enumerate() {
        let (z, t) = (cell(0, p), cell(1, p));
        let plan_note = |c: &Cell| {
            if p == 1 && c.0.iter().any(|m| m.code == 2) {
                " (exit 2: changes reported)"
            } else {
                ""
            }
        };
        md.push_str(&format!(
            "| {phase} | {} s{} | {} | {} | {} ({}) | {} | {} MB | {} |\n",
            secs(z.wall()),
            plan_note(z),
            if have_tf {
                format!("{} s{}", secs(t.wall()), plan_note(t))
            } else {
                "–".into()
            },
            if have_tf {
                format!("{:.0}×", t.wall() / z.wall())
            } else {
                "–".into()
            },
            z.requests(),
            per_resource(z.requests(), zr),
            if have_tf {
                format!("{} ({})", t.requests(), per_resource(t.requests(), tr))
            } else {
                "–".into()
            },
            mb(z.rss()),
            if have_tf {
                format!("{} MB", mb(t.rss()))
            } else {
                "–".into()
            },
        ));
    }

    // The emulator's share.
    md.push_str("\n## The emulator's own cost\n\n");
    md.push_str(
        "The proxy times each request's round trip to moto (connect, request, whole reply). Under a tool's own \
         concurrency that includes queueing inside moto, so the unloaded latency comes from one more, untimed \
         run with the proxy forwarding one request at a time (zinfra: each phase; Terraform: the no-change plan). \
         *requests × p50* is the phase's requests made one after another at that median; *serial sum* is the \
         sum of those one-at-a-time round trips. A wall time near them is at the emulator's limit; below 1 means \
         the tool overlaps requests.\n\n",
    );
    md.push_str("| phase | tool | wall s | requests | p50 under load ms | p50 one at a time ms | requests × p50 s | serial sum s | wall / (requests × p50) |\n");
    md.push_str("|---|---|---|---|---|---|---|---|---|\n");
    for (p, phase) in PHASES.iter().enumerate() {
        for (t, tool) in TOOLS.iter().enumerate() {
            let c = cell(t, p);
            if c.0.is_empty() {
                continue;
            }
            let (p50, floor, sum, ratio) = match serial.get(&(t, p)) {
                Some(s) => {
                    let p50 = median_latency(s.latencies.iter().copied()).as_secs_f64();
                    let floor = c.requests() as f64 * p50;
                    (
                        format!("{:.1}", p50 * 1e3),
                        secs(floor),
                        secs(s.emulator_time().as_secs_f64()),
                        format!("{:.2}", c.wall() / floor),
                    )
                }
                None => ("–".into(), "–".into(), "–".into(), "–".into()),
            };
            md.push_str(&format!(
                "| {phase} | {tool} | {} | {} | {:.1} | {p50} | {floor} | {sum} | {ratio} |\n",
                secs(c.wall()),
                c.requests(),
                c.p50().as_secs_f64() * 1e3,
            ));
        }
    }

    // Requests per service.
    md.push_str("\n## Requests per service (median of the rounds)\n\n");
    let mut services = BTreeSet::new();
    for c in results.values() {
        services.extend(c.per_service().into_keys());
    }
    let cols: Vec<(usize, usize)> = (0..TOOLS.len())
        .flat_map(|t| (0..PHASES.len()).map(move |p| (t, p)))
        .filter(|k| results.contains_key(k))
        .collect();
    md.push_str("| service |");
    for (t, p) in &cols {
        md.push_str(&format!(" {} {} |", TOOLS[*t], PHASES[*p]));
    }
    md.push_str("\n|---|");
    md.push_str(&"---|".repeat(cols.len()));
    md.push('\n');
    let per: Vec<BTreeMap<String, u64>> = cols.iter().map(|k| results[k].per_service()).collect();
    for svc in &services {
        md.push_str(&format!("| {svc} |"));
        for m in &per {
            md.push_str(&format!(" {} |", m.get(svc).copied().unwrap_or(0)));
        }
        md.push('\n');
    }
    md.push_str("| **total** |");
    for k in &cols {
        md.push_str(&format!(" **{}** |", results[k].requests()));
    }
    md.push('\n');

    // The no-change plan, operation by operation: where the reads go.
    md.push_str("\n## No-change plan: requests per operation\n\n");
    md.push_str("REST operations are shown as `METHOD /path-depth?query-keys` (tests/support/proxy.rs).\n\n");
    for (t, tool) in TOOLS.iter().enumerate() {
        let c = cell(t, 1);
        if c.0.is_empty() {
            continue;
        }
        let mut ops: Vec<_> = c.counts().into_iter().collect();
        ops.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        md.push_str(&format!(
            "<details><summary>{tool}: {} requests, {} operations</summary>\n\n| service | operation | requests |\n|---|---|---|\n",
            c.requests(),
            ops.len()
        ));
        for ((svc, op), n) in ops {
            md.push_str(&format!("| {svc} | `{op}` | {n} |\n"));
        }
        md.push_str("\n</details>\n\n");
    }

    // Every round, for the spread.
    md.push_str("## Every round (wall s)\n\n| tool | phase |");
    for r in 0..rounds {
        md.push_str(&format!(" round {} |", r + 1));
    }
    md.push_str("\n|---|---|");
    md.push_str(&"---|".repeat(rounds));
    md.push('\n');
    for (t, tool) in TOOLS.iter().enumerate() {
        for (p, phase) in PHASES.iter().enumerate() {
            let c = cell(t, p);
            if c.0.is_empty() {
                continue;
            }
            md.push_str(&format!("| {tool} | {phase} |"));
            for m in &c.0 {
                md.push_str(&format!(" {} |", secs(m.wall)));
            }
            md.push('\n');
        }
    }
    md
}

/// One panel's figure of a (tool, phase).
type Metric = fn(&Cell) -> f64;

/// Three panels (wall time, requests, peak RSS), zinfra and Terraform side by side per phase, on log
/// scales (the two differ by orders of magnitude).
fn chart(results: &Results, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let text = register_font();
    let root = BitMapBackend::new(path, (1500, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let (title, body) = root.split_vertically(50);
    if text {
        title.titled(
            &format!(
                "zinfra vs Terraform, reference stack (medians; zinfra {})",
                if zinfra_build().starts_with("dev") {
                    "dev build"
                } else {
                    "release build"
                }
            ),
            ("sans-serif", 24),
        )?;
    }
    let panels = body.split_evenly((1, 3));
    let metrics: [(&str, Metric); 3] = [
        ("wall time, s (log)", |c| c.wall()),
        ("API requests (log)", |c| c.requests() as f64),
        ("peak RSS, MB (log)", |c| c.rss() as f64 / 1e6),
    ];
    let colors = [RGBColor(0x1f, 0x77, 0xb4), RGBColor(0xd6, 0x27, 0x28)];
    for (panel, (name, f)) in panels.iter().zip(metrics.iter()) {
        let values: Vec<(usize, usize, f64)> = results
            .iter()
            .map(|((t, p), c)| (*t, *p, f(c)))
            .filter(|(_, _, v)| v.is_finite() && *v > 0.0)
            .collect();
        let max = values.iter().map(|v| v.2).fold(1.0f64, f64::max);
        let min = values.iter().map(|v| v.2).fold(max, f64::min);
        let (lo, hi) = (
            10f64.powf((min.log10() - 0.3).floor()),
            10f64.powf((max.log10() + 0.3).ceil()),
        );
        let mut c = ChartBuilder::on(panel);
        c.margin(12);
        if text {
            c.caption(*name, ("sans-serif", 20))
                .x_label_area_size(30)
                .y_label_area_size(60);
        }
        let mut chart = c.build_cartesian_2d(-0.5f64..2.5f64, (lo..hi).log_scale())?;
        let label = |x: &f64| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && (0.0..3.0).contains(&i) {
                PHASES[i as usize].to_string()
            } else {
                String::new()
            }
        };
        if text {
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(7)
                .x_label_formatter(&label)
                .y_label_formatter(&|y| format!("{y}"))
                .draw()?;
        }
        for (t, tool) in TOOLS.iter().enumerate() {
            let color = colors[t];
            let bars: Vec<_> = values
                .iter()
                .filter(|v| v.0 == t)
                .map(|&(_, p, v)| {
                    let x0 = p as f64 - 0.4 + 0.4 * t as f64;
                    Rectangle::new([(x0, lo), (x0 + 0.38, v)], color.filled())
                })
                .collect();
            let series = chart.draw_series(bars)?;
            if text {
                series.label(*tool).legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 14, y + 6)], color.filled())
                });
            }
            if text {
                chart.draw_series(values.iter().filter(|v| v.0 == t).map(|&(_, p, v)| {
                    let x = p as f64 - 0.4 + 0.4 * t as f64 + 0.02;
                    Text::new(short(v), (x, v * 1.15), ("sans-serif", 14))
                }))?;
            }
        }
        if text {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()?;
        }
    }
    root.present()?;
    Ok(())
}

fn short(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}
