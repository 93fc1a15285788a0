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
//! folder, so dependencies compile once for the whole course. [`build_together`] builds the
//! scratch crates of several exercises with one cargo run, for `grade`.
//!
//! The crate under test receives only the crates its exercise's `[capabilities]` names, and
//! unless the exercise allows `unsafe`, its manifests carry `[lints.rust] unsafe_code =
//! "forbid"`: rustc then refuses every `unsafe` the learner writes, and no `allow` inside the
//! crate can lift a lint forbidden on the command line.
//!
//! [`expand`] shows the lint what the compiler compiles: both twins after macro expansion,
//! with every file the compiler read. It builds in a target folder of its own
//! (`target/threadlings/expand`), because it needs `RUSTC_BOOTSTRAP=1` for
//! `-Zunpretty=expanded`, and sharing the normal build's folder would make cargo rebuild the
//! tests' dependencies whenever that variable changes.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use toml::{Table, Value};

use crate::catalog::{Capabilities, Exercise};
use crate::events::{Event, Observer};
use crate::subject::{Subject, SubjectKind};
use crate::suite::TestSuite;
use crate::workspace::Workspace;
use crate::{error, Error, ErrorKind, Result};

/// Crates every hidden test crate (grader code, not the subject) may use, with the versions of
/// `[workspace.dependencies]`; it also gets its exercise's `[capabilities] crates`, so that a
/// crate only one exercise needs (tokio) is built only for that exercise. The crate under test
/// gets only its exercise's `[capabilities] crates`.
const HIDDEN_TEST_DEPENDENCIES: &[&str] = &[
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
    suite: &TestSuite,
    subject: &Subject,
    profile: Profile,
    color: bool,
) -> Result<std::result::Result<TestBinary, BuildFailure>> {
    build_observed(
        workspace,
        exercise,
        suite,
        subject,
        profile,
        color,
        &Observer::none(),
    )
}

/// [`build`], telling `observer` about every crate cargo finishes compiling, so that a first
/// build of minutes shows it is alive.
pub fn build_observed(
    workspace: &Workspace,
    exercise: &Exercise,
    suite: &TestSuite,
    subject: &Subject,
    profile: Profile,
    color: bool,
    observer: &Observer,
) -> Result<std::result::Result<TestBinary, BuildFailure>> {
    let scratch_dir = write_scratch_crate(workspace, exercise, suite, subject)?;

    let mut cargo = cargo_in(&scratch_dir);
    cargo
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
        .env("CARGO_TARGET_DIR", workspace.scratch_target_dir());
    if profile == Profile::Release {
        cargo.arg("--release");
    }
    if matches!(subject.kind, SubjectKind::Submission { .. }) {
        // A submission's crates are named by its code's fingerprint, so each is compiled once
        // and its incremental cache is never read again: it only costs disk and the time to
        // write it (measured: 227 MB for one full solution's 13 exercises, and 8 s of its
        // 137 s of CPU time). A learner's own exercise keeps one name across
        // edits, so `check` after `check` does reuse the cache.
        cargo.env("CARGO_INCREMENTAL", "0");
    }
    let what = "build the hidden tests";
    let (output, messages) = run_cargo(&mut cargo, what, observer)?;
    record_artifacts(&scratch_dir, &output.stdout)?;
    if let Some(executable) = messages
        .executable
        .clone()
        .filter(|_| output.status.success())
    {
        return Ok(Ok(TestBinary { executable }));
    }
    let errors = code_errors(&output, messages, &scratch_dir, subject, what)?;
    Ok(Err(BuildFailure { errors }))
}

/// One exercise's part of [`build_together`]: the suite to compile against the subject.
#[derive(Debug, Clone, Copy)]
pub struct Part<'a> {
    pub exercise: &'a Exercise,
    pub suite: &'a TestSuite,
    pub subject: &'a Subject,
}

