//! Reference solution of exercise 12: phases behind a barrier.

mod sync;

use sync::atomic::{AtomicU64, Ordering};
use sync::Barrier;

/// The course's rule: a cell becomes `(left + 2 × center + right) mod 1000`, a blur that keeps
/// numbers short enough to read in a failure message.
pub fn diffuse(left: u64, center: u64, right: u64) -> u64 {
    (left % 1000 + 2 * (center % 1000) + right % 1000) % 1000
}

/// The positions of the left and right neighbours of cell `index` on a ring of `len` cells.
fn neighbours(len: usize, index: usize) -> (usize, usize) {
    ((index + len - 1) % len, (index + 1) % len)
}

/// The cells after `steps` steps of `rule`, computed on the calling thread: the reference the
/// parallel version must match exactly.
pub fn simulate_serial<R: Fn(u64, u64, u64) -> u64>(
    initial: &[u64],
    steps: usize,
    rule: R,
) -> Vec<u64> {
    let mut cells = initial.to_vec();
    let mut next = cells.clone();
    for _ in 0..steps {
        for (index, new_value) in next.iter_mut().enumerate() {
            let (left, right) = neighbours(cells.len(), index);
            *new_value = rule(cells[left], cells[index], cells[right]);
        }
        std::mem::swap(&mut cells, &mut next);
    }
    cells
}

// ANCHOR: simulate_parallel
/// The same cells as [`simulate_serial`], computed by `threads` workers that each own a
/// contiguous chunk of cells and meet at a barrier after every step.
pub fn simulate_parallel<R: Fn(u64, u64, u64) -> u64 + Sync>(
    initial: &[u64],
    steps: usize,
    threads: usize,
    rule: R,
) -> Vec<u64> {
    assert!(threads > 0, "simulate_parallel needs at least one thread");
    let len = initial.len();
    // Two generations: step k reads generations[k % 2] and writes generations[(k + 1) % 2].
    // Nobody writes what anyone reads in the same step, so one barrier per step suffices.
    let generations: [Vec<AtomicU64>; 2] = [
        initial.iter().map(|&value| AtomicU64::new(value)).collect(),
        (0..len).map(|_| AtomicU64::new(0)).collect(),
    ];
    let chunk = len.div_ceil(threads);
    // Every worker waits at every step, even one whose chunk is empty: the barrier opens only
    // when all `threads` parties have arrived.
    let barrier = Barrier::new(threads);
    let (generations, barrier, rule) = (&generations, &barrier, &rule);
    sync::thread::scope(|scope| {
        for worker in 0..threads {
            let start = (worker * chunk).min(len);
            let end = (start + chunk).min(len);
            scope.spawn(move || {
                for step in 0..steps {
                    let current = &generations[step % 2];
                    let next = &generations[(step + 1) % 2];
                    for index in start..end {
                        let (left, right) = neighbours(len, index);
                        // Relaxed is enough: the barrier orders every write of step k before
                        // every read of step k + 1.
                        let value = rule(
                            current[left].load(Ordering::Relaxed),
                            current[index].load(Ordering::Relaxed),
                            current[right].load(Ordering::Relaxed),
                        );
                        next[index].store(value, Ordering::Relaxed);
                    }
                    // No worker reads step k's results (or overwrites what step k read) until
                    // every worker has finished step k.
                    barrier.wait();
                }
            });
        }
    });
    generations[steps % 2]
        .iter()
        .map(|cell| cell.load(Ordering::Relaxed))
        .collect()
}
// ANCHOR_END: simulate_parallel
