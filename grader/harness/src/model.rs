//! Model checking with fixed seeds, so a race is found on every run and on any machine.
//!
//! Hidden tests call [`explore`] with a closure that builds a small scenario from the
//! model-checked copy of the crate under test (`<lib>_model`, whose `crate::sync` is shuttle).
//! Shuttle then runs the closure under many schedules. The seeds are constants, so the set of
//! schedules tried is the same on a laptop, a loaded CI runner and a single core.
//!
//! When a schedule fails, [`explore`] runs that one schedule again before it fails the test,
//! this time looking at every scheduling point: which thread was about to do which
//! synchronisation operation, called from which line of the learner's file. Those steps, in the
//! order they ran, go in the test's report as its interleaving (see [`crate::InterleavingStep`]),
//! each operation on an atomic with the value it read or wrote, which the twin's atomics
//! ([`crate::atomic`]) record during the replay only.
//! Only the replay pays for this; the thousands of passing schedules are not slowed down.

use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use shuttle::scheduler::{
    PctScheduler, RandomScheduler, ReplayScheduler, Schedule, Scheduler, Task, TaskId,
};
use shuttle::{Config, Runner};

use crate::protocol::{AtomicAccess, InterleavingStep};

/// How hard to look. The defaults find the races of the exercises in well under a second.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Schedules tried by the PCT scheduler, which is good at bugs that need a few
    /// preemptions at precise points.
    pub pct_iterations: usize,
    /// How many preemptions PCT may place in one schedule.
    pub pct_depth: usize,
    /// Schedules tried by the uniformly random scheduler.
    pub random_iterations: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            pct_iterations: 2_000,
            pct_depth: 3,
            random_iterations: 2_000,
        }
    }
}

/// The fixed seeds. Changing them changes which schedules are explored; do it only together
/// with `cargo xtask verify`, which proves the mutants are still caught.
pub(crate) const PCT_SEED: u64 = 0x7e57_ab1e;
pub(crate) const RANDOM_SEED: u64 = 0x5eed_cafe;

/// The interleaving of the first failing schedule, for the report.
static INTERLEAVING: Mutex<Option<Vec<InterleavingStep>>> = Mutex::new(None);

/// Set while the failing schedule is replayed: its panic repeats the one already recorded.
static REPLAYING: AtomicBool = AtomicBool::new(false);

/// The atomic operations of the replay not yet matched with their steps, in the order they ran.
static ACCESSES: Mutex<Vec<Access>> = Mutex::new(Vec::new());

/// What one atomic operation of the learner's code did, as the twin's atomics
/// ([`crate::atomic`]) report it.
pub(crate) struct Access {
    /// Shuttle's number of the thread that made it.
    pub task: usize,
    /// The learner's line that called it (`#[track_caller]`).
    pub file: &'static str,
    pub line: u32,
    /// The atomic's address, only to tell atomics apart within one replay; never shown.
    pub address: usize,
    pub read: Option<String>,
    pub written: Option<String>,
    /// How the row shows it: `= 0`, `0 -> 1`, `found 2, not 0: unchanged`.
    pub shown: String,
}

/// Keeps what an atomic operation of the twin did during the replay ([`crate::atomic`]).
pub(crate) fn record_access(access: Access) {
    if let Ok(mut accesses) = ACCESSES.lock() {
        accesses.push(access);
    }
}

/// Whether the failing schedule is being replayed right now; the panic hook then records
/// nothing, since the replay only repeats a panic the report already has.
pub(crate) fn replaying() -> bool {
    REPLAYING.load(Ordering::SeqCst)
}

/// The failing interleaving found by [`explore`], if a schedule failed.
pub(crate) fn take_interleaving() -> Option<Vec<InterleavingStep>> {
    INTERLEAVING.lock().ok().and_then(|mut slot| slot.take())
}

/// Runs `scenario` under PCT and then random schedules with fixed seeds. A failing schedule
/// panics with shuttle's replay string in the message and on stderr, after it was replayed
/// once to record its interleaving.
pub fn explore<F>(budget: Budget, scenario: F)
where
    F: Fn() + Send + Sync + 'static,
{
    let scenario = Arc::new(scenario);
    let pct = PctScheduler::new_from_seed(PCT_SEED, budget.pct_depth, budget.pct_iterations);
    run_recording(pct, &scenario);
    let random = RandomScheduler::new_from_seed(RANDOM_SEED, budget.random_iterations);
    run_recording(random, &scenario);
}

