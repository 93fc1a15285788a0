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
/// does a mutant that names a sentence the file does not list. Without the file the claim
/// fails too: no sentence could then be found unproved, so coverage would be claimed unseen.
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
        let problem = format!(
            "{} is missing: add it with one `\"{:02}.id\" = \"sentence\"` line per sentence of \
             the chapter's contract, so that a sentence no mutant proves can be found",
            path.display(),
            exercise.meta.number
        );
        return Ok(vec![claim(
            exercise,
            "contract",
            &format!("{CONTRACT_FILE} lists every sentence of the contract"),
            Some(problem),
        )]);
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
        Outcome::BuildFailed { errors } => match &expect.build_error {
            Some(words) => {
                (!errors.iter().any(|error| error.contains(words.as_str()))).then(|| {
                    format!(
                        "it does not compile, but not with the error it declares (`{words}`):\n{}",
                        errors.join("\n")
                    )
                })
            }
            None => build_failure_problem(errors, &subject.display_dir),
        },
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

/// Why a build failure is not the proof a `build` expectation claims, if it is not: the
/// hidden tests must be what no longer compiles (they borrow, and the mistake asks for
/// `'static`), so every error must point into them, never into the subject's own files. Notes
/// may still name the subject's signature that caused the error. A mutant with a typo fails to
/// build too, and proves nothing about its contract sentence.
fn build_failure_problem(errors: &[String], display_dir: &str) -> Option<String> {
    let own_files = format!("{display_dir}/src/");
    // rustc's first `--> file:line:column` of an error is where the error is.
    let located_at = |error: &String| {
        error
            .lines()
            .find_map(|line| line.trim_start().strip_prefix("--> "))
            .map(str::to_owned)
    };
    let places: Vec<String> = errors.iter().filter_map(located_at).collect();
    let in_hidden_tests = places.iter().any(|place| place.contains("tests.rs"));
    let in_own_files = places.iter().any(|place| place.contains(&own_files));
    (!in_hidden_tests || in_own_files).then(|| {
        format!(
            "it does not compile, but not because the hidden tests need what it broke: every \
             error must be in the hidden tests' file and none in {own_files}:\n{}",
            errors.join("\n")
        )
    })
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn a_build_proof_needs_the_error_in_the_hidden_tests_not_in_the_mutant() {
        let at = |place: &str| {
            format!("error[E0597]: `seen` does not live long enough\n  --> {place}\n   |\nnote: requirement introduced here\n  --> mutant m/src/lib.rs:10:54")
        };
        let borrow = at("/work/grader/hidden/01_race_counter/tests.rs:19:49");
        assert_eq!(build_failure_problem(&[borrow.clone()], "mutant m"), None);
        let typo = at("mutant m/src/lib.rs:3:1");
        assert!(build_failure_problem(&[typo.clone()], "mutant m").is_some());
        assert!(build_failure_problem(&[borrow, typo], "mutant m").is_some());
        assert!(build_failure_problem(&["error: linking failed".into()], "mutant m").is_some());
    }
    use crate::catalog::Catalog;

    /// The exercises of this checkout, or `None` in an edition without hidden mutants.
    fn this_checkout() -> Option<Vec<Exercise>> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let workspace = Workspace::open(root).expect("the checkout opens");
        if !workspace.solutions_dir().is_dir() {
            eprintln!("skipped: this edition has no solutions and no mutants");
            return None;
        }
        Some(
            Catalog::load(&workspace)
                .expect("every exercise.toml loads")
                .exercises,
        )
    }

    #[test]
    fn every_sentence_of_every_contract_is_named_by_a_mutant() {
        let Some(exercises) = this_checkout() else {
            return;
        };
        let unproved: Vec<String> = exercises
            .iter()
            .flat_map(|exercise| {
                let mutants = Mutant::load_all(exercise).expect("the mutants load");
                contract_coverage(exercise, &mutants).expect("contract.toml reads")
            })
            .filter_map(|claim| {
                let problem = claim.problem?;
                Some(format!("{} {}: {problem}", claim.exercise, claim.subject))
            })
            .collect();
        assert!(unproved.is_empty(), "{}", unproved.join("\n"));
    }

    #[test]
    fn a_missing_contract_file_is_a_failing_claim() {
        let Some(exercises) = this_checkout() else {
            return;
        };
        let empty = tempfile::tempdir().expect("a temporary folder");
        let mut exercise = exercises[0].clone();
        exercise.hidden_dir = empty.path().to_path_buf();
        let claims = contract_coverage(&exercise, &[]).expect("no file is not an error");
        assert_eq!(claims.len(), 1, "{claims:?}");
        let problem = claims[0].problem.as_deref().expect("the claim fails");
        assert!(problem.contains("contract.toml is missing"), "{problem}");
    }
}
