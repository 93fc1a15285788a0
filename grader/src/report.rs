//! Grading a whole checkout or submission, and the grade in the formats instructors' tools read.
//!
//! [`grade`] runs every exercise of the catalog (plus an instructor's private tests) against one
//! source of code and returns a [`GradeReport`]: points per test from the metadata, a total, and
//! a status per exercise. One exercise that cannot be graded (missing from a submission, too many
//! files, a grader error) costs its own points and nothing else.
//!
//! The report serialises to:
//!
//! - JSON ([`to_json`]): the [`GradeReport`] itself, whose fields are documented here and in the
//!   book's instructor chapter; `schema` names the version.
//! - JUnit XML ([`to_junit`]): one `<testsuite>` per exercise, one `<testcase>` per test.
//! - Gradescope `results.json` ([`to_gradescope`]): `score`, `max_score`, and `tests` with
//!   `name`, `score`, `max_score`, `status`, `output`, `visibility`.
//! - Markdown ([`to_markdown`]): a summary for a CI job summary (`$GITHUB_STEP_SUMMARY`).

use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::catalog::{Catalog, Exercise};
use crate::check::{self, ExerciseReport, Options, Outcome};
use crate::subject::{Subject, SubjectKind};
use crate::submission::{IgnoredChanges, PrivateTests, Submission};
use crate::verdict::Verdict;
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
    pub elapsed_ms: u64,
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

/// One test's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestGrade {
    pub name: String,
    pub suite: Suite,
    /// `max_points` for `pass`, and for `inconclusive`: a timing test that could not measure
    /// on a busy or single-core machine must not cost a correct solution its points (the
    /// structural checks that fail a serial solution are verdicts of their own). 0 otherwise.
    pub points: u32,
    pub max_points: u32,
    /// A verdict label (`pass`, `fail`, `panic`, `timeout:deadlock`, `crash`, `leak`, ...)
    /// or, when the exercise was not graded, its status (`rejected`, `build_failed`,
    /// `missing`, `error`).
    pub verdict: String,
    /// What went wrong, in words; empty for a pass.
    pub message: String,
    /// What the test printed (capped); empty for a pass.
    pub output: String,
    pub elapsed_ms: u64,
}

/// Which test file a test comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Suite {
    /// The canonical hidden tests of this checkout.
    Hidden,
    /// The instructor's private tests (`--hidden DIR`).
    Private,
}

impl TestGrade {
    /// The test earned its points: it passed, or its timing was inconclusive.
    pub fn passed(&self) -> bool {
        self.points == self.max_points
    }
}

/// Where the code to grade comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// The `exercises/` of this checkout.
    Checkout,
    Submission(Submission),
}

/// What to grade with, beyond the canonical hidden tests.
pub struct Request<'a> {
    pub source: &'a Source,
    /// An instructor's private tests, laid out like `grader/hidden/`.
    pub private_dir: Option<&'a Path>,
    /// Turns a verdict into the sentences a student reads. xtask passes its renderer, so
    /// the words match what `cargo xtask check` prints.
    pub describe: &'a dyn Fn(&Verdict) -> String,
    /// Called after each exercise, for progress output.
    pub on_exercise: &'a mut dyn FnMut(&ExerciseGrade),
}