/// Runs `scenario` under `scheduler` until it is done or a schedule fails; a failing schedule
/// is replayed to record its interleaving, then the failure goes on unwinding.
pub(crate) fn run_recording<S, F>(scheduler: S, scenario: &Arc<F>)
where
    S: Scheduler + 'static,
    F: Fn() + Send + Sync + 'static,
{
    let record = Rc::new(RefCell::new(Record::default()));
    let recording = Recording {
        inner: scheduler,
        record: record.clone(),
        look_at_steps: false,
    };
    let for_runner = scenario.clone();
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        Runner::new(recording, Config::default()).run(move || for_runner())
    }));
    if let Err(payload) = outcome {
        let failing = std::mem::take(&mut record.borrow_mut().schedule);
        let steps = replay_steps(failing, scenario);
        if let Ok(mut slot) = INTERLEAVING.lock() {
            slot.get_or_insert(steps);
        }
        panic::resume_unwind(payload);
    }
}

/// Runs `schedule` once more and returns the synchronisation operations it made, in order.
fn replay_steps<F>(schedule: Schedule, scenario: &Arc<F>) -> Vec<InterleavingStep>
where
    F: Fn() + Send + Sync + 'static,
{
    let record = Rc::new(RefCell::new(Record::default()));
    let recording = Recording {
        inner: ReplayScheduler::new_from_schedule(schedule),
        record: record.clone(),
        look_at_steps: true,
    };
    let scenario = scenario.clone();
    take_accesses();
    REPLAYING.store(true, Ordering::SeqCst);
    // The replay fails as the original did; that failure is the one already being reported.
    let _ = panic::catch_unwind(AssertUnwindSafe(|| {
        Runner::new(recording, Config::default()).run(move || scenario())
    }));
    REPLAYING.store(false, Ordering::SeqCst);
    let mut record = record.borrow_mut();
    // The last operations ran after the last scheduling point.
    record.attach(take_accesses());
    let mut steps = std::mem::take(&mut record.steps);
    // Threads still stopped before an operation when the schedule ended: in a deadlock, the
    // operations each thread waits in for ever. In thread order, so every run shows the same.
    let mut stopped: Vec<(usize, InterleavingStep)> = record.pending.drain().collect();
    stopped.sort_by_key(|(task, _)| *task);
    steps.extend(stopped.into_iter().map(|(_, step)| InterleavingStep {
        // Never chosen again after it went to sleep: it was not woken.
        operation: step.operation.replace(WAIT_WOKEN, WAIT_ASLEEP),
        never_ran: true,
        ..step
    }));
    steps
}

/// What a [`Recording`] saw of the current execution.
#[derive(Default)]
struct Record {
    /// Every decision, so the execution can be replayed exactly.
    schedule: Schedule,
    /// The operation each thread stopped at, which runs when the thread is next chosen.
    pending: HashMap<usize, InterleavingStep>,
    /// The operations that ran, in order.
    steps: Vec<InterleavingStep>,
    /// The thread of each of `steps`.
    step_tasks: Vec<usize>,
    /// Each thread's label, kept from when it was last runnable: a thread that blocks is
    /// no longer among the runnable ones that carry the names.
    labels: HashMap<usize, String>,
    /// Each atomic's number, by its address, in the order the replay first used it.
    atomics: HashMap<usize, usize>,
}

impl Record {
    /// Gives each atomic operation's values to its step: the last step its thread ran, which
    /// is that operation when it was called from the same line (an operation runs as soon as
    /// its thread is chosen, before the thread reaches its next scheduling point). Operations
    /// of the hidden test's own code have no step and are dropped.
    fn attach(&mut self, accesses: Vec<Access>) {
        for access in accesses {
            let Some(index) = self
                .step_tasks
                .iter()
                .rposition(|&task| task == access.task)
            else {
                continue;
            };
            let step = &mut self.steps[index];
            let same_line = step.line == access.line
                && under_src(&step.file) == under_src(access.file)
                && step.operation.starts_with("Atomic");
            if !same_line || step.access.is_some() {
                continue;
            }
            let next = self.atomics.len() + 1;
            let atomic = *self.atomics.entry(access.address).or_insert(next);
            step.access = Some(AtomicAccess {
                atomic,
                read: access.read,
                written: access.written,
                shown: access.shown,
            });
        }
    }
}

