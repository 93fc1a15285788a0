//! What an instructor does around grading: a class split into shards and merged back, resumed
//! and regraded one student at a time; the student edition; the Gradescope autograder.
//!
//! Everything these tests write is under `CARGO_TARGET_TMPDIR`.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn xtask() -> Command {
    let mut command = Command::cargo_bin("xtask").expect("the xtask binary is built");
    command.env("NO_COLOR", "1").env_remove("CLICOLOR_FORCE");
    command
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("instructors")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a folder under target/");
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("creating a folder");
    for entry in std::fs::read_dir(from).expect("listing").flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copying");
        }
    }
}

fn run(command: &mut Command) -> Output {
    command.output().expect("xtask runs")
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Grades `roster` (exercise 01 only) into `out` with the extra arguments.
fn grade_roster(roster: &Path, out: &Path, extra: &[&str]) -> Output {
    let output = run(xtask()
        .args(["grade", "--exercise", "01", "--jobs", "2", "--roster"])
        .arg(roster)
        .arg("--out")
        .arg(out)
        .args(extra));
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "grade --roster {extra:?} could not run:\n{}",
        stderr_of(&output)
    );
    output
}

/// A class of three on exercise 01: a full solution, the stub, and an upload nested one folder
/// too deep, which cannot be graded and must still have its row.
fn small_roster(dir: &Path) -> PathBuf {
    let roster = dir.join("submissions");
    copy_dir(
        &root().join("solutions/01_race_counter"),
        &roster.join("ada/01_race_counter"),
    );
    copy_dir(
        &root().join("exercises/01_race_counter"),
        &roster.join("bob/exercises/01_race_counter"),
    );
    copy_dir(
        &root().join("exercises/01_race_counter"),
        &roster.join("dan/upload/01_race_counter"),
    );
    roster
}

fn row<'a>(gradebook: &'a str, student: &str) -> &'a str {
    gradebook
        .lines()
        .find(|line| line.starts_with(&format!("{student},")))
        .unwrap_or_else(|| panic!("no row for {student} in\n{gradebook}"))
}

#[test]
fn shards_merge_into_the_gradebook_of_one_machine_and_a_class_resumes_and_regrades() {
    if !root().join("solutions").is_dir() {
        eprintln!("skipped: this edition has no solutions/ to grade a class with");
        return;
    }
    let dir = fresh_dir("shards");
    let roster = small_roster(&dir);

    let one = dir.join("one");
    grade_roster(&roster, &one, &[]);
    let whole = read(&one.join("gradebook.csv"));
    assert!(row(&whole, "ada").starts_with("ada,16,16,16,"), "{whole}");
    assert!(row(&whole, "bob").starts_with("bob,1,1,16,"), "{whole}");
    assert!(row(&whole, "dan").contains("holds neither"), "{whole}");

    // Each shard grades its part only; together they are the class, each student once.
    let shards: Vec<PathBuf> = (1..=2).map(|k| dir.join(format!("shard{k}"))).collect();
    for (k, shard) in shards.iter().enumerate() {
        grade_roster(&roster, shard, &["--shard", &format!("{}/2", k + 1)]);
    }
    let shard_rows: Vec<usize> = shards
        .iter()
        .map(|shard| read(&shard.join("gradebook.csv")).lines().count() - 1)
        .collect();
    assert_eq!(shard_rows, [2, 1], "ada and dan in 1/2, bob in 2/2");
    let merged = dir.join("merged");
    let output = run(xtask()
        .args(["gradebook", "merge"])
        .arg(&merged)
        .args(&shards));
    assert_eq!(
        output.status.code(),
        Some(1),
        "dan was not graded:\n{}",
        stderr_of(&output)
    );
    assert_eq!(
        read(&merged.join("gradebook.csv")),
        whole,
        "the merged gradebook differs from the one-machine gradebook"
    );

    // A second run with --resume keeps the reports it has and grades only who has none.
    let ada_report = read(&one.join("students/ada.json"));
    let output = grade_roster(&roster, &one, &["--resume"]);
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("Grading 1 submissions") && stderr.contains("2 already graded, kept"),
        "{stderr}"
    );
    assert_eq!(
        read(&one.join("students/ada.json")),
        ada_report,
        "--resume regraded ada"
    );
    assert_eq!(read(&one.join("gradebook.csv")), whole);

    // Bob fixes his code; regrading him alone changes his row and no other.
    std::fs::copy(
        root().join("solutions/01_race_counter/src/lib.rs"),
        roster.join("bob/exercises/01_race_counter/src/lib.rs"),
    )
    .expect("bob's new code");
    grade_roster(&roster, &one, &["--student", "bob"]);
    let regraded = read(&one.join("gradebook.csv"));
    assert!(
        row(&regraded, "bob").starts_with("bob,16,16,16,"),
        "{regraded}"
    );
    assert_eq!(row(&regraded, "ada"), row(&whole, "ada"));
    assert_eq!(row(&regraded, "dan"), row(&whole, "dan"));
    assert_eq!(
        read(&one.join("students/ada.json")),
        ada_report,
        "--student bob regraded ada"
    );

    // Two shards that disagree about a student are not from one run, and are refused.
    std::fs::write(shards[0].join("students/bob.json"), "{}").expect("a conflicting report");
    let output = run(xtask()
        .args(["gradebook", "merge"])
        .arg(dir.join("bad"))
        .args(&shards));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr_of(&output).contains("bob.json differs between"),
        "{}",
        stderr_of(&output)
    );
}