/// Builds the hidden test binaries of several exercises (one student's, in a roster) with one
/// cargo run, rather than one run each: cargo then schedules every exercise's crates on every
/// core at once, and reads the dependency graph and the target folder once.
///
/// Each part keeps its own scratch crate ([`write_scratch_crate`]); a temporary package whose
/// path dependencies are those crates selects their `hidden` targets (`cargo build --test
/// hidden -p ...`), and `--keep-going` lets an exercise that does not compile stop only itself.
/// Cargo hashes a path package outside the root's folder by its absolute path, so identical
/// code is still built once for the whole class, but not shared with [`build`]'s artifacts,
/// and rustc sees absolute paths, which [`crate::learner_paths`] maps like relative ones. The
/// temporary package is never built (only the `-p` packages are) and is removed on return.
pub fn build_together(
    workspace: &Workspace,
    parts: &[Part<'_>],
    profile: Profile,
    color: bool,
    observer: &Observer,
) -> Result<Vec<std::result::Result<TestBinary, BuildFailure>>> {
    if parts.is_empty() {
        return Ok(Vec::new());
    }
    let mut crates = Vec::new();
    for part in parts {
        let scratch_dir = write_scratch_crate(workspace, part.exercise, part.suite, part.subject)?;
        let scratch_dir = scratch_dir.canonicalize().unwrap_or(scratch_dir);
        crates.push(scratch_dir);
    }
    let root = tempfile::Builder::new()
        .prefix("together-")
        .tempdir_in(workspace.scratch_dir())
        .map_err(|source| {
            Error::io(
                "cannot create a folder in",
                &workspace.scratch_dir(),
                source,
            )
        })?;
    let names: Vec<Names> = parts
        .iter()
        .map(|part| crate_names(workspace, part.exercise, part.suite, part.subject))
        .collect();
    write_together_root(workspace, root.path(), &crates, &names)?;

    let mut cargo = cargo_in(root.path());
    cargo
        .args(["build", "--keep-going", "--quiet", "--test", HIDDEN_TARGET])
        .arg(if color {
            "--message-format=json-diagnostic-rendered-ansi"
        } else {
            "--message-format=json"
        })
        .env("CARGO_TARGET_DIR", workspace.scratch_target_dir());
    for names in &names {
        cargo.args(["-p", &names.test_package]);
    }
    if profile == Profile::Release {
        cargo.arg("--release");
    }
    if parts
        .iter()
        .all(|part| matches!(part.subject.kind, SubjectKind::Submission { .. }))
    {
        // As in `build`: code named by its fingerprint never reads its incremental cache.
        cargo.env("CARGO_INCREMENTAL", "0");
    }
    let what = "build the hidden tests";
    let (output, _) = run_cargo(&mut cargo, what, observer)?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    // Each line once, with what it is about; each crate then takes its own lines.
    let lines: Vec<(&str, CargoMessage)> = stdout
        .lines()
        .filter_map(|line| Some((line, serde_json::from_str(line).ok()?)))
        .collect();
    let mut built = Vec::new();
    for (part, scratch_dir) in parts.iter().zip(&crates) {
        record_artifacts(scratch_dir, &output.stdout)?;
        let own: Vec<&str> = lines
            .iter()
            .filter(|(_, message)| is_from(message, scratch_dir))
            .map(|(line, _)| *line)
            .collect();
        let messages = parse_messages(&own.join("\n"));
        built.push(match messages.executable.clone() {
            Some(executable) => Ok(TestBinary { executable }),
            None => Err(BuildFailure {
                errors: code_errors(&output, messages, scratch_dir, part.subject, what)?,
            }),
        });
    }
    Ok(built)
}

/// The package [`build_together`] runs cargo in: `crates` (the scratch crates' folders) as
/// path dependencies, the scratch profiles for all of them, and the workspace's lockfile, so
/// every dependency resolves to the version a scratch crate of its own would use.
fn write_together_root(
    workspace: &Workspace,
    root: &Path,
    crates: &[PathBuf],
    names: &[Names],
) -> Result<()> {
    let mut dependencies = Table::new();
    for (index, (scratch_dir, names)) in crates.iter().zip(names).enumerate() {
        dependencies.insert(
            format!("part{index}"),
            path_dependency(scratch_dir, Some(&names.test_package)),
        );
    }
    let mut manifest = Table::new();
    manifest.insert("package".into(), package("threadlings-together").into());
    manifest.insert("dependencies".into(), dependencies.into());
    manifest.insert("workspace".into(), Table::new().into());
    manifest.insert("profile".into(), scratch_profiles(names).into());
    let manifest = toml::to_string(&manifest).expect("a generated manifest always serialises");
    error::write(root.join("Cargo.toml"), &manifest)?;
    let src = root.join("src");
    std::fs::create_dir_all(&src).map_err(|source| Error::io("cannot create", &src, source))?;
    error::write(src.join("lib.rs"), "")?;
    error::write(
        root.join("Cargo.lock"),
        &error::read_to_string(workspace.lockfile())?,
    )
}

/// One twin of the crate under test as the compiler sees it.
#[derive(Debug, Clone)]
pub struct Expanded {
    /// Whether this is the model-checked twin (feature `model`).
    pub model: bool,
    /// The crate after `#[cfg]` stripping and macro expansion, every module inline, as
    /// `rustc -Zunpretty=expanded` prints it.
    pub code: String,
    /// Every file the compiler read for it (modules, `include!`, `include_str!`,
    /// `include_bytes!`), as dep-info lists them, made absolute.
    pub files_read: Vec<PathBuf>,
    /// Environment variables the code read at compile time (`env!`, `option_env!`).
    pub env_read: Vec<String>,
}

/// What [`expand`] found.
#[derive(Debug, Clone)]
pub struct Expansion {
    /// The scratch crate's `subject/src/`, where every file read must lie.
    pub src_dir: PathBuf,
    /// Each twin the compiler printed, even when it then stopped with errors: a crate that
    /// does not build may still be refused for what it tried.
    pub twins: Vec<Expanded>,
    /// Why the compiler stopped (a syntax error, an unknown macro, a lint rustc forbids),
    /// mapped to the learner's files; empty when both twins expanded cleanly.
    pub errors: Vec<String>,
}

/// Writes the scratch crate of `suite` against `subject` and returns its folder (also for
/// `cargo xtask xcheck`, which type-checks it for other systems):
/// `target/threadlings/scratch/NN_name/<subject key><suite suffix>/`.
pub fn write_scratch_crate(
    workspace: &Workspace,
    exercise: &Exercise,
    suite: &TestSuite,
    subject: &Subject,
) -> Result<PathBuf> {
    let scratch_dir = workspace
        .scratch_dir()
        .join(&exercise.dir_name)
        .join(crate_key(suite, subject));
    write_crate(workspace, exercise, suite, subject, &scratch_dir)?;
    Ok(scratch_dir)
}

/// Writes the scratch crate for `subject` and expands both twins of the crate under test.
///
/// The expansion uses the scratch crate of the exercise's hidden suite: the crate under test
/// is the same whichever suite is then run against it.
pub fn expand(workspace: &Workspace, exercise: &Exercise, subject: &Subject) -> Result<Expansion> {
    let suite = exercise.hidden_suite();
    let scratch_dir = write_scratch_crate(workspace, exercise, &suite, subject)?;
    let out_dir = scratch_dir.join("expanded");
    std::fs::create_dir_all(&out_dir)
        .map_err(|source| Error::io("cannot create", &out_dir, source))?;
    let mut twins = Vec::new();
    let mut errors = Vec::new();
    for (twin, model) in [("subject", false), ("model", true)] {
        let code_path = out_dir.join(format!("{twin}.rs"));
        let dep_info_path = out_dir.join(format!("{twin}.d"));
        for stale in [&code_path, &dep_info_path] {
            let _ = std::fs::remove_file(stale);
        }
        let mut cargo = cargo_in(&scratch_dir);
        cargo
            .args(["rustc", "--lib", "--quiet", "--profile", "check"])
            .arg("--manifest-path")
            .arg(Path::new(twin).join("Cargo.toml"))
            .arg("--target-dir")
            .arg(workspace.state_dir().join("expand"))
            .arg("--message-format=json")
            .args(["--", "-Zunpretty=expanded", "-o"])
            .arg(&code_path)
            .arg(format!("--emit=dep-info={}", dep_info_path.display()))
            // `-Z` flags need a nightly compiler or this; it never reaches the real build.
            .env("RUSTC_BOOTSTRAP", "1")
            .env("CARGO_INCREMENTAL", "0")
            // The target folder is given as a flag, so that `env!("CARGO_TARGET_DIR")` cannot
            // read a different value here than in the real build.
            .env_remove("CARGO_TARGET_DIR");
        let what = "expand the macros of the code under test";
        let (output, messages) = run_cargo(&mut cargo, what, &Observer::none())?;
        record_artifacts(&scratch_dir, &output.stdout)?;
        if !output.status.success() {
            for error in code_errors(&output, messages, &scratch_dir, subject, what)? {
                if !errors.contains(&error) {
                    errors.push(error);
                }
            }
        }
        // Early lints (`forbid(unsafe_code)`) fail the run after the crate was printed.
        let Ok(code) = std::fs::read_to_string(&code_path) else {
            continue;
        };
        // A run that succeeded always lists the files it read; without the list nothing
        // could be said about them, so its absence is the grader's error, never a pass.
        let dep_info = if output.status.success() {
            error::read_to_string(&dep_info_path)?
        } else {
            std::fs::read_to_string(&dep_info_path).unwrap_or_default()
        };
        let (files_read, env_read) = parse_dep_info(&dep_info, &scratch_dir);
        twins.push(Expanded {
            model,
            code,
            files_read,
            env_read,
        });
    }
    Ok(Expansion {
        src_dir: scratch_dir.join("subject").join("src"),
        twins,
        errors,
    })
}

/// Reads a Makefile-style dep-info file: the files of its first rule (relative ones are
/// relative to the scratch crate, where rustc ran) and its `# env-dep:` lines.
fn parse_dep_info(text: &str, scratch_dir: &Path) -> (Vec<PathBuf>, Vec<String>) {
    let mut files = Vec::new();
    let mut env = Vec::new();
    for line in text.lines() {
        if let Some(variable) = line.strip_prefix("# env-dep:") {
            let name = variable.split('=').next().unwrap_or(variable);
            env.push(name.to_owned());
            continue;
        }
        // Each prerequisite also gets an empty rule of its own (`path:`); the first rule,
        // `output: prerequisites...`, lists them all.
        if !files.is_empty() || line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let Some((_, prerequisites)) = split_rule(line) else {
            continue;
        };
        for path in split_escaped(prerequisites) {
            let path = PathBuf::from(path);
            let absolute = if path.is_absolute() {
                path
            } else {
                scratch_dir.join(path)
            };
            // A file gone since the compiler read it is judged by its path alone, with `..`
            // resolved, so that `src/../../x` does not look like it lies in `src/`.
            files.push(std::fs::canonicalize(&absolute).unwrap_or_else(|_| lexical(&absolute)));
        }
    }
    (files, env)
}

/// `path` with `.` and `..` resolved by name, for a file that no longer exists.
fn lexical(path: &Path) -> PathBuf {
    let mut resolved = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                resolved.pop();
            }
            std::path::Component::CurDir => {}
            other => resolved.push(other),
        }
    }
    resolved
}

