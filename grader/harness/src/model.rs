//! Model checking with fixed seeds, so a race is found on every run and on any machine.
//!
//! Hidden tests call [`explore`] with a closure that builds a small scenario from the
//! model-checked copy of the crate under test (`<lib>_model`, whose `crate::sync` is shuttle).
//! Shuttle then runs the closure under many schedules. The seeds are constants, so the set of
//! schedules tried is the same on a laptop, a loaded CI runner and a single core.

use shuttle::scheduler::{PctScheduler, RandomScheduler};
use shuttle::{Config, Runner};

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

/// Runs `scenario` under PCT and then random schedules with fixed seeds. A failing schedule
/// panics with shuttle's replay string in the message and on stderr.
pub fn explore<F>(budget: Budget, scenario: F)
where
    F: Fn() + Send + Sync + 'static,
{
    let scenario = std::sync::Arc::new(scenario);
    let pct = PctScheduler::new_from_seed(PCT_SEED, budget.pct_depth, budget.pct_iterations);
    let for_pct = scenario.clone();
    Runner::new(pct, Config::default()).run(move || for_pct());
    let random = RandomScheduler::new_from_seed(RANDOM_SEED, budget.random_iterations);
    Runner::new(random, Config::default()).run(move || scenario());
}

/// Asks shuttle to record where each thread blocks, so that a deadlock report names the
/// learner's lines (the wait, the lock) and the grader can tell a lost wake-up, a self-lock and
/// a lock-order cycle apart. Shuttle reads it once per process, so call it before the first
/// schedule. It costs a backtrace at every block: measured on exercise 03's model tests, 1.2 s
/// of CPU time becomes 2.7 s, hence only in the exercises whose lesson is waiting.
pub fn capture_where_threads_wait() {
    std::env::set_var(shuttle::CAPTURE_BACKTRACE, "1");
}
