//! Measures what a thread switch costs on this machine: two threads hand a token back and forth
//! over rendezvous channels, so every hand-over puts one thread to sleep and wakes the other.
//!
//! Run it with `cargo run --release -p figures --example context_switch`. The time printed is
//! per hand-over, and includes the channel's own work; pin both threads to one core
//! (`taskset -c 0`) to see the cost of a switch on one core, without the cross-core wake-up.

use std::sync::mpsc::sync_channel;
use std::time::Instant;

const ROUND_TRIPS: u32 = 100_000;

fn main() {
    let (to_echo, echo_inbox) = sync_channel::<u32>(0);
    let (to_main, main_inbox) = sync_channel::<u32>(0);
    let echo = std::thread::spawn(move || {
        for token in echo_inbox {
            if to_main.send(token).is_err() {
                return;
            }
        }
    });
    let started = Instant::now();
    for token in 0..ROUND_TRIPS {
        to_echo.send(token).expect("the echo thread is alive");
        main_inbox.recv().expect("the echo thread answers");
    }
    let elapsed = started.elapsed();
    drop(to_echo);
    echo.join().expect("the echo thread does not panic");
    let per_hand_over = elapsed.as_secs_f64() / f64::from(ROUND_TRIPS * 2);
    println!(
        "{ROUND_TRIPS} round trips in {:.0} ms: {:.1} µs per hand-over between threads",
        elapsed.as_secs_f64() * 1000.0,
        per_hand_over * 1e6
    );
}
