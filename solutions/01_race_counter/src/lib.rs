//! Reference solution of exercise 01: a race-prone counter.

mod sync;

use sync::atomic::{AtomicU64, Ordering};

// ANCHOR: run_concurrently
/// Runs `f(0)`, `f(1)`, ..., `f(threads - 1)`, each on a thread of its own, all at the same
/// time, and returns once every one has finished. If any call panics, this panics too.
pub fn run_concurrently<F: Fn(usize) + Sync>(threads: usize, f: F) {
    let f = &f;
    // A scope may borrow `f` because it joins every thread it spawned before it returns, and
    // it re-raises a panic from any of them.
    sync::thread::scope(|scope| {
        for index in 0..threads {
            scope.spawn(move || f(index));
        }
    });
}
// ANCHOR_END: run_concurrently

/// A counter that many threads may increment at once.
#[derive(Debug)]
pub struct Counter {
    value: AtomicU64,
}

// ANCHOR: counter
impl Counter {
    pub fn new() -> Self {
        Counter {
            value: AtomicU64::new(0),
        }
    }

    /// Adds one. `fetch_add` reads, adds and writes as one indivisible step, so no other
    /// thread can slip in between. `Relaxed` suffices: the count orders no other memory.
    pub fn increment(&self) {
        self.value.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n`, just as indivisibly.
    pub fn add(&self, n: u64) {
        self.value.fetch_add(n, Ordering::Relaxed);
    }

    /// The current count.
    pub fn get(&self) -> u64 {
        self.value.load(Ordering::Relaxed)
    }
}
// ANCHOR_END: counter

impl Default for Counter {
    fn default() -> Self {
        Counter::new()
    }
}

/// Has `threads` threads increment one shared [`Counter`] `per_thread` times each, through
/// [`run_concurrently`], and returns the final count.
pub fn count_concurrently(threads: usize, per_thread: u64) -> u64 {
    let counter = Counter::new();
    run_concurrently(threads, |_| {
        for _ in 0..per_thread {
            counter.increment();
        }
    });
    counter.get()
}
