//! Grading a whole checkout or submission: the grade model every output format reads.
//!
//! [`grade`] runs every exercise of the catalog (plus an instructor's private tests) against one
//! source of code and returns a [`GradeReport`]: points per test from the metadata, a total, and
//! a status per exercise. It builds the code in two cargo runs, not one or two per exercise:
//! every exercise is linted, then built in debug at once ([`check::prepare_together`]); every
//! test but the timers runs; then the exercises with timers left are built in release at once
//! and their timers run ([`check::Phase`]). One exercise that cannot be graded (missing from a submission, too many
//! files, a grader error) costs its own points and nothing else. The formats instructors' tools
//! read are written from this model by [`crate::format`].

use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, Exercise};
use crate::check::{self, ExerciseReport, Options, Outcome, Phase};
use crate::sandbox::{self, Isolation};
use crate::scratch::{BuildFailure, Part, TestBinary};
use crate::subject::Subject;
use crate::submission::{IgnoredChanges, PrivateTests, Submission};
use crate::suite::{SuiteKind, TestSuite};
use crate::verdict::{UnknownLabel, VerdictLabel};
use crate::workspace::Workspace;
use crate::Result;

/// The version of the JSON schema; it changes whenever a field changes meaning or goes away.
pub const SCHEMA: &str = "threadlings-grade/1";

/// The grade of one checkout or submission over every exercise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradeReport {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// What was graded: `this checkout` or the submission's label.
    pub subject: String,
    /// The sum of every exercise's points.
    pub points: u32,
    pub max_points: u32,
    pub exercises: Vec<ExerciseGrade>,
    /// What the submission changed that grading did not use (empty for a checkout).
    pub ignored: IgnoredChanges,
    /// When grading started, in RFC 3339 (UTC); empty in reports written before it existed.
    #[serde(default)]
    pub started_at: String,
    /// How far every test process was confined: `full`, `reduced (...)` or `minimal (...)`.
    pub isolation: Isolation,
    pub elapsed_ms: u64,
    /// In a roster, the student whose identical code was graded for this one: code that is the
    /// same byte for byte is graded once, and every student who submitted it gets that report
    /// with their own name and ignored changes. The verdicts, times and messages (whose paths
    /// name that student's files) are of that one grading, and this says so. Absent when the
    /// code was graded for this student.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same_code_as: Option<String>,
}

/// The grade of one exercise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExerciseGrade {
    pub number: u32,
    /// `NN_name`.
    pub dir_name: String,
    pub title: String,
    pub status: ExerciseStatus,
    pub points: u32,
    /// Hidden plus private tests.
    pub max_points: u32,
    /// Why the exercise was not graded test by test (empty when it was).
    pub message: String,
    /// Every test the metadata lists, graded or not, so points always add up to `max_points`.
    pub tests: Vec<TestGrade>,
    /// How long grading this exercise took, building included.
    #[serde(default)]
    pub elapsed_ms: u64,
}

/// How far grading of one exercise got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExerciseStatus {
    /// Every test passed.
    Passed,
    /// Graded; some tests did not pass.
    Failed,
    /// The lint rejected the code (it goes around the sync shim, or runs code before `main`).
    Rejected,
    /// The code does not compile.
    BuildFailed,
    /// The submission has no crate for this exercise.
    Missing,
    /// The grader could not grade it (the message says why).
    Error,
}

impl ExerciseStatus {
    const ALL: [ExerciseStatus; 6] = [
        ExerciseStatus::Passed,
        ExerciseStatus::Failed,
        ExerciseStatus::Rejected,
        ExerciseStatus::BuildFailed,
        ExerciseStatus::Missing,
        ExerciseStatus::Error,
    ];

    /// The one spelling of a status, in JSON, JUnit, Markdown and text alike.
    pub fn as_str(self) -> &'static str {
        match self {
            ExerciseStatus::Passed => "passed",
            ExerciseStatus::Failed => "failed",
            ExerciseStatus::Rejected => "rejected",
            ExerciseStatus::BuildFailed => "build_failed",
            ExerciseStatus::Missing => "missing",
            ExerciseStatus::Error => "error",
        }
    }
}

