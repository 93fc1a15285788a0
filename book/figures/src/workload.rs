//! The CPU-bound task every measurement uses.

use std::hint::black_box;
use std::time::{Duration, Instant};

// ANCHOR: cpu_task
/// Sums `i * i` for `i` in `0..n`: the lecture notes' `cpu_task`, pure computation and no I/O.
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
/// machine and not too long on a slow one. The size grows until one run takes 20 ms; then the
/// fastest of five runs at that size sets the rate, because a single run that the scheduler
/// preempted would make the machine look many times slower than it is.
pub fn iterations_for(target: Duration) -> u64 {
    let time = |iterations| {
        let start = Instant::now();
        black_box(cpu_task(iterations));
        start.elapsed()
    };
    let mut iterations = 100_000u64;
    while time(iterations) < Duration::from_millis(20) {
        iterations *= 2;
    }
    let fastest = (0..5).map(|_| time(iterations)).min().expect("five runs");
    let per_iteration = fastest.as_secs_f64() / iterations as f64;
    ((target.as_secs_f64() / per_iteration) as u64).max(1)
}

/// Measures every one of `variants` once per round, for `rounds` rounds, and keeps each
/// variant's fastest time.
///
/// On a shared machine other programs come and go. Measuring one variant's runs back to back
/// would let a burst of other work slow all of them, and only them; interleaving gives every
/// variant the same chance of a quiet moment, and the fastest run is the one least disturbed.
pub fn fastest_interleaved<E>(
    variants: usize,
    rounds: usize,
    mut measure: impl FnMut(usize) -> Result<Duration, E>,
) -> Result<Vec<Duration>, E> {
    let mut fastest = vec![Duration::MAX; variants];
    for _ in 0..rounds.max(1) {
        for (variant, best) in fastest.iter_mut().enumerate() {
            *best = (*best).min(measure(variant)?);
        }
    }
    Ok(fastest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fastest_interleaved_alternates_variants_and_keeps_each_minimum() {
        let mut order = Vec::new();
        let times = [[5, 3], [2, 7]];
        let mut round = [0usize; 2];
        let fastest = fastest_interleaved(2, 2, |variant| {
            order.push(variant);
            let millis = times[round[variant]][variant];
            round[variant] += 1;
            Ok::<_, ()>(Duration::from_millis(millis))
        })
        .unwrap();
        assert_eq!(
            order,
            [0, 1, 0, 1],
            "each round measures every variant once"
        );
        assert_eq!(
            fastest,
            [Duration::from_millis(2), Duration::from_millis(3)],
            "each variant keeps its own fastest run"
        );
    }
}
