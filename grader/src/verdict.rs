//! One verdict per test, decided from what the test process did.
//!
//! The rules, in order: a timeout is a timeout whatever else happened; a report with the right
//! nonce says whether the test function returned or panicked; without one the process crashed,
//! or exited early, and cannot have passed.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::diagnosis::{describe_model_deadlock, model_deadlock, Diagnosis};
use crate::runner::{Ending, RawRun};
use crate::scratch::map_scratch_paths;

/// The result of one hidden test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    /// An assertion of the hidden test failed; the message says what was wrong.
    Fail {
        message: String,
        /// A model checker's failing schedule, which replays the failure exactly.
        replay: Option<String>,
    },
    /// The code under test panicked (including `todo!()`), at a place in the learner's file.
    Panic {
        message: String,
        location: String,
        thread: String,
    },
    /// The test did not finish within its limit.
    Timeout {
        #[serde(rename = "limit_ms", serialize_with = "as_millis")]
        limit: Duration,
        diagnosis: Diagnosis,
    },
    /// The process died by a signal, or exited before the test finished.
    Crash {
        cause: String,
    },
    /// The test passed but left processes or resources behind.
    Leak {
        message: String,
    },
    /// A timing test that could not measure reliably on this machine right now.
    Inconclusive {
        reason: String,
    },
}

fn as_millis<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(duration.as_millis() as u64)
}

impl Verdict {
    /// A short stable label: `pass`, `fail`, `panic`, `timeout:deadlock`, `timeout:spinning`,
    /// `timeout:sleeping`, `crash`, `leak`, `inconclusive`. Mutants declare these.
    pub fn label(&self) -> String {
        match self {
            Verdict::Pass => "pass".into(),
            Verdict::Fail { .. } => "fail".into(),
            Verdict::Panic { .. } => "panic".into(),
            Verdict::Timeout { diagnosis, .. } => format!("timeout:{}", diagnosis.kind.label()),
            Verdict::Crash { .. } => "crash".into(),
            Verdict::Leak { .. } => "leak".into(),
            Verdict::Inconclusive { .. } => "inconclusive".into(),
        }
    }

    /// Does this verdict match a declared label or label prefix (`timeout` matches
    /// `timeout:deadlock`)?
    pub fn matches(&self, declared: &str) -> bool {
        let label = self.label();
        label == declared || label.starts_with(&format!("{declared}:"))
    }

    pub fn is_pass(&self) -> bool {
        *self == Verdict::Pass
    }
}

/// Where the files of the run are, to tell an assertion in the hidden test from a panic in
/// the code under test.
pub struct Context<'a> {
    pub tests_file: &'a Path,
    /// How the learner sees their crate's folder, for example `exercises/01_race_counter`.
    pub display_dir: &'a str,
    pub timeout: Duration,
    pub memory_mib: u64,
}

/// Decides the verdict of one run.
pub fn decide(run: &RawRun, context: &Context<'_>) -> Verdict {
    if let Ending::TimedOut(diagnosis) = &run.ending {
        return Verdict::Timeout {
            limit: context.timeout,
            diagnosis: diagnosis.clone(),
        };
    }
    let stderr = run.stderr.text();
    let Some(report) = &run.report else {
        return Verdict::Crash {
            cause: crash_cause(run, &stderr, context),
        };
    };
    match report.outcome {
        harness::ReportOutcome::Returned => {
            if let Some(leak) = &report.leak {
                Verdict::Leak {
                    message: leak.clone(),
                }
            } else if !run.leftovers.is_empty() {
                Verdict::Leak {
                    message: format!(
                        "{} still running after the test ended: orphans nobody stopped or waited for",
                        run.leftovers.join(", ")
                    ),
                }
            } else if let (Some(reason), Ending::Exited(0)) = (&report.inconclusive, &run.ending) {
                Verdict::Inconclusive {
                    reason: reason.clone(),
                }
            } else if run.ending == Ending::Exited(0) {
                Verdict::Pass
            } else {
                Verdict::Crash {
                    cause: format!(
                        "the test finished, but the process then {}; a thread left running ended it",
                        describe_ending(&run.ending)
                    ),
                }
            }
        }
        harness::ReportOutcome::Panicked => classify_panics(&report.panics, &stderr, context),
    }
}

