//! Attempts a learner (or a hostile submission) might make, each of which must get one exact
//! verdict: a deadlock is diagnosed as a deadlock, a spin as a spin, an early `exit(0)` or a
//! forged pass line is a crash, never a pass.
//!
//! Each file in `attempts/NN_name/` has the format of a mutant (edits to the solution plus the
//! expected test and verdict), so the suite grows by adding files, not code. A right solution
//! written differently declares `verdict = "pass"` (and `rejected_by = "none"`): it must pass
//! every hidden test that does not need the clock. `wrong_*` and `right_*` files are the
//! realistic attempts of new learners; the others are hostile.

use std::path::{Path, PathBuf};

use grader::catalog::Catalog;
use grader::check::{self, Options, Outcome};
use grader::mutant::Mutant;
use grader::subject::Subject;
use grader::verdict::{Expected, VerdictLabel};
use grader::workspace::Workspace;

use crate::util::{one_at_a_time, workspace};

fn attempt_files() -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("attempts");
    let mut files = Vec::new();
    for exercise in std::fs::read_dir(&root)
        .expect("attempts/ exists")
        .flatten()
    {
        for attempt in std::fs::read_dir(exercise.path())
            .expect("an exercise folder")
            .flatten()
        {
            files.push((
                exercise.file_name().to_string_lossy().into_owned(),
                attempt.path(),
            ));
        }
    }
    files.sort();
    files
}

#[test]
fn every_attempt_gets_the_verdict_it_declares() {
    let _serial = one_at_a_time();
    grader::reaper::become_subreaper();
    let workspace = workspace();
    let catalog = Catalog::load(&workspace).expect("the catalog loads");
    let files = attempt_files();
    assert!(
        files.len() >= 6,
        "the attempt suite shrank to {} cases",
        files.len()
    );
    let mut problems = Vec::new();
    for (exercise_dir, path) in &files {
        let exercise = catalog
            .find(exercise_dir)
            .expect("attempt folders are named after exercises");
        let attempt = Mutant::load(path).expect("attempt files parse");
        let problem = if attempt.spec.expect.verdict == Expected::Verdict(VerdictLabel::Pass) {
            passes_every_clock_free_test(&workspace, exercise, &attempt)
        } else {
            grader::verify::mutant_rejected(&workspace, exercise, &attempt)
                .expect("grading runs")
                .problem
        };
        if let Some(problem) = problem {
            problems.push(format!("{}: {problem}", path.display()));
        }
    }
    assert!(
        problems.is_empty(),
        "attempts with the wrong verdict:\n{}",
        problems.join("\n\n")
    );
    assert!(
        grader::reaper::reap_strays().is_empty(),
        "attempts left processes behind"
    );
}

/// A right solution written differently: every hidden test but the timed ones must pass (the
/// timer's verdict depends on the machine, and the clock-free tests already fail serial code).
fn passes_every_clock_free_test(
    workspace: &Workspace,
    exercise: &grader::catalog::Exercise,
    attempt: &Mutant,
) -> Option<String> {
    let subject = match Subject::mutant(workspace, exercise, attempt) {
        Ok(subject) => subject,
        Err(problem) => return Some(problem.to_string()),
    };
    let only: Vec<String> = exercise
        .meta
        .tests
        .iter()
        .filter(|test| test.speedup.is_none())
        .map(|test| test.name.clone())
        .collect();
    let options = Options {
        only,
        ..Options::default()
    };
    let report = check::check(workspace, exercise, &subject, &options).expect("grading runs");
    match &report.outcome {
        Outcome::Graded { tests } => {
            let failing: Vec<String> = tests
                .iter()
                // A test that measures the hardware may say it cannot tell; it never fails.
                .filter(|test| !test.verdict.is_success())
                .map(|test| format!("{}: {:?}\n{}", test.name, test.verdict, test.output))
                .collect();
            (!failing.is_empty()).then(|| {
                format!(
                    "a right solution must pass every clock-free test:\n{}",
                    failing.join("\n")
                )
            })
        }
        other => Some(format!(
            "a right solution must build and be graded, got {other:?}"
        )),
    }
}

