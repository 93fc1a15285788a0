//! The grading engine of threadlings.
//!
//! The grader turns "grade exercise N of this crate" into data: which hidden tests passed, how
//! the others failed, and why. It never parses arguments and never prints; `xtask` does both.
//!
//! The pipeline for one exercise, each step in its own module:
//!
//! 1. [`catalog`] reads the exercise's metadata from `grader/hidden/NN_name/exercise.toml`;
//!    [`suite`] is a set of tests compiled into one binary (the hidden tests, or an
//!    instructor's private ones).
//! 2. [`subject`] names the crate under test (the learner's exercise, the reference solution,
//!    a submitted folder or a known-wrong [`mutant`]) and [`lint`] rejects code that goes
//!    around the `crate::sync` shim or runs before `main`.
//! 3. [`scratch`] writes a scratch crate under `target/` that compiles the suite against the
//!    subject's `src/`, with the grader's own manifest and `sync.rs`, and builds it.
//! 4. [`execute`] runs one test and returns its [`execute::TestResult`]: [`runner`] starts the
//!    process, confined as far as [`sandbox`] finds this machine allows, with a time limit and
//!    capped output; [`diagnosis`] explains a timeout from `/proc`; [`reaper`] keeps the
//!    grader's own children apart from strays; [`verdict`] decides from what the process did (reading the model checker's
//!    reports through [`model_report`]), and [`speedup`] holds the speedup timer's pure rules.
//! 5. [`check`] sequences the steps for one exercise into a [`check::ExerciseReport`].
//!
//! Around the pipeline: [`explain`] holds the sentences a learner reads about each verdict;
//! [`grade`] grades every exercise of a checkout or [`submission`] into the grade model, which
//! [`format`] writes as JSON, JUnit, Gradescope, Markdown, text or a CSV gradebook; [`roster`]
//! grades a class; [`verify`] runs the pipeline over solutions, stubs and mutants to prove the
//! hidden tests catch what they claim to catch, after [`consistency`] has checked that the
//! exercise's crates, metadata, tests and book agree; [`progress`] remembers a learner's results.

pub mod catalog;
pub mod check;
pub mod consistency;
pub mod diagnosis;
mod error;
pub mod events;
pub mod execute;
pub mod explain;
pub mod format;
pub mod grade;
pub mod learner_paths;
pub mod lint;
pub mod model_report;
pub mod mutant;
pub mod progress;
pub mod reaper;
pub mod roster;
pub mod runner;
pub mod sandbox;
pub mod scratch;
pub mod speedup;
pub mod subject;
pub mod submission;
pub mod suite;
pub mod timeline;
pub mod turns;
pub mod verdict;
pub mod verify;
pub mod workspace;

pub use error::{Error, ErrorKind, Result};