fn classify_panics(
    panics: &[harness::PanicRecord],
    stderr: &str,
    context: &Context<'_>,
) -> Verdict {
    let tests_file = context.tests_file.to_string_lossy();
    let in_learner_code = |p: &&harness::PanicRecord| p.file.contains("subject/src/");
    let in_test = |p: &&harness::PanicRecord| p.file == tests_file || p.file.ends_with("tests.rs");
    let replay = failing_schedule(stderr);
    // The first panic in either the hidden test or the learner's code is the root cause; later
    // ones follow from it. For example `todo!()` on a worker, then "a scoped thread panicked";
    // or a failed rendezvous assertion, then the learner's `join().unwrap()` re-raising it.
    if let Some(panic) = panics.iter().find(|p| in_learner_code(p) || in_test(p)) {
        if in_test(&panic) {
            return Verdict::Fail {
                message: panic.message.clone(),
                replay,
            };
        }
        let file = map_scratch_paths(&panic.file, context.display_dir);
        return Verdict::Panic {
            message: panic.message.clone(),
            location: format!("{file}:{}:{}", panic.line, panic.column),
            thread: panic.thread.clone(),
        };
    }
    let message = panics.first().map_or_else(
        || "the test panicked without a message".to_owned(),
        |panic| {
            if let Some(threads) = model_deadlock(&panic.message, context.display_dir) {
                describe_model_deadlock(&threads)
            } else if panic.message.contains("deadlock") {
                format!(
                    "the model checker found a schedule in which every thread waits for another: {}",
                    panic.message
                )
            } else {
                panic.message.clone()
            }
        },
    );
    Verdict::Fail { message, replay }
}

/// Shuttle prints `failing schedule: "..."` on stderr when it finds a bug.
fn failing_schedule(stderr: &str) -> Option<String> {
    let start = stderr.find("failing schedule:")?;
    let rest = &stderr[start..];
    let open = rest.find('"')? + 1;
    let close = rest[open..].find('"')? + open;
    Some(rest[open..close].trim().to_owned())
}

fn crash_cause(run: &RawRun, stderr: &str, context: &Context<'_>) -> String {
    let mut cause = if stderr.contains("has overflowed its stack") {
        "the stack overflowed: unbounded recursion, or a huge value on the stack".to_owned()
    } else if stderr.contains("memory allocation of") {
        format!(
            "it ran out of memory (each test may use {} MiB)",
            context.memory_mib
        )
    } else {
        match run.ending {
            Ending::Exited(0) => "the process exited with code 0 before the test finished: \
                                  something called std::process::exit, so the test never ran to the end"
                .to_owned(),
            _ => format!("the process {} before the test finished", describe_ending(&run.ending)),
        }
    };
    if run.forged_reports > 0 {
        cause.push_str(&format!(
            "; it also wrote {} result line(s) without the grader's secret nonce, which do not count",
            run.forged_reports
        ));
    }
    cause
}

fn describe_ending(ending: &Ending) -> String {
    match ending {
        Ending::Exited(code) => format!("exited with code {code}"),
        Ending::Signaled(signal) => {
            let name = nix::sys::signal::Signal::try_from(*signal)
                .map(|s| s.as_str().to_owned())
                .unwrap_or_else(|_| format!("signal {signal}"));
            let meaning = match *signal {
                libc::SIGABRT => " (aborted)",
                libc::SIGSEGV => " (invalid memory access)",
                libc::SIGKILL => " (killed)",
                libc::SIGBUS => " (bus error)",
                libc::SIGFPE => " (arithmetic fault)",
                _ => "",
            };
            format!("was killed by {name}{meaning}")
        }
        Ending::TimedOut(_) => "ran out of time".to_owned(),
    }
}
