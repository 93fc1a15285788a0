//! Hidden tests of exercise 04: Bank, several locks taken in one global order.
//!
//! `deadlock_ordering` is the learner's crate on real threads; `deadlock_ordering_model` is the
//! same code with `crate::sync` swapped for shuttle, explored under fixed-seed schedules.
//!
//! Threads get names that say what they do ("transfer 0→1"), because a deadlock report lists
//! the waiting threads by name. Model-checked tests ask shuttle to capture where every blocked
//! thread waits, so the grader can name the cycle and the lines of the learner's file.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};

use harness::model::{self, Budget};

/// Real-thread stress sizes: enough opposite-direction transfers to deadlock the stub within
/// milliseconds on two cores, few enough for well under a second once the order is fixed.
const STRESS_TRANSFERS_PER_THREAD: usize = 100_000;
const STRESS_BALANCES: [u64; 3] = [1_000, 1_000, 1_000];

fn bank_alone_transfers_and_totals() {
    let bank = deadlock_ordering::Bank::new(&[100, 50, 0]);
    assert_eq!(
        bank.len(),
        3,
        "Bank::new with three balances must have len() 3"
    );
    assert!(
        bank.transfer(0, 2, 30),
        "transfer(0, 2, 30) with 100 in account 0 must succeed"
    );
    assert!(
        bank.transfer(1, 0, 50),
        "transfer(1, 0, 50) with exactly 50 in account 1 must succeed"
    );
    let balances: Vec<u64> = (0..3).map(|account| bank.balance(account)).collect();
    assert!(
        balances == [120, 0, 30],
        "from [100, 50, 0], transfer(0, 2, 30) then transfer(1, 0, 50) must leave [120, 0, 30], \
         not {balances:?}"
    );
    assert_eq!(bank.total(), 150, "the total of [120, 0, 30] is 150");
}

fn insufficient_funds_change_nothing() {
    let bank = deadlock_ordering::Bank::new(&[100, 7]);
    let moved = bank.transfer(0, 1, 150);
    let balances = [bank.balance(0), bank.balance(1)];
    assert!(
        !moved && balances == [100, 7],
        "transfer(0, 1, 150) with only 100 in account 0 returned {moved} and left {balances:?}: \
         it must return false and leave [100, 7] untouched"
    );
}

/// `from == to` has one account and one lock; taking it twice waits for ever on itself.
fn transfer_to_the_same_account_changes_nothing() {
    let bank = deadlock_ordering::Bank::new(&[40]);
    let covered = bank.transfer(0, 0, 30);
    let uncovered = bank.transfer(0, 0, 50);
    assert!(
        covered && !uncovered && bank.balance(0) == 40,
        "on an account holding 40, transfer(0, 0, 30) returned {covered} and transfer(0, 0, 50) \
         returned {uncovered}, leaving {}: a transfer to the same account changes nothing and \
         returns whether the funds suffice (true, then false, leaving 40)",
        bank.balance(0)
    );
}

/// Starts one model-checked thread per `(from, to)`, named after it ("transfer 0→1"), that
/// transfers `amount` once and returns whether it succeeded.
fn spawn_transfers(
    bank: &Arc<deadlock_ordering_model::Bank>,
    directions: &[(usize, usize)],
    amount: u64,
) -> Vec<shuttle::thread::JoinHandle<bool>> {
    directions
        .iter()
        .map(|&(from, to)| {
            let bank = bank.clone();
            shuttle::thread::Builder::new()
                .name(format!("transfer {from}→{to}"))
                .spawn(move || bank.transfer(from, to, amount))
                .expect("the model checker can always start a thread")
        })
        .collect()
}

/// Two transfers in opposite directions: in some schedule each holds one lock and waits for
/// the other, unless both take the locks in the same order.
fn opposite_transfers_never_deadlock_under_the_model() {
    model::capture_where_threads_wait();
    model::explore(Budget::default(), || {
        let bank = Arc::new(deadlock_ordering_model::Bank::new(&[10, 10]));
        let transfers = spawn_transfers(&bank, &[(0, 1), (1, 0)], 4);
        for transfer in transfers {
            assert!(
                transfer.join().unwrap(),
                "a transfer of 4 from an account holding at least 6 failed"
            );
        }
        let balances = [bank.balance(0), bank.balance(1)];
        assert!(
            balances == [10, 10],
            "4 moved from 0 to 1 and 4 from 1 to 0, so both accounts must hold 10 again, not \
             {balances:?}"
        );
    });
}

/// Transfers run while `total` counts: the total must be the same at every instant, and
/// `total` must take the locks in the same order as `transfer` or the two deadlock.
fn total_is_conserved_under_the_model() {
    model::capture_where_threads_wait();
    model::explore(Budget::default(), || {
        let bank = Arc::new(deadlock_ordering_model::Bank::new(&[5, 5, 5]));
        let transfers = spawn_transfers(&bank, &[(0, 2), (2, 1)], 3);
        let seen = bank.total();
        for transfer in transfers {
            transfer.join().unwrap();
        }
        assert!(
            seen == 15,
            "total() returned {seen} while transfers ran, but the bank always holds 15: it \
             counted an account before or after a transfer and another in the middle of it. \
             A transfer holds both locks until it is done, so total must hold every lock at \
             once to see one instant"
        );
        assert_eq!(
            bank.total(),
            15,
            "after the transfers the total must still be 15"
        );
    });
}

