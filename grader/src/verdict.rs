//! One verdict per test, decided from what the test process did.
//!
//! The rules, in order: a timeout is a timeout whatever else happened; a report with the right
//! nonce says whether the test function returned or panicked; without one the process crashed,
//! or exited early, and cannot have passed.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::diagnosis::{Diagnosis, DiagnosisKind};
use crate::explain::{
    self, describe_model_deadlock, describe_model_self_lock, MODEL_FOUND_BLOCKED,
};
use crate::learner_paths::{self, map_scratch_paths};
use crate::model_report::{failing_schedule, model_deadlock, model_self_lock};
use crate::runner::{Ending, RawRun};
use crate::timeline::Timeline;

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
        /// What that schedule did, step by step, in the learner's code.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        interleaving: Option<Timeline>,
    },
    /// The code under test panicked (including `todo!()`), at a place in the learner's file.
    Panic {
        message: String,
        location: String,
        thread: String,
        /// Under the model checker, the steps of the schedule that led to the panic.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        interleaving: Option<Timeline>,
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
    /// The failing interleaving this verdict carries: a model-checked test that failed, or
    /// whose schedule made the learner's code panic.
    pub fn interleaving(&self) -> Option<&Timeline> {
        match self {
            Verdict::Fail { interleaving, .. } | Verdict::Panic { interleaving, .. } => {
                interleaving.as_ref()
            }
            _ => None,
        }
    }

    /// The verdict's stable label, which mutants declare and reports carry.
    pub fn label(&self) -> VerdictLabel {
        match self {
            Verdict::Pass => VerdictLabel::Pass,
            Verdict::Fail { .. } => VerdictLabel::Fail,
            Verdict::Panic { .. } => VerdictLabel::Panic,
            Verdict::Timeout { diagnosis, .. } => VerdictLabel::Timeout(diagnosis.kind),
            Verdict::Crash { .. } => VerdictLabel::Crash,
            Verdict::Leak { .. } => VerdictLabel::Leak,
            Verdict::Inconclusive { .. } => VerdictLabel::Inconclusive,
        }
    }

    /// Whether the test counts as passed; see [`VerdictLabel::is_success`].
    pub fn is_success(&self) -> bool {
        self.label().is_success()
    }

    /// The verdict as a learner reads it in a table: `timeout (deadlock)` rather than a label.
    /// The words are [`explain`]'s.
    pub fn name(&self) -> String {
        match self {
            Verdict::Timeout { diagnosis, .. } => explain::timeout_name(diagnosis.kind),
            Verdict::Inconclusive { reason } => explain::inconclusive_name(reason),
            other => other.label().to_string(),
        }
    }

    /// What went wrong, in [`explain`]'s sentences; empty for a pass.
    pub fn details(&self) -> String {
        match self {
            Verdict::Pass => String::new(),
            Verdict::Fail {
                message,
                replay,
                interleaving,
            } => explain::fail_details(message, replay.as_deref(), interleaving.as_ref()),
            Verdict::Panic {
                message,
                location,
                thread,
                interleaving,
            } => explain::panic_details(message, location, thread, interleaving.as_ref()),
            Verdict::Timeout { limit, diagnosis } => explain::timeout_details(*limit, diagnosis),
            Verdict::Crash { cause } => cause.clone(),
            Verdict::Leak { message } => message.clone(),
            Verdict::Inconclusive { reason } => reason.clone(),
        }
    }

    /// Whether this verdict found threads that wait for ever: a timeout where every thread was
    /// blocked and none used CPU, or a schedule of the model checker that ends with every
    /// thread blocked (a deadlock, a self-lock, a lost wake-up). `check` stops early on one.
    pub fn waits_for_ever(&self) -> bool {
        match self {
            Verdict::Timeout { diagnosis, .. } => diagnosis.kind == DiagnosisKind::Deadlock,
            Verdict::Fail {
                message,
                replay: Some(_),
                ..
            } => explain::reports_threads_blocked_for_ever(message),
            _ => false,
        }
    }
}

