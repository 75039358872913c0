//! Carry out a plan: every step starts as soon as the steps it depends on are done, so a run takes the
//! dependency graph's critical path; the request rate is bounded per AWS API (drivers::ratelimit), not
//! by a number of steps in flight. Stop launching at the first failure.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use tokio::task::JoinSet;

use crate::model::{Address, Live, Resolved, Resource};
use crate::plan::{Action, Plan, desired_tags, kind_rank, resolve_props};
use crate::provider::Provider;
use crate::provider::{StackInfo, not_yet, outcome_unknown};
use crate::wait::{self, OpCx};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    Create,
    Update,
    Delete,
}

impl Step {
    pub fn doing(self) -> &'static str {
        match self {
            Step::Create => "creating",
            Step::Update => "updating",
            Step::Delete => "destroying",
        }
    }
    pub fn verb(self) -> &'static str {
        match self {
            Step::Create => "create",
            Step::Update => "update",
            Step::Delete => "destroy",
        }
    }
    pub fn done(self) -> &'static str {
        match self {
            Step::Create => "created",
            Step::Update => "updated",
            Step::Delete => "destroyed",
        }
    }
}

#[derive(Debug)]
pub struct Op {
    pub address: Address,
    pub step: Step,
    after: Vec<usize>,
}

/// What happened, step by step.
#[derive(Debug, Default)]
pub struct Report {
    pub done: Vec<(Address, Step, Duration, Option<String>)>,
    pub failed: Vec<(Address, Step, String)>,
    pub not_started: Vec<(Address, Step)>,
    /// Steps cut off by an interruption: AWS may or may not have done them; the next plan sees.
    pub interrupted: Vec<(Address, Step)>,
    /// Stopped by SIGINT/SIGTERM.
    pub signalled: bool,
    /// Failures of the run itself rather than of one resource's step (never expected).
    pub errors: Vec<String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.failed.is_empty()
            && self.errors.is_empty()
            && self.not_started.is_empty()
            && self.interrupted.is_empty()
            && !self.signalled
    }
    pub fn counts(&self) -> (usize, usize, usize) {
        let c = |s| self.done.iter().filter(|d| d.1 == s).count();
        (c(Step::Create), c(Step::Update), c(Step::Delete))
    }
}

/// Progress lines for the user, one event per call.
pub trait Progress: Send + Sync {
    fn started(&self, address: &str, step: Step);
    /// Every 10 s for each operation still running, with what it waits for (e.g. `certificate: PENDING_VALIDATION`).
    fn still_running(&self, address: &str, step: Step, elapsed: Duration, status: Option<&str>);
    fn finished(&self, address: &str, step: Step, elapsed: Duration, id: Option<&str>);
    fn failed(&self, address: &str, step: Step, error: &str);
}