/// The part of a source path from its last `src/` on: a backtrace and `Location::caller` may
/// spell the folder above differently.
fn under_src(file: &str) -> &str {
    file.rfind("src/").map_or(file, |at| &file[at..])
}

/// The atomic operations recorded since the last call.
fn take_accesses() -> Vec<Access> {
    ACCESSES
        .lock()
        .map(|mut accesses| std::mem::take(&mut *accesses))
        .unwrap_or_default()
}

/// A scheduler that keeps the schedule of the execution it is in (every scheduler of shuttle
/// can be replayed from that) and, when asked, what each step did.
struct Recording<S> {
    inner: S,
    record: Rc<RefCell<Record>>,
    look_at_steps: bool,
}

impl<S: Scheduler> Scheduler for Recording<S> {
    fn new_execution(&mut self) -> Option<Schedule> {
        let schedule = self.inner.new_execution()?;
        let mut record = self.record.borrow_mut();
        record.schedule = schedule.clone();
        record.pending.clear();
        record.steps.clear();
        record.step_tasks.clear();
        record.labels.clear();
        record.atomics.clear();
        Some(schedule)
    }

    fn next_task(
        &mut self,
        runnable_tasks: &[&Task],
        current_task: Option<TaskId>,
        is_yielding: bool,
    ) -> Option<TaskId> {
        // Shuttle asks for a decision just before an operation runs, on the stack of the
        // thread about to run it, so the backtrace here shows the operation and its caller.
        // The operation runs when that thread is next chosen, which may be much later.
        if self.look_at_steps {
            let mut record = self.record.borrow_mut();
            record.attach(take_accesses());
            for task in runnable_tasks {
                let number = usize::from(task.id());
                record
                    .labels
                    .entry(number)
                    .or_insert_with(|| thread_label(number, task.name()));
            }
            if let Some(current) = current_task {
                let number = usize::from(current);
                let label = record
                    .labels
                    .get(&number)
                    .cloned()
                    .unwrap_or_else(|| thread_label(number, None));
                if let Some(step) = operation_here(label) {
                    record.pending.insert(number, step);
                }
            }
        }
        let chosen = self
            .inner
            .next_task(runnable_tasks, current_task, is_yielding);
        let mut record = self.record.borrow_mut();
        if let Some(task) = chosen {
            record.schedule.push_task(task);
            if let Some(step) = record.pending.remove(&usize::from(task)) {
                record.steps.push(step);
                record.step_tasks.push(usize::from(task));
            }
        }
        chosen
    }

    fn next_u64(&mut self) -> u64 {
        self.record.borrow_mut().schedule.push_random();
        self.inner.next_u64()
    }
}

/// How the learner knows a thread: the name the test gave it, `main` for the test's own
/// thread, else `thread N` in the order the threads were started.
fn thread_label(number: usize, name: Option<String>) -> String {
    match name {
        Some(name) if name != "main-thread" => name,
        _ if number == 0 => "main".to_owned(),
        _ => format!("thread {number}"),
    }
}

/// The synchronisation operation the current thread is about to make, read from its stack:
/// the outermost frame of shuttle's below the innermost frame in the learner's `src/`. `None`
/// when the learner's code is not on the stack (the hidden test's own steps, a thread ending).
fn operation_here(thread: String) -> Option<InterleavingStep> {
    let backtrace = std::backtrace::Backtrace::force_capture().to_string();
    // Shuttle's frames below the learner's, innermost first.
    let mut shuttle_frames: Vec<&str> = Vec::new();
    let mut function = "";
    let mut step: Option<InterleavingStep> = None;
    for line in backtrace.lines().map(str::trim) {
        if let Some(location) = line.strip_prefix("at ") {
            if !location.contains("subject/src/") {
                if step.is_some() {
                    break;
                }
                continue;
            }
            match &mut step {
                None => {
                    let mut parts = location.rsplitn(3, ':');
                    let _column = parts.next();
                    let line_number = parts.next()?.parse().ok()?;
                    let file = parts.next()?.to_owned();
                    step = Some(InterleavingStep {
                        thread: thread.clone(),
                        operation: operation_name(&shuttle_frames)?,
                        file,
                        line: line_number,
                        function: short_function(function),
                        never_ran: false,
                        access: None,
                    });
                }
                // A helper of the learner's (`locked()`) says less than the function that
                // called it, so the first caller of another name is named too.
                Some(step) => {
                    let caller = short_function(function);
                    if caller != step.function {
                        step.function = format!("{}, called by {caller}", step.function);
                        break;
                    }
                }
            }
        } else if let Some((_, name)) = line.split_once(": ") {
            function = name;
            if step.is_none() && name.contains("shuttle") && !name.starts_with("shuttle_engine") {
                shuttle_frames.push(name);
            }
        }
    }
    step
}

