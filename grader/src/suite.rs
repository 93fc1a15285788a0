//! A test suite: the tests compiled into one hidden-test binary, with their points and limits.
//!
//! Every exercise has its canonical suite, `grader/hidden/NN_name/tests.rs` with the `[[tests]]`
//! of its `exercise.toml`. An instructor may add a private suite for it (`grade --hidden DIR`).
//! Both are built, run and judged by the same code; only where they come from differs.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::catalog::{Limits, TestMeta};

/// Where a suite's tests come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuiteKind {
    /// The canonical hidden tests of this checkout.
    Hidden,
    /// An instructor's private tests (`--hidden DIR`).
    Private,
}

/// One test binary's worth of tests.
#[derive(Debug, Clone)]
pub struct TestSuite {
    pub kind: SuiteKind,
    /// The Rust file that defines the tests and ends in `harness::hidden_tests![...]`.
    pub tests_file: PathBuf,
    /// The tests, in the order they run and are reported.
    pub tests: Vec<TestMeta>,
    pub limits: Limits,
}

impl TestSuite {
    /// The named test's metadata.
    pub fn test(&self, name: &str) -> Option<&TestMeta> {
        self.tests.iter().find(|test| test.name == name)
    }

    /// The time limit of the named test: its own, or the suite's default.
    pub fn timeout_of(&self, test_name: &str) -> Duration {
        let seconds = self
            .test(test_name)
            .and_then(|test| test.timeout_secs)
            .unwrap_or(self.limits.test_timeout_secs);
        Duration::from_secs_f64(seconds)
    }

    pub fn max_points(&self) -> u32 {
        self.tests.iter().map(|test| test.points).sum()
    }

    /// A suffix that keeps this suite's scratch crate apart from the other suite's for the
    /// same subject, so that neither overwrites the other and both stay cached.
    pub fn scratch_suffix(&self) -> &'static str {
        match self.kind {
            SuiteKind::Hidden => "",
            SuiteKind::Private => "-private",
        }
    }
}
