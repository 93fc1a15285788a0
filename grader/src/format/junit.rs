//! JUnit XML, for CI test reporters: one `<testsuite>` per exercise, one `<testcase>` per test.

use std::time::Duration;

use super::first_line;
use crate::grade::{ExerciseStatus, GradeReport};
use crate::suite::SuiteKind;

/// JUnit XML: one `<testsuite>` per exercise, one `<testcase>` per test. A failing verdict is a
/// `<failure>` (the code was graded and is wrong); an exercise that could not be graded at
/// all gives `<error>` test cases.
pub fn to_junit(report: &GradeReport) -> String {
    use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};
    let mut junit = quick_junit::Report::new(format!("threadlings grade: {}", report.subject));
    junit.set_time(Duration::from_millis(report.elapsed_ms));
    for exercise in &report.exercises {
        let mut suite = TestSuite::new(exercise.dir_name.clone());
        suite.add_property(Property::new("points", exercise.points.to_string()));
        suite.add_property(Property::new("max_points", exercise.max_points.to_string()));
        suite.add_property(Property::new("status", exercise.status.as_str()));
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
            case.add_property(Property::new("points", test.points.to_string()));
            case.add_property(Property::new("max_points", test.max_points.to_string()));
            if !test.output.is_empty() {
                case.set_system_out(test.output.clone());
            }
            suite.add_test_case(case);
        }
        junit.add_test_suite(suite);
    }
    junit
        .to_string()
        .expect("a JUnit report of plain strings always serialises")
}
