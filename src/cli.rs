//! The command line: parse arguments, run the pipeline, choose the exit code.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Parser, Subcommand, ValueEnum};

use crate::apply::{self, Report};
use crate::check;
use crate::diagnostic::{Diagnostic, line_col};
use crate::drivers::{Aws, Endpoint};
use crate::graph::Graph;
use crate::model::{Live, Value};
use crate::plan::{self, Plan};
use crate::provider::Provider;
use crate::render::{self, Style};
use crate::stack::{self, Stack};
use crate::ui::Ui;

#[derive(Parser, Debug)]
#[command(
    name = "zinfra",
    version,
    about = "A secure AWS stack from one declarative TOML file",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Send every AWS call here (an emulator such as moto or LocalStack). Also AWS_ENDPOINT_URL.
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL", hide_env_values = true)]
    endpoint_url: Option<String>,
    /// No colors and no spinners (also NO_COLOR).
    #[arg(long, global = true)]
    no_color: bool,
    /// Append a Markdown summary of the plan and of what was done to FILE (default: $GITHUB_STEP_SUMMARY).
    #[arg(long, global = true, value_name = "FILE")]
    summary: Option<PathBuf>,
    /// Use this stack name instead of the file's `[stack] name` (one file, many ephemeral environments).
    #[arg(long, global = true, env = "ZINFRA_STACK_NAME", value_name = "NAME")]
    stack_name: Option<String>,
    /// Set a stack variable declared in `[variables]` (repeatable); also `ZINFRA_VAR_NAME`.
    #[arg(long = "var", global = true, value_name = "NAME=VALUE", value_parser = parse_var)]
    vars: Vec<(String, String)>,
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((n, v)) if !n.is_empty() => Ok((n.to_owned(), v.to_owned())),
        _ => Err(format!("`{s}` is not NAME=VALUE")),
    }
}

/// Narrow or force one run (Terraform's -target, -exclude, -replace).
#[derive(clap::Args, Debug, Default)]
struct SelectArgs {
    /// Only ADDRESS and what it depends on (repeatable).
    #[arg(long = "target", id = "targets", value_name = "ADDRESS")]
    targets: Vec<String>,
    /// Leave ADDRESS and what depends on it alone (repeatable).
    #[arg(long, value_name = "ADDRESS")]
    exclude: Vec<String>,
    /// Replace ADDRESS although nothing forces it (repeatable); names it for this run, data and all.
    #[arg(long, value_name = "ADDRESS")]
    replace: Vec<String>,
}

impl SelectArgs {
    fn selection(&self) -> plan::Selection {
        plan::Selection {
            target: self.targets.clone(),
            exclude: self.exclude.clone(),
            replace: self.replace.clone(),
        }
    }
}

