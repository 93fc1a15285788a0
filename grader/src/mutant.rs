//! Known-wrong versions of a solution, which prove that the hidden tests catch real mistakes.
//!
//! A mutant is written as edits to the reference solution rather than as a full copy: the file
//! `grader/hidden/NN_name/mutants/<name>.toml` shows exactly the mistake and nothing else, and a
//! solution change that makes an edit stop applying is caught by `verify` instead of leaving a
//! stale copy behind.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::catalog::{Exercise, Expectation};
use crate::{error, Error, Result};

#[derive(Debug, Clone)]
pub struct Mutant {
    /// The file stem, for example `join_each_thread`.
    pub name: String,
    pub path: PathBuf,
    pub spec: MutantSpec,
}

/// The contents of a mutant file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MutantSpec {
    /// The mistake, in the words a learner would use to describe their own bug.
    pub mistake: String,
    /// Which hidden test must reject it, with which verdict.
    pub expect: Expectation,
    /// The id of the contract sentence this mutant breaks (`"08.in-flight"`: exercise number,
    /// then a short name), so that `verify` can show which sentences a mutant proves.
    #[serde(default)]
    pub contract: Option<String>,
    /// The edits that turn the solution into this mutant.
    #[serde(rename = "edit")]
    pub edits: Vec<Edit>,
}

/// Replace the one occurrence of `find` in `file` (default `lib.rs`) by `replace`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edit {
    #[serde(default = "lib_rs")]
    pub file: PathBuf,
    pub find: String,
    pub replace: String,
}

fn lib_rs() -> PathBuf {
    PathBuf::from("lib.rs")
}

impl Mutant {
    /// Every mutant of an exercise, sorted by name.
    pub fn load_all(exercise: &Exercise) -> Result<Vec<Mutant>> {
        let dir = exercise.mutants_dir();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(Vec::new());
        };
        let mut mutants = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|ext| ext == "toml") {
                mutants.push(Mutant::load(&path)?);
            }
        }
        mutants.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(mutants)
    }

    /// Loads one mutant file (also used for the attempt and hostile suites in `grader/tests/`).
    pub fn load(path: &Path) -> Result<Mutant> {
        let spec: MutantSpec =
            toml::from_str(&error::read_to_string(path)?).map_err(|e| Error::broken(path, e))?;
        if spec.edits.is_empty() {
            return Err(Error::broken(path, "a mutant needs at least one [[edit]]"));
        }
        let name = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        Ok(Mutant {
            name,
            path: path.to_owned(),
            spec,
        })
    }

    /// Applies the edits; each `find` must occur exactly once so the edit is unambiguous.
    pub fn apply(&self, sources: &mut BTreeMap<PathBuf, String>) -> Result<()> {
        for edit in &self.spec.edits {
            let Some(text) = sources.get_mut(&edit.file) else {
                return Err(Error::broken(
                    &self.path,
                    format!(
                        "edits `{}`, which the solution does not have",
                        edit.file.display()
                    ),
                ));
            };
            match text.matches(edit.find.as_str()).count() {
                1 => *text = text.replacen(edit.find.as_str(), &edit.replace, 1),
                0 => {
                    return Err(Error::broken(
                        &self.path,
                        format!(
                            "the text to find no longer occurs in the solution's {}; \
                             update the mutant to match the solution:\n{}",
                            edit.file.display(),
                            edit.find
                        ),
                    ))
                }
                n => {
                    return Err(Error::broken(
                        &self.path,
                        format!(
                        "the text to find occurs {n} times in {}; add context so it is unique:\n{}",
                        edit.file.display(),
                        edit.find
                    ),
                    ))
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Expected;

    fn mutant(edits: &[(&str, &str)]) -> Mutant {
        Mutant {
            name: "example".into(),
            path: PathBuf::from("mutants/example.toml"),
            spec: MutantSpec {
                mistake: "an example".into(),
                contract: None,
                expect: Expectation {
                    rejected_by: "some_test".into(),
                    verdict: Expected::AnyTimeout,
                    build_error: None,
                },
                edits: edits
                    .iter()
                    .map(|(find, replace)| Edit {
                        file: lib_rs(),
                        find: (*find).into(),
                        replace: (*replace).into(),
                    })
                    .collect(),
            },
        }
    }

    fn sources(text: &str) -> BTreeMap<PathBuf, String> {
        BTreeMap::from([(lib_rs(), text.to_owned())])
    }

    #[test]
    fn an_edit_replaces_its_one_occurrence() {
        let mut code = sources("let a = lock();\nlet b = other();\n");
        mutant(&[("lock()", "try_lock()")])
            .apply(&mut code)
            .expect("the text occurs once");
        assert_eq!(code[&lib_rs()], "let a = try_lock();\nlet b = other();\n");
    }

    #[test]
    fn an_edit_that_no_longer_applies_or_is_ambiguous_is_an_error() {
        let missing = mutant(&[("gone()", "x")])
            .apply(&mut sources("lock();"))
            .expect_err("the text is not there");
        assert!(
            missing.to_string().contains("no longer occurs"),
            "{missing}"
        );
        let twice = mutant(&[("lock()", "x")])
            .apply(&mut sources("lock(); lock();"))
            .expect_err("the text is there twice");
        assert!(twice.to_string().contains("occurs 2 times"), "{twice}");
    }
}
