//! Grades one subject against one test suite of an exercise: lint, build, run every test.
//!
//! The steps are modules of their own ([`lint`], [`scratch`], [`execute`]); this module only
//! sequences them and stops at the first stage that fails. `grade` runs the same stages for
//! many exercises at once: [`prepare_together`] lints and builds them all in one cargo run,
//! and each is then checked in two [`Phase`]s, so that its timers' release builds are one
//! run too ([`build_timers_together`]).

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::catalog::Exercise;
use crate::events::{Event, Observer};
use crate::execute::{Execution, TestResult};
use crate::explain;
use crate::lint::{self, Finding};
use crate::sandbox::{self, Isolation};
use crate::scratch::{self, Profile, TestBinary};
use crate::subject::Subject;
use crate::suite::{TestMeta, TestSuite};
use crate::verdict::Verdict;
use crate::workspace::Workspace;
use crate::{Error, ErrorKind, Result};

/// How to grade.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Keep ANSI colours in compiler messages.
    pub color: bool,
    /// Run only these tests (all when empty).
    pub only: Vec<String>,
    /// Told what the check is doing (building, test k of n), for a progress line.
    pub observer: Observer,
    /// Skip the real-thread tests left once one test has found threads blocked for ever (see
    /// [`EarlyStop`]). For a learner's check, which is failed anyway and should say so fast;
    /// never for `grade` or `verify`, where every test's own verdict counts.
    pub stop_after_deadlock: bool,
    /// Which of the chosen tests this check runs: all of them, or one of `grade`'s two
    /// phases ([`Phase`]).
    pub phase: Phase,
}

/// `grade` runs an exercise's tests in two phases, so that the release builds its timing
/// tests need are made in one cargo run for every exercise, and only for those whose timers
/// will run: first every test but the timers that no clock-free test has already decided
/// ([`TestMeta::decided_by`]), for every exercise; then those timers. A check of one exercise
/// runs both in one go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Phase {
    /// Every test, in the suite's order.
    #[default]
    All,
    /// Every test but the timers (tests with a `speedup` section) left to run: a timer that one
    /// of its deciders failed gets its verdict here.
    Ordinary,
    /// The timers [`Phase::Ordinary`] left, with [`Prepared::for_timers`].
    Timers,
}

/// Tests not run because an earlier test found threads that wait for ever: a deadlock or a
/// lost wake-up, on real threads (a timeout where every thread was blocked and none used CPU)
/// or under the model checker. Every later test that runs on real threads would most likely
/// wait on the same mistake until its own time limit (03's lost wake-up cost 36-59 s of
/// timeouts), and teach nothing new. Model-checked tests are still run: they are bounded by
/// work, not time, and each names its own schedule.
#[derive(Debug, Clone, Serialize)]
pub struct EarlyStop {
    /// The test whose verdict stopped the check.
    pub after: String,
    /// The tests skipped, in order.
    pub skipped: Vec<String>,
}

/// The result of grading one exercise.
#[derive(Debug, Clone, Serialize)]
pub struct ExerciseReport {
    pub number: u32,
    pub name: String,
    pub dir_name: String,
    pub title: String,
    pub chapter: String,
    /// Where the graded code came from, as a learner reads it.
    pub subject: String,
    pub outcome: Outcome,
    pub points: u32,
    pub max_points: u32,
    pub elapsed_ms: u64,
    /// How far the test processes were confined ([`sandbox::isolation`]).
    pub isolation: Isolation,
    /// Set when [`Options::stop_after_deadlock`] skipped tests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub early_stop: Option<EarlyStop>,
}

/// How far grading got.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum Outcome {
    /// The code uses what its exercise does not allow (see `lint`); no test was run.
    Rejected { findings: Vec<FindingView> },
    /// The code does not compile; the compiler's errors, mapped to the learner's files.
    BuildFailed { errors: Vec<String> },
    /// Every hidden test ran and got a verdict.
    Graded { tests: Vec<TestResult> },
}

/// A lint finding, for reports.
#[derive(Debug, Clone, Serialize)]
pub struct FindingView {
    pub file: String,
    pub line: usize,
    pub problem: String,
}

impl ExerciseReport {
    /// Every test ran and counted as passed ([`VerdictLabel::is_success`]).
    ///
    /// [`VerdictLabel::is_success`]: crate::verdict::VerdictLabel::is_success
    pub fn passed(&self) -> bool {
        matches!(&self.outcome, Outcome::Graded { tests }
            if tests.iter().all(|test| test.verdict.is_success()))
    }