/// A verdict without its details: `pass`, `fail`, `panic`, `timeout:deadlock`,
/// `timeout:spinning`, `timeout:sleeping`, `timeout:unknown`, `crash`, `leak`, `inconclusive`.
///
/// Its `Display` and `FromStr` are the only spelling of a verdict anywhere: in mutant files,
/// reports and every output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerdictLabel {
    Pass,
    Fail,
    Panic,
    Timeout(DiagnosisKind),
    Crash,
    Leak,
    Inconclusive,
}

impl VerdictLabel {
    /// Whether a test with this verdict counts as passed: it does not fail a check, and an
    /// exercise whose tests all count as passed is done. A pass does; so does `inconclusive`,
    /// which only a timing test can give when this machine could not measure a speedup right
    /// now: someone else's load is not the learner's failure.
    pub fn is_success(self) -> bool {
        matches!(self, VerdictLabel::Pass | VerdictLabel::Inconclusive)
    }

    /// The one rule for points: a test earns its `max_points` only with a pass.
    ///
    /// `inconclusive` counts as passed but earns nothing, because points are for what was
    /// shown, and a speedup that could not be measured was not shown. Paying for it would
    /// also pay an attack: code under test can keep a thread spinning while the grader's
    /// reference kernel is timed, so that the machine looks busy and every decision is
    /// inconclusive. The learner is told to check again on an idle machine.
    pub fn points(self, max_points: u32) -> u32 {
        if self == VerdictLabel::Pass {
            max_points
        } else {
            0
        }
    }

    const SIMPLE: [(VerdictLabel, &'static str); 6] = [
        (VerdictLabel::Pass, "pass"),
        (VerdictLabel::Fail, "fail"),
        (VerdictLabel::Panic, "panic"),
        (VerdictLabel::Crash, "crash"),
        (VerdictLabel::Leak, "leak"),
        (VerdictLabel::Inconclusive, "inconclusive"),
    ];
}

impl fmt::Display for VerdictLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerdictLabel::Timeout(kind) => write!(f, "timeout:{}", kind.label()),
            simple => {
                let (_, name) = VerdictLabel::SIMPLE
                    .iter()
                    .find(|(label, _)| label == simple)
                    .expect("every label but timeout is in SIMPLE");
                f.write_str(name)
            }
        }
    }
}

impl FromStr for VerdictLabel {
    type Err = UnknownLabel;

    fn from_str(text: &str) -> Result<VerdictLabel, UnknownLabel> {
        if let Some(kind) = text.strip_prefix("timeout:") {
            return TIMEOUT_KINDS
                .into_iter()
                .find(|candidate| candidate.label() == kind)
                .map(VerdictLabel::Timeout)
                .ok_or_else(|| UnknownLabel(text.to_owned()));
        }
        VerdictLabel::SIMPLE
            .iter()
            .find(|(_, name)| *name == text)
            .map(|(label, _)| *label)
            .ok_or_else(|| UnknownLabel(text.to_owned()))
    }
}

const TIMEOUT_KINDS: [DiagnosisKind; 4] = [
    DiagnosisKind::Deadlock,
    DiagnosisKind::Spinning,
    DiagnosisKind::Sleeping,
    DiagnosisKind::Unknown,
];

/// A verdict label that is not one of [`VerdictLabel`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a verdict; use pass, fail, panic, timeout, timeout:deadlock, \
     timeout:spinning, timeout:sleeping, timeout:unknown, crash, leak or inconclusive"
)]
pub struct UnknownLabel(pub String);

