//! Shows lost updates live, on any machine.
//!
//! Run it with `cargo run -p race_counter --example race_counter_demo`.
//!
//! 1. Slow motion: a copy of the stub's `increment` (load, then store) with one change, a
//!    `yield_now()` between the load and the store. Yielding hands the processor to another
//!    thread at exactly the worst moment, so the gap that is a few nanoseconds wide in the stub
//!    is hit on every run, on 1 core or 16. Several threads read the same value, all write
//!    back value + 1, and all but one of those increments vanish.
//! 2. Your `Counter` at full speed, from many threads: with the stub it falls short on most
//!    runs on a multi-core machine, by a different amount each time; on one core the gap is
//!    rarely hit, which is exactly why a race can hide for months. Once `increment` is fixed,
//!    nothing is lost here, and part 1 keeps losing because it keeps the bug on purpose.

use std::sync::atomic::{AtomicU64, Ordering};

use race_counter::Counter;

const RUNS: u32 = 3;

/// The stub's `increment`, with the gap between load and store held open by a yield.
fn slow_motion_increment(value: &AtomicU64) {
    let current = value.load(Ordering::SeqCst);
    std::thread::yield_now();
    value.store(current + 1, Ordering::SeqCst);
}

/// Runs `threads` threads that call `increment` `per_thread` times each, all at once, and
/// returns how many increments that makes.
fn increment_concurrently(threads: u64, per_thread: u64, increment: impl Fn() + Sync) -> u64 {
    let barrier = std::sync::Barrier::new(threads as usize);
    // The demo uses std's scoped threads directly so that it works before
    // `run_concurrently` is written.
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                // Start together, so the threads overlap even where spawning is slow.
                barrier.wait();
                for _ in 0..per_thread {
                    increment();
                }
            });
        }
    });
    threads * per_thread
}

fn report(run: u32, expected: u64, got: u64) {
    let lost = expected.saturating_sub(got);
    let verdict = if lost == 0 {
        "nothing lost".to_owned()
    } else {
        format!("{lost} increments lost")
    };
    println!("  run {run}: expected {expected}, got {got}: {verdict}");
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("This machine lets {cores} thread(s) run at once.\n");

    const SLOW_THREADS: u64 = 4;
    const SLOW_PER_THREAD: u64 = 5_000;
    println!(
        "1. The stub's increment in slow motion (a yield_now() between load and store), \
         {SLOW_THREADS} threads x {SLOW_PER_THREAD}:"
    );
    for run in 1..=RUNS {
        let value = AtomicU64::new(0);
        let expected = increment_concurrently(SLOW_THREADS, SLOW_PER_THREAD, || {
            slow_motion_increment(&value)
        });
        report(run, expected, value.load(Ordering::SeqCst));
    }

    const THREADS: u64 = 8;
    const PER_THREAD: u64 = 200_000;
    println!("\n2. Your Counter::increment at full speed, {THREADS} threads x {PER_THREAD}:");
    for run in 1..=RUNS {
        let counter = Counter::new();
        let expected = increment_concurrently(THREADS, PER_THREAD, || counter.increment());
        report(run, expected, counter.get());
    }
}
