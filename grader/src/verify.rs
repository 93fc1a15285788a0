//! Proves that the hidden tests catch what they claim to catch.
//!
//! For every exercise: the solution passes every test; the untouched stub is rejected by the
//! test and verdict its metadata names; every mutant is rejected by the test and verdict it
//! declares; and the exercise is consistent: every rule of [`crate::consistency`] holds. A
//! mutant that slips through, or is caught for a different reason than it claims, is a failure
//! of `verify`. It also shows, for every sentence of the contract, the mutants that break it
//! and the hidden tests that reject them ([`contract_coverage`]).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::catalog::{Exercise, Expectation};
use crate::check::{self, Options, Outcome};
use crate::consistency;
use crate::mutant::Mutant;
use crate::subject::Subject;
use crate::verdict::Expected;
use crate::workspace::Workspace;
use crate::{error, Error, Result};

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
    let mutants = Mutant::load_all(exercise)?;
    claims.extend(contract_coverage(exercise, &mutants)?);
    for mutant in &mutants {
        claims.push(mutant_rejected(workspace, exercise, mutant)?);
    }
    Ok(claims)
}

/// The file that lists an exercise's contract sentences by id: `"03.fifo" = "items come out in
/// the order they went in"`.
pub const CONTRACT_FILE: &str = "contract.toml";

/// Which mutants (and so which hidden tests, the ones that must reject them) prove each
/// sentence of the contract. A sentence of `contract.toml` that no mutant names fails, and so
/// does a mutant that names a sentence the file does not list. Without the file, the sentences
/// the mutants name are shown, and the claim says that none can be found missing.
pub fn contract_coverage(exercise: &Exercise, mutants: &[Mutant]) -> Result<Vec<Claim>> {
    let mut proofs: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for mutant in mutants {
        if let Some(id) = &mutant.spec.contract {
            proofs.entry(id).or_default().push(format!(
                "`{}` (mutant {})",
                mutant.spec.expect.rejected_by, mutant.name
            ));
        }
    }
    let proved_by = |id: &str| proofs.get(id).map(|found| found.join(", "));
    let path = exercise.hidden_dir.join(CONTRACT_FILE);
    if !path.exists() {
        let shown: Vec<String> = proofs
            .keys()
            .map(|id| format!("\n      {id}: {}", proved_by(id).unwrap_or_default()))
            .collect();
        let words = format!(
            "sentences the mutants prove (no {CONTRACT_FILE} lists every sentence, so none can \
             be found missing yet):{}",
            shown.concat()
        );
        return Ok(vec![claim(exercise, "contract", &words, None)]);
    }
    let sentences: BTreeMap<String, String> = toml::from_str(&error::read_to_string(&path)?)
        .map_err(|problem| Error::broken(&path, problem))?;
    let mut claims: Vec<Claim> = sentences
        .iter()
        .map(|(id, sentence)| {
            let (words, problem) = match proved_by(id) {
                Some(found) => (format!("\"{sentence}\": proved by {found}"), None),
                None => (
                    format!("\"{sentence}\": proved by nothing"),
                    Some(format!(
                        "no mutant breaks this sentence: add one to {} with `contract = \"{id}\"` \
                         and the hidden test that rejects it",
                        exercise.mutants_dir().display()
                    )),
                ),
            };
            claim(exercise, &format!("contract {id}"), &words, problem)
        })
        .collect();
    for (id, _) in proofs
        .iter()
        .filter(|(id, _)| !sentences.contains_key(**id))
    {
        claims.push(claim(
            exercise,
            &format!("contract {id}"),
            "is a sentence of the contract",
            Some(format!(
                "a mutant names `{id}`, which {} does not list",
                path.display()
            )),
        ));
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
