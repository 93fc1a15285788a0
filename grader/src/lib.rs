//! The grading engine of threadlings.
//!
//! The grader turns "grade exercise N of this crate" into data: which hidden tests passed, how
//! the others failed, and why. It never parses arguments and never prints; `xtask` does both.
//!
//! The pipeline for one exercise, each step in its own module:
//!
//! 1. [`catalog`] reads the exercise's metadata from `grader/hidden/NN_name/exercise.toml`.
//! 2. [`subject`] names the crate under test (the learner's exercise, the reference solution,
//!    a submitted folder or a known-wrong mutant) and [`lint`] rejects code that goes around
//!    the `crate::sync` shim or runs before `main`.
//! 3. [`scratch`] writes a scratch crate under `target/` that compiles the hidden tests against
//!    the subject's `src/`, with the grader's own manifest and `sync.rs`, and builds it.
//! 4. [`runner`] runs every hidden test as its own process, confined as far as [`sandbox`]
//!    finds this machine allows, with a time limit and capped output; [`diagnosis`] explains a
//!    timeout from `/proc`; [`reaper`] keeps the grader's own children apart from strays.
//! 5. [`verdict`] turns what the process did into one [`verdict::Verdict`] per test and
//!    [`check`] assembles the [`check::ExerciseReport`].
//!
//! [`verify`] runs that pipeline over solutions, stubs and mutants to prove the hidden tests
//! catch what they claim to catch.

pub mod catalog;
pub mod check;
pub mod diagnosis;
mod error;
pub mod lint;
pub mod mutant;
pub mod progress;
pub mod reaper;
pub mod report;
pub mod roster;
pub mod runner;
pub mod sandbox;
pub mod scratch;
pub mod subject;
pub mod submission;
pub mod timing;
pub mod verdict;
pub mod verify;
pub mod workspace;

pub use error::{Error, ErrorKind, Result};