/// How a stack file is loaded: the `--stack-name` override and the `--var` values.
struct Load<'a> {
    name: Option<&'a str>,
    vars: &'a [(String, String)],
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Parse and validate the stack file. No network.
    Validate { stack: PathBuf },
    /// Show what apply would change.
    Plan {
        stack: PathBuf,
        /// Save the plan, to apply exactly it later.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print the plan as JSON.
        #[arg(long)]
        json: bool,
        /// Exit 0 when there is nothing to do, 2 when there are changes, 1 on error.
        #[arg(long)]
        detailed_exitcode: bool,
        /// Let this run delete or replace ADDRESS although it holds data (a bucket, table, key, …).
        /// Repeatable.
        #[arg(long = "allow-destroy", value_name = "ADDRESS")]
        allow_destroy: Vec<String>,
        /// Preview what `zinfra destroy` would delete.
        #[arg(long)]
        destroy: bool,
        #[command(flatten)]
        select: SelectArgs,
    },
    /// Make live AWS match the stack file, or apply a saved plan.
    Apply {
        /// A stack file, or a plan saved by `zinfra plan --out`.
        target: PathBuf,
        /// Don't ask for confirmation (needed without a terminal).
        #[arg(long)]
        auto_approve: bool,
        /// Let this run delete or replace ADDRESS although it holds data (a bucket, table, key, …).
        /// Repeatable.
        #[arg(long = "allow-destroy", value_name = "ADDRESS")]
        allow_destroy: Vec<String>,
        #[command(flatten)]
        select: SelectArgs,
        /// Plan afresh and apply only if the plan equals this reviewed one (saved by `plan --out`
        /// on the pull request); otherwise refuse and show the difference.
        #[arg(long, value_name = "PLANFILE")]
        reviewed: Option<PathBuf>,
        /// At most this many changes at once. By default every change whose dependencies are done
        /// starts at once; per-API rate limits keep the request rate under AWS's throttling.
        #[arg(long, value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
        parallelism: Option<usize>,
        /// Wait this long for another run's lock on the stack (e.g. `5m`); by default fail at once.
        #[arg(long, value_parser = parse_duration, default_value = "0s")]
        lock_timeout: std::time::Duration,
        /// Start ECS deployments without waiting for them to be stable (by default apply waits, and
        /// a deployment the circuit breaker stops fails the run).
        #[arg(long)]
        no_wait: bool,
    },
    /// Delete everything zinfra created for this stack. Refuses stacks marked `protected = true`.
    Destroy {
        stack: PathBuf,
        /// Don't ask for the stack name to be typed (needed without a terminal).
        #[arg(long)]
        auto_approve: bool,
        /// At most this many deletions at once (default: no cap; see `apply --parallelism`).
        #[arg(long, value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
        parallelism: Option<usize>,
        /// Wait this long for another run's lock on the stack (e.g. `5m`); by default fail at once.
        #[arg(long, value_parser = parse_duration, default_value = "0s")]
        lock_timeout: std::time::Duration,
    },
    /// Release a stack's lock left by a run that died (the lock id is in the error that names it).
    Unlock {
        stack: PathBuf,
        lock_id: String,
        /// Release it even though its lease is live (its holder renewed it lately).
        #[arg(long)]
        force: bool,
    },
    /// Check the stack file (or, with --live, what is deployed) against the security baseline.
    Check {
        #[arg(required_unless_present = "list")]
        stack: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
        format: CheckFormat,
        /// Evaluate the rules on live AWS state (the same reads as plan) instead of the file.
        #[arg(long)]
        live: bool,
        /// Print every rule and exit.
        #[arg(long)]
        list: bool,
    },
    /// Print the stack's outputs (DNS names, repository URLs, ARNs…) from live state: no change, no
    /// lock. Inside GitHub Actions the file's `[outputs]` also become step outputs.
    Output {
        stack: PathBuf,
        /// One output: a name from `[outputs]`, or `kind.name.attr`; printed bare, for `$(…)`.
        name: Option<String>,
        /// Print them as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the dependency graph.
    Graph {
        stack: PathBuf,
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
    /// Every resource kind's fields as JSON (for tools: src/constraints/generate.py reads it).
    #[command(hide = true)]
    Schema,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum CheckFormat {
    Human,
    Json,
    Sarif,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum GraphFormat {
    Dot,
    Mermaid,
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    if s == "0" || s == "0s" {
        return Ok(std::time::Duration::ZERO);
    }
    crate::wait::parse(s).ok_or_else(|| format!("`{s}` is not a duration such as 90s, 5m or 1h"))
}

/// Exit codes, as Terraform users expect them.
pub const EXIT_OK: i32 = 0;
pub const EXIT_ERROR: i32 = 1;
pub const EXIT_CHANGES: i32 = 2;
/// Stopped by SIGINT or SIGTERM.
pub const EXIT_INTERRUPTED: i32 = 130;

pub fn main() -> i32 {
    let cli = Cli::parse();
    let mut filter =
        tracing_subscriber::EnvFilter::try_from_env("ZINFRA_LOG").unwrap_or_else(|_| "warn".into());
    // The SDK traces whole request bodies, secrets included: its trace level stays off.
    if filter
        .max_level_hint()
        .is_none_or(|l| l > tracing_subscriber::filter::LevelFilter::DEBUG)
    {
        for target in ["aws_smithy_runtime=debug", "aws_smithy_runtime_api=debug"] {
            filter = filter.add_directive(target.parse().expect("static directive"));
        }
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .without_time()
        .init();
    let ui = Ui::detect(cli.no_color, cli.summary.clone());
    // Commands that never touch the network run without starting an async runtime (and its threads).
    let result = offline(&cli, &ui).unwrap_or_else(|| {
        // The work waits on AWS, not on the CPU: a few worker threads are plenty.
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
            .expect("tokio runtime")
            .block_on(run(cli, &ui))
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            if let Some(inv) = e.downcast_ref::<Invalid>() {
                eprint!("{}", inv.text);
                for (file, line, col, msg) in &inv.at {
                    ui.annotate_error("zinfra: invalid stack file", msg, Some((file, *line, *col)));
                }
            } else {
                eprintln!(
                    "{}: {e:#}",
                    if ui.color {
                        "\x1b[31merror\x1b[0m"
                    } else {
                        "error"
                    }
                );
                ui.annotate_error("zinfra", &format!("{e:#}"), None);
            }
            EXIT_ERROR
        }
    }
}

/// A stack file that failed validation, already rendered, and where each problem is.
#[derive(Debug)]
struct Invalid {
    text: String,
    /// (file, line, column, message) of each diagnostic, for CI annotations.
    at: Vec<(String, usize, usize, String)>,
}
impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}
impl std::error::Error for Invalid {}

fn locate(path: &str, source: &str, diags: &[Diagnostic]) -> Vec<(String, usize, usize, String)> {
    diags
        .iter()
        .map(|d| {
            let (line, col) = d
                .span
                .as_ref()
                .map(|s| line_col(source, s.start))
                .unwrap_or((1, 1));
            (path.to_owned(), line, col, d.message.clone())
        })
        .collect()
}

/// A stack file's text. One that is not UTF-8 is a diagnostic at the first byte that is not, with
/// its line and column, like any other problem in the file.
fn read_source(path: &Path, ui: &Ui) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let bad = e.as_bytes()[at];
            let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let shown = path.display().to_string();
            // The valid prefix is the same in the lossy text: the span is the replacement character.
            let d = crate::diagnostic::Diagnostic::new(
                format!("{shown} is not UTF-8 text: byte 0x{bad:02x} at offset {at} starts no UTF-8 character"),
                Some(at..at + '\u{FFFD}'.len_utf8()),
                "not UTF-8",
            )
            .help("stack files are UTF-8: save it as UTF-8 (iconv -f latin1 -t utf-8, or your editor's encoding setting)");
            Err(invalid_file(
                &stack::Invalid {
                    path: shown,
                    source: lossy,
                    diags: vec![d],
                },
                ui,
            ))
        }
    }
}

/// A stack file with problems, as printed: every diagnostic, then the count; and the CI annotations.
fn invalid_file(inv: &stack::Invalid, ui: &Ui) -> anyhow::Error {
    let n = inv.diags.len();
    let s = if n == 1 { "" } else { "s" };
    anyhow!(Invalid {
        text: format!(
            "{}error: {} has {n} problem{s}; nothing was sent to AWS\n",
            inv.render(ui.color),
            inv.path
        ),
        at: locate(&inv.path, &inv.source, &inv.diags),
    })
}

