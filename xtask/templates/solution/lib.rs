//! Reference solution of exercise @NN@: @title@.

mod sync;

use sync::atomic::{AtomicU64, Ordering};

// ANCHOR: count_on_threads
/// Starts `threads` threads from `crate::sync`, each adding one to a shared count, and returns
/// the count once all have finished.
pub fn count_on_threads(threads: usize) -> u64 {
    let count = AtomicU64::new(0);
    // The scope joins every thread before it returns, so the threads may borrow `count`.
    sync::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| count.fetch_add(1, Ordering::Relaxed));
        }
    });
    count.load(Ordering::Relaxed)
}
// ANCHOR_END: count_on_threads
