//! Proves that the hidden tests catch what they claim to catch.
//!
//! For every exercise: the solution passes every test; the untouched stub is rejected by the
//! test and verdict its metadata names; every mutant is rejected by the test and verdict it
//! declares; and the exercise is consistent: every rule of [`crate::consistency`] holds. A
//! mutant that slips through, or is caught for a different reason than it claims, is a failure
//! of `verify`.

use serde::Serialize;

use crate::catalog::{Exercise, Expectation};
use crate::check::{self, Options, Outcome};
use crate::consistency;
use crate::mutant::Mutant;
use crate::subject::Subject;
use crate::verdict::Expected;
use crate::workspace::Workspace;
use crate::Result;

/// One claim `verify` checked.
#[derive(Debug, Clone, Serialize)]
pub struct Claim {
    pub exercise: String,
    /// What was checked: `solution`, `stub`, `mutant <name>`, `metadata`.
    pub subject: String,
    /// The claim in words.
    pub claim: String,
    /// `None` when the claim holds; otherwise what went wrong.
    pub problem: Option<String>,
}

impl Claim {
    pub fn holds(&self) -> bool {
        self.problem.is_none()
    }
}

/// Verifies one exercise.
pub fn verify_exercise(workspace: &Workspace, exercise: &Exercise) -> Result<Vec<Claim>> {
    let mut claims = consistency(workspace, exercise);
    claims.push(solution_passes(workspace, exercise)?);
    claims.push(expect_rejection(
        workspace,
        exercise,
        &Subject::exercise(workspace, exercise)?,
        "stub",
        &exercise.meta.stub,
    )?);
    for mutant in Mutant::load_all(exercise)? {
        claims.push(mutant_rejected(workspace, exercise, &mutant)?);
    }
    Ok(claims)
}

/// Checks that one mutant is rejected by the test and verdict it declares.
pub fn mutant_rejected(
    workspace: &Workspace,
    exercise: &Exercise,
    mutant: &Mutant,
) -> Result<Claim> {
    let subject = match Subject::mutant(workspace, exercise, mutant) {
        Ok(subject) => subject,
        Err(problem) => {
            return Ok(claim(
                exercise,
                &format!("mutant {}", mutant.name),
                "its edits apply",
                Some(problem.to_string()),
            ))
        }
    };
    expect_rejection(
        workspace,
        exercise,
        &subject,
        &format!("mutant {}", mutant.name),
        &mutant.spec.expect,
    )
}

fn claim(exercise: &Exercise, subject: &str, words: &str, problem: Option<String>) -> Claim {
    Claim {
        exercise: exercise.dir_name.clone(),
        subject: subject.to_owned(),
        claim: words.to_owned(),
        problem,
    }
}

fn solution_passes(workspace: &Workspace, exercise: &Exercise) -> Result<Claim> {
    let subject = Subject::solution(workspace, exercise)?;
    let report = check::check(workspace, exercise, &subject, &Options::default())?;
    let problem = match &report.outcome {
        Outcome::Rejected { findings } => Some(format!("the lint rejects it: {:?}", findings)),
        Outcome::BuildFailed { errors } => {
            Some(format!("it does not compile:\n{}", errors.join("\n")))
        }
        Outcome::Graded { tests } => {
            let failing: Vec<String> = tests
                .iter()
                // A timing test may be inconclusive on a busy machine; it must never fail.
                .filter(|t| !t.verdict.is_success())
                .map(|t| format!("{}: {:?}\n{}", t.name, t.verdict, t.output))
                .collect();
            (!failing.is_empty()).then(|| failing.join("\n"))
        }
    };
    Ok(claim(
        exercise,
        "solution",
        "passes every hidden test",
        problem,
    ))
}

fn expect_rejection(
    workspace: &Workspace,
    exercise: &Exercise,
    subject: &Subject,
    who: &str,
    expect: &Expectation,
) -> Result<Claim> {
    let words = format!(
        "is rejected by `{}` with `{}`",
        expect.rejected_by, expect.verdict
    );
    let options = Options {
        only: vec![expect.rejected_by.clone()],
        ..Options::default()
    };
    let report = check::check(workspace, exercise, subject, &options)?;
    let problem = match &report.outcome {
        Outcome::Rejected { .. } if expect.verdict == Expected::Rejected => None,
        Outcome::Rejected { findings } => Some(format!(
            "the lint rejected it before any test ran: {findings:?}"
        )),
        Outcome::BuildFailed { errors } if expect.verdict != Expected::BuildFailed => {
            Some(format!("it does not compile:\n{}", errors.join("\n")))
        }
        Outcome::BuildFailed { .. } => None,
        Outcome::Graded { tests } => match tests.first() {
            None => Some(format!("test `{}` did not run", expect.rejected_by)),
            Some(test) if expect.verdict.is_met_by(test.verdict.label()) => None,
            Some(test) => Some(format!(
                "got `{}` instead: {:?}\n{}",
                test.verdict.label(),
                test.verdict,
                test.output
            )),
        },
    };
    Ok(claim(exercise, who, &words, problem))
}

/// The course's consistency rules ([`consistency`]) as claims about this exercise's metadata.
fn consistency(workspace: &Workspace, exercise: &Exercise) -> Vec<Claim> {
    let mut findings = consistency::check_exercise(workspace, exercise);
    findings.push(consistency::listed_tests_problem(workspace, exercise));
    findings
        .into_iter()
        .map(|finding| claim(exercise, "metadata", &finding.rule, finding.problem))
        .collect()
}
