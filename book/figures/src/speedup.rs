//! Speedup against thread count, measured, next to what Amdahl's law predicts.

use std::thread;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, MutexGuard};

use crate::workload::{cpu_task, fastest_interleaved};

// ANCHOR: amdahl
/// Amdahl's law: the speedup on `workers` workers of a job whose `serial_fraction` cannot be
/// split, when the rest divides perfectly.
pub fn amdahl_speedup(serial_fraction: f64, workers: usize) -> f64 {
    1.0 / (serial_fraction + (1.0 - serial_fraction) / workers as f64)
}
// ANCHOR_END: amdahl

/// One measured job: a serial part on the calling thread, then a part split over workers.
#[derive(Debug, Clone, Copy)]
pub struct Job {
    /// Iterations of [`cpu_task`] the whole job does, serial part included.
    pub total_work: u64,
    /// The share of `total_work` done before the split, on one thread.
    pub serial_fraction: f64,
    /// Whether every chunk of the parallel part must hold one global lock, as under a GIL.
    pub global_lock: bool,
}

/// How many chunks each worker's share is cut into when the global lock is in use, so that
/// the lock changes hands often, as the GIL does every few milliseconds.
const CHUNKS_PER_WORKER: u64 = 64;

impl Job {
    /// Runs the job once on `workers` threads and returns how long it took.
    pub fn run(&self, workers: usize) -> Duration {
        let serial_work = (self.total_work as f64 * self.serial_fraction) as u64;
        let share = (self.total_work - serial_work) / workers as u64;
        let global_lock = Mutex::new(());
        let start = Instant::now();
        std::hint::black_box(cpu_task(serial_work));
        thread::scope(|scope| {
            for _ in 0..workers {
                let global_lock = &global_lock;
                scope.spawn(move || {
                    if self.global_lock {
                        let chunk = (share / CHUNKS_PER_WORKER).max(1);
                        let mut done = 0;
                        while done < share {
                            let guard = global_lock.lock();
                            std::hint::black_box(cpu_task(chunk.min(share - done)));
                            MutexGuard::unlock_fair(guard);
                            done += chunk;
                        }
                    } else {
                        std::hint::black_box(cpu_task(share));
                    }
                });
            }
        });
        start.elapsed()
    }

    /// The speedup `T(1) / T(workers)` for every worker count in `1..=max_workers`, each time
    /// the fastest of `repeats` interleaved runs so that a moment of noise counts less.
    pub fn speedups(&self, max_workers: usize, repeats: usize) -> Vec<(usize, f64)> {
        let times = fastest_interleaved(max_workers, repeats, |variant| {
            Ok::<_, std::convert::Infallible>(self.run(variant + 1))
        })
        .unwrap_or_else(|never| match never {});
        let times: Vec<_> = (1..=max_workers).zip(times).collect();
        let serial = times[0].1.as_secs_f64();
        times
            .into_iter()
            .map(|(workers, time)| (workers, serial / time.as_secs_f64()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amdahl_matches_the_worked_examples() {
        assert_eq!(
            amdahl_speedup(0.0, 4),
            4.0,
            "no serial part: perfect scaling"
        );
        assert_eq!(amdahl_speedup(1.0, 4), 1.0, "all serial: no speedup at all");
        let five_percent = amdahl_speedup(0.05, 1_000_000);
        assert!(
            (five_percent - 20.0).abs() < 0.01,
            "5% serial caps the speedup at 1 / 0.05 = 20, got {five_percent}"
        );
    }

    #[test]
    fn speedups_start_at_one_worker_and_cover_every_count() {
        let job = Job {
            total_work: 10_000,
            serial_fraction: 0.25,
            global_lock: true,
        };
        let speedups = job.speedups(3, 1);
        let workers: Vec<_> = speedups.iter().map(|(workers, _)| *workers).collect();
        assert_eq!(workers, [1, 2, 3]);
        assert_eq!(speedups[0].1, 1.0, "T(1) / T(1) is 1 by definition");
    }
}
