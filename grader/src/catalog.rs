//! Exercise metadata: one `exercise.toml` per folder of `grader/hidden/`.
//!
//! The file is the single source of truth for an exercise's number, name, title, hints, points
//! per test and limits. It is validated on load so that a typo fails loudly with the file and
//! the field named, instead of silently giving a test zero points.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::suite::{Limits, SuiteKind, TestMeta, TestSuite};
use crate::verdict::Expected;
use crate::workspace::Workspace;
use crate::{error, Error, ErrorKind, Result};

/// Every exercise of a checkout, in course order.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub exercises: Vec<Exercise>,
}

/// One exercise, as `exercise.toml` describes it plus where its files are.
#[derive(Debug, Clone)]
pub struct Exercise {
    pub meta: ExerciseMeta,
    /// `NN_name`, the folder name shared by `exercises/`, `solutions/` and `grader/hidden/`.
    pub dir_name: String,
    /// `grader/hidden/NN_name/`.
    pub hidden_dir: PathBuf,
}

/// The contents of `exercise.toml`. Every field is documented because instructors write these.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExerciseMeta {
    /// Position in the course; the `NN` of the folder name.
    pub number: u32,
    /// Snake-case name; the `name` of the folder and the library name the hidden tests import.
    pub name: String,
    /// A short title for listings.
    pub title: String,
    /// The book chapter, relative to `book/src/`.
    pub chapter: String,
    /// What the code under test may use; see [`Capabilities`]. Without the table: the
    /// strictest set (the sync shim, no crates, no unsafe, none of std's closed modules).
    #[serde(default)]
    pub capabilities: Capabilities,
    /// Progressive hints: `cargo xtask hint N` shows the next one each time.
    pub hints: Vec<String>,
    #[serde(default)]
    pub limits: Limits,
    /// What `verify` expects of the untouched stub: rejected, and for this reason.
    pub stub: Expectation,
    /// The hidden tests, in the order they run and are reported.
    pub tests: Vec<TestMeta>,
}

fn yes() -> bool {
    true
}

/// `[capabilities]`: what the code under test may use, decided before it is built.
///
/// The grader lints the crate after macro expansion, as the compiler sees it (both the real
/// crate and its model-checked twin), against these fields, and refuses anything else with the
/// line and what the exercise allows instead. By default a crate gets no `unsafe` (rustc
/// enforces it with `forbid(unsafe_code)`, which no `allow` inside the crate can lift), no
/// crates, and none of std's files, processes, environment, network, raw file descriptors or
/// paths ([`CLOSED_STD_MODULES`]).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, Hash)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    /// Crates of the root `[workspace.dependencies]`, by their Cargo names
    /// (`crossbeam-utils`), that the crate under test is built with. It receives no other, and
    /// the lint refuses a path into any other course crate (including the model checker's
    /// `shuttle`, which only the grader's `sync.rs` may name).
    #[serde(default)]
    pub crates: Vec<String>,
    /// Whether threads, locks and atomics must come through the grader's `crate::sync`, so
    /// that the model checker sees every one of them. When true, paths into `std::sync` and
    /// `std::thread` (or their `core`/`alloc` twins) are refused.
    #[serde(default = "yes")]
    pub sync_shim: bool,
    /// Holes in what is closed by default, as full paths (`std::net::TcpStream`). An entry
    /// allows exactly that path, or with a trailing `::*` that path and everything below it.
    /// Naming any path of a crate of `crates` here also closes the rest of that crate: only
    /// the listed items of `nix` may be used once one is listed.
    #[serde(default)]
    pub allow: Vec<String>,
    /// The unsafe functions the lesson needs (`nix::unistd::fork`). Empty means no `unsafe`
    /// at all. Otherwise every `unsafe` block must consist of calls to these functions
    /// alone, with plain arguments (no dereference, no other call), and `unsafe fn`,
    /// `unsafe trait`, `extern` blocks, `static mut` and `union` are refused.
    #[serde(default)]
    pub unsafe_calls: Vec<String>,
    /// Traits a type may implement with `unsafe impl` (only `Send` and `Sync`); allowed only
    /// when `unsafe_calls` is not empty.
    #[serde(default)]
    pub unsafe_impls: Vec<String>,
}

