//! The speedup timer: does the learner's parallel code really run faster, on this machine, now?
//!
//! A fixed threshold cannot be decided on a noisy two-core machine, so every decision is
//! calibrated in the same run. The hidden test binary, built in release mode, measures
//! interleaved rounds of {learner 1 worker, learner `p` workers, reference kernel 1, reference
//! kernel `p`} (see `harness::timing`). From the fastest run of each kind:
//!
//! - `S = min(T1) / min(Tp)` is the learner's speedup;
//! - `S_ref` is the same ratio for the grader's embarrassingly parallel kernel: what the
//!   machine can give right now;
//! - `τ = max(1.2, 1 + α·(S_ref − 1))` is the speedup expected, with `α` from the exercise's
//!   metadata (how much of the machine's parallelism the exercise can reasonably reach).
//!
//! The minimum of several runs is used because noise only ever makes a run slower. One
//! measuring process is an *attempt*. Whether the machine lets an attempt judge anything is
//! decided from the reference kernel alone, never from the learner's runs, which the code under
//! test could make jitter on purpose:
//!
//! - `p == 1`: nothing to measure, `inconclusive (1 core)`.
//! - *Busy*: `S_ref` below [`usable_below`] or above [`impossible_above`], or the reference runs
//!   of one kind varied by more than [`MAX_SPREAD`]. Nothing is judged: wait (longer each
//!   time) and try again. When every attempt was busy, the verdict is `inconclusive (machine
//!   busy)`: a correct solution is never failed for someone else's load.
//! - *Quiet*: `S_ref` at least [`busy_below`] (half of the ideal gain). `S ≥ τ` passes; below
//!   `τ` counts against the code.
//! - *Loaded*: `S_ref` usable but below [`busy_below`], as with one CPU hog on two cores.
//!   `S ≥ τ` still passes (τ has its 1.2 floor); anything below is undecided and retried like
//!   a busy attempt, never counted against the code. On a loaded machine the scheduler, not
//!   the code, decides whether the learner's workers share a core: with one `yes` on 2 cores,
//!   05's reference solution measured 0.99–1.05× in 11 of 20 decisions while the grader's
//!   reference reached 1.15–1.19× in the same attempts (the three busy tasks sit 2 + 1 on the
//!   cores, and the balancer has no reason to move them). A serial pool measures the same
//!   0.99–1.00×, so no rule on these numbers can tell the two apart; the clock-free structural
//!   tests do.
//! - An attempt whose own runs (the learner's) varied by more than [`MAX_SPREAD`] is undecided
//!   whatever its speedup: load lasting through all five serial runs made a serial pool look
//!   2.14× faster once (one CPU hog and ~10 other runnable processes on 2 cores), and load
//!   through the parallel runs makes parallel code look serial.
//! - It fails only after [`FAILS_NEEDED`] attempts counted against the code.
//!
//! Timing never stands alone: each timing exercise also has structural tests that do not depend
//! on the clock (which processes did the work, and that the parent did none), so a serial
//! solution fails even when the timer can only say `inconclusive`.

use std::time::Duration;

use harness::timing::{Sample, SpeedupSamples};
use serde::Serialize;

use crate::suite::SpeedupMeta;
use crate::verdict::Verdict;
use crate::Result;

/// The floor of the threshold: below a 1.2× speedup nobody can tell parallel code from noise.
pub const MIN_THRESHOLD: f64 = 1.2;
/// Measuring processes started at most for one decision.
pub const MAX_ATTEMPTS: usize = 4;
/// Conclusive attempts below the threshold needed to fail.
pub const FAILS_NEEDED: usize = 2;
/// Interleaved rounds in one measuring process.
pub const ROUNDS_PER_ATTEMPT: usize = 5;
/// The most the typical run of a kind may be slower than the fastest (as a fraction) for an
/// attempt to count. Beyond it the fastest run is itself luck, and so is any ratio of two.
pub const MAX_SPREAD: f64 = 0.25;
/// The first wait after a busy attempt; each later wait doubles it.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// The reference speedup below which the machine counts as loaded: half of the ideal gain.
/// On two cores a reference below 1.5× means something else holds one of them.
pub fn busy_below(workers: usize) -> f64 {
    1.0 + 0.5 * (workers as f64 - 1.0)
}

