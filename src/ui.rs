//! Where output goes and how it looks: live spinners on a terminal, timestamped lines in CI, and in
//! GitHub Actions log groups, error annotations and a Markdown job summary.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::apply::{Progress, Step};

#[derive(Clone, Debug, Default)]
pub struct Ui {
    /// ANSI colors on stdout (off with `--no-color`, `NO_COLOR` or without a terminal).
    pub color: bool,
    /// stderr is a terminal: progress as live spinners.
    pub tty: bool,
    /// `GITHUB_ACTIONS=true`: `::group::` and `::error::` workflow commands.
    pub github: bool,
    /// Markdown summary file, appended to: `--summary`, else `$GITHUB_STEP_SUMMARY`.
    pub summary: Option<PathBuf>,
    /// `$GITHUB_OUTPUT`: step outputs (`zinfra output`), appended to.
    pub step_outputs: Option<PathBuf>,
}

impl Ui {
    pub fn detect(no_color: bool, summary: Option<PathBuf>) -> Ui {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        let no_color = no_color || var("NO_COLOR").is_some();
        Ui {
            color: !no_color && std::io::stdout().is_terminal(),
            tty: !no_color && std::io::stderr().is_terminal(),
            github: std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"),
            summary: summary.or_else(|| var("GITHUB_STEP_SUMMARY").map(PathBuf::from)),
            step_outputs: var("GITHUB_OUTPUT").map(PathBuf::from),
        }
    }

    /// A collapsible log group in GitHub Actions (closed when dropped); nothing elsewhere.
    pub fn group(&self, title: &str) -> Group {
        if self.github {
            println!("::group::{}", escape_data(title));
        }
        Group(self.github)
    }

    /// An error annotation on the run (and on the file's line when known). Nothing outside GitHub Actions:
    /// the error itself is printed the usual way.
    pub fn annotate_error(&self, title: &str, message: &str, at: Option<(&str, usize, usize)>) {
        self.annotate("error", title, message, at);
    }

    pub fn annotate_warning(&self, title: &str, message: &str, at: Option<(&str, usize, usize)>) {
        self.annotate("warning", title, message, at);
    }

    fn annotate(&self, level: &str, title: &str, message: &str, at: Option<(&str, usize, usize)>) {
        if !self.github {
            return;
        }
        let mut props = format!("title={}", escape_property(title));
        if let Some((file, line, col)) = at {
            props = format!(
                "file={},line={line},col={col},{props}",
                escape_property(file)
            );
        }
        println!("::{level} {props}::{}", escape_data(message));
    }

    /// How apply and destroy report each step.
    pub fn progress(&self) -> Arc<dyn Progress> {
        if self.tty && !self.github {
            Arc::new(Spinners::new())
        } else {
            Arc::new(Lines {
                timestamps: true,
                github: self.github,
            })
        }
    }

    /// Append Markdown to the summary file, if there is one.
    pub fn write_summary(&self, markdown: &str) -> Result<()> {
        append(self.summary.as_deref(), markdown, "the summary")
    }

    /// Step outputs in `$GITHUB_OUTPUT`'s format; nothing outside GitHub Actions.
    pub fn write_step_outputs(&self, lines: &str) -> Result<()> {
        append(self.step_outputs.as_deref(), lines, "step outputs")
    }
}

fn append(path: Option<&std::path::Path>, text: &str, what: &str) -> Result<()> {
    let Some(path) = path.filter(|_| !text.is_empty()) else {
        return Ok(());
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot write {what} to {}", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {what} to {}", path.display()))
}

pub struct Group(bool);

impl Drop for Group {
    fn drop(&mut self) {
        if self.0 {
            println!("::endgroup::");
        }
    }
}

/// Workflow-command data: `%`, CR and LF escaped so a message stays one command.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Workflow-command property values also escape `:` and `,`.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

fn finished_line(address: &str, step: Step, elapsed: Duration, id: Option<&str>) -> String {
    let id = id.map(|i| format!(" [id={i}]")).unwrap_or_default();
    let what = match step {
        Step::Create => "Creation",
        Step::Update => "Modifications",
        Step::Delete => "Destruction",
    };
    format!(
        "{address}: {what} complete after {:.1}s{id}",
        elapsed.as_secs_f64()
    )
}

