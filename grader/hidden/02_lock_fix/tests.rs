//! Hidden tests of exercise 02: Account (check-then-act) and Stats (an invariant over fields).
//!
//! `lock_fix` is the learner's crate on real threads; `lock_fix_model` is the same code with
//! `crate::sync` swapped for shuttle, explored under fixed-seed schedules.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use harness::model::{self, Budget};

/// Real-thread stress sizes: enough contention to overdraw a racy account on two cores, small
/// enough for well under a second in a debug build.
const STRESS_THREADS: usize = 4;
const STRESS_BALANCE: u64 = 20_000;
/// Snapshots taken while the recorders run, at least, and records made meanwhile, at least:
/// on a busy machine the snapshots go on until the recorders really ran alongside them.
const STRESS_SNAPSHOTS: u64 = 50_000;
const STRESS_RECORDS: u64 = 200_000;
/// Every stress recording adds this value, so a consistent snapshot has `sum == 3 * count`.
const STRESS_VALUE: u64 = 3;

fn account_alone_deposits_and_withdraws() {
    let account = lock_fix::Account::new(100);
    assert_eq!(
        account.balance(),
        100,
        "Account::new(100).balance() must be 100"
    );
    account.deposit(20);
    assert_eq!(
        account.balance(),
        120,
        "after deposit(20) on 100 the balance must be 120"
    );
    assert!(
        account.withdraw(120),
        "withdraw(120) on a balance of 120 must succeed"
    );
    assert_eq!(
        account.balance(),
        0,
        "after withdrawing all 120 the balance must be 0"
    );
}

fn withdraw_refuses_what_the_balance_does_not_cover() {
    let account = lock_fix::Account::new(100);
    let took = account.withdraw(150);
    let left = account.balance();
    assert!(
        !took && left == 100,
        "withdraw(150) on a balance of 100 returned {took} and left {left}: a withdrawal the \
         balance does not cover must return false and change nothing (not take what is there)"
    );
}

/// Two withdrawals of 60 from 100: exactly one may succeed, whatever the schedule.
fn withdrawals_never_overdraw_under_the_model() {
    model::capture_where_threads_wait();
    model::explore(Budget::default(), || {
        let account = Arc::new(lock_fix_model::Account::new(100));
        let other = account.clone();
        let worker = shuttle::thread::spawn(move || other.withdraw(60));
        let mine = account.withdraw(60);
        let theirs = worker.join().unwrap();
        let left = account.balance();
        assert!(
            mine != theirs && left == 40,
            "two threads each withdrew 60 from 100: first returned {mine}, second {theirs}, \
             balance left {left}. Exactly one must succeed and leave 40; the check of the \
             balance and the subtraction must happen under one lock guard"
        );
    });
}

/// Deposits must not be lost while withdrawals run, and a withdrawal must see them.
fn deposits_and_withdrawals_add_up_under_the_model() {
    model::capture_where_threads_wait();
    model::explore(Budget::default(), || {
        let account = Arc::new(lock_fix_model::Account::new(10));
        let depositor = {
            let account = account.clone();
            shuttle::thread::spawn(move || account.deposit(5))
        };
        let took = account.withdraw(10);
        depositor.join().unwrap();
        let left = account.balance();
        assert!(
            took && left == 5,
            "balance 10, one thread deposited 5 while another withdrew 10: withdraw returned \
             {took} and the balance is {left}, expected true and 5. An update was lost between \
             reading the balance and writing it back"
        );
    });
}

/// The snapshots a consistent `Stats` may show while `first` and `second` are recorded by two
/// threads: one for every pair of prefixes of the two sequences.
fn consistent_snapshots(first: &[u64], second: &[u64]) -> Vec<lock_fix_model::Snapshot> {
    let mut allowed = Vec::new();
    for taken_first in 0..=first.len() {
        for taken_second in 0..=second.len() {
            let values = first[..taken_first].iter().chain(&second[..taken_second]);
            let mut snapshot = lock_fix_model::Snapshot::default();
            for value in values {
                snapshot.count += 1;
                snapshot.sum += value;
                snapshot.max = snapshot.max.max(*value);
            }
            allowed.push(snapshot);
        }
    }
    allowed
}

fn describe(snapshot: &lock_fix_model::Snapshot) -> String {
    format!(
        "count {} sum {} max {}",
        snapshot.count, snapshot.sum, snapshot.max
    )
}