/// The parts of std closed to every exercise unless its `allow` opens a path in them:
/// files, processes, environment, network, OS specifics (raw file descriptors) and paths
/// (which can list folders and follow links).
pub const CLOSED_STD_MODULES: &[&str] = &["fs", "process", "env", "net", "os", "path"];

impl Default for Capabilities {
    fn default() -> Capabilities {
        Capabilities {
            crates: Vec::new(),
            sync_shim: true,
            allow: Vec::new(),
            unsafe_calls: Vec::new(),
            unsafe_impls: Vec::new(),
        }
    }
}

impl Capabilities {
    /// Whether the crate may contain `unsafe` at all (only in the shapes the lint accepts).
    pub fn allows_unsafe(&self) -> bool {
        !self.unsafe_calls.is_empty()
    }

    /// A crate name as code writes it: `crossbeam_utils` for `crossbeam-utils`.
    pub fn code_name(cargo_name: &str) -> String {
        cargo_name.replace('-', "_")
    }

    fn validate(&self) -> std::result::Result<(), String> {
        let is_path = |entry: &str| {
            let body = entry.strip_suffix("::*").unwrap_or(entry);
            !body.is_empty()
                && body.split("::").all(|segment| {
                    !segment.is_empty()
                        && segment
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_')
                })
        };
        for entry in self.allow.iter().chain(&self.unsafe_calls) {
            if !is_path(entry) || !entry.contains("::") {
                return Err(format!(
                    "[capabilities]: `{entry}` is not a full path like `std::net::TcpStream` \
                     or `nix::poll::*`"
                ));
            }
        }
        for call in &self.unsafe_calls {
            if call.ends_with("::*") {
                return Err(format!(
                    "[capabilities] unsafe_calls: `{call}` must name one function, not a module"
                ));
            }
        }
        for name in &self.unsafe_impls {
            if name != "Send" && name != "Sync" {
                return Err(format!(
                    "[capabilities] unsafe_impls: `{name}` cannot be allowed; only `Send` and \
                     `Sync` may be implemented with `unsafe impl`"
                ));
            }
        }
        if !self.unsafe_impls.is_empty() && self.unsafe_calls.is_empty() {
            return Err(
                "[capabilities] unsafe_impls needs unsafe_calls: without them the crate is \
                 built with forbid(unsafe_code)"
                    .into(),
            );
        }
        let mut seen = BTreeSet::new();
        for name in &self.crates {
            if !seen.insert(name) {
                return Err(format!("[capabilities] crates: `{name}` is listed twice"));
            }
        }
        Ok(())
    }
}

/// "This test must reject it with this verdict": how the stub and every mutant declare the
/// mistake they stand for, so that `verify` can check the reason and not just the failure.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// The hidden test that must catch it.
    pub rejected_by: String,
    /// The verdict that test must give: `fail`, `panic`, `timeout` (any diagnosis),
    /// `timeout:deadlock`, `timeout:spinning`, `crash`, `leak`; or the stage that stops it
    /// before any test runs: `build` (does not compile), `rejected` (refused before compiling).
    pub verdict: Expected,
    /// With `build`, when the mistake itself is what the compiler refuses (a guard held across
    /// an `.await` is not `Send`): words the compiler's error must contain. Without it, a
    /// `build` proof needs the errors in the hidden tests (the mistake asks for what they do
    /// not give, such as `'static`), so that a typo in a mutant proves nothing.
    #[serde(default)]
    pub build_error: Option<String>,
}

impl Catalog {
    /// Loads and validates every `grader/hidden/*/exercise.toml`.
    pub fn load(workspace: &Workspace) -> Result<Catalog> {
        let hidden_dir = workspace.hidden_dir();
        let entries = std::fs::read_dir(&hidden_dir)
            .map_err(|source| Error::io("cannot list", &hidden_dir, source))?;
        let mut exercises = Vec::new();
        for entry in entries.flatten() {
            if entry.path().join("exercise.toml").is_file() {
                exercises.push(Exercise::load(&entry.path())?);
            }
        }
        exercises.sort_by_key(|exercise| exercise.meta.number);
        for pair in exercises.windows(2) {
            if pair[0].meta.number == pair[1].meta.number {
                return Err(Error::broken(
                    &pair[1].hidden_dir,
                    format!("exercise number {} is used twice", pair[1].meta.number),
                ));
            }
        }
        Ok(Catalog { exercises })
    }

