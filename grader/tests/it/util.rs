//! What the grader's integration tests share: the checkout, fresh folders, and the one rule
//! that lets tests which start processes run as threads of one process.
//!
//! The grader sweeps for strays after every test it runs ([`grader::reaper::reap_strays`]):
//! it kills and reaps every child of this process that is not in its registry, and once a test
//! has made the process a subreaper, the orphans of every test's processes come here too. A
//! sweep in one test would so kill the children of a test running beside it, or count that
//! test's orphans as its own leftovers. So every test that runs anything through the runner
//! (`check`, `grade`, `verify`, `runner`), makes the process a subreaper, or starts processes
//! outside the registry holds [`one_at_a_time`] from start to end. Tests that start nothing,
//! or only builds through the registry (the lint's cargo runs) and never sweep, run beside
//! them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use grader::workspace::Workspace;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The process-wide turn of a test that starts processes; see the module's documentation.
pub fn one_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// The checkout the tests run in.
pub fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn workspace() -> Workspace {
    Workspace::open(checkout()).expect("the checkout opens")
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
