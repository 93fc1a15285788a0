//! Reference solution of exercise 10: false sharing.

use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_utils::CachePadded;

// ANCHOR: padded
/// One counter per thread, each on a cache line of its own.
#[derive(Debug)]
pub struct PerThreadCounters {
    // `CachePadded` aligns and pads each counter to a whole line (128 bytes on x86-64, where
    // the processor fetches lines in adjacent pairs), so a write to one slot never takes a line
    // away from the core that writes the next.
    slots: Vec<CachePadded<AtomicU64>>,
}
// ANCHOR_END: padded

impl PerThreadCounters {
    /// `slots` counters, all 0.
    pub fn new(slots: usize) -> Self {
        PerThreadCounters {
            slots: (0..slots)
                .map(|_| CachePadded::new(AtomicU64::new(0)))
                .collect(),
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
