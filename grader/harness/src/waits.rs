//! Under the model checker: did a thread ever have to wait for another while both were inside
//! calls that share nothing?
//!
//! Two transfers between four different accounts touch no common lock, so neither should ever
//! wait for the other. A lock for the whole bank makes them take turns, with results no test
//! of values can tell apart. The scheduler sees it: a thread inside such a call that is not
//! runnable is blocked, and the only thing it can be blocked on is the other call. [`explore`]
//! wraps the fixed-seed schedulers of [`crate::model`] to look at every step, and [`inside`]
//! marks the calls to watch.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::model::{run_recording, Budget, PCT_SEED, RANDOM_SEED};
use shuttle::scheduler::{PctScheduler, RandomScheduler, Schedule, Scheduler, Task, TaskId};

/// The model-checked tasks inside a watched call right now.
static INSIDE: Mutex<BTreeSet<usize>> = Mutex::new(BTreeSet::new());
/// Whether a task inside a watched call was ever blocked.
static WAITED: AtomicBool = AtomicBool::new(false);

/// Runs `call` as a watched call of the current model-checked thread.
pub fn inside<R>(call: impl FnOnce() -> R) -> R {
    let me = usize::from(shuttle::current::me());
    INSIDE.lock().unwrap().insert(me);
    let result = call();
    INSIDE.lock().unwrap().remove(&me);
    result
}

/// Explores `scenario` as [`crate::model::explore`] does (a failing schedule's interleaving
/// included) and returns whether, in any schedule,
/// a thread inside a watched call was blocked while another thread was inside one too.
pub fn explore<F>(budget: Budget, scenario: F) -> bool
where
    F: Fn() + Send + Sync + 'static,
{
    WAITED.store(false, Ordering::SeqCst);
    let scenario = std::sync::Arc::new(scenario);
    let pct = PctScheduler::new_from_seed(PCT_SEED, budget.pct_depth, budget.pct_iterations);
    run_recording(Watching(pct), &scenario);
    let random = RandomScheduler::new_from_seed(RANDOM_SEED, budget.random_iterations);
    run_recording(Watching(random), &scenario);
    WAITED.load(Ordering::SeqCst)
}

/// A scheduler that looks at who is runnable before the one it wraps decides.
struct Watching<S>(S);

impl<S: Scheduler> Scheduler for Watching<S> {
    fn new_execution(&mut self) -> Option<Schedule> {
        INSIDE.lock().unwrap().clear();
        self.0.new_execution()
    }

    fn next_task(
        &mut self,
        runnable_tasks: &[&Task],
        current_task: Option<TaskId>,
        is_yielding: bool,
    ) -> Option<TaskId> {
        let inside = INSIDE.lock().unwrap();
        if inside.len() >= 2 {
            let runnable: BTreeSet<usize> = runnable_tasks
                .iter()
                .map(|task| usize::from(task.id()))
                .collect();
            if inside.iter().any(|task| !runnable.contains(task)) {
                WAITED.store(true, Ordering::SeqCst);
            }
        }
        drop(inside);
        self.0.next_task(runnable_tasks, current_task, is_yielding)
    }

    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
}
