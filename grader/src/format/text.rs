//! The plain-text report of `cargo xtask grade`: a line per exercise, then every test that
//! lost points with the first lines of why.

use std::fmt::Write;

use super::IGNORED_HEADING;
use crate::grade::{qualified_name, GradeReport};

/// How many lines of a test's message the text report shows; the other formats carry all.
const MESSAGE_LINES: usize = 6;

pub fn to_text(grade: &GradeReport) -> String {
    let mut out = format!(
        "threadlings grade: {}\nisolation: {}\n\n",
        grade.subject, grade.isolation
    );
    for exercise in &grade.exercises {
        let _ = writeln!(
            out,
            "{} {:<40} {}/{} {}",
            exercise.dir_name,
            exercise.title,
            exercise.points,
            exercise.max_points,
            exercise.status
        );
        for test in exercise.tests.iter().filter(|t| !t.verdict.is_pass()) {
            let _ = writeln!(
                out,
                "  ✗ {} {} {}/{}",
                qualified_name(exercise, test),
                test.verdict,
                test.points,
                test.max_points
            );
            for line in test.message.lines().take(MESSAGE_LINES) {
                let _ = writeln!(out, "      {line}");
            }
        }
    }
    if !grade.ignored.listed.is_empty() {
        let _ = writeln!(out, "\n{IGNORED_HEADING}");
        for line in grade.ignored.lines(str::to_owned) {
            let _ = writeln!(out, "  {line}");
        }
    }
    let _ = writeln!(out, "\nTotal: {}/{} points", grade.points, grade.max_points);
    out
}
