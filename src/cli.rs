//! The command line: parse arguments, run the pipeline, choose the exit code.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Parser, Subcommand, ValueEnum};

use crate::apply::{self, Report};
use crate::drivers::{Aws, Endpoint};
use crate::graph::Graph;
use crate::model::{Live, Value};
use crate::plan::{self, Plan};
use crate::provider::Provider;
use crate::render::{self, Style};
use crate::stack::{self, Stack};

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
    /// No colors (also NO_COLOR).
    #[arg(long, global = true)]
    no_color: bool,
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
    },
    /// Make live AWS match the stack file, or apply a saved plan.
    Apply {
        /// A stack file, or a plan saved by `zinfra plan --out`.
        target: PathBuf,
        /// Don't ask for confirmation (needed without a terminal).
        #[arg(long)]
        auto_approve: bool,
        /// How many changes may run at once.
        #[arg(long, default_value_t = 10)]
        parallelism: usize,
    },
    /// Delete everything zinfra created for this stack.
    Destroy {
        stack: PathBuf,
        #[arg(long)]
        auto_approve: bool,
        #[arg(long, default_value_t = 10)]
        parallelism: usize,
    },
    /// Print the dependency graph.
    Graph {
        stack: PathBuf,
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum GraphFormat {
    Dot,
    Mermaid,
}

/// Exit codes, as Terraform users expect them.
pub const EXIT_OK: i32 = 0;
pub const EXIT_ERROR: i32 = 1;
pub const EXIT_CHANGES: i32 = 2;

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
    let color =
        !cli.no_color && std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal();
    let style = Style { color };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match rt.block_on(run(cli, style)) {
        Ok(code) => code,
        Err(e) => {
            if let Some(inv) = e.downcast_ref::<Invalid>() {
                eprint!("{}", inv.0);
            } else {
                eprintln!(
                    "{}: {e:#}",
                    if color {
                        "\x1b[31merror\x1b[0m"
                    } else {
                        "error"
                    }
                );
            }
            EXIT_ERROR
        }
    }
}

/// A stack file that failed validation, already rendered.
#[derive(Debug)]
struct Invalid(String);
impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Invalid {}

fn load_stack(path: &Path, color: bool) -> Result<(Stack, Graph)> {
    let source =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let stack =
        stack::load(&path.display().to_string(), source, &stack::process_env).map_err(|inv| {
            let n = inv.diags.len();
            let s = if n == 1 { "" } else { "s" };
            anyhow!(Invalid(format!(
                "{}error: {} has {n} problem{s}; nothing was sent to AWS\n",
                inv.render(color),
                path.display()
            )))
        })?;
    let graph = Graph::new(&stack).map_err(|d| {
        anyhow!(Invalid(crate::diagnostic::render(
            &stack.path,
            &stack.source,
            &[*d],
            color
        )))
    })?;
    Ok((stack, graph))
}

