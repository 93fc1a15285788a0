//! Reference solution of exercise 02: one lock around a check-then-act, and around an
//! invariant that spans fields.

mod sync;

use sync::{Mutex, MutexGuard};

/// A bank account that many threads may use at once.
#[derive(Debug)]
pub struct Account {
    balance: Mutex<u64>,
}

// ANCHOR: account
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

    /// Takes `amount` if the balance covers it and returns `true`; otherwise changes nothing
    /// and returns `false`. The check and the subtraction happen under one guard, so no other
    /// withdrawal can spend the money between them.
    pub fn withdraw(&self, amount: u64) -> bool {
        let mut balance = self.locked();
        if *balance < amount {
            return false;
        }
        *balance -= amount;
        true
    }
}
// ANCHOR_END: account

/// Count, sum and largest value of everything recorded so far, taken at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub count: u64,
    pub sum: u64,
    pub max: u64,
}

/// Running statistics that many threads may record into at once.
#[derive(Debug, Default)]
pub struct Stats {
    totals: Mutex<Snapshot>,
}

// ANCHOR: stats
impl Stats {
    pub fn new() -> Self {
        Stats {
            totals: Mutex::new(Snapshot::default()),
        }
    }

    fn locked(&self) -> MutexGuard<'_, Snapshot> {
        self.totals
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts `value`. All three fields change under one guard, so nobody ever sees a count
    /// that includes `value` next to a sum that does not.
    pub fn record(&self, value: u64) {
        let mut totals = self.locked();
        totals.count += 1;
        totals.sum += value;
        totals.max = totals.max.max(value);
    }

    /// The three fields as they were at one instant.
    pub fn snapshot(&self) -> Snapshot {
        *self.locked()
    }
}
// ANCHOR_END: stats
