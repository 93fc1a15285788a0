//! The crate under test: whose `src/` the hidden tests are compiled against.
//!
//! Only `src/` is ever taken from a subject, and only Rust files in it. Manifests, build
//! scripts, tests and `src/sync.rs` always come from the grader, so a submission cannot change
//! how it is built or tested.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::catalog::Exercise;
use crate::mutant::Mutant;
use crate::workspace::Workspace;
use crate::{error, Error, ErrorKind, Result};

/// Bounds on what is read from a subject's `src/`, so a hostile submission cannot make the
/// grader read a huge or endless tree.
const MAX_SOURCE_FILES: usize = 64;
const MAX_SOURCE_BYTES: u64 = 2 * 1024 * 1024;

/// Which crate is being graded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectKind {
    /// The learner's `exercises/NN_name/`.
    Exercise,
    /// The reference `solutions/NN_name/`.
    Solution,
    /// A known-wrong version of the solution, by mutant name.
    Mutant(String),
    /// An exercise folder from somewhere else: a student's submission.
    Submission { label: String },
}

/// A subject with its sources read into memory.
#[derive(Debug, Clone)]
pub struct Subject {
    pub kind: SubjectKind,
    /// The folder the sources came from, as the learner should see it in messages,
    /// for example `exercises/01_race_counter`.
    pub display_dir: String,
    /// Rust files of `src/`, by path relative to `src/`, without `sync.rs`.
    pub sources: BTreeMap<PathBuf, String>,
}