/// The reference speedup below which nothing can be judged: less than 15% of the ideal gain
/// is too close to no gain at all to tell parallel code from serial code.
pub fn usable_below(workers: usize) -> f64 {
    1.0 + 0.15 * (workers as f64 - 1.0)
}

/// A reference speedup above this is impossible on `workers` cores: something slowed the
/// serial reference runs, and the threshold computed from it would be unfair.
pub fn impossible_above(workers: usize) -> f64 {
    workers as f64 * 1.1
}

/// The speedup expected of the learner: `τ = max(1.2, 1 + α·(S_ref − 1))`.
pub fn threshold(alpha: f64, reference_speedup: f64) -> f64 {
    (1.0 + alpha * (reference_speedup - 1.0)).max(MIN_THRESHOLD)
}

/// What one attempt measured, reduced to the numbers a learner is shown.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Measurement {
    /// `p`: the workers of the parallel runs.
    pub workers: usize,
    /// `S`, the learner's speedup.
    pub speedup: f64,
    /// `S_ref`, the reference kernel's speedup.
    pub reference_speedup: f64,
    /// `τ`, the speedup expected.
    pub threshold: f64,
    /// CPU time over wall time of the learner's fastest parallel run: about `p` when every
    /// worker computed the whole time, about 1 when one did all the work.
    pub cpu_per_wall: f64,
    /// How much slower than the fastest the typical run of a kind was, as a fraction (0.05 is
    /// 5%), worst over the four kinds: the noise of this attempt, as the learner is told it.
    pub spread: f64,
    /// The same, over the two kinds of reference runs only: what decides whether the machine
    /// was too noisy, since the code under test cannot influence it.
    pub reference_spread: f64,
    /// The same, over the learner's two kinds of runs: a noisy attempt never counts against
    /// the code (but never makes the machine busy either).
    pub learner_spread: f64,
    /// The learner's fastest serial run, in milliseconds.
    pub serial_ms: f64,
}

impl Measurement {
    /// Reduces one attempt's samples; `None` when there were no rounds.
    pub fn from_samples(samples: &SpeedupSamples, alpha: f64) -> Option<Measurement> {
        let kinds: [Vec<Sample>; 4] = [
            samples.rounds.iter().map(|r| r.learner_serial).collect(),
            samples.rounds.iter().map(|r| r.learner_parallel).collect(),
            samples.rounds.iter().map(|r| r.reference_serial).collect(),
            samples
                .rounds
                .iter()
                .map(|r| r.reference_parallel)
                .collect(),
        ];
        let fastest: Vec<Sample> = kinds
            .iter()
            .map(|kind| kind.iter().copied().min_by_key(|s| s.wall_ns))
            .collect::<Option<_>>()?;
        let ratio = |a: u64, b: u64| a as f64 / (b.max(1)) as f64;
        let speedup = ratio(fastest[0].wall_ns, fastest[1].wall_ns);
        let reference_speedup = ratio(fastest[2].wall_ns, fastest[3].wall_ns);
        let spreads: Vec<f64> = kinds
            .iter()
            .zip(&fastest)
            .map(|(kind, best)| ratio(median_wall(kind), best.wall_ns) - 1.0)
            .collect();
        let spread = spreads.iter().copied().fold(0.0, f64::max);
        let reference_spread = spreads[2].max(spreads[3]);
        let learner_spread = spreads[0].max(spreads[1]);
        Some(Measurement {
            workers: samples.workers,
            speedup,
            reference_speedup,
            threshold: threshold(alpha, reference_speedup),
            cpu_per_wall: ratio(fastest[1].cpu_ns, fastest[1].wall_ns),
            spread,
            reference_spread,
            learner_spread,
            serial_ms: fastest[0].wall_ns as f64 / 1e6,
        })
    }

    /// The machine was too busy for this attempt to judge anything: the reference could
    /// barely speed up, sped up impossibly, or its runs were too noisy for their fastest to
    /// mean much. Only the reference decides this; the learner's runs never do.
    pub fn busy(&self) -> bool {
        self.reference_speedup < usable_below(self.workers)
            || self.reference_speedup > impossible_above(self.workers)
            || self.reference_spread > MAX_SPREAD
    }

