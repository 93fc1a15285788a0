//! Every output format of `cargo xtask grade`, validated against what its consumer expects:
//! our JSON schema round-trips, Gradescope's `results.json` has exactly the documented fields
//! with valid values, JUnit XML is well-formed with one test case per test, and the Markdown
//! summary survives hostile names. The reports are built by hand, so these tests grade nothing.

use grader::format;
use grader::grade::{ExerciseGrade, ExerciseStatus, GradeReport, TestGrade, TestLabel, SCHEMA};
use grader::sandbox::Isolation;
use grader::submission::{IgnoredChange, IgnoredChanges};
use grader::suite::SuiteKind as Suite;
use serde_json::Value;

fn test(name: &str, suite: Suite, points: u32, max_points: u32, verdict: &str) -> TestGrade {
    let verdict: TestLabel = verdict.parse().expect("a valid label");
    TestGrade {
        name: name.to_owned(),
        suite,
        points,
        max_points,
        verdict,
        message: if verdict.is_pass() {
            String::new()
        } else {
            format!("{verdict}: lost 1 of 4 updates (got 3)\nsecond line")
        },
        output: if verdict.is_pass() {
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
        elapsed_ms: 900,
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
        message: "the code does not compile:\nerror[E0425]: cannot find value `x`".into(),
        elapsed_ms: 300,
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
        started_at: "2026-12-02T01:00:00Z".into(),
        isolation: Isolation::NoCgroups,
        elapsed_ms: 1234,
        same_code_as: None,
    }
}

#[test]
fn json_round_trips_and_names_its_schema() {
    let report = sample();
    let text = format::json::to_json(&report);
    let back = GradeReport::from_json(&text).expect("our own JSON reads back");
    assert_eq!(back, report, "JSON must carry every field unchanged");
    let value: Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(value["schema"], SCHEMA);
    assert_eq!(value["exercises"][0]["tests"][1]["verdict"], "fail");
    assert_eq!(value["exercises"][1]["status"], "build_failed");

    assert!(
        !text.contains("same_code_as"),
        "a report graded for its own student does not name another:\n{text}"
    );
    let copy = GradeReport {
        same_code_as: Some("grace".into()),
        ..report.clone()
    };
    let copy_text = format::json::to_json(&copy);
    let copy_value: Value = serde_json::from_str(&copy_text).expect("valid JSON");
    assert_eq!(copy_value["same_code_as"], "grace");
    assert_eq!(
        GradeReport::from_json(&copy_text).expect("reads back"),
        copy
    );

    let old = text.replace(SCHEMA, "threadlings-grade/0");
    let problem = GradeReport::from_json(&old)
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
    assert_eq!(
        value["output_format"], "text",
        "student-chosen names are shown as text, never rendered as HTML"
    );
    assert!(
        tests.iter().all(|test| test["output_format"] == "text"),
        "{text}"
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
fn every_format_states_the_isolation_level_it_was_graded_at() {
    let report = sample();
    let said = "reduced (no cgroups)";
    for (format, text) in [
        ("json", format::json::to_json(&report)),
        ("junit", format::junit::to_junit(&report)),
        ("gradescope", format::gradescope::to_gradescope(&report)),
        ("markdown", format::markdown::to_markdown(&report)),
        ("text", format::text::to_text(&report)),
    ] {
        assert!(
            text.contains(said),
            "{format} does not say `{said}`:\n{text}"
        );
    }
}

#[test]
fn the_gradescope_validator_catches_a_wrong_file() {
    let wrong = r#"{"score": 3, "output_format": "rich", "tests": [{"name": "a", "score": 5,
        "max_score": 2, "status": "ok", "output": "", "visibility": "public", "points": 1}]}"#;
    let problems = format::gradescope::gradescope_problems(wrong).join("\n");
    for expected in [
        "score 3 is not the sum",
        "status is `ok`",
        "visibility is `public`",
        "undocumented field `points`",
        "0 <= score <= max_score",
        "`output_format` is \"rich\"",
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

/// The elements and attributes `junit-10.xsd` (the schema Jenkins publishes and most JUnit
/// report viewers read) allows, with the attributes it requires.
const JUNIT_10: &[(&str, &[&str], &[&str], &[&str])] = &[
    // (element, allowed attributes, required attributes, allowed children)
    (
        "testsuites",
        &["name", "time", "tests", "failures", "disabled", "errors"],
        &[],
        &["testsuite"],
    ),
    (
        "testsuite",
        &[
            "name",
            "tests",
            "failures",
            "errors",
            "group",
            "time",
            "disabled",
            "skipped",
            "timestamp",
            "hostname",
            "id",
            "package",
            "file",
            "log",
            "url",
            "version",
        ],
        &["name", "tests"],
        &["properties", "testcase", "system-out", "system-err"],
    ),
    ("properties", &[], &[], &["property"]),
    ("property", &["name", "value"], &["name", "value"], &[]),
    (
        "testcase",
        &["name", "assertions", "time", "classname", "status", "group"],
        &["name"],
        &["skipped", "error", "failure", "system-out", "system-err"],
    ),
    ("failure", &["message", "type"], &[], &[]),
    ("error", &["message", "type"], &[], &[]),
    ("skipped", &["message"], &[], &[]),
    ("system-out", &[], &[], &[]),
    ("system-err", &[], &[], &[]),
];

/// Every element, attribute and nesting the JUnit XML uses that `junit-10.xsd` does not allow.
fn junit_10_problems(text: &str) -> Vec<String> {
    use quick_xml::events::Event;
    let mut problems = Vec::new();
    let mut reader = quick_xml::Reader::from_str(text);
    let mut open: Vec<String> = Vec::new();
    loop {
        let (element, empty) = match reader.read_event() {
            Ok(Event::Start(e)) => (e.into_owned(), false),
            Ok(Event::Empty(e)) => (e.into_owned(), true),
            Ok(Event::End(_)) => {
                open.pop();
                continue;
            }
            Ok(Event::Eof) => break,
            Ok(_) => continue,
            Err(e) => return vec![format!("malformed XML: {e}")],
        };
        let name = String::from_utf8_lossy(element.name().as_ref()).into_owned();
        let Some((_, allowed, required, _)) = JUNIT_10.iter().find(|(n, ..)| *n == name) else {
            problems.push(format!("<{name}> is not a junit-10 element"));
            continue;
        };
        if let Some(parent) = open.last() {
            let children = JUNIT_10.iter().find(|(n, ..)| n == parent).map(|e| e.3);
            if !children.unwrap_or_default().contains(&name.as_str()) {
                problems.push(format!("<{name}> may not stand inside <{parent}>"));
            }
        }
        let attributes: Vec<String> = element
            .attributes()
            .flatten()
            .map(|a| String::from_utf8_lossy(a.key.as_ref()).into_owned())
            .collect();
        for attribute in &attributes {
            if !allowed.contains(&attribute.as_str()) {
                problems.push(format!("<{name}> may not have `{attribute}`"));
            }
        }
        for attribute in *required {
            if !attributes.iter().any(|a| a == attribute) {
                problems.push(format!("<{name}> needs `{attribute}`"));
            }
        }
        if !empty {
            open.push(name);
        }
    }
    problems
}

#[test]
fn junit_keeps_to_junit_10_and_times_every_suite() {
    let text = format::junit::to_junit(&sample());
    let problems = junit_10_problems(&text);
    assert!(problems.is_empty(), "{}\n{text}", problems.join("\n"));
    assert_eq!(
        text.matches("timestamp=\"2026-12-02T01:00:00").count(),
        2,
        "every <testsuite> has a timestamp, so report viewers can show it:\n{text}"
    );
    assert!(
        text.contains(
            "name=\"points.01_race_counter::counter_never_loses_an_increment\" value=\"0/3\""
        ),
        "each test's points are a property of its suite:\n{text}"
    );
}

#[test]
fn the_junit_checker_catches_what_junit_10_forbids() {
    let wrong = r#"<testsuites skipped="0"><testsuite name="a" tests="1"><testcase name="t"><properties/></testcase></testsuite></testsuites>"#;
    let problems = junit_10_problems(wrong).join("\n");
    for expected in [
        "<testsuites> may not have `skipped`",
        "<properties> may not stand inside <testcase>",
    ] {
        assert!(problems.contains(expected), "{problems}");
    }
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
    assert!(
        text.contains(
            "### 02_lock_fix (build_failed)\n\n~~~text\nthe code does not compile:\nerror[E0425]"
        ),
        "an exercise that did not build shows the compiler's error:\n{text}"
    );
    assert!(!text.contains("Graded once"), "{text}");
    let copy = GradeReport {
        same_code_as: Some("grace_*hopper*".into()),
        ..sample()
    };
    let text = format::markdown::to_markdown(&copy);
    assert!(
        text.contains(
            "Graded once with grace\\_\\*hopper\\*'s identical submission.\n\n| exercise"
        ),
        "a copy says whose grading it shares, before the table:\n{text}"
    );
}
