//! `cargo xtask replay`: a model-checked failure prints the same steps on every run and
//! machine, and the timelines the book shows are the output of a real replay.
//!
//! The known-wrong attempts are mutants of the solutions, so this file is the instructor's
//! only (`publish::INSTRUCTOR_TESTS`).

use crate::util::root;

/// The timelines the book includes: exercise, test, mutant, file under `book/src/replays/`.
const BOOK_REPLAYS: [(&str, &str, &str, &str); 2] = [
    (
        "01",
        "counter_never_loses_an_increment",
        "increment_load_then_store",
        "01_lost_update.txt",
    ),
    (
        "03",
        "two_producers_two_consumers_under_the_model",
        "if_instead_of_while",
        "03_if_instead_of_while.txt",
    ),
];

/// Runs `cargo xtask ARGS` on this checkout, without colours.
fn xtask(args: &[&str]) -> std::process::Output {
    crate::util::xtask()
        .env("CARGO_WORKSPACE_DIR", root())
        .args(args)
        .output()
        .expect("xtask runs")
}

/// What `cargo xtask replay EXERCISE TEST --mutant MUTANT` prints; it must fail (exit 1),
/// since the mutant fails the test.
fn replay(exercise: &str, test: &str, mutant: &str) -> String {
    let output = xtask(&["replay", exercise, test, "--mutant", mutant]);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(
        output.status.code(),
        Some(1),
        "replaying mutant {mutant} of {exercise} must show a failure:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn a_replay_prints_the_same_steps_on_every_run() {
    let (exercise, test, mutant, _) = BOOK_REPLAYS[0];
    let first = replay(exercise, test, mutant);
    let second = replay(exercise, test, mutant);
    assert_eq!(first, second, "two replays of the same failure differ");
    // The lost update itself: both threads load before either stores.
    let steps: Vec<&str> = first
        .lines()
        .filter(|line| line.contains("in Counter::increment"))
        .take(4)
        .collect();
    assert_eq!(steps.len(), 4, "no steps in Counter::increment:\n{first}");
    assert!(
        steps[0].contains("load") && steps[1].contains("load") && steps[2].contains("store"),
        "the first steps are not load, load, store:\n{first}"
    );
    assert_ne!(
        steps[0].split(':').next(),
        steps[1].split(':').next(),
        "the two loads must be on different threads:\n{first}"
    );
    // The rows carry the values the atomics read and wrote, and the store that wrote over the
    // other thread's increment says so.
    assert!(
        steps[0].contains("load value = 0") && steps[1].contains("load value = 0"),
        "both loads must show they read 0:\n{first}"
    );
    let lost = steps
        .iter()
        .find(|row| row.contains("increment is lost"))
        .unwrap_or_else(|| panic!("no row marks the lost increment:\n{first}"));
    assert!(lost.contains("store value = 1"), "{first}");
    // In a folder of its own, which the student edition leaves out with this file.
    insta::with_settings!({snapshot_path => "snapshots/replay"}, {
        insta::assert_snapshot!("replay_01_lost_update", first);
    });
}

#[test]
fn a_test_that_passes_has_nothing_to_replay() {
    let output = xtask(&[
        "replay",
        "01",
        "counter_never_loses_an_increment",
        "--solution",
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("passes: no failing schedule to replay"),
        "{stdout}"
    );
}

/// The book's chapters include these files. A file that differs from what the replay prints
/// now is rewritten, and the test fails so that the new file is looked at and committed.
#[test]
fn the_books_timelines_are_real_replays() {
    let mut rewritten = Vec::new();
    for (exercise, test, mutant, file) in BOOK_REPLAYS {
        let output = replay(exercise, test, mutant);
        // The heading names the mutant, which the book's reader has never heard of.
        let body = output
            .split_once('\n')
            .map_or("", |(_, body)| body)
            .trim_start_matches('\n');
        let path = root().join("book/src/replays").join(file);
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        if on_disk != body {
            std::fs::write(&path, body)
                .unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
            rewritten.push(file);
        }
    }
    assert!(
        rewritten.is_empty(),
        "book/src/replays/{{{}}} did not match a replay and were rewritten from one; \
         read them, check the chapters that include them, and commit them",
        rewritten.join(",")
    );
}

#[test]
fn an_unknown_test_or_mutant_is_refused_before_anything_is_built() {
    for args in [
        vec!["replay", "01", "no_such_test"],
        vec!["replay", "01", "--mutant", "no_such_mutant"],
    ] {
        let output = xtask(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("no hidden test named `no_such_test`")
                || stderr
                    .contains("no mutant named `no_such_mutant`; its mutants are: add_not_atomic"),
            "{args:?}: {stderr}"
        );
    }
}
