//! The measuring half of the speedup timer: one test process, one batch of timed rounds.
//!
//! The grader decides whether a learner's code speeds up (see `grader::timing`); this module
//! only measures, inside the hidden test binary, built in release mode. The grader starts
//! `BINARY --run NAME --speedup-workers P --speedup-rounds R`, and a timing test calls
//! [`measure_speedup`] with a closure that runs the learner's code on a fixed CPU-bound job
//! with a given number of workers. [`measure_speedup`] then:
//!
//! 1. warms up: runs the learner's job once with 1 worker and once with `P`, which also says
//!    how long one serial run takes;
//! 2. sizes the grader's own reference kernel (an embarrassingly parallel integer loop on
//!    scoped threads) so that its serial run takes about as long as the learner's;
//! 3. runs `R` interleaved rounds of {learner 1 worker, learner P, reference 1, reference P},
//!    rotating the order each round so that no kind of run always follows the same neighbour,
//!    and records the wall time and the CPU time (this process and its reaped children) of each.
//!
//! The samples travel to the grader in the nonce-carrying report ([`crate::Report::speedup`]).
//! Interleaving matters: a burst of load from elsewhere hits all four kinds of run alike, so the
//! learner's speedup and the machine's speedup are measured under the same conditions.

use std::hint::black_box;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Wall time and CPU time of one timed run.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Sample {
    pub wall_ns: u64,
    /// User plus system time of this process and of every child it reaped during the run.
    pub cpu_ns: u64,
}

/// One interleaved round: the learner and the reference, each serial and parallel.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Round {
    pub learner_serial: Sample,
    pub learner_parallel: Sample,
    pub reference_serial: Sample,
    pub reference_parallel: Sample,
}

/// Everything one timing process measured.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SpeedupSamples {
    /// The `P` of "learner P workers".
    pub workers: usize,
    pub rounds: Vec<Round>,
}

/// What the grader asked for on the command line.
#[derive(Debug, Clone, Copy)]
struct Request {
    workers: usize,
    rounds: usize,
}

static REQUEST: Mutex<Option<Request>> = Mutex::new(None);
static SAMPLES: Mutex<Option<SpeedupSamples>> = Mutex::new(None);

/// Reads `--speedup-workers P --speedup-rounds R` after `--run NAME`. No options at all is an
/// ordinary correctness run.
pub(crate) fn configure(options: &[String]) -> Result<(), String> {
    if options.is_empty() {
        return Ok(());
    }
    let mut workers = None;
    let mut rounds = None;
    let mut pairs = options.chunks(2);
    for pair in &mut pairs {
        let [flag, value] = pair else {
            return Err(format!("`{}` needs a value", pair[0]));
        };
        let value: usize = value
            .parse()
            .ok()
            .filter(|v| *v > 0)
            .ok_or_else(|| format!("`{flag} {value}`: the value must be a positive integer"))?;
        match flag.as_str() {
            "--speedup-workers" => workers = Some(value),
            "--speedup-rounds" => rounds = Some(value),
            other => return Err(format!("unknown option `{other}` after `--run NAME`")),
        }
    }
    match (workers, rounds) {
        (Some(workers), Some(rounds)) => {
            *REQUEST.lock().unwrap_or_else(|e| e.into_inner()) = Some(Request { workers, rounds });
            Ok(())
        }
        _ => Err("the speedup timer needs both --speedup-workers and --speedup-rounds".into()),
    }
}

/// The samples [`measure_speedup`] recorded, for the report.
pub(crate) fn take_samples() -> Option<SpeedupSamples> {
    SAMPLES.lock().unwrap_or_else(|e| e.into_inner()).take()
}

/// Times `run_job(workers)` against the grader's reference kernel, as the grader asked.
///
/// `run_job` must do the same total amount of CPU-bound work whatever `workers` is, check its
/// own result (a fast wrong answer must not count), and clean up after itself (a pool it
/// starts, it also shuts down), so that every run costs the same.
///
/// Panics when the binary was not started by the grader's speedup timer: a timing test means
/// nothing in a debug build or without the reference measured alongside it.
pub fn measure_speedup(mut run_job: impl FnMut(usize)) {
    let request = REQUEST
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .expect("this is a timing test: the grader runs it with --speedup-workers and --speedup-rounds in a release build");
    let workers = request.workers;

    let serial_estimate = time(|| run_job(1)).0;
    time(|| run_job(workers));
    let reference_iterations = size_reference_kernel(serial_estimate);

    let mut rounds = Vec::with_capacity(request.rounds);
    for round in 0..request.rounds {
        let mut samples = [None; 4];
        for step in 0..4 {
            let kind = (round + step) % 4;
            let sample = match kind {
                0 => time(|| run_job(1)).1,
                1 => time(|| run_job(workers)).1,
                2 => time(|| reference_kernel(reference_iterations, 1)).1,
                _ => time(|| reference_kernel(reference_iterations, workers)).1,
            };
            samples[kind] = Some(sample);
        }
        let [Some(learner_serial), Some(learner_parallel), Some(reference_serial), Some(reference_parallel)] =
            samples
        else {
            unreachable!("every round runs each of the four kinds once");
        };
        rounds.push(Round {
            learner_serial,
            learner_parallel,
            reference_serial,
            reference_parallel,
        });
    }
    *SAMPLES.lock().unwrap_or_else(|e| e.into_inner()) = Some(SpeedupSamples { workers, rounds });
}

/// Runs `work` once and returns its wall time and its sample.
fn time(work: impl FnOnce()) -> (Duration, Sample) {
    let cpu_before = crate::measure::cpu_time_with_children();
    let started = Instant::now();
    work();
    let wall = started.elapsed();
    let cpu = crate::measure::cpu_time_with_children().saturating_sub(cpu_before);
    (
        wall,
        Sample {
            wall_ns: wall.as_nanos() as u64,
            cpu_ns: cpu.as_nanos() as u64,
        },
    )
}

/// Iterations of the reference kernel whose serial run takes about `target`. Measured, not
/// assumed, because machines differ by an order of magnitude.
fn size_reference_kernel(target: Duration) -> u64 {
    const PROBE_ITERATIONS: u64 = 2_000_000;
    let mut probe = time(|| reference_kernel(PROBE_ITERATIONS, 1)).0;
    // One more probe keeps a single unlucky preemption from skewing the size.
    probe = probe.min(time(|| reference_kernel(PROBE_ITERATIONS, 1)).0);
    let per_iteration = probe.as_secs_f64() / PROBE_ITERATIONS as f64;
    ((target.as_secs_f64() / per_iteration.max(1e-12)) as u64).max(PROBE_ITERATIONS)
}

/// The grader's embarrassingly parallel kernel: `iterations` steps of an integer hash, split
/// evenly over `workers` scoped threads that share nothing. Its speedup is what this machine
/// can give right now.
fn reference_kernel(iterations: u64, workers: usize) {
    let share = iterations / workers as u64;
    std::thread::scope(|scope| {
        for worker in 0..workers {
            scope.spawn(move || {
                let mut state = black_box(worker as u64 + 1);
                for _ in 0..share {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                }
                black_box(state);
            });
        }
    });
}