/// Splits `target: prerequisites` at the first unescaped `: `.
fn split_rule(line: &str) -> Option<(&str, &str)> {
    let bytes = line.as_bytes();
    (0..bytes.len().saturating_sub(1))
        .find(|&i| bytes[i] == b':' && bytes[i + 1] == b' ' && (i == 0 || bytes[i - 1] != b'\\'))
        .map(|i| (&line[..i], &line[i + 2..]))
}

/// Splits on spaces not escaped by a backslash, unescaping `\ `.
fn split_escaped(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&' ') => {
                current.push(' ');
                chars.next();
            }
            ' ' => {
                if !current.is_empty() {
                    parts.push(std::mem::take(&mut current));
                }
            }
            _ => current.push(c),
        }
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

/// The file in a scratch crate that lists what its builds wrote into the shared target
/// folders, one path a line, for [`clean`].
const ARTIFACTS: &str = "artifacts.txt";

/// Adds to the scratch crate's list of artifacts every file cargo reports writing for the
/// scratch crate's own packages (never a dependency's: those are shared by every build).
fn record_artifacts(scratch_dir: &Path, cargo_stdout: &[u8]) -> Result<()> {
    let scratch_dir = scratch_dir
        .canonicalize()
        .unwrap_or_else(|_| scratch_dir.to_owned());
    let list = scratch_dir.join(ARTIFACTS);
    let mut known = std::fs::read_to_string(&list).unwrap_or_default();
    let before = known.len();
    for line in String::from_utf8_lossy(cargo_stdout).lines() {
        let Ok(message) = serde_json::from_str::<CargoMessage>(line) else {
            continue;
        };
        if message.reason != "compiler-artifact" || !is_from(&message, &scratch_dir) {
            continue;
        }
        for file in message.filenames.iter().chain(&message.executable) {
            let file = file.display().to_string();
            if !known.lines().any(|known| known == file) {
                known.push_str(&file);
                known.push('\n');
            }
        }
    }
    if known.len() == before {
        return Ok(());
    }
    error::write(&list, &known)
}

