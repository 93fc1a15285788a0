//! The grader's integration tests, one binary: each module is one area of the grader, and
//! `util` holds what they share, above all the rule that lets tests which start processes run
//! in one process ([`util::one_at_a_time`]).
//!
//! Modules whose tests edit the solutions (`attempts`, `hostile`) are instructor-only: the
//! student edition removes their files and the `mod` lines that name them (`xtask publish`).

mod architecture;
mod attempts;
mod builds;
mod diagnosis;
mod hostile;
mod lint;
mod report_formats;
mod side_by_side;
mod util;