impl fmt::Display for ExerciseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One test's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestGrade {
    pub name: String,
    pub suite: SuiteKind,
    /// What the one scoring rule ([`VerdictLabel::points`]) gives the verdict: `max_points`
    /// or 0.
    pub points: u32,
    pub max_points: u32,
    /// The test's verdict or, when the exercise was not graded, its status.
    pub verdict: TestLabel,
    /// What went wrong, in words; empty for a pass.
    pub message: String,
    /// What the test printed (capped); empty for a pass.
    pub output: String,
    pub elapsed_ms: u64,
}

impl TestGrade {
    /// The test counts as passed ([`VerdictLabel::is_success`]).
    pub fn passed(&self) -> bool {
        self.verdict.is_success()
    }
}

/// What a test's `verdict` field says: the verdict it got, or, when its exercise could not be
/// graded test by test, the exercise's status. Spelt as one string in every format (`pass`,
/// `timeout:deadlock`, `build_failed`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestLabel {
    Verdict(VerdictLabel),
    NotGraded(ExerciseStatus),
}

impl TestLabel {
    pub fn is_success(self) -> bool {
        matches!(self, TestLabel::Verdict(label) if label.is_success())
    }

    /// Whether the test ran and passed outright (not merely earned its points).
    pub fn is_pass(self) -> bool {
        self == TestLabel::Verdict(VerdictLabel::Pass)
    }
}

impl fmt::Display for TestLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TestLabel::Verdict(label) => label.fmt(f),
            TestLabel::NotGraded(status) => status.fmt(f),
        }
    }
}

impl std::str::FromStr for TestLabel {
    type Err = UnknownLabel;

    fn from_str(text: &str) -> std::result::Result<TestLabel, UnknownLabel> {
        ExerciseStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .map(TestLabel::NotGraded)
            .map_or_else(|| text.parse().map(TestLabel::Verdict), Ok)
    }
}

impl Serialize for TestLabel {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TestLabel {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Where the code to grade comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// The `exercises/` of this checkout.
    Checkout,
    Submission(Submission),
}

/// What to grade, and with which tests beyond the canonical hidden ones.
pub struct GradeRequest<'a> {
    pub source: &'a Source,
    /// An instructor's private tests, laid out like `grader/hidden/`.
    pub private_dir: Option<&'a Path>,
    /// Called after each exercise, for progress output.
    pub on_exercise: &'a mut dyn FnMut(&ExerciseGrade),
    /// The most CPU time grading may take ([`cpu_time`]): exercises not begun by then are not
    /// graded, and say so, so that one slow submission cannot hold up a class. The builds of
    /// every exercise come first and count; an exercise begun is finished, its timers
    /// included. `None` grades everything.
    pub budget: Option<Duration>,
}

