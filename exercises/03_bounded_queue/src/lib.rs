//! # Exercise 03: a bounded queue for producers and consumers
//!
//! Producers put work into a queue and consumers take it out, each at their own pace. A
//! *bounded* queue holds at most `capacity` items, so a fast producer waits for the consumers
//! instead of filling memory: that is *back-pressure*. Python's `queue.Queue(maxsize=n)` is
//! such a queue; here you build one from a `Mutex` and two `Condvar`s.
//!
//! A thread that cannot go on (the queue is full, or empty) must *sleep* until another thread
//! changes the state, not spin in a loop asking again and again. That is what a condition
//! variable is for: `Condvar::wait(guard)` releases the lock, sleeps, and takes the lock back
//! when another thread calls `notify_one` or `notify_all`.
//!
//! The contract:
//!
//! - `push` appends an item, and waits while the queue is full. Once the queue is closed it
//!   hands the item back as `Err(Closed(item))`.
//! - `pop` takes the oldest item, and waits while the queue is empty and open. Once the queue is
//!   closed it returns what is left, then `None`.
//! - `close` wakes every waiting producer and consumer.
//! - Every item pushed is popped exactly once, in first-in first-out order, and no thread ever
//!   busy-waits.
//!
//! Your tasks, marked `TODO`: add the condition variables to the struct and write `push`, `pop`
//! and `close`. Use `Mutex` and `Condvar` from `crate::sync`, never from `std::sync`: the grader
//! swaps them for a model checker that finds a lost wake-up on every run.
//!
//! Check your work with `cargo xtask check 03`; watch producers and consumers with
//! `cargo run -p bounded_queue --example bounded_queue_demo`.

mod sync;

use std::collections::VecDeque;

use sync::{Mutex, MutexGuard};

/// The item a `push` could not deliver because the queue was closed, handed back to the caller.
#[derive(Debug, PartialEq, Eq)]
pub struct Closed<T>(pub T);

/// A first-in first-out queue of at most `capacity` items that many threads share.
#[derive(Debug)]
pub struct BoundedQueue<T> {
    // TODO: the queue also needs a "closed" flag. Every wait condition reads both the items
    // and the flag, so put both under this one lock (a small private struct works well).
    items: Mutex<VecDeque<T>>,
    // TODO: threads that wait for "not full" and threads that wait for "not empty" wait for
    // different things. Add the `sync::Condvar`s they sleep on.
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
            items: Mutex::new(VecDeque::with_capacity(capacity)),
            capacity,
        }
    }

    fn locked(&self) -> MutexGuard<'_, VecDeque<T>> {
        self.items.lock().unwrap()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn len(&self) -> usize {
        self.locked().len()
    }

    pub fn is_empty(&self) -> bool {
        self.locked().is_empty()
    }

    /// Appends `item`, waiting while the queue is full. After [`close`](Self::close), hands the
    /// item back as `Err(Closed(item))`.
    pub fn push(&self, item: T) -> Result<(), Closed<T>> {
        // TODO: wait (on a Condvar, in a loop) while the queue is full and open; hand the item
        // back if it is closed; otherwise append it and wake a consumer.
        let _ = item;
        todo!("push: wait while full, append, wake a consumer")
    }

    /// Takes the oldest item, waiting while the queue is empty and open. After
    /// [`close`](Self::close), returns what is left and then `None`.
    pub fn pop(&self) -> Option<T> {
        // TODO: wait (on a Condvar, in a loop) while the queue is empty and open; then take the
        // front item, if any, and wake a producer.
        todo!("pop: wait while empty and open, take the front item, wake a producer")
    }

    /// Closes the queue: every later `push` hands its item back, and `pop` returns `None` once
    /// the queue is empty. Wakes every waiting thread.
    pub fn close(&self) {
        // TODO: set the flag, then wake everyone who waits, producers and consumers alike.
        todo!("close: set the flag and wake every waiting thread")
    }
}
