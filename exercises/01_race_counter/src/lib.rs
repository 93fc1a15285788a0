//! # Exercise 01: a race-prone counter
//!
//! Several threads add to one shared counter. The counter below reads the value, adds one, and
//! writes it back: three steps. When two threads both read 41 before either writes, both write
//! 42, and one increment is lost. Nothing crashes; the count is just wrong, and differently
//! wrong on every run. That is a *race condition*.
//!
//! Your tasks, marked `TODO`:
//!
//! 1. Write [`run_concurrently`] so that every call `f(i)` runs on a thread of its own, all
//!    at the same time.
//! 2. Make [`Counter`] lose nothing, however many threads use it.
//!
//! Use threads and atomics from `crate::sync` (for example `sync::thread::scope` and
//! `sync::atomic::AtomicU64`), never `std::thread` or `std::sync` directly: the grader swaps
//! `crate::sync` for a model checker that tries thousands of interleavings, which finds a lost
//! update on every run instead of once in a while.
//!
//! Check your work with `cargo xtask check 01`; see the bug live with
//! `cargo run -p race_counter --example race_counter_demo`.

mod sync;

use sync::atomic::{AtomicU64, Ordering};

/// Runs `f(0)`, `f(1)`, ..., `f(threads - 1)`, each on a thread of its own, all at the same
/// time, and returns once every one has finished. If any call panics, this panics too.
///
/// `f` is borrowed, not moved, so the threads must end before this function returns.
pub fn run_concurrently<F: Fn(usize) + Sync>(threads: usize, f: F) {
    // TODO: start one thread per index with `sync::thread::scope`, and let the scope wait for
    // them. Start them *all* before waiting for any: a thread joined right after it was
    // spawned never overlaps with the next one.
    let _ = (threads, f);
    todo!("run f(0)..f(threads - 1) on threads of their own, all at once")
}

/// A counter that many threads may increment at once.
#[derive(Debug)]
pub struct Counter {
    value: AtomicU64,
}

impl Counter {
    pub fn new() -> Self {
        Counter {
            value: AtomicU64::new(0),
        }
    }

    // ANCHOR: racy_increment
    /// Adds one.
    pub fn increment(&self) {
        // TODO: another thread can run between this load and this store, and then one of the
        // two increments is lost. Make read-add-write a single indivisible step.
        let current = self.value.load(Ordering::SeqCst);
        self.value.store(current + 1, Ordering::SeqCst);
    }
    // ANCHOR_END: racy_increment

    /// Adds `n`.
    pub fn add(&self, n: u64) {
        // TODO: the same race as in `increment`.
        let current = self.value.load(Ordering::SeqCst);
        self.value.store(current + n, Ordering::SeqCst);
    }

    /// The current count.
    pub fn get(&self) -> u64 {
        self.value.load(Ordering::Relaxed)
    }
}

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
