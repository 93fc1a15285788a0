//! Hostile submissions that need more than a verdict to be judged safe.
//!
//! `attempts.rs` proves every file in `attempts/` gets its declared verdict. The cases here
//! check what a verdict cannot show: that 50 forked children are gone afterwards, that a flood
//! of output is capped, and that a submission's own manifest, build script, dependency,
//! `sync.rs`, visible tests and (in a fork) hidden tests are never used, only listed as ignored.
//! Each case prints how long it took to get its verdict; nothing asserts on time.

use std::path::{Path, PathBuf};
use std::time::Instant;

use grader::catalog::{Catalog, Exercise};
use grader::check::{self, Options, Outcome};
use grader::grade::{self, ExerciseStatus, GradeReport, GradeRequest, Source, TestLabel};
use grader::mutant::Mutant;
use grader::subject::Subject;
use grader::submission::Submission;
use grader::verdict::VerdictLabel;
use grader::workspace::Workspace;

fn workspace() -> Workspace {
    Workspace::open(Path::new(env!("CARGO_MANIFEST_DIR")).join("..")).expect("the checkout opens")
}

fn exercise_01(workspace: &Workspace) -> Exercise {
    Catalog::load(workspace)
        .expect("the catalog loads")
        .find("01")
        .expect("exercise 01 exists")
        .clone()
}

