//! The learner's loop around `check`: `list`, `hint`, `reset`, `watch`, and the messages for a
//! lost `lib.rs`.
//!
//! Every test works on a copy of the checkout of its own under `CARGO_TARGET_TMPDIR`, made a
//! git repository so that `reset` can restore stubs from it. The real checkout, and the
//! `target/threadlings/progress.json` that other tests share, are never touched, so these tests
//! can run in any order and at the same time. Only the scratch build folder is shared (through
//! a link), so dependencies already compiled for the real checkout are not compiled again.

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use assert_cmd::Command;
use grader::catalog::Catalog;
use grader::progress::{Progress, Record};
use grader::subject::Subject;
use grader::workspace::Workspace;
use predicates::prelude::*;

use crate::util::{copy_dir, root, workspace, xtask};

/// A private copy of the checkout: what a learner has after `git clone`.
struct Checkout {
    root: PathBuf,
}

impl Checkout {
    fn new(name: &str) -> Checkout {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("learner-loop")
            .join(name);
        let _ = std::fs::remove_dir_all(&root);
        let real = crate::util::root();
        for file in ["Cargo.toml", "Cargo.lock", ".gitignore"] {
            copy_dir(&real.join(file), &root.join(file));
        }
        for folder in ["grader", "exercises", "solutions"] {
            copy_dir(&real.join(folder), &root.join(folder));
        }
        for args in [
            &["init", "--quiet"][..],
            &["add", "--all"],
            &["commit", "--quiet", "--message", "the course as cloned"],
        ] {
            let status = StdCommand::new("git")
                .current_dir(&root)
                .args(["-c", "user.name=test", "-c", "user.email=test@example.org"])
                .args(args)
                .status()
                .expect("git runs");
            assert!(
                status.success(),
                "git {args:?} failed in {}",
                root.display()
            );
        }
        Checkout { root }
    }

    /// `cargo xtask` run on this copy, in plain text.
    fn xtask(&self) -> Command {
        let mut command = xtask();
        command.env("CARGO_WORKSPACE_DIR", &self.root);
        command
    }

    fn lib_rs(&self, dir_name: &str) -> PathBuf {
        self.root
            .join("exercises")
            .join(dir_name)
            .join("src")
            .join("lib.rs")
    }

    fn workspace(&self) -> Workspace {
        Workspace::open(&self.root).expect("the copy is a checkout")
    }

    /// Records a check of `dir_name`'s current code as `check` does, with these points.
    fn record_check(&self, dir_name: &str, passed: bool, points: u32) {
        let workspace = self.workspace();
        let catalog = Catalog::load(&workspace).expect("the catalog loads");
        let exercise = catalog.find(dir_name).expect("the exercise exists");
        let fingerprint = Subject::exercise(&workspace, exercise)
            .expect("the exercise reads")
            .fingerprint();
        let mut progress = Progress::load(&workspace);
        progress.exercises.insert(
            dir_name.to_owned(),
            Record {
                fingerprint,
                passed,
                points,
                max_points: exercise.max_points(),
                hints_seen: 0,
            },
        );
        progress.save(&workspace).expect("progress saves");
    }