/// Grades every exercise of `catalog`.
pub fn grade(
    workspace: &Workspace,
    catalog: &Catalog,
    request: &mut Request<'_>,
) -> Result<GradeReport> {
    let started = Instant::now();
    let (subject_name, ignored) = match request.source {
        Source::Checkout => ("this checkout".to_owned(), IgnoredChanges::default()),
        Source::Submission(submission) => (
            submission.label.clone(),
            submission.ignored_changes(workspace),
        ),
    };
    let mut exercises = Vec::new();
    for exercise in &catalog.exercises {
        let private = match request.private_dir {
            Some(dir) => PrivateTests::load(dir, exercise)?,
            None => None,
        };
        let graded = grade_exercise(workspace, exercise, private.as_ref(), request);
        (request.on_exercise)(&graded);
        exercises.push(graded);
    }
    Ok(GradeReport {
        schema: SCHEMA.to_owned(),
        subject: subject_name,
        points: exercises.iter().map(|e| e.points).sum(),
        max_points: exercises.iter().map(|e| e.max_points).sum(),
        exercises,
        ignored,
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}

fn grade_exercise(
    workspace: &Workspace,
    exercise: &Exercise,
    private: Option<&PrivateTests>,
    request: &Request<'_>,
) -> ExerciseGrade {
    let subject = match request.source {
        Source::Checkout => Subject::exercise(workspace, exercise).map(Some),
        Source::Submission(submission) => submission.subject(exercise),
    };
    let subject = match subject {
        Ok(Some(subject)) => subject,
        Ok(None) => {
            return not_graded(
                exercise,
                private,
                ExerciseStatus::Missing,
                format!(
                    "the submission has no exercises/{}/src/lib.rs",
                    exercise.dir_name
                ),
            )
        }
        Err(error) => {
            return not_graded(exercise, private, ExerciseStatus::Error, error.to_string())
        }
    };
    let options = Options::default();
    let hidden = match check::check(workspace, exercise, &subject, &options) {
        Ok(report) => report,
        Err(error) => {
            return not_graded(exercise, private, ExerciseStatus::Error, error.to_string())
        }
    };
    let mut grade = from_report(exercise, &hidden, Suite::Hidden, request.describe);
    if let Some(private) = private {
        let private_exercise = private.as_exercise(exercise);
        let private_grade = match check::check(
            workspace,
            &private_exercise,
            &private_subject(&subject),
            &options,
        ) {
            Ok(report) => from_report(&private_exercise, &report, Suite::Private, request.describe),
            Err(error) => not_graded(
                &private_exercise,
                None,
                ExerciseStatus::Error,
                error.to_string(),
            ),
        };
        grade = merge(grade, private_grade);
    }
    grade
}

/// The same sources under another scratch folder, so the private test crate never overwrites
/// the canonical one and both stay cached between runs.
fn private_subject(subject: &Subject) -> Subject {
    let mut private = subject.clone();
    private.kind = SubjectKind::Submission {
        label: format!("{}-private", subject.key()),
    };
    private
}

fn from_report(
    exercise: &Exercise,
    report: &ExerciseReport,
    suite: Suite,
    describe: &dyn Fn(&Verdict) -> String,
) -> ExerciseGrade {
    let (status, message) = match &report.outcome {
        Outcome::Graded { tests } if tests.iter().all(|t| earns_points(&t.verdict)) => {
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
            suite,
            points: if earns_points(&test.verdict) {
                test.max_points
            } else {
                0
            },
            max_points: test.max_points,
            verdict: test.verdict.label(),
            message: describe(&test.verdict),
            output: test.output.clone(),
            elapsed_ms: test.elapsed_ms,
        })
        .collect();
    exercise_grade(exercise, status, message, tests)
}

fn earns_points(verdict: &Verdict) -> bool {
    matches!(verdict, Verdict::Pass | Verdict::Inconclusive { .. })
}

/// The grade of `exercise` from its tests; the points are theirs, the maximum the metadata's.
fn exercise_grade(
    exercise: &Exercise,
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
        max_points: exercise.max_points(),
        message,
        tests,
    }
}

/// An exercise that got no test results: every test listed at zero points, so the maximum
/// still counts and every format shows the tests the student lost.
fn not_graded(
    exercise: &Exercise,
    private: Option<&PrivateTests>,
    status: ExerciseStatus,
    message: String,
) -> ExerciseGrade {
    let grade = not_graded_in(exercise, Suite::Hidden, status, message.clone());
    match private {
        Some(private) => merge(
            grade,
            not_graded_in(
                &private.as_exercise(exercise),
                Suite::Private,
                status,
                message,
            ),
        ),
        None => grade,
    }
}

fn not_graded_in(
    exercise: &Exercise,
    suite: Suite,
    status: ExerciseStatus,
    message: String,
) -> ExerciseGrade {
    let label = serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let tests = exercise
        .meta
        .tests
        .iter()
        .map(|test| TestGrade {
            name: test.name.clone(),
            suite,
            points: 0,
            max_points: test.points,
            verdict: label.clone(),
            message: message.clone(),
            output: String::new(),
            elapsed_ms: 0,
        })
        .collect();
    exercise_grade(exercise, status, message, tests)
}

/// Adds the private tests' results to the canonical ones. The worse status wins, so an
/// exercise counts as passed only when both suites pass.
fn merge(mut canonical: ExerciseGrade, private: ExerciseGrade) -> ExerciseGrade {
    canonical.points += private.points;
    canonical.max_points += private.max_points;
    if canonical.status == ExerciseStatus::Passed {
        canonical.status = private.status;
    }
    if canonical.message.is_empty() && !private.message.is_empty() {
        canonical.message = format!("private tests: {}", private.message);
    }
    canonical.tests.extend(private.tests);
    canonical
}

/// The report as pretty JSON in the documented schema.
pub fn to_json(report: &GradeReport) -> String {
    serde_json::to_string_pretty(report).expect("a grade report always serialises")
}

/// A report read back from [`to_json`], checking the schema version.
pub fn from_json(text: &str) -> std::result::Result<GradeReport, String> {
    let report: GradeReport =
        serde_json::from_str(text).map_err(|e| format!("not a threadlings grade report: {e}"))?;
    if report.schema != SCHEMA {
        return Err(format!(
            "the report has schema `{}`, this grader reads `{SCHEMA}`; grade again with this version",
            report.schema
        ));
    }
    Ok(report)
}

/// How a test appears in other tools: `01_race_counter::name`, with `private::` for private
/// tests so names never collide with canonical ones.
pub fn qualified_name(exercise: &ExerciseGrade, test: &TestGrade) -> String {
    match test.suite {
        Suite::Hidden => format!("{}::{}", exercise.dir_name, test.name),
        Suite::Private => format!("{}::private::{}", exercise.dir_name, test.name),
    }
}

/// JUnit XML: one `<testsuite>` per exercise, one `<testcase>` per test. A failing verdict is a
/// `<failure>` (the code was graded and is wrong); an exercise that could not be graded at
/// all gives `<error>` test cases.
pub fn to_junit(report: &GradeReport) -> String {
    use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};
    let mut junit = quick_junit::Report::new(format!("threadlings grade: {}", report.subject));
    junit.set_time(Duration::from_millis(report.elapsed_ms));
    for exercise in &report.exercises {
        let mut suite = TestSuite::new(exercise.dir_name.clone());
        suite.add_property(Property::new("points", exercise.points.to_string()));
        suite.add_property(Property::new("max_points", exercise.max_points.to_string()));
        suite.add_property(Property::new("status", status_label(exercise.status)));
        for test in &exercise.tests {
            let status = if test.passed() {
                TestCaseStatus::success()
            } else {
                let kind = match exercise.status {
                    ExerciseStatus::Passed | ExerciseStatus::Failed => NonSuccessKind::Failure,
                    _ => NonSuccessKind::Error,
                };
                let mut status = TestCaseStatus::non_success(kind);
                status.set_type(test.verdict.clone());
                status.set_message(first_line(&test.message));
                status.set_description(test.message.clone());
                status
            };
            let mut case = TestCase::new(test.name.clone(), status);
            case.set_classname(match test.suite {
                Suite::Hidden => exercise.dir_name.clone(),
                Suite::Private => format!("{}.private", exercise.dir_name),
            });
            case.set_time(Duration::from_millis(test.elapsed_ms));
            case.add_property(Property::new("points", test.points.to_string()));
            case.add_property(Property::new("max_points", test.max_points.to_string()));
            if !test.output.is_empty() {
                case.set_system_out(test.output.clone());
            }
            suite.add_test_case(case);
        }
        junit.add_test_suite(suite);
    }
    junit
        .to_string()
        .expect("a JUnit report of plain strings always serialises")
}