/// Whether cargo's JSON message is about one of the packages of the scratch crate in
/// `scratch_dir` (canonical), rather than a dependency or another exercise's crate.
fn is_from(message: &CargoMessage, scratch_dir: &Path) -> bool {
    // Cargo names a path package by where its manifest is: `path+file://<dir>#name@version`.
    let own = format!("path+file://{}", scratch_dir.display());
    message
        .package_id
        .as_deref()
        .and_then(|id| id.strip_prefix(&own))
        .is_some_and(|rest| rest.starts_with(['/', '#']))
}

/// Removes every scratch crate of `subject_key` for `exercise` (both suites) and what their
/// builds wrote into the shared target folders, so that a class of 200 does not leave 200
/// students' test binaries behind. The dependencies' builds stay: every student needs them.
///
/// A build some grader still uses ([`in_use`]) is left alone: graders of one checkout share
/// builds of identical code, and a roster's cleanup must not pull the test binary from under
/// an instructor's `grade --submission` of the same code running beside it.
pub fn clean(workspace: &Workspace, exercise: &Exercise, subject_key: &str) -> Result<()> {
    let exercise_dir = workspace.scratch_dir().join(&exercise.dir_name);
    let Ok(entries) = std::fs::read_dir(&exercise_dir) else {
        return Ok(());
    };
    let lock_path = use_lock_path(&exercise_dir, subject_key);
    let Ok(_nobody_else) = nix::fcntl::Flock::lock(
        open_use_lock(&lock_path)?,
        nix::fcntl::FlockArg::LockExclusiveNonblock,
    ) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        // Keys are fixed-length fingerprints, so no key is the start of another one's name.
        let of_subject = name == subject_key || name.starts_with(&format!("{subject_key}-"));
        if !of_subject {
            continue;
        }
        let dir = entry.path();
        let artifacts = std::fs::read_to_string(dir.join(ARTIFACTS)).unwrap_or_default();
        for file in artifacts.lines().map(Path::new) {
            match std::fs::remove_file(file) {
                Err(source) if source.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io("cannot remove the build output", file, source))
                }
                _ => {}
            }
        }
        std::fs::remove_dir_all(&dir)
            .map_err(|source| Error::io("cannot remove the scratch crate", &dir, source))?;
    }
    Ok(())
}

