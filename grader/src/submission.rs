//! A student's submission: a submitted `exercises/` folder or a whole checkout of a fork.
//!
//! Only the Rust files under each exercise's `src/` are graded (through
//! [`Subject::submission`], which also drops `src/sync.rs`). Everything else a submission
//! changed, such as a manifest with a build script or a new dependency, an edited `sync.rs`,
//! edited visible tests or, in a fork, edited hidden tests, is compared with the canonical
//! checkout and listed as ignored, so that an instructor can see what a student tried and
//! know that none of it counted.
//!
//! This module also reads an instructor's private tests (`--hidden DIR`), which follow the
//! layout of `grader/hidden/`: one `NN_name/` folder per exercise with a `tests.rs` and an
//! `exercise.toml` whose `[[tests]]` give the points.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, Exercise};
use crate::subject::Subject;
use crate::suite::{Limits, TestMeta};
use crate::suite::{SuiteKind, TestSuite};
use crate::workspace::Workspace;
use crate::{error, Error, ErrorKind, Result};

/// Bounds on the comparison walk, so that a hostile tree (millions of files, huge blobs) costs
/// the grader a bounded amount of work. Past them the listing says it stopped.
const MAX_FILES_COMPARED: usize = 20_000;
const MAX_BYTES_COMPARED: u64 = 8 * 1024 * 1024;
/// Ignored changes listed in a report; the count of the rest is kept.
const MAX_LISTED: usize = 200;

/// Folders never compared: build output and version control are not part of a submission.
const SKIPPED_DIRS: &[&str] = &["target", ".git"];

/// How the submitted folder is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// The root of a threadlings checkout (a student's fork): it holds `exercises/`.
    Checkout,
    /// A submitted `exercises/` folder: it holds `NN_name/` folders directly.
    ExercisesFolder,
}

/// A submission to grade.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The folder as given.
    pub root: PathBuf,
    pub layout: Layout,
    /// A short name for reports and scratch folders, by default the folder's name.
    pub label: String,
}

/// Something a submission changed that the grader did not use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IgnoredChange {
    /// The path relative to the submission's root.
    pub path: String,
    /// `changed` (differs from the canonical file), `added` (the canonical checkout has none)
    /// or `symlink, not followed`.
    pub change: String,
}

/// Everything ignored, with a count of what did not fit in the list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IgnoredChanges {
    pub listed: Vec<IgnoredChange>,
    /// Ignored changes beyond the listed ones.
    pub more: usize,
    /// Set when the walk stopped at its bounds, so the listing may be incomplete.
    pub truncated: bool,
}

