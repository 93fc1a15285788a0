//! # Exercise 04: deadlock, and one global lock order
//!
//! A transfer between two accounts must hold both accounts' locks, so that nobody sees the
//! money gone from one account and not yet arrived in the other. The stub takes the lock of
//! `from`, then the lock of `to`. Now let one thread transfer from account 0 to account 1
//! while another transfers from 1 to 0: the first holds 0 and waits for 1, the second holds 1
//! and waits for 0. Each waits for the other, for ever. That is a *deadlock*: a cycle of
//! threads, each holding a lock the next one wants.
//!
//! The cure is a discipline, not a smarter lock: give the locks one global order (here, the
//! account number) and have every thread take the locks it needs in that order. A cycle would
//! need some thread to hold a higher lock while it waits for a lower one, and none ever does.
//!
//! Your tasks, marked `TODO`:
//!
//! 1. [`Bank::transfer`]: take the two locks in ascending account order, whatever the
//!    direction of the transfer, and handle `from == to` without locking one account twice.
//! 2. [`Bank::total`]: hold every account's lock at once (in the same order), so the total is
//!    the sum at one instant and never counts a transfer halfway.
//!
//! Keep one lock per account: a single lock for the whole bank would avoid the deadlock by
//! running every transfer one at a time, which is not the lesson.
//!
//! Check your work with `cargo xtask check 04`; watch the deadlock happen with
//! `cargo run -p deadlock_ordering --example deadlock_ordering_demo`.

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
    /// `true`; returns `false` and changes nothing when `from` lacks the funds. With
    /// `from == to` it changes nothing and returns whether the funds suffice.
    pub fn transfer(&self, from: usize, to: usize, amount: u64) -> bool {
        // TODO: two transfers in opposite directions take these locks in opposite orders and
        // can wait for each other for ever. Take the lower-numbered account's lock first.
        // TODO: with `from == to` the second `lock` waits for a lock this thread already holds.
        let mut from_balance = self.lock(from);
        let mut to_balance = self.lock(to);
        if *from_balance < amount {
            return false;
        }
        *from_balance -= amount;
        *to_balance += amount;
        true
    }
    // ANCHOR_END: transfer

    // ANCHOR: total
    /// The sum of all balances at one instant.
    pub fn total(&self) -> u64 {
        // TODO: each account is locked and released in turn, so a transfer can move money
        // from an account not yet counted to one already counted, and the total comes out
        // short. Hold every lock at once, taken in the same order `transfer` uses.
        (0..self.accounts.len())
            .map(|account| *self.lock(account))
            .sum()
    }
    // ANCHOR_END: total
}