/// Grades every exercise of `catalog`.
pub fn grade(
    workspace: &Workspace,
    catalog: &Catalog,
    request: &mut GradeRequest<'_>,
) -> Result<GradeReport> {
    let started = Instant::now();
    let started_at = chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now())
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (subject_name, ignored) = match request.source {
        Source::Checkout => ("this checkout".to_owned(), IgnoredChanges::default()),
        Source::Submission(submission) => (
            submission.label.clone(),
            submission.ignored_changes(workspace),
        ),
    };
    let cpu_at_start = cpu_time();
    let over_budget = |spent: Duration| request.budget.filter(|budget| spent >= *budget);
    // Every exercise's code and suites are read first: their lints, then the debug builds of
    // all of them in one cargo run, come before any test (see `check::prepare_together`).
    let mut planned = Vec::new();
    for exercise in &catalog.exercises {
        let private = match request.private_dir {
            Some(dir) => PrivateTests::load(dir, exercise)?,
            None => None,
        };
        let subject = match request.source {
            Source::Checkout => Subject::exercise(workspace, exercise).map(Some),
            Source::Submission(submission) => submission.subject(exercise),
        };
        planned.push(Planned {
            exercise,
            hidden: exercise.hidden_suite(),
            private,
            subject,
        });
    }
    let mut prepared = match over_budget(Duration::ZERO) {
        // A budget of nothing grades nothing: building would be wasted.
        Some(_) => Vec::new(),
        None => check::prepare_together(workspace, &parts(&planned), &Options::default())?,
    }
    .into_iter();
    // Phase one: every exercise's tests but its timers. An exercise left with no timer to run
    // is done; the others wait for one release build of all of them (`check::Phase`).
    let mut graded: Vec<Option<ExerciseGrade>> = vec![None; planned.len()];
    let mut waiting = Vec::new();
    for (index, plan) in planned.iter().enumerate() {
        let (hidden, private) = match &plan.subject {
            Ok(Some(_)) => (
                prepared.next(),
                plan.private.as_ref().and_then(|_| prepared.next()),
            ),
            _ => (None, None),
        };
        let spent = cpu_time().saturating_sub(cpu_at_start);
        let begun = match over_budget(spent) {
            // Between exercises, never inside one: a test already running has limits of its
            // own, and a verdict cut short would not be one. An exercise begun is finished.
            Some(budget) => Begun::Ended(not_graded(
                plan.exercise,
                plan.private.as_ref(),
                ExerciseStatus::Error,
                format!(
                    "not graded: the budget of {} s of CPU time for one student ran out after \
                     {} s, before this exercise; grade this student again with a larger --budget",
                    budget.as_secs(),
                    spent.as_secs()
                ),
            )),
            None => begin_exercise(workspace, plan, [hidden, private])?,
        };
        match begun {
            Begun::Started(started) if started.timers_left() => waiting.push((index, started)),
            Begun::Started(started) => {
                let grade = finish_exercise(workspace, started)?;
                (request.on_exercise)(&grade);
                graded[index] = Some(grade);
            }
            Begun::Ended(grade) => {
                (request.on_exercise)(&grade);
                graded[index] = Some(grade);
            }
        }
    }
    // Phase two: the release builds of every exercise with timers left, in one cargo run, then
    // those timers.
    let timed: Vec<Part<'_>> = waiting
        .iter()
        .flat_map(|(_, started)| started.timed_parts())
        .collect();
    let mut built =
        check::build_timers_together(workspace, &timed, &Options::default())?.into_iter();
    for (index, mut started) in waiting {
        started.take_release_builds(&mut built);
        let grade = finish_exercise(workspace, started)?;
        (request.on_exercise)(&grade);
        graded[index] = Some(grade);
    }
    let exercises: Vec<ExerciseGrade> = graded
        .into_iter()
        .map(|grade| grade.expect("every exercise is graded in one of the phases"))
        .collect();
    Ok(GradeReport {
        schema: SCHEMA.to_owned(),
        subject: subject_name,
        points: exercises.iter().map(|e| e.points).sum(),
        max_points: exercises.iter().map(|e| e.max_points).sum(),
        exercises,
        ignored,
        started_at,
        isolation: sandbox::isolation(),
        elapsed_ms: started.elapsed().as_millis() as u64,
        same_code_as: None,
    })
}

/// The CPU time this process and every process it has waited for (builds, tests) have used.
/// A budget counted in it is not eaten by a busy machine, the way wall time would be, so a
/// correct solution graded beside other work is not cut short; a test that sleeps is stopped
/// by its own limits instead.
fn cpu_time() -> Duration {
    use nix::sys::resource::{getrusage, UsageWho};
    use nix::sys::time::TimeValLike;
    [UsageWho::RUSAGE_SELF, UsageWho::RUSAGE_CHILDREN]
        .into_iter()
        .filter_map(|who| getrusage(who).ok())
        .map(|usage| {
            let micros = (usage.user_time() + usage.system_time()).num_microseconds();
            Duration::from_micros(micros.max(0) as u64)
        })
        .sum()
}

/// One exercise to grade: its code as read, and the suites to run against it.
struct Planned<'a> {
    exercise: &'a Exercise,
    hidden: TestSuite,
    private: Option<TestSuite>,
    /// `None` when the submission lacks the exercise.
    subject: Result<Option<Subject>>,
}

