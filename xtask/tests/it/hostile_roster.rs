//! One class graded with motivated attackers among honest students, as an instructor runs it.
//!
//! The runner-level cases in `grader/tests/it/hostile.rs` prove each sandbox layer alone. This one
//! proves what an instructor needs from the whole: with students who fork without end and leave
//! workers running (05 may fork, so those attacks compile and run), try to kill the grader,
//! forge a report on fd 3, read the nonce from memory, smuggle in the hidden tests and run code
//! before `main`, every student is still graded, the honest ones keep full marks and their
//! files, no submission folder is written to, the checkout is unchanged, and nothing the class
//! started is left running. (Files left in a test's scratch folder are proven removed in
//! `grader/tests/it/hostile.rs`.)
//!
//! Other tests of this binary grade beside it, so "nothing left running" is asked of orphans:
//! a grader adopts its tests' orphans and kills them, so a hidden-test process whose parent is
//! init outlived its grader, whichever test started it.
//!
//! Linux only: the attacks assume its isolation ladder (namespaces, cgroups, Landlock), and on
//! macOS, where nothing bounds a process tree, the fork bomb would take the machine.
#![cfg(target_os = "linux")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::util::{copy_dir, fresh_dir, root, stderr_of, xtask};
use grader::grade::{ExerciseStatus, GradeReport};
use harness::platform::RunState;

/// The attackers: (student, exercise, attempt in `grader/tests/attempts/`).
const ATTACKERS: &[(&str, &str, &str)] = &[
    ("mallory", "05_process_pool", "kills_the_grader"),
    ("walter", "05_process_pool", "forks_without_end"),
    ("judy", "05_process_pool", "wrong_drop_does_not_shut_down"),
    ("trudy", "05_process_pool", "writes_a_report_to_fd_3"),
    ("eve", "01_race_counter", "reads_proc_self_mem"),
    (
        "oscar",
        "01_race_counter",
        "include_str_of_the_hidden_tests",
    ),
    (
        "chuck",
        "01_race_counter",
        "constructor_before_main_in_a_macro",
    ),
];

const HONEST: &[&str] = &["ada", "grace"];

/// A student's checkout: every exercise the stub, with `solved` replaced by `source`.
fn submission(dir: &Path, solved: &str, source: &str) {
    for exercise in ["01_race_counter", "05_process_pool"] {
        let crate_dir = dir.join("exercises").join(exercise);
        copy_dir(&root().join("exercises").join(exercise), &crate_dir);
        if exercise == solved {
            std::fs::write(crate_dir.join("src/lib.rs"), source).expect("writing the code");
        }
    }
}

/// The reference solution of `exercise` with an attempt's edits applied, each exactly once.
fn attempt_source(exercise: &str, attempt: &str) -> String {
    let path = root()
        .join("grader/tests/attempts")
        .join(exercise)
        .join(format!("{attempt}.toml"));
    let spec: toml::Table =
        toml::from_str(&std::fs::read_to_string(&path).expect("the attempt exists")).expect("TOML");
    let mut source = solution(exercise);
    for edit in spec["edit"].as_array().expect("edits") {
        let (find, replace) = (
            edit["find"].as_str().unwrap(),
            edit["replace"].as_str().unwrap(),
        );
        assert_eq!(
            source.matches(find).count(),
            1,
            "{attempt}: the edit applies once"
        );
        source = source.replace(find, replace);
    }
    source
}

fn solution(exercise: &str) -> String {
    std::fs::read_to_string(root().join("solutions").join(exercise).join("src/lib.rs"))
        .expect("the solution")
}

/// Every file under `dir` with its bytes.
fn contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).expect("listing").flatten() {
            if entry.file_type().expect("a file type").is_dir() {
                pending.push(entry.path());
            } else {
                files.insert(entry.path(), std::fs::read(entry.path()).expect("reading"));
            }
        }
    }
    files
}

/// `git status` of the checkout: what the grading could have changed there.
fn checkout_status() -> String {
    let output = std::process::Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=all"])
        .current_dir(root())
        .output()
        .expect("git runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Hidden-test processes (the grader names every hidden-test binary `hidden-*`, and a fork
/// keeps its parent's name) that init has adopted: their grader is gone and did not take them
/// with it.
fn orphaned_test_processes() -> Vec<String> {
    harness::platform::processes()
        .into_iter()
        .filter(|p| p.parent == 1 && p.state != RunState::Zombie && p.name.starts_with("hidden"))
        .map(|p| format!("{} ({})", p.pid, p.name))
        .collect()
}

#[test]
fn attackers_in_a_roster_change_nothing_for_the_honest_students_or_the_checkout() {
    let dir = fresh_dir("hostile-roster", "class");
    let roster = dir.join("submissions");
    for student in HONEST {
        let solved = solution("01_race_counter");
        submission(&roster.join(student), "01_race_counter", &solved);
    }
    for (student, exercise, attempt) in ATTACKERS {
        submission(
            &roster.join(student),
            exercise,
            &attempt_source(exercise, attempt),
        );
    }
    let honest_before: Vec<_> = HONEST.iter().map(|s| contents(&roster.join(s))).collect();
    let checkout_before = checkout_status();
    let roster_before = contents(&roster);

    let out = dir.join("out");
    let output = xtask()
        .args(["grade", "--exercise", "01", "--exercise", "05", "--roster"])
        .arg(&roster)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("xtask runs");
    let stderr = stderr_of(&output);
    assert_eq!(
        output.status.code(),
        Some(0),
        "every student was graded:\n{stderr}"
    );

    let report = |student: &str| -> GradeReport {
        let path = out.join("students").join(format!("{student}.json"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{student} has no report ({e}):\n{stderr}"));
        GradeReport::from_json(&text).expect("the report reads back")
    };
    let gradebook = std::fs::read_to_string(out.join("gradebook.csv")).expect("the gradebook");
    assert_eq!(
        gradebook.lines().count(),
        1 + HONEST.len() + ATTACKERS.len(),
        "one row per student:\n{gradebook}"
    );
    for (student, before) in HONEST.iter().zip(&honest_before) {
        let report = report(student);
        let counter = &report.exercises[0];
        assert_eq!(counter.dir_name, "01_race_counter");
        assert_eq!(
            (counter.status, counter.points),
            (ExerciseStatus::Passed, counter.max_points),
            "{student} solved 01 and must keep full marks: {counter:?}"
        );
        assert_eq!(
            report.isolation,
            grader::sandbox::isolation(),
            "the report states the level it was graded at"
        );
        assert!(
            contents(&roster.join(student)) == *before,
            "{student}'s files were changed by the grading"
        );
    }
    for (student, exercise, attempt) in ATTACKERS {
        let report = report(student);
        let attacked = report
            .exercises
            .iter()
            .find(|e| e.dir_name == *exercise)
            .expect("the attacked exercise was graded");
        assert!(
            attacked.points < attacked.max_points,
            "{student} ({attempt}) took {}/{} on {exercise}",
            attacked.points,
            attacked.max_points
        );
    }
    assert_eq!(
        checkout_status(),
        checkout_before,
        "grading the class changed the checkout"
    );
    assert_eq!(
        orphaned_test_processes(),
        Vec::<String>::new(),
        "processes the class started outlived the grading"
    );
    assert!(
        contents(&roster) == roster_before,
        "grading wrote into the roster folder"
    );
}
