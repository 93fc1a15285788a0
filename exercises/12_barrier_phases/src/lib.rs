//! # Exercise 12: phases behind a barrier
//!
//! Many simulations move in steps: every cell's next value depends on its neighbours' values
//! from the step before. Split the cells over threads, and each thread can compute its own
//! chunk, but a cell at the edge of a chunk needs a neighbour that *another* thread computes.
//! If that thread is a step behind (or ahead), the value read is from the wrong step, and the
//! result quietly differs from the serial one.
//!
//! [`simulate_parallel`] below starts its workers correctly but lets each race through all the
//! steps on its own. Your task, marked `TODO`: make every worker wait, after each step, until
//! all workers have finished that step, with a `sync::Barrier`. Then the parallel result equals
//! [`simulate_serial`]'s exactly.
//!
//! Use threads, barriers and atomics from `crate::sync`, never `std::thread` or `std::sync`
//! directly: the grader swaps `crate::sync` for a model checker that tries thousands of
//! schedules, and finds a worker running ahead on every run instead of once in a while.
//!
//! Check your work with `cargo xtask check 12`; see the wrong results live with
//! `cargo run -p barrier_phases --example barrier_phases_demo`.

mod sync;

use sync::atomic::{AtomicU64, Ordering};

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

// ANCHOR: racing_workers
/// The same cells as [`simulate_serial`], computed by `threads` workers that each own a
/// contiguous chunk of cells. `threads` must be at least 1, and may exceed the number of cells.
pub fn simulate_parallel<R: Fn(u64, u64, u64) -> u64 + Sync>(
    initial: &[u64],
    steps: usize,
    threads: usize,
    rule: R,
) -> Vec<u64> {
    assert!(threads > 0, "simulate_parallel needs at least one thread");
    let len = initial.len();
    // Two generations: step k reads generations[k % 2] and writes generations[(k + 1) % 2].
    let generations: [Vec<AtomicU64>; 2] = [
        initial.iter().map(|&value| AtomicU64::new(value)).collect(),
        (0..len).map(|_| AtomicU64::new(0)).collect(),
    ];
    let chunk = len.div_ceil(threads);
    // TODO: create one `sync::Barrier` for all `threads` workers here, and share it with
    // them as `generations` and `rule` are shared.
    let (generations, rule) = (&generations, &rule);
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
                        let value = rule(
                            current[left].load(Ordering::Relaxed),
                            current[index].load(Ordering::Relaxed),
                            current[right].load(Ordering::Relaxed),
                        );
                        next[index].store(value, Ordering::Relaxed);
                    }
                    // TODO: this worker may now start the next step while its neighbour is
                    // still on this one, and read a cell of `next` the neighbour has not
                    // written yet. Wait here until every worker has finished this step,
                    // including workers whose chunk is empty.
                }
            });
        }
    });
    generations[steps % 2]
        .iter()
        .map(|cell| cell.load(Ordering::Relaxed))
        .collect()
}
// ANCHOR_END: racing_workers
