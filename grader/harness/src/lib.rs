//! The custom harness (`harness = false`) that every hidden test binary runs under.
//!
//! A hidden test file ends with [`hidden_tests!`], which becomes the binary's `main`. The grader
//! talks to the binary through a deliberately tiny protocol:
//!
//! - `BINARY --list` prints one test name per line.
//! - `BINARY --run NAME` reads a nonce line from stdin *before any code under test runs*, then
//!   runs that one test on the main thread and writes one JSON [`Report`] to file descriptor 3,
//!   carrying the nonce.
//!
//! The grader counts a test as passed only when the report carries its nonce, says `pass`, and
//! the process exits 0. Code under test never sees the nonce (stdin is closed before it runs), so
//! it can neither print a convincing pass line nor exit early to skip a failing assertion.
//! Reports go to fd 3 rather than stdout so that a flood of learner output can neither bury nor
//! interleave with them.
//!
//! The harness also looks after the process hygiene that a test cannot see from inside: after
//! the test returns it lists child processes that were never waited for.

pub mod atomic;
pub mod blocked;
pub mod measure;
pub mod model;
pub mod platform;
mod protocol;
pub mod rendezvous;
mod run;
pub mod timing;
pub mod waits;

pub use protocol::{AtomicAccess, InterleavingStep, PanicRecord, Report, ReportOutcome, RESULT_FD};
pub use run::{
    child_processes, inconclusive, leftover_children, main, note, ChildProcess, MODEL_SELF_LOCK,
};

/// Words a hidden test puts in a panic it causes on purpose, inside code it hands to the
/// learner (to check that a worker's panic reaches the caller). The grader never takes such a
/// panic for the reason a test failed.
pub const EXPECTED_PANIC: &str = "(this panic is expected by the test)";

/// One hidden test: a name that says what behaviour it checks, and the function that checks it.
pub struct Test {
    pub name: &'static str,
    pub run: fn(),
}

/// Declares the binary's tests and generates `main`.
///
/// ```no_run
/// fn counter_counts_every_increment() { /* ... */ }
/// harness::hidden_tests![counter_counts_every_increment];
/// ```
#[macro_export]
macro_rules! hidden_tests {
    ($($name:ident),+ $(,)?) => {
        fn main() {
            $crate::main(&[$($crate::Test { name: stringify!($name), run: $name }),+])
        }
    };
}
