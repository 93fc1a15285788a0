//! Counters side by side in one cache line, against the same counters padded apart.

use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use crate::workload::fastest_interleaved;

/// The most threads the comparison runs; each has its own counter.
pub const MAX_THREADS: usize = 8;

// ANCHOR: layouts
/// Eight counters in 64 bytes: on most processors they share one cache line, so a write to
/// any of them takes the whole line away from every other core.
#[derive(Default)]
#[repr(align(64))]
pub struct AdjacentCounters([AtomicU64; MAX_THREADS]);

/// The same counters, each padded and aligned to its own cache line (128 bytes on x86-64,
/// where the prefetcher pulls lines in pairs).
#[derive(Default)]
pub struct PaddedCounters([CachePadded<AtomicU64>; MAX_THREADS]);
// ANCHOR_END: layouts

/// Runs `threads` threads, each adding 1 to its own counter `increments` times, and returns how
/// long the slowest one took and the counters' final sum.
fn hammer<'counters>(
    threads: usize,
    increments: u64,
    counter: impl Fn(usize) -> &'counters AtomicU64 + Sync,
) -> (Duration, u64) {
    assert!(
        threads <= MAX_THREADS,
        "at most {MAX_THREADS} threads, asked for {threads}"
    );
    let start = Instant::now();
    thread::scope(|scope| {
        for thread in 0..threads {
            let counter = counter(thread);
            scope.spawn(move || {
                for _ in 0..increments {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    let elapsed = start.elapsed();
    let sum = (0..threads)
        .map(|thread| counter(thread).load(Ordering::Relaxed))
        .sum();
    (elapsed, sum)
}

/// One measurement of both layouts with the same thread count.
#[derive(Debug, Clone, Copy)]
pub struct Comparison {
    pub threads: usize,
    pub adjacent: Duration,
    pub padded: Duration,
}

/// Measures both layouts for every thread count in `1..=max_threads`, interleaved, each the
/// fastest of `repeats`.
pub fn compare(max_threads: usize, increments: u64, repeats: usize) -> Vec<Comparison> {
    (1..=max_threads.min(MAX_THREADS))
        .map(|threads| {
            let fastest = fastest_interleaved(2, repeats, |layout| {
                let run = if layout == 0 {
                    run_adjacent
                } else {
                    run_padded
                };
                Ok::<_, std::convert::Infallible>(run(threads, increments).0)
            })
            .unwrap_or_else(|never| match never {});
            Comparison {
                threads,
                adjacent: fastest[0],
                padded: fastest[1],
            }
        })
        .collect()
}

/// Runs the adjacent layout once; returns the time and the counters' sum.
pub fn run_adjacent(threads: usize, increments: u64) -> (Duration, u64) {
    let counters = AdjacentCounters::default();
    hammer(threads, increments, |thread| &counters.0[thread])
}

/// Runs the padded layout once; returns the time and the counters' sum.
pub fn run_padded(threads: usize, increments: u64) -> (Duration, u64) {
    let counters = PaddedCounters::default();
    hammer(threads, increments, |thread| &counters.0[thread])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_layouts_count_every_increment() {
        for threads in [1, 2, MAX_THREADS] {
            assert_eq!(run_adjacent(threads, 1_000).1, threads as u64 * 1_000);
            assert_eq!(run_padded(threads, 1_000).1, threads as u64 * 1_000);
        }
    }

    #[test]
    fn padding_puts_every_counter_on_its_own_cache_line() {
        let padded = PaddedCounters::default();
        let first = &padded.0[0] as *const _ as usize;
        let second = &padded.0[1] as *const _ as usize;
        assert!(
            second - first >= 64,
            "padded counters are {} bytes apart; a cache line is 64 bytes",
            second - first
        );
        let adjacent = AdjacentCounters::default();
        assert_eq!(
            std::mem::size_of_val(&adjacent),
            64,
            "the unpadded counters should fit in one 64-byte line"
        );
    }
}