impl Serialize for VerdictLabel {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for VerdictLabel {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The verdict a stub or a mutant declares it must get, in `exercise.toml` and mutant files:
/// a verdict label, `timeout` for a timeout whatever its diagnosis, or the stage that stops
/// it before any test runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// Refused before it is compiled (`rejected`).
    Rejected,
    /// Does not compile (`build`).
    BuildFailed,
    /// Any timeout (`timeout`).
    AnyTimeout,
    /// Exactly this verdict.
    Verdict(VerdictLabel),
}

impl Expected {
    /// Does a test's verdict satisfy this expectation?
    pub fn is_met_by(self, label: VerdictLabel) -> bool {
        match self {
            Expected::Verdict(expected) => expected == label,
            Expected::AnyTimeout => matches!(label, VerdictLabel::Timeout(_)),
            Expected::Rejected | Expected::BuildFailed => false,
        }
    }
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Rejected => f.write_str("rejected"),
            Expected::BuildFailed => f.write_str("build"),
            Expected::AnyTimeout => f.write_str("timeout"),
            Expected::Verdict(label) => label.fmt(f),
        }
    }
}

impl FromStr for Expected {
    type Err = UnknownLabel;

    fn from_str(text: &str) -> Result<Expected, UnknownLabel> {
        match text {
            "rejected" => Ok(Expected::Rejected),
            "build" => Ok(Expected::BuildFailed),
            "timeout" => Ok(Expected::AnyTimeout),
            label => label.parse().map(Expected::Verdict),
        }
    }
}

impl<'de> Deserialize<'de> for Expected {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
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
    /// The files of the learner's `src/` that were tested, by path under `src/`: a failing
    /// interleaving names the atomics it shows the values of from them.
    pub sources: &'a BTreeMap<PathBuf, String>,
}

/// Decides the verdict of one run.
pub fn decide(run: &RawRun, context: &Context<'_>) -> Verdict {
    let stderr = run.stderr.text();
    if let Ending::TimedOut(diagnosis) = &run.ending {
        let mut diagnosis = diagnosis.clone();
        crate::diagnosis::name_learner_sites(&mut diagnosis, &stderr, context.display_dir);
        return Verdict::Timeout {
            limit: context.timeout,
            diagnosis,
        };
    }
    if let Ending::Starved { cpu_used, wall } = run.ending {
        return Verdict::Inconclusive {
            reason: explain::starved(context.timeout, cpu_used, wall),
        };
    }
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
        harness::ReportOutcome::Panicked => classify_panics(report, &stderr, context),
    }
}

fn classify_panics(report: &harness::Report, stderr: &str, context: &Context<'_>) -> Verdict {
    let panics = &report.panics;
    let tests_file = context.tests_file.to_string_lossy();
    let in_learner_code = |p: &&harness::PanicRecord| learner_paths::is_learner_file(&p.file);
    let in_test = |p: &&harness::PanicRecord| p.file == tests_file || p.file.ends_with("tests.rs");
    let replay = failing_schedule(stderr);
    // A deadlock report names the threads blocked in the learner's code; the timeline ends
    // with what each thread waits in.
    let deadlock: Option<Vec<String>> = panics
        .first()
        .and_then(|panic| model_deadlock(&panic.message, context.display_dir))
        .map(|threads| {
            threads
                .into_iter()
                .filter(|thread| thread.learner_site.is_some())
                .map(|thread| thread.name)
                .collect()
        });
    let interleaving = report
        .interleaving
        .as_deref()
        .and_then(|steps| Timeline::from_interleaving(steps, deadlock.as_deref()))
        .map(|mut timeline| {
            timeline.name_atomics(context.sources);
            timeline
        });
    // A hidden test may panic on purpose inside code it hands to the learner (to check that a
    // worker's panic reaches the caller); that panic is not the test failing.
    let on_purpose = |p: &&harness::PanicRecord| p.message.contains(harness::EXPECTED_PANIC);
    // The first other panic in either the hidden test or the learner's code is the root cause;
    // later ones follow from it. For example `todo!()` on a worker, then "a scoped thread
    // panicked"; or a failed rendezvous assertion, then the learner's `join().unwrap()`
    // re-raising it.
    if let Some(panic) = panics
        .iter()
        .filter(|p| !on_purpose(p))
        .find(|p| in_learner_code(p) || in_test(p))
    {
        if in_test(&panic) {
            return Verdict::Fail {
                message: panic.message.clone(),
                replay,
                interleaving,
            };
        }
        let file = map_scratch_paths(&panic.file, context.display_dir);
        return Verdict::Panic {
            message: panic.message.clone(),
            location: format!("{file}:{}:{}", panic.line, panic.column),
            thread: panic.thread.clone(),
            interleaving,
        };
    }
    let message = panics.first().map_or_else(
        || "the test panicked without a message".to_owned(),
        |panic| {
            if let Some(threads) = model_deadlock(&panic.message, context.display_dir) {
                describe_model_deadlock(&threads)
            } else if let Some(thread) = model_self_lock(&panic.message, context.display_dir) {
                describe_model_self_lock(&thread)
            } else if panic.message.contains(NO_CONCURRENCY) {
                "under the model checker your code started no thread and took no lock: it ran \
                 everything on the calling thread, one step after another, so nothing ran at the \
                 same time. Start the threads with `crate::sync::thread`"
                    .to_owned()
            } else if panic.message.contains("deadlock") {
                format!(
                    "{MODEL_FOUND_BLOCKED} in which every thread is blocked: {}",
                    panic.message
                )
            } else {
                panic.message.clone()
            }
        },
    );
    Verdict::Fail {
        message,
        replay,
        interleaving,
    }
}

