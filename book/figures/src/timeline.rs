//! Who ran when: the thread-activity timeline behind the concurrency-versus-parallelism figure.
//!
//! Each thread does its work in short slices and notes when each slice started and ended. Under
//! one global lock, as CPython's GIL does it, the slices of different threads never overlap:
//! the threads are concurrent but not parallel. Without the lock they overlap on every core.

use std::thread;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, MutexGuard};

use crate::workload::cpu_task;

/// What a thread was doing during a slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// Running the CPU-bound task.
    Compute,
    /// Waiting, as for a disk or a network: a sleep that holds no lock.
    Wait,
}

/// One stretch of one thread's activity, in milliseconds since the threads were released.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slice {
    pub thread: usize,
    pub activity: Activity,
    pub start_ms: f64,
    pub end_ms: f64,
}

/// The three runs the figure compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// CPU-bound slices, each run while holding one global lock: a simulated GIL.
    GlobalLockCpuBound,
    /// Short CPU slices under the global lock, each followed by a wait that releases it.
    GlobalLockIoBound,
    /// CPU-bound slices on plain Rust threads, with no lock at all.
    FreeThreadsCpuBound,
}

impl Scenario {
    pub const ALL: [Scenario; 3] = [
        Scenario::GlobalLockCpuBound,
        Scenario::GlobalLockIoBound,
        Scenario::FreeThreadsCpuBound,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Scenario::GlobalLockCpuBound => {
                "CPU-bound under one global lock, like the GIL: concurrent, not parallel"
            }
            Scenario::GlobalLockIoBound => {
                "I/O-bound under one global lock: the waits overlap, so concurrency still pays"
            }
            Scenario::FreeThreadsCpuBound => "CPU-bound on Rust threads, no global lock: parallel",
        }
    }
}

/// How much work a recorded run does.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub threads: usize,
    pub slices_per_thread: usize,
    /// Iterations of [`cpu_task`] in one compute slice.
    pub slice_work: u64,
    /// How long one wait lasts in [`Scenario::GlobalLockIoBound`].
    pub wait: Duration,
}

/// Runs `scenario` on `sizes.threads` threads and returns every slice, in no particular order.
pub fn record(scenario: Scenario, sizes: Sizes) -> Vec<Slice> {
    let global_lock = Mutex::new(());
    let uses_lock = scenario != Scenario::FreeThreadsCpuBound;
    let barrier = std::sync::Barrier::new(sizes.threads);
    let origin = Instant::now();
    let mut slices: Vec<Slice> = thread::scope(|scope| {
        let workers: Vec<_> = (0..sizes.threads)
            .map(|thread| {
                let global_lock = &global_lock;
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    let millis =
                        |instant: Instant| instant.duration_since(origin).as_secs_f64() * 1e3;
                    let mut slices = Vec::with_capacity(2 * sizes.slices_per_thread);
                    for _ in 0..sizes.slices_per_thread {
                        let guard = uses_lock.then(|| global_lock.lock());
                        let start = Instant::now();
                        std::hint::black_box(cpu_task(sizes.slice_work));
                        let end = Instant::now();
                        // A fair unlock hands the lock to a waiting thread, the way CPython's
                        // switch interval makes a running thread give the GIL up.
                        if let Some(guard) = guard {
                            MutexGuard::unlock_fair(guard);
                        }
                        slices.push(Slice {
                            thread,
                            activity: Activity::Compute,
                            start_ms: millis(start),
                            end_ms: millis(end),
                        });
                        if scenario == Scenario::GlobalLockIoBound {
                            let start = Instant::now();
                            thread::sleep(sizes.wait);
                            slices.push(Slice {
                                thread,
                                activity: Activity::Wait,
                                start_ms: millis(start),
                                end_ms: millis(Instant::now()),
                            });
                        }
                    }
                    slices
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().expect("a timeline thread panicked"))
            .collect()
    });
    // Time zero is the first slice, not the spawning of threads before the barrier.
    let first = slices
        .iter()
        .map(|slice| slice.start_ms)
        .fold(f64::INFINITY, f64::min);
    for slice in &mut slices {
        slice.start_ms -= first;
        slice.end_ms -= first;
    }
    slices
}

/// The longest time during which two threads computed at once, in milliseconds.
///
/// Zero under the global lock, by construction; the book quotes it for the free threads.
pub fn overlapping_compute_ms(slices: &[Slice]) -> f64 {
    let compute: Vec<_> = slices
        .iter()
        .filter(|slice| slice.activity == Activity::Compute)
        .collect();
    let mut overlap = 0.0f64;
    for (index, first) in compute.iter().enumerate() {
        for second in &compute[index + 1..] {
            if first.thread != second.thread {
                let both = first.end_ms.min(second.end_ms) - first.start_ms.max(second.start_ms);
                overlap = overlap.max(both);
            }
        }
    }
    overlap
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: Sizes = Sizes {
        threads: 2,
        slices_per_thread: 3,
        slice_work: 1_000,
        wait: Duration::from_micros(200),
    };

    #[test]
    fn under_the_global_lock_no_two_threads_ever_compute_at_once() {
        for scenario in [Scenario::GlobalLockCpuBound, Scenario::GlobalLockIoBound] {
            let slices = record(scenario, TINY);
            let overlap = overlapping_compute_ms(&slices);
            assert_eq!(
                overlap, 0.0,
                "{scenario:?}: two threads computed at once for {overlap} ms although every \
                 compute slice holds the global lock"
            );
        }
    }

    #[test]
    fn every_thread_records_every_slice() {
        let slices = record(Scenario::GlobalLockIoBound, TINY);
        for thread in 0..TINY.threads {
            let count = |activity| {
                slices
                    .iter()
                    .filter(|slice| slice.thread == thread && slice.activity == activity)
                    .count()
            };
            assert_eq!(count(Activity::Compute), TINY.slices_per_thread);
            assert_eq!(
                count(Activity::Wait),
                TINY.slices_per_thread,
                "the I/O-bound run waits after every compute slice"
            );
        }
        assert!(
            slices.iter().all(|slice| slice.start_ms <= slice.end_ms),
            "a slice ended before it started: {slices:?}"
        );
    }
}