impl Submission {
    /// Opens a submitted folder, recognising its layout.
    pub fn open(root: &Path, label: Option<&str>) -> Result<Submission> {
        if !root.is_dir() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "the submission {} is not a folder; pass a submitted exercises/ folder \
                     or the root of a student's checkout",
                    root.display()
                ),
            ));
        }
        let layout = if root.join("exercises").is_dir() {
            Layout::Checkout
        } else if has_exercise_folders(root) {
            Layout::ExercisesFolder
        } else {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "{} holds neither an exercises/ folder nor exercise folders like \
                     01_race_counter/; pass a submitted exercises/ folder or the root of a \
                     student's checkout",
                    root.display()
                ),
            ));
        };
        let label = label.map(str::to_owned).unwrap_or_else(|| {
            let canonical = root.canonicalize().unwrap_or_else(|_| root.to_owned());
            canonical
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_else(|| "submission".to_owned())
        });
        Ok(Submission {
            root: root.to_owned(),
            layout,
            label,
        })
    }

    /// The submission's `exercises/` folder.
    pub fn exercises_dir(&self) -> PathBuf {
        match self.layout {
            Layout::Checkout => self.root.join("exercises"),
            Layout::ExercisesFolder => self.root.clone(),
        }
    }

    /// The submitted crate of one exercise, if the submission has one.
    pub fn exercise_dir(&self, exercise: &Exercise) -> Option<PathBuf> {
        let dir = self.exercises_dir().join(&exercise.dir_name);
        dir.join("src").join("lib.rs").is_file().then_some(dir)
    }

    /// The subject to grade for one exercise: its `src/` only. `None` when the submission
    /// has no crate for the exercise.
    pub fn subject(&self, exercise: &Exercise) -> Result<Option<Subject>> {
        let Some(dir) = self.exercise_dir(exercise) else {
            return Ok(None);
        };
        let mut subject = Subject::submission(&dir, &self.label)?;
        subject.display_dir = format!("{}/exercises/{}", self.label, exercise.dir_name);
        Ok(Some(subject))
    }

    /// Everything the submission changed or added that grading does not use: every file
    /// but the `.rs` files under an exercise's `src/` (less `src/sync.rs`), compared with the
    /// canonical checkout.
    pub fn ignored_changes(&self, workspace: &Workspace) -> IgnoredChanges {
        let (canonical_root, prefix) = match self.layout {
            Layout::Checkout => (workspace.root().to_owned(), ""),
            Layout::ExercisesFolder => (workspace.exercises_dir(), "exercises/"),
        };
        let mut walk = Walk {
            submission_root: &self.root,
            canonical_root: &canonical_root,
            graded_prefix: prefix,
            files_seen: 0,
            ignored: IgnoredChanges::default(),
        };
        walk.visit(&self.root);
        walk.ignored
    }
}

fn has_exercise_folders(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let numbered = name.len() > 3
                && name.as_bytes()[..2].iter().all(u8::is_ascii_digit)
                && name.as_bytes()[2] == b'_';
            numbered && entry.path().join("src").is_dir()
        })
    })
}

struct Walk<'a> {
    submission_root: &'a Path,
    canonical_root: &'a Path,
    /// What to put before a path relative to the submission root to make it relative to the
    /// checkout root, so that "is this graded" is one rule for both layouts.
    graded_prefix: &'a str,
    files_seen: usize,
    ignored: IgnoredChanges,
}

impl Walk<'_> {
    fn visit(&mut self, dir: &Path) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|entry| entry.file_name());
        for entry in entries {
            if self.ignored.truncated {
                return;
            }
            let path = entry.path();
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            let relative = path
                .strip_prefix(self.submission_root)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            if file_type.is_dir() {
                let name = entry.file_name();
                if !SKIPPED_DIRS.iter().any(|skipped| name == *skipped) {
                    self.visit(&path);
                }
                continue;
            }
            self.files_seen += 1;
            if self.files_seen > MAX_FILES_COMPARED {
                self.ignored.truncated = true;
                return;
            }
            // A symlink is never followed, not even under src/ (it could point at the
            // solutions), so it is never graded and is always listed.
            let in_checkout = format!("{}{relative}", self.graded_prefix);
            let change = if file_type.is_symlink() {
                Some("symlink, not followed")
            } else if is_graded(&in_checkout) {
                continue;
            } else {
                compare(&path, &self.canonical_root.join(&relative))
            };
            if let Some(change) = change {
                self.record(IgnoredChange {
                    path: relative,
                    change: change.to_owned(),
                });
            }
        }
    }

    fn record(&mut self, change: IgnoredChange) {
        if self.ignored.listed.len() < MAX_LISTED {
            self.ignored.listed.push(change);
        } else {
            self.ignored.more += 1;
        }
    }
}

/// Is this checkout-relative path one the grader takes from a submission: a Rust file under
/// `exercises/NN_name/src/`, other than `sync.rs`?
fn is_graded(in_checkout: &str) -> bool {
    let parts: Vec<&str> = in_checkout.split('/').collect();
    parts.len() >= 4
        && parts[0] == "exercises"
        && parts[2] == "src"
        && in_checkout.ends_with(".rs")
        && !(parts.len() == 4 && parts[3] == "sync.rs")
}

