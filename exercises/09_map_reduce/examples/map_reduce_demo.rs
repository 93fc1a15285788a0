//! Measures the granularity curve: counting the same words with batches of 1 to 262 144 items,
//! on one thread and on every core.
//!
//! Run it with `cargo run --release -p map_reduce --example map_reduce_demo`. With the stub every row is
//! slow, since it ignores the batch size. Once `count_by_key` batches, tiny batches are still
//! slow (handing out tasks dominates), huge ones leave cores idle, and a wide middle is fast.

use std::time::{Duration, Instant};

const WORDS: usize = 2_000_000;

/// The fastest of three runs: noise only ever makes a run slower.
fn fastest(run: impl Fn() -> Duration) -> Duration {
    (0..3).map(|_| run()).min().expect("three runs")
}

fn main() {
    let text = map_reduce::generate_corpus(WORDS, 2024);
    let words: Vec<&str> = text.split(' ').collect();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a rayon pool of 1 thread");
    let all_cores = rayon::ThreadPoolBuilder::new()
        .num_threads(cores)
        .build()
        .expect("a rayon pool of every core");
    let time_on = |pool: &rayon::ThreadPool, batch_size: usize| {
        fastest(|| {
            let started = Instant::now();
            let counts =
                pool.install(|| map_reduce::count_by_key(&words, batch_size, |word| *word));
            assert_eq!(counts.values().sum::<u64>(), WORDS as u64);
            started.elapsed()
        })
    };
    println!("{WORDS} words; batch size, then time on 1 thread and on {cores} threads");
    for batch_size in [1, 16, 256, 4_096, 65_536, 262_144] {
        let serial = time_on(&one_thread, batch_size);
        let parallel = time_on(&all_cores, batch_size);
        println!(
            "{batch_size:>8}: {:>6} ms on 1 thread, {:>6} ms on {cores} ({:.2}×)",
            serial.as_millis(),
            parallel.as_millis(),
            serial.as_secs_f64() / parallel.as_secs_f64()
        );
    }
}