impl Subject {
    /// The learner's own exercise crate in this checkout.
    ///
    /// A deleted or emptied `lib.rs` is named as such, with the command that brings the stub
    /// back, rather than left to compiler errors that point into the hidden tests.
    pub fn exercise(workspace: &Workspace, exercise: &Exercise) -> Result<Subject> {
        let dir = exercise.exercise_dir(workspace);
        let lib = format!("exercises/{}/src/lib.rs", exercise.dir_name);
        let restore = format!(
            "`cargo xtask reset {:02}` restores the stub",
            exercise.meta.number
        );
        if !dir.join("src").join("lib.rs").is_file() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("{lib} is missing: {restore}"),
            ));
        }
        let subject = Subject::from_dir(
            SubjectKind::Exercise,
            &dir,
            format!("exercises/{}", exercise.dir_name),
        )?;
        if subject
            .sources
            .get(Path::new("lib.rs"))
            .is_some_and(|text| lost_public_api(text))
        {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("{lib} is empty or lost its public API: {restore} (it backs up your file first)"),
            ));
        }
        Ok(subject)
    }

    /// The reference solution.
    pub fn solution(workspace: &Workspace, exercise: &Exercise) -> Result<Subject> {
        let dir = exercise.solution_dir(workspace);
        Subject::from_dir(
            SubjectKind::Solution,
            &dir,
            format!("solutions/{}", exercise.dir_name),
        )
    }

    /// The solution with a mutant's edits applied.
    pub fn mutant(workspace: &Workspace, exercise: &Exercise, mutant: &Mutant) -> Result<Subject> {
        let mut subject = Subject::solution(workspace, exercise)?;
        mutant.apply(&mut subject.sources)?;
        subject.kind = SubjectKind::Mutant(mutant.name.clone());
        subject.display_dir = format!("mutant {}", mutant.name);
        Ok(subject)
    }

    /// Any folder holding an exercise crate (at least `src/lib.rs`).
    pub fn submission(dir: &Path, label: &str) -> Result<Subject> {
        let kind = SubjectKind::Submission {
            label: label.to_owned(),
        };
        Subject::from_dir(kind, dir, dir.display().to_string())
    }

    fn from_dir(kind: SubjectKind, crate_dir: &Path, display_dir: String) -> Result<Subject> {
        let src = crate_dir.join("src");
        if !src.join("lib.rs").is_file() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "{} has no src/lib.rs; an exercise crate keeps its code in src/lib.rs \
                     (restore it with `cargo xtask reset`)",
                    crate_dir.display()
                ),
            ));
        }
        let mut sources = BTreeMap::new();
        let mut total_bytes = 0;
        collect_rust_files(&src, &src, &mut sources, &mut total_bytes)?;
        sources.remove(Path::new("sync.rs"));
        if !sources.contains_key(Path::new("lib.rs")) {
            // It exists, so it is a link, which is never followed: it could point anywhere.
            return Err(Error::new(
                ErrorKind::Subject,
                format!(
                    "{}/src/lib.rs is a symbolic link, which the grader does not follow; \
                     submit the file itself",
                    crate_dir.display()
                ),
            ));
        }
        Ok(Subject {
            kind,
            display_dir,
            sources,
        })
    }

    /// A short folder-safe name for this subject's scratch crate.
    ///
    /// A submission is keyed by its code's fingerprint, not by its label: two students whose
    /// folder names differ only in characters a folder name cannot keep (`x.y` and `x_y`)
    /// must never share a build, and two who submitted the same code compile it once.
    pub fn key(&self) -> String {
        let raw = match &self.kind {
            SubjectKind::Exercise => "exercise".to_owned(),
            SubjectKind::Solution => "solution".to_owned(),
            SubjectKind::Mutant(name) => format!("mutant-{name}"),
            SubjectKind::Submission { .. } => format!("code-{:016x}", self.fingerprint()),
        };
        raw.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }

    /// A fingerprint of the sources, for "has this changed since the last check": the first
    /// 8 bytes of [`Subject::digest`], so it is the same on every machine and Rust version
    /// (std's `DefaultHasher` promises neither) and `progress.json` stays valid across
    /// toolchain updates.
    pub fn fingerprint(&self) -> u64 {
        let digest = self.digest();
        u64::from_le_bytes(
            digest[..8]
                .try_into()
                .expect("a SHA-256 digest has 32 bytes"),
        )
    }

    /// The SHA-256 over every file's path and text. Where one student's code must never be
    /// taken for another's (a roster grading identical code once), the whole digest is the key:
    /// 64 bits could be aimed at.
    pub fn digest(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        for (path, text) in &self.sources {
            // Lengths first, so that no two different file sets hash the same bytes. The path's
            // own bytes, not a lossy rendering, which would give two names one spelling.
            let path = path.as_os_str().as_encoded_bytes();
            hasher.update((path.len() as u64).to_le_bytes());
            hasher.update(path);
            hasher.update((text.len() as u64).to_le_bytes());
            hasher.update(text.as_bytes());
        }
        hasher.finalize().into()
    }
}

/// Whether a `lib.rs` that parses declares nothing public: empty, only comments, or stripped of
/// every `pub` item the hidden tests call. Code that does not parse is left to the compiler,
/// whose message about the syntax error is the useful one.
fn lost_public_api(text: &str) -> bool {
    syn::parse_file(text).is_ok_and(|file| {
        !file
            .items
            .iter()
            .any(|item| matches!(item_visibility(item), Some(syn::Visibility::Public(_))))
    })
}

fn item_visibility(item: &syn::Item) -> Option<&syn::Visibility> {
    Some(match item {
        syn::Item::Const(item) => &item.vis,
        syn::Item::Enum(item) => &item.vis,
        syn::Item::Fn(item) => &item.vis,
        syn::Item::Mod(item) => &item.vis,
        syn::Item::Static(item) => &item.vis,
        syn::Item::Struct(item) => &item.vis,
        syn::Item::Trait(item) => &item.vis,
        syn::Item::Type(item) => &item.vis,
        syn::Item::Union(item) => &item.vis,
        syn::Item::Use(item) => &item.vis,
        _ => return None,
    })
}