    pub fn tests(&self) -> &[TestResult] {
        match &self.outcome {
            Outcome::Graded { tests } => tests,
            _ => &[],
        }
    }

    /// Whether this report of [`Phase::Ordinary`] left any of `suite`'s timers to run: a
    /// report that ran no test (refused, does not compile) leaves none.
    pub fn timers_left(&self, suite: &TestSuite) -> bool {
        let Outcome::Graded { tests } = &self.outcome else {
            return false;
        };
        suite
            .tests
            .iter()
            .any(|test| test.speedup.is_some() && !tests.iter().any(|done| done.name == test.name))
    }

    /// The report one check of every test would give, from `grade`'s two phases: `self` ran
    /// [`Phase::Ordinary`], `timers` ran [`Phase::Timers`] after it. Tests keep the suite's
    /// order; when the timers' check stopped (its release build failed), its outcome is the
    /// exercise's, as it would have been in one check.
    pub fn join_timers(mut self, timers: ExerciseReport, suite: &TestSuite) -> ExerciseReport {
        self.elapsed_ms += timers.elapsed_ms;
        let Outcome::Graded { tests } = &mut self.outcome else {
            return self;
        };
        match timers.outcome {
            Outcome::Graded { tests: timed } => {
                tests.extend(timed);
                let position = |name: &str| suite.tests.iter().position(|test| test.name == name);
                tests.sort_by_key(|test| position(&test.name));
                self.points = tests.iter().map(|test| test.points).sum();
            }
            stopped => {
                self.outcome = stopped;
                self.points = 0;
            }
        }
        self
    }
}

/// Lints, builds and runs the canonical hidden tests of `exercise` against `subject`.
pub fn check(
    workspace: &Workspace,
    exercise: &Exercise,
    subject: &Subject,
    options: &Options,
) -> Result<ExerciseReport> {
    check_suite(
        workspace,
        exercise,
        &exercise.hidden_suite(),
        subject,
        options,
    )
}

/// Lints, builds and runs `suite` (the hidden tests or an instructor's private ones) against
/// `subject`.
pub fn check_suite(
    workspace: &Workspace,
    exercise: &Exercise,
    suite: &TestSuite,
    subject: &Subject,
    options: &Options,
) -> Result<ExerciseReport> {
    check_prepared(workspace, exercise, suite, subject, options, None)
}

/// An exercise of a subject linted and built for its tests by [`prepare_together`]: its test
/// binary, or the outcome that ends its check (refused, or does not compile).
pub struct Prepared {
    ready: std::result::Result<TestBinary, Outcome>,
    /// The timers' release build, when made beforehand ([`Prepared::for_timers`]).
    release: Option<std::result::Result<TestBinary, Vec<String>>>,
    /// The results of the exercise's ordinary tests, which decide its timers
    /// ([`Phase::Timers`]).
    earlier: Vec<TestResult>,
    /// The build may not be cleaned before the check that uses it ends.
    _in_use: scratch::InUse,
}

impl Prepared {
    /// Ready for [`Phase::Timers`]: `release` is the build [`build_timers_together`] made,
    /// `ordinary` the report of the exercise's ordinary tests.
    pub fn for_timers(
        &mut self,
        release: std::result::Result<TestBinary, scratch::BuildFailure>,
        ordinary: &ExerciseReport,
    ) {
        self.release = Some(release.map_err(|failure| failure.errors));
        self.earlier = ordinary.tests().to_vec();
    }
}

