//! # Exercise 10: false sharing
//!
//! Every thread below increments a counter of its own, so nothing is shared and there is no
//! race. Yet two threads are no faster than one, often slower: the counters sit side by side,
//! eight bytes apart, in the same 64-byte cache line, and a core must own a whole line to write
//! to any byte of it. The line travels from core to core on every increment. That is *false
//! sharing*: the program shares nothing, the hardware shares everything.
//!
//! Your task, marked `TODO`: give every slot a cache line of its own, for example with
//! `crossbeam_utils::CachePadded`, without changing the public API.
//!
//! This exercise uses `std::thread` directly: there is no race to model-check, only a memory
//! layout to measure. Check your work with `cargo xtask check 10`; see the cost live with
//! `cargo run --release -p false_sharing --example false_sharing_demo`.

use std::sync::atomic::{AtomicU64, Ordering};

// ANCHOR: adjacent
/// One counter per thread.
#[derive(Debug)]
pub struct PerThreadCounters {
    // TODO: these counters are 8 bytes apart, so eight of them share one cache line. Wrap each
    // slot in `crossbeam_utils::CachePadded` so that every slot has a line of its own.
    slots: Vec<AtomicU64>,
}
// ANCHOR_END: adjacent

impl PerThreadCounters {
    /// `slots` counters, all 0.
    pub fn new(slots: usize) -> Self {
        PerThreadCounters {
            slots: (0..slots).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The counter of thread `index`. Panics when `index` is out of range.
    pub fn slot(&self, index: usize) -> &AtomicU64 {
        &self.slots[index]
    }

    /// The sum of every slot.
    pub fn total(&self) -> u64 {
        self.slots
            .iter()
            .map(|slot| slot.load(Ordering::Relaxed))
            .sum()
    }
}

/// Starts one thread per slot, all at once; thread `i` adds 1 to slot `i`, `per_thread` times,
/// one `fetch_add` at a time. Returns once every thread has finished.
pub fn count_per_thread(counters: &PerThreadCounters, per_thread: u64) {
    std::thread::scope(|scope| {
        for index in 0..counters.len() {
            scope.spawn(move || {
                let slot = counters.slot(index);
                for _ in 0..per_thread {
                    // Relaxed: each slot has one writer, and the count orders no other memory.
                    slot.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
}