fn load_stack(path: &Path, ui: &Ui, load: &Load<'_>) -> Result<(Stack, Graph)> {
    let source = read_source(path, ui)?;
    let shown = path.display().to_string();
    // `--var NAME=VALUE` reads as `ZINFRA_VAR_NAME`, and wins over it.
    let env = |k: &str| {
        load.vars
            .iter()
            .rev()
            .find(|(n, _)| stack::var_env(n) == k)
            .map(|(_, v)| v.clone())
            .or_else(|| stack::process_env(k))
    };
    let stack = crate::validate::load_named(&shown, source, &env, load.name)
        .map_err(|inv| invalid_file(&inv, ui))?;
    let graph = Graph::new(&stack).map_err(|d| {
        anyhow!(Invalid {
            text: crate::diagnostic::render(&stack.path, &stack.source, &[(*d).clone()], ui.color),
            at: locate(&stack.path, &stack.source, &[*d]),
        })
    })?;
    // A --var the file does not declare is a typo or the wrong file: never ignored.
    if let Some((n, _)) = load
        .vars
        .iter()
        .find(|(n, _)| !stack.info.variables.contains_key(n))
    {
        let declared: Vec<&str> = stack.info.variables.keys().map(String::as_str).collect();
        bail!(
            "--var {n}=…: {shown} declares no variable `{n}` (declared: {}); nothing was sent to AWS",
            if declared.is_empty() {
                "none".to_owned()
            } else {
                declared.join(", ")
            }
        );
    }
    Ok((stack, graph))
}

async fn connect(endpoint: &Option<String>, region: &str) -> Arc<Aws> {
    Arc::new(
        Aws::connect(&Endpoint {
            url: endpoint.clone(),
            region: region.to_owned(),
            static_credentials: None,
        })
        .await,
    )
}

fn deps_of(
    stack: &Stack,
    graph: &Graph,
) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    stack
        .resources
        .iter()
        .map(|r| (r.address.clone(), graph.deps(&r.address).cloned().collect()))
        .collect()
}

/// Live state as the file sees it: read, with `[[moved]]` resources at their new address.
async fn read_live(stack: &Stack, aws: &Aws) -> Result<Vec<Live>> {
    let live = aws
        .read(&stack.info, &stack.resources)
        .await
        .context("reading live state")?;
    Ok(plan::moved(live, &stack.info.moved))
}

async fn make_plan(
    stack: &Stack,
    graph: &Graph,
    aws: &Aws,
    destroy: bool,
    allow_destroy: &[String],
    selection: &plan::Selection,
) -> Result<(Plan, Vec<Live>)> {
    let live = read_live(stack, aws).await?;
    let unknown = selection.unknown(&stack.resources, &live);
    if !unknown.is_empty() {
        bail!(
            "{}: neither in {} nor live in stack {}; nothing was changed",
            unknown.join(", "),
            stack.path,
            stack.info.name
        );
    }
    let mut plan = plan::compute_with(
        &stack.info,
        &stack.resources,
        &deps_of(stack, graph),
        graph.order(),
        &live,
        destroy,
        selection,
    );
    refuse_conflicts(&plan)?;
    allow(&mut plan, allow_destroy);
    // Another region's resources are not this stack's: apply never sees them.
    let live = plan::claim(&stack.info, &live)
        .ours
        .into_iter()
        .cloned()
        .collect();
    Ok((plan, live))
}

/// `--allow-destroy`: an address that names no delete or replace is only a warning (re-running the same
/// command after the delete was done must not fail; a typo still leaves the real delete refused).
fn allow(p: &mut Plan, addresses: &[String]) {
    if let Err(e) = p.allow(addresses) {
        eprintln!("warning: {e:#}");
    }
}

/// A stack is its name, account and region: a file never touches what the stack of the same name
/// owns in another region (IAM roles, zones, CloudFront and S3 buckets are seen from every region).
fn refuse_conflicts(p: &Plan) -> Result<()> {
    let conflicts = p.conflicts();
    if conflicts.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = conflicts
        .iter()
        .map(|f| {
            format!(
                "  {} ({}) belongs to stack {} in {}",
                f.address, f.id, p.stack.name, f.region
            )
        })
        .collect();
    bail!(
        "stack {name} in {region} (this file) declares resources that stack {name} in another region owns:\n{}\nTwo stacks in one account need two names: change `[stack] name` or pass --stack-name. Nothing was changed.",
        list.join("\n"),
        name = p.stack.name,
        region = p.stack.region,
    )
}

/// Commands that need no network (validate, graph, check of the file), or `None`.
fn offline(cli: &Cli, ui: &Ui) -> Option<Result<i32>> {
    let name = &Load {
        name: cli.stack_name.as_deref(),
        vars: &cli.vars,
    };
    Some(match &cli.command {
        Command::Validate { stack } => load_stack(stack, ui, name).map(|(s, g)| {
            println!(
                "{} is valid: {} resources in stack {} ({}).",
                stack.display(),
                s.resources.len(),
                s.info.name,
                s.info.environment
            );
            // What a CI job's timeout must exceed (the longest dependency chain of bounded waits).
            let (longest, chain) = g.longest_wait(&s);
            if !longest.is_zero() {
                println!(
                    "Longest chain of waits: {} ({}); give a job that applies or destroys it more.",
                    crate::wait::human(longest),
                    chain.join(" -> ")
                );
            }
            EXIT_OK
        }),
        Command::Graph { stack, format } => load_stack(stack, ui, name).map(|(_, g)| {
            print!(
                "{}",
                match format {
                    GraphFormat::Dot => g.to_dot(),
                    GraphFormat::Mermaid => g.to_mermaid(),
                }
            );
            EXIT_OK
        }),
        Command::Check { list: true, .. } => {
            print!("{}", crate::check::rules::rules_doc());
            Ok(EXIT_OK)
        }
        Command::Schema => {
            println!("{:#}", crate::kinds::to_json());
            Ok(EXIT_OK)
        }
        Command::Check {
            stack: Some(stack),
            format,
            live: false,
            ..
        } => load_stack(stack, ui, name)
            .and_then(|(s, _)| report_findings(&s, &check::check_stack(&s), *format, false, ui)),
        _ => return None,
    })
}