/// What [`check::prepare_together`] builds: each exercise whose code was read, with its hidden
/// suite and then its private one.
fn parts<'a>(planned: &'a [Planned<'a>]) -> Vec<Part<'a>> {
    let mut parts = Vec::new();
    for plan in planned {
        let Ok(Some(subject)) = &plan.subject else {
            continue;
        };
        for suite in std::iter::once(&plan.hidden).chain(&plan.private) {
            parts.push(Part {
                exercise: plan.exercise,
                suite,
                subject,
            });
        }
    }
    parts
}

/// An exercise after `grade`'s first phase.
enum Begun<'a> {
    /// Graded, or not gradable (missing, unreadable, over budget).
    Ended(ExerciseGrade),
    /// Its suites' ordinary tests ran; timers may be left.
    Started(Started<'a>),
}

/// An exercise between `grade`'s two phases: each suite's check so far, the hidden suite first.
struct Started<'a> {
    plan: &'a Planned<'a>,
    subject: &'a Subject,
    suites: Vec<SuiteCheck<'a>>,
}

struct SuiteCheck<'a> {
    suite: &'a TestSuite,
    /// Its lint and debug build, made by `check::prepare_together`; `None` when that failed
    /// (the report says why) or was not done (every test then ran in phase one).
    prepared: Option<check::Prepared>,
    /// Its ordinary tests' report, or why the suite could not be checked.
    report: Result<ExerciseReport>,
}

impl SuiteCheck<'_> {
    /// Whether timers are left for phase two: only a prepared suite ran without them.
    fn timers_left(&self) -> bool {
        self.prepared.is_some()
            && self
                .report
                .as_ref()
                .is_ok_and(|report| report.timers_left(self.suite))
    }
}

impl Started<'_> {
    fn timers_left(&self) -> bool {
        self.suites.iter().any(SuiteCheck::timers_left)
    }

    /// The suites whose timers need a release build, in order.
    fn timed_parts(&self) -> impl Iterator<Item = Part<'_>> {
        self.suites
            .iter()
            .filter(|suite| suite.timers_left())
            .map(|suite| Part {
                exercise: self.plan.exercise,
                suite: suite.suite,
                subject: self.subject,
            })
    }

    /// Takes this exercise's release builds, in [`Started::timed_parts`]' order.
    fn take_release_builds(
        &mut self,
        built: &mut impl Iterator<Item = std::result::Result<TestBinary, BuildFailure>>,
    ) {
        for suite in self.suites.iter_mut().filter(|suite| suite.timers_left()) {
            let release = built
                .next()
                .expect("one release build for every timed part");
            if let (Some(prepared), Ok(report)) = (&mut suite.prepared, &suite.report) {
                prepared.for_timers(release, report);
            }
        }
    }
}

/// Phase one of one exercise: lints and builds were done by `check::prepare_together`
/// (`prepared`: the hidden suite's, then the private one's); runs every test but the timers.
fn begin_exercise<'a>(
    workspace: &Workspace,
    plan: &'a Planned<'a>,
    prepared: [Option<Result<check::Prepared>>; 2],
) -> Result<Begun<'a>> {
    let exercise = plan.exercise;
    let private = plan.private.as_ref();
    let subject = match &plan.subject {
        Ok(Some(subject)) => subject,
        Ok(None) => {
            return Ok(Begun::Ended(not_graded(
                exercise,
                private,
                ExerciseStatus::Missing,
                format!(
                    "the submission has no exercises/{}/src/lib.rs",
                    exercise.dir_name
                ),
            )))
        }
        // Whatever stops the submission's code from being read is the submission's problem.
        Err(error) => {
            return Ok(Begun::Ended(not_graded(
                exercise,
                private,
                ExerciseStatus::Error,
                error.to_string(),
            )))
        }
    };
    let mut suites = Vec::new();
    for (suite, prepared) in std::iter::once(&plan.hidden).chain(private).zip(prepared) {
        let (prepared, report) = match prepared.transpose() {
            Ok(Some(prepared)) => {
                let options = Options {
                    phase: Phase::Ordinary,
                    ..Options::default()
                };
                let report = check::check_prepared(
                    workspace,
                    exercise,
                    suite,
                    subject,
                    &options,
                    Some(&prepared),
                );
                (Some(prepared), report)
            }
            Ok(None) => {
                let options = Options::default();
                let report =
                    check::check_prepared(workspace, exercise, suite, subject, &options, None);
                (None, report)
            }
            Err(error) => (None, Err(error)),
        };
        let report = match report {
            Err(error) if error.kind().is_grader_fault() => return Err(error),
            report => report,
        };
        suites.push(SuiteCheck {
            suite,
            prepared,
            report,
        });
    }
    Ok(Begun::Started(Started {
        plan,
        subject,
        suites,
    }))
}