/// A subject's builds of one exercise in use by this grader: while held, [`clean`] removes
/// none of them. Taken for the whole of a check, from writing the crate to the last test.
#[must_use = "the builds may be cleaned once this is dropped"]
pub struct InUse {
    _shared: nix::fcntl::Flock<std::fs::File>,
}

/// Marks the builds of `subject_key` for `exercise` as in use until the result is dropped.
pub fn in_use(workspace: &Workspace, exercise: &Exercise, subject_key: &str) -> Result<InUse> {
    let exercise_dir = workspace.scratch_dir().join(&exercise.dir_name);
    std::fs::create_dir_all(&exercise_dir)
        .map_err(|source| Error::io("cannot create", &exercise_dir, source))?;
    let path = use_lock_path(&exercise_dir, subject_key);
    let shared = nix::fcntl::Flock::lock(open_use_lock(&path)?, nix::fcntl::FlockArg::LockShared)
        .map_err(|(_, errno)| Error::io("cannot lock", &path, errno.into()))?;
    Ok(InUse { _shared: shared })
}

/// The lock file beside a subject's scratch crates. It stays (it is empty): removing it while
/// another grader opens it would let two graders lock different files.
fn use_lock_path(exercise_dir: &Path, subject_key: &str) -> PathBuf {
    exercise_dir.join(format!("{subject_key}.in-use"))
}

fn open_use_lock(path: &Path) -> Result<std::fs::File> {
    std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|source| Error::io("cannot open the lock", path, source))
}

/// Cargo, run in the scratch crate.
fn cargo_in(scratch_dir: &Path) -> Command {
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo
        .current_dir(scratch_dir)
        // Variables set by an outer cargo (when grading runs inside `cargo test`) describe
        // the outer crate and must not leak into this build.
        .env_remove("CARGO_MANIFEST_DIR")
        .env_remove("CARGO_PRIMARY_PACKAGE")
        .env_remove("CARGO_TARGET_TMPDIR");
    cargo
}

