//! The code of the concept chapter "Patterns", compiled and tested: fan-out/fan-in, a
//! supervisor that restarts a failing worker with backoff, work stealing, and CPU affinity.

use std::time::Duration;

// ANCHOR: fan_out_fan_in
/// Fan-out: `workers` threads take jobs from one shared channel (crossbeam's
/// channels have many receivers, like Python's `queue.Queue`). Fan-in: every result
/// goes back over a second channel and is folded in one place, in whatever order it
/// arrives.
pub fn sum_of_squares(jobs: Vec<u64>, workers: usize) -> u64 {
    let (job_sender, job_receiver) = crossbeam_channel::bounded::<u64>(workers * 2);
    let (result_sender, result_receiver) = crossbeam_channel::unbounded::<u64>();
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            let (jobs, results) = (job_receiver.clone(), result_sender.clone());
            scope.spawn(move || {
                for job in jobs {
                    if results.send(job * job).is_err() {
                        return; // nobody collects any more
                    }
                }
            });
        }
        // Only the workers may keep these ends open, or the loops below never end.
        drop((job_receiver, result_sender));
        scope.spawn(move || {
            for job in jobs {
                job_sender
                    .send(job)
                    .expect("the workers outlive the feeder");
            }
        });
        result_receiver.iter().sum()
    })
}
// ANCHOR_END: fan_out_fan_in

// ANCHOR: supervisor
/// How a supervisor restarts a worker that failed.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
    pub max_restarts: u32,
}

/// Runs `work` on a thread of its own; when it panics or returns `Err`, waits
/// (doubling the wait each time, up to `max`) and starts it again, at most
/// `max_restarts` times. Returns the result of the last run and the waits it made.
/// `sleep` is a parameter so that tests (and this book) need not wait for real.
pub fn supervise<T, E>(
    backoff: Backoff,
    work: impl Fn(u32) -> Result<T, E> + Send + Sync,
    sleep: impl Fn(Duration),
) -> (Result<T, String>, Vec<Duration>)
where
    T: Send,
    E: std::fmt::Display + Send,
{
    let mut waits = Vec::new();
    let mut wait = backoff.first;
    for attempt in 0.. {
        let outcome = std::thread::scope(|scope| scope.spawn(|| work(attempt)).join());
        let failure = match outcome {
            Ok(Ok(value)) => return (Ok(value), waits),
            Ok(Err(error)) => error.to_string(),
            Err(_panic) => format!("attempt {attempt} panicked"),
        };
        if attempt == backoff.max_restarts {
            return (Err(failure), waits);
        }
        sleep(wait);
        waits.push(wait);
        wait = (wait * 2).min(backoff.max);
    }
    unreachable!("the loop returns by attempt max_restarts")
}
// ANCHOR_END: supervisor

// ANCHOR: work_stealing
/// Work stealing with crossbeam's deques: each worker pops from the front of its
/// own deque and, when that is empty, takes a batch from the shared injector or
/// steals from another worker's back. A task may push more tasks (here: split a
/// range in two), which land on the local deque, so a busy worker's surplus is what
/// idle workers steal.
pub fn count_primes(below: u64, workers: usize) -> u64 {
    use crossbeam::deque::{Injector, Steal, Worker};
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    let injector = Injector::new();
    injector.push(2..below);
    let locals: Vec<Worker<std::ops::Range<u64>>> =
        (0..workers.max(1)).map(|_| Worker::new_fifo()).collect();
    let stealers: Vec<_> = locals.iter().map(Worker::stealer).collect();
    let (primes, pending) = (AtomicU64::new(0), AtomicUsize::new(1));
    std::thread::scope(|scope| {
        for local in locals {
            let (injector, stealers, primes, pending) = (&injector, &stealers, &primes, &pending);
            scope.spawn(move || {
                // Ends when no task is queued or running anywhere.
                while pending.load(Ordering::SeqCst) > 0 {
                    let task = local.pop().or_else(|| {
                        std::iter::repeat_with(|| {
                            injector
                                .steal_batch_and_pop(&local)
                                .or_else(|| stealers.iter().map(|s| s.steal()).collect())
                        })
                        .find(|steal| !steal.is_retry())
                        .and_then(Steal::success)
                    });
                    let Some(range) = task else {
                        std::thread::yield_now();
                        continue;
                    };
                    if range.end - range.start > 1_000 {
                        let middle = range.start + (range.end - range.start) / 2;
                        pending.fetch_add(2, Ordering::SeqCst);
                        local.push(range.start..middle);
                        local.push(middle..range.end);
                    } else {
                        let found = range.filter(|&n| is_prime(n)).count() as u64;
                        primes.fetch_add(found, Ordering::SeqCst);
                    }
                    pending.fetch_sub(1, Ordering::SeqCst);
                }
            });
        }
    });
    primes.into_inner()
}

