//! The code of the concept chapter "From Python's primitives to Rust's", compiled and tested.
//!
//! Each piece stands for one of Python's `threading` primitives that std has no type for, or for
//! one trap of std's own locks. The tests below run every piece, and the model-checked ones run
//! under shuttle, which tries every interleaving of a small program.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

// ANCHOR: semaphore
/// A counting semaphore, Python's `threading.BoundedSemaphore`: at most `permits`
/// holders at once. Release is the guard's `Drop`, so a permit cannot be given back
/// twice, or never.
pub struct Semaphore {
    available: Mutex<usize>,
    released: Condvar,
}

pub struct Permit<'a> {
    semaphore: &'a Semaphore,
}

impl Semaphore {
    pub fn new(permits: usize) -> Semaphore {
        Semaphore {
            available: Mutex::new(permits),
            released: Condvar::new(),
        }
    }

    /// Waits until a permit is free and takes it.
    pub fn acquire(&self) -> Permit<'_> {
        let available = self
            .available
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut available = self
            .released
            .wait_while(available, |available| *available == 0)
            .unwrap_or_else(PoisonError::into_inner);
        *available -= 1;
        Permit { semaphore: self }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let semaphore = self.semaphore;
        *semaphore
            .available
            .lock()
            .unwrap_or_else(PoisonError::into_inner) += 1;
        semaphore.released.notify_one();
    }
}
// ANCHOR_END: semaphore

// ANCHOR: event
/// Python's `threading.Event`: a flag that threads can wait for.
#[derive(Default)]
pub struct Event {
    set: Mutex<bool>,
    changed: Condvar,
}

impl Event {
    pub fn set(&self) {
        *self.set.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.changed.notify_all();
    }

    pub fn clear(&self) {
        *self.set.lock().unwrap_or_else(PoisonError::into_inner) = false;
    }

    /// Waits until the flag is set, or `timeout` passes; returns the flag, as
    /// Python does.
    pub fn wait(&self, timeout: Duration) -> bool {
        let set = self.set.lock().unwrap_or_else(PoisonError::into_inner);
        let (set, _timed_out) = self
            .changed
            .wait_timeout_while(set, timeout, |set| !*set)
            .unwrap_or_else(PoisonError::into_inner);
        *set
    }
}
// ANCHOR_END: event

// ANCHOR: reentrant
/// Python's `RLock`: the thread that holds it may lock it again. parking_lot's
/// `ReentrantMutex` hands out only shared references (two `&mut` to the same data
/// would be undefined behaviour), so the data inside needs a `RefCell` to be
/// changed.
pub fn log_twice(log: &parking_lot::ReentrantMutex<std::cell::RefCell<Vec<String>>>) {
    let outer = log.lock();
    outer.borrow_mut().push("outer".to_owned());
    // Locking again on the same thread does not deadlock, as it would with a Mutex.
    let inner = log.lock();
    inner.borrow_mut().push("inner".to_owned());
}
// ANCHOR_END: reentrant

// ANCHOR: temporary_guard
/// Pops a job and, for a job that needs it, pushes a follow-up job to the same
/// queue. Returns whether the push could take the lock.
pub fn pop_then_push(queue: &Mutex<Vec<u32>>) -> bool {
    // The guard of `queue.lock()` is a temporary of the `match` scrutinee, and
    // temporaries of a scrutinee live until the end of the whole `match`: the lock
    // is still held in the arms.
    match queue.lock().unwrap().pop() {
        // `lock()` here would wait for ourselves forever; `try_lock` shows it
        // instead.
        Some(job) => queue.try_lock().map(|mut jobs| jobs.push(job + 1)).is_ok(),
        None => true,
    }
}

