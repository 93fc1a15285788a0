//! The grade in every format a person or a tool reads, one module per format.
//!
//! Each encoder reads the [`GradeReport`](crate::grade::GradeReport) model and nothing else,
//! and takes the sentences about a verdict from [`crate::explain`] (already in the model's
//! `message` fields), so the same words reach every format.
//!
//! - [`json`]: the model itself, in the documented `threadlings-grade/1` schema.
//! - [`junit`]: JUnit XML for CI test reporters.
//! - [`gradescope`]: Gradescope's `results.json`.
//! - [`classroom`]: GitHub Classroom's points, for its autograding reporter.
//! - [`markdown`]: a CI job summary.
//! - [`text`]: the plain-text report of `cargo xtask grade`.
//! - [`gradebook`]: a class's CSV gradebook and its Markdown summary.

pub mod classroom;
pub mod gradebook;
pub mod gradescope;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod text;

use crate::submission::IgnoredChanges;

/// The first line of a message, for formats that show one line per test.
fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}

impl IgnoredChanges {
    /// Each ignored change as `path (how it changed)`, then `... and N more` when the list was
    /// cut: the one listing every format shows, with each path as `show_path` writes it.
    pub fn lines(&self, show_path: impl Fn(&str) -> String) -> Vec<String> {
        let mut lines: Vec<String> = self
            .listed
            .iter()
            .map(|change| format!("{} ({})", show_path(&change.path), change.change))
            .collect();
        if self.more > 0 {
            lines.push(format!("... and {} more", self.more));
        }
        lines
    }
}

/// The sentence that introduces the ignored changes in every format.
const IGNORED_HEADING: &str =
    "Changes outside exercises/*/src/ were ignored (only src/*.rs is graded):";