    /// Finds an exercise by `4`, `04`, `deadlock_ordering` or `04_deadlock_ordering`.
    pub fn find(&self, wanted: &str) -> Result<&Exercise> {
        let wanted = wanted.trim();
        let by_number = wanted.parse::<u32>().ok();
        self.exercises
            .iter()
            .find(|exercise| {
                Some(exercise.meta.number) == by_number
                    || exercise.meta.name == wanted
                    || exercise.dir_name == wanted
            })
            .ok_or_else(|| {
                let width = self
                    .exercises
                    .iter()
                    .map(|exercise| exercise.dir_name.len())
                    .max()
                    .unwrap_or(0);
                let valid: Vec<String> = self
                    .exercises
                    .iter()
                    .map(|exercise| {
                        format!("  {:<width$}  {}", exercise.dir_name, exercise.meta.title)
                    })
                    .collect();
                Error::new(
                    ErrorKind::NotFound,
                    format!(
                        "there is no exercise `{wanted}`; name one by number or name:\n{}",
                        valid.join("\n")
                    ),
                )
            })
    }
}

impl Exercise {
    fn load(hidden_dir: &Path) -> Result<Exercise> {
        let path = hidden_dir.join("exercise.toml");
        let meta: ExerciseMeta =
            toml::from_str(&error::read_to_string(&path)?).map_err(|e| Error::broken(&path, e))?;
        let dir_name = hidden_dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let exercise = Exercise {
            meta,
            dir_name,
            hidden_dir: hidden_dir.to_owned(),
        };
        exercise
            .validate()
            .map_err(|problem| Error::broken(&path, problem))?;
        Ok(exercise)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        let meta = &self.meta;
        let expected_dir = format!("{:02}_{}", meta.number, meta.name);
        if self.dir_name != expected_dir {
            return Err(format!(
                "number {} and name `{}` say the folder should be `{expected_dir}`",
                meta.number, meta.name
            ));
        }
        meta.capabilities.validate()?;
        if meta.hints.is_empty() {
            return Err("`hints` is empty; give the learner at least one".into());
        }
        if meta.tests.is_empty() {
            return Err("`tests` is empty; an exercise needs hidden tests".into());
        }
        let mut seen = BTreeSet::new();
        for (index, test) in meta.tests.iter().enumerate() {
            if !seen.insert(test.name.as_str()) {
                return Err(format!("test `{}` is listed twice", test.name));
            }
            if let Some(speedup) = &test.speedup {
                if !(speedup.alpha > 0.0 && speedup.alpha <= 1.0) || speedup.max_workers < 2 {
                    return Err(format!(
                        "test `{}`: [tests.speedup] needs 0 < alpha <= 1 and max_workers >= 2",
                        test.name
                    ));
                }
            }
            if test.points == 0 {
                return Err(format!(
                    "test `{}` is worth 0 points; give it at least 1",
                    test.name
                ));
            }
            if let Some(problem) = decided_by_problem(test, &meta.tests[..index]) {
                return Err(problem);
            }
        }
        if !seen.contains(meta.stub.rejected_by.as_str()) {
            return Err(format!(
                "`stub.rejected_by` names `{}`, which is not in `tests`",
                meta.stub.rejected_by
            ));
        }
        if !self.tests_file().is_file() {
            return Err(format!(
                "the hidden tests `{}` are missing",
                self.tests_file().display()
            ));
        }
        Ok(())
    }

    /// `grader/hidden/NN_name/tests.rs`, the hidden test binary's source.
    pub fn tests_file(&self) -> PathBuf {
        self.hidden_dir.join("tests.rs")
    }

    /// `grader/hidden/NN_name/mutants/`.
    pub fn mutants_dir(&self) -> PathBuf {
        self.hidden_dir.join("mutants")
    }

    /// The canonical hidden tests of this exercise.
    pub fn hidden_suite(&self) -> TestSuite {
        TestSuite {
            kind: SuiteKind::Hidden,
            tests_file: self.tests_file(),
            tests: self.meta.tests.clone(),
            limits: self.meta.limits.clone(),
        }
    }

    pub fn max_points(&self) -> u32 {
        self.meta.tests.iter().map(|test| test.points).sum()
    }

    /// `exercises/NN_name/`.
    pub fn exercise_dir(&self, workspace: &Workspace) -> PathBuf {
        workspace.exercises_dir().join(&self.dir_name)
    }

