//! Grades one subject against one exercise's hidden tests: lint, build, run, decide.

use std::time::Instant;

use serde::Serialize;

use crate::catalog::Exercise;
use crate::lint::{self, Finding};
use crate::runner::{self, RunRequest};
use crate::scratch::{self, Profile, TestBinary};
use crate::subject::Subject;
use crate::verdict::{self, Verdict};
use crate::workspace::Workspace;
use crate::{Error, ErrorKind, Result};

/// How to grade.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Keep ANSI colours in compiler messages.
    pub color: bool,
    /// Run only these tests (all when empty).
    pub only: Vec<String>,
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
}

/// How far grading got.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum Outcome {
    /// The code goes around the sync shim or runs before `main`; nothing was compiled.
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

/// One hidden test's verdict and what it is worth.
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

impl ExerciseReport {
    /// Every test ran and passed, or (only a timing test can) could not be judged on this
    /// machine right now. An inconclusive test earns no points, but it is not the learner's
    /// failure: the structural tests beside it still check the same code.
    pub fn passed(&self) -> bool {
        matches!(&self.outcome, Outcome::Graded { tests } if tests.iter().all(|t| {
            t.verdict.is_pass() || matches!(t.verdict, Verdict::Inconclusive { .. })
        }))
    }

    pub fn tests(&self) -> &[TestResult] {
        match &self.outcome {
            Outcome::Graded { tests } => tests,
            _ => &[],
        }
    }
}

/// Lints, builds and runs the hidden tests of `exercise` against `subject`.
pub fn check(
    workspace: &Workspace,
    exercise: &Exercise,
    subject: &Subject,
    options: &Options,
) -> Result<ExerciseReport> {
    let started = Instant::now();
    let outcome = grade(workspace, exercise, subject, options)?;
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
        max_points: exercise.max_points(),
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}

fn grade(
    workspace: &Workspace,
    exercise: &Exercise,
    subject: &Subject,
    options: &Options,
) -> Result<Outcome> {
    let findings = lint::lint(subject, exercise.meta.uses_sync_shim);
    if !findings.is_empty() {
        return Ok(Outcome::Rejected {
            findings: findings.into_iter().map(FindingView::from).collect(),
        });
    }
    let binary = match scratch::build(workspace, exercise, subject, Profile::Debug, options.color)?
    {
        Ok(binary) => binary,
        Err(failure) => {
            return Ok(Outcome::BuildFailed {
                errors: failure.errors,
            })
        }
    };
    let listed = list_tests(&binary)?;
    // Timing tests run in a release build, made only when one of them is about to run.
    let mut release = None;
    let mut tests = Vec::new();
    for test in &exercise.meta.tests {
        if !options.only.is_empty() && !options.only.contains(&test.name) {
            continue;
        }
        if !listed.contains(&test.name) {
            return Err(Error::broken(
                &exercise.tests_file(),
                format!(
                    "exercise.toml lists test `{}`, which the hidden test file does not define",
                    test.name
                ),
            ));
        }
        if let Some(speedup) = &test.speedup {
            if release.is_none() {
                match scratch::build(
                    workspace,
                    exercise,
                    subject,
                    Profile::Release,
                    options.color,
                )? {
                    Ok(built) => release = Some(built),
                    Err(failure) => {
                        return Ok(Outcome::BuildFailed {
                            errors: failure.errors,
                        })
                    }
                }
            }
            let release = release.as_ref().expect("built just above");
            tests.push(crate::timing::run_speedup_test(
                workspace, exercise, subject, release, &test.name, speedup,
            )?);
            continue;
        }
        tests.push(run_test(workspace, exercise, subject, &binary, &test.name)?);
    }
    Ok(Outcome::Graded { tests })
}

/// Runs one hidden test of a built binary and decides its verdict.
pub fn run_test(
    workspace: &Workspace,
    exercise: &Exercise,
    subject: &Subject,
    binary: &TestBinary,
    test_name: &str,
) -> Result<TestResult> {
    let (run, verdict) =
        run_and_decide(workspace, exercise, subject, binary, test_name, Vec::new())?;
    let max_points = exercise.points_of(test_name);
    let output = if verdict.is_pass() {
        String::new()
    } else {
        let mut output = run.stdout.text();
        output.push_str(&run.stderr.text());
        scratch::map_scratch_paths(&output, &subject.display_dir)
    };
    Ok(TestResult {
        name: test_name.to_owned(),
        points: if verdict.is_pass() { max_points } else { 0 },
        max_points,
        verdict,
        elapsed_ms: run.elapsed.as_millis() as u64,
        output,
        notes: run.report.map(|report| report.notes).unwrap_or_default(),
    })
}

/// Runs one process of a hidden test, with `extra_args` after `--run NAME`, and decides its
/// verdict, counting objects it left in `/dev/shm` as a leak.
pub(crate) fn run_and_decide(
    workspace: &Workspace,
    exercise: &Exercise,
    subject: &Subject,
    binary: &TestBinary,
    test_name: &str,
    extra_args: Vec<String>,
) -> Result<(runner::RawRun, Verdict)> {
    let timeout = exercise.timeout_of(test_name);
    let request = RunRequest {
        executable: binary.executable.clone(),
        test_name: test_name.to_owned(),
        timeout,
        memory_mib: exercise.meta.limits.memory_mib,
        sandbox_dir: workspace.sandbox_dir(),
        extra_args,
    };
    let run = runner::run(&request)?;
    let context = verdict::Context {
        tests_file: &exercise.tests_file(),
        display_dir: &subject.display_dir,
        timeout,
        memory_mib: exercise.meta.limits.memory_mib,
    };
    let mut verdict = verdict::decide(&run, &context);
    if verdict.is_pass() && !run.new_shm_objects.is_empty() {
        verdict = Verdict::Leak {
            message: format!(
                "{} appeared in /dev/shm during the test and was never removed: a shared-memory \
                 object outlives every process that used it until someone calls shm_unlink",
                run.new_shm_objects.join(", ")
            ),
        };
    }
    Ok((run, verdict))
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