fn collect_rust_files(
    root: &Path,
    dir: &Path,
    sources: &mut BTreeMap<PathBuf, String>,
    total_bytes: &mut u64,
) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::io("cannot list", dir, source))?;
    for entry in entries.flatten() {
        let path = entry.path();
        // Symlinks could point anywhere, for example at the hidden tests; they are skipped.
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_dir() {
            collect_rust_files(root, &path, sources, total_bytes)?;
        } else if file_type.is_file() && path.extension().is_some_and(|ext| ext == "rs") {
            *total_bytes += entry.metadata().map(|m| m.len()).unwrap_or(0);
            if sources.len() >= MAX_SOURCE_FILES || *total_bytes > MAX_SOURCE_BYTES {
                return Err(Error::new(
                    ErrorKind::Subject,
                    format!(
                        "{} holds more than {MAX_SOURCE_FILES} Rust files or {} KiB; \
                         an exercise needs one file",
                        root.display(),
                        MAX_SOURCE_BYTES / 1024
                    ),
                ));
            }
            let relative = path.strip_prefix(root).unwrap_or(&path).to_owned();
            sources.insert(relative, error::read_to_string(&path)?);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(files: &[(&str, &str)]) -> Subject {
        Subject {
            kind: SubjectKind::Exercise,
            display_dir: "exercises/01_race_counter".into(),
            sources: files
                .iter()
                .map(|(path, text)| (PathBuf::from(path), (*text).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn submissions_are_keyed_by_their_code_not_their_label() {
        let submission = |label: &str, text: &str| Subject {
            kind: SubjectKind::Submission {
                label: label.into(),
            },
            ..subject(&[("lib.rs", text)])
        };
        assert_ne!(
            submission("x.y", "solved").key(),
            submission("x_y", "stub").key(),
            "labels that look alike as folder names must not share a build"
        );
        assert_eq!(
            submission("alice", "same").key(),
            submission("bob", "same").key(),
            "identical code is compiled once"
        );
    }

    #[test]
    fn the_fingerprint_is_a_fixed_function_of_the_files() {
        // Pinned: a change here would invalidate every learner's progress.json.
        assert_eq!(
            subject(&[("lib.rs", "pub fn f() {}\n")]).fingerprint(),
            2_836_348_842_775_896_652
        );
        assert_ne!(
            subject(&[("lib.rs", "ab")]).fingerprint(),
            subject(&[("lib.rsa", "b")]).fingerprint(),
            "moving bytes between a path and its text changes the fingerprint"
        );
        assert_ne!(
            subject(&[("lib.rs", "a")]).fingerprint(),
            subject(&[("lib.rs", "b")]).fingerprint()
        );
    }

    /// A file name that is not UTF-8 renders as `\u{fffd}`, like a name that holds that
    /// character; the digest must still tell them apart, or a submission could share the key of
    /// one whose `#[path]` finds a file it lacks.
    #[cfg(unix)]
    #[test]
    fn the_digest_reads_a_file_names_own_bytes() {
        use std::os::unix::ffi::OsStrExt;
        let named = |name: &[u8]| Subject {
            sources: BTreeMap::from([(
                PathBuf::from(std::ffi::OsStr::from_bytes(name)),
                "pub fn f() {}".to_owned(),
            )]),
            ..subject(&[])
        };
        let replaced = "\u{fffd}.rs".as_bytes();
        assert_eq!(
            PathBuf::from(std::ffi::OsStr::from_bytes(b"\xff.rs")).to_string_lossy(),
            PathBuf::from(std::ffi::OsStr::from_bytes(replaced)).to_string_lossy(),
            "the two names render alike"
        );
        assert_ne!(named(b"\xff.rs").digest(), named(replaced).digest());
    }

    #[test]
    fn an_empty_or_private_only_file_has_lost_its_public_api() {
        assert!(lost_public_api(""));
        assert!(lost_public_api("// just a comment\n\n"));
        assert!(lost_public_api("mod sync;\nfn helper() {}"));
        assert!(!lost_public_api("mod sync;\npub struct Counter;"));
        assert!(!lost_public_api("pub use inner::*;"));
        assert!(
            !lost_public_api("pub fn broken( {"),
            "a syntax error is the compiler's to explain"
        );
    }
}