async fn connect(endpoint: &Option<String>, region: &str) -> Arc<Aws> {
    Arc::new(
        Aws::connect(&Endpoint {
            url: endpoint.clone(),
            region: region.to_owned(),
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

async fn make_plan(
    stack: &Stack,
    graph: &Graph,
    aws: &Aws,
    destroy: bool,
) -> Result<(Plan, Vec<Live>)> {
    let live = aws
        .read(&stack.info, &stack.resources)
        .await
        .context("reading live state")?;
    let plan = plan::compute(
        &stack.info,
        &stack.resources,
        &deps_of(stack, graph),
        graph.order(),
        &live,
        destroy,
    );
    Ok((plan, live))
}

async fn run(cli: Cli, style: Style) -> Result<i32> {
    match cli.command {
        Command::Validate { stack } => {
            let (s, _) = load_stack(&stack, style.color)?;
            println!(
                "{} is valid: {} resources in stack {} ({}).",
                stack.display(),
                s.resources.len(),
                s.info.name,
                s.info.environment
            );
            Ok(EXIT_OK)
        }
        Command::Graph { stack, format } => {
            let (_, g) = load_stack(&stack, style.color)?;
            print!(
                "{}",
                match format {
                    GraphFormat::Dot => g.to_dot(),
                    GraphFormat::Mermaid => g.to_mermaid(),
                }
            );
            Ok(EXIT_OK)
        }
        Command::Plan {
            stack,
            out,
            json,
            detailed_exitcode,
        } => {
            let (s, g) = load_stack(&stack, style.color)?;
            let aws = connect(&cli.endpoint_url, &s.info.region).await;
            let (p, _) = make_plan(&s, &g, &aws, false).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&render::json(&p))?);
            } else {
                print!("{}", render::human(&p, style));
            }
            if let Some(out) = out {
                save_plan(&p, &out)?;
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
            parallelism,
        } => {
            if let Some(saved) = read_saved_plan(&target)? {
                return apply_saved(saved, &cli.endpoint_url, parallelism, style).await;
            }
            let (s, g) = load_stack(&target, style.color)?;
            let aws = connect(&cli.endpoint_url, &s.info.region).await;
            let (p, live) = make_plan(&s, &g, &aws, false).await?;
            print!("{}", render::human(&p, style));
            if !p.has_changes() {
                return Ok(EXIT_OK);
            }
            confirm(auto_approve, "apply")?;
            finish(&p, &live, aws, parallelism, "Apply").await
        }
        Command::Destroy {
            stack,
            auto_approve,
            parallelism,
        } => {
            let (s, g) = load_stack(&stack, style.color)?;
            let aws = connect(&cli.endpoint_url, &s.info.region).await;
            let (p, live) = make_plan(&s, &g, &aws, true).await?;
            if !p.has_changes() {
                println!(
                    "Nothing to destroy: no live resource is tagged for stack {}.",
                    s.info.name
                );
                return Ok(EXIT_OK);
            }
            print!("{}", render::human(&p, style));
            confirm(auto_approve, "destroy")?;
            finish(&p, &live, aws, parallelism, "Destroy").await
        }
    }
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

async fn finish(
    p: &Plan,
    live: &[Live],
    aws: Arc<Aws>,
    parallelism: usize,
    what: &str,
) -> Result<i32> {
    let blocked = p.blocked();
    if !blocked.is_empty() {
        let list: Vec<String> = blocked
            .iter()
            .map(|r| format!("  {} ({})", r.address, r.id.as_deref().unwrap_or("?")))
            .collect();
        bail!(
            "refusing to {}: deletion protection is on for\n{}\nTurn `deletion_protection` off in the stack file and apply that first. Nothing was changed.",
            what.to_lowercase(),
            list.join("\n")
        );
    }
    println!();
    let report = apply::run(
        p,
        live,
        aws as Arc<dyn Provider>,
        parallelism,
        Arc::new(apply::Lines),
    )
    .await;
    print_report(&report, what);
    Ok(if report.ok() { EXIT_OK } else { EXIT_ERROR })
}

fn print_report(report: &Report, what: &str) {
    let (a, c, d) = report.counts();
    if report.ok() {
        println!("\n{what} complete! Resources: {a} added, {c} changed, {d} destroyed.");
        return;
    }
    println!(
        "\n{what} failed. Resources: {a} added, {c} changed, {d} destroyed before the failure."
    );
    for (addr, step, err) in &report.failed {
        println!("  failed:      {addr} ({}): {err}", step.verb());
    }
    for (addr, step) in &report.not_started {
        println!("  not started: {addr} (would be {})", step.done());
    }
    println!(
        "Nothing else was changed. Fix the cause and run the same command again: it picks up where this run stopped."
    );
}

fn save_plan(p: &Plan, path: &Path) -> Result<()> {
    let json = serde_json::to_string_pretty(p)?;
    std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))
}

fn read_saved_plan(path: &Path) -> Result<Option<Plan>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !text.trim_start().starts_with('{') {
        return Ok(None);
    }
    let p: Plan = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a zinfra plan file", path.display()))?;
    if p.format != plan::PLAN_FORMAT {
        bail!(
            "{} was written by another zinfra version (plan format {}, this one reads {})",
            path.display(),
            p.format,
            plan::PLAN_FORMAT
        );
    }
    Ok(Some(p))
}

/// Secrets are not saved in plan files: take them from the environment again.
fn load_secrets(p: &mut Plan) -> Result<()> {
    fn fill(v: &mut Value) -> Result<()> {
        match v {
            Value::Secret(s) if !s.env.is_empty() => {
                s.value = std::env::var(&s.env).map_err(|_| {
                    anyhow!(
                        "environment variable `{}` is not set; the plan needs it to apply",
                        s.env
                    )
                })?;
            }
            Value::List(l) => l.iter_mut().try_for_each(fill)?,
            Value::Map(m) => m.values_mut().try_for_each(fill)?,
            _ => {}
        }
        Ok(())
    }
    for r in &mut p.desired {
        r.props.values_mut().try_for_each(fill)?;
    }
    Ok(())
}

async fn apply_saved(
    mut p: Plan,
    endpoint: &Option<String>,
    parallelism: usize,
    style: Style,
) -> Result<i32> {
    load_secrets(&mut p)?;
    let aws = connect(endpoint, &p.stack.region).await;
    let live = aws
        .read(&p.stack, &p.desired)
        .await
        .context("reading live state")?;
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
    for l in &live {
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
    print!("{}", render::human(&p, style));
    if !p.has_changes() {
        return Ok(EXIT_OK);
    }
    finish(
        &p,
        &live,
        aws,
        parallelism,
        if p.destroy { "Destroy" } else { "Apply" },
    )
    .await
}
