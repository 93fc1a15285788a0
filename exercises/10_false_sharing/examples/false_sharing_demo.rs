//! Shows false sharing live: the same increments on 1, 2 and 4 threads, over your counters and
//! over a padded copy.
//!
//! Run it with `cargo run --release -p false_sharing --example false_sharing_demo`. With the stub's adjacent
//! counters more threads are no faster, often slower; padded counters get faster with every
//! core the machine really has.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;
use false_sharing::PerThreadCounters;

const INCREMENTS: u64 = 40_000_000;

/// The fastest of three runs: noise only ever makes a run slower.
fn fastest(run: impl Fn() -> Duration) -> Duration {
    (0..3).map(|_| run()).min().expect("three runs")
}

fn main() {
    println!("{INCREMENTS} increments in total, split over the threads");
    for threads in [1, 2, 4] {
        let per_thread = INCREMENTS / threads as u64;
        let yours = fastest(|| {
            let counters = PerThreadCounters::new(threads);
            let started = Instant::now();
            false_sharing::count_per_thread(&counters, per_thread);
            started.elapsed()
        });
        let padded = fastest(|| {
            let counters: Vec<CachePadded<AtomicU64>> = (0..threads)
                .map(|_| CachePadded::new(AtomicU64::new(0)))
                .collect();
            let started = Instant::now();
            std::thread::scope(|scope| {
                for counter in &counters {
                    scope.spawn(move || {
                        for _ in 0..per_thread {
                            counter.fetch_add(1, Ordering::Relaxed);
                        }
                    });
                }
            });
            started.elapsed()
        });
        println!(
            "{threads} thread(s): your counters {:>5} ms, padded counters {:>5} ms",
            yours.as_millis(),
            padded.as_millis()
        );
    }
}