/// Two transfers from one account that cannot cover both: exactly one may succeed. A transfer
/// that checks the funds before it holds the locks lets both pass the check, and the model
/// checker finds that schedule on every run.
fn transfers_from_one_account_never_overdraw_under_the_model() {
    model::explore(Budget::default(), || {
        let bank = Arc::new(deadlock_ordering_model::Bank::new(&[5, 0, 0]));
        let transfers = spawn_transfers(&bank, &[(0, 1), (0, 2)], 3);
        let succeeded = transfers
            .into_iter()
            .map(|transfer| transfer.join().unwrap())
            .filter(|done| *done)
            .count();
        let balances = [bank.balance(0), bank.balance(1), bank.balance(2)];
        assert!(
            succeeded == 1 && balances.iter().sum::<u64>() == 5 && balances[0] == 2,
            "account 0 held 5 and two threads each transferred 3 out of it: exactly one may \
             succeed, leaving 2, but {succeeded} succeeded and the balances are {balances:?}. \
             Check the funds while holding both locks, in the same critical section as the \
             move, or both transfers can pass the check before either takes the money"
        );
    });
}

/// Transfers between four different accounts share no lock, so neither may ever wait for the
/// other. The model checker's scheduler sees a thread that waits; a lock for the whole bank
/// makes every transfer take turns, which no value can show.
fn transfers_between_other_accounts_never_wait_for_each_other_under_the_model() {
    let waited = harness::waits::explore(Budget::default(), || {
        let bank = Arc::new(deadlock_ordering_model::Bank::new(&[5, 5, 5, 5]));
        let threads: Vec<_> = [(0, 1), (3, 2)]
            .into_iter()
            .map(|(from, to)| {
                let bank = bank.clone();
                shuttle::thread::Builder::new()
                    .name(format!("transfer {from}→{to}"))
                    .spawn(move || harness::waits::inside(|| bank.transfer(from, to, 1)))
                    .expect("the model checker can always start a thread")
            })
            .collect();
        for thread in threads {
            assert!(thread.join().unwrap(), "a transfer of 1 from an account holding 5 failed");
        }
    });
    assert!(
        !waited,
        "transfer(0, 1, 1) and transfer(3, 2, 1) share no account, yet in some schedule one \
         waited for the other: they took a common lock. One lock for the whole bank makes every \
         transfer take turns, so the bank is no faster with more threads. Keep one lock per \
         account and take only the two a transfer needs"
    );
}

/// Real threads, every pair of accounts in both directions, while another thread keeps
/// checking the total. A deadlock here is a timeout; the diagnosis names the waiting threads.
fn stress_transfers_and_totals_on_real_threads() {
    let bank = deadlock_ordering::Bank::new(&STRESS_BALANCES);
    let expected: u64 = STRESS_BALANCES.iter().sum();
    let done = AtomicBool::new(false);
    let directions = [(0, 1), (1, 0), (1, 2), (2, 0)];
    // Every transfer thread starts at once, so that they overlap even on a busy machine.
    let start = Barrier::new(directions.len());
    std::thread::scope(|scope| {
        let transfers: Vec<_> = directions
            .iter()
            .map(|&(from, to)| {
                let (bank, start, name) = (&bank, &start, format!("xfer {from}->{to}"));
                std::thread::Builder::new()
                    .name(name)
                    .spawn_scoped(scope, move || {
                        start.wait();
                        for _ in 0..STRESS_TRANSFERS_PER_THREAD {
                            bank.transfer(from, to, 1);
                        }
                    })
                    .expect("the system could not start a thread")
            })
            .collect();
        let auditor = std::thread::Builder::new()
            .name("total".into())
            .spawn_scoped(scope, || {
                while !done.load(Ordering::Relaxed) {
                    let total = bank.total();
                    assert!(
                        total == expected,
                        "total() returned {total} while transfers ran, but the bank always \
                         holds {expected}: total must hold every account's lock at once"
                    );
                }
            })
            .expect("the system could not start a thread");
        for transfer in transfers {
            transfer.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
        auditor.join().unwrap();
    });
    assert_eq!(
        bank.total(),
        expected,
        "after every transfer the bank must still hold {expected}"
    );
}

harness::hidden_tests![
    bank_alone_transfers_and_totals,
    insufficient_funds_change_nothing,
    transfer_to_the_same_account_changes_nothing,
    opposite_transfers_never_deadlock_under_the_model,
    total_is_conserved_under_the_model,
    transfers_from_one_account_never_overdraw_under_the_model,
    transfers_between_other_accounts_never_wait_for_each_other_under_the_model,
    stress_transfers_and_totals_on_real_threads,
];
