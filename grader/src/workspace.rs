//! Where things are in a threadlings checkout. Every path the grader uses is derived here, so
//! the rule "nothing outside `target/` is written" can be read off one file.

use std::path::{Path, PathBuf};

use crate::{Error, ErrorKind, Result};

/// A threadlings checkout: the root that holds `Cargo.toml`, `exercises/`, `grader/`.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
}

impl Workspace {
    /// Opens the checkout at `root`, checking that it looks like one.
    pub fn open(root: impl Into<PathBuf>) -> Result<Workspace> {
        let root = root.into();
        let workspace = Workspace { root };
        if !workspace.hidden_dir().is_dir() || !workspace.root.join("Cargo.lock").is_file() {
            return Err(Error::new(
                ErrorKind::BrokenCheckout,
                format!(
                    "{} is not a threadlings checkout (no grader/hidden/ or Cargo.lock); \
                     run the command from inside your clone",
                    workspace.root.display()
                ),
            ));
        }
        Ok(workspace)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The learner's exercise crates.
    pub fn exercises_dir(&self) -> PathBuf {
        self.root.join("exercises")
    }

    /// The reference solutions, mirroring `exercises/` folder for folder.
    pub fn solutions_dir(&self) -> PathBuf {
        self.root.join("solutions")
    }

    /// Hidden tests, metadata and mutants, one folder per exercise.
    pub fn hidden_dir(&self) -> PathBuf {
        self.root.join("grader").join("hidden")
    }

    /// The harness crate every hidden test binary links.
    pub fn harness_dir(&self) -> PathBuf {
        self.root.join("grader").join("harness")
    }

    /// The canonical `sync.rs` that replaces every graded crate's own.
    pub fn sync_shim(&self) -> PathBuf {
        self.root.join("grader").join("shim").join("sync.rs")
    }

    pub fn lockfile(&self) -> PathBuf {
        self.root.join("Cargo.lock")
    }

    pub fn manifest(&self) -> PathBuf {
        self.root.join("Cargo.toml")
    }

    /// Everything the grader writes lives below this folder.
    pub fn state_dir(&self) -> PathBuf {
        self.root.join("target").join("threadlings")
    }

    /// Scratch crates, one per (exercise, subject).
    pub fn scratch_dir(&self) -> PathBuf {
        self.state_dir().join("scratch")
    }

    /// The one `CARGO_TARGET_DIR` every scratch crate shares, so dependencies compile once.
    /// It is not the workspace's own `target/` so that grading inside `cargo test` never waits
    /// on the outer cargo's lock.
    pub fn scratch_target_dir(&self) -> PathBuf {
        self.state_dir().join("build")
    }

    /// The working directory and `TMPDIR` of test processes.
    pub fn sandbox_dir(&self) -> PathBuf {
        self.state_dir().join("sandbox")
    }
}
