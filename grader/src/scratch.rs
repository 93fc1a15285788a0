//! The scratch crate: hidden tests compiled against a subject's `src/`.
//!
//! For exercise `NN_name` and a subject, the grader writes
//!
//! ```text
//! target/threadlings/scratch/NN_name/<subject>/
//!     Cargo.toml         the test crate: [[test]] hidden = grader/hidden/NN_name/tests.rs
//!     Cargo.lock         copied from the workspace, so versions match it exactly
//!     subject/Cargo.toml package `<name>`, the crate under test
//!     subject/src/       the subject's Rust files, with the grader's sync.rs
//!     model/Cargo.toml   package `<name>_model`: the same src/, feature `model` on
//! ```
//!
//! The hidden tests import `<name>` for real threads and `<name>_model` for model checking, so
//! one test binary holds both flavours. Every manifest is generated here: nothing of a
//! subject's own Cargo.toml or build script is used. All scratch crates share one target
//! folder, so dependencies compile once for the whole course.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use toml::{Table, Value};

use crate::catalog::Exercise;
use crate::subject::Subject;
use crate::workspace::Workspace;
use crate::{error, Error, ErrorKind, Result};

/// Crates every graded crate may use, with the versions of `[workspace.dependencies]`.
const COURSE_DEPENDENCIES: &[&str] = &[
    "crossbeam",
    "crossbeam-channel",
    "crossbeam-utils",
    "libc",
    "nix",
    "parking_lot",
    "rayon",
];

/// The name of the hidden test target, and of the test binary cargo builds from it.
pub const HIDDEN_TARGET: &str = "hidden";

/// Debug for correctness tests; release for the speedup timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Debug,
    Release,
}

/// A compiled hidden test binary, ready for the runner.
#[derive(Debug, Clone)]
pub struct TestBinary {
    pub executable: PathBuf,
    /// The scratch crate's folder; the runner maps paths in panics back through it.
    pub scratch_dir: PathBuf,
}

/// Why a subject could not be built into a test binary.
#[derive(Debug, Clone)]
pub struct BuildFailure {
    /// The compiler's errors, with scratch paths mapped back to the learner's files.
    pub errors: Vec<String>,
}

/// Writes the scratch crate for `subject` and builds its hidden test binary.
pub fn build(
    workspace: &Workspace,
    exercise: &Exercise,
    subject: &Subject,
    profile: Profile,
    color: bool,
) -> Result<std::result::Result<TestBinary, BuildFailure>> {
    let scratch_dir = workspace
        .scratch_dir()
        .join(&exercise.dir_name)
        .join(subject.key());
    write_crate(workspace, exercise, subject, &scratch_dir)?;

    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo
        .current_dir(&scratch_dir)
        .args([
            "test",
            "--no-run",
            "--quiet",
            "--manifest-path",
            "Cargo.toml",
        ])
        .arg(if color {
            "--message-format=json-diagnostic-rendered-ansi"
        } else {
            "--message-format=json"
        })
        .env("CARGO_TARGET_DIR", workspace.scratch_target_dir())
        // Variables set by an outer cargo (when grading runs inside `cargo test`) describe
        // the outer crate and must not leak into this build.
        .env_remove("CARGO_MANIFEST_DIR")
        .env_remove("CARGO_PRIMARY_PACKAGE")
        .env_remove("CARGO_TARGET_TMPDIR");
    if profile == Profile::Release {
        cargo.arg("--release");
    }
    // Through the runner, so that its sweep for stray processes never reaps this build.
    let output = crate::reaper::output_own(&mut cargo).map_err(|source| {
        Error::new(
            ErrorKind::Tool,
            format!("cannot run cargo to build the hidden tests: {source}"),
        )
    })?;
    let messages = parse_messages(&String::from_utf8_lossy(&output.stdout));
    if let Some(executable) = messages.executable.filter(|_| output.status.success()) {
        return Ok(Ok(TestBinary {
            executable,
            scratch_dir,
        }));
    }
    if messages.errors.is_empty() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(Error::new(
            ErrorKind::Tool,
            format!(
                "cargo could not build the hidden tests in {} for a reason other than the code:\n{}",
                scratch_dir.display(),
                stderr.trim()
            ),
        ));
    }
    let mut errors = Vec::new();
    for rendered in messages.errors {
        let mapped = map_scratch_paths(&rendered, &subject.display_dir);
        if !errors.contains(&mapped) {
            errors.push(mapped);
        }
    }
    Ok(Err(BuildFailure { errors }))
}

