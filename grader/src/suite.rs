//! A test suite: the tests compiled into one hidden-test binary, with their points and limits.
//!
//! Every exercise has its canonical suite, `grader/hidden/NN_name/tests.rs` with the `[[tests]]`
//! of its `exercise.toml`. An instructor may add a private suite for it (`grade --hidden DIR`).
//! Both are built, run and judged by the same code; only where they come from differs.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

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

/// Resource limits for each test process.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Wall-clock limit of one test, unless the test sets its own.
    #[serde(default = "Limits::default_timeout")]
    pub test_timeout_secs: f64,
    /// Address-space cap of a test process, in MiB; 0 disables it.
    #[serde(default = "Limits::default_memory")]
    pub memory_mib: u64,
}

impl Limits {
    fn default_timeout() -> f64 {
        10.0
    }
    fn default_memory() -> u64 {
        4096
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            test_timeout_secs: Limits::default_timeout(),
            memory_mib: Limits::default_memory(),
        }
    }
}

/// One hidden test and what it is worth.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestMeta {
    /// The function name in the hidden test file.
    pub name: String,
    pub points: u32,
    /// Overrides [`Limits::test_timeout_secs`] for this test. For a timing test it bounds each
    /// measuring process.
    pub timeout_secs: Option<f64>,
    /// Makes this a timing test, decided by the speedup timer ([`crate::speedup`]) in a release
    /// build instead of by one ordinary run.
    #[serde(default)]
    pub speedup: Option<SpeedupMeta>,
    /// Marks an ordinary test that times the machine itself (10's padded-against-adjacent
    /// ratio) and may end `inconclusive` when other work disturbs it. In a roster it runs with
    /// the whole machine, as a timing test does, so that the class beside it cannot turn its
    /// verdict into one the student would not get when graded alone.
    #[serde(default)]
    pub measures_time: bool,
    /// The tests, listed before this one, that decide what it shows. When one of them failed,
    /// this test is not run and fails with a pointer to it, on every run. For a real-thread
    /// stress test they are model-checked tests: on real threads a race shows only when the
    /// timing happens to be right, so running it would fail the same code on one run and pay
    /// it on the next. For a timing test they are clock-free tests that the work runs in
    /// parallel: once one failed, the timer could only confirm it, or not decide at all, after
    /// many seconds with the whole machine.
    #[serde(default)]
    pub decided_by: Vec<String>,
}

impl TestMeta {
    /// A test entry read from `[[tests]]` TOML, for unit tests of the rules that read one.
    #[cfg(test)]
    pub(crate) fn from_toml(toml_text: &str) -> TestMeta {
        toml::from_str(toml_text).expect("a test entry")
    }

    /// Whether this test runs under the model checker, which the course's tests say in their
    /// names (`..._under_the_model`).
    pub fn is_model_checked(&self) -> bool {
        self.name.ends_with("_under_the_model")
    }

    /// Whether a roster must give this test the whole machine: a timing test, or one that
    /// [`measures_time`](TestMeta::measures_time) itself.
    pub fn needs_whole_machine(&self) -> bool {
        self.speedup.is_some() || self.measures_time
    }
}

/// How a timing test is judged: `[tests.speedup]` under its `[[tests]]` entry.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SpeedupMeta {
    /// The share of the machine's own speedup the learner must reach, between 0 and 1: the
    /// threshold is `max(1.2, 1 + alpha·(S_ref − 1))`, where `S_ref` is the speedup of the
    /// grader's reference kernel measured in the same run. Lower it for exercises with
    /// unavoidable overhead (processes, pipes, copying).
    pub alpha: f64,
    /// The most workers the test times with; fewer when the machine has fewer cores.
    #[serde(default = "SpeedupMeta::default_max_workers")]
    pub max_workers: usize,
}

impl SpeedupMeta {
    fn default_max_workers() -> usize {
        4
    }
}

#[cfg(test)]
mod tests {
    use super::TestMeta;

    fn meta(toml_text: &str) -> TestMeta {
        TestMeta::from_toml(toml_text)
    }

    #[test]
    fn tests_that_time_the_machine_get_it_whole_in_a_roster_and_others_share_it() {
        let ordinary = meta("name = \"a\"\npoints = 1");
        let measuring = meta("name = \"b\"\npoints = 1\nmeasures_time = true");
        let timed = meta("name = \"c\"\npoints = 1\n[speedup]\nalpha = 0.5");
        assert!(!ordinary.needs_whole_machine());
        assert!(measuring.needs_whole_machine());
        assert!(timed.needs_whole_machine());
    }

    #[test]
    fn model_checked_tests_say_so_in_their_names() {
        assert!(meta("name = \"x_under_the_model\"\npoints = 1").is_model_checked());
        assert!(!meta("name = \"stress_x_on_real_threads\"\npoints = 1").is_model_checked());
    }
}