/// The phase of a `Condvar::wait` in which the thread sleeps. The step runs when the thread
/// is chosen again, after it was woken; a thread never chosen again is still asleep.
const WAIT_WOKEN: &str = "woken";
const WAIT_ASLEEP: &str = "asleep";

/// The operation the learner called, from shuttle's frames below the learner's (innermost
/// first): `shuttle_std::sync::atomic::int::AtomicU64::load` becomes `AtomicU64::load`, and
/// dropping a guard `MutexGuard::drop (unlock)`. A `Condvar::wait` has three steps: it unlocks,
/// it is woken (the step runs when the sleeping thread is chosen again), it locks again.
fn operation_name(shuttle_frames: &[&str]) -> Option<String> {
    let outermost = *shuttle_frames.last()?;
    if let Some(inner) = outermost.strip_prefix("core::ptr::drop_in_place<") {
        let guard = last_segments(inner, 1);
        return Some(format!("{guard}::drop (unlock)"));
    }
    let operation = last_segments(outermost, 2);
    if operation != "Condvar::wait" {
        return Some(operation);
    }
    let inner = &shuttle_frames[..shuttle_frames.len() - 1];
    let phase = if inner
        .iter()
        .any(|frame| last_segments(frame, 2) == "Mutex::lock")
    {
        "locks again"
    } else if inner.iter().any(|frame| frame.contains("unlock")) {
        "unlocks, sleeps"
    } else {
        WAIT_WOKEN
    };
    Some(format!("{operation} ({phase})"))
}

/// The learner's function without its crate and closures: `Counter::increment`.
fn short_function(function: &str) -> String {
    let function = function.split("::{{closure}}").next().unwrap_or(function);
    let without_generics = strip_generics(function);
    match without_generics.split_once("::") {
        Some((_crate, rest)) if !rest.is_empty() => rest.to_owned(),
        _ => without_generics,
    }
}

/// The last `count` `::`-separated segments of a path, without generic arguments.
fn last_segments(path: &str, count: usize) -> String {
    let plain = strip_generics(path);
    let segments: Vec<&str> = plain.split("::").filter(|part| !part.is_empty()).collect();
    segments[segments.len().saturating_sub(count)..].join("::")
}