/// Rewrites `subject/src/...` in compiler output to where the learner's file really is.
pub fn map_scratch_paths(text: &str, display_dir: &str) -> String {
    text.replace("model/../subject/src/", "subject/src/")
        .replace("subject/src/", &format!("{display_dir}/src/"))
}

fn write_crate(
    workspace: &Workspace,
    exercise: &Exercise,
    subject: &Subject,
    scratch_dir: &Path,
) -> Result<()> {
    let course = course_dependencies(workspace)?;
    let name = &exercise.meta.name;
    let src_dir = scratch_dir.join("subject").join("src");
    for (relative, text) in &subject.sources {
        write_if_changed(&src_dir.join(relative), text)?;
    }
    write_if_changed(
        &src_dir.join("sync.rs"),
        &error::read_to_string(workspace.sync_shim())?,
    )?;
    remove_stale_files(&src_dir, subject)?;

    let names = Names::new(name, &subject.key());
    let subject_manifest =
        library_manifest(&names.subject_package, name, "src/lib.rs", &course, false);
    write_if_changed(
        &scratch_dir.join("subject").join("Cargo.toml"),
        &subject_manifest,
    )?;
    let model_manifest = library_manifest(
        &names.model_package,
        &format!("{name}_model"),
        "../subject/src/lib.rs",
        &course,
        true,
    );
    write_if_changed(
        &scratch_dir.join("model").join("Cargo.toml"),
        &model_manifest,
    )?;

    let test_manifest = test_manifest(workspace, exercise, &names, &course);
    write_if_changed(&scratch_dir.join("Cargo.toml"), &test_manifest)?;
    let lock = scratch_dir.join("Cargo.lock");
    if !lock.exists() {
        write_if_changed(&lock, &error::read_to_string(workspace.lockfile())?)?;
    }
    Ok(())
}

/// Package names of one scratch crate.
///
/// Cargo hashes a path package by its name and its path *relative to its workspace root*. Every
/// scratch crate is its own workspace with the same layout, so without the subject in the
/// package names the exercise, the solution and every mutant would share artifacts in the
/// common target folder and overwrite each other's builds.
struct Names {
    subject_package: String,
    model_package: String,
    test_package: String,
}

impl Names {
    fn new(library: &str, subject_key: &str) -> Names {
        Names {
            subject_package: format!("{library}-{subject_key}"),
            model_package: format!("{library}_model-{subject_key}"),
            test_package: format!("hidden_{library}-{subject_key}"),
        }
    }
}

/// Removes files a previous version of the subject had and this one does not, so a deleted
/// module cannot linger in the scratch crate. Unchanged files keep their times, so cargo
/// rebuilds nothing for a repeated check.
fn remove_stale_files(dir: &Path, subject: &Subject) -> Result<()> {
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            let relative = path.strip_prefix(dir).unwrap_or(&path);
            if relative != Path::new("sync.rs") && !subject.sources.contains_key(relative) {
                std::fs::remove_file(&path)
                    .map_err(|source| Error::io("cannot remove stale", &path, source))?;
            }
        }
    }
    Ok(())
}

/// Writing only what changed keeps file times, so cargo does not rebuild an unchanged subject.
fn write_if_changed(path: &Path, contents: &str) -> Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == contents) {
        return Ok(());
    }
    error::write(path, contents)
}

fn course_dependencies(workspace: &Workspace) -> Result<Table> {
    let manifest_path = workspace.manifest();
    let manifest: Table = toml::from_str(&error::read_to_string(&manifest_path)?)
        .map_err(|e| Error::broken(&manifest_path, e))?;
    let all = manifest
        .get("workspace")
        .and_then(|w| w.get("dependencies"))
        .and_then(Value::as_table)
        .ok_or_else(|| Error::broken(&manifest_path, "has no [workspace.dependencies]"))?;
    let mut course = Table::new();
    for name in COURSE_DEPENDENCIES.iter().chain(["shuttle"].iter()) {
        let spec = all.get(*name).cloned().ok_or_else(|| {
            Error::broken(
                &manifest_path,
                format!("[workspace.dependencies] lacks `{name}`"),
            )
        })?;
        course.insert((*name).to_owned(), spec);
    }
    Ok(course)
}

fn package(name: &str) -> Table {
    let mut package = Table::new();
    package.insert("name".into(), name.into());
    package.insert("version".into(), "0.0.0".into());
    package.insert("edition".into(), "2021".into());
    package.insert("publish".into(), false.into());
    package
}

