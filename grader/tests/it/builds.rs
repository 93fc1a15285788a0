//! Builds shared by the graders of one checkout.

/// Graders of one checkout share builds of identical code, so a roster's cleanup must not
/// remove a build another grader is still using: `scratch::clean` leaves a subject's builds
/// alone while `scratch::in_use` is held, and removes them once it is dropped.
#[test]
fn a_build_in_use_is_not_cleaned_from_under_its_grader() {
    let workspace = crate::util::workspace();
    let catalog = grader::catalog::Catalog::load(&workspace).expect("the catalog loads");
    let exercise = catalog.find("01").expect("exercise 01");
    let key = "code-cleanup-race-test";
    let build = workspace
        .scratch_dir()
        .join(&exercise.dir_name)
        .join(format!("{key}-hidden"));
    std::fs::create_dir_all(&build).expect("a scratch crate folder");
    let in_use = grader::scratch::in_use(&workspace, exercise, key).expect("the lock");
    grader::scratch::clean(&workspace, exercise, key).expect("cleaning runs");
    assert!(build.is_dir(), "a build in use was removed");
    drop(in_use);
    grader::scratch::clean(&workspace, exercise, key).expect("cleaning runs");
    assert!(!build.exists(), "a build nobody uses was left behind");
}

/// One student's exercises are built by one cargo run (`scratch::build_together`): an exercise
/// that does not compile, or whose code lifts `forbid(unsafe_code)`, fails alone, with the
/// compiler's errors on the learner's own files (rustc saw absolute paths), and the other
/// exercises still get their test binaries.
#[test]
fn one_cargo_run_builds_several_exercises_and_a_failure_stays_with_its_own() {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    use grader::scratch::{self, Part, Profile};
    use grader::subject::{Subject, SubjectKind};

    let workspace = crate::util::workspace();
    let catalog = grader::catalog::Catalog::load(&workspace).expect("the catalog loads");
    let submission = |label: &str, number: &str, extra: &str| {
        let exercise = catalog.find(number).expect("the exercise");
        let solution = Subject::solution(&workspace, exercise).expect("its solution");
        let mut sources: BTreeMap<PathBuf, String> = solution.sources.clone();
        let lib = sources.get_mut(Path::new("lib.rs")).expect("a lib.rs");
        *lib = format!("{lib}\n{extra}\n");
        Subject {
            kind: SubjectKind::Submission {
                label: label.to_owned(),
            },
            display_dir: format!("{label}/exercises/{}", exercise.dir_name),
            sources,
        }
    };
    let good = submission("good", "01", "// built together");
    let wrong = submission("wrong", "02", "pub fn broken() -> u32 { \"a string\" }");
    let sneaky = submission(
        "sneaky",
        "01",
        "#[allow(unsafe_code)]\npub fn sneaky() -> u8 { unsafe { *(&7u8 as *const u8) } }",
    );
    let (one, two) = (catalog.find("01").unwrap(), catalog.find("02").unwrap());
    let (suite_one, suite_two) = (one.hidden_suite(), two.hidden_suite());
    let parts = [
        Part {
            exercise: one,
            suite: &suite_one,
            subject: &good,
        },
        Part {
            exercise: two,
            suite: &suite_two,
            subject: &wrong,
        },
        Part {
            exercise: one,
            suite: &suite_one,
            subject: &sneaky,
        },
    ];
    let built = scratch::build_together(
        &workspace,
        &parts,
        Profile::Debug,
        false,
        &grader::events::Observer::none(),
    )
    .expect("cargo runs");
    assert_eq!(built.len(), 3, "one result per part");

    let binary = built[0]
        .as_ref()
        .expect("the good exercise builds beside two that do not");
    let listed = grader::check::list_tests(binary).expect("the binary lists its tests");
    assert!(
        suite_one
            .tests
            .iter()
            .all(|test| listed.contains(&test.name)),
        "the test binary is exercise 01's: {listed:?}"
    );
    let artifacts = workspace
        .scratch_dir()
        .join(&one.dir_name)
        .join(good.key())
        .join("artifacts.txt");
    let artifacts = std::fs::read_to_string(&artifacts).expect("the build's artifacts are listed");
    assert!(
        artifacts.contains(&binary.executable.display().to_string()),
        "the test binary is recorded for cleaning:\n{artifacts}"
    );

    let wrong_errors = built[1]
        .as_ref()
        .expect_err("02 does not compile")
        .errors
        .join("\n");
    assert!(
        wrong_errors.contains("E0308")
            && wrong_errors.contains("wrong/exercises/02_lock_fix/src/lib.rs:"),
        "the compiler's error names the learner's file:\n{wrong_errors}"
    );
    assert!(
        !wrong_errors.contains("/scratch/") && !wrong_errors.contains("subject/src"),
        "no scratch path reaches the learner:\n{wrong_errors}"
    );
    let sneaky_errors = built[2]
        .as_ref()
        .expect_err("forbid(unsafe_code) holds")
        .errors
        .join("\n");
    assert!(
        sneaky_errors.contains("unsafe_code") && sneaky_errors.contains("forbid"),
        "rustc names the forbidden lint:\n{sneaky_errors}"
    );

    let left: Vec<_> = std::fs::read_dir(workspace.scratch_dir())
        .expect("the scratch folder")
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("together-"))
        .collect();
    assert!(
        left.is_empty(),
        "the temporary package is removed: {left:?}"
    );
}