/// Lints the subjects of `parts` and builds the test binaries of those the lint lets through,
/// all with one cargo run ([`scratch::build_together`]); each is then checked by
/// [`check_prepared`]. An error stays with its part (a subject that cannot be read is that
/// part's problem), unless it is the grader's own, which ends the preparation.
pub fn prepare_together(
    workspace: &Workspace,
    parts: &[scratch::Part<'_>],
    options: &Options,
) -> Result<Vec<Result<Prepared>>> {
    // First every lint, so that nothing the lint refuses is ever compiled.
    let mut linted = Vec::new();
    for part in parts {
        let in_use = scratch::in_use(workspace, part.exercise, &part.subject.key())?;
        let stopped = match lint::check(workspace, part.exercise, part.subject) {
            Ok(decision) => Ok(lint_outcome(decision)),
            Err(error) if error.kind().is_grader_fault() => return Err(error),
            Err(error) => Err(error),
        };
        linted.push((stopped, in_use));
    }
    let clean: Vec<_> = parts
        .iter()
        .zip(&linted)
        .filter(|(_, (stopped, _))| matches!(stopped, Ok(None)))
        .map(|(part, _)| *part)
        .collect();
    let mut built = scratch::build_together(
        workspace,
        &clean,
        Profile::Debug,
        options.color,
        &options.observer,
    )?
    .into_iter();
    let prepared = linted
        .into_iter()
        .map(|(stopped, in_use)| {
            let ready = match stopped? {
                Some(outcome) => Err(outcome),
                None => built
                    .next()
                    .expect("one build for every clean part")
                    .map_err(|failure| Outcome::BuildFailed {
                        errors: failure.errors,
                    }),
            };
            Ok(Prepared {
                ready,
                release: None,
                earlier: Vec::new(),
                _in_use: in_use,
            })
        })
        .collect();
    Ok(prepared)
}

/// The release builds of `parts` (exercises whose timers are left to run after
/// [`Phase::Ordinary`]), made in one cargo run: one result per part, for
/// [`Prepared::for_timers`].
pub fn build_timers_together(
    workspace: &Workspace,
    parts: &[scratch::Part<'_>],
    options: &Options,
) -> Result<Vec<std::result::Result<TestBinary, scratch::BuildFailure>>> {
    scratch::build_together(
        workspace,
        parts,
        Profile::Release,
        options.color,
        &options.observer,
    )
}

/// [`check_suite`], its lint and debug build done beforehand when `prepared` is given.
pub fn check_prepared(
    workspace: &Workspace,
    exercise: &Exercise,
    suite: &TestSuite,
    subject: &Subject,
    options: &Options,
    prepared: Option<&Prepared>,
) -> Result<ExerciseReport> {
    let started = Instant::now();
    let _in_use = scratch::in_use(workspace, exercise, &subject.key())?;
    let (outcome, early_stop) = grade(workspace, exercise, suite, subject, options, prepared)?;
    let points = match &outcome {
        Outcome::Graded { tests } => tests.iter().map(|test| test.points).sum(),
        _ => 0,
    };
    Ok(ExerciseReport {
        number: exercise.meta.number,
        name: exercise.meta.name.clone(),
        dir_name: exercise.dir_name.clone(),
        title: exercise.meta.title.clone(),
        chapter: exercise.meta.chapter.clone(),
        subject: subject.display_dir.clone(),
        outcome,
        points,
        max_points: suite.max_points(),
        elapsed_ms: started.elapsed().as_millis() as u64,
        isolation: sandbox::isolation(),
        early_stop,
    })
}

fn grade(
    workspace: &Workspace,
    exercise: &Exercise,
    suite: &TestSuite,
    subject: &Subject,
    options: &Options,
    prepared: Option<&Prepared>,
) -> Result<(Outcome, Option<EarlyStop>)> {
    let ready = match prepared {
        Some(prepared) => Some(prepared.ready.clone()),
        None => lint_outcome(lint::check(workspace, exercise, subject)?).map(Err),
    };
    if let Some(Err(outcome)) = ready {
        return Ok((outcome, None));
    }
    let earlier = prepared.map_or(&[][..], |prepared| &prepared.earlier);
    let first_build = !workspace.scratch_target_dir().exists();
    let build = |profile| {
        let release = profile == Profile::Release;
        options.observer.notify(Event::BuildStarted {
            release,
            first_build,
        });
        let built = scratch::build_observed(
            workspace,
            exercise,
            suite,
            subject,
            profile,
            options.color,
            &options.observer,
        );
        options.observer.notify(Event::BuildFinished { release });
        built
    };
    let binary = match ready {
        Some(Ok(binary)) => binary,
        _ => match build(Profile::Debug)? {
            Ok(binary) => binary,
            Err(failure) => {
                let errors = failure.errors;
                return Ok((Outcome::BuildFailed { errors }, None));
            }
        },
    };
    let listed = list_tests(&binary)?;
    let execution = Execution {
        workspace,
        suite,
        subject,
        memory_mib: suite.limits.memory_mib,
    };
    // Timing tests run in a release build, made only when one of them is about to run, unless
    // it was made beforehand.
    let mut release = match prepared.and_then(|prepared| prepared.release.clone()) {
        Some(Err(errors)) => return Ok((Outcome::BuildFailed { errors }, None)),
        Some(Ok(built)) => Some(built),
        None => None,
    };
    let mut tests = Vec::new();
    let mut early_stop: Option<EarlyStop> = None;
    let chosen: Vec<_> = suite
        .tests
        .iter()
        .filter(|test| options.only.is_empty() || options.only.contains(&test.name))
        .filter(|test| options.phase != Phase::Timers || test.speedup.is_some())
        .filter(|test| !earlier.iter().any(|done| done.name == test.name))
        .collect();
    for (index, test) in chosen.iter().copied().enumerate() {
        options.observer.notify(Event::TestStarted {
            index: index + 1,
            total: chosen.len(),
            name: test.name.clone(),
        });
        if !listed.contains(&test.name) {
            return Err(Error::broken(
                &suite.tests_file,
                format!(
                    "the metadata lists test `{}`, which the test file does not define",
                    test.name
                ),
            ));
        }
        if let Some(stop) = early_stop.as_mut().filter(|_| !test.is_model_checked()) {
            stop.skipped.push(test.name.clone());
            continue;
        }
        let decider = failed_decider(test, earlier).or_else(|| failed_decider(test, &tests));
        if let Some(decider) = decider {
            let verdict = Verdict::Fail {
                message: if test.needs_whole_machine() {
                    explain::decided_without_a_clock(decider)
                } else {
                    explain::decided_by_the_model(decider)
                },
                replay: None,
                interleaving: None,
            };
            tests.push(TestResult::new(
                test,
                verdict,
                Duration::ZERO,
                String::new(),
                Vec::new(),
            ));
            continue;
        }
        if options.phase == Phase::Ordinary && test.speedup.is_some() {
            continue;
        }
        let result = match &test.speedup {
            None => execution.run_test(&binary, test)?,
            Some(speedup) => {
                if release.is_none() {
                    match build(Profile::Release)? {
                        Ok(built) => release = Some(built),
                        Err(failure) => {
                            let errors = failure.errors;
                            return Ok((Outcome::BuildFailed { errors }, None));
                        }
                    }
                }
                let release = release.as_ref().expect("built just above");
                execution.run_timed_test(release, test, speedup)?
            }
        };
        if options.stop_after_deadlock && early_stop.is_none() && result.verdict.waits_for_ever() {
            early_stop = Some(EarlyStop {
                after: test.name.clone(),
                skipped: Vec::new(),
            });
        }
        tests.push(result);
    }
    let early_stop = early_stop.filter(|stop| !stop.skipped.is_empty());
    Ok((Outcome::Graded { tests }, early_stop))
}

/// The outcome a lint decision ends a check with, or `None` when the check goes on.
fn lint_outcome(decision: lint::Decision) -> Option<Outcome> {
    match decision {
        lint::Decision::Clean => None,
        lint::Decision::Rejected(findings) => Some(Outcome::Rejected {
            findings: findings.into_iter().map(FindingView::from).collect(),
        }),
        lint::Decision::DoesNotCompile(errors) => Some(Outcome::BuildFailed { errors }),
    }
}

/// The first of the tests deciding `test` ([`TestMeta::decided_by`]) that ran and failed. One
/// that did not run (a check of chosen tests) or could not decide (`inconclusive`) decides
/// nothing.
fn failed_decider<'a>(test: &TestMeta, done: &'a [TestResult]) -> Option<&'a str> {
    test.decided_by.iter().find_map(|decider| {
        done.iter()
            .find(|result| &result.name == decider && !result.verdict.label().is_success())
            .map(|result| result.name.as_str())
    })
}

