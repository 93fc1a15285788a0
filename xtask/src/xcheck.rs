//! `cargo xtask xcheck`: type-checks the workspace for the systems learners use that this
//! machine is not (macOS on Apple silicon and Intel, Linux on ARM, and Windows for the crates
//! that need no Unix), so that a Linux-only call cannot slip back in unnoticed.
//!
//! How, without any SDK, linker or rustup target: Debian 12's `rustc-web`, `cargo-web` and
//! `rust-web-src` packages ship a rustc with every LLVM backend and the exactly matching
//! standard library sources. With `RUSTC_BOOTSTRAP=1`, `cargo check -Zbuild-std` type-checks
//! std for the foreign target from those sources, then the workspace against it. Nothing is
//! linked and nothing runs, so the check proves that the code compiles there, not that it works.
//! Build scripts and proc macros are built for this machine. Every target shares one target
//! folder, `target/xcheck/`, so the host's build scripts are built once.
//!
//! The hidden tests are not workspace members: for aarch64 macOS each exercise's scratch crate
//! (its hidden tests against its reference solution, as the grader writes it) is checked too.
//! On Linux the test suite itself builds and runs them natively, so ARM Linux, like Intel
//! macOS, is a second architecture of a system already checked.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::render::{paint, BAD, BOLD, GOOD};
use crate::Exit;

/// The Debian packages the check needs, by name: bookworm-security carries them at the
/// version of the moment (1.96 when this was written), always as a matching set.
const PACKAGES: [&str; 3] = ["rustc-web", "cargo-web", "rust-web-src"];
const CARGO: &str = "/usr/bin/cargo";
const RUSTC: &str = "/usr/bin/rustc";
/// Where `-Zbuild-std` looks for the standard library's sources next to `/usr/bin/rustc`.
const STD_SOURCES: &str = "/usr/lib/rustlib/src/rust/library/std/Cargo.toml";

/// Exercises that fork, map shared memory or signal processes: Unix by design, so they are not
/// checked for Windows. Every other exercise must build natively there, demos included.
const UNIX_ONLY_EXERCISES: [&str; 2] = ["05", "06"];

/// The targets checked, and what is checked for each.
const TARGETS: [(&str, Scope); 4] = [
    ("aarch64-apple-darwin", Scope::Workspace),
    ("x86_64-apple-darwin", Scope::WorkspaceOnly),
    ("aarch64-unknown-linux-gnu", Scope::WorkspaceOnly),
    ("x86_64-pc-windows-msvc", Scope::ThreadExercises),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Every package with every target (libraries, binaries, tests, examples), and every
    /// exercise's hidden tests.
    Workspace,
    /// Every package, without the hidden tests: for a second architecture of a system already
    /// checked, since the hidden tests hold nothing that depends on the architecture (no
    /// system call numbers; those live in `harness::platform`). Saves minutes of a cold CI.
    WorkspaceOnly,
    /// The exercise crates that need no Unix, with their demos, and xtask, whose `main` must
    /// say that the grader needs Unix instead of failing to compile.
    ThreadExercises,
}

#[derive(clap::Args)]
pub struct Flags {
    /// Check only this target (repeatable); by default every one of the four
    #[arg(long = "target", value_name = "TRIPLE")]
    targets: Vec<String>,
    /// Never install the toolchain; fail with the command to run instead
    #[arg(long)]
    no_install: bool,
}

impl Flags {
    pub fn run(&self) -> Result<Exit> {
        let workspace = crate::workspace()?;
        let root = workspace.root().to_path_buf();
        let chosen: Vec<(&str, Scope)> = if self.targets.is_empty() {
            TARGETS.to_vec()
        } else {
            self.targets
                .iter()
                .map(|wanted| {
                    TARGETS
                        .iter()
                        .find(|(target, _)| target == wanted)
                        .copied()
                        .with_context(|| {
                            format!(
                                "`{wanted}` is not checked here; use one of {}",
                                TARGETS.map(|(target, _)| target).join(", ")
                            )
                        })
                })
                .collect::<Result<_>>()?
        };
        ensure_toolchain(self.no_install)?;
        let hidden = hidden_test_crates(&workspace)?;
        let mut failed = Vec::new();
        for (target, scope) in chosen {
            let started = Instant::now();
            anstream::println!("{}", paint(BOLD, &format!("xcheck {target}")));
            let mut commands = vec![check_command(&root, target, scope)?];
            if scope == Scope::Workspace {
                for manifest in &hidden {
                    let mut command = cargo_check(&root, target);
                    command.arg("--tests").arg("--manifest-path").arg(manifest);
                    commands.push(command);
                }
            }
            // The first crate that fails says enough: the hidden tests link the same harness.
            let mut passed = true;
            for mut command in commands {
                passed = command
                    .status()
                    .with_context(|| format!("cannot run {CARGO}"))?
                    .success();
                if !passed {
                    break;
                }
            }
            let took = started.elapsed().as_secs_f64();
            if passed {
                anstream::println!("{} {target} in {took:.0} s", paint(GOOD, "ok"));
            } else {
                anstream::println!("{} {target} in {took:.0} s", paint(BAD, "FAILED"));
                failed.push(target);
            }
        }
        if failed.is_empty() {
            Ok(Exit::Passed)
        } else {
            anstream::eprintln!(
                "{} does not compile for {}: a call that exists only on Linux (or only on \
                 Unix) is used outside the platform layer; see ARCHITECTURE.md, \"Platforms\"",
                paint(BAD, "the workspace"),
                failed.join(", ")
            );
            Ok(Exit::Failed)
        }
    }
}

