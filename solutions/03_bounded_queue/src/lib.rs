//! Reference solution of exercise 03: a bounded producer/consumer queue.

mod sync;

use std::collections::VecDeque;

use sync::{Condvar, Mutex, MutexGuard};

/// The item a `push` could not deliver because the queue was closed, handed back to the caller.
#[derive(Debug, PartialEq, Eq)]
pub struct Closed<T>(pub T);

/// What the lock protects: the items, and whether the queue was closed. Both live under one
/// mutex because every wait condition reads both.
#[derive(Debug)]
struct State<T> {
    items: VecDeque<T>,
    closed: bool,
}

// ANCHOR: queue
/// A first-in first-out queue of at most `capacity` items that many threads share.
#[derive(Debug)]
pub struct BoundedQueue<T> {
    state: Mutex<State<T>>,
    /// Signalled when an item arrives or the queue closes: consumers wait on it.
    not_empty: Condvar,
    /// Signalled when an item leaves or the queue closes: producers wait on it.
    not_full: Condvar,
    capacity: usize,
}

impl<T> BoundedQueue<T> {
    /// An empty queue that holds at most `capacity` items. Panics when `capacity` is 0, since
    /// such a queue could never accept an item.
    pub fn new(capacity: usize) -> Self {
        assert!(
            capacity > 0,
            "a BoundedQueue needs a capacity of at least 1"
        );
        BoundedQueue {
            state: Mutex::new(State {
                items: VecDeque::with_capacity(capacity),
                closed: false,
            }),
            not_empty: Condvar::new(),
            not_full: Condvar::new(),
            capacity,
        }
    }

    fn locked(&self) -> MutexGuard<'_, State<T>> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn len(&self) -> usize {
        self.locked().items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.locked().items.is_empty()
    }
    // ANCHOR_END: queue

    // ANCHOR: push_pop
    /// Appends `item`, waiting while the queue is full. After [`close`](Self::close), hands the
    /// item back as `Err(Closed(item))`.
    pub fn push(&self, item: T) -> Result<(), Closed<T>> {
        let mut state = self.locked();
        // `while`, not `if`: a woken producer must look again, because another producer may
        // have filled the free slot first, or the wake-up may be spurious.
        while state.items.len() >= self.capacity && !state.closed {
            state = self
                .not_full
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        if state.closed {
            return Err(Closed(item));
        }
        state.items.push_back(item);
        drop(state);
        self.not_empty.notify_one();
        Ok(())
    }

    /// Takes the oldest item, waiting while the queue is empty and open. After
    /// [`close`](Self::close), returns what is left and then `None`.
    pub fn pop(&self) -> Option<T> {
        let mut state = self.locked();
        while state.items.is_empty() && !state.closed {
            state = self
                .not_empty
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        let item = state.items.pop_front();
        drop(state);
        if item.is_some() {
            self.not_full.notify_one();
        }
        item
    }
    // ANCHOR_END: push_pop

    // ANCHOR: close
    /// Closes the queue: every later `push` hands its item back, and `pop` returns `None` once
    /// the queue is empty. Wakes *every* waiting thread, since all of them must see the change.
    pub fn close(&self) {
        self.locked().closed = true;
        self.not_empty.notify_all();
        self.not_full.notify_all();
    }
    // ANCHOR_END: close
}