/// The test names the binary defines, from `--list`.
pub fn list_tests(binary: &TestBinary) -> Result<Vec<String>> {
    let output = crate::reaper::output_own(
        std::process::Command::new(&binary.executable)
            .arg("--list")
            .stdin(std::process::Stdio::null()),
    )
    .map_err(|source| {
        Error::new(
            ErrorKind::Tool,
            format!(
                "cannot list the hidden tests of {}: {source}",
                binary.executable.display()
            ),
        )
    })?;
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect())
}

impl From<Finding> for FindingView {
    fn from(finding: Finding) -> FindingView {
        FindingView {
            file: finding.file,
            line: finding.line,
            problem: finding.problem,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{failed_decider, ExerciseReport, Outcome};
    use crate::execute::TestResult;
    use crate::suite::{Limits, SuiteKind, TestMeta, TestSuite};
    use crate::verdict::Verdict;

    fn meta(toml_text: &str) -> TestMeta {
        TestMeta::from_toml(toml_text)
    }

    fn result(name: &str, verdict: Verdict) -> TestResult {
        let test = meta(&format!("name = \"{name}\"\npoints = 1"));
        TestResult::new(&test, verdict, Duration::ZERO, String::new(), Vec::new())
    }

    fn report(outcome: Outcome) -> ExerciseReport {
        ExerciseReport {
            number: 5,
            name: "pool".into(),
            dir_name: "05_pool".into(),
            title: String::new(),
            chapter: String::new(),
            subject: "exercises/05_pool".into(),
            outcome,
            points: 0,
            max_points: 6,
            elapsed_ms: 10,
            isolation: crate::sandbox::isolation(),
            early_stop: None,
        }
    }

    #[test]
    fn the_two_phases_join_into_one_report_in_the_suites_order() {
        let timer = meta("name = \"timer\"\npoints = 2\n[speedup]\nalpha = 0.5");
        let suite = TestSuite {
            kind: SuiteKind::Hidden,
            tests_file: "tests.rs".into(),
            tests: vec![
                meta("name = \"first\"\npoints = 1"),
                timer.clone(),
                meta("name = \"last\"\npoints = 3"),
            ],
            limits: Limits::default(),
        };
        let ordinary = || {
            let mut ordinary = report(Outcome::Graded {
                tests: vec![
                    result("first", Verdict::Pass),
                    result("last", Verdict::Pass),
                ],
            });
            ordinary.points = 2;
            ordinary
        };
        assert!(ordinary().timers_left(&suite), "the timer is left");
        assert!(
            !report(Outcome::BuildFailed { errors: Vec::new() }).timers_left(&suite),
            "code that does not compile leaves no timer"
        );
        let timed = TestResult::new(
            &timer,
            Verdict::Pass,
            Duration::ZERO,
            String::new(),
            Vec::new(),
        );
        let joined = ordinary().join_timers(report(Outcome::Graded { tests: vec![timed] }), &suite);
        let names: Vec<&str> = joined
            .tests()
            .iter()
            .map(|test| test.name.as_str())
            .collect();
        assert_eq!(names, ["first", "timer", "last"]);
        assert_eq!(joined.points, 1 + 2 + 1, "each test's points, added up");
        assert_eq!(joined.elapsed_ms, 20);
        assert!(
            !joined.timers_left(&suite),
            "no timer left after both phases"
        );

        let failed_release = ordinary().join_timers(
            report(Outcome::BuildFailed {
                errors: vec!["error: only in release".into()],
            }),
            &suite,
        );
        assert!(matches!(
            failed_release.outcome,
            Outcome::BuildFailed { .. }
        ));
        assert_eq!(
            failed_release.points, 0,
            "as one check whose release build failed"
        );
    }

    #[test]
    fn a_stress_test_is_decided_by_its_first_model_checked_test_that_did_not_pass() {
        let stress = meta(
            "name = \"stress\"\npoints = 2\n\
             decided_by = [\"a_under_the_model\", \"b_under_the_model\"]",
        );
        let race = Verdict::Fail {
            message: "lost an update".into(),
            replay: Some("91".into()),
            interleaving: None,
        };
        let passed = [
            result("a_under_the_model", Verdict::Pass),
            result("b_under_the_model", Verdict::Pass),
        ];
        assert_eq!(
            failed_decider(&stress, &passed),
            None,
            "both passed: it runs"
        );
        let one_failed = [
            result("a_under_the_model", Verdict::Pass),
            result("b_under_the_model", race.clone()),
        ];
        assert_eq!(
            failed_decider(&stress, &one_failed),
            Some("b_under_the_model")
        );
        let undecided_decider = [
            result("a_under_the_model", Verdict::Pass),
            result(
                "b_under_the_model",
                Verdict::Inconclusive {
                    reason: "machine busy".into(),
                },
            ),
        ];
        assert_eq!(
            failed_decider(&stress, &undecided_decider),
            None,
            "an inconclusive decider decides nothing"
        );
        let not_run = [result("a_under_the_model", Verdict::Pass)];
        assert_eq!(
            failed_decider(&stress, &not_run),
            None,
            "a decider not run decides nothing"
        );
        let undecided = meta("name = \"stress\"\npoints = 2");
        assert_eq!(failed_decider(&undecided, &one_failed), None);
    }
}
