//! Runs one test of a built suite and returns its [`TestResult`].
//!
//! An ordinary test is one process of the hidden-test binary, judged by [`verdict::decide`]. A
//! timing test is a series of measuring processes of the release binary, judged by the speedup
//! timer's pure rules in [`crate::speedup`]. Either way the result is assembled by
//! [`TestResult::new`], where the points come from the one scoring rule,
//! [`VerdictLabel::points`](crate::verdict::VerdictLabel::points).

use serde::Serialize;

use crate::runner::{self, RawRun, RunRequest};
use crate::scratch::TestBinary;
use crate::speedup::{self, Attempt, Measurement};
use crate::subject::Subject;
use crate::suite::TestSuite;
use crate::suite::{SpeedupMeta, TestMeta};
use crate::verdict::{self, Verdict};
use crate::workspace::Workspace;
use crate::Result;

/// One test's verdict and what it is worth.
#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    pub name: String,
    pub points: u32,
    pub max_points: u32,
    #[serde(flatten)]
    pub verdict: Verdict,
    pub elapsed_ms: u64,
    /// What the test printed (capped), shown when it did not pass.
    pub output: String,
    /// Lines the test reported for the learner whatever its verdict (`harness::note`).
    pub notes: Vec<String>,
}

impl TestResult {
    /// The one way a result is made: the points follow from the verdict, and output is kept
    /// only where it can explain a failure.
    pub fn new(
        test: &TestMeta,
        verdict: Verdict,
        elapsed: std::time::Duration,
        output: String,
        notes: Vec<String>,
    ) -> TestResult {
        TestResult {
            name: test.name.clone(),
            points: verdict.label().points(test.points),
            max_points: test.points,
            output: if verdict == Verdict::Pass {
                String::new()
            } else {
                output
            },
            verdict,
            elapsed_ms: elapsed.as_millis() as u64,
            notes,
        }
    }
}

/// What every run of one suite against one subject shares.
pub struct Execution<'a> {
    pub workspace: &'a Workspace,
    pub suite: &'a TestSuite,
    pub subject: &'a Subject,
    /// `exercise.toml`'s memory cap for each test process, in MiB.
    pub memory_mib: u64,
}

impl Execution<'_> {
    /// Runs one ordinary test in `binary` and decides its verdict.
    pub fn run_test(&self, binary: &TestBinary, test: &TestMeta) -> Result<TestResult> {
        let _turn = if test.needs_whole_machine() {
            crate::turns::whole_machine()?
        } else {
            crate::turns::shared_turn()?
        };
        let (run, verdict) = self.run_and_decide(binary, &test.name, Vec::new())?;
        let output = self.learner_output(&run);
        let notes = run.report.map(|report| report.notes).unwrap_or_default();
        Ok(TestResult::new(test, verdict, run.elapsed, output, notes))
    }

    /// Runs a timing test in the release `binary`: measuring processes until the speedup
    /// timer decides.
    pub fn run_timed_test(
        &self,
        binary: &TestBinary,
        test: &TestMeta,
        speedup: &SpeedupMeta,
    ) -> Result<TestResult> {
        // Measured speedup means something only when nothing else of a roster runs beside it.
        let _turn = crate::turns::whole_machine()?;
        let workers = speedup::workers_for(speedup);
        let started = std::time::Instant::now();
        let mut output = String::new();
        let mut run_notes = Vec::new();
        let decision = speedup::decide(
            workers,
            || {
                let extra_args = vec![
                    "--speedup-workers".into(),
                    workers.to_string(),
                    "--speedup-rounds".into(),
                    speedup::ROUNDS_PER_ATTEMPT.to_string(),
                ];
                let (run, verdict) = self.run_and_decide(binary, &test.name, extra_args)?;
                if let Some(report) = &run.report {
                    run_notes.clone_from(&report.notes);
                }
                let samples = run.report.as_ref().and_then(|r| r.speedup.as_ref());
                let measured = samples.and_then(|s| Measurement::from_samples(s, speedup.alpha));
                match (verdict, measured) {
                    (Verdict::Pass, Some(measurement)) => Ok(Attempt::Measured(measurement)),
                    (Verdict::Pass, None) => Ok(Attempt::Failed(Verdict::Fail {
                        message: format!(
                            "`{}` is a timing test but measured nothing: it must call \
                             harness::timing::measure_speedup",
                            test.name
                        ),
                        replay: None,
                        interleaving: None,
                    })),
                    (verdict, _) => {
                        output = self.learner_output(&run);
                        Ok(Attempt::Failed(verdict))
                    }
                }
            },
            std::thread::sleep,
        )?;
        let mut notes = run_notes;
        notes.extend(decision.notes);
        Ok(TestResult::new(
            test,
            decision.verdict,
            started.elapsed(),
            output,
            notes,
        ))
    }

    /// Runs one process of a test, with `extra_args` after `--run NAME`, and decides its
    /// verdict, counting objects it left in `/dev/shm` as a leak.
    fn run_and_decide(
        &self,
        binary: &TestBinary,
        test_name: &str,
        extra_args: Vec<String>,
    ) -> Result<(RawRun, Verdict)> {
        let timeout = self.suite.timeout_of(test_name);
        let request = RunRequest {
            executable: binary.executable.clone(),
            test_name: test_name.to_owned(),
            timeout,
            memory_mib: self.memory_mib,
            sandbox_dir: self.workspace.sandbox_dir(),
            extra_args,
        };
        let run = runner::run(&request)?;
        let context = verdict::Context {
            tests_file: &self.suite.tests_file,
            display_dir: &self.subject.display_dir,
            timeout,
            memory_mib: self.memory_mib,
            sources: &self.subject.sources,
        };
        let mut verdict = verdict::decide(&run, &context);
        if run.tree_out_of_memory && !matches!(verdict, Verdict::Timeout { .. }) {
            verdict = Verdict::Crash {
                cause: format!(
                    "the test's processes together went over the {} MiB the exercise allows, so \
                     the kernel killed one of them: count the memory of every process you start, \
                     not only of one",
                    self.memory_mib
                ),
            };
        }
        if verdict == Verdict::Pass && !run.new_shm_objects.is_empty() {
            verdict = Verdict::Leak {
                message: format!(
                    "{} appeared in /dev/shm during the test and was never removed: a \
                     shared-memory object outlives every process that used it until someone \
                     calls shm_unlink",
                    run.new_shm_objects.join(", ")
                ),
            };
        }
        if verdict == Verdict::Pass && !run.scratch_leftovers.is_empty() {
            verdict = Verdict::Leak {
                message: format!(
                    "the test left {} in its scratch folder: whatever a test creates there it \
                     must remove (the grader has removed it)",
                    run.scratch_leftovers.join(", ")
                ),
            };
        }
        Ok((run, verdict))
    }

    /// What the test printed, with scratch paths shown as the learner's own files.
    fn learner_output(&self, run: &RawRun) -> String {
        let mut output = run.stdout.text();
        output.push_str(&run.stderr.text());
        crate::learner_paths::map_scratch_paths(&output, &self.subject.display_dir)
    }
}
