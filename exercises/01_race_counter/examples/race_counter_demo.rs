//! Shows lost updates live: four threads increment your `Counter` 100 000 times each.
//!
//! Run it with `cargo run -p race_counter --example race_counter_demo`. With the stub's counter the total
//! falls short, by a different amount each run; once `increment` is fixed, nothing is lost.

use race_counter::Counter;

const THREADS: u64 = 4;
const PER_THREAD: u64 = 100_000;

fn main() {
    let expected = THREADS * PER_THREAD;
    for run in 1..=5 {
        let counter = Counter::new();
        // The demo uses std's scoped threads directly so that it works before
        // `run_concurrently` is written.
        std::thread::scope(|scope| {
            for _ in 0..THREADS {
                scope.spawn(|| {
                    for _ in 0..PER_THREAD {
                        counter.increment();
                    }
                });
            }
        });
        let got = counter.get();
        println!(
            "run {run}: expected {expected}, got {got}: {} increments lost",
            expected - got.min(expected)
        );
    }
}
