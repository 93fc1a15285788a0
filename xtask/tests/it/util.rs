//! What xtask's integration tests share: the checkout, the binary, a fresh folder, and the
//! lock on the checkout's own progress file.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Mutex, MutexGuard};

use assert_cmd::Command;

/// The checkout the tests run in.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
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

/// Copies a folder and everything in it.
pub fn copy_dir(from: &Path, to: &Path) {
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
