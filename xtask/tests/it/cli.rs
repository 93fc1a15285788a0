//! The command line as a learner meets it: exit codes, the words of a failing check, hints.
//!
//! Tests that read or write `target/threadlings/progress.json` hold `util::progress_file()`
//! so they never interleave their read-modify-write of that file.

use predicates::prelude::*;

use crate::util::{progress_file, root, xtask};

/// Runs xtask with `args` and returns its exit code and stdout.
fn run(args: &[&str]) -> (Option<i32>, String) {
    let output = xtask().args(args).output().expect("xtask runs");
    (
        output.status.code(),
        String::from_utf8(output.stdout).expect("utf-8 output"),
    )
}

#[test]
fn an_unknown_exercise_exits_2_and_lists_the_valid_ones() {
    let output = xtask()
        .args(["check", "99"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("there is no exercise `99`"))
        .stderr(predicate::str::contains("01_race_counter"))
        .get_output()
        .clone();
    // The titles stand in one column, however long each exercise's folder name is.
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let title_columns: Vec<usize> = stderr
        .lines()
        .filter(|line| line.starts_with("  ") && line.trim_start().starts_with(char::is_numeric))
        .map(|line| {
            let name_end = 2 + line[2..].find(' ').expect("a name, then its title");
            name_end + line[name_end..].len() - line[name_end..].trim_start().len()
        })
        .collect();
    assert!(
        title_columns.len() >= 12,
        "every exercise is listed:\n{stderr}"
    );
    assert!(
        title_columns.windows(2).all(|pair| pair[0] == pair[1]),
        "the titles are aligned:\n{stderr}"
    );
}

#[test]
fn a_missing_argument_exits_2_with_usage() {
    xtask()
        .arg("check")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Usage"));
}

#[test]
fn every_way_of_naming_an_exercise_finds_it() {
    let _progress = progress_file();
    for name in ["1", "01", "race_counter", "01_race_counter"] {
        xtask()
            .args([
                "check",
                name,
                "--test",
                "counter_starts_at_zero_and_counts_alone",
            ])
            .assert()
            .stdout(predicate::str::contains(
                "Checking 01 · A race-prone counter",
            ));
    }
}

/// The whole report for the untouched stub, pinned by a snapshot with timings redacted. It
/// shows what a newcomer reads first: lost updates counted and explained, `todo!()` located.
#[test]
fn checking_the_stub_fails_with_a_report_that_teaches() {
    let _progress = progress_file();
    let (code, stdout) = run(&["check", "01"]);
    assert_eq!(
        code,
        Some(1),
        "the stub must fail:
{stdout}"
    );
    assert!(
        stdout.contains("lost 1 of 4 updates"),
        "the counter's lost update is counted:\n{stdout}"
    );
    assert!(
        stdout.contains("cargo xtask hint 01"),
        "the report points to the hint:\n{stdout}"
    );
    assert!(
        stdout.contains("cargo xtask book --open 01"),
        "and to the chapter:\n{stdout}"
    );
    let filters = vec![
        (r"\d+\.\d s\b", "[time]"),
        (r"isolation: [a-z][^\n]*", "isolation: [level]"),
    ];
    insta::with_settings!({filters => filters}, {
        insta::assert_snapshot!("stub_report_01", stdout);
    });
}

#[test]
fn checking_the_solution_passes_and_points_to_the_next_exercise() {
    if !root().join("solutions").is_dir() {
        eprintln!("skipped: the student edition has no solutions/ to check");
        return;
    }
    xtask()
        .args(["check", "01", "--solution"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("16/16 points"))
        .stdout(predicate::str::contains("Well done!"));
}

#[test]
fn hints_come_one_at_a_time_and_stop_at_the_last() {
    let _progress = progress_file();
    let hint_number = || {
        let (code, stdout) = run(&["hint", "01"]);
        assert_eq!(code, Some(0), "hint succeeds:\n{stdout}");
        let number = stdout
            .strip_prefix("Hint ")
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or_else(|| panic!("hint output starts with `Hint N of M`:\n{stdout}"));
        assert!(
            stdout.contains("of 3 for 01_race_counter"),
            "exercise 01 has three hints:\n{stdout}"
        );
        number
    };
    // Earlier runs may have shown some hints already; from wherever it starts, each call
    // shows the next one until the third, which then repeats.
    let mut previous = hint_number();
    for _ in 0..3 {
        let next = hint_number();
        assert_eq!(
            next,
            (previous + 1).min(3),
            "hint {previous} must be followed by the next one"
        );
        previous = next;
    }
    assert_eq!(previous, 3);
}

#[test]
fn reset_without_confirmation_changes_nothing() {
    xtask()
        .args(["reset", "01"])
        .write_stdin("n\n")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Nothing changed."));
}