fn still_line(address: &str, step: Step, elapsed: Duration, status: Option<&str>) -> String {
    let status = status.map(|s| format!(" ({s})")).unwrap_or_default();
    format!(
        "{address}: Still {}...{status} [{}s elapsed]",
        step.doing(),
        elapsed.as_secs()
    )
}

/// Plain stderr lines, Terraform-like, each with a UTC timestamp when `timestamps` (CI logs); failures
/// also become GitHub error annotations when `github`.
pub struct Lines {
    pub timestamps: bool,
    pub github: bool,
}

impl Lines {
    fn line(&self, text: &str) {
        if self.timestamps {
            let now = humantime::format_rfc3339_seconds(SystemTime::now());
            eprintln!("{now} {text}");
        } else {
            eprintln!("{text}");
        }
    }
}

impl Progress for Lines {
    fn started(&self, address: &str, step: Step) {
        self.line(&format!("{address}: {}...", capitalize(step.doing())));
    }
    fn still_running(&self, address: &str, step: Step, elapsed: Duration, status: Option<&str>) {
        self.line(&still_line(address, step, elapsed, status));
    }
    fn finished(&self, address: &str, step: Step, elapsed: Duration, id: Option<&str>) {
        self.line(&finished_line(address, step, elapsed, id));
    }
    fn failed(&self, address: &str, step: Step, error: &str) {
        self.line(&format!(
            "{address}: {} failed: {error}",
            capitalize(step.doing())
        ));
        if self.github {
            // stdout: where the runner reads workflow commands.
            println!(
                "::error title={}::{}",
                escape_property(&format!("zinfra: {} {address}", step.verb())),
                escape_data(error)
            );
        }
    }
}

/// One live spinner per running step with its elapsed time and what it waits for; finished steps
/// print a permanent line above the spinners.
pub struct Spinners {
    bars: MultiProgress,
    running: Mutex<HashMap<(String, Step), ProgressBar>>,
    style: ProgressStyle,
}

impl Spinners {
    pub fn new() -> Spinners {
        Spinners {
            bars: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            running: Mutex::default(),
            style: ProgressStyle::with_template("{spinner} {prefix}: {msg} [{elapsed}]")
                .expect("static template"),
        }
    }

    fn take(&self, address: &str, step: Step) -> Option<ProgressBar> {
        self.running
            .lock()
            .ok()?
            .remove(&(address.to_owned(), step))
    }
}

impl Default for Spinners {
    fn default() -> Self {
        Spinners::new()
    }
}

impl Progress for Spinners {
    fn started(&self, address: &str, step: Step) {
        let pb = ProgressBar::new_spinner()
            .with_style(self.style.clone())
            .with_prefix(address.to_owned())
            .with_message(format!("{}...", capitalize(step.doing())));
        let pb = self.bars.add(pb);
        pb.enable_steady_tick(Duration::from_millis(120));
        if let Ok(mut r) = self.running.lock() {
            r.insert((address.to_owned(), step), pb);
        }
    }
    fn still_running(&self, address: &str, step: Step, _: Duration, status: Option<&str>) {
        if let Ok(r) = self.running.lock()
            && let Some(pb) = r.get(&(address.to_owned(), step))
        {
            let status = status.map(|s| format!(" ({s})")).unwrap_or_default();
            pb.set_message(format!("Still {}...{status}", step.doing()));
        }
    }
    fn finished(&self, address: &str, step: Step, elapsed: Duration, id: Option<&str>) {
        if let Some(pb) = self.take(address, step) {
            pb.finish_and_clear();
        }
        let _ = self.bars.println(finished_line(address, step, elapsed, id));
    }
    fn failed(&self, address: &str, step: Step, error: &str) {
        if let Some(pb) = self.take(address, step) {
            pb.finish_and_clear();
        }
        let _ = self.bars.println(format!(
            "{address}: {} failed: {error}",
            capitalize(step.doing())
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_commands_are_escaped() {
        assert_eq!(escape_data("50% done\nnext"), "50%25 done%0Anext");
        assert_eq!(
            escape_property("stacks/a,b.toml: x"),
            "stacks/a%2Cb.toml%3A x"
        );
    }
}
