//! The CPU-bound task every measurement uses.

use std::hint::black_box;
use std::time::{Duration, Instant};

// ANCHOR: cpu_task
/// Sums `i * i` for `i` in `0..n`: the seeds' `cpu_task`, pure computation and no I/O.
///
/// `black_box` stops the optimiser from replacing the loop with a closed formula, so the time
/// grows with `n` as it does in Python.
pub fn cpu_task(n: u64) -> u64 {
    let mut sum = 0u64;
    for i in 0..n {
        sum = sum.wrapping_add(black_box(i).wrapping_mul(i));
    }
    sum
}
// ANCHOR_END: cpu_task

/// How many iterations of [`cpu_task`] take about `target` on this machine, measured now.
///
/// The figures size their work with this so that a run lasts long enough to measure on a fast
/// machine and not too long on a slow one.
pub fn iterations_for(target: Duration) -> u64 {
    let mut iterations = 100_000u64;
    loop {
        let start = Instant::now();
        black_box(cpu_task(iterations));
        let elapsed = start.elapsed();
        if elapsed >= Duration::from_millis(20) {
            let per_iteration = elapsed.as_secs_f64() / iterations as f64;
            return ((target.as_secs_f64() / per_iteration) as u64).max(1);
        }
        iterations *= 4;
    }
}
