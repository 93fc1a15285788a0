//! # Exercise 07: a global interpreter lock
//!
//! CPython lets only the thread that holds its global interpreter lock (the GIL) run bytecode.
//! Threads that compute therefore take turns, and get no faster with more cores; threads that
//! wait for I/O release the lock while they wait, so their waits still overlap.
//!
//! The [`Interpreter`] below does the same: its state sits behind one mutex, and
//! [`Interpreter::run_task`] holds that mutex while it computes, and releases it around I/O.
//! [`run_program`] already runs tasks on several threads.
//!
//! 1. Observe: `cargo run --release -p gil --example gil_demo` times a CPU-bound and an I/O-bound
//!    program with 1, 2 and 4 threads. Only the I/O-bound one gets faster.
//! 2. Your task, marked `TODO`: restructure `run_task` so that CPU-bound programs scale too.
//!    Keep merging results under the lock: losing one is worse than being slow.
//!
//! Use locks and threads from `crate::sync`, never `std::sync` or `std::thread` directly: the
//! grader model-checks the interpreter. Check your work with `cargo xtask check 07`.

mod sync;

use std::time::Duration;

use sync::atomic::{AtomicUsize, Ordering};
use sync::Mutex;

/// One unit of a program: CPU-bound "bytecode" or blocking "I/O", with its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    Compute(u64),
    Io(u64),
}

/// What the tasks of a program do.
pub trait Work: Sync {
    /// Pure computation on `input`; touches no shared state.
    fn compute(&self, input: u64) -> u64;
    /// Waits, as for a disk or a network, then returns a value.
    fn io(&self, input: u64) -> u64;
}

/// Work that burns `compute_rounds` rounds of an integer hash, or sleeps for `io_latency`.
#[derive(Debug, Clone, Copy)]
pub struct Simulated {
    pub compute_rounds: u64,
    pub io_latency: Duration,
}

impl Work for Simulated {
    fn compute(&self, input: u64) -> u64 {
        let mut state = input | 1;
        for _ in 0..self.compute_rounds {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
        }
        state
    }

    fn io(&self, input: u64) -> u64 {
        sync::thread::sleep(self.io_latency);
        input.rotate_left(17)
    }
}

/// How many tasks ran, and the wrapping sum of their results (which does not depend on the
/// order the tasks ran in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    pub tasks: u64,
    pub checksum: u64,
}

/// The interpreter's shared state, behind one lock: the global interpreter lock.
#[derive(Debug, Default)]
pub struct Interpreter {
    gil: Mutex<Summary>,
}

impl Interpreter {
    pub fn new() -> Self {
        Interpreter::default()
    }

    /// What every task that ran so far adds up to.
    pub fn summary(&self) -> Summary {
        *self.gil.lock().unwrap()
    }

    // ANCHOR: run_task_under_the_gil
    /// Runs one task and merges its result into the summary.
    pub fn run_task<W: Work + ?Sized>(&self, task: Task, work: &W) {
        // Like CPython, take the global lock to run "bytecode"...
        let mut state = self.gil.lock().unwrap();
        let result = match task {
            // TODO: the computation runs while this thread holds the lock, so every other
            // thread waits for it, and more threads make nothing faster. `compute` touches no
            // shared state: run it before taking the lock, and hold the lock only to merge.
            Task::Compute(input) => work.compute(input),
            // ...and, like CPython, release it while waiting for I/O, so waits overlap.
            Task::Io(input) => {
                drop(state);
                let result = work.io(input);
                state = self.gil.lock().unwrap();
                result
            }
        };
        state.tasks += 1;
        state.checksum = state.checksum.wrapping_add(result);
    }
    // ANCHOR_END: run_task_under_the_gil
}

/// Starts `threads` threads that take the next task nobody has taken until none are left, and
/// runs each task exactly once through one shared [`Interpreter`]. Returns its summary. Panics
/// when `threads` is 0. This function is complete.
pub fn run_program<W: Work + ?Sized>(threads: usize, tasks: &[Task], work: &W) -> Summary {
    assert!(
        threads > 0,
        "run_program needs at least 1 thread to run anything"
    );
    let interpreter = Interpreter::new();
    let next_task = AtomicUsize::new(0);
    sync::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while let Some(task) = tasks.get(next_task.fetch_add(1, Ordering::Relaxed)) {
                    interpreter.run_task(*task, work);
                }
            });
        }
    });
    interpreter.summary()
}