/// Phase two of one exercise: runs the timers left (their release builds taken), then grades
/// it from every suite's report. An error in the hidden suite leaves the whole exercise not
/// graded; one in the private suite, only the private tests.
fn finish_exercise(workspace: &Workspace, started: Started<'_>) -> Result<ExerciseGrade> {
    let Started {
        plan,
        subject,
        suites,
    } = started;
    let exercise = plan.exercise;
    let mut grades = Vec::new();
    for check in suites {
        let timers_left = check.timers_left();
        let report = match (check.report, &check.prepared) {
            (Ok(ordinary), Some(prepared)) if timers_left => {
                let options = Options {
                    phase: Phase::Timers,
                    ..Options::default()
                };
                check::check_prepared(
                    workspace,
                    exercise,
                    check.suite,
                    subject,
                    &options,
                    Some(prepared),
                )
                .map(|timers| ordinary.join_timers(timers, check.suite))
            }
            (report, _) => report,
        };
        grades.push(match report {
            Ok(report) => Ok(from_report(exercise, check.suite, &report)),
            Err(error) if error.kind().is_grader_fault() => return Err(error),
            Err(error) => Err((check.suite, error)),
        });
    }
    let mut grades = grades.into_iter();
    let mut grade = match grades.next().expect("the hidden suite is always checked") {
        Ok(grade) => grade,
        Err((_, error)) => {
            return Ok(not_graded(
                exercise,
                plan.private.as_ref(),
                ExerciseStatus::Error,
                error.to_string(),
            ))
        }
    };
    if let Some(private) = grades.next() {
        let private = private.unwrap_or_else(|(suite, error)| {
            not_graded_in(exercise, suite, ExerciseStatus::Error, error.to_string())
        });
        grade = merge(grade, private);
    }
    Ok(grade)
}

