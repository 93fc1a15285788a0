//! JUnit XML, for CI test reporters: one `<testsuite>` per exercise, one `<testcase>` per test.

use std::time::Duration;

use super::first_line;
use crate::grade::{qualified_name, ExerciseStatus, GradeReport};
use crate::suite::SuiteKind;

/// JUnit XML: one `<testsuite>` per exercise, one `<testcase>` per test. A failing verdict is a
/// `<failure>` (the code was graded and is wrong); an exercise that could not be graded at
/// all gives `<error>` test cases.
///
/// The output keeps to the common `junit-10.xsd` (the schema Jenkins and most report viewers
/// read): properties only on `<testsuite>` (a test's points are the suite's `points.NAME`
/// property), and `time` and `timestamp` on every `<testsuite>`.
pub fn to_junit(report: &GradeReport) -> String {
    use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};
    let mut junit = quick_junit::Report::new(format!("threadlings grade: {}", report.subject));
    junit.set_time(Duration::from_millis(report.elapsed_ms));
    let started = chrono::DateTime::parse_from_rfc3339(&report.started_at).ok();
    for exercise in &report.exercises {
        let mut suite = TestSuite::new(exercise.dir_name.clone());
        suite.set_time(Duration::from_millis(exercise.elapsed_ms));
        if let Some(started) = started {
            suite.set_timestamp(started);
        }
        suite.add_property(Property::new("points", exercise.points.to_string()));
        suite.add_property(Property::new("max_points", exercise.max_points.to_string()));
        suite.add_property(Property::new("status", exercise.status.as_str()));
        suite.add_property(Property::new("isolation", report.isolation.to_string()));
        for test in &exercise.tests {
            let status = if test.passed() {
                TestCaseStatus::success()
            } else {
                let kind = match exercise.status {
                    ExerciseStatus::Passed | ExerciseStatus::Failed => NonSuccessKind::Failure,
                    _ => NonSuccessKind::Error,
                };
                let mut status = TestCaseStatus::non_success(kind);
                status.set_type(test.verdict.to_string());
                status.set_message(first_line(&test.message));
                status.set_description(test.message.clone());
                status
            };
            let mut case = TestCase::new(test.name.clone(), status);
            case.set_classname(match test.suite {
                SuiteKind::Hidden => exercise.dir_name.clone(),
                SuiteKind::Private => format!("{}.private", exercise.dir_name),
            });
            case.set_time(Duration::from_millis(test.elapsed_ms));
            suite.add_property(Property::new(
                format!("points.{}", qualified_name(exercise, test)),
                format!("{}/{}", test.points, test.max_points),
            ));
            if !test.output.is_empty() {
                case.set_system_out(test.output.clone());
            }
            suite.add_test_case(case);
        }
        junit.add_test_suite(suite);
    }
    let xml = junit
        .to_string()
        .expect("a JUnit report of plain strings always serialises");
    without_skipped_on_testsuites(xml)
}

/// quick-junit writes a `skipped` count on `<testsuites>`, which `junit-10.xsd` does not
/// allow there (only on `<testsuite>`); nothing here is ever skipped, so it is dropped.
fn without_skipped_on_testsuites(xml: String) -> String {
    let Some(open) = xml.find("<testsuites") else {
        return xml;
    };
    let close = xml[open..].find('>').map_or(xml.len(), |end| open + end);
    let tag = &xml[open..close];
    match tag.find(" skipped=\"") {
        Some(at) => {
            let value_end = tag[at + 10..]
                .find('"')
                .map_or(tag.len(), |end| at + 10 + end + 1);
            format!(
                "{}{}{}",
                &xml[..open + at],
                &tag[value_end..],
                &xml[close..]
            )
        }
        None => xml,
    }
}