/// Gradescope's `results.json`, with the fields its autograder documentation lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradescopeResults {
    pub score: f64,
    pub max_score: f64,
    pub output: String,
    pub visibility: String,
    pub stdout_visibility: String,
    pub tests: Vec<GradescopeTest>,
}

/// One entry of Gradescope's `tests` array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradescopeTest {
    pub name: String,
    pub score: f64,
    pub max_score: f64,
    /// `passed` or `failed`.
    pub status: String,
    pub output: String,
    /// `visible` for canonical tests; `after_published` for private ones, so students see
    /// their private results only once the instructor publishes grades.
    pub visibility: String,
}

/// Gradescope's `results.json`.
pub fn to_gradescope(report: &GradeReport) -> String {
    let tests = report
        .exercises
        .iter()
        .flat_map(|exercise| {
            exercise.tests.iter().map(move |test| GradescopeTest {
                name: qualified_name(exercise, test),
                score: f64::from(test.points),
                max_score: f64::from(test.max_points),
                status: if test.passed() { "passed" } else { "failed" }.to_owned(),
                output: test_output(test),
                visibility: match test.suite {
                    Suite::Hidden => "visible",
                    Suite::Private => "after_published",
                }
                .to_owned(),
            })
        })
        .collect();
    let results = GradescopeResults {
        score: f64::from(report.points),
        max_score: f64::from(report.max_points),
        output: summary_line(report) + &ignored_text(report),
        visibility: "visible".to_owned(),
        stdout_visibility: "hidden".to_owned(),
        tests,
    };
    serde_json::to_string_pretty(&results).expect("Gradescope results always serialise")
}