/// Print check findings in `format`; exit 1 when one blocks.
fn report_findings(
    s: &Stack,
    findings: &[check::Finding],
    format: CheckFormat,
    live: bool,
    ui: &Ui,
) -> Result<i32> {
    match format {
        CheckFormat::Human => print!("{}", check::human(s, findings, live, ui.color)),
        CheckFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&check::json(s, findings, live))?
        ),
        CheckFormat::Sarif => println!(
            "{}",
            serde_json::to_string_pretty(&check::sarif(s, findings, live))?
        ),
    }
    annotate_findings(ui, s, findings, live);
    Ok(if findings.iter().any(|f| f.blocks()) {
        EXIT_ERROR
    } else {
        EXIT_OK
    })
}

async fn run(cli: Cli, ui: &Ui) -> Result<i32> {
    if let Some(done) = offline(&cli, ui) {
        return done;
    }
    let style = Style { color: ui.color };
    let name = &Load {
        name: cli.stack_name.as_deref(),
        vars: &cli.vars,
    };
    match cli.command {
        Command::Validate { .. } | Command::Graph { .. } | Command::Schema => {
            unreachable!("run offline")
        }
        Command::Output {
            stack,
            name: one,
            json,
        } => {
            let (s, _) = load_stack(&stack, ui, name)?;
            let aws = connect(&cli.endpoint_url, &s.info.region).await;
            let live = read_live(&s, &aws).await?;
            let live: Vec<Live> = plan::claim(&s.info, &live)
                .ours
                .into_iter()
                .cloned()
                .collect();
            let outputs = crate::output::collect(&s.info, &live);
            let mut step_outputs = String::new();
            match &one {
                Some(n) => {
                    let Some(v) = outputs.get(n) else {
                        bail!(
                            "{n}: no such output of stack {} (it is not in [outputs], or its resource does not exist yet); `zinfra output {}` lists them",
                            s.info.name,
                            stack.display()
                        );
                    };
                    if json {
                        println!("{}", serde_json::to_string(v)?);
                    } else {
                        println!("{v}");
                    }
                    step_outputs = outputs.github(Some((n, v)));
                }
                None => {
                    if json {
                        println!("{}", serde_json::to_string_pretty(&outputs)?);
                    } else {
                        print!("{}", outputs.text());
                    }
                    step_outputs.push_str(&outputs.github(None));
                }
            }
            ui.write_step_outputs(&step_outputs)?;
            Ok(EXIT_OK)
        }
        Command::Check { stack, format, .. } => {
            let stack = stack.expect("clap requires STACK without --list");
            let (s, g) = load_stack(&stack, ui, name)?;
            let aws = connect(&cli.endpoint_url, &s.info.region).await;
            let (_, live_state) = make_plan(&s, &g, &aws, false, &[], &Default::default()).await?;
            let code = report_findings(&s, &check::check_live(&s, &live_state), format, true, ui)?;
            // A declared resource that could not be read is never reported as compliant.
            let missing: Vec<&str> = s
                .resources
                .iter()
                .filter(|r| !live_state.iter().any(|l| l.address == r.address))
                .map(|r| r.address.as_str())
                .collect();
            if missing.is_empty() {
                return Ok(code);
            }
            eprintln!(
                "error: check --live could not read {} of the {} resources the file declares, so they were not checked: {}. Apply the stack, or check that these credentials can read them.",
                missing.len(),
                s.resources.len(),
                missing.join(", ")
            );
            Ok(EXIT_ERROR)
        }
        Command::Plan {
            stack,
            out,
            json,
            detailed_exitcode,
            allow_destroy,
            destroy,
            select,
        } => {
            let (s, g) = load_stack(&stack, ui, name)?;
            enforce_baseline(&s, ui)?;
            let aws = connect(&cli.endpoint_url, &s.info.region).await;
            let (p, _) =
                make_plan(&s, &g, &aws, destroy, &allow_destroy, &select.selection()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&render::json(&p))?);
            } else {
                print!("{}", render::human(&p, style));
            }
            ui.write_summary(&render::markdown_plan(&p))?;
            // An existing resource the file would take over is an error in the plan itself.
            refuse_taken(&p)?;
            if let Some(out) = out {
                save_plan(&p, &s, &out)?;
                if !json {
                    println!(
                        "\nSaved the plan to {}. Apply exactly it with: zinfra apply {}",
                        out.display(),
                        out.display()
                    );
                }
            }
            Ok(if detailed_exitcode && p.has_changes() {
                EXIT_CHANGES
            } else {
                EXIT_OK
            })
        }
        Command::Apply {
            target,
            auto_approve,
            allow_destroy,
            select,
            reviewed,
            parallelism,
            lock_timeout,
            no_wait,
        } => {
            let run = apply::RunOpts {
                parallelism: parallelism.unwrap_or(usize::MAX),
                no_wait,
            };
            let signals = Signals::listen();
            if let Some(saved) = read_saved_plan(&target)? {
                if !select.selection().is_empty() {
                    bail!(
                        "--target, --exclude and --replace shape a plan: give them to `zinfra plan --out`; {} applies exactly what it was made with",
                        target.display()
                    );
                }
                // A saved plan applies exactly the values it was made with.
                if let Some((n, v)) = name
                    .vars
                    .iter()
                    .find(|(n, v)| saved.stack.variables.get(n) != Some(v))
                {
                    bail!(
                        "--var {n}={v}: {} was made with {}; a saved plan applies exactly its own values. Make a new plan with `zinfra plan --var … --out`.",
                        target.display(),
                        saved
                            .stack
                            .variables
                            .get(n)
                            .map(|w| format!("{n} = \"{w}\""))
                            .unwrap_or_else(|| format!("no variable `{n}`"))
                    );
                }
                let aws = connect(&cli.endpoint_url, &saved.stack.region).await;
                let stack = saved.stack.name.clone();
                return locked(
                    &aws,
                    &signals,
                    &stack,
                    &target,
                    "apply",
                    lock_timeout,
                    async {
                        apply_saved(saved, aws.clone(), &allow_destroy, run, ui, &signals).await
                    },
                )
                .await;
            }
            // The reviewed plan gives the variables and selection it was made with.
            let reviewed = match &reviewed {
                Some(path) => Some(read_saved_plan(path)?.with_context(|| {
                    format!(
                        "{} is not a plan saved by `zinfra plan --out`",
                        path.display()
                    )
                })?),
                None => None,
            };
            let mut vars: Vec<(String, String)> = reviewed
                .iter()
                .flat_map(|r| r.stack.variables.clone())
                .collect();
            vars.extend(name.vars.iter().cloned());
            let selection = match &reviewed {
                Some(r) if select.selection().is_empty() => r.selection.clone(),
                _ => select.selection(),
            };
            let load = Load {
                name: name.name,
                vars: &vars,
            };
            let (s, g) = load_stack(&target, ui, &load)?;
            enforce_baseline(&s, ui)?;
            let aws = connect(&cli.endpoint_url, &s.info.region).await;
            locked(
                &aws,
                &signals,
                &s.info.name,
                &target,
                "apply",
                lock_timeout,
                async {
                    let (p, live) =
                        make_plan(&s, &g, &aws, false, &allow_destroy, &selection).await?;
                    if let Some(r) = &reviewed {
                        let diff = plan::differences(r, &p);
                        if !diff.is_empty() {
                            bail!(
                                "refusing to apply: the plan made now differs from the reviewed plan {}:\n{}\nNothing was applied. Review a new plan.",
                                r.stack.name,
                                diff.iter().map(|d| format!("  {d}")).collect::<Vec<_>>().join("\n")
                            );
                        }
                        eprintln!("The plan made now equals the reviewed plan.");
                    }
                    show_plan(&p, ui)?;
                    let recorded = recorded_protection(&aws, &p).await?;
                    if !p.has_changes() {
                        record_protection(&aws, &p, recorded).await?;
                        return Ok(EXIT_OK);
                    }
                    refuse_guarded(&p)?;
                    confirm(auto_approve, "apply")?;
                    let code = finish(&p, &live, aws.clone(), run, ui, &signals).await?;
                    if code == EXIT_OK {
                        record_protection(&aws, &p, recorded).await?;
                    }
                    Ok(code)
                },
            )
            .await
        }
        Command::Destroy {
            stack,
            auto_approve,
            parallelism,
            lock_timeout,
        } => {
            let signals = Signals::listen();
            let (s, g) = load_stack(&stack, ui, name)?;
            refuse_protected(&s.info, Some(&s))?;
            let aws = connect(&cli.endpoint_url, &s.info.region).await;
            locked(
                &aws,
                &signals,
                &s.info.name,
                &stack,
                "destroy",
                lock_timeout,
                async {
                    let (p, live) = make_plan(&s, &g, &aws, true, &[], &Default::default()).await?;
                    if recorded_protection(&aws, &p)
                        .await?
                        .is_some_and(|m| m.protected)
                    {
                        bail!(
                            "refusing to destroy stack {}: AWS records it as protected (its last apply had `protected = true`). A file that drops the line cannot destroy the stack in the same change: apply the file without it first, then destroy. Nothing was changed.",
                            s.info.name
                        );
                    }
                    if !p.has_changes() {
                        println!(
                            "Nothing to destroy: no live resource is tagged for stack {}.",
                            s.info.name
                        );
                        return Ok(EXIT_OK);
                    }
                    show_plan(&p, ui)?;
                    refuse_guarded(&p)?;
                    confirm_destroy(auto_approve, &s.info.name)?;
                    finish(
                        &p,
                        &live,
                        aws.clone(),
                        parallelism.unwrap_or(usize::MAX).into(),
                        ui,
                        &signals,
                    )
                    .await
                },
            )
            .await
        }
        Command::Unlock {
            stack,
            lock_id,
            force,
        } => {
            let (s, _) = load_stack(&stack, ui, name)?;
            let aws = connect(&cli.endpoint_url, &s.info.region).await;
            let locks = aws.locks()?;
            // A live lease belongs to a run that is (or was a moment ago) alive: releasing it lets a
            // second run in beside it. That takes --force.
            if let Some(h) = locks.holder(&s.info.name).await?
                && h.id == lock_id
                && !force
            {
                let left = h.expires.saturating_sub(crate::drivers::lock::now());
                bail!(
                    "the lock {lock_id} of stack {} is live: held by {h}, renewed within the last {} s. If that run is still working, releasing its lock lets another run in beside it. It expires by itself within {left} s; to release it now anyway: zinfra unlock {} {lock_id} --force",
                    s.info.name,
                    crate::drivers::lock::lease().as_secs(),
                    stack.display()
                );
            }
            locks.release(&s.info.name, &lock_id).await?;
            println!("Released lock {lock_id} of stack {}.", s.info.name);
            Ok(EXIT_OK)
        }
    }
}