/// The steps of a plan and what each must wait for.
pub fn schedule(plan: &Plan) -> Vec<Op> {
    let mut ops: Vec<Op> = Vec::new();
    let mut writes: BTreeMap<&str, usize> = BTreeMap::new();
    let mut deletes: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &plan.resources {
        let steps: &[Step] = match r.action {
            Action::NoOp => &[],
            Action::Create => &[Step::Create],
            Action::Update => &[Step::Update],
            Action::Replace if crate::kinds::creates_before_delete(&r.kind) => {
                &[Step::Create, Step::Delete]
            }
            Action::Replace => &[Step::Delete, Step::Create],
            Action::Delete => &[Step::Delete],
        };
        for s in steps {
            let i = ops.len();
            ops.push(Op {
                address: r.address.clone(),
                step: *s,
                after: vec![],
            });
            if *s == Step::Delete {
                deletes.insert(&r.address, i)
            } else {
                writes.insert(&r.address, i)
            };
        }
    }
    let depends = |a: &str, b: &str| plan.deps.get(a).is_some_and(|d| d.contains(b));
    let rank = kind_rank();
    let kind = |a: &str| crate::model::kind_of(a).to_owned();
    let orphan = |a: &str| plan.get(a).is_some_and(|r| r.action == Action::Delete);
    // One order for every delete: dependents before what they depend on, and higher-ranked kinds first
    // where no dependency decides. The kind rank only orders deletes that this order agrees with, so a
    // reference against the kind order (an IAM policy naming an ECS service) cannot make deletes wait
    // for each other in a circle.
    let delete_pos: BTreeMap<&str, usize> = {
        let mut left: Vec<&str> = deletes.keys().copied().collect();
        left.sort_by_key(|a| deletes[a]);
        let mut pos = BTreeMap::new();
        while !left.is_empty() {
            let ready = |a: &&str| !left.iter().any(|o| o != a && depends(o, a));
            let pick = left
                .iter()
                .enumerate()
                .filter(|(_, a)| ready(a))
                .max_by_key(|(i, a)| {
                    (
                        rank.get(crate::model::kind_of(a)).copied().unwrap_or(0),
                        std::cmp::Reverse(*i),
                    )
                })
                .map(|(i, _)| i)
                .unwrap_or(0);
            pos.insert(left.remove(pick), pos.len());
        }
        pos
    };
    let create_first = |a: &str| {
        plan.get(a).is_some_and(|r| {
            r.action == Action::Replace && crate::kinds::creates_before_delete(&r.kind)
        })
    };
    for op in ops.iter_mut() {
        let (addr, step) = (op.address.clone(), op.step);
        let mut after = Vec::new();
        match step {
            Step::Create | Step::Update => {
                for d in plan.deps.get(&addr).into_iter().flatten() {
                    after.extend(writes.get(d.as_str()));
                }
                if step == Step::Create && !create_first(&addr) {
                    after.extend(deletes.get(addr.as_str()));
                }
            }
            Step::Delete => {
                for (other, &j) in &deletes {
                    // A resource replaced create-first loses its old self last; nothing waits for that.
                    if *other == addr || create_first(other) {
                        continue;
                    }
                    let wait = if depends(other, &addr) {
                        true
                    } else if depends(&addr, other) {
                        false
                    } else {
                        let (ro, ra) = (
                            rank.get(kind(other).as_str()),
                            rank.get(kind(&addr).as_str()),
                        );
                        ro > ra && delete_pos[*other] < delete_pos[addr.as_str()]
                    };
                    if wait {
                        after.push(j);
                    }
                }
                // Removed resources go last: what replaces them may still use them until it is in place.
                if orphan(&addr) && !plan.destroy {
                    after.extend(writes.values().copied());
                }
                // The old one goes once its successor exists and everything using it has moved.
                if create_first(&addr) {
                    after.extend(writes.get(addr.as_str()));
                    for (other, &j) in &writes {
                        if depends(other, &addr) {
                            after.push(j);
                        }
                    }
                }
            }
        }
        after.sort_unstable();
        after.dedup();
        op.after = after;
    }
    ops
}

/// Copy the write-only settings the stack file gives (e.g. `force_destroy`) onto the live resource being deleted.
fn with_write_only(plan: &Plan, live: &Live) -> Live {
    let mut l = live.clone();
    if let (Some(r), Some(kind)) = (
        plan.desired.iter().find(|r| r.address == live.address),
        crate::kinds::kind(&live.kind),
    ) {
        for f in kind.fields.iter().filter(|f| f.write_only) {
            if let Some(v) = r.props.get(f.name) {
                l.props.insert(f.name.to_owned(), v.clone());
            }
        }
    }
    l
}

/// How long steps already running may take to finish after an interruption.
pub const GRACE: Duration = Duration::from_secs(5);

/// How a run goes: `parallelism` caps the steps in flight (`--parallelism N`; `usize::MAX`, the
/// default, is no cap); `no_wait` starts rollouts without waiting for them (`--no-wait`).
#[derive(Clone, Copy, Debug)]
pub struct RunOpts {
    pub parallelism: usize,
    pub no_wait: bool,
}

impl From<usize> for RunOpts {
    fn from(parallelism: usize) -> RunOpts {
        RunOpts {
            parallelism,
            no_wait: false,
        }
    }
}