    /// Usable, but something else held part of the machine: the reference reached less than
    /// half of the ideal gain.
    pub fn loaded(&self) -> bool {
        !self.busy() && self.reference_speedup < busy_below(self.workers)
    }

    pub fn fast_enough(&self) -> bool {
        self.speedup >= self.threshold
    }

    /// What this attempt says about the code.
    pub fn judge(&self) -> Judgement {
        if self.busy() {
            Judgement::Busy
        } else if self.learner_spread > MAX_SPREAD {
            // Load that lasts through all the serial runs can make serial code look fast, and
            // load through the parallel runs parallel code look slow: the fastest run of a
            // noisy kind means nothing either way.
            Judgement::Undecided
        } else if self.fast_enough() {
            Judgement::Fast
        } else if self.loaded() {
            // Below the bar on a loaded machine says nothing: a correct pool whose workers the
            // scheduler put on one core measures exactly what a serial pool does.
            Judgement::Undecided
        } else {
            Judgement::Slow
        }
    }

    /// The measurement in one sentence a learner understands.
    pub fn sentence(&self) -> String {
        format!(
            "your code ran {:.2}× faster with {} workers than with 1; this machine can give {:.2}× \
             right now; at least {:.2}× is expected. With {} workers it used {:.2} s of CPU per \
             second of wall time; runs varied by {:.0}% (1 worker: {:.0} ms)",
            self.speedup,
            self.workers,
            self.reference_speedup,
            self.threshold,
            self.workers,
            self.cpu_per_wall,
            self.spread * 100.0,
            self.serial_ms
        )
    }
}

/// What one attempt says about the code under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judgement {
    /// The machine could not show a speedup: nothing is judged.
    Busy,
    /// At least the speedup expected.
    Fast,
    /// Below it on a quiet machine, with steady runs of the code: counts against the code.
    Slow,
    /// Below it on a loaded machine, or with the code's own runs too noisy to trust their
    /// fastest: could be either, so try again. Code that makes its own runs
    /// jitter gains only this; the clock-free tests still fail serial code.
    Undecided,
}

fn median_wall(samples: &[Sample]) -> u64 {
    let mut walls: Vec<u64> = samples.iter().map(|s| s.wall_ns).collect();
    walls.sort_unstable();
    walls[walls.len() / 2]
}

/// What one measuring process gave.
#[derive(Debug, Clone)]
pub enum Attempt {
    /// It finished and measured.
    Measured(Measurement),
    /// It did not get as far as measuring: the code panicked, failed an assertion, timed
    /// out, crashed or leaked. That verdict stands, whatever the clock says.
    Failed(Verdict),
}

/// The timer's decision and the lines the learner reads with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub verdict: Verdict,
    pub notes: Vec<String>,
}