/// The scratch crate of every exercise's hidden tests against its reference solution, written
/// afresh, by manifest.
fn hidden_test_crates(workspace: &grader::workspace::Workspace) -> Result<Vec<PathBuf>> {
    let catalog = crate::catalog(workspace)?;
    catalog
        .exercises
        .iter()
        .map(|exercise| {
            let solution = grader::subject::Subject::solution(workspace, exercise)?;
            let folder = grader::scratch::write_scratch_crate(
                workspace,
                exercise,
                &exercise.hidden_suite(),
                &solution,
            )?;
            Ok(folder.join("Cargo.toml"))
        })
        .collect()
}

/// `cargo check` for `target`, with Debian's toolchain chosen explicitly over rustup's.
fn cargo_check(root: &Path, target: &str) -> Command {
    let mut command = Command::new(CARGO);
    command
        .current_dir(root)
        .args([
            "check",
            "--quiet",
            "-Zbuild-std=std,panic_abort",
            "--target",
            target,
        ])
        .env("RUSTC", RUSTC)
        .env("RUSTDOC", "/usr/bin/rustdoc")
        // Lets the stable Debian cargo accept -Z build-std; nothing else is unstable.
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_TARGET_DIR", root.join("target").join("xcheck"))
        // `cargo xtask` runs under rustup's cargo, whose choices must not reach Debian's.
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET");
    command
}

/// The workspace's `cargo check` for one target.
fn check_command(root: &Path, target: &str, scope: Scope) -> Result<Command> {
    let mut command = cargo_check(root, target);
    match scope {
        Scope::Workspace | Scope::WorkspaceOnly => {
            command.args(["--workspace", "--all-targets"]);
        }
        Scope::ThreadExercises => {
            for package in thread_exercises(root)? {
                command.args(["--package", &package]);
            }
            // Libraries and demos of the exercises; xtask's binary, not its tests, which drive
            // the Unix grader.
            command.args(["--package", "xtask", "--lib", "--bins", "--examples"]);
        }
    }
    Ok(command)
}

/// The package names of the exercise crates that need no Unix.
fn thread_exercises(root: &Path) -> Result<Vec<String>> {
    let folder = root.join("exercises");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&folder)
        .with_context(|| format!("cannot read {}", folder.display()))?
        .flatten()
    {
        let folder_name = entry.file_name().to_string_lossy().into_owned();
        if UNIX_ONLY_EXERCISES
            .iter()
            .any(|number| folder_name.starts_with(&format!("{number}_")))
        {
            continue;
        }
        let manifest = entry.path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let name = text
            .lines()
            .find_map(|line| line.strip_prefix("name = \""))
            .and_then(|rest| rest.strip_suffix('"'))
            .with_context(|| format!("{} names no package", manifest.display()))?;
        names.push(name.to_owned());
    }
    names.sort();
    Ok(names)
}

/// Debian's toolchain with the standard library's sources, installed with apt-get when this
/// runs as root on Debian 12 and it is missing.
fn ensure_toolchain(no_install: bool) -> Result<()> {
    if toolchain_present() {
        return Ok(());
    }
    let install = format!(
        "apt-get update && apt-get install -y --no-install-recommends {}",
        PACKAGES.join(" ")
    );
    let how = format!(
        "xcheck needs Debian 12's rustc, cargo and Rust sources ({}); as root on Debian 12 \
         (bookworm, with bookworm-security enabled) run `{install}`, then run xcheck again",
        PACKAGES.join(", ")
    );
    if no_install || !is_root() || !Path::new("/usr/bin/apt-get").exists() {
        bail!("{how}");
    }
    anstream::println!(
        "{}",
        paint(
            BOLD,
            &format!(
                "Installing {} with apt-get (once, ~145 MB)",
                PACKAGES.join(" ")
            )
        )
    );
    let update = Command::new("apt-get").args(["update", "-qq"]).status();
    let installed = Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends"])
        .args(PACKAGES)
        .status();
    if !matches!(update, Ok(s) if s.success())
        || !matches!(installed, Ok(s) if s.success())
        || !toolchain_present()
    {
        bail!("apt-get could not install the toolchain; {how}");
    }
    Ok(())
}

fn toolchain_present() -> bool {
    [CARGO, RUSTC, STD_SOURCES]
        .iter()
        .all(|path| PathBuf::from(path).exists())
}

/// Whether this process runs as root (`id -u`: xtask keeps no `unsafe` of its own).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}
