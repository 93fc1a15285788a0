//! `cargo xtask`: the threadlings command line.
//!
//! A thin layer: it parses arguments once, turns them into calls to the `grader` library, and
//! turns the grader's data into terminal output. Each command is a module with a `Flags` type
//! and a `run` method. Exit codes mean the same everywhere: 0 passed, 1 failed, 2 the grader
//! itself could not run (bad arguments, a broken checkout, a missing tool).
//!
//! The grader needs Unix (fork, process groups, signals). On a native Windows toolchain only
//! the `main` at the end of this file is built: it says so and points to WSL2, with exit 2.

/// Every command's module: Unix only, like the grader they drive.
macro_rules! unix_modules {
    ($($module:ident),+ $(,)?) => {
        $(
            #[cfg(unix)]
            mod $module;
        )+
    };
}
unix_modules![
    activity, book, check, files, grade, gradebook, hint, list, new, publish, render, replay,
    reset, verify, watch, xcheck,
];

#[cfg(unix)]
use std::path::PathBuf;
use std::process::ExitCode;

#[cfg(unix)]
use clap::{Parser, Subcommand};

#[cfg(unix)]
#[derive(Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    version,
    about = "threadlings: learn concurrency and parallelism in Rust, one graded exercise at a time"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[cfg(unix)]
#[derive(Subcommand)]
enum Command {
    /// Grade one exercise against its hidden tests, e.g. `cargo xtask check 01`
    Check(check::Flags),
    /// Show the steps of a failure the model checker found, e.g. `cargo xtask replay 01 counter_never_loses_an_increment`
    Replay(replay::Flags),
    /// Show every exercise with its state, what to do next, and your progress
    List(list::Flags),
    /// Show the next hint for an exercise (`hint 01 2` shows hint 2 again, `--all` every one)
    Hint(hint::Flags),
    /// Re-check an exercise every time you save it, and move on to the next once it passes
    Watch(watch::Flags),
    /// Put an exercise back to its original stub (your code is backed up first; `--list` shows backups)
    Reset(reset::Flags),
    /// Readers: build the book, run its code and check its links (`--figures` redraws the plots)
    Book(book::Flags),
    /// Maintainers: prove solutions pass, stubs fail and every mutant is caught
    Verify(verify::Flags),
    /// Instructors: grade every exercise of a checkout, a submission or a roster, with points
    Grade(grade::Flags),
    /// Instructors: join the outputs of `grade --roster --shard K/N` into one gradebook
    Gradebook(gradebook::Flags),
    /// Instructors: write the student edition a class forks, or a Gradescope autograder zip
    Publish(publish::Flags),
    /// Maintainers: scaffold exercise NN from xtask/templates/, e.g. `cargo xtask new 13 work_stealing`
    New(new::Flags),
    /// Maintainers: type-check the workspace for macOS, ARM Linux and (thread-only crates) Windows
    Xcheck(xcheck::Flags),
}

/// How a command ended, mapped to the process exit code.
#[cfg(unix)]
pub enum Exit {
    Passed,
    Failed,
}

#[cfg(unix)]
fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    // Only commands that run hidden tests adopt what those tests leave behind; `book --open`
    // must not adopt (and then kill) the browser it starts.
    if !matches!(
        cli.command,
        Command::List(_)
            | Command::Hint(_)
            | Command::Reset(_)
            | Command::Book(_)
            | Command::Xcheck(_)
    ) {
        grader::reaper::become_subreaper();
    }
    if matches!(cli.command, Command::Check(_) | Command::Watch(_)) {
        activity::first_run_notice();
    }
    let result = match &cli.command {
        Command::Check(flags) => flags.run(),
        Command::Replay(flags) => flags.run(),
        Command::List(flags) => flags.run(),
        Command::Hint(flags) => flags.run(),
        Command::Watch(flags) => flags.run(),
        Command::Reset(flags) => flags.run(),
        Command::Book(flags) => flags.run(),
        Command::Verify(flags) => flags.run(),
        Command::Grade(flags) => flags.run(),
        Command::Gradebook(flags) => flags.run(),
        Command::Publish(flags) => flags.run(),
        Command::New(flags) => flags.run(),
        Command::Xcheck(flags) => flags.run(),
    };
    // Whatever a test left behind and escaped its process group ends with the grader.
    grader::reaper::reap_strays();
    match result {
        Ok(Exit::Passed) => ExitCode::SUCCESS,
        Ok(Exit::Failed) => ExitCode::from(1),
        Err(error) => {
            anstream::eprintln!(
                "{}error:{} {error:#}",
                render::ERROR.render(),
                render::ERROR.render_reset()
            );
            ExitCode::from(2)
        }
    }
}

/// What a native Windows toolchain gets instead of the grader.
#[cfg(not(unix))]
fn main() -> ExitCode {
    eprintln!(
        "error: the threadlings grader needs Unix (it forks, uses process groups and signals), \
         so `cargo xtask` does not run on native Windows. Work inside WSL2: README.md, \
         \"Supported systems\", gives the steps. The thread-only exercises still build here for \
         your editor and `cargo run --example`"
    );
    ExitCode::from(2)
}

/// The threadlings checkout this command works on.
///
/// `.cargo/config.toml` sets `CARGO_WORKSPACE_DIR` for `cargo xtask`; when the binary runs on
/// its own (as in the CLI tests), the folder it was built from stands in.
#[cfg(unix)]
pub fn workspace() -> anyhow::Result<grader::workspace::Workspace> {
    let root = std::env::var_os("CARGO_WORKSPACE_DIR")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."));
    Ok(grader::workspace::Workspace::open(root)?)
}

/// Loads the catalog of `workspace`.
#[cfg(unix)]
pub fn catalog(
    workspace: &grader::workspace::Workspace,
) -> anyhow::Result<grader::catalog::Catalog> {
    Ok(grader::catalog::Catalog::load(workspace)?)
}