/// Decides from attempts, asking `attempt` for one more while undecided and calling `wait`
/// between a busy attempt and the next. Kept free of processes and clocks so the rules can be
/// tested with made-up numbers.
pub fn decide(
    workers: usize,
    mut attempt: impl FnMut() -> Result<Attempt>,
    mut wait: impl FnMut(Duration),
) -> Result<Decision> {
    if workers < 2 {
        return Ok(Decision {
            verdict: Verdict::Inconclusive {
                reason: "1 core: this machine (or its CPU quota) offers one core, so no speedup \
                         can be measured; the structural tests still check your workers"
                    .into(),
            },
            notes: Vec::new(),
        });
    }
    let mut notes = Vec::new();
    let mut below = Vec::new();
    let mut backoff = FIRST_BACKOFF;
    for number in 1..=MAX_ATTEMPTS {
        let measurement = match attempt()? {
            Attempt::Failed(verdict) => return Ok(Decision { verdict, notes }),
            Attempt::Measured(measurement) => measurement,
        };
        let judgement = measurement.judge();
        match judgement {
            Judgement::Busy | Judgement::Undecided => {
                notes.push(match judgement {
                    Judgement::Busy => format!(
                        "attempt {number}: the machine was busy (the grader's reference reached \
                         {:.2}×, {:.2}× to {:.2}× is needed to judge; its runs varied by {:.0}%, \
                         at most {:.0}% is; your code {:.2}×)",
                        measurement.reference_speedup,
                        usable_below(workers),
                        impossible_above(workers),
                        measurement.reference_spread * 100.0,
                        MAX_SPREAD * 100.0,
                        measurement.speedup
                    ),
                    _ if measurement.learner_spread > MAX_SPREAD => format!(
                        "attempt {number}: your runs varied by {:.0}% (at most {:.0}% is), so \
                         your code's {:.2}× could not be judged",
                        measurement.learner_spread * 100.0,
                        MAX_SPREAD * 100.0,
                        measurement.speedup
                    ),
                    _ => format!(
                        "attempt {number}: your code's {:.2}× is below the {:.2}× expected, but \
                         the machine was loaded (the grader's reference reached {:.2}×) and it \
                         is more than no gain at all, so it could not be judged",
                        measurement.speedup, measurement.threshold, measurement.reference_speedup
                    ),
                });
                if number < MAX_ATTEMPTS {
                    wait(backoff);
                    backoff *= 2;
                }
                continue;
            }
            Judgement::Fast => {
                notes.push(measurement.sentence());
                return Ok(Decision {
                    verdict: Verdict::Pass,
                    notes,
                });
            }
            Judgement::Slow => {}
        }
        notes.push(format!(
            "attempt {number}: your code {:.2}×, below the {:.2}× expected (the machine gave {:.2}×)",
            measurement.speedup, measurement.threshold, measurement.reference_speedup
        ));
        below.push(measurement);
        if below.len() >= FAILS_NEEDED {
            let worst = below
                .iter()
                .copied()
                .max_by(|a, b| a.speedup.total_cmp(&b.speedup))
                .expect("at least one attempt was below the threshold");
            return Ok(Decision {
                verdict: Verdict::Fail {
                    message: format!(
                        "too slow in {} of {} measurements: {}. The parallel runs are not \
                         faster, so the workers are not computing at the same time: check \
                         that tasks go to every worker and that results are collected while \
                         the workers run, not one after another",
                        below.len(),
                        number,
                        worst.sentence()
                    ),
                    replay: None,
                    interleaving: None,
                },
                notes,
            });
        }
    }
    Ok(Decision {
        verdict: Verdict::Inconclusive {
            reason: format!(
                "machine busy: in {MAX_ATTEMPTS} attempts the grader's own reference kernel never \
                 reached {:.2}× with {workers} workers with steady timings, or your code's speedup \
                 fell between clearly parallel and clearly serial, so it could not be judged; \
                 close other programs and check again",
                usable_below(workers)
            ),
        },
        notes,
    })
}