/// The fields of Gradescope's autograder `results.json`, as its documentation lists them.
const GRADESCOPE_TOP_LEVEL: &[&str] = &[
    "score",
    "max_score",
    "execution_time",
    "output",
    "output_format",
    "test_output_format",
    "test_name_format",
    "visibility",
    "stdout_visibility",
    "extra_data",
    "tests",
    "leaderboard",
];
const GRADESCOPE_TEST: &[&str] = &[
    "score",
    "max_score",
    "status",
    "name",
    "name_format",
    "number",
    "output",
    "output_format",
    "tags",
    "visibility",
    "extra_data",
];
const GRADESCOPE_VISIBILITY: &[&str] = &["hidden", "after_due_date", "after_published", "visible"];

/// Checks a `results.json` written by anyone against Gradescope's documented fields and value sets, and that
/// the per-test scores add up to the total. Returns the problems found.
pub fn gradescope_problems(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(e) => return vec![format!("not JSON: {e}")],
    };
    let Some(top) = value.as_object() else {
        return vec!["the top level is not an object".into()];
    };
    for key in top.keys() {
        if !GRADESCOPE_TOP_LEVEL.contains(&key.as_str()) {
            problems.push(format!("undocumented top-level field `{key}`"));
        }
    }
    for key in ["score", "max_score"] {
        if !top.get(key).is_some_and(Value::is_number) {
            problems.push(format!("`{key}` must be a number"));
        }
    }
    for key in ["visibility", "stdout_visibility"] {
        if let Some(v) = top.get(key) {
            if !GRADESCOPE_VISIBILITY.contains(&v.as_str().unwrap_or("")) {
                problems.push(format!("`{key}` is {v}, not a Gradescope visibility"));
            }
        }
    }
    let Some(tests) = top.get("tests").and_then(Value::as_array) else {
        problems.push("`tests` must be an array".into());
        return problems;
    };
    let mut sum = 0.0;
    for (index, test) in tests.iter().enumerate() {
        let Some(test) = test.as_object() else {
            problems.push(format!("tests[{index}] is not an object"));
            continue;
        };
        for key in test.keys() {
            if !GRADESCOPE_TEST.contains(&key.as_str()) {
                problems.push(format!("tests[{index}] has undocumented field `{key}`"));
            }
        }
        for key in ["name", "status", "output", "visibility"] {
            if !test.get(key).is_some_and(Value::is_string) {
                problems.push(format!("tests[{index}].{key} must be a string"));
            }
        }
        let score = test.get("score").and_then(Value::as_f64);
        let max_score = test.get("max_score").and_then(Value::as_f64);
        match (score, max_score) {
            (Some(score), Some(max)) if (0.0..=max).contains(&score) => sum += score,
            _ => problems.push(format!(
                "tests[{index}] needs numbers 0 <= score <= max_score, got {score:?} of {max_score:?}"
            )),
        }
        let status = test.get("status").and_then(Value::as_str).unwrap_or("");
        if !["passed", "failed"].contains(&status) {
            problems.push(format!(
                "tests[{index}].status is `{status}`, not passed/failed"
            ));
        }
        let visibility = test.get("visibility").and_then(Value::as_str).unwrap_or("");
        if !GRADESCOPE_VISIBILITY.contains(&visibility) {
            problems.push(format!("tests[{index}].visibility is `{visibility}`"));
        }
    }
    let score = top.get("score").and_then(Value::as_f64).unwrap_or(-1.0);
    if (score - sum).abs() > 1e-9 {
        problems.push(format!(
            "score {score} is not the sum of the test scores {sum}"
        ));
    }
    problems
}