#[test]
fn compiler_errors_point_at_the_learners_file_not_the_scratch_crate() {
    let _serial = one_at_a_time();
    let workspace = workspace();
    let catalog = Catalog::load(&workspace).expect("the catalog loads");
    let exercise = catalog.find("01").expect("exercise 01 exists");
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/attempts/01_race_counter/does_not_compile.toml");
    let attempt = Mutant::load(&path).expect("the attempt parses");
    let subject = Subject::mutant(&workspace, exercise, &attempt).expect("the edit applies");
    let report =
        check::check(&workspace, exercise, &subject, &Options::default()).expect("grading runs");
    let Outcome::BuildFailed { errors } = &report.outcome else {
        panic!("a type error must stop the build, got {:?}", report.outcome);
    };
    let all = errors.join("\n");
    assert!(
        all.contains("mismatched types"),
        "the compiler's own words are kept:\n{all}"
    );
    assert!(
        all.contains("mutant does_not_compile/src/lib.rs"),
        "paths name the graded crate:\n{all}"
    );
    assert!(
        !all.contains("subject/src"),
        "no scratch-crate paths leak into messages:\n{all}"
    );
}

#[test]
fn a_mutant_that_slips_through_fails_verify() {
    let _serial = one_at_a_time();
    let workspace = workspace();
    let catalog = Catalog::load(&workspace).expect("the catalog loads");
    let exercise = catalog.find("01").expect("exercise 01 exists");
    // An "edit" that changes only a comment leaves the solution correct, so the test it names
    // passes, and verify must say so.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("slipping-mutant");
    std::fs::create_dir_all(&dir).expect("a scratch folder in target/");
    let path = dir.join("harmless_comment.toml");
    std::fs::write(
        &path,
        r#"mistake = "changes nothing that matters"
[expect]
rejected_by = "counter_never_loses_an_increment"
verdict = "fail"
[[edit]]
find = "    /// Adds `n`, just as indivisibly."
replace = "    /// Adds `n`."
"#,
    )
    .expect("writing the mutant");
    let mutant = Mutant::load(&path).expect("the mutant parses");
    let claim =
        grader::verify::mutant_rejected(&workspace, exercise, &mutant).expect("grading runs");
    let problem = claim
        .problem
        .expect("a mutant that passes every test must fail verify");
    assert!(
        problem.contains("got `pass`"),
        "verify says the mutant passed: {problem}"
    );
}

/// A check tells its observer what it is doing, so that a first build of minutes and a long
/// test show they are alive: the build starts, crates finish, the build ends, and each test
/// says which of how many it is.
#[test]
fn a_check_tells_its_observer_every_step() {
    let _serial = one_at_a_time();
    use grader::events::{Event, Observer};
    use std::sync::{Arc, Mutex};
    let workspace = workspace();
    let catalog = Catalog::load(&workspace).expect("the catalog loads");
    let exercise = catalog.find("01").expect("exercise 01");
    let subject = Subject::solution(&workspace, exercise).expect("the solution reads");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let only = vec![
        "counter_starts_at_zero_and_counts_alone".to_owned(),
        "counter_never_loses_an_increment".to_owned(),
    ];
    let options = Options {
        only: only.clone(),
        observer: Observer::new(move |event| record.lock().unwrap().push(event.clone())),
        ..Options::default()
    };
    check::check(&workspace, exercise, &subject, &options).expect("grading runs");
    let seen = seen.lock().unwrap().clone();
    let position = |wanted: &dyn Fn(&Event) -> bool| {
        seen.iter()
            .position(|event| wanted(event))
            .unwrap_or_else(|| panic!("an expected event is missing: {seen:?}"))
    };
    let started = position(&|e| matches!(e, Event::BuildStarted { release: false, .. }));
    let compiled = position(&|e| matches!(e, Event::Compiled { done: 1, .. }));
    let finished = position(&|e| matches!(e, Event::BuildFinished { release: false }));
    let first_test = position(&|e| {
        matches!(
            e,
            Event::TestStarted {
                index: 1,
                total: 2,
                ..
            }
        )
    });
    let second_test = position(&|e| {
        matches!(
            e,
            Event::TestStarted {
                index: 2,
                total: 2,
                ..
            }
        )
    });
    assert!(
        started < compiled
            && compiled < finished
            && finished < first_test
            && first_test < second_test,
        "the events come in the order they happen: {seen:?}"
    );
}