/// The workers to time with: the cores this process may use, capped by the exercise.
pub fn workers_for(speedup: &SpeedupMeta) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.min(speedup.max_workers).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::VerdictLabel;
    use harness::timing::Round;

    /// Samples of runs that took these many milliseconds, `rounds` times over, with CPU time
    /// equal to wall time times `cpu_factor` for the learner's parallel run.
    fn samples(
        workers: usize,
        times_ms: [u64; 4],
        cpu_factor: f64,
        rounds: usize,
    ) -> SpeedupSamples {
        let sample = |ms: u64, cpu: f64| Sample {
            wall_ns: ms * 1_000_000,
            cpu_ns: (ms as f64 * cpu * 1e6) as u64,
        };
        SpeedupSamples {
            workers,
            rounds: (0..rounds)
                .map(|round| Round {
                    // Later rounds are slower, as if noise crept in; the minimum ignores it.
                    learner_serial: sample(times_ms[0] + round as u64 * 7, 1.0),
                    learner_parallel: sample(times_ms[1] + round as u64 * 7, cpu_factor),
                    reference_serial: sample(times_ms[2] + round as u64 * 7, 1.0),
                    reference_parallel: sample(times_ms[3] + round as u64 * 7, 2.0),
                })
                .collect(),
        }
    }

    fn measured(times_ms: [u64; 4]) -> Attempt {
        let samples = samples(2, times_ms, 1.9, ROUNDS_PER_ATTEMPT);
        Attempt::Measured(Measurement::from_samples(&samples, 0.5).expect("has rounds"))
    }

    fn decide_from(attempts: Vec<Attempt>) -> (Decision, usize, Vec<Duration>) {
        let mut attempts = attempts.into_iter();
        let mut used = 0;
        let mut waits = Vec::new();
        let decision = decide(
            2,
            || {
                used += 1;
                Ok(attempts
                    .next()
                    .expect("the timer asked for more attempts than expected"))
            },
            |wait| waits.push(wait),
        )
        .expect("made-up attempts never fail to run");
        (decision, used, waits)
    }

    #[test]
    fn threshold_scales_with_the_machine_and_has_a_floor() {
        assert!((threshold(0.5, 2.0) - 1.5).abs() < 1e-9);
        assert_eq!(threshold(0.5, 1.1), MIN_THRESHOLD);
        assert_eq!(busy_below(2), 1.5);
        assert_eq!(busy_below(4), 2.5);
        assert!((usable_below(2) - 1.15).abs() < 1e-9);
    }

    #[test]
    fn measurement_uses_the_fastest_run_of_each_kind() {
        let measurement = Measurement::from_samples(&samples(2, [200, 110, 200, 100], 1.8, 3), 0.5)
            .expect("has rounds");
        assert!((measurement.speedup - 200.0 / 110.0).abs() < 1e-9);
        assert!((measurement.reference_speedup - 2.0).abs() < 1e-9);
        assert!((measurement.cpu_per_wall - 1.8).abs() < 1e-6);
        assert!((measurement.threshold - 1.5).abs() < 1e-9);
        assert!(
            measurement.spread > 0.0,
            "later rounds were slower, so the spread is positive"
        );
        let sentence = measurement.sentence();
        assert!(
            sentence.contains("1.82× faster with 2 workers") && sentence.contains("at least 1.50×"),
            "{sentence}"
        );
    }

    #[test]
    fn a_parallel_solution_passes_at_the_first_attempt() {
        let (decision, used, waits) = decide_from(vec![measured([200, 110, 200, 102])]);
        assert_eq!(decision.verdict, Verdict::Pass);
        assert_eq!((used, waits.len()), (1, 0));
        assert_eq!(decision.notes.len(), 1, "a pass shows its speedup sentence");
    }

    #[test]
    fn a_serial_solution_fails_only_after_two_conclusive_attempts() {
        let serial = || measured([200, 198, 200, 102]);
        let (decision, used, _) = decide_from(vec![serial(), serial()]);
        assert_eq!(decision.verdict.label(), VerdictLabel::Fail);
        assert_eq!(used, FAILS_NEEDED);
    }

    #[test]
    fn a_busy_machine_backs_off_and_ends_inconclusive_never_failed() {
        let busy = || measured([200, 190, 200, 180]);
        let (decision, used, waits) = decide_from((0..MAX_ATTEMPTS).map(|_| busy()).collect());
        assert_eq!(decision.verdict.label(), VerdictLabel::Inconclusive);
        assert_eq!(used, MAX_ATTEMPTS);
        assert_eq!(
            waits,
            vec![FIRST_BACKOFF, FIRST_BACKOFF * 2, FIRST_BACKOFF * 4]
        );
    }

    #[test]
    fn one_slow_attempt_among_busy_ones_is_not_enough_to_fail() {
        let busy = || measured([200, 190, 200, 180]);
        let slow = measured([200, 198, 200, 102]);
        let (decision, ..) = decide_from(vec![slow, busy(), busy(), busy()]);
        assert_eq!(decision.verdict.label(), VerdictLabel::Inconclusive);
    }

    #[test]
    fn a_busy_attempt_then_a_quiet_fast_one_passes() {
        let (decision, used, waits) = decide_from(vec![
            measured([200, 190, 200, 180]),
            measured([200, 105, 200, 101]),
        ]);
        assert_eq!(decision.verdict, Verdict::Pass);
        assert_eq!((used, waits.len()), (2, 1));
    }

    #[test]
    fn a_fast_looking_attempt_on_a_busy_machine_is_not_a_pass() {
        let lucky_on_busy = || measured([200, 140, 200, 190]);
        let (decision, used, _) = decide_from((0..MAX_ATTEMPTS).map(|_| lucky_on_busy()).collect());
        assert_eq!(decision.verdict.label(), VerdictLabel::Inconclusive);
        assert_eq!(used, MAX_ATTEMPTS);
    }

    #[test]
    fn noisy_reference_rounds_count_as_busy() {
        let mut noisy = samples(2, [200, 110, 200, 100], 1.8, 3);
        // Two of three reference runs took twice as long: the median is far from the fastest.
        noisy.rounds[1].reference_parallel.wall_ns *= 2;
        noisy.rounds[2].reference_parallel.wall_ns *= 2;
        let measurement = Measurement::from_samples(&noisy, 0.5).expect("has rounds");
        assert!(
            measurement.reference_spread > MAX_SPREAD,
            "spread {}",
            measurement.reference_spread
        );
        assert!(measurement.busy());
    }

    #[test]
    fn the_learners_own_jitter_never_makes_the_machine_busy_nor_fails_it() {
        // Code whose own runs jitter (by load, or on purpose to dodge the timer): the machine
        // is not busy, yet the attempt cannot count against the code; the clock-free tests
        // are what fail serial code.
        let jittery = |parallel_ms: u64| {
            let mut samples = samples(2, [200, parallel_ms, 200, 102], 1.0, ROUNDS_PER_ATTEMPT);
            for round in 1..ROUNDS_PER_ATTEMPT {
                samples.rounds[round].learner_parallel.wall_ns *= 3;
                samples.rounds[round].learner_serial.wall_ns *= 2;
            }
            Measurement::from_samples(&samples, 0.5).expect("has rounds")
        };
        assert!(!jittery(199).busy());
        assert_eq!(jittery(199).judge(), Judgement::Undecided);
        // Nor can noise make it pass: serial runs all slowed by load look like a speedup.
        assert_eq!(jittery(110).judge(), Judgement::Undecided);
    }

    /// One CPU hog on two cores: the reference reaches about 1.17×. A parallel solution that
    /// gets 1.4× passes; 1.0× is what a serial pool and a correct pool whose workers share one
    /// core both measure (05's reference solution did, 11 times in 20), so it never fails.
    #[test]
    fn a_loaded_machine_passes_a_speedup_and_never_fails_its_absence() {
        let (decision, used, _) = decide_from(vec![measured([200, 140, 200, 171])]);
        assert_eq!(decision.verdict, Verdict::Pass);
        assert_eq!(used, 1);
        let (decision, used, _) = decide_from(
            (0..MAX_ATTEMPTS)
                .map(|_| measured([200, 200, 200, 171]))
                .collect(),
        );
        assert_eq!(decision.verdict.label(), VerdictLabel::Inconclusive);
        assert_eq!(used, MAX_ATTEMPTS);
    }

    #[test]
    fn some_gain_below_the_bar_on_a_loaded_machine_is_never_a_fail() {
        let between = || measured([200, 180, 200, 160]);
        assert_eq!(
            Measurement::from_samples(&samples(2, [200, 180, 200, 160], 1.9, 5), 0.5)
                .expect("has rounds")
                .judge(),
            Judgement::Undecided
        );
        let (decision, used, _) = decide_from((0..MAX_ATTEMPTS).map(|_| between()).collect());
        assert_eq!(decision.verdict.label(), VerdictLabel::Inconclusive);
        assert_eq!(used, MAX_ATTEMPTS);
    }

    #[test]
    fn a_superlinear_reference_is_noise_not_a_higher_bar() {
        let (decision, ..) = decide_from(
            (0..MAX_ATTEMPTS)
                .map(|_| measured([200, 190, 300, 100]))
                .collect(),
        );
        assert_eq!(decision.verdict.label(), VerdictLabel::Inconclusive);
    }

    #[test]
    fn a_failed_run_keeps_its_own_verdict() {
        let crash = Attempt::Failed(Verdict::Crash {
            cause: "killed".into(),
        });
        let (decision, used, _) = decide_from(vec![crash]);
        assert_eq!(decision.verdict.label(), VerdictLabel::Crash);
        assert_eq!(used, 1);
    }

    #[test]
    fn one_core_is_inconclusive_without_measuring() {
        let decision = decide(1, || panic!("nothing is measured on one core"), |_| {})
            .expect("deciding without attempts cannot fail");
        assert!(
            matches!(&decision.verdict, Verdict::Inconclusive { reason } if reason.starts_with("1 core")),
            "{:?}",
            decision.verdict
        );
    }
}
