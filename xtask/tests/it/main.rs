//! xtask's integration tests, one binary: each module is one area of the command line, and
//! `util` holds what they share (the checkout, the binary, fresh folders, the progress lock).
//!
//! Modules whose tests need the solutions (`failure_messages`, `grade`, `hostile_roster`,
//! `replay`, `verify`) are instructor-only: the student edition removes their files and the
//! `mod` lines that name them (`xtask publish`).

mod book;
mod cli;
mod failure_messages;
mod grade;
mod hostile_roster;
mod instructors;
mod learner_loop;
mod replay;
mod stub_reports;
mod util;
mod verify;
