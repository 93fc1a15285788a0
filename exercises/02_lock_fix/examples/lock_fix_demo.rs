//! Shows both bugs live: withdrawals that overdraw, and snapshots that do not add up.
//!
//! Run it with `cargo run -p lock_fix --example lock_fix_demo`. With the stub, some rounds overdraw the
//! account (Rust stops the subtraction with an overflow) and many snapshots are inconsistent;
//! once both types are fixed, every line reports zero problems.

use lock_fix::{Account, Stats};

const THREADS: usize = 4;
const STARTING_BALANCE: u64 = 20_000;
const RECORDS: u64 = 200_000;
const RECORDED_VALUE: u64 = 3;

fn main() {
    // The overflow panics are the point of the demo; one line per round says so instead.
    std::panic::set_hook(Box::new(|_| {}));
    for round in 1..=3 {
        let account = Account::new(STARTING_BALANCE);
        let overdrafts = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..THREADS)
                .map(|_| scope.spawn(|| while account.withdraw(1) {}))
                .collect();
            workers
                .into_iter()
                .map(|w| w.join())
                .filter(Result::is_err)
                .count()
        });
        println!(
            "round {round}: {overdrafts} of {THREADS} threads tried to take money the account no longer had"
        );
    }

    let stats = Stats::new();
    let inconsistent = std::thread::scope(|scope| {
        let recorder = scope.spawn(|| {
            for _ in 0..RECORDS {
                stats.record(RECORDED_VALUE);
            }
        });
        let mut inconsistent = 0;
        while !recorder.is_finished() {
            let snapshot = stats.snapshot();
            if snapshot.sum != RECORDED_VALUE * snapshot.count {
                inconsistent += 1;
            }
        }
        inconsistent
    });
    println!(
        "stats: {inconsistent} snapshots had a sum that was not {RECORDED_VALUE} × their count"
    );
}