    /// Links this copy's scratch build folder to the real checkout's, so the exercises'
    /// dependencies compile once for both.
    fn share_build_folder(&self) {
        let real = root().join("target/threadlings/build");
        std::fs::create_dir_all(&real).expect("the real build folder can be created");
        let link = self.root.join("target/threadlings/build");
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&real, &link).expect("the build folder links");
    }

    fn stdout(&self, args: &[&str]) -> String {
        let output = self.xtask().args(args).output().expect("xtask runs");
        assert!(
            output.status.success(),
            "xtask {args:?} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("utf-8 output")
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        // Kept after a failure, for a look at what the test left.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

/// `list` shows a verdict only while the code is the code it judged: after an edit it says
/// "edited since", after `reset` "not checked yet", and the totals count neither.
#[test]
fn list_tells_the_truth_after_a_pass_an_edit_and_a_reset() {
    let checkout = Checkout::new("list");
    checkout.record_check("01_race_counter", true, 16);
    checkout.record_check("02_lock_fix", false, 4);
    let passed = checkout.stdout(&["list"]);
    insta::assert_snapshot!("list_after_a_pass", passed);

    let lib = checkout.lib_rs("01_race_counter");
    let mut code = std::fs::read_to_string(&lib).unwrap();
    code.push_str("\n// an edit after the pass\n");
    std::fs::write(&lib, code).unwrap();
    let edited = checkout.stdout(&["list"]);
    insta::assert_snapshot!("list_after_an_edit", edited);

    checkout
        .xtask()
        .args(["reset", "01", "--yes"])
        .assert()
        .success();
    let reset = checkout.stdout(&["list"]);
    insta::assert_snapshot!("list_after_a_reset", reset);
    assert!(
        !reset.contains("16/16"),
        "no stale points after a reset:\n{reset}"
    );
}

/// `list --format json` carries the same facts as the text, for scripts and editors.
#[test]
fn list_as_json_gives_the_same_facts() {
    let checkout = Checkout::new("list-json");
    checkout.record_check("01_race_counter", true, 16);
    let json: serde_json::Value =
        serde_json::from_str(&checkout.stdout(&["list", "--format", "json"]))
            .expect("list --format json prints JSON");
    let exercises = Catalog::load(&workspace())
        .expect("the catalog loads")
        .exercises
        .len();
    assert_eq!(json["done"], 1);
    assert_eq!(json["total"], exercises);
    assert_eq!(json["points"], 16);
    assert_eq!(json["next"], "02_lock_fix");
    let first = &json["exercises"][0];
    assert_eq!(first["dir_name"], "01_race_counter");
    assert_eq!(first["status"], "passed");
    assert_eq!(first["last_check"]["points"], 16);
    assert_eq!(json["exercises"][1]["status"], "not_checked");
    let text = checkout.stdout(&["list"]);
    let max_points = json["max_points"].as_u64().unwrap();
    assert!(
        text.contains(&format!(
            "1 of {exercises} exercises done, 16 of {max_points} points"
        )),
        "the text ends with the same totals:\n{text}"
    );
}

#[test]
fn hint_all_shows_every_hint_numbered_and_hint_k_shows_one_again() {
    let checkout = Checkout::new("hint");
    let all = checkout.stdout(&["hint", "01", "--all"]);
    insta::assert_snapshot!("hint_01_all", all);

    let second = checkout.stdout(&["hint", "01", "2"]);
    assert!(
        second.starts_with("Hint 2 of 3 for 01_race_counter:"),
        "hint 2 again, numbered:\n{second}"
    );
    let next = checkout.stdout(&["hint", "01"]);
    assert!(
        next.starts_with("Hint 3 of 3"),
        "after --all the next hint is the last one:\n{next}"
    );
    checkout
        .xtask()
        .args(["hint", "01", "4"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "exercise 01 has 3 hints; ask for one from 1 to 3, or use --all",
        ));
}

#[test]
fn an_emptied_lib_rs_is_named_with_the_command_that_restores_it() {
    let checkout = Checkout::new("empty-lib");
    std::fs::write(checkout.lib_rs("01_race_counter"), "").unwrap();
    let output = checkout.xtask().args(["check", "01"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        !stderr.contains("grader/hidden"),
        "no compiler errors from inside the hidden tests:\n{stderr}"
    );
    insta::assert_snapshot!("check_empty_lib_rs", stderr);
}

#[test]
fn a_deleted_lib_rs_is_named_with_the_exercise_number_and_reset_brings_it_back() {
    let checkout = Checkout::new("deleted-lib");
    let lib = checkout.lib_rs("03_bounded_queue");
    let stub = std::fs::read_to_string(&lib).unwrap();
    std::fs::remove_file(&lib).unwrap();
    let output = checkout.xtask().args(["check", "3"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    insta::assert_snapshot!(
        "check_deleted_lib_rs",
        String::from_utf8(output.stderr).unwrap()
    );
    checkout
        .xtask()
        .args(["reset", "03", "--yes"])
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(&lib).unwrap(), stub);
}

/// Backups live in `.threadlings/backups/`: not under `target/`, which `cargo clean` empties,
/// and ignored by git, so they never reach a commit or a submission.
#[test]
fn reset_backs_up_outside_target_and_out_of_git_and_lists_the_backups() {
    let checkout = Checkout::new("reset");
    let lib = checkout.lib_rs("01_race_counter");
    let stub = std::fs::read_to_string(&lib).unwrap();
    let attempt = format!("{stub}\n// my attempt\n");
    std::fs::write(&lib, &attempt).unwrap();

    let said = checkout.stdout(&["reset", "01", "--yes"]);
    insta::assert_snapshot!("reset_message", said);
    let backup = checkout
        .root
        .join(".threadlings/backups/01_race_counter-1/lib.rs");
    assert_eq!(
        std::fs::read_to_string(&backup).unwrap(),
        attempt,
        "the attempt is saved where the message says"
    );
    assert_eq!(
        std::fs::read_to_string(&lib).unwrap(),
        stub,
        "the stub is back"
    );
    let git_status = StdCommand::new("git")
        .current_dir(&checkout.root)
        .args(["status", "--porcelain"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&git_status.stdout),
        "",
        "git sees neither the backup nor a change"
    );

    std::fs::write(&lib, &attempt).unwrap();
    checkout.stdout(&["reset", "01", "--yes"]);
    let listed = checkout.stdout(&["reset", "--list"]);
    insta::with_settings!({filters => vec![(r"just now|\d+ (min|h|days) ago", "[age]")]}, {
        insta::assert_snapshot!("reset_list", listed);
    });
}

/// `watch` on a terminal: once the exercise passes it moves on to the next exercise not yet
/// solved (skipping one already done), and `q` quits on its own, without Enter, which only
/// works if the keys are read in raw mode.
#[test]
fn watch_moves_on_to_the_next_unsolved_exercise_and_q_quits_at_once() {
    let checkout = Checkout::new("watch");
    checkout.share_build_folder();
    copy_dir(
        &checkout.root.join("solutions/01_race_counter/src/lib.rs"),
        &checkout.lib_rs("01_race_counter"),
    );
    checkout.record_check("02_lock_fix", true, 14);

    let mut command = StdCommand::new(assert_cmd::cargo::cargo_bin("xtask"));
    command
        .args(["watch", "01"])
        .env("CARGO_WORKSPACE_DIR", &checkout.root)
        .env("NO_COLOR", "1");
    // A bound on a stuck session, generous enough for a first build of the dependencies on
    // a loaded machine; nothing is asserted about how long any step takes.
    let mut session =
        rexpect::session::spawn_command(command, Some(20 * 60 * 1000)).expect("watch starts");
    session
        .exp_string("16/16 points")
        .expect("the solution passes");
    let moved = session
        .exp_string("(Enter checks it now)")
        .expect("watch moves on");
    // rexpect hands over the terminal's bytes one `char` each; put the UTF-8 back together.
    let moved =
        String::from_utf8(moved.chars().map(|c| c as u8).collect()).expect("watch writes UTF-8");
    let moved_line = moved
        .lines()
        .find(|line| line.contains("Moving on"))
        .unwrap_or_else(|| panic!("a line says where watch moves on to:\n{moved}"))
        .trim()
        .to_owned();
    insta::assert_snapshot!("watch_moves_on", moved_line);
    session.exp_string("q quits").expect("the footer names q");
    session.send("q").expect("q is sent");
    session.flush().expect("q is sent");
    session.exp_eof().expect("q alone ends watch");
    // rexpect hands back nix's `WaitStatus` without re-exporting it; its Debug form is
    // `Exited(Pid(N), CODE)`.
    let status = format!("{:?}", session.process().wait().expect("watch is reaped"));
    assert!(
        status.starts_with("Exited(") && status.ends_with(", 0)"),
        "watch exits 0 after a pass: {status}"
    );

    let list = checkout.stdout(&["list"]);
    assert!(
        list.contains("✓ 01_race_counter") && list.contains("16/16  passed"),
        "the check watch ran is what list shows:\n{list}"
    );
}

/// Where no browser can be started (no desktop session, no `$BROWSER`), `book --open` prints
/// where the built chapter is, and a book newer than its sources is not built again.
#[test]
fn book_open_without_a_browser_prints_the_built_chapter() {
    let checkout = Checkout::new("book-open");
    copy_dir(&root().join("book"), &checkout.root.join("book"));
    let chapter = checkout
        .root
        .join("target/book/exercises/01_race_counter.html");
    std::fs::create_dir_all(chapter.parent().unwrap()).unwrap();
    std::fs::write(&chapter, "<html></html>").unwrap();
    // Newer than every source, so the test needs no mdbook.
    let far_future = std::time::UNIX_EPOCH + std::time::Duration::from_secs(4_000_000_000);
    std::fs::File::options()
        .write(true)
        .open(&chapter)
        .unwrap()
        .set_modified(far_future)
        .unwrap();
    checkout
        .xtask()
        .args(["book", "--open", "01"])
        .env_remove("BROWSER")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .assert()
        .success()
        .stdout(predicate::str::contains("No browser here"))
        .stdout(predicate::str::contains(chapter.display().to_string()));
}

/// After a pass, "Next:" names the next exercise not yet solved, skipping one already done.
#[test]
fn next_after_a_pass_skips_exercises_already_solved() {
    let checkout = Checkout::new("next");
    checkout.share_build_folder();
    copy_dir(
        &checkout.root.join("solutions/01_race_counter/src/lib.rs"),
        &checkout.lib_rs("01_race_counter"),
    );
    checkout.record_check("02_lock_fix", true, 14);
    let checked = checkout.stdout(&["check", "01"]);
    assert!(checked.contains("Well done!"), "{checked}");
    assert!(
        checked.contains("Next: cargo xtask check 03"),
        "02 is solved already, so 03 comes next:\n{checked}"
    );
}
