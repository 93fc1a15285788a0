//! What xtask's integration tests share: the checkout, the binary, fresh folders and copies,
//! and the lock on the checkout's own progress file.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Mutex, MutexGuard};

use assert_cmd::Command;
use grader::workspace::Workspace;

/// The checkout the tests run in.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn workspace() -> Workspace {
    Workspace::open(root()).expect("the checkout opens")
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

static PROGRESS: Mutex<()> = Mutex::new(());

/// The turn of a test that runs `check`, `hint` or `reset` in this checkout: they read, change
/// and write `target/threadlings/progress.json`, and two at once would lose a record.
pub fn progress_file() -> MutexGuard<'static, ()> {
    PROGRESS.lock().unwrap_or_else(|e| e.into_inner())
}

/// The xtask binary, writing plain text whatever the terminal.
pub fn xtask() -> Command {
    let mut command = Command::cargo_bin("xtask").expect("the xtask binary is built");
    command.env("NO_COLOR", "1").env_remove("CLICOLOR_FORCE");
    command
}

/// An empty folder `group/name` under `CARGO_TARGET_TMPDIR`, emptied first.
pub fn fresh_dir(group: &str, name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(group)
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a folder under target/");
    dir
}

/// Copies a file, or a folder and everything in it but build output (`target/`).
pub fn copy_dir(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).expect("creating a folder");
        for entry in std::fs::read_dir(from).expect("listing").flatten() {
            if entry.file_name() != "target" {
                copy_dir(&entry.path(), &to.join(entry.file_name()));
            }
        }
    } else {
        std::fs::create_dir_all(to.parent().expect("a file is in a folder"))
            .expect("creating a folder");
        std::fs::copy(from, to).unwrap_or_else(|e| panic!("cannot copy {}: {e}", from.display()));
    }
}

/// How many processes on the machine are named `name`.
pub fn processes_named(name: &str) -> usize {
    harness::platform::processes()
        .into_iter()
        .filter(|p| p.name == name)
        .count()
}

pub fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// What varies between two checks of the same code (times, process ids, addresses, the test
/// binary's hash, the isolation this machine allows), masked for insta snapshots of reports.
pub fn report_filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"\d+\.\d s\b", "[time]"),
        (r"process \d+", "process [pid]"),
        (r"hidden-[0-9a-f]+", "hidden-[hash]"),
        (r"\d+ ms\b", "[ms]"),
        (r"0x[0-9a-f]+", "[address]"),
        // The level depends on what the machine allows; every report must name one.
        (r"isolation: [a-z][^\n]*", "isolation: [level]"),
    ]
}
