//! Gradescope's `results.json`: `score`, `max_score`, and `tests` with `name`, `score`,
//! `max_score`, `status`, `output`, `visibility`; and a check of any `results.json` against the
//! fields and values Gradescope documents.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::IGNORED_HEADING;
use crate::grade::{qualified_name, GradeReport, TestGrade};
use crate::suite::SuiteKind;

/// Gradescope's `results.json`, with the fields its autograder documentation lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradescopeResults {
    pub score: f64,
    pub max_score: f64,
    pub output: String,
    /// Always `text`: the output holds names a student chose (files, folders), which
    /// Gradescope's default HTML rendering would interpret as markup.
    pub output_format: String,
    pub visibility: String,
    pub stdout_visibility: String,
    pub tests: Vec<GradescopeTest>,
}

/// One entry of Gradescope's `tests` array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradescopeTest {
    pub name: String,
    pub score: f64,
    pub max_score: f64,
    /// `passed` or `failed`.
    pub status: String,
    pub output: String,
    /// Always `text`, as for the whole report.
    pub output_format: String,
    /// `visible` for canonical tests; `after_published` for private ones, so students see
    /// their private results only once the instructor publishes grades.
    pub visibility: String,
}

/// The `output_format` that shows text as it is.
const PLAIN_TEXT: &str = "text";
/// The values Gradescope documents for `output_format`.
const GRADESCOPE_OUTPUT_FORMATS: &[&str] = &["text", "html", "simple_format", "md", "ansi"];

/// Gradescope's `results.json`.
pub fn to_gradescope(report: &GradeReport) -> String {
    let tests = report
        .exercises
        .iter()
        .flat_map(|exercise| {
            exercise.tests.iter().map(move |test| GradescopeTest {
                name: qualified_name(exercise, test),
                score: f64::from(test.points),
                max_score: f64::from(test.max_points),
                status: if test.passed() { "passed" } else { "failed" }.to_owned(),
                output: test_output(test),
                output_format: PLAIN_TEXT.to_owned(),
                visibility: match test.suite {
                    SuiteKind::Hidden => "visible",
                    SuiteKind::Private => "after_published",
                }
                .to_owned(),
            })
        })
        .collect();
    let results = GradescopeResults {
        score: f64::from(report.points),
        max_score: f64::from(report.max_points),
        output: format!(
            "{}\nisolation: {}{}",
            report.summary_line(),
            report.isolation,
            ignored_text(report)
        ),
        output_format: PLAIN_TEXT.to_owned(),
        visibility: "visible".to_owned(),
        stdout_visibility: "hidden".to_owned(),
        tests,
    };
    serde_json::to_string_pretty(&results).expect("Gradescope results always serialise")
}

/// A `results.json` for a submission that could not be graded at all: no score, and the reason
/// in words, so that Gradescope shows the student why instead of "autograder failed".
pub fn could_not_grade(reason: &str) -> String {
    let results = GradescopeResults {
        score: 0.0,
        max_score: 0.0,
        output: format!(
            "The autograder could not grade this submission: {reason}\n\nUpload the \
             exercises/ folder of your checkout (or the whole checkout), then submit again."
        ),
        output_format: PLAIN_TEXT.to_owned(),
        visibility: "visible".to_owned(),
        stdout_visibility: "hidden".to_owned(),
        tests: Vec::new(),
    };
    serde_json::to_string_pretty(&results).expect("Gradescope results always serialise")
}

/// The fields of Gradescope's autograder `results.json`, as its documentation lists them.
const GRADESCOPE_TOP_LEVEL: &[&str] = &[
    "score",
    "max_score",
    "execution_time",
    "output",
    "output_format",
    "test_output_format",
    "test_name_format",
    "visibility",
    "stdout_visibility",
    "extra_data",
    "tests",
    "leaderboard",
];
const GRADESCOPE_TEST: &[&str] = &[
    "score",
    "max_score",
    "status",
    "name",
    "name_format",
    "number",
    "output",
    "output_format",
    "tags",
    "visibility",
    "extra_data",
];
const GRADESCOPE_VISIBILITY: &[&str] = &["hidden", "after_due_date", "after_published", "visible"];