/// Two threads record while the main thread takes snapshots: each must describe one moment.
fn snapshots_are_consistent_under_the_model() {
    static FIRST: [u64; 2] = [4, 1];
    static SECOND: [u64; 1] = [10];
    model::capture_where_threads_wait();
    model::explore(Budget::default(), || {
        let stats = Arc::new(lock_fix_model::Stats::new());
        let recorders: Vec<_> = [&FIRST[..], &SECOND[..]]
            .into_iter()
            .map(|values| {
                let stats = stats.clone();
                shuttle::thread::spawn(move || values.iter().for_each(|v| stats.record(*v)))
            })
            .collect();
        let allowed = consistent_snapshots(&FIRST, &SECOND);
        for _ in 0..2 {
            let seen = stats.snapshot();
            assert!(
                allowed.contains(&seen),
                "one thread recorded {FIRST:?} while another recorded {SECOND:?}, and a snapshot \
                 said {}: no set of recorded values has that count, sum and max together. The \
                 snapshot read the fields in the middle of a record; all three must change and \
                 be read under one lock",
                describe(&seen)
            );
        }
        for recorder in recorders {
            recorder.join().unwrap();
        }
        let last = stats.snapshot();
        let expected = lock_fix_model::Snapshot {
            count: 3,
            sum: 15,
            max: 10,
        };
        assert!(
            last == expected,
            "after recording 4, 1 and 10 the snapshot is {}, expected {}: a recording was lost",
            describe(&last),
            describe(&expected)
        );
    });
}

fn stats_alone_counts_sums_and_keeps_the_max() {
    let stats = lock_fix::Stats::new();
    let empty = stats.snapshot();
    assert!(
        (empty.count, empty.sum, empty.max) == (0, 0, 0),
        "a new Stats must report count 0, sum 0, max 0, not count {} sum {} max {}",
        empty.count,
        empty.sum,
        empty.max
    );
    for value in [5, 9, 2] {
        stats.record(value);
    }
    let got = stats.snapshot();
    assert!(
        (got.count, got.sum, got.max) == (3, 16, 9),
        "after recording 5, 9 and 2 the snapshot must be count 3 sum 16 max 9, not count {} \
         sum {} max {}",
        got.count,
        got.sum,
        got.max
    );
}

fn stress_withdrawals_on_real_threads() {
    let account = lock_fix::Account::new(STRESS_BALANCE);
    let successes: u64 = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..STRESS_THREADS)
            .map(|_| {
                scope.spawn(|| {
                    let mut taken = 0;
                    while account.withdraw(1) {
                        taken += 1;
                    }
                    taken
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    let left = account.balance();
    assert!(
        successes == STRESS_BALANCE && left == 0,
        "{STRESS_THREADS} threads withdrew 1 at a time from {STRESS_BALANCE} until refused: \
         {successes} withdrawals succeeded and {left} is left, expected {STRESS_BALANCE} and 0. \
         Two threads passed the check for the same unit of money"
    );
}

fn stress_snapshots_on_real_threads() {
    let stats = lock_fix::Stats::new();
    let stop = AtomicBool::new(false);
    let started = AtomicUsize::new(0);
    let (records, inconsistent, first_bad) = std::thread::scope(|scope| {
        let recorders: Vec<_> = (0..STRESS_THREADS)
            .map(|_| {
                scope.spawn(|| {
                    started.fetch_add(1, Ordering::Relaxed);
                    let mut records = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        stats.record(STRESS_VALUE);
                        records += 1;
                    }
                    records
                })
            })
            .collect();
        // The recorders run for as long as the snapshots are being taken, so that however the
        // machine schedules the threads, every snapshot is taken while someone records.
        while started.load(Ordering::Relaxed) < STRESS_THREADS {
            std::thread::yield_now();
        }
        let mut inconsistent = 0u64;
        let mut first_bad = None;
        let mut snapshots = 0u64;
        loop {
            let seen = stats.snapshot();
            snapshots += 1;
            let consistent = seen.sum == STRESS_VALUE * seen.count
                && seen.max == if seen.count == 0 { 0 } else { STRESS_VALUE };
            if !consistent {
                inconsistent += 1;
                first_bad.get_or_insert((seen.count, seen.sum, seen.max));
            }
            if snapshots >= STRESS_SNAPSHOTS && seen.count >= STRESS_RECORDS {
                break;
            }
        }
        stop.store(true, Ordering::Relaxed);
        let records: u64 = recorders.into_iter().map(|r| r.join().unwrap()).sum();
        (records, inconsistent, first_bad)
    });
    let last = stats.snapshot();
    assert!(
        inconsistent == 0,
        "every recorded value was {STRESS_VALUE}, yet {inconsistent} snapshots had a sum that \
         is not {STRESS_VALUE} × count (the first: count, sum, max = {first_bad:?}): they read \
         the fields halfway through a record"
    );
    assert!(
        last.count == records && last.sum == STRESS_VALUE * records,
        "after {records} records of {STRESS_VALUE} the snapshot says count {} sum {}: \
         recordings were lost",
        last.count,
        last.sum
    );
}

harness::hidden_tests![
    account_alone_deposits_and_withdraws,
    withdraw_refuses_what_the_balance_does_not_cover,
    withdrawals_never_overdraw_under_the_model,
    deposits_and_withdrawals_add_up_under_the_model,
    stats_alone_counts_sums_and_keeps_the_max,
    snapshots_are_consistent_under_the_model,
    stress_withdrawals_on_real_threads,
    stress_snapshots_on_real_threads,
];