/// `None` when the files are equal, else how the submitted one differs.
fn compare(submitted: &Path, canonical: &Path) -> Option<&'static str> {
    let Ok(canonical_meta) = std::fs::metadata(canonical) else {
        return Some("added");
    };
    let Ok(submitted_meta) = std::fs::symlink_metadata(submitted) else {
        return Some("changed");
    };
    if submitted_meta.len() != canonical_meta.len() || submitted_meta.len() > MAX_BYTES_COMPARED {
        return Some("changed");
    }
    match (std::fs::read(submitted), std::fs::read(canonical)) {
        (Ok(a), Ok(b)) if a == b => None,
        _ => Some("changed"),
    }
}

/// The part of `exercise.toml` private tests use. The other fields of the canonical format
/// (title, hints, stub, ...) may be present and are not used.
#[derive(Debug, Deserialize)]
struct PrivateMeta {
    tests: Vec<TestMeta>,
    limits: Option<Limits>,
}

/// An instructor's private tests, from `--hidden DIR`: one folder per exercise, laid out like
/// `grader/hidden/`.
pub struct PrivateTests;

impl PrivateTests {
    /// The private test suite of `exercise` in `dir`, or `None` when `dir` has none for it.
    pub fn load(dir: &Path, exercise: &Exercise) -> Result<Option<TestSuite>> {
        let folder = dir.join(&exercise.dir_name);
        if !folder.is_dir() {
            return Ok(None);
        }
        let meta_path = folder.join("exercise.toml");
        let tests_file = folder.join("tests.rs");
        if !meta_path.is_file() || !tests_file.is_file() {
            return Err(Error::broken(
                &folder,
                "private tests need both exercise.toml (with [[tests]] and points) and tests.rs",
            ));
        }
        let meta: PrivateMeta = toml::from_str(&error::read_to_string(&meta_path)?)
            .map_err(|e| Error::broken(&meta_path, e))?;
        if meta.tests.is_empty() || meta.tests.iter().any(|test| test.points == 0) {
            return Err(Error::broken(
                &meta_path,
                "list at least one [[tests]] entry, each worth at least 1 point",
            ));
        }
        Ok(Some(TestSuite {
            kind: SuiteKind::Private,
            tests_file: std::path::absolute(&tests_file).unwrap_or(tests_file),
            tests: meta.tests,
            limits: meta.limits.unwrap_or_else(|| exercise.meta.limits.clone()),
        }))
    }

    /// Checks that every folder of a private-tests `dir` names an exercise of `catalog`, so a
    /// misspelt folder fails loudly instead of its tests silently never running.
    pub fn check_folders(dir: &Path, catalog: &Catalog) -> Result<()> {
        let entries = std::fs::read_dir(dir).map_err(|source| {
            Error::new(
                ErrorKind::NotFound,
                format!(
                    "cannot read the private tests {}: {source}; pass a folder laid out like \
                     grader/hidden/",
                    dir.display()
                ),
            )
        })?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir && !name.starts_with('.') && catalog.find(&name).is_err() {
                return Err(Error::broken(
                    &entry.path(),
                    format!(
                        "`{name}` is not an exercise; name private test folders like \
                         grader/hidden/ does, for example 01_race_counter"
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::is_graded;

    #[test]
    fn only_rust_files_under_an_exercise_src_are_graded() {
        assert!(is_graded("exercises/01_race_counter/src/lib.rs"));
        assert!(is_graded("exercises/01_race_counter/src/nested/mod.rs"));
        assert!(!is_graded("exercises/01_race_counter/src/sync.rs"));
        assert!(!is_graded("exercises/01_race_counter/Cargo.toml"));
        assert!(!is_graded("exercises/01_race_counter/build.rs"));
        assert!(!is_graded("exercises/01_race_counter/src/notes.txt"));
        assert!(!is_graded("grader/hidden/01_race_counter/tests.rs"));
    }
}