/// Run the plan against `live` (what was read when it was made or checked).
pub async fn run(
    plan: &Plan,
    live: &[Live],
    provider: Arc<dyn Provider>,
    opts: impl Into<RunOpts>,
    progress: Arc<dyn Progress>,
) -> Report {
    let (_never, interrupt) = tokio::sync::watch::channel(false);
    run_until(plan, live, provider, opts, progress, interrupt).await
}

/// [`run`], stopping when `interrupt` turns true: nothing new starts, steps already running get
/// [`GRACE`] to finish, and the rest are reported as interrupted.
pub async fn run_until(
    plan: &Plan,
    live: &[Live],
    provider: Arc<dyn Provider>,
    opts: impl Into<RunOpts>,
    progress: Arc<dyn Progress>,
    mut interrupt: tokio::sync::watch::Receiver<bool>,
) -> Report {
    let RunOpts {
        parallelism,
        no_wait,
    } = opts.into();
    let ops = schedule(plan);
    let live_by: BTreeMap<Address, Live> = live
        .iter()
        .map(|l| (l.address.clone(), l.clone()))
        .collect();
    let mut outputs: BTreeMap<Address, BTreeMap<String, String>> = BTreeMap::new();
    for r in &plan.resources {
        if matches!(r.action, Action::NoOp | Action::Update)
            && let Some(l) = live_by.get(&r.address)
        {
            outputs.insert(r.address.clone(), l.outputs.clone());
        }
    }
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Waiting,
        Running,
        Done,
        Failed,
    }
    let mut state = vec![State::Waiting; ops.len()];
    let mut report = Report::default();
    let mut running: JoinSet<(usize, Duration, Result<Option<Live>>)> = JoinSet::new();
    // Which op each task carries out, to name the step if its task dies (a panic).
    let mut tasks: HashMap<tokio::task::Id, usize> = HashMap::new();
    let mut started: BTreeMap<usize, (Instant, OpCx)> = BTreeMap::new();
    let mut stop = false;
    let mut grace: Option<tokio::time::Instant> = None;
    let mut ticker = tokio::time::interval(Duration::from_secs(10));
    ticker.tick().await;
    loop {
        if !stop {
            for i in 0..ops.len() {
                if running.len() >= parallelism.max(1) {
                    break;
                }
                if state[i] != State::Waiting
                    || !ops[i].after.iter().all(|&j| state[j] == State::Done)
                {
                    continue;
                }
                let op = &ops[i];
                let task = match prepare(plan, op, &live_by, &outputs) {
                    Ok(t) => t,
                    Err(e) => {
                        state[i] = State::Failed;
                        progress.failed(&op.address, op.step, &format!("{e:#}"));
                        report
                            .failed
                            .push((op.address.clone(), op.step, format!("{e:#}")));
                        stop = true;
                        break;
                    }
                };
                state[i] = State::Running;
                let timeout = plan
                    .desired
                    .iter()
                    .find(|r| r.address == op.address)
                    .and_then(|r| r.timeout)
                    .map(Duration::from_secs);
                let mut cx = OpCx::new(timeout);
                cx.no_wait = no_wait;
                started.insert(i, (Instant::now(), cx.clone()));
                progress.started(&op.address, op.step);
                let provider = provider.clone();
                let stack = plan.stack.clone();
                let task_id = running.spawn(wait::scope(cx, async move {
                    let t0 = Instant::now();
                    let result = carry_out(&*provider, &stack, task).await;
                    (i, t0.elapsed(), result)
                }));
                tasks.insert(task_id.id(), i);
            }
        }
        if running.is_empty() {
            break;
        }
        tokio::select! {
            joined = running.join_next() => {
                let Some(joined) = joined else { break };
                let (i, elapsed, result) = match joined {
                    Ok(x) => x,
                    Err(e) => {
                        stop = true;
                        match tasks.get(&e.id()) {
                            Some(&i) => {
                                started.remove(&i);
                                state[i] = State::Failed;
                                let msg = format!("the step stopped unexpectedly: {e}");
                                progress.failed(&ops[i].address, ops[i].step, &msg);
                                report.failed.push((ops[i].address.clone(), ops[i].step, msg));
                            }
                            None => report.errors.push(format!("a step stopped unexpectedly: {e}")),
                        }
                        continue;
                    }
                };
                started.remove(&i);
                let op = &ops[i];
                match result {
                    Ok(l) => {
                        state[i] = State::Done;
                        let id = l.as_ref().map(|l| l.id.clone());
                        if let Some(l) = l {
                            outputs.insert(op.address.clone(), l.outputs.clone());
                        } else if !ops.iter().enumerate().any(|(k, o)| {
                            // A successor created first keeps its outputs.
                            o.address == op.address && o.step == Step::Create && state[k] == State::Done
                        }) {
                            outputs.remove(&op.address);
                        }
                        progress.finished(&op.address, op.step, elapsed, id.as_deref());
                        report.done.push((op.address.clone(), op.step, elapsed, id));
                    }
                    Err(e) => {
                        state[i] = State::Failed;
                        stop = true;
                        let msg = format!("{e:#}");
                        progress.failed(&op.address, op.step, &msg);
                        report.failed.push((op.address.clone(), op.step, msg));
                    }
                }
            }
            _ = ticker.tick() => {
                for (i, (t0, cx)) in &started {
                    let status = cx.status().filter(|s| !s.is_empty());
                    progress.still_running(&ops[*i].address, ops[*i].step, t0.elapsed(), status.as_deref());
                }
            }
            changed = interrupt.changed(), if grace.is_none() => {
                if changed.is_err() || !*interrupt.borrow() {
                    // The sender is gone without an interruption: never look again.
                    grace = Some(tokio::time::Instant::now() + Duration::from_secs(86_400 * 365));
                    continue;
                }
                stop = true;
                report.signalled = true;
                grace = Some(tokio::time::Instant::now() + GRACE);
            }
            _ = tokio::time::sleep_until(grace.unwrap_or_else(tokio::time::Instant::now)), if grace.is_some() && stop => {
                running.abort_all();
                while running.join_next().await.is_some() {}
                for i in started.keys() {
                    report.interrupted.push((ops[*i].address.clone(), ops[*i].step));
                }
                started.clear();
                break;
            }
        }
    }
    if !stop && state.contains(&State::Waiting) {
        // Never expected: say so rather than stop without a reason.
        report
            .errors
            .push("internal error: the remaining steps wait for each other in a circle".into());
    }
    for (i, s) in state.iter().enumerate() {
        if *s == State::Waiting {
            report
                .not_started
                .push((ops[i].address.clone(), ops[i].step));
        }
    }
    report
}

