//! Hidden tests of exercise 01: run_concurrently, Counter and count_concurrently.
//!
//! `race_counter` is the learner's crate on real threads; `race_counter_model` is the same code
//! with `crate::sync` swapped for shuttle, explored under fixed-seed schedules.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use harness::model::{self, Budget};

/// Real-thread stress sizes: big enough that a racy counter loses updates on any machine with
/// two cores, small enough to finish in well under a second in a debug build.
const STRESS_THREADS: usize = 4;
const STRESS_PER_THREAD: u64 = 100_000;

fn run_concurrently_runs_every_index_once() {
    for threads in [0, 1, 2, 7] {
        let seen = Mutex::new(vec![0u32; threads]);
        race_counter::run_concurrently(threads, |index| {
            assert!(index < threads, "f was called with index {index}, but only 0..{threads} are valid");
            seen.lock().unwrap()[index] += 1;
        });
        let seen = seen.into_inner().unwrap();
        for (index, calls) in seen.iter().enumerate() {
            assert_eq!(
                *calls, 1,
                "with {threads} threads, f({index}) ran {calls} times; every index must run exactly once"
            );
        }
    }
}

/// Every call waits until all of them have started. Calls made one after the other never all
/// get there; instead of a timeout, the rendezvous sees from /proc that nothing else can move
/// and lets them go, so a sequential `run_concurrently` fails with a message instead of hanging.
fn run_concurrently_runs_all_threads_at_once() {
    const THREADS: usize = 4;
    let rendezvous = harness::rendezvous::Rendezvous::new(THREADS as u32);
    rendezvous.watch(
        || {},
        || {
            race_counter::run_concurrently(THREADS, |_| {
                rendezvous.arrive();
            })
        },
    );
    assert!(
        rendezvous.met(),
        "only {} of {THREADS} calls were running at the same time, and then nothing moved: \
         run_concurrently must start every thread before it waits for any of them",
        rendezvous.arrived()
    );
}

fn run_concurrently_propagates_a_panic() {
    let calls = AtomicUsize::new(0);
    let outcome = std::panic::catch_unwind(|| {
        race_counter::run_concurrently(3, |index| {
            calls.fetch_add(1, Ordering::SeqCst);
            if index == 1 {
                panic!("worker 1 failed on purpose (this panic is expected by the test)");
            }
        });
    });
    let calls = calls.into_inner();
    assert!(calls == 3, "f ran {calls} times instead of 3, so this test could not check panics");
    assert!(
        outcome.is_err(),
        "f(1) panicked, but run_concurrently returned normally: a worker's panic must reach the \
         caller, or failures vanish silently"
    );
}

fn counter_starts_at_zero_and_counts_alone() {
    let counter = race_counter::Counter::new();
    assert_eq!(counter.get(), 0, "a new Counter must start at 0");
    counter.increment();
    counter.add(41);
    assert_eq!(counter.get(), 42, "after increment() and add(41) on one thread, get() must be 42");
    assert_eq!(race_counter::Counter::default().get(), 0, "Counter::default() must start at 0 too");
}

fn lost_update_message(expected: u64, got: u64) -> String {
    format!(
        "lost {} of {expected} updates (got {got}): two threads read the same value before either \
         wrote it back, so one write overwrote the other. Reading, adding and writing must be one \
         indivisible step",
        expected.saturating_sub(got)
    )
}

fn counter_never_loses_an_increment() {
    model::explore(Budget::default(), || {
        let counter = Arc::new(race_counter_model::Counter::new());
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let counter = counter.clone();
                shuttle::thread::spawn(move || {
                    counter.increment();
                    counter.increment();
                })
            })
            .collect();
        for worker in workers {
            worker.join().unwrap();
        }
        let got = counter.get();
        assert!(got == 4, "{}", lost_update_message(4, got));
    });
}

fn counter_add_never_loses_an_update() {
    model::explore(Budget::default(), || {
        let counter = Arc::new(race_counter_model::Counter::new());
        let other = counter.clone();
        let worker = shuttle::thread::spawn(move || other.add(5));
        counter.add(3);
        worker.join().unwrap();
        let got = counter.get();
        assert!(
            got == 8,
            "add(3) and add(5) ran at the same time and left {got}, not 8: one thread read the old \
             value before the other wrote its sum back, and its write erased the other's. \
             Reading, adding and writing must be one indivisible step"
        );
    });
}

fn count_concurrently_counts_everything_under_the_model() {
    model::explore(Budget::default(), || {
        let got = race_counter_model::count_concurrently(2, 3);
        assert!(got == 6, "count_concurrently(2, 3): {}", lost_update_message(6, got));
    });
}

fn stress_count_concurrently_on_real_threads() {
    let expected = STRESS_THREADS as u64 * STRESS_PER_THREAD;
    let got = race_counter::count_concurrently(STRESS_THREADS, STRESS_PER_THREAD);
    assert!(got == expected, "on real threads: {}", lost_update_message(expected, got));
}

harness::hidden_tests![
    counter_starts_at_zero_and_counts_alone,
    counter_never_loses_an_increment,
    counter_add_never_loses_an_update,
    run_concurrently_runs_every_index_once,
    run_concurrently_runs_all_threads_at_once,
    run_concurrently_propagates_a_panic,
    count_concurrently_counts_everything_under_the_model,
    stress_count_concurrently_on_real_threads,
];