/// Runs cargo (to `what`) and reads its JSON messages.
fn run_cargo(
    cargo: &mut Command,
    what: &str,
    observer: &Observer,
) -> Result<(std::process::Output, Messages)> {
    use std::io::{BufRead, Read};
    let cannot_run = |source: std::io::Error| {
        Error::new(
            ErrorKind::Tool,
            format!("cannot run cargo to {what}: {source}"),
        )
    };
    // A roster's timing tests wait for the build to end, and builds wait for them.
    let _turn = crate::turns::shared_turn()?;
    // Through the reaper, so that its sweep for stray processes never reaps this build.
    let mut child = crate::reaper::spawn_own(
        cargo
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped()),
    )
    .map_err(cannot_run)?;
    let mut stderr_pipe = child.stderr.take().expect("stderr is piped");
    let stderr_reader = std::thread::spawn(move || {
        let mut stderr = Vec::new();
        let _ = stderr_pipe.read_to_end(&mut stderr);
        stderr
    });
    // Cargo's JSON messages, read as they come: each finished crate is news for the observer.
    let mut stdout = Vec::new();
    let mut compiled = 0;
    let reader = std::io::BufReader::new(child.stdout.take().expect("stdout is piped"));
    for line in reader.split(b'\n').map_while(std::result::Result::ok) {
        if let Ok(message) = serde_json::from_slice::<CargoMessage>(&line) {
            if message.reason == "compiler-artifact" {
                compiled += 1;
                observer.notify(Event::Compiled {
                    name: message.target.map(|t| t.name).unwrap_or_default(),
                    done: compiled,
                    total: None,
                });
            }
        }
        stdout.extend_from_slice(&line);
        stdout.push(b'\n');
    }
    let status = child.wait().map_err(cannot_run)?;
    crate::reaper::forget_own(child.id());
    let stderr = stderr_reader.join().unwrap_or_default();
    let output = std::process::Output {
        status,
        stdout,
        stderr,
    };
    let messages = parse_messages(&String::from_utf8_lossy(&output.stdout));
    Ok((output, messages))
}

/// The compiler's errors about the code, mapped to the learner's files; an error of the
/// grader's own when cargo failed without any.
fn code_errors(
    output: &std::process::Output,
    messages: Messages,
    scratch_dir: &Path,
    subject: &Subject,
    what: &str,
) -> Result<Vec<String>> {
    if messages.errors.is_empty() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(Error::new(
            ErrorKind::Tool,
            format!(
                "cargo could not {what} in {} for a reason other than the code:\n{}",
                scratch_dir.display(),
                stderr.trim()
            ),
        ));
    }
    let mut errors = Vec::new();
    for rendered in messages.errors {
        let mapped = crate::learner_paths::map_scratch_paths(&rendered, &subject.display_dir);
        if !errors.contains(&mapped) {
            errors.push(mapped);
        }
    }
    Ok(errors)
}

fn write_crate(
    workspace: &Workspace,
    exercise: &Exercise,
    suite: &TestSuite,
    subject: &Subject,
    scratch_dir: &Path,
) -> Result<()> {
    let subject_crates = subject_dependencies(workspace, exercise)?;
    let mut course = dependencies(workspace, HIDDEN_TEST_DEPENDENCIES)?;
    course.extend(subject_crates.clone());
    let forbid_unsafe = !exercise.meta.capabilities.allows_unsafe();
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

    let names = crate_names(workspace, exercise, suite, subject);
    let subject_manifest = library_manifest(
        &names.subject_package,
        name,
        "src/lib.rs",
        &subject_crates,
        forbid_unsafe,
        None,
    );
    write_if_changed(
        &scratch_dir.join("subject").join("Cargo.toml"),
        &subject_manifest,
    )?;
    let model_manifest = library_manifest(
        &names.model_package,
        &format!("{name}_model"),
        "../subject/src/lib.rs",
        &subject_crates,
        forbid_unsafe,
        Some(&workspace.harness_dir()),
    );
    write_if_changed(
        &scratch_dir.join("model").join("Cargo.toml"),
        &model_manifest,
    )?;

    let test_manifest = test_manifest(workspace, exercise, suite, &names, &course);
    write_if_changed(&scratch_dir.join("Cargo.toml"), &test_manifest)?;
    let lock = scratch_dir.join("Cargo.lock");
    if !lock.exists() {
        write_if_changed(&lock, &error::read_to_string(workspace.lockfile())?)?;
    }
    Ok(())
}

/// The package names of the scratch crate of `suite` against `subject`.
fn crate_names(
    workspace: &Workspace,
    exercise: &Exercise,
    suite: &TestSuite,
    subject: &Subject,
) -> Names {
    Names::new(
        &exercise.meta.name,
        &format!("{}-{}", crate_key(suite, subject), checkout_tag(workspace)),
    )
}

/// The scratch crate's folder name: the subject's key and the suite's suffix.
fn crate_key(suite: &TestSuite, subject: &Subject) -> String {
    format!("{}{}", subject.key(), suite.scratch_suffix())
}