/// The fix: end the guard's life in a statement of its own.
pub fn pop_then_push_fixed(queue: &Mutex<Vec<u32>>) -> bool {
    let popped = queue.lock().unwrap().pop(); // the guard is dropped at this `;`
    match popped {
        Some(job) => queue.try_lock().map(|mut jobs| jobs.push(job + 1)).is_ok(),
        None => true,
    }
}
// ANCHOR_END: temporary_guard

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, OnceLock, RwLock};

    #[test]
    fn semaphore_admits_at_most_its_permits() {
        let semaphore = Semaphore::new(2);
        let (inside, peak) = (AtomicUsize::new(0), AtomicUsize::new(0));
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    let _permit = semaphore.acquire();
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::yield_now();
                    inside.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        assert!(peak.load(Ordering::SeqCst) <= 2);
        assert_eq!(
            *semaphore.available.lock().unwrap(),
            2,
            "every permit came back"
        );
    }

    #[test]
    fn event_wakes_a_waiter_and_times_out_when_clear() {
        let event = Event::default();
        assert!(
            !event.wait(Duration::from_millis(1)),
            "a clear event times out"
        );
        std::thread::scope(|scope| {
            let waiter = scope.spawn(|| event.wait(Duration::from_secs(60)));
            event.set();
            assert!(waiter.join().unwrap(), "the waiter saw the event");
        });
        event.clear();
        assert!(!event.wait(Duration::ZERO));
    }

    #[test]
    fn reentrant_mutex_can_be_locked_twice_by_one_thread() {
        let log = parking_lot::ReentrantMutex::new(std::cell::RefCell::new(Vec::new()));
        log_twice(&log);
        assert_eq!(*log.lock().borrow(), ["outer", "inner"]);
    }

    #[test]
    fn a_guard_in_a_match_scrutinee_is_still_held_in_the_arms() {
        let queue = Mutex::new(vec![1]);
        assert!(!pop_then_push(&queue), "the arm could not take the lock");
        let queue = Mutex::new(vec![1]);
        assert!(pop_then_push_fixed(&queue));
        assert_eq!(*queue.lock().unwrap(), [2]);
    }

    // ANCHOR: poisoning
    #[test]
    fn a_panic_while_locked_poisons_the_mutex() {
        let balance = Arc::new(Mutex::new(100));
        let writer = Arc::clone(&balance);
        let outcome = std::thread::spawn(move || {
            let mut balance = writer.lock().unwrap();
            *balance -= 30;
            panic!("crashed halfway through a transfer");
        })
        .join();
        // The panic ended that thread only: `join` reports it, and this thread goes
        // on.
        assert!(outcome.is_err());
        // The next `lock` says the data may be half-updated; `into_inner` takes it
        // anyway.
        let poisoned = balance.lock().unwrap_err();
        assert_eq!(*poisoned.into_inner(), 70);
    }
    // ANCHOR_END: poisoning

    // ANCHOR: std_extras
    #[test]
    fn rwlock_oncelock_and_scoped_threads() {
        // Many readers or one writer.
        let config = RwLock::new(String::from("v1"));
        {
            let (a, b) = (config.read().unwrap(), config.read().unwrap());
            assert_eq!(*a, *b);
        }
        config.write().unwrap().push_str("-patched");

        // Initialised once, by whichever thread gets there first; read without a
        // lock after.
        static SETTINGS: OnceLock<Vec<u32>> = OnceLock::new();
        let mut chunks = vec![0u64; 4];
        // Scoped threads may borrow local data, because the scope joins them before
        // it ends.
        std::thread::scope(|scope| {
            for (index, chunk) in chunks.iter_mut().enumerate() {
                let config = &config;
                scope.spawn(move || {
                    let settings = SETTINGS.get_or_init(|| vec![1, 2, 3]);
                    *chunk =
                        settings.len() as u64 * index as u64 + config.read().unwrap().len() as u64;
                });
            }
        });
        assert_eq!(chunks, [10, 13, 16, 19]);
    }
    // ANCHOR_END: std_extras

    // ANCHOR: orderings_model
    use shuttle::sync::atomic::{AtomicUsize as ModelAtomic, Ordering as ModelOrdering};

    /// Runs `increment` once on each of `threads` model-checked threads; returns
    /// the count.
    fn count_with(threads: usize, increment: fn(&ModelAtomic)) -> usize {
        let counter = shuttle::sync::Arc::new(ModelAtomic::new(0));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let counter = counter.clone();
                shuttle::thread::spawn(move || increment(&counter))
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        counter.load(ModelOrdering::SeqCst)
    }

    /// Shuttle tries every interleaving of three threads (depth-first,
    /// exhaustively): a Relaxed `fetch_add` never loses an increment, because a
    /// read-modify-write is one atomic step whatever the ordering.
    #[test]
    fn relaxed_fetch_add_never_loses_an_increment() {
        let relaxed_add = |counter: &ModelAtomic| {
            counter.fetch_add(1, ModelOrdering::Relaxed);
        };
        shuttle::check_dfs(move || assert_eq!(count_with(3, relaxed_add), 3), None);
    }

    /// The same with a separate load and store: shuttle finds the interleaving that
    /// loses one.
    #[test]
    fn load_then_store_loses_an_increment() {
        let load_then_store = |counter: &ModelAtomic| {
            let seen = counter.load(ModelOrdering::SeqCst);
            counter.store(seen + 1, ModelOrdering::SeqCst);
        };
        let found = std::panic::catch_unwind(|| {
            shuttle::check_dfs(
                move || assert_eq!(count_with(2, load_then_store), 2, "an increment was lost"),
                None,
            )
        });
        assert!(found.is_err(), "shuttle must find the lost update");
    }
    // ANCHOR_END: orderings_model

    // ANCHOR: message_passing
    #[test]
    fn release_store_publishes_what_was_written_before_it() {
        use std::sync::atomic::AtomicBool;
        let data = AtomicUsize::new(0);
        let ready = AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                data.store(42, Ordering::Relaxed);
                // Release: every write before this store is visible to a thread
                // whose Acquire load reads `true` from it.
                ready.store(true, Ordering::Release);
            });
            scope.spawn(|| {
                if ready.load(Ordering::Acquire) {
                    assert_eq!(data.load(Ordering::Relaxed), 42);
                }
            });
        });
    }
    // ANCHOR_END: message_passing

    #[test]
    fn scoped_threads_borrow_local_data() {
        // ANCHOR: scoped_threads
        use std::sync::atomic::{AtomicU64, Ordering};
        use std::thread;

        let total = AtomicU64::new(0);
        thread::scope(|scope| {
            for index in 0..4 {
                let total = &total; // a plain borrow: the scope outlives every thread in it
                scope.spawn(move || total.fetch_add(index, Ordering::Relaxed));
            }
        }); // every thread spawned in the scope has been joined here
        assert_eq!(total.load(Ordering::Relaxed), 6);
        // ANCHOR_END: scoped_threads
    }
}
