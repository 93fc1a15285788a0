//! Hidden tests of exercise 07: Interpreter::run_task and run_program.
//!
//! `gil` is the learner's crate on real threads; `gil_model` is the same code with
//! `crate::sync` swapped for shuttle. Under the model, the test's `Work` makes `compute` (or
//! `io`) a meeting point: a thread inside waits, yielding to the scheduler, for a second thread
//! to join it. Under a global lock held while computing, the second thread never can, so "one
//! thread computes at a time" fails in a schedule that replays, with no clock involved.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use harness::model::{self, Budget};

/// A cheap, order-independent stand-in for real work: the same function for both kinds, so
/// the expected checksum is easy to compute, but distinct per kind so a mix-up shows.
fn compute_result(input: u64) -> u64 {
    input.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5555
}

fn io_result(input: u64) -> u64 {
    input.rotate_left(17) ^ 0xaaaa
}

/// What one thread running `tasks` in order adds up to.
fn expected_summary(tasks: &[gil::Task]) -> (u64, u64) {
    let checksum = tasks.iter().fold(0u64, |sum, task| {
        sum.wrapping_add(match *task {
            gil::Task::Compute(input) => compute_result(input),
            gil::Task::Io(input) => io_result(input),
        })
    });
    (tasks.len() as u64, checksum)
}

/// Real-thread work: computes the cheap results, and waits a millisecond for I/O.
struct Quick;

impl gil::Work for Quick {
    fn compute(&self, input: u64) -> u64 {
        compute_result(input)
    }
    fn io(&self, input: u64) -> u64 {
        std::thread::sleep(Duration::from_millis(1));
        io_result(input)
    }
}

fn summary_counts_every_task_once() {
    let tasks: Vec<gil::Task> = (0..40u64)
        .map(|index| {
            if index % 3 == 0 {
                gil::Task::Io(index)
            } else {
                gil::Task::Compute(index)
            }
        })
        .collect();
    let (want_tasks, want_checksum) = expected_summary(&tasks);
    for threads in [1, 3] {
        let got = gil::run_program(threads, &tasks, &Quick);
        assert!(
            got.tasks == want_tasks,
            "with {threads} threads, {want_tasks} tasks (every third one I/O) were counted as \
             {}: every task, compute or I/O, must be merged exactly once",
            got.tasks
        );
        assert!(
            got.checksum == want_checksum,
            "with {threads} threads the checksum is {:#x}, but the results of the {want_tasks} \
             tasks add up to {want_checksum:#x}: every task's result, compute or I/O, must be \
             added to the checksum once",
            got.checksum
        );
    }
    let empty = gil::run_program(2, &[], &Quick);
    assert!(
        empty == gil::Summary::default(),
        "a program without tasks must sum to zero, not {empty:?}"
    );
}

/// How many turns of the model checker's scheduler a thread inside `compute` (or `io`) gives
/// the other thread to join it. Each turn yields, and both schedulers let another thread run
/// after a yield, so a second thread that is free to enter gets there within a few turns; one
/// that waits for the global lock never does.
const PATIENCE_TURNS: usize = 64;

/// Model-checked meeting point: a thread inside the watched kind of work waits (by yielding)
/// until a second thread is inside too, or until its patience runs out.
#[derive(Default)]
struct Rendezvous {
    inside: AtomicUsize,
    met: AtomicBool,
}