/// The manifest of the crate under test, or of its model-checked twin.
fn library_manifest(
    package_name: &str,
    library: &str,
    lib_path: &str,
    course: &Table,
    model_on: bool,
) -> String {
    let mut lib = Table::new();
    lib.insert("name".into(), library.into());
    lib.insert("path".into(), lib_path.into());
    let mut dependencies = course.clone();
    if let Some(Value::Table(shuttle)) = dependencies.get_mut("shuttle").map(as_table) {
        shuttle.insert("optional".into(), true.into());
    }
    let mut features = Table::new();
    features.insert("model".into(), Value::Array(vec!["dep:shuttle".into()]));
    if model_on {
        features.insert("default".into(), Value::Array(vec!["model".into()]));
    }
    let mut manifest = Table::new();
    manifest.insert("package".into(), package(package_name).into());
    manifest.insert("lib".into(), lib.into());
    manifest.insert("dependencies".into(), dependencies.into());
    manifest.insert("features".into(), features.into());
    toml::to_string(&manifest).expect("a generated manifest always serialises")
}

/// Normalises `"1.0"` to `{ version = "1.0" }` so fields can be added.
fn as_table(value: &mut Value) -> &mut Value {
    if let Value::String(version) = value {
        let mut table = Table::new();
        table.insert("version".into(), version.clone().into());
        *value = Value::Table(table);
    }
    value
}

fn path_dependency(path: &Path, package: Option<&str>) -> Value {
    let mut spec = Table::new();
    spec.insert("path".into(), path.display().to_string().into());
    if let Some(package) = package {
        spec.insert("package".into(), package.into());
    }
    Value::Table(spec)
}

fn test_manifest(
    workspace: &Workspace,
    exercise: &Exercise,
    names: &Names,
    course: &Table,
) -> String {
    let name = &exercise.meta.name;
    let mut dependencies = course.clone();
    dependencies.insert(
        name.clone(),
        path_dependency(Path::new("subject"), Some(&names.subject_package)),
    );
    dependencies.insert(
        format!("{name}_model"),
        path_dependency(Path::new("model"), Some(&names.model_package)),
    );
    dependencies.insert(
        "harness".into(),
        path_dependency(&workspace.harness_dir(), None),
    );

    let mut hidden = Table::new();
    hidden.insert("name".into(), HIDDEN_TARGET.into());
    hidden.insert(
        "path".into(),
        exercise.tests_file().display().to_string().into(),
    );
    hidden.insert("harness".into(), false.into());

    let mut manifest = Table::new();
    manifest.insert("package".into(), package(&names.test_package).into());
    manifest.insert("dependencies".into(), dependencies.into());
    manifest.insert("test".into(), Value::Array(vec![hidden.into()]));
    // An empty [workspace] makes the scratch crate its own workspace root, so the cargo of the
    // threadlings workspace never sees it and it never sees the learner's manifests.
    manifest.insert("workspace".into(), Table::new().into());
    toml::to_string(&manifest).expect("a generated manifest always serialises")
}

#[derive(Default)]
struct Messages {
    executable: Option<PathBuf>,
    errors: Vec<String>,
}

#[derive(Deserialize)]
struct CargoMessage {
    reason: String,
    target: Option<CargoTarget>,
    executable: Option<PathBuf>,
    message: Option<CompilerMessage>,
}

#[derive(Deserialize)]
struct CargoTarget {
    name: String,
}

#[derive(Deserialize)]
struct CompilerMessage {
    level: String,
    rendered: Option<String>,
}

fn parse_messages(stdout: &str) -> Messages {
    let mut messages = Messages::default();
    let mut model_errors = Vec::new();
    for line in stdout.lines() {
        let Ok(message) = serde_json::from_str::<CargoMessage>(line) else {
            continue;
        };
        match message.reason.as_str() {
            "compiler-artifact" => {
                if message
                    .target
                    .as_ref()
                    .is_some_and(|t| t.name == HIDDEN_TARGET)
                {
                    messages.executable = message.executable.or(messages.executable);
                }
            }
            "compiler-message" => {
                if let Some(compiler) = message.message {
                    if compiler.level == "error" {
                        let from_model = message
                            .target
                            .as_ref()
                            .is_some_and(|t| t.name.ends_with("_model"));
                        let errors = if from_model {
                            &mut model_errors
                        } else {
                            &mut messages.errors
                        };
                        // "aborting due to N previous errors" only counts the real ones.
                        errors.extend(
                            compiler
                                .rendered
                                .filter(|text| !text.starts_with("error: aborting due to")),
                        );
                    }
                }
            }
            _ => {}
        }
    }
    // The model-checked twin compiles the same files, so it repeats every mistake, with the
    // model checker's types in the message. Its errors matter only when the real build has
    // none (code that compiles with std's types but not with shuttle's).
    if messages.errors.is_empty() {
        messages.errors = model_errors;
    }
    messages
}