fn test_output(test: &TestGrade) -> String {
    if test.verdict == "pass" {
        return String::new();
    }
    let mut text = format!("{}: {}", test.verdict, test.message);
    if !test.output.trim().is_empty() {
        text.push_str("\n\nWhat the test printed:\n");
        text.push_str(&test.output);
    }
    text
}

fn summary_line(report: &GradeReport) -> String {
    let passed = report
        .exercises
        .iter()
        .filter(|e| e.status == ExerciseStatus::Passed)
        .count();
    format!(
        "{}/{} points; {passed} of {} exercises fully passed",
        report.points,
        report.max_points,
        report.exercises.len()
    )
}

fn ignored_text(report: &GradeReport) -> String {
    let ignored = &report.ignored;
    if ignored.listed.is_empty() {
        return String::new();
    }
    let mut text = String::from(
        "\n\nChanges outside exercises/*/src/ were ignored (only src/*.rs is graded):\n",
    );
    for change in &ignored.listed {
        text.push_str(&format!("  {} ({})\n", change.path, change.change));
    }
    if ignored.more > 0 {
        text.push_str(&format!("  ... and {} more\n", ignored.more));
    }
    text
}

pub fn status_label(status: ExerciseStatus) -> &'static str {
    match status {
        ExerciseStatus::Passed => "passed",
        ExerciseStatus::Failed => "failed",
        ExerciseStatus::Rejected => "rejected",
        ExerciseStatus::BuildFailed => "build failed",
        ExerciseStatus::Missing => "missing",
        ExerciseStatus::Error => "not graded",
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}

/// Markdown for a CI job summary: a table of exercises, then what failed and why.
pub fn to_markdown(report: &GradeReport) -> String {
    let mut out = format!(
        "## threadlings grade: {}\n\n**{}**\n\n| exercise | points | status |\n| --- | ---: | --- |\n",
        escape_markdown(&report.subject),
        summary_line(report)
    );
    for exercise in &report.exercises {
        out.push_str(&format!(
            "| {} {} | {}/{} | {} |\n",
            exercise.dir_name,
            escape_markdown(&exercise.title),
            exercise.points,
            exercise.max_points,
            status_label(exercise.status)
        ));
    }
    let failing: Vec<_> = report
        .exercises
        .iter()
        .flat_map(|exercise| {
            exercise
                .tests
                .iter()
                .filter(|test| test.verdict != "pass")
                .map(move |test| (exercise, test))
        })
        .collect();
    if !failing.is_empty() {
        out.push_str("\n### Tests that did not pass (or could not time)\n\n");
        for (exercise, test) in failing {
            out.push_str(&format!(
                "- `{}` ({}/{}): **{}**: {}\n",
                qualified_name(exercise, test),
                test.points,
                test.max_points,
                test.verdict,
                escape_markdown(&first_line(&test.message))
            ));
        }
    }
    if !report.ignored.listed.is_empty() {
        out.push_str("\n### Ignored changes\n\nOnly `exercises/*/src/*.rs` is graded; these changes did not count:\n\n");
        for change in &report.ignored.listed {
            out.push_str(&format!(
                "- `{}` ({})\n",
                change.path.replace('`', "'"),
                change.change
            ));
        }
        if report.ignored.more > 0 {
            out.push_str(&format!("- ... and {} more\n", report.ignored.more));
        }
    }
    out
}

/// Student-controlled text must not break the table or inject markup into a CI summary.
fn escape_markdown(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c {
            '|' | '<' | '>' | '*' | '_' | '`' | '[' | ']' | '\\' => vec!['\\', c],
            '\n' | '\r' => vec![' '],
            c => vec![c],
        })
        .collect()
}
