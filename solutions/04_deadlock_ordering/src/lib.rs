//! Reference solution of exercise 04: several locks, one global order.

mod sync;

use sync::{Mutex, MutexGuard};

/// Accounts that many threads transfer between at once, one lock per account.
#[derive(Debug)]
pub struct Bank {
    accounts: Vec<Mutex<u64>>,
}

impl Bank {
    pub fn new(balances: &[u64]) -> Self {
        Bank {
            accounts: balances
                .iter()
                .map(|balance| Mutex::new(*balance))
                .collect(),
        }
    }

    /// The number of accounts.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// Whether the bank has no accounts at all.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    fn lock(&self, account: usize) -> MutexGuard<'_, u64> {
        self.accounts[account]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The balance of one account.
    pub fn balance(&self, account: usize) -> u64 {
        *self.lock(account)
    }

    // ANCHOR: transfer
    /// Moves `amount` from `from` to `to` while holding both accounts' locks, and returns
    /// `true`; returns `false` and changes nothing when `from` lacks the funds.
    pub fn transfer(&self, from: usize, to: usize, amount: u64) -> bool {
        if from == to {
            // One account, one lock: locking it twice would wait for ourselves for ever.
            return *self.lock(from) >= amount;
        }
        // Every thread takes the lower-numbered lock first. Then no thread can hold a higher
        // lock while it waits for a lower one, so no cycle of waiting threads can form.
        let (first, second) = (from.min(to), from.max(to));
        let mut first_guard = self.lock(first);
        let mut second_guard = self.lock(second);
        let (from_balance, to_balance) = if from == first {
            (&mut *first_guard, &mut *second_guard)
        } else {
            (&mut *second_guard, &mut *first_guard)
        };
        if *from_balance < amount {
            return false;
        }
        *from_balance -= amount;
        *to_balance += amount;
        true
    }
    // ANCHOR_END: transfer

    // ANCHOR: total
    /// The sum of all balances at one instant: every account is locked at once, in the same
    /// ascending order as `transfer` uses, so no transfer is ever half-counted.
    pub fn total(&self) -> u64 {
        let guards: Vec<MutexGuard<'_, u64>> = (0..self.accounts.len())
            .map(|account| self.lock(account))
            .collect();
        guards.iter().map(|balance| **balance).sum()
    }
    // ANCHOR_END: total
}