/// What shuttle's PCT scheduler says when a scenario made no synchronisation operation at all.
const NO_CONCURRENCY: &str = "did not exercise any concurrency";

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
        Ending::TimedOut(_) | Ending::Starved { .. } => "ran out of time".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::Captured;
    use harness::{PanicRecord, Report, ReportOutcome};

    const TESTS_FILE: &str = "/work/grader/hidden/01_race_counter/tests.rs";

    fn context() -> Context<'static> {
        static NO_SOURCES: BTreeMap<PathBuf, String> = BTreeMap::new();
        Context {
            tests_file: Path::new(TESTS_FILE),
            display_dir: "exercises/01_race_counter",
            timeout: Duration::from_secs(5),
            memory_mib: 4096,
            sources: &NO_SOURCES,
        }
    }

    fn run(ending: Ending, report: Option<Report>) -> RawRun {
        RawRun {
            ending,
            report,
            forged_reports: 0,
            stdout: Captured::default(),
            stderr: Captured::default(),
            elapsed: Duration::from_millis(3),
            leftovers: Vec::new(),
            new_shm_objects: Vec::new(),
            scratch_leftovers: Vec::new(),
            tree_out_of_memory: false,
            isolation: crate::sandbox::Isolation::Full,
        }
    }

    fn report(outcome: ReportOutcome, panics: Vec<PanicRecord>) -> Report {
        Report {
            nonce: "n".into(),
            outcome,
            panics,
            leak: None,
            notes: Vec::new(),
            inconclusive: None,
            speedup: None,
            interleaving: None,
        }
    }

    fn panic_at(file: &str, message: &str) -> PanicRecord {
        PanicRecord {
            thread: "main".into(),
            message: message.into(),
            file: file.into(),
            line: 35,
            column: 5,
        }
    }

    #[test]
    fn a_returned_test_that_exits_zero_passes_and_any_other_exit_does_not() {
        let returned = || Some(report(ReportOutcome::Returned, Vec::new()));
        assert_eq!(
            decide(&run(Ending::Exited(0), returned()), &context()),
            Verdict::Pass
        );
        let late_exit = decide(&run(Ending::Exited(3), returned()), &context());
        assert_eq!(late_exit.label(), VerdictLabel::Crash, "{late_exit:?}");
    }

    #[test]
    fn no_report_is_a_crash_even_with_exit_code_zero() {
        let mut forged = run(Ending::Exited(0), None);
        forged.forged_reports = 2;
        let Verdict::Crash { cause } = decide(&forged, &context()) else {
            panic!("an early exit(0) must be a crash");
        };
        assert!(cause.contains("std::process::exit"), "{cause}");
        assert!(
            cause.contains("2 result line(s) without the grader's secret nonce"),
            "{cause}"
        );
    }

    #[test]
    fn the_first_panic_decides_fail_in_the_test_and_panic_in_the_learners_code() {
        let in_test = report(
            ReportOutcome::Panicked,
            vec![panic_at(TESTS_FILE, "lost 1 of 4 updates")],
        );
        let verdict = decide(&run(Ending::Exited(1), Some(in_test)), &context());
        assert_eq!(verdict.label(), VerdictLabel::Fail, "{verdict:?}");

        // Cargo names the scratch crate's own files relative to its root.
        let learner = "subject/src/lib.rs";
        let in_learner_code = report(
            ReportOutcome::Panicked,
            vec![
                panic_at(learner, "not yet implemented"),
                panic_at(TESTS_FILE, "a scoped thread panicked"),
            ],
        );
        let Verdict::Panic { location, .. } =
            decide(&run(Ending::Exited(1), Some(in_learner_code)), &context())
        else {
            panic!("a todo!() in the learner's file is their panic");
        };
        assert_eq!(location, "exercises/01_race_counter/src/lib.rs:35:5");
    }

    #[test]
    fn a_panic_the_test_caused_on_purpose_is_not_the_reason_it_failed() {
        let swallowed = report(
            ReportOutcome::Panicked,
            vec![
                panic_at(
                    TESTS_FILE,
                    "worker 1 failed on purpose (this panic is expected by the test)",
                ),
                panic_at(
                    TESTS_FILE,
                    "run_concurrently returned although worker 1 panicked",
                ),
            ],
        );
        let Verdict::Fail { message, .. } =
            decide(&run(Ending::Exited(1), Some(swallowed)), &context())
        else {
            panic!("the test's own assertion fails it");
        };
        assert_eq!(
            message,
            "run_concurrently returned although worker 1 panicked"
        );
    }

    #[test]
    fn the_model_checkers_words_are_translated() {
        let serial = report(
            ReportOutcome::Panicked,
            vec![panic_at(
                "/registry/shuttle-schedulers/src/pct.rs",
                "test closure did not exercise any concurrency",
            )],
        );
        let Verdict::Fail { message, .. } =
            decide(&run(Ending::Exited(1), Some(serial)), &context())
        else {
            panic!("a serial scenario fails");
        };
        assert!(message.contains("started no thread"), "{message}");
        assert!(!message.contains("closure"), "{message}");
    }

    #[test]
    fn a_timeout_wins_over_everything_else() {
        let diagnosis = Diagnosis {
            kind: DiagnosisKind::Deadlock,
            threads: Vec::new(),
            for_good: false,
        };
        let returned = Some(report(ReportOutcome::Returned, Vec::new()));
        let verdict = decide(&run(Ending::TimedOut(diagnosis), returned), &context());
        assert_eq!(
            verdict.label(),
            VerdictLabel::Timeout(DiagnosisKind::Deadlock)
        );
    }

    #[test]
    fn leftover_processes_turn_a_pass_into_a_leak() {
        let mut leaky = run(
            Ending::Exited(0),
            Some(report(ReportOutcome::Returned, Vec::new())),
        );
        leaky.leftovers = vec!["process 12 (worker)".into()];
        assert_eq!(decide(&leaky, &context()).label(), VerdictLabel::Leak);
    }

    #[test]
    fn labels_read_back_as_written_and_only_a_pass_earns_points() {
        for text in [
            "pass",
            "fail",
            "panic",
            "timeout:deadlock",
            "timeout:spinning",
            "timeout:sleeping",
            "timeout:unknown",
            "crash",
            "leak",
            "inconclusive",
        ] {
            let label: VerdictLabel = text.parse().expect("a known label");
            assert_eq!(label.to_string(), text);
            let success = matches!(text, "pass" | "inconclusive");
            assert_eq!(label.is_success(), success, "{text}");
            let points = if text == "pass" { 3 } else { 0 };
            assert_eq!(label.points(3), points, "{text}");
        }
        assert!("timeout".parse::<VerdictLabel>().is_err());
        assert!("passed".parse::<VerdictLabel>().is_err());
    }

    #[test]
    fn an_expectation_of_timeout_accepts_any_diagnosis_and_nothing_else() {
        let any: Expected = "timeout".parse().expect("a known expectation");
        assert!(any.is_met_by(VerdictLabel::Timeout(DiagnosisKind::Spinning)));
        assert!(!any.is_met_by(VerdictLabel::Fail));
        let exact: Expected = "timeout:deadlock".parse().expect("a known expectation");
        assert!(!exact.is_met_by(VerdictLabel::Timeout(DiagnosisKind::Spinning)));
        assert_eq!("rejected".parse::<Expected>(), Ok(Expected::Rejected));
        assert_eq!("build".parse::<Expected>(), Ok(Expected::BuildFailed));
    }

    #[test]
    fn a_test_the_machine_starved_is_inconclusive_and_says_why() {
        let verdict = decide(
            &run(
                Ending::Starved {
                    cpu_used: Duration::from_millis(1_300),
                    wall: Duration::from_secs(100),
                },
                None,
            ),
            &context(),
        );
        assert_eq!(verdict.label(), VerdictLabel::Inconclusive);
        assert_eq!(verdict.name(), "inconclusive (machine busy)");
        assert!(
            verdict.details().contains("only 1.3 s of CPU time"),
            "{verdict:?}"
        );
    }

    #[test]
    fn only_threads_blocked_for_ever_stop_a_check_early() {
        let lost_wake_up = describe_model_deadlock(&[crate::model_report::BlockedThread {
            name: "<unknown>".into(),
            waiting_for: Some("a condition variable"),
            learner_site: Some(
                "exercises/03_bounded_queue/src/lib.rs:100:18 (in BoundedQueue<T>::pop)".into(),
            ),
        }]);
        let model = |message: String| Verdict::Fail {
            message,
            replay: Some("9102".into()),
            interleaving: None,
        };
        assert!(model(lost_wake_up.clone()).waits_for_ever());
        assert!(!model("lost 1 of 4 updates".into()).waits_for_ever());
        assert!(!Verdict::Fail {
            message: lost_wake_up,
            replay: None,
            interleaving: None,
        }
        .waits_for_ever());
        let timeout = |kind| Verdict::Timeout {
            limit: Duration::from_secs(5),
            diagnosis: Diagnosis {
                kind,
                threads: Vec::new(),
                for_good: false,
            },
        };
        assert!(timeout(DiagnosisKind::Deadlock).waits_for_ever());
        assert!(!timeout(DiagnosisKind::Spinning).waits_for_ever());
    }

    #[test]
    fn a_todo_panic_is_called_a_todo() {
        let details = Verdict::Panic {
            message: "not yet implemented: run f".into(),
            location: "exercises/01_race_counter/src/lib.rs:35:5".into(),
            thread: "main".into(),
            interleaving: None,
        }
        .details();
        assert!(details.contains("That is a `todo!()`"), "{details}");
        assert!(
            details.starts_with("your code panicked at exercises/01"),
            "{details}"
        );
    }

    #[test]
    fn an_inconclusive_verdict_shows_its_short_reason() {
        let verdict = Verdict::Inconclusive {
            reason: "machine busy: in 4 attempts ...".into(),
        };
        assert_eq!(verdict.name(), "inconclusive (machine busy)");
    }
}