/// SIGINT/SIGTERM during apply or destroy. While changes run, the first signal stops new ones and
/// lets running ones finish (up to 5 s); before that, or on a second signal, zinfra exits at once,
/// releasing the lock when it can and saying how to release it when it cannot.
struct Signals {
    interrupted: tokio::sync::watch::Receiver<bool>,
    /// Stops the run like a first signal does, when the lock is lost.
    stop: tokio::sync::watch::Sender<bool>,
    state: Arc<std::sync::Mutex<SignalState>>,
}

#[derive(Default)]
struct SignalState {
    /// (locks, stack, lock id, stack file) while a lock is held.
    lock: Option<(crate::drivers::lock::Locks, String, String, PathBuf)>,
    applying: bool,
    /// Why the lock was lost, once it was: the run then starts nothing new and fails.
    lock_lost: Option<String>,
}

impl Signals {
    fn listen() -> Signals {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let stop = tx.clone();
        let state = Arc::new(std::sync::Mutex::new(SignalState::default()));
        let st = state.clone();
        tokio::spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut int), Ok(mut term)) = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) else {
                return;
            };
            let mut count = 0;
            loop {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
                count += 1;
                let (lock, applying) = match st.lock() {
                    Ok(s) => (s.lock.clone(), s.applying),
                    Err(_) => (None, false),
                };
                if count == 1 && applying {
                    eprintln!(
                        "\nInterrupted: starting nothing new; changes already running get {} s to finish. Interrupt again to exit at once.",
                        apply::GRACE.as_secs()
                    );
                    let _ = tx.send(true);
                    continue;
                }
                match lock {
                    Some((locks, stack, id, file)) if count == 1 => {
                        let _ = locks.release(&stack, &id).await;
                        eprintln!(
                            "\nInterrupted before any change; released the lock of stack {stack}."
                        );
                        let _ = file;
                    }
                    Some((_, stack, id, file)) => eprintln!(
                        "\nInterrupted again: exiting now. The lock of stack {stack} is left; it expires within {} s, or release it with: zinfra unlock {} {id}",
                        crate::drivers::lock::lease().as_secs(),
                        file.display()
                    ),
                    None => eprintln!("\nInterrupted."),
                }
                std::process::exit(EXIT_INTERRUPTED);
            }
        });
        Signals {
            interrupted: rx,
            stop,
            state,
        }
    }

    fn set(&self, f: impl FnOnce(&mut SignalState)) {
        if let Ok(mut s) = self.state.lock() {
            f(&mut s);
        }
    }
}