fn from_report(exercise: &Exercise, suite: &TestSuite, report: &ExerciseReport) -> ExerciseGrade {
    let (status, message) = match &report.outcome {
        Outcome::Graded { tests } if tests.iter().all(|t| t.verdict.is_success()) => {
            (ExerciseStatus::Passed, String::new())
        }
        Outcome::Graded { .. } => (ExerciseStatus::Failed, String::new()),
        Outcome::Rejected { findings } => (
            ExerciseStatus::Rejected,
            findings
                .iter()
                .map(|f| format!("{}:{}: {}", f.file, f.line, f.problem))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        Outcome::BuildFailed { errors } => (
            ExerciseStatus::BuildFailed,
            format!("the code does not compile:\n{}", errors.join("\n")),
        ),
    };
    let Outcome::Graded { tests } = &report.outcome else {
        return not_graded_in(exercise, suite, status, message);
    };
    let tests = tests
        .iter()
        .map(|test| TestGrade {
            name: test.name.clone(),
            suite: suite.kind,
            points: test.points,
            max_points: test.max_points,
            verdict: TestLabel::Verdict(test.verdict.label()),
            message: test.verdict.details(),
            output: test.output.clone(),
            elapsed_ms: test.elapsed_ms,
        })
        .collect();
    let mut grade = exercise_grade(exercise, suite, status, message, tests);
    grade.elapsed_ms = report.elapsed_ms;
    grade
}

/// The grade of `exercise` from its tests; the points are theirs, the maximum the suite's.
fn exercise_grade(
    exercise: &Exercise,
    suite: &TestSuite,
    status: ExerciseStatus,
    message: String,
    tests: Vec<TestGrade>,
) -> ExerciseGrade {
    ExerciseGrade {
        number: exercise.meta.number,
        dir_name: exercise.dir_name.clone(),
        title: exercise.meta.title.clone(),
        status,
        points: tests.iter().map(|test| test.points).sum(),
        max_points: suite.max_points(),
        message,
        tests,
        elapsed_ms: 0,
    }
}

/// An exercise that got no test results: every test listed at zero points, so the maximum
/// still counts and every format shows the tests the student lost.
fn not_graded(
    exercise: &Exercise,
    private: Option<&TestSuite>,
    status: ExerciseStatus,
    message: String,
) -> ExerciseGrade {
    let grade = not_graded_in(exercise, &exercise.hidden_suite(), status, message.clone());
    match private {
        Some(private) => merge(grade, not_graded_in(exercise, private, status, message)),
        None => grade,
    }
}

/// The exercise's `message` says why it was not graded (for a compile error, every error);
/// the first test repeats it, so that formats which show only tests show it once, and the
/// others point to it rather than repeating a wall of compiler output in every test.
fn not_graded_in(
    exercise: &Exercise,
    suite: &TestSuite,
    status: ExerciseStatus,
    message: String,
) -> ExerciseGrade {
    let first = suite.tests.first().map(|test| test.name.clone());
    let tests = suite
        .tests
        .iter()
        .map(|test| TestGrade {
            name: test.name.clone(),
            suite: suite.kind,
            points: 0,
            max_points: test.points,
            verdict: TestLabel::NotGraded(status),
            message: if Some(&test.name) == first.as_ref() {
                message.clone()
            } else {
                format!(
                    "not graded ({status}): see `{}` for why",
                    first.as_deref().unwrap_or_default()
                )
            },
            output: String::new(),
            elapsed_ms: 0,
        })
        .collect();
    exercise_grade(exercise, suite, status, message, tests)
}

/// Adds the private tests' results to the canonical ones. The worse status wins, so an
/// exercise counts as passed only when both suites pass.
fn merge(mut canonical: ExerciseGrade, private: ExerciseGrade) -> ExerciseGrade {
    canonical.points += private.points;
    canonical.max_points += private.max_points;
    canonical.elapsed_ms += private.elapsed_ms;
    if canonical.status == ExerciseStatus::Passed {
        canonical.status = private.status;
    }
    if canonical.message.is_empty() && !private.message.is_empty() {
        canonical.message = format!("private tests: {}", private.message);
    }
    canonical.tests.extend(private.tests);
    canonical
}

/// How a test appears in other tools: `01_race_counter::name`, with `private::` for private
/// tests so names never collide with canonical ones.
pub fn qualified_name(exercise: &ExerciseGrade, test: &TestGrade) -> String {
    match test.suite {
        SuiteKind::Hidden => format!("{}::{}", exercise.dir_name, test.name),
        SuiteKind::Private => format!("{}::private::{}", exercise.dir_name, test.name),
    }
}

impl GradeReport {
    /// `12/190 points; 1 of 12 exercises fully passed`.
    pub fn summary_line(&self) -> String {
        let passed = self
            .exercises
            .iter()
            .filter(|e| e.status == ExerciseStatus::Passed)
            .count();
        format!(
            "{}/{} points; {passed} of {} exercises fully passed",
            self.points,
            self.max_points,
            self.exercises.len()
        )
    }
}

/// Why a JSON text is not a grade report this grader can read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("not a threadlings grade report: {0}")]
    NotAReport(#[from] serde_json::Error),
    #[error("the report has schema `{found}`, this grader reads `{SCHEMA}`; grade again with this version")]
    OtherSchema { found: String },
}

impl GradeReport {
    /// A report read back from its JSON ([`crate::format::json::to_json`]), checking the schema
    /// version.
    pub fn from_json(text: &str) -> Result<GradeReport, ReadError> {
        let report: GradeReport = serde_json::from_str(text)?;
        if report.schema != SCHEMA {
            return Err(ReadError::OtherSchema {
                found: report.schema,
            });
        }
        Ok(report)
    }
}