impl Rendezvous {
    fn enter_and_wait(&self) {
        self.inside.fetch_add(1, Ordering::SeqCst);
        for _ in 0..PATIENCE_TURNS {
            if self.inside.load(Ordering::SeqCst) >= 2 {
                self.met.store(true, Ordering::SeqCst);
                break;
            }
            shuttle::thread::yield_now();
        }
        self.inside.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Work whose `compute` is a meeting point.
#[derive(Default)]
struct MeetInCompute(Rendezvous);

impl gil_model::Work for MeetInCompute {
    fn compute(&self, input: u64) -> u64 {
        self.0.enter_and_wait();
        compute_result(input)
    }
    fn io(&self, input: u64) -> u64 {
        io_result(input)
    }
}

/// Work whose `io` is a meeting point.
#[derive(Default)]
struct MeetInIo(Rendezvous);

impl gil_model::Work for MeetInIo {
    fn compute(&self, input: u64) -> u64 {
        compute_result(input)
    }
    fn io(&self, input: u64) -> u64 {
        self.0.enter_and_wait();
        io_result(input)
    }
}

fn merging_never_loses_a_result_under_the_model() {
    model::explore(Budget::default(), || {
        let tasks = [gil_model::Task::Compute(1), gil_model::Task::Io(2)];
        let got = gil_model::run_program(2, &tasks, &Quick);
        let want = compute_result(1).wrapping_add(io_result(2));
        assert!(
            got.tasks == 2 && got.checksum == want,
            "two threads each ran one task and merged it, but the summary says {} tasks and \
             checksum {:#x} instead of 2 and {want:#x}: one merge overwrote the other. Read and \
             update the summary inside one critical section",
            got.tasks,
            got.checksum
        );
    });
}

impl gil_model::Work for Quick {
    fn compute(&self, input: u64) -> u64 {
        compute_result(input)
    }
    fn io(&self, input: u64) -> u64 {
        io_result(input)
    }
}

fn compute_runs_outside_the_gil_under_the_model() {
    model::explore(Budget::default(), || {
        let work = MeetInCompute::default();
        let tasks = [gil_model::Task::Compute(1), gil_model::Task::Compute(2)];
        let got = gil_model::run_program(2, &tasks, &work);
        assert!(
            got.tasks == 2,
            "2 compute tasks were counted as {}",
            got.tasks
        );
        assert!(
            work.0.met.load(Ordering::SeqCst),
            "2 threads had a compute task each, but while one computed, the other could not \
             start computing in {PATIENCE_TURNS} turns of the scheduler: the high-water mark of \
             threads computing at once is 1. The computation runs while the global lock is \
             held, so threads take turns and more cores make nothing faster. Compute before \
             taking the lock, and hold it only to merge the result"
        );
    });
}

fn io_waits_overlap_under_the_model() {
    model::explore(Budget::default(), || {
        let work = MeetInIo::default();
        let tasks = [gil_model::Task::Io(1), gil_model::Task::Io(2)];
        let got = gil_model::run_program(2, &tasks, &work);
        assert!(got.tasks == 2, "2 I/O tasks were counted as {}", got.tasks);
        assert!(
            work.0.met.load(Ordering::SeqCst),
            "2 threads had an I/O task each, but while one waited for I/O, the other could not \
             start waiting in {PATIENCE_TURNS} turns of the scheduler: the global lock is held \
             during I/O, so even waiting threads take turns. Release the lock while waiting, as \
             CPython does"
        );
    });
}

/// Work whose `compute` waits until every thread computes at once: `threads` threads that
/// take turns never all get there, and the watcher, seeing from /proc that nothing can move
/// any more, lets them go. The clock-free half of the speedup test.
struct MeetToCompute(&'static harness::rendezvous::Rendezvous);

impl gil::Work for MeetToCompute {
    fn compute(&self, input: u64) -> u64 {
        self.0.arrive();
        compute_result(input)
    }
    fn io(&self, input: u64) -> u64 {
        io_result(input)
    }
}

fn compute_runs_on_every_thread_at_once() {
    const THREADS: usize = 4;
    let work = MeetToCompute(harness::rendezvous::Rendezvous::new(THREADS as u32));
    let tasks: Vec<gil::Task> = (0..THREADS as u64).map(gil::Task::Compute).collect();
    let got = work.0.watch(|| {}, || gil::run_program(THREADS, &tasks, &work));
    assert!(
        work.0.met(),
        "{THREADS} threads had a compute task each, but at most {} of them were computing at \
         once, and then nothing moved: something makes the computations take turns, so more \
         cores make a CPU-bound program no faster. Hold a lock only to merge a result, never \
         around work.compute",
        work.0.arrived()
    );
    assert!(
        got.tasks == THREADS as u64,
        "{THREADS} compute tasks were counted as {}",
        got.tasks
    );
}

fn cpu_bound_threads_speed_up() {
    // 64 tasks of 2 M hash rounds: about 150 ms on one thread in a release build.
    const TASKS: u64 = 64;
    let work = gil::Simulated {
        compute_rounds: 2_000_000,
        io_latency: Duration::ZERO,
    };
    let tasks: Vec<gil::Task> = (0..TASKS).map(gil::Task::Compute).collect();
    let want = gil::run_program(1, &tasks, &work);
    harness::timing::measure_speedup(|workers| {
        let got = gil::run_program(workers, &tasks, &work);
        assert!(
            got == want,
            "with {workers} threads the program summed to {got:?}, with 1 thread to {want:?}"
        );
    });
}

fn run_program_panics_on_0_threads() {
    let outcome = std::panic::catch_unwind(|| gil::run_program(0, &[gil::Task::Compute(1)], &Quick));
    assert!(
        outcome.is_err(),
        "run_program with 0 threads returned; it must panic, since no thread would ever run a task"
    );
}

harness::hidden_tests![
    summary_counts_every_task_once,
    run_program_panics_on_0_threads,
    merging_never_loses_a_result_under_the_model,
    compute_runs_outside_the_gil_under_the_model,
    io_waits_overlap_under_the_model,
    compute_runs_on_every_thread_at_once,
    cpu_bound_threads_speed_up,
];