/// Run `work` holding the stack's lock; release it afterwards whatever happened.
async fn locked(
    aws: &Aws,
    signals: &Signals,
    stack: &str,
    file: &Path,
    command: &str,
    wait: std::time::Duration,
    work: impl std::future::Future<Output = Result<i32>>,
) -> Result<i32> {
    let what = format!("zinfra {command} {}", file.display());
    let locks = aws.locks()?;
    let lease = locks.acquire(stack, &what, wait).await?;
    signals.set(|s| {
        s.lock = Some((
            locks.clone(),
            stack.to_owned(),
            lease.id.clone(),
            file.to_owned(),
        ))
    });
    let on_lost = {
        let (state, stop, stack) = (
            signals.state.clone(),
            signals.stop.clone(),
            stack.to_owned(),
        );
        move |why: String| {
            eprintln!(
                "\nerror: lost the lock of stack {stack} ({why}): another run may be changing it. Starting nothing new; changes already running get {} s to finish.",
                apply::GRACE.as_secs()
            );
            if let Ok(mut s) = state.lock() {
                s.lock_lost = Some(why);
            }
            let _ = stop.send(true);
        }
    };
    let (out, released) = lease.hold(work, on_lost).await;
    signals.set(|s| s.lock = None);
    let lost = signals.state.lock().ok().and_then(|s| s.lock_lost.clone());
    if let Some(why) = lost {
        // The lock is someone else's now: nothing to release, and the run failed.
        out?;
        bail!("the run stopped because it lost the lock of stack {stack}: {why}");
    }
    if let Err(e) = released {
        eprintln!("warning: {e:#}");
    }
    out
}

/// Plan and apply refuse a stack file that fails a rule of severity error, before any API call.
/// Warnings are one line; waivers show in the plan itself.
fn enforce_baseline(s: &Stack, ui: &Ui) -> Result<()> {
    let findings = check::check_stack(s);
    if findings.iter().any(|f| f.blocks()) {
        let shown: Vec<_> = findings.iter().filter(|f| f.blocks()).cloned().collect();
        eprint!("{}", check::human(s, &shown, false, ui.color));
        annotate_findings(ui, s, &shown, false);
        bail!(
            "{} violates the security baseline; nothing was sent to AWS. Fix it, or add a waiver naming the rule and why next to the resource (see `zinfra check`).",
            s.path
        );
    }
    let warnings: Vec<String> = findings
        .iter()
        .filter(|f| f.waived.is_none())
        .map(|f| format!("{} on {}", f.rule.id, f.address))
        .collect();
    if !warnings.is_empty() {
        eprintln!(
            "warning: {} baseline warning{} ({}); `zinfra check {}` explains",
            warnings.len(),
            if warnings.len() == 1 { "" } else { "s" },
            warnings.join(", "),
            s.path
        );
    }
    Ok(())
}

fn annotate_findings(ui: &Ui, s: &Stack, findings: &[check::Finding], live: bool) {
    for f in findings.iter().filter(|f| f.waived.is_none()) {
        let at = (!live)
            .then(|| check::location(s, f))
            .flatten()
            .map(|(_, line, col)| (s.path.as_str(), line, col));
        let title = format!("{}: {}", f.rule.id, f.rule.title);
        let msg = format!("{}: {}", f.address, f.message);
        match f.rule.severity {
            check::Severity::Error => ui.annotate_error(&title, &msg, at),
            check::Severity::Warning => ui.annotate_warning(&title, &msg, at),
        }
    }
}

/// The plan on stdout (in a log group in GitHub Actions) and in the summary.
fn show_plan(p: &Plan, ui: &Ui) -> Result<()> {
    {
        let _g = ui.group(&format!(
            "zinfra {}: {}",
            if p.destroy { "destroy plan" } else { "plan" },
            p.stack.name
        ));
        print!("{}", render::human(p, Style { color: ui.color }));
    }
    ui.write_summary(&render::markdown_plan(p))
}

/// `protected = true` stacks are never destroyed: not with --auto-approve, not from a saved plan.
fn refuse_protected(info: &crate::provider::StackInfo, stack: Option<&Stack>) -> Result<()> {
    if !info.protected {
        return Ok(());
    }
    let at = stack
        .and_then(|s| {
            let span = s.spans.get("stack.protected")?;
            let (line, _) = line_col(&s.source, span.start);
            Some(format!(" ({}:{line})", s.path))
        })
        .unwrap_or_default();
    bail!(
        "refusing to destroy stack {}: it is marked `protected = true`{at}. \
         Remove that line (or set it to false) first if the stack really must go. Nothing was changed.",
        info.name
    )
}

