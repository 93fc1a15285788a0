//! GitHub Classroom's points: the results a `classroom-resources/autograding-grading-reporter`
//! runner reads (base64-encoded, from an environment variable named after the runner).
//!
//! The reporter adds up `score` over `tests` and `max_score` over runners, and shows each
//! test as passed or failed with its `message`; Classroom then shows the total. One runner
//! carries every test of the grade, so the points are per test, never all or nothing.

use serde::Serialize;

use crate::grade::{qualified_name, ExerciseStatus, GradeReport};

/// The results of one reporter runner.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassroomResults {
    /// The reporter's schema version, 1.
    pub version: u32,
    /// `pass` when every test counts as passed, else `fail`: the reporter fails its step on
    /// `fail`.
    pub status: String,
    pub max_score: u32,
    pub tests: Vec<ClassroomTest>,
}

/// One test as the reporter lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassroomTest {
    pub name: String,
    /// `pass` or `fail`; an `inconclusive` timing test is `pass` with 0 points, as everywhere.
    pub status: String,
    pub score: u32,
    pub max_score: u32,
    /// Why it lost its points (empty for a pass).
    pub message: String,
}

/// The reporter's JSON for `report` (encode it with base64 for the reporter's variable).
pub fn to_classroom(report: &GradeReport) -> String {
    let tests = report
        .exercises
        .iter()
        .flat_map(|exercise| {
            exercise.tests.iter().map(move |test| ClassroomTest {
                name: qualified_name(exercise, test),
                status: if test.passed() { "pass" } else { "fail" }.to_owned(),
                score: test.points,
                max_score: test.max_points,
                message: if test.verdict.is_pass() {
                    String::new()
                } else {
                    format!("{}: {}", test.verdict, test.message)
                },
            })
        })
        .collect();
    let results = ClassroomResults {
        version: 1,
        status: if report
            .exercises
            .iter()
            .all(|e| e.status == ExerciseStatus::Passed)
        {
            "pass"
        } else {
            "fail"
        }
        .to_owned(),
        max_score: report.max_points,
        tests,
    };
    serde_json::to_string_pretty(&results).expect("Classroom results always serialise")
}