/// Checks a `results.json` written by anyone against Gradescope's documented fields and value sets, and that
/// the per-test scores add up to the total. Returns the problems found.
pub fn gradescope_problems(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(e) => return vec![format!("not JSON: {e}")],
    };
    let Some(top) = value.as_object() else {
        return vec!["the top level is not an object".into()];
    };
    for key in top.keys() {
        if !GRADESCOPE_TOP_LEVEL.contains(&key.as_str()) {
            problems.push(format!("undocumented top-level field `{key}`"));
        }
    }
    for key in ["score", "max_score"] {
        if !top.get(key).is_some_and(Value::is_number) {
            problems.push(format!("`{key}` must be a number"));
        }
    }
    for key in ["visibility", "stdout_visibility"] {
        if let Some(v) = top.get(key) {
            if !GRADESCOPE_VISIBILITY.contains(&v.as_str().unwrap_or("")) {
                problems.push(format!("`{key}` is {v}, not a Gradescope visibility"));
            }
        }
    }
    let check_format = |problems: &mut Vec<String>, place: &str, value: Option<&Value>| {
        if let Some(value) = value {
            if !GRADESCOPE_OUTPUT_FORMATS.contains(&value.as_str().unwrap_or("")) {
                problems.push(format!(
                    "{place} is {value}, not a Gradescope output format"
                ));
            }
        }
    };
    for key in ["output_format", "test_output_format"] {
        check_format(&mut problems, &format!("`{key}`"), top.get(key));
    }
    let Some(tests) = top.get("tests").and_then(Value::as_array) else {
        problems.push("`tests` must be an array".into());
        return problems;
    };
    let mut sum = 0.0;
    for (index, test) in tests.iter().enumerate() {
        let Some(test) = test.as_object() else {
            problems.push(format!("tests[{index}] is not an object"));
            continue;
        };
        for key in test.keys() {
            if !GRADESCOPE_TEST.contains(&key.as_str()) {
                problems.push(format!("tests[{index}] has undocumented field `{key}`"));
            }
        }
        for key in ["name", "status", "output", "visibility"] {
            if !test.get(key).is_some_and(Value::is_string) {
                problems.push(format!("tests[{index}].{key} must be a string"));
            }
        }
        let score = test.get("score").and_then(Value::as_f64);
        let max_score = test.get("max_score").and_then(Value::as_f64);
        match (score, max_score) {
            (Some(score), Some(max)) if (0.0..=max).contains(&score) => sum += score,
            _ => problems.push(format!(
                "tests[{index}] needs numbers 0 <= score <= max_score, got {score:?} of {max_score:?}"
            )),
        }
        let status = test.get("status").and_then(Value::as_str).unwrap_or("");
        if !["passed", "failed"].contains(&status) {
            problems.push(format!(
                "tests[{index}].status is `{status}`, not passed/failed"
            ));
        }
        check_format(
            &mut problems,
            &format!("tests[{index}].output_format"),
            test.get("output_format"),
        );
        let visibility = test.get("visibility").and_then(Value::as_str).unwrap_or("");
        if !GRADESCOPE_VISIBILITY.contains(&visibility) {
            problems.push(format!("tests[{index}].visibility is `{visibility}`"));
        }
    }
    let score = top.get("score").and_then(Value::as_f64).unwrap_or(-1.0);
    if (score - sum).abs() > 1e-9 {
        problems.push(format!(
            "score {score} is not the sum of the test scores {sum}"
        ));
    }
    problems
}

fn test_output(test: &TestGrade) -> String {
    if test.verdict.is_pass() {
        return String::new();
    }
    let mut text = format!("{}: {}", test.verdict, test.message);
    if !test.output.trim().is_empty() {
        text.push_str("\n\nWhat the test printed:\n");
        text.push_str(&test.output);
    }
    text
}

fn ignored_text(report: &GradeReport) -> String {
    if report.ignored.listed.is_empty() {
        return String::new();
    }
    let mut text = format!("\n\n{IGNORED_HEADING}\n");
    for line in report.ignored.lines(str::to_owned) {
        text.push_str(&format!("  {line}\n"));
    }
    text
}
