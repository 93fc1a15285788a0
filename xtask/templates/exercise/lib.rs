//! # Exercise @NN@: @title@
//!
//! Say here what goes wrong and why, in the words of the book chapter.
//!
//! Your task, marked `TODO`: make [`count_on_threads`] count one for every thread it starts.
//!
//! Check your work with `cargo xtask check @NN@`; see it run with
//! `cargo run -p @name@ --example @name@_demo`.

mod sync;

use sync::atomic::{AtomicU64, Ordering};

// ANCHOR: count_on_threads
/// Starts `threads` threads from `crate::sync`, each adding one to a shared count, and returns
/// the count once all have finished.
pub fn count_on_threads(threads: usize) -> u64 {
    // TODO: no thread is started, so nothing is counted. Start `threads` threads in one
    // `sync::thread::scope`, each adding one to `count`.
    let count = AtomicU64::new(0);
    let _ = threads;
    count.load(Ordering::Relaxed)
}
// ANCHOR_END: count_on_threads