    /// `solutions/NN_name/`.
    pub fn solution_dir(&self, workspace: &Workspace) -> PathBuf {
        workspace.solutions_dir().join(&self.dir_name)
    }
}

/// What is wrong with `test`'s `decided_by`, given the tests listed before it. Each must name
/// one of them, since the runner decides from verdicts it already has, and one whose verdict
/// does not depend on luck: for an ordinary test a model-checked one; for a timing test one
/// that needs no clock (any ordinary test).
fn decided_by_problem(
    test: &crate::suite::TestMeta,
    earlier: &[crate::suite::TestMeta],
) -> Option<String> {
    test.decided_by.iter().find_map(|decider| {
        let problem = match earlier.iter().find(|t| &t.name == decider) {
            None => "is not a test listed before it",
            Some(decider) if test.needs_whole_machine() && decider.needs_whole_machine() => {
                "measures time itself; a timing test is decided only by a test without a clock"
            }
            Some(decider) if !test.needs_whole_machine() && !decider.is_model_checked() => {
                "is not model-checked (its name must end in `_under_the_model`)"
            }
            Some(_) => return None,
        };
        Some(format!(
            "test `{}`: `decided_by` names `{decider}`, which {problem}",
            test.name
        ))
    })
}

#[cfg(test)]
mod capabilities_tests {
    use super::Capabilities;

    fn parse(toml_text: &str) -> Result<(), String> {
        let capabilities: Capabilities = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        capabilities.validate()
    }

    #[test]
    fn the_shipped_shapes_are_valid() {
        assert_eq!(parse(""), Ok(()));
        assert_eq!(
            parse("crates = [\"nix\"]\nallow = [\"nix::poll::*\"]\nunsafe_calls = [\"nix::unistd::fork\"]\nunsafe_impls = [\"Send\"]"),
            Ok(())
        );
    }

    #[test]
    fn mistakes_in_capabilities_are_named() {
        for (text, words) in [
            (
                "unsafe_impls = [\"GlobalAlloc\"]\nunsafe_calls = [\"libc::_exit\"]",
                "only `Send` and `Sync`",
            ),
            ("unsafe_impls = [\"Send\"]", "needs unsafe_calls"),
            ("allow = [\"fs\"]", "not a full path"),
            ("allow = [\"std::fs::\"]", "not a full path"),
            ("unsafe_calls = [\"libc::*\"]", "must name one function"),
            ("crates = [\"rayon\", \"rayon\"]", "listed twice"),
            ("uses_sync_shim = false", "unknown field"),
        ] {
            let problem = parse(text).expect_err(text);
            assert!(problem.contains(words), "`{text}`: {problem}");
        }
    }
}

#[cfg(test)]
mod decided_by_tests {
    use super::decided_by_problem;
    use crate::suite::TestMeta;

    #[test]
    fn decided_by_names_an_earlier_test_whose_verdict_needs_no_luck() {
        let earlier = vec![
            TestMeta::from_toml("name = \"a_under_the_model\"\npoints = 1"),
            TestMeta::from_toml("name = \"plain\"\npoints = 1"),
            TestMeta::from_toml("name = \"timed\"\npoints = 1\nmeasures_time = true"),
        ];
        let stress = |deciders: &str| {
            TestMeta::from_toml(&format!(
                "name = \"stress\"\npoints = 1\ndecided_by = [{deciders}]"
            ))
        };
        let timing = |deciders: &str| {
            TestMeta::from_toml(&format!(
                "name = \"stress\"\npoints = 1\ndecided_by = [{deciders}]\n[speedup]\nalpha = 0.5"
            ))
        };
        assert_eq!(
            decided_by_problem(&stress("\"a_under_the_model\""), &earlier),
            None
        );
        assert_eq!(decided_by_problem(&timing("\"plain\""), &earlier), None);
        for (made, words) in [
            (
                stress("\"later_under_the_model\""),
                "not a test listed before it",
            ),
            (stress("\"stress\""), "not a test listed before it"),
            (stress("\"plain\""), "not model-checked"),
            (timing("\"timed\""), "measures time itself"),
        ] {
            let problem = decided_by_problem(&made, &earlier).expect("a problem");
            assert!(problem.contains(words), "{:?}: {problem}", made.decided_by);
        }
    }
}