fn strip_generics(path: &str) -> String {
    let mut depth = 0usize;
    let mut plain = String::new();
    for character in path.chars() {
        match character {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            _ if depth == 0 => plain.push(character),
            _ => {}
        }
    }
    plain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_named_by_type_and_method() {
        let name = |frames: &[&str]| operation_name(frames).unwrap();
        assert_eq!(
            name(&["shuttle_std::sync::atomic::int::AtomicU64::load"]),
            "AtomicU64::load"
        );
        assert_eq!(
            name(&["shuttle_std::sync::mutex::Mutex<T>::lock"]),
            "Mutex::lock"
        );
        assert_eq!(
            name(&["core::ptr::drop_in_place<shuttle_std::sync::mutex::MutexGuard<u64>>"]),
            "MutexGuard::drop (unlock)"
        );
        assert_eq!(operation_name(&[]), None);
    }

    #[test]
    fn a_condvar_wait_has_three_steps() {
        let wait = "shuttle_std::sync::condvar::Condvar::wait";
        let phase = |inner: &str| operation_name(&[inner, wait]).unwrap();
        assert_eq!(
            phase("shuttle_std::sync::mutex::MutexGuard<T>::unlock"),
            "Condvar::wait (unlocks, sleeps)"
        );
        assert_eq!(
            phase("shuttle_std::sync::mutex::Mutex<T>::lock"),
            "Condvar::wait (locks again)"
        );
        assert_eq!(operation_name(&[wait]).unwrap(), "Condvar::wait (woken)");
    }

    fn atomic_step(thread: &str, operation: &str, line: u32) -> InterleavingStep {
        InterleavingStep {
            thread: thread.to_owned(),
            operation: operation.to_owned(),
            file: "/scratch/01/model/../subject/src/lib.rs".to_owned(),
            line,
            function: "Counter::increment".to_owned(),
            never_ran: false,
            access: None,
        }
    }

    fn access(task: usize, line: u32, address: usize, shown: &str) -> Access {
        Access {
            task,
            file: "../subject/src/lib.rs",
            line,
            address,
            read: Some("0".to_owned()),
            written: None,
            shown: shown.to_owned(),
        }
    }

    #[test]
    fn an_atomic_operation_gives_its_values_to_its_threads_last_step() {
        let mut record = Record {
            steps: vec![
                atomic_step("thread 1", "AtomicU64::load", 39),
                atomic_step("thread 2", "AtomicU64::load", 39),
                atomic_step("thread 2", "Mutex::lock", 41),
            ],
            step_tasks: vec![1, 2, 2],
            ..Record::default()
        };
        record.attach(vec![
            // Thread 2's last step is a lock: this load of the hidden test's has no row.
            access(2, 39, 0x2000, "= 5"),
            access(1, 39, 0x1000, "= 0"),
            // Thread 1's load has its values already.
            access(1, 39, 0x1000, "= 9"),
        ]);
        let shown: Vec<Option<(usize, &str)>> = record
            .steps
            .iter()
            .map(|step| step.access.as_ref().map(|a| (a.atomic, a.shown.as_str())))
            .collect();
        assert_eq!(shown, [Some((1, "= 0")), None, None]);

        // Atomics are numbered in the order the schedule first used them, not by address.
        record
            .steps
            .push(atomic_step("thread 2", "AtomicU64::store", 40));
        record.step_tasks.push(2);
        record.attach(vec![access(2, 40, 0x0500, "= 1")]);
        assert_eq!(record.steps[3].access.as_ref().map(|a| a.atomic), Some(2));
    }

    #[test]
    fn atomics_record_what_they_read_and_wrote_only_during_a_replay() {
        use crate::atomic::{AtomicU64, Ordering::SeqCst};
        let operate = || {
            shuttle::check_random(
                || {
                    let counter = AtomicU64::new(0);
                    counter.store(4, SeqCst);
                    counter.load(SeqCst);
                    counter.fetch_add(1, SeqCst);
                    let _ = counter.compare_exchange(0, 7, SeqCst, SeqCst);
                    let _ = counter.compare_exchange(5, 7, SeqCst, SeqCst);
                },
                1,
            );
            take_accesses()
        };
        assert!(operate().is_empty(), "recorded outside a replay");
        REPLAYING.store(true, Ordering::SeqCst);
        let accesses = operate();
        REPLAYING.store(false, Ordering::SeqCst);
        let shown: Vec<&str> = accesses.iter().map(|a| a.shown.as_str()).collect();
        assert_eq!(
            shown,
            [
                "= 4",
                "= 4",
                "4 -> 5",
                "found 5, not 0: unchanged",
                "5 -> 7"
            ]
        );
        assert!(accesses.iter().all(|a| a.file.ends_with("model.rs")));
        let values: Vec<(Option<&str>, Option<&str>)> = accesses
            .iter()
            .map(|a| (a.read.as_deref(), a.written.as_deref()))
            .collect();
        assert_eq!(
            values,
            [
                (None, Some("4")),
                (Some("4"), None),
                (Some("4"), Some("5")),
                (Some("5"), None),
                (Some("5"), Some("7")),
            ]
        );
    }

    #[test]
    fn learner_functions_lose_their_crate_and_closures() {
        assert_eq!(
            short_function("race_counter_model::Counter::increment"),
            "Counter::increment"
        );
        assert_eq!(
            short_function("race_counter_model::run_concurrently::{{closure}}::{{closure}}"),
            "run_concurrently"
        );
    }
}

/// Asks shuttle to record where each thread blocks, so that a deadlock report names the
/// learner's lines (the wait, the lock) and the grader can tell a lost wake-up, a self-lock and
/// a lock-order cycle apart. Shuttle reads it once per process, so call it before the first
/// schedule. It costs a backtrace at every block: measured on exercise 03's model tests, 1.2 s
/// of CPU time becomes 2.7 s, hence only in the exercises whose lesson is waiting.
pub fn capture_where_threads_wait() {
    std::env::set_var(shuttle::CAPTURE_BACKTRACE, "1");
}
