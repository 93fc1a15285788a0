//! Shows the deadlock live: two threads transfer in opposite directions between two accounts.
//!
//! Run it with `cargo run -p deadlock_ordering --example deadlock_ordering_demo`. With the stub, the two threads
//! soon wait for each other for ever; the demo notices that no transfer has finished for a
//! second, says so, and exits. Once the locks are taken in one order, all transfers finish.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use deadlock_ordering::Bank;

const TRANSFERS_PER_THREAD: u64 = 200_000;

fn main() {
    let bank = Bank::new(&[1_000, 1_000]);
    let finished = AtomicU64::new(0);
    // Plain threads, not scoped ones: if they deadlock, the demo must still be able to end.
    let bank: &'static Bank = Box::leak(Box::new(bank));
    let finished: &'static AtomicU64 = Box::leak(Box::new(finished));
    for (from, to) in [(0, 1), (1, 0)] {
        std::thread::spawn(move || {
            for _ in 0..TRANSFERS_PER_THREAD {
                bank.transfer(from, to, 1);
                finished.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    let mut last = 0;
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let now = finished.load(Ordering::Relaxed);
        if now == 2 * TRANSFERS_PER_THREAD {
            println!("all {now} transfers finished; total {}", bank.total());
            return;
        }
        if now == last {
            println!(
                "deadlock: {now} transfers finished, then none for a second. Each thread holds \
                 one account's lock and waits for the other's"
            );
            std::process::exit(1);
        }
        println!("{now} transfers so far");
        last = now;
    }
}
