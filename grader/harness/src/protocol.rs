//! What a hidden test binary tells the grader. The grader deserialises exactly these types.

use serde::{Deserialize, Serialize};

/// The file descriptor the report is written to. The grader connects it to a pipe of its own.
pub const RESULT_FD: i32 = 3;

/// The single message a test process sends when its test has finished.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Report {
    /// The nonce the grader sent on stdin; proves the report came from the harness.
    pub nonce: String,
    pub outcome: ReportOutcome,
    /// Every panic seen in the process, in order, on any thread.
    pub panics: Vec<PanicRecord>,
    /// Set when the test left processes behind: says which, and in what state.
    pub leak: Option<String>,
    /// Lines the test wants the learner to read whatever its verdict, from [`crate::note`]:
    /// a measured speedup, a throughput comparison.
    #[serde(default)]
    pub notes: Vec<String>,
    /// Set when the test decided, through [`crate::inconclusive`], that this machine cannot
    /// show what it measures right now: says why.
    #[serde(default)]
    pub inconclusive: Option<String>,
    /// What a timing test measured, when the grader's speedup timer started it.
    #[serde(default)]
    pub speedup: Option<crate::timing::SpeedupSamples>,
    /// The synchronisation operations of the model checker's failing schedule, in the order
    /// they ran, when [`crate::model::explore`] found one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interleaving: Option<Vec<InterleavingStep>>,
}

/// One step of a failing interleaving: a thread made a synchronisation operation, called from
/// a line of the learner's `src/`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct InterleavingStep {
    /// `main`, the name the test gave the thread, or `thread N` (N counts from 1 in the order
    /// the threads were started).
    pub thread: String,
    /// The primitive's type and method: `AtomicU64::load`, `Mutex::lock`, `Condvar::wait`.
    pub operation: String,
    /// The learner's file as the test binary was built from it (a scratch path).
    pub file: String,
    pub line: u32,
    /// The learner's function that made the call: `Counter::increment`.
    pub function: String,
    /// The thread was about to make this operation when the schedule ended, and never made
    /// it: in a deadlock, where each thread waits for ever.
    #[serde(default)]
    pub never_ran: bool,
    /// For an operation on an atomic of the learner's: which atomic and what it read or
    /// wrote, recorded by the twin's atomics ([`crate::atomic`]) during the replay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<AtomicAccess>,
}

/// What one operation on an atomic did.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AtomicAccess {
    /// The atomic, numbered from 1 in the order the schedule first used each: the same on
    /// every run, unlike its address.
    pub atomic: usize,
    /// The value the operation read (the value before, for a read-modify-write).
    pub read: Option<String>,
    /// The value it wrote; `None` for a load or a compare-exchange that failed.
    pub written: Option<String>,
    /// How a timeline row shows it: `= 0`, `0 -> 1`, `found 2, not 0: unchanged`.
    pub shown: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReportOutcome {
    /// The test function returned.
    Returned,
    /// The test function panicked; [`Report::panics`] says where.
    Panicked,
}

/// One panic, as the panic hook saw it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PanicRecord {
    pub thread: String,
    pub message: String,
    pub file: String,
    pub line: u32,
    pub column: u32,
}