fn confirm(auto_approve: bool, what: &str) -> Result<()> {
    if auto_approve {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "refusing to {what} without confirmation: stdin is not a terminal. Review the plan, then pass --auto-approve"
        );
    }
    print!("\nDo you want to {what}? Only 'yes' will be accepted.\n  Enter a value: ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    if answer.trim() != "yes" {
        bail!("{what} cancelled: nothing was changed");
    }
    Ok(())
}

/// Destroying is confirmed by typing the stack's name, so a stray `yes` cannot take down the wrong one.
fn confirm_destroy(auto_approve: bool, stack: &str) -> Result<()> {
    if auto_approve {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "refusing to destroy without confirmation: stdin is not a terminal. Review the plan, then pass --auto-approve"
        );
    }
    print!(
        "\nEverything above will be deleted. Type the stack name ({stack}) to confirm.\n  Enter a value: "
    );
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    if answer.trim() != stack {
        bail!("destroy cancelled: the name typed is not {stack}; nothing was changed");
    }
    Ok(())
}

async fn finish(
    p: &Plan,
    live: &[Live],
    aws: Arc<Aws>,
    run: apply::RunOpts,
    ui: &Ui,
    signals: &Signals,
) -> Result<i32> {
    let what = if p.destroy { "Destroy" } else { "Apply" };
    println!();
    let t0 = std::time::Instant::now();
    signals.set(|s| s.applying = true);
    let report = {
        let _g = ui.group(&format!("zinfra {}: {}", what.to_lowercase(), p.stack.name));
        apply::run_until(
            p,
            live,
            aws as Arc<dyn Provider>,
            run,
            ui.progress(),
            signals.interrupted.clone(),
        )
        .await
    };
    signals.set(|s| s.applying = false);
    print_report(&report, what);
    ui.write_summary(&render::markdown_report(p, &report, what, t0.elapsed()))?;
    Ok(if *signals.interrupted.borrow() {
        EXIT_INTERRUPTED
    } else if report.ok() {
        EXIT_OK
    } else {
        EXIT_ERROR
    })
}

/// The guards of a plan about to run, checked before the question is asked and before any change:
/// deletion protection on in AWS, and data-holding resources nobody allowed to go.
fn refuse_guarded(p: &Plan) -> Result<()> {
    let what = if p.destroy { "destroy" } else { "apply" };
    let blocked = p.blocked();
    if !blocked.is_empty() {
        let list: Vec<String> = blocked
            .iter()
            .map(|r| format!("  {} ({})", r.address, r.id.as_deref().unwrap_or("?")))
            .collect();
        bail!(
            "refusing to {}: deletion protection is on for\n{}\nTurn `deletion_protection` off in the stack file and apply that first. Nothing was changed.",
            what,
            list.join("\n")
        );
    }
    refuse_unallowed(p)?;
    refuse_taken(p)?;
    refuse_missing_secrets(p)
}

/// Secrets are write-only: a run needs a secret's variable only when it writes the secret, and then
/// says which one, before anything is changed.
fn refuse_missing_secrets(p: &Plan) -> Result<()> {
    let missing: Vec<String> = p
        .secret_writes()
        .into_iter()
        .filter(|w| !w.loaded)
        .map(|w| {
            format!(
                "  {} for `{}` of {} (version {}: {})",
                w.env, w.field, w.address, w.version, w.why
            )
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    bail!(
        "refusing to apply: this apply writes secrets whose environment variables are not set:\n{}\nExport them for this run (only a run that writes a secret needs it). Nothing was changed.",
        missing.join("\n")
    )
}

/// Adoption, never takeover: an existing resource that is not the stack's is created over only when
/// the file adopts it.
fn refuse_taken(p: &Plan) -> Result<()> {
    let taken = p.taken();
    if taken.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = taken
        .iter()
        .map(|r| {
            format!(
                "  {}: {}",
                r.address,
                r.exists.as_deref().unwrap_or_default()
            )
        })
        .collect();
    bail!(
        "refusing to take over what is not this stack's:\n{}\nNothing was changed.",
        list.join("\n")
    )
}

/// Data is never lost by accident: a delete or replace of a resource that holds data needs the run
/// to name it (or the file to allow it), checked before anything changes.
fn refuse_unallowed(p: &Plan) -> Result<()> {
    let unallowed = p.unallowed();
    if unallowed.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = unallowed
        .iter()
        .map(|r| {
            format!(
                "  {} ({}) holds {}",
                r.address,
                r.id.as_deref().unwrap_or("?"),
                r.holds.as_deref().unwrap_or("data")
            )
        })
        .collect();
    let flags: Vec<String> = unallowed
        .iter()
        .map(|r| format!("--allow-destroy {}", r.address))
        .collect();
    bail!(
        "refusing to apply: the plan deletes or replaces resources that hold data:\n{}\nIf a resource was renamed in the file, declare a [[moved]] instead. If losing them is intended, run again with {}. Nothing was changed.",
        list.join("\n"),
        flags.join(" ")
    )
}

fn print_report(report: &Report, what: &str) {
    let (a, c, d) = report.counts();
    if report.ok() {
        println!("\n{what} complete! Resources: {a} added, {c} changed, {d} destroyed.");
        return;
    }
    let (how, when) = if report.signalled {
        ("interrupted", "the interruption")
    } else {
        ("failed", "the failure")
    };
    println!("\n{what} {how}. Resources: {a} added, {c} changed, {d} destroyed before {when}.");
    for (addr, step, err) in &report.failed {
        println!("  failed:      {addr} ({}): {err}", step.verb());
    }
    for err in &report.errors {
        println!("  failed:      {err}");
    }
    for (addr, step) in &report.interrupted {
        println!(
            "  interrupted: {addr} ({}): may or may not have been done; the next plan shows which",
            step.verb()
        );
    }
    for (addr, step) in &report.not_started {
        println!("  not started: {addr} (would be {})", step.done());
    }
    println!(
        "Nothing else was changed. Fix the cause and run the same command again: it picks up where this run stopped."
    );
}

fn save_plan(p: &Plan, s: &Stack, path: &Path) -> Result<()> {
    let json = p.sealed_json(&s.source)?;
    std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))
}

