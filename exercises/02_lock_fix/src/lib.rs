//! # Exercise 02: fix the locks
//!
//! A lock makes a piece of code a *critical section*: one thread at a time. It protects an
//! invariant only if everything that relies on the invariant happens inside one critical
//! section. This file has two classic ways of getting that wrong.
//!
//! 1. [`Account::withdraw`] checks the balance under the lock, lets go, and takes the lock
//!    again to subtract. Two threads can both pass the check with the same money; the second
//!    subtraction then drives the balance below zero, which a `u64` cannot hold, so Rust
//!    stops the program with "attempt to subtract with overflow". This is *check-then-act*.
//! 2. [`Stats`] keeps `count`, `sum` and `max` in three separate atomics. Each one is updated
//!    safely, but a [`Stats::snapshot`] taken between them sees a count that already includes
//!    a value and a sum that does not yet. The invariant spans three fields, so one lock must
//!    cover all three.
//!
//! Your tasks, marked `TODO`: make both types correct with a `crate::sync::Mutex`, keeping
//! their public methods as they are.
//!
//! Check your work with `cargo xtask check 02`; see both bugs live with
//! `cargo run -p lock_fix --example lock_fix_demo`.

mod sync;

use sync::atomic::{AtomicU64, Ordering};
use sync::{Mutex, MutexGuard};

/// A bank account that many threads may use at once.
#[derive(Debug)]
pub struct Account {
    balance: Mutex<u64>,
}

impl Account {
    pub fn new(balance: u64) -> Self {
        Account {
            balance: Mutex::new(balance),
        }
    }

    fn locked(&self) -> MutexGuard<'_, u64> {
        // A poisoned lock means another thread panicked halfway through an update; the
        // balance itself is still a number, so carrying on is safe here.
        self.balance
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The current balance.
    pub fn balance(&self) -> u64 {
        *self.locked()
    }

    /// Adds `amount` to the balance.
    pub fn deposit(&self, amount: u64) {
        *self.locked() += amount;
    }

    // ANCHOR: racy_withdraw
    /// Takes `amount` if the balance covers it and returns `true`; otherwise changes nothing
    /// and returns `false`. Never overdraws, however many threads withdraw at once.
    pub fn withdraw(&self, amount: u64) -> bool {
        // TODO: the lock is released at the end of this statement. Between here and the
        // subtraction below, another thread may spend the same money. Check and subtract
        // while holding one guard.
        let covered = *self.balance.lock().unwrap() >= amount;
        if !covered {
            return false;
        }
        let mut balance = self.balance.lock().unwrap();
        // When two withdrawals passed the check with the same money, this line would take the
        // balance below zero; Rust stops it with "attempt to subtract with overflow".
        *balance -= amount;
        true
    }
    // ANCHOR_END: racy_withdraw
}

/// Count, sum and largest value of everything recorded so far, taken at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub count: u64,
    pub sum: u64,
    pub max: u64,
}

// ANCHOR: racy_stats
/// Running statistics that many threads may record into at once.
#[derive(Debug, Default)]
pub struct Stats {
    // TODO: three atomics are three separate critical sections. Put the three numbers under
    // one `Mutex` (a `Mutex<Snapshot>` works well).
    count: AtomicU64,
    sum: AtomicU64,
    max: AtomicU64,
}

impl Stats {
    pub fn new() -> Self {
        Stats::default()
    }

    /// Counts `value`.
    pub fn record(&self, value: u64) {
        self.count.fetch_add(1, Ordering::SeqCst);
        self.sum.fetch_add(value, Ordering::SeqCst);
        self.max.fetch_max(value, Ordering::SeqCst);
    }

    /// Count, sum and max as they were at one instant: every snapshot must describe the same
    /// set of recorded values in all three fields.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            count: self.count.load(Ordering::SeqCst),
            sum: self.sum.load(Ordering::SeqCst),
            max: self.max.load(Ordering::SeqCst),
        }
    }
}
// ANCHOR_END: racy_stats
