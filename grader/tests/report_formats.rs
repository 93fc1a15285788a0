//! Every output format of `cargo xtask grade`, validated against what its consumer expects:
//! our JSON schema round-trips, Gradescope's `results.json` has exactly the documented fields
//! with valid values, JUnit XML is well-formed with one test case per test, and the Markdown
//! summary survives hostile names. The reports are built by hand, so these tests grade nothing.

use grader::format;
use grader::grade::{ExerciseGrade, ExerciseStatus, GradeReport, TestGrade, SCHEMA};
use grader::submission::{IgnoredChange, IgnoredChanges};
use grader::suite::SuiteKind as Suite;
use serde_json::Value;

fn test(name: &str, suite: Suite, points: u32, max_points: u32, verdict: &str) -> TestGrade {
    TestGrade {
        name: name.to_owned(),
        suite,
        points,
        max_points,
        verdict: verdict.parse().expect("a valid label"),
        message: if verdict == "pass" {
            String::new()
        } else {
            format!("{verdict}: lost 1 of 4 updates (got 3)\nsecond line")
        },
        output: if verdict == "pass" {
            String::new()
        } else {
            "printed <stuff> & \u{1b}[31mcolour\u{1b}[0m".to_owned()
        },
        elapsed_ms: 12,
    }
}

/// Two exercises: one graded with a private test, one that did not compile; and a submission
/// that edited its manifest.
fn sample() -> GradeReport {
    let graded = ExerciseGrade {
        number: 1,
        dir_name: "01_race_counter".into(),
        title: "A race-prone counter".into(),
        status: ExerciseStatus::Failed,
        points: 4,
        max_points: 8,
        message: String::new(),
        tests: vec![
            test("counter_starts_at_zero", Suite::Hidden, 1, 1, "pass"),
            test(
                "counter_never_loses_an_increment",
                Suite::Hidden,
                0,
                3,
                "fail",
            ),
            test("stress", Suite::Hidden, 2, 2, "pass"),
            test("exam_question", Suite::Private, 1, 1, "pass"),
            test("exam_deadlock", Suite::Private, 0, 1, "timeout:deadlock"),
        ],
    };
    let broken = ExerciseGrade {
        number: 2,
        dir_name: "02_lock_fix".into(),
        title: "Pipes | and *stars*".into(),
        status: ExerciseStatus::BuildFailed,
        points: 0,
        max_points: 5,
        message: "the code does not compile".into(),
        tests: vec![
            test(
                "withdraw_never_overdraws",
                Suite::Hidden,
                0,
                3,
                "build_failed",
            ),
            test(
                "snapshot_is_consistent",
                Suite::Hidden,
                0,
                2,
                "build_failed",
            ),
        ],
    };
    GradeReport {
        schema: SCHEMA.into(),
        subject: "ada".into(),
        points: 4,
        max_points: 13,
        exercises: vec![graded, broken],
        ignored: IgnoredChanges {
            listed: vec![IgnoredChange {
                path: "exercises/01_race_counter/build.rs".into(),
                change: "added".into(),
            }],
            more: 0,
            truncated: false,
        },
        elapsed_ms: 1234,
    }
}

#[test]
fn json_round_trips_and_names_its_schema() {
    let report = sample();
    let text = format::json::to_json(&report);
    let back = format::json::from_json(&text).expect("our own JSON reads back");
    assert_eq!(back, report, "JSON must carry every field unchanged");
    let value: Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(value["schema"], SCHEMA);
    assert_eq!(value["exercises"][0]["tests"][1]["verdict"], "fail");
    assert_eq!(value["exercises"][1]["status"], "build_failed");

    let old = text.replace(SCHEMA, "threadlings-grade/0");
    let problem = format::json::from_json(&old)
        .expect_err("another schema version is refused")
        .to_string();
    assert!(
        problem.contains("threadlings-grade/0"),
        "the error names the version it found: {problem}"
    );
}

#[test]
fn gradescope_results_have_exactly_the_documented_fields() {
    let text = format::gradescope::to_gradescope(&sample());
    let problems = format::gradescope::gradescope_problems(&text);
    assert!(
        problems.is_empty(),
        "results.json breaks Gradescope's format:\n{}\n{text}",
        problems.join("\n")
    );
    let value: Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(value["score"], 4.0);
    assert_eq!(value["max_score"], 13.0);
    let tests = value["tests"].as_array().expect("tests");
    assert_eq!(tests.len(), 7, "one entry per test, graded or not");
    assert_eq!(
        tests[1]["name"],
        "01_race_counter::counter_never_loses_an_increment"
    );
    assert_eq!(tests[1]["status"], "failed");
    assert!(
        tests[1]["output"]
            .as_str()
            .unwrap()
            .contains("lost 1 of 4 updates"),
        "a failed test's output says why: {}",
        tests[1]
    );
    assert_eq!(tests[4]["name"], "01_race_counter::private::exam_deadlock");
    assert_eq!(
        tests[4]["visibility"], "after_published",
        "private tests stay hidden until grades are published"
    );
    assert!(
        value["output"]
            .as_str()
            .unwrap()
            .contains("exercises/01_race_counter/build.rs"),
        "the student sees which of their changes were ignored: {}",
        value["output"]
    );
}

#[test]
fn the_gradescope_validator_catches_a_wrong_file() {
    let wrong = r#"{"score": 3, "tests": [{"name": "a", "score": 5, "max_score": 2,
        "status": "ok", "output": "", "visibility": "public", "points": 1}]}"#;
    let problems = format::gradescope::gradescope_problems(wrong).join("\n");
    for expected in [
        "score 3 is not the sum",
        "status is `ok`",
        "visibility is `public`",
        "undocumented field `points`",
        "0 <= score <= max_score",
    ] {
        assert!(
            problems.contains(expected),
            "the validator must report `{expected}`, said:\n{problems}"
        );
    }
}

#[test]
fn junit_is_well_formed_with_a_test_case_per_test() {
    use quick_xml::events::Event;
    let text = format::junit::to_junit(&sample());
    let mut reader = quick_xml::Reader::from_str(&text);
    let (mut suites, mut cases, mut failures, mut errors) = (0, 0, 0, 0);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => match e.name().as_ref() {
                b"testsuite" => suites += 1,
                b"testcase" => cases += 1,
                b"failure" => failures += 1,
                b"error" => errors += 1,
                _ => {}
            },
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!(
                "the JUnit XML is malformed at byte {}: {e}\n{text}",
                reader.buffer_position()
            ),
        }
    }
    assert_eq!(suites, 2, "one <testsuite> per exercise:\n{text}");
    assert_eq!(cases, 7, "one <testcase> per test:\n{text}");
    assert_eq!(
        failures, 2,
        "graded tests that did not pass are failures:\n{text}"
    );
    assert_eq!(
        errors, 2,
        "tests of an exercise that did not build are errors:\n{text}"
    );
    assert!(
        !text.contains('\u{1b}'),
        "control characters are not valid XML and must be dropped"
    );
}

#[test]
fn markdown_summary_escapes_student_text() {
    let text = format::markdown::to_markdown(&sample());
    assert!(
        text.contains("**4/13 points; 0 of 2 exercises fully passed**"),
        "{text}"
    );
    assert!(
        text.contains("| 02_lock_fix Pipes \\| and \\*stars\\* | 0/5 | build_failed |"),
        "a title with | and * must not break the table:\n{text}"
    );
    assert!(
        text.contains("`01_race_counter::counter_never_loses_an_increment` (0/3): **fail**"),
        "{text}"
    );
    assert!(text.contains("### Ignored changes"), "{text}");
}