fn attempt(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/attempts/01_race_counter")
        .join(format!("{name}.toml"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("hostile")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a folder under target/");
    dir
}

/// Processes on the machine whose name is `name`.
fn processes_named(name: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let comm = entry.path().join("comm");
        if std::fs::read_to_string(comm).is_ok_and(|c| c.trim() == name) {
            found.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    found
}

#[test]
fn fifty_forked_children_are_a_leak_and_none_survives_grading() {
    grader::runner::become_subreaper();
    let workspace = workspace();
    let exercise = exercise_01(&workspace);
    // A name of this run only, so another grader on the machine cannot confuse the count.
    let marker = format!("hf{}", std::process::id());
    let dir = scratch_dir("forks");
    let path = dir.join("forks_fifty_children_marked.toml");
    std::fs::write(
        &path,
        attempt("forks_fifty_children").replace("hostile-fork", &marker),
    )
    .expect("writing the attempt");
    let mutant = Mutant::load(&path).expect("the attempt parses");

    let started = Instant::now();
    let claim =
        grader::verify::mutant_rejected(&workspace, &exercise, &mutant).expect("grading runs");
    eprintln!(
        "hostile case forks_fifty_children: verdict in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        claim.holds(),
        "forking 50 children must be a leak: {:?}",
        claim.problem
    );
    let left = processes_named(&marker);
    assert!(
        left.is_empty(),
        "{} forked children ({}) outlived grading; the runner must kill and reap every one",
        left.len(),
        left.join(", ")
    );
}

#[test]
fn a_flood_of_output_is_capped_and_still_judged() {
    let workspace = workspace();
    let exercise = exercise_01(&workspace);
    let dir = scratch_dir("flood");
    let path = dir.join("floods_stdout.toml");
    std::fs::write(&path, attempt("floods_stdout")).expect("writing the attempt");
    let mutant = Mutant::load(&path).expect("the attempt parses");
    let subject = Subject::mutant(&workspace, &exercise, &mutant).expect("the edits apply");
    let options = Options {
        only: vec![mutant.spec.expect.rejected_by.clone()],
        ..Options::default()
    };
    let started = Instant::now();
    let report = check::check(&workspace, &exercise, &subject, &options).expect("grading runs");
    eprintln!(
        "hostile case floods_stdout: verdict in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let Outcome::Graded { tests } = &report.outcome else {
        panic!("the flood compiles and runs, got {:?}", report.outcome);
    };
    let test = &tests[0];
    assert_eq!(
        test.verdict.label(),
        VerdictLabel::Fail,
        "skipping the work after the flood fails: {:?}",
        test.verdict
    );
    let limit = 2 * grader::runner::OUTPUT_CAP + 1024;
    assert!(
        test.output.len() <= limit,
        "300 MiB of output must be capped: {} bytes were kept, at most {limit} may be",
        test.output.len()
    );
    assert!(
        test.output.contains("more bytes not kept"),
        "the cut is marked"
    );
}

fn grade_only_01(workspace: &Workspace, submission: Submission) -> GradeReport {
    let catalog = Catalog {
        exercises: vec![exercise_01(workspace)],
    };
    grade::grade(
        workspace,
        &catalog,
        &mut GradeRequest {
            source: &Source::Submission(submission),
            private_dir: None,
            on_exercise: &mut |_| {},
        },
    )
    .expect("grading runs")
}

/// Copies the stub of exercise 01 (its manifest and `src/`) to `to`.
fn copy_stub(workspace: &Workspace, to: &Path) {
    let stub = workspace.exercises_dir().join("01_race_counter");
    std::fs::create_dir_all(to.join("src")).expect("creating src/");
    for file in ["Cargo.toml", "src/lib.rs", "src/sync.rs"] {
        std::fs::copy(stub.join(file), to.join(file)).expect("copying the stub");
    }
}

/// The stub, with everything around `src/*.rs` turned against the grader. Had any of it been
/// used, the build would fail (build script, dependency, `sync.rs`) or the stub would pass
/// (visible tests); the canonical copies give the stub its ordinary failing grade.
#[test]
fn a_submissions_manifest_build_script_dependency_sync_and_tests_are_ignored() {
    let workspace = workspace();
    let dir = scratch_dir("manifest");
    let crate_dir = dir.join("exercises").join("01_race_counter");
    copy_stub(&workspace, &crate_dir);
    let marker = dir.join("build-script-ran");
    std::fs::write(
        crate_dir.join("Cargo.toml"),
        "[package]\nname = \"race_counter\"\nversion = \"0.1.0\"\nedition = \"2021\"\nbuild = \"build.rs\"\n\n\
         [dependencies]\nthreadlings-no-such-crate = \"99\"\n",
    )
    .expect("writing the manifest");
    std::fs::write(
        crate_dir.join("build.rs"),
        format!(
            "fn main() {{ std::fs::write({:?}, \"ran\").unwrap(); panic!(\"the build script ran\"); }}\n",
            marker.display().to_string()
        ),
    )
    .expect("writing the build script");
    std::fs::write(
        crate_dir.join("src").join("sync.rs"),
        "compile_error!(\"the submission's own sync.rs was compiled\");\n",
    )
    .expect("writing sync.rs");
    std::fs::create_dir_all(crate_dir.join("tests")).expect("tests/");
    std::fs::write(
        crate_dir.join("tests").join("visible.rs"),
        "#[test]\nfn always() {}\n",
    )
    .expect("writing a visible test");

    let started = Instant::now();
    let submission = Submission::open(&dir.join("exercises"), Some("mallory")).expect("it opens");
    let report = grade_only_01(&workspace, submission);
    eprintln!(
        "hostile case edited manifest, build.rs, dependency, sync.rs, tests: verdict in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let exercise = &report.exercises[0];
    assert_eq!(
        exercise.status,
        ExerciseStatus::Failed,
        "the stub must be graded with the canonical manifest and sync.rs and fail: {exercise:#?}"
    );
    let stub_test = exercise
        .tests
        .iter()
        .find(|t| t.name == "counter_never_loses_an_increment")
        .expect("the stub's declared test ran");
    assert_eq!(
        stub_test.verdict,
        TestLabel::Verdict(VerdictLabel::Fail),
        "the stub loses updates as always: {stub_test:?}"
    );
    assert!(!marker.exists(), "the submission's build script ran");
    let ignored: Vec<&str> = report
        .ignored
        .listed
        .iter()
        .map(|c| c.path.as_str())
        .collect();
    for path in [
        "01_race_counter/Cargo.toml",
        "01_race_counter/build.rs",
        "01_race_counter/src/sync.rs",
        "01_race_counter/tests/visible.rs",
    ] {
        assert!(
            ignored.contains(&path),
            "`{path}` must be listed as ignored, the list is {ignored:?}"
        );
    }
    assert!(
        !ignored.contains(&"01_race_counter/src/lib.rs"),
        "src/lib.rs is graded, not ignored: {ignored:?}"
    );
}

/// A student's fork whose hidden tests were replaced by ones that always pass.
#[test]
fn a_fork_with_rewritten_hidden_tests_is_graded_by_the_canonical_ones() {
    let workspace = workspace();
    let dir = scratch_dir("fork");
    copy_stub(&workspace, &dir.join("exercises").join("01_race_counter"));
    let hidden = dir.join("grader/hidden/01_race_counter");
    std::fs::create_dir_all(&hidden).expect("grader/hidden/");
    std::fs::write(
        hidden.join("tests.rs"),
        "fn counter_never_loses_an_increment() {}\nharness::hidden_tests![counter_never_loses_an_increment];\n",
    )
    .expect("writing the fake hidden tests");

    let started = Instant::now();
    let submission = Submission::open(&dir, None).expect("a checkout opens");
    let report = grade_only_01(&workspace, submission);
    eprintln!(
        "hostile case fork with rewritten hidden tests: verdict in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let exercise = &report.exercises[0];
    assert_eq!(exercise.status, ExerciseStatus::Failed, "{exercise:#?}");
    assert!(
        exercise.points < exercise.max_points,
        "the stub got {} of {} points through rewritten hidden tests",
        exercise.points,
        exercise.max_points
    );
    assert_eq!(
        report.subject, "fork",
        "the label defaults to the folder's name"
    );
    assert!(
        report
            .ignored
            .listed
            .iter()
            .any(|c| c.path == "grader/hidden/01_race_counter/tests.rs" && c.change == "changed"),
        "the edited hidden tests are listed as ignored: {:?}",
        report.ignored
    );
}

/// A fork whose `src/lib.rs` is a symlink to the reference solution in the same repository.
#[test]
fn a_symlink_to_the_solution_is_not_followed() {
    let workspace = workspace();
    let dir = scratch_dir("symlink");
    let crate_dir = dir.join("exercises").join("01_race_counter");
    copy_stub(&workspace, &crate_dir);
    let lib = crate_dir.join("src").join("lib.rs");
    std::fs::remove_file(&lib).expect("removing the stub's lib.rs");
    let solution = workspace.solutions_dir().join("01_race_counter/src/lib.rs");
    std::os::unix::fs::symlink(std::path::absolute(&solution).expect("a path"), &lib)
        .expect("a symlink");

    let started = Instant::now();
    let submission = Submission::open(&dir, Some("symlinker")).expect("a checkout opens");
    let report = grade_only_01(&workspace, submission);
    eprintln!(
        "hostile case symlink to the solution: verdict in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let exercise = &report.exercises[0];
    assert_eq!(
        exercise.points, 0,
        "a symlinked lib.rs must not bring the solution in: {exercise:#?}"
    );
    assert!(
        report.ignored.listed.iter().any(|c| {
            c.path == "exercises/01_race_counter/src/lib.rs" && c.change == "symlink, not followed"
        }),
        "the symlink is listed: {:?}",
        report.ignored
    );
}