enum Task {
    Create(Resolved, Box<Resource>),
    Update(Resolved, Live, Vec<String>, Box<Resource>),
    Delete(Live),
}

/// How long a change is retried while AWS settles (see [`crate::provider::NotYet`]).
const SETTLE: Duration = Duration::from_secs(30);

/// Run one step; when it fails, look at what AWS actually did before giving up or trying again:
/// a create whose reply was lost is adopted (and converged), never made twice.
async fn carry_out(p: &dyn Provider, stack: &StackInfo, mut task: Task) -> Result<Option<Live>> {
    let t0 = Instant::now();
    let mut pause = Duration::from_millis(300);
    let mut tries = 0;
    loop {
        tries += 1;
        let (err, want, r) = match &task {
            Task::Delete(l) => match p.delete(l).await {
                Ok(()) => return Ok(None),
                Err(e) if (not_yet(&e) || outcome_unknown(&e)) && t0.elapsed() < SETTLE => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                    continue;
                }
                Err(e) => return Err(e),
            },
            Task::Create(r, want) => match p.create(r).await {
                Ok(l) => return Ok(Some(l)),
                Err(e) => (e, want, r),
            },
            Task::Update(r, l, changed, want) => match p.update(r, l, changed).await {
                Ok(l) => return Ok(Some(l)),
                Err(e) => (e, want, r),
            },
        };
        // As many tries as the SDK gives a read: each one is sent only after a read found nothing.
        let retry =
            (not_yet(&err) || (outcome_unknown(&err) && tries < 8)) && t0.elapsed() < SETTLE;
        // The change may have happened anyway (a lost reply, a failure after the resource was made).
        // If AWS cannot be read either, nothing is retried blindly.
        let found = match p
            .read_kind(stack, &r.kind, std::slice::from_ref(want.as_ref()))
            .await
        {
            Ok(all) => all.into_iter().find(|l| l.address == r.address),
            Err(_) => return Err(err),
        };
        let Some(live) = found else {
            if retry {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
                continue;
            }
            return Err(err);
        };
        let tags = desired_tags(stack, want);
        let changes = crate::plan::diff(want, &r.props, &tags, &live);
        if changes.is_empty() {
            return Ok(Some(live));
        }
        // A create that got this far made the resource: finishing it is an update, whatever the error.
        let created = matches!(task, Task::Create(..));
        if changes.iter().any(|c| c.forces_replacement)
            || !(retry || (created && t0.elapsed() < SETTLE))
        {
            return Err(err);
        }
        let fields: Vec<String> = changes.into_iter().map(|c| c.field).collect();
        // From here on the resource exists: every further try converges it, none creates another.
        task = Task::Update(r.clone(), live, fields, want.clone());
        if !created {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    }
}