fn read_saved_plan(path: &Path) -> Result<Option<Plan>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    // Not a plan (plans are JSON objects): a stack file, read and reported by `load_stack`.
    if !bytes.trim_ascii_start().starts_with(b"{") {
        return Ok(None);
    }
    let text = String::from_utf8(bytes)
        .with_context(|| format!("{} is not a plan: not UTF-8", path.display()))?;
    let p: Plan = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a zinfra plan file, or it was cut short; nothing was applied",
            path.display()
        )
    })?;
    if p.format != plan::PLAN_FORMAT {
        bail!(
            "{} was written by another zinfra version (plan format {}, this one reads {})",
            path.display(),
            p.format,
            plan::PLAN_FORMAT
        );
    }
    if !p.seal_holds() {
        bail!(
            "{} was changed after zinfra wrote it (its content no longer matches its seal); nothing was applied. Make a new plan with `zinfra plan --out`.",
            path.display()
        );
    }
    Ok(Some(p))
}

/// Secrets are not saved in plan files: take those that are set from the environment again (apply
/// refuses when one it must write is missing).
fn load_secrets(p: &mut Plan) {
    fn fill(v: &mut Value) {
        match v {
            Value::Secret(s) if !s.env.is_empty() => s.value = std::env::var(&s.env).ok(),
            Value::List(l) => l.iter_mut().for_each(fill),
            Value::Map(m) => m.values_mut().for_each(fill),
            _ => {}
        }
    }
    for r in &mut p.desired {
        r.props.values_mut().for_each(fill);
    }
}

async fn apply_saved(
    mut p: Plan,
    aws: Arc<Aws>,
    allow_destroy: &[String],
    run: apply::RunOpts,
    ui: &Ui,
    signals: &Signals,
) -> Result<i32> {
    if p.destroy {
        refuse_protected(&p.stack, None)?;
    }
    // The baseline as this zinfra knows it today, on what the plan would build.
    let planned = Stack {
        path: format!("the saved plan's stack {}", p.stack.name),
        source: String::new(),
        info: p.stack.clone(),
        resources: p.desired.clone(),
        spans: Default::default(),
    };
    if !p.destroy {
        enforce_baseline(&planned, ui)?;
    }
    load_secrets(&mut p);
    allow(&mut p, allow_destroy);
    let live = aws
        .read(&p.stack, &p.desired)
        .await
        .context("reading live state")?;
    let live = plan::moved(live, &p.stack.moved);
    let live: Vec<Live> = plan::claim(&p.stack, &live)
        .ours
        .into_iter()
        .cloned()
        .collect();
    let mut stale = Vec::new();
    for r in &p.resources {
        let now = live
            .iter()
            .find(|l| l.address == r.address)
            .map(plan::fingerprint);
        if now != r.fingerprint {
            stale.push(format!(
                "  {}: {}",
                r.address,
                match (&r.fingerprint, &now) {
                    (None, Some(_)) => "now exists, but did not when the plan was made",
                    (Some(_), None) => "no longer exists",
                    _ => "changed since the plan was made",
                }
            ));
        }
    }
    // A plan narrowed by --target/--exclude covers only its own resources.
    let narrowed = !p.selection.target.is_empty() || !p.selection.exclude.is_empty();
    for l in live.iter().filter(|_| !narrowed) {
        if p.get(&l.address).is_none() {
            stale.push(format!("  {}: appeared since the plan was made", l.address));
        }
    }
    if !stale.is_empty() {
        bail!(
            "the saved plan is stale: live state changed since it was made, so nothing was applied.\n{}\nRun `zinfra plan` again.",
            stale.join("\n")
        );
    }
    show_plan(&p, ui)?;
    let recorded = recorded_protection(&aws, &p).await?;
    if p.destroy && recorded.as_ref().is_some_and(|m| m.protected) {
        bail!(
            "refusing to destroy stack {}: AWS records it as protected (its last apply had `protected = true`). Apply the file without it first, then destroy. Nothing was changed.",
            p.stack.name
        );
    }
    if !p.has_changes() {
        return Ok(EXIT_OK);
    }
    refuse_guarded(&p)?;
    let code = finish(&p, &live, aws.clone(), run, ui, signals).await?;
    if code == EXIT_OK && !p.destroy {
        record_protection(&aws, &p, recorded).await?;
    }
    Ok(code)
}

/// The stack's marker in the lock store: what its last apply recorded (`protected`). An apply that
/// turns protection off may not delete data-holding resources in the same change.
async fn recorded_protection(aws: &Aws, p: &Plan) -> Result<Option<crate::drivers::lock::Marker>> {
    let m = aws.locks()?.marker(&p.stack.name).await?;
    if m.as_ref().is_some_and(|m| m.protected) && !p.stack.protected && !p.destroy {
        let losing: Vec<&str> = p
            .resources
            .iter()
            .filter(|r| {
                r.holds.is_some()
                    && matches!(r.action, plan::Action::Delete | plan::Action::Replace)
            })
            .map(|r| r.address.as_str())
            .collect();
        if !losing.is_empty() {
            bail!(
                "refusing to apply: stack {} is recorded in AWS as protected, and this change both drops `protected = true` and deletes or replaces resources that hold data ({}). Apply the file without `protected` first, then delete them. Nothing was changed.",
                p.stack.name,
                losing.join(", ")
            );
        }
    }
    Ok(m)
}

/// After a successful apply, record the file's `protected` in AWS when it differs from the marker.
async fn record_protection(
    aws: &Aws,
    p: &Plan,
    recorded: Option<crate::drivers::lock::Marker>,
) -> Result<()> {
    if recorded.is_some_and(|m| m.protected) == p.stack.protected {
        return Ok(());
    }
    aws.locks()?
        .set_marker(
            &p.stack.name,
            &crate::drivers::lock::Marker::new(p.stack.protected, &p.stack.region),
        )
        .await
}