fn is_prime(n: u64) -> bool {
    n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
}
// ANCHOR_END: work_stealing

// ANCHOR: affinity
/// Pins the calling thread to one CPU (Linux `sched_setaffinity`); the scheduler
/// then never moves it. Returns the CPUs the thread was allowed before. macOS has no
/// such call: there the scheduler alone decides.
#[cfg(target_os = "linux")]
pub fn pin_current_thread(cpu: usize) -> std::io::Result<Vec<usize>> {
    // SAFETY: cpu_set_t is plain data; the calls read and write only the set we pass, for the
    // calling thread (pid 0).
    unsafe {
        let mut allowed: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut allowed) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let before = (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &allowed))
            .collect();
        let mut only = std::mem::zeroed::<libc::cpu_set_t>();
        libc::CPU_SET(cpu, &mut only);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &only) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(before)
    }
}
// ANCHOR_END: affinity

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn fan_out_fan_in_sums_every_job_once() {
        let jobs: Vec<u64> = (1..=1000).collect();
        let expected: u64 = jobs.iter().map(|j| j * j).sum();
        for workers in [1, 3, 8] {
            assert_eq!(sum_of_squares(jobs.clone(), workers), expected);
        }
        assert_eq!(sum_of_squares(Vec::new(), 4), 0);
    }

    #[test]
    fn supervisor_restarts_with_doubling_capped_backoff() {
        let backoff = Backoff {
            first: Duration::from_millis(100),
            max: Duration::from_millis(300),
            max_restarts: 5,
        };
        let runs = AtomicU32::new(0);
        let slept = RefCell::new(Vec::new());
        let (result, waits) = supervise(
            backoff,
            |attempt| {
                runs.fetch_add(1, Ordering::SeqCst);
                match attempt {
                    0 => panic!("the worker crashed"),
                    1 | 2 => Err(format!("attempt {attempt} failed")),
                    _ => Ok(attempt),
                }
            },
            |wait| slept.borrow_mut().push(wait),
        );
        assert_eq!(result, Ok(3));
        assert_eq!(runs.load(Ordering::SeqCst), 4);
        let ms = |m| Duration::from_millis(m);
        assert_eq!(waits, [ms(100), ms(200), ms(300)]);
        assert_eq!(*slept.borrow(), waits);

        let (gave_up, waits) = supervise(
            Backoff {
                max_restarts: 2,
                ..backoff
            },
            |attempt| Err::<(), _>(format!("attempt {attempt} failed")),
            |_| {},
        );
        assert_eq!(gave_up, Err("attempt 2 failed".to_owned()));
        assert_eq!(waits.len(), 2);
    }

    #[test]
    fn work_stealing_counts_every_prime_once() {
        let serial = (2..50_000).filter(|&n| is_prime(n)).count() as u64;
        assert_eq!(serial, 5133);
        for workers in [1, 2, 4] {
            assert_eq!(count_primes(50_000, workers), serial);
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_pinned_thread_runs_on_its_cpu() {
        std::thread::spawn(|| {
            // CPU 0 may be outside this container's set: take the first allowed
            // one.
            let cpu = first_allowed_cpu();
            let before = pin_current_thread(cpu).expect("an allowed CPU can be pinned");
            assert!(before.contains(&cpu));
            for _ in 0..100 {
                std::thread::yield_now();
                // SAFETY: sched_getcpu has no preconditions.
                assert_eq!(unsafe { libc::sched_getcpu() }, cpu as i32);
            }
        })
        .join()
        .unwrap();
    }

    #[cfg(target_os = "linux")]
    fn first_allowed_cpu() -> usize {
        // SAFETY: as in pin_current_thread.
        unsafe {
            let mut allowed: libc::cpu_set_t = std::mem::zeroed();
            libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut allowed);
            (0..libc::CPU_SETSIZE as usize)
                .find(|&c| libc::CPU_ISSET(c, &allowed))
                .expect("a thread is allowed on some CPU")
        }
    }
}