/// A short tag of the checkout's own folder, part of every scratch package name.
///
/// Two checkouts whose build folders are one (a test's private copy linked to the real
/// checkout's, to compile the dependencies once) would otherwise give their `exercise` crates
/// one name and one relative path, and cargo would take one's build for the other's: the
/// real stub would be graded with a copy's solved code.
fn checkout_tag(workspace: &Workspace) -> String {
    use sha2::{Digest, Sha256};
    // One checkout reached by two spellings (`grader/..` and the root) is still one checkout.
    let root = workspace
        .root()
        .canonicalize()
        .unwrap_or_else(|_| workspace.root().to_owned());
    let digest = Sha256::digest(root.as_os_str().as_encoded_bytes());
    digest[..4]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Package names of one scratch crate.
///
/// Cargo hashes a path package by its name and its path *relative to its workspace root*. Every
/// scratch crate is its own workspace with the same layout, so without the subject (and the
/// checkout, [`checkout_tag`]) in the package names the exercise, the solution and every mutant
/// would share artifacts in the common target folder and overwrite each other's builds.
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

/// The root manifest's `[workspace.dependencies]`: every crate the course may hand out.
fn workspace_dependencies(workspace: &Workspace) -> Result<Table> {
    let manifest_path = workspace.manifest();
    let manifest: Table = toml::from_str(&error::read_to_string(&manifest_path)?)
        .map_err(|e| Error::broken(&manifest_path, e))?;
    manifest
        .get("workspace")
        .and_then(|w| w.get("dependencies"))
        .and_then(Value::as_table)
        .cloned()
        .ok_or_else(|| Error::broken(&manifest_path, "has no [workspace.dependencies]"))
}

/// The crates of `[workspace.dependencies]` as code names them (`crossbeam_utils`), which
/// the lint refuses unless the exercise's capabilities give them to its crate.
pub fn course_crates(workspace: &Workspace) -> Result<Vec<String>> {
    // The model-checked twin is built with the harness, for the atomics its `crate::sync`
    // re-exports; the learner's code may not reach it.
    Ok(workspace_dependencies(workspace)?
        .keys()
        .map(|name| Capabilities::code_name(name))
        .chain(std::iter::once("harness".to_owned()))
        .collect())
}

/// `names` with their specs from `[workspace.dependencies]`, plus the model checker.
fn dependencies<S: AsRef<str>>(workspace: &Workspace, names: &[S]) -> Result<Table> {
    let all = workspace_dependencies(workspace)?;
    let mut chosen = Table::new();
    for name in names
        .iter()
        .map(AsRef::as_ref)
        .chain(std::iter::once("shuttle"))
    {
        let spec = all.get(name).cloned().ok_or_else(|| {
            Error::broken(
                &workspace.manifest(),
                format!("[workspace.dependencies] lacks `{name}`"),
            )
        })?;
        chosen.insert(name.to_owned(), spec);
    }
    Ok(chosen)
}

/// The crates the crate under test is built with: its exercise's `[capabilities] crates`.
fn subject_dependencies(workspace: &Workspace, exercise: &Exercise) -> Result<Table> {
    let crates = &exercise.meta.capabilities.crates;
    dependencies(workspace, crates).map_err(|error| {
        Error::broken(
            &exercise.hidden_dir.join("exercise.toml"),
            format!("[capabilities] crates names a crate the course does not have: {error}"),
        )
    })
}

fn package(name: &str) -> Table {
    let mut package = Table::new();
    package.insert("name".into(), name.into());
    package.insert("version".into(), "0.0.0".into());
    package.insert("edition".into(), "2021".into());
    package.insert("publish".into(), false.into());
    package
}

/// The manifest of the crate under test, or of its model-checked twin (`model_harness`: the
/// harness, whose atomics the twin's `crate::sync` re-exports so a replay can show values).
fn library_manifest(
    package_name: &str,
    library: &str,
    lib_path: &str,
    course: &Table,
    forbid_unsafe: bool,
    model_harness: Option<&Path>,
) -> String {
    let mut lib = Table::new();
    lib.insert("name".into(), library.into());
    lib.insert("path".into(), lib_path.into());
    let mut dependencies = course.clone();
    if let Some(Value::Table(shuttle)) = dependencies.get_mut("shuttle").map(as_table) {
        shuttle.insert("optional".into(), true.into());
    }
    let mut features = Table::new();
    let mut model = vec![Value::from("dep:shuttle")];
    if let Some(harness) = model_harness {
        let mut spec = path_dependency(harness, None);
        if let Value::Table(table) = &mut spec {
            table.insert("optional".into(), true.into());
        }
        dependencies.insert("harness".into(), spec);
        model.push("dep:harness".into());
        features.insert("default".into(), Value::Array(vec!["model".into()]));
    }
    features.insert("model".into(), Value::Array(model));
    let mut manifest = Table::new();
    manifest.insert("package".into(), package(package_name).into());
    manifest.insert("lib".into(), lib.into());
    manifest.insert("dependencies".into(), dependencies.into());
    manifest.insert("features".into(), features.into());
    if forbid_unsafe {
        // Cargo passes this as `--forbid unsafe_code`; a crate-level `#![allow(unsafe_code)]`
        // is then itself an error.
        let mut rust = Table::new();
        rust.insert("unsafe_code".into(), "forbid".into());
        let mut lints = Table::new();
        lints.insert("rust".into(), rust.into());
        manifest.insert("lints".into(), lints.into());
    }
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
    suite: &TestSuite,
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
    hidden.insert("path".into(), suite.tests_file.display().to_string().into());
    hidden.insert("harness".into(), false.into());

    let mut manifest = Table::new();
    manifest.insert("package".into(), package(&names.test_package).into());
    manifest.insert("dependencies".into(), dependencies.into());
    manifest.insert("test".into(), Value::Array(vec![hidden.into()]));
    // An empty [workspace] makes the scratch crate its own workspace root, so the cargo of the
    // threadlings workspace never sees it and it never sees the learner's manifests.
    manifest.insert("workspace".into(), Table::new().into());
    manifest.insert(
        "profile".into(),
        scratch_profiles(std::slice::from_ref(names)).into(),
    );
    toml::to_string(&manifest).expect("a generated manifest always serialises")
}

/// The scratch crates' profiles: debug builds keep only line tables, but for the crates where
/// the model checker's timeline reads function names from backtraces (`harness::model` names a
/// step after shuttle's frames, such as `Mutex::lock`): shuttle, the harness, and the model
/// twin and the hidden tests, where shuttle's generic code is instantiated (03's queue is
/// generic, so its `Mutex::lock` is compiled in the test crate). Line tables alone name a
/// function without its path, so `shuttle` would vanish from those frames and 03's steps would
/// read `poll`. Every file and line a report names (a panic's location, a blocked thread's
/// frames) is still there. Measured on one full solution's 13 exercises, idle 2-core machine:
/// builds 39.4 s → 23.8 s of wall time (the real-thread twin and every third-party crate
/// carry less debug information to compile and link).
fn scratch_profiles(crates: &[Names]) -> Table {
    let full = |table: &mut Table, package: &str| {
        let mut debug = Table::new();
        debug.insert("debug".into(), "full".into());
        table.insert(package.to_owned(), debug.into());
    };
    let mut packages = Table::new();
    for package in ["shuttle", "harness"] {
        full(&mut packages, package);
    }
    for names in crates {
        full(&mut packages, &names.model_package);
        full(&mut packages, &names.test_package);
    }
    let mut dev = Table::new();
    dev.insert("debug".into(), "line-tables-only".into());
    dev.insert("package".into(), packages.into());
    let mut profiles = Table::new();
    profiles.insert("dev".into(), dev.into());
    profiles
}

#[derive(Default)]
struct Messages {
    executable: Option<PathBuf>,
    errors: Vec<String>,
}

#[derive(Deserialize)]
struct CargoMessage {
    reason: String,
    package_id: Option<String>,
    target: Option<CargoTarget>,
    #[serde(default)]
    filenames: Vec<PathBuf>,
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

#[cfg(test)]
mod parse_tests {
    use super::*;

    #[test]
    fn the_test_binary_and_the_real_crates_errors_are_taken_and_the_twins_dropped() {
        let stdout = [
            r#"{"reason":"compiler-message","target":{"name":"race_counter"},"message":{"level":"error","rendered":"error: real"}}"#,
            r#"{"reason":"compiler-message","target":{"name":"race_counter_model"},"message":{"level":"error","rendered":"error: twin"}}"#,
            r#"{"reason":"compiler-message","target":{"name":"race_counter"},"message":{"level":"error","rendered":"error: aborting due to 1 previous error"}}"#,
            r#"{"reason":"compiler-message","target":{"name":"race_counter"},"message":{"level":"warning","rendered":"warning: unused"}}"#,
            r#"{"reason":"compiler-artifact","target":{"name":"hidden"},"executable":"/build/hidden-1"}"#,
            "not json",
        ]
        .join("\n");
        let messages = parse_messages(&stdout);
        assert_eq!(messages.errors, ["error: real"]);
        assert_eq!(messages.executable, Some(PathBuf::from("/build/hidden-1")));
    }

    #[test]
    fn the_twins_errors_count_when_the_real_crate_has_none() {
        let stdout = r#"{"reason":"compiler-message","target":{"name":"race_counter_model"},"message":{"level":"error","rendered":"error: only under shuttle"}}"#;
        assert_eq!(parse_messages(stdout).errors, ["error: only under shuttle"]);
    }
}