fn prepare(
    plan: &Plan,
    op: &Op,
    live: &BTreeMap<Address, Live>,
    outputs: &BTreeMap<Address, BTreeMap<String, String>>,
) -> Result<Task> {
    let resolved = || -> Result<Resolved> {
        let r = plan
            .desired
            .iter()
            .find(|r| r.address == op.address)
            .ok_or_else(|| anyhow!("{} is not in the plan's stack", op.address))?;
        let props = resolve_props(&r.props, outputs);
        if let Some((k, _)) = props.iter().find(|(_, v)| v.has_unknown()) {
            return Err(anyhow!(
                "`{k}` still refers to something that does not exist"
            ));
        }
        Ok(Resolved {
            address: r.address.clone(),
            kind: r.kind.clone(),
            name: r.name.clone(),
            props,
            tags: desired_tags(&plan.stack, r),
        })
    };
    let get_live = || {
        live.get(&op.address)
            .cloned()
            .ok_or_else(|| anyhow!("{} was not found live", op.address))
    };
    let want = || {
        plan.desired
            .iter()
            .find(|r| r.address == op.address)
            .cloned()
            .map(Box::new)
            .ok_or_else(|| anyhow!("{} is not in the plan's stack", op.address))
    };
    Ok(match op.step {
        Step::Create => Task::Create(resolved()?, want()?),
        Step::Update => {
            let changed: Vec<String> = plan
                .get(&op.address)
                .map(|r| r.changes.iter().map(|c| c.field.clone()).collect())
                .unwrap_or_default();
            // The schema decides what changes in place; a plan asking otherwise was not made by it.
            let kind = crate::kinds::kind(crate::model::kind_of(&op.address));
            if let Some(f) = changed.iter().find(|f| kind.is_some_and(|k| k.replaces(f))) {
                bail!("{}: `{f}` cannot change in place; plan again", op.address);
            }
            Task::Update(resolved()?, get_live()?, changed, want()?)
        }
        Step::Delete => Task::Delete(with_write_only(plan, &get_live()?)),
    })
}

/// Whether op `i` waits (directly or through others) for op `j`.
pub fn waits_for(ops: &[Op], i: usize, j: usize) -> bool {
    let mut stack = vec![i];
    let mut seen = vec![false; ops.len()];
    while let Some(k) = stack.pop() {
        for &d in &ops[k].after {
            if d == j {
                return true;
            }
            if !seen[d] {
                seen[d] = true;
                stack.push(d);
            }
        }
    }
    false
}
