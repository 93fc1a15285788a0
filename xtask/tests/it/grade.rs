//! `cargo xtask grade` as an instructor runs it: the classroom workflow's own command, the
//! Gradescope file on stubs and on solutions, private tests, and a roster of mixed and hostile
//! submissions whose gradebook must agree with the per-student reports.
//!
//! Everything these tests write is under `CARGO_TARGET_TMPDIR`.

use std::path::Path;

use crate::util::{copy_dir, fresh_dir, processes_named, read, root, stderr_of, xtask};
use grader::format;
use grader::grade::{ExerciseStatus, GradeReport, TestLabel};
use grader::suite::SuiteKind;
use grader::verdict::VerdictLabel;

fn read_gradescope(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("grade wrote no {}: {e}", path.display()));
    let problems = format::gradescope::gradescope_problems(&text);
    assert!(
        problems.is_empty(),
        "{} breaks Gradescope's format:\n{}",
        path.display(),
        problems.join("\n")
    );
    serde_json::from_str(&text).expect("valid JSON")
}

/// The command the book's GitHub Actions workflow runs, read from the workflow itself.
fn workflow_command() -> Vec<String> {
    let workflow = std::fs::read_to_string(root().join("book/src/instructors/classroom.yml"))
        .expect("the classroom workflow exists");
    let line = workflow
        .lines()
        .map(str::trim)
        .find_map(|line| line.strip_prefix("run: cargo xtask grade"))
        .expect("the workflow has a `run: cargo xtask grade ...` step");
    line.split_whitespace()
        .map(|word| word.trim_matches('"').to_owned())
        .collect()
}

/// The workflow's step, as GitHub runs it: in `course/`, with the student's repository in
/// `submission/` and a step-summary file. The student is early in the course: their
/// repository holds exercise 01 (still the stub), so the other exercises are graded as
/// missing and the test stays quick.
#[test]
fn the_classroom_workflow_command_grades_a_students_repository() {
    let dir = fresh_dir("grade", "workflow");
    let course = dir.join("course");
    std::fs::create_dir_all(&course).expect("course/");
    copy_dir(
        &root().join("exercises/01_race_counter"),
        &dir.join("submission/exercises/01_race_counter"),
    );
    std::fs::write(dir.join("submission").join("Cargo.toml"), "[workspace]\n").expect("a manifest");
    let summary = dir.join("step-summary.md");
    let args: Vec<String> = workflow_command()
        .into_iter()
        .map(|arg| arg.replace("$GITHUB_STEP_SUMMARY", &summary.display().to_string()))
        .collect();
    assert!(
        args.contains(&"--submission".to_owned()),
        "the workflow grades the student's repository as a submission: {args:?}"
    );

    let output = xtask()
        .arg("grade")
        .args(&args)
        .current_dir(&course)
        .output()
        .expect("xtask runs");
    assert_eq!(
        output.status.code(),
        Some(1),
        "stubs lose points, so the job fails with exit code 1:\n{}",
        stderr_of(&output)
    );
    let junit = std::fs::read_to_string(dir.join("grade.xml")).expect("the workflow's JUnit file");
    assert!(
        junit.contains("<testsuite name=\"01_race_counter\""),
        "{junit}"
    );
    assert!(junit.contains("<failure"), "stubs fail tests:\n{junit}");
    assert!(
        junit.contains("<error"),
        "exercises missing from the repository are errors:\n{junit}"
    );
    let summary = std::fs::read_to_string(&summary).expect("the step summary was written");
    assert!(summary.contains("| missing |"), "{summary}");
    assert!(
        summary.contains("| exercise | points | status |"),
        "{summary}"
    );
    assert!(
        summary.contains("`Cargo.toml` (changed)"),
        "the added manifest is listed as ignored:\n{summary}"
    );
}

/// Exercises graded by the Gradescope test: one model-checked, one with a timing test. That
/// every solution passes every test of every exercise is `verify`'s claim (verify.rs), so
/// grading the whole catalog twice more here would only repeat it, at about 8 minutes of CI.
const GRADESCOPE_EXERCISES: [&str; 4] = ["--exercise", "01", "--exercise", "09"];

/// From a fresh clone: the stubs score low and the solutions score full marks, and both files
/// have Gradescope's documented fields.
#[test]
fn gradescope_results_score_stubs_low_and_solutions_full() {
    let dir = fresh_dir("grade", "gradescope");
    let stubs = dir.join("stubs.json");
    let output = xtask()
        .arg("grade")
        .args(GRADESCOPE_EXERCISES)
        .args(["--format", "gradescope", "--out"])
        .arg(&stubs)
        .output()
        .expect("xtask runs");
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    let stubs = read_gradescope(&stubs);
    let (score, max) = (
        stubs["score"].as_f64().unwrap(),
        stubs["max_score"].as_f64().unwrap(),
    );
    assert!(max > 0.0, "the catalog has points");
    assert!(
        score <= max / 2.0,
        "the untouched stubs scored {score} of {max}; unsolved exercises must score low"
    );

    let solutions = dir.join("solutions.json");
    let output = xtask()
        .args(["grade", "--submission"])
        .arg(root().join("solutions"))
        .args(GRADESCOPE_EXERCISES)
        .args(["--format", "gradescope", "--out"])
        .arg(&solutions)
        .output()
        .expect("xtask runs");
    let solutions = read_gradescope(&solutions);
    let failed: Vec<String> = solutions["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .filter(|t| t["status"] != "passed")
        .map(|t| format!("{}: {}", t["name"], t["output"]))
        .collect();
    assert!(
        failed.is_empty(),
        "the reference solutions failed tests:\n{}",
        failed.join("\n")
    );
    // A timing test this machine could not measure right now is `inconclusive`: it fails no
    // one but earns nothing, so full marks are the maximum less those tests.
    let unmeasured: f64 = solutions["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .filter(|t| {
            t["output"]
                .as_str()
                .is_some_and(|o| o.starts_with("inconclusive"))
        })
        .map(|t| t["max_score"].as_f64().unwrap_or_default())
        .sum();
    assert_eq!(
        solutions["score"].as_f64().unwrap_or_default() + unmeasured,
        solutions["max_score"].as_f64().unwrap_or_default(),
        "solutions get every point but those of unmeasured timing tests"
    );
    assert_eq!(
        solutions["max_score"].as_f64(),
        Some(max),
        "the same tests count for both"
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "solutions exit 0, even when a timing test could not be measured: {}",
        stderr_of(&output)
    );
}

/// An instructor's private test, added with `--hidden`, counts on top of the canonical ones.
#[test]
fn private_tests_add_their_points_and_catch_what_they_test() {
    let dir = fresh_dir("grade", "private");
    let exam = dir.join("exam").join("01_race_counter");
    std::fs::create_dir_all(&exam).expect("exam/01_race_counter");
    std::fs::write(
        exam.join("tests.rs"),
        r#"fn run_concurrently_calls_every_index_of_a_large_batch() {
    let counter = race_counter::Counter::new();
    race_counter::run_concurrently(16, |index| counter.add(index as u64));
    assert_eq!(counter.get(), 120, "16 threads adding 0..16 must total 120");
}
harness::hidden_tests![run_concurrently_calls_every_index_of_a_large_batch];
"#,
    )
    .expect("writing the private tests");
    std::fs::write(
        exam.join("exercise.toml"),
        "[[tests]]\nname = \"run_concurrently_calls_every_index_of_a_large_batch\"\npoints = 4\n",
    )
    .expect("writing the private metadata");

    // Labels of this test only: the other tests grade the same folders at the same time, and
    // the label names the scratch crate.
    let grade = |submission: &Path, label: &str| -> GradeReport {
        let out = dir.join(format!("{label}.json"));
        let output = xtask()
            .args([
                "grade",
                "--exercise",
                "01",
                "--format",
                "json",
                "--label",
                label,
            ])
            .arg("--hidden")
            .arg(dir.join("exam"))
            .arg("--submission")
            .arg(submission)
            .arg("--out")
            .arg(&out)
            .output()
            .expect("xtask runs");
        assert!(
            matches!(output.status.code(), Some(0 | 1)),
            "{}",
            stderr_of(&output)
        );
        GradeReport::from_json(&std::fs::read_to_string(&out).expect("a JSON report"))
            .expect("the report reads back")
    };

    let misspelt = dir.join("misspelt");
    std::fs::create_dir_all(misspelt.join("01_race_countr")).expect("a misspelt folder");
    let output = xtask()
        .args(["grade", "--exercise", "01", "--hidden"])
        .arg(&misspelt)
        .output()
        .expect("xtask runs");
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains("`01_race_countr` is not an exercise"),
        "a misspelt private folder is named, not silently skipped: {}",
        stderr_of(&output)
    );

    let solved = grade(&root().join("solutions"), "private_test_solutions");
    let exercise = &solved.exercises[0];
    let private = exercise
        .tests
        .iter()
        .find(|t| t.suite == SuiteKind::Private)
        .expect("the private test is in the report");
    assert_eq!((private.points, private.max_points), (4, 4), "{private:?}");
    assert_eq!(
        exercise.max_points,
        16 + 4,
        "private points add to the exercise's"
    );
    assert_eq!(exercise.status, ExerciseStatus::Passed);

    let stub = grade(&root().join("exercises"), "private_test_stubs");
    let private = stub.exercises[0]
        .tests
        .iter()
        .find(|t| t.suite == SuiteKind::Private)
        .expect("the private test is in the stub's report");
    assert_eq!(
        private.points, 0,
        "the stub's run_concurrently is a todo!(), so the private test fails: {private:?}"
    );
    assert_eq!(
        private.verdict,
        TestLabel::Verdict(VerdictLabel::Panic),
        "{private:?}"
    );
}

/// A private test list that names a test its file does not define is the instructor's
/// mistake: grading stops with exit 2 and says so, instead of giving the student zero.
#[test]
fn a_broken_private_suite_stops_grading_instead_of_costing_the_student() {
    let dir = fresh_dir("grade", "broken_private");
    let exam = dir.join("exam").join("01_race_counter");
    std::fs::create_dir_all(&exam).expect("exam/01_race_counter");
    std::fs::write(
        exam.join("tests.rs"),
        "fn defined() {}\nharness::hidden_tests![defined];\n",
    )
    .expect("writing the private tests");
    std::fs::write(
        exam.join("exercise.toml"),
        "[[tests]]\nname = \"defined\"\npoints = 1\n\n[[tests]]\nname = \"never_written\"\npoints = 2\n",
    )
    .expect("writing the private metadata");
    let out = dir.join("report.json");
    let output = xtask()
        .args(["grade", "--exercise", "01", "--format", "json", "--label"])
        .arg("broken_private")
        .arg("--hidden")
        .arg(dir.join("exam"))
        .arg("--submission")
        .arg(root().join("solutions"))
        .arg("--out")
        .arg(&out)
        .output()
        .expect("xtask runs");
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains("`never_written`"),
        "the error names the missing test: {}",
        stderr_of(&output)
    );
    assert!(!out.exists(), "no report with a made-up zero is written");
}

/// An instructor who asks for full isolation gets none of less: on a machine that can only
/// isolate partly (forced here with THREADLINGS_ISOLATION), grading refuses to start.
#[test]
fn require_isolation_refuses_a_machine_that_cannot_isolate_fully() {
    let output = xtask()
        .env("THREADLINGS_ISOLATION", "no-namespaces")
        .args(["grade", "--require-isolation", "--exercise", "01"])
        .output()
        .expect("xtask runs");
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains("reduced (no user namespaces)"),
        "the refusal names the level this machine allows: {}",
        stderr_of(&output)
    );
}

/// An upload the grader cannot read (here a folder with loose files) still gets a
/// `results.json` that passes Gradescope's checks and tells the student why, with exit code 2.
#[test]
fn an_ungradable_upload_still_gets_a_gradescope_results_file() {
    let dir = fresh_dir("grade", "ungradable");
    let upload = dir.join("upload");
    std::fs::create_dir_all(&upload).expect("an upload folder");
    std::fs::write(upload.join("lib.rs"), "pub fn f() {}\n").expect("a loose file");
    let results = dir.join("results.json");
    let output = xtask()
        .args(["grade", "--format", "gradescope", "--submission"])
        .arg(&upload)
        .arg("--out")
        .arg(&results)
        .output()
        .expect("xtask runs");
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    let value = read_gradescope(&results);
    assert_eq!(value["score"], 0.0);
    let said = value["output"].as_str().unwrap_or_default();
    assert!(
        said.contains("could not grade") && said.contains("exercises/"),
        "the student reads why and what to upload: {said}"
    );
}

/// `grade --roster` of exercise 01 of `roster` into `out`, two students at a time.
fn grade_roster_01(roster: &Path, out: &Path) -> std::process::Output {
    xtask()
        .args(["grade", "--exercise", "01", "--jobs", "2", "--roster"])
        .arg(roster)
        .arg("--out")
        .arg(out)
        .output()
        .expect("xtask runs")
}

/// Two students whose folder names differ only in `.` and `_` keep their own grades, even
/// graded at the same time: one submitted the solution, the other the stub.
#[test]
fn students_whose_names_look_alike_never_share_a_build() {
    let dir = fresh_dir("grade", "lookalikes");
    let roster = dir.join("submissions");
    copy_dir(
        &root().join("solutions/01_race_counter"),
        &roster.join("x.y").join("01_race_counter"),
    );
    copy_dir(
        &root().join("exercises/01_race_counter"),
        &roster.join("x_y").join("01_race_counter"),
    );
    let out = dir.join("out");
    let output = grade_roster_01(&roster, &out);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let points = |student: &str| {
        let text = std::fs::read_to_string(out.join("students").join(format!("{student}.json")))
            .expect("a report per student");
        let report = GradeReport::from_json(&text).expect("the report reads back");
        (report.points, report.max_points)
    };
    let (solved, max) = points("x.y");
    assert_eq!(solved, max, "x.y submitted the solution");
    let (stub, _) = points("x_y");
    assert!(stub < max, "x_y submitted the stub and got {stub}/{max}");
}

/// Two students who submitted the same code are graded once: the copy's report is the one
/// graded, under the copy's name and with the copy's own ignored changes, and names whose
/// grading it shares. One byte more, even inside a comment, is other code, graded on its own.
#[test]
fn identical_code_is_graded_once_and_code_one_byte_away_on_its_own() {
    let dir = fresh_dir("grade", "same_code");
    let roster = dir.join("submissions");
    let ada = roster.join("ada/01_race_counter");
    copy_dir(&root().join("solutions/01_race_counter"), &ada);
    // A mark of this test's own, so that no other test's roster shares (and removes) its build.
    let marked = format!(
        "{}\n// marked for {}\n",
        read(&ada.join("src/lib.rs")),
        dir.display()
    );
    std::fs::write(ada.join("src/lib.rs"), &marked).expect("the mark is written");
    // bob submitted the same code as a checkout, with a manifest of its own (ignored).
    let bob = roster.join("bob/exercises/01_race_counter");
    copy_dir(&ada, &bob);
    std::fs::write(bob.join("Cargo.toml"), "[package]\nname = \"mine\"\n").expect("write");
    // cy differs by one byte, in a comment: the same program, but the key is the bytes graded,
    // so that no rule of what may differ is there for a student to aim at.
    let cy = roster.join("cy/01_race_counter");
    copy_dir(&ada, &cy);
    let one_more = marked.replacen("// marked", "// marked!", 1);
    assert_eq!(one_more.len(), marked.len() + 1);
    std::fs::write(cy.join("src/lib.rs"), one_more).expect("write");

    let out = dir.join("out");
    let output = grade_roster_01(&roster, &out);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("Grading 3 submissions")
            && stderr.contains("(1 with the same code as another, graded once)"),
        "{stderr}"
    );
    let report = |student: &str| {
        GradeReport::from_json(&read(&out.join("students").join(format!("{student}.json"))))
            .expect("the report reads back")
    };
    let (original, copy, near) = (report("ada"), report("bob"), report("cy"));
    assert_eq!(original.points, original.max_points, "{original:?}");
    assert!(
        stderr.contains(&format!(
            "bob: {0}/{0} (same code as ada: graded once)",
            original.max_points
        )),
        "{stderr}"
    );
    assert_eq!(copy.same_code_as.as_deref(), Some("ada"));
    assert_eq!(copy.subject, "bob");
    assert!(
        copy.ignored
            .listed
            .iter()
            .any(|change| change.path == "exercises/01_race_counter/Cargo.toml"),
        "the copy's ignored changes are its own: {:?}",
        copy.ignored
    );
    assert_ne!(copy.ignored, original.ignored);
    // Everything else, to the start time and the milliseconds of every test, is the one grading.
    assert_eq!(
        GradeReport {
            subject: original.subject.clone(),
            ignored: original.ignored.clone(),
            same_code_as: None,
            ..copy
        },
        original
    );
    assert_eq!(original.same_code_as, None);
    assert_eq!(
        near.same_code_as, None,
        "one byte away is graded on its own"
    );
    assert_eq!(near.points, near.max_points);
    assert!(
        stderr.contains(&format!("cy: {0}/{0}\n", near.max_points)),
        "{stderr}"
    );
    assert!(
        read(&out.join("students/bob.md")).contains("Graded once with ada's identical submission."),
        "the copy's Markdown report says whose grading it shares"
    );
    let gradebook = read(&out.join("gradebook.csv"));
    let row_after_name = |student: &str| {
        gradebook
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{student},")))
            .map(str::to_owned)
    };
    assert_eq!(row_after_name("bob"), row_after_name("ada"), "{gradebook}");
}

/// The attempts a roster mixes in, and what makes each hostile.
const HOSTILE: &[&str] = &[
    "forks_fifty_children",
    "aborts",
    "floods_stdout",
    "exits_zero_mid_test",
    "forges_grader_lines_then_skips_the_work",
    "overflows_the_stack",
];

/// Writes a submission whose exercise 01 is the solution with an attempt's edits applied.
fn hostile_submission(dir: &Path, attempt: &str, marker: &str) {
    let path = root()
        .join("grader/tests/attempts/01_race_counter")
        .join(format!("{attempt}.toml"));
    let text = std::fs::read_to_string(&path).expect("the attempt exists");
    let spec: toml::Table = toml::from_str(&text.replace("hostile-fork", marker)).expect("TOML");
    let mut source = std::fs::read_to_string(root().join("solutions/01_race_counter/src/lib.rs"))
        .expect("the solution");
    for edit in spec["edit"].as_array().expect("edits") {
        let find = edit["find"].as_str().expect("find");
        let replace = edit["replace"].as_str().expect("replace");
        assert_eq!(
            source.matches(find).count(),
            1,
            "{attempt}: the edit applies once"
        );
        source = source.replace(find, replace);
    }
    let crate_dir = dir.join("01_race_counter");
    copy_dir(&root().join("exercises/01_race_counter"), &crate_dir);
    std::fs::write(crate_dir.join("src/lib.rs"), source).expect("writing the attempt");
}

#[test]
fn a_roster_of_mixed_and_hostile_submissions_gives_a_gradebook_that_matches_the_reports() {
    let dir = fresh_dir("grade", "roster");
    let roster = dir.join("submissions");
    for student in ["sol_ada", "sol_grace"] {
        copy_dir(
            &root().join("solutions/01_race_counter"),
            &roster.join(student).join("exercises/01_race_counter"),
        );
    }
    for student in ["stub_alan", "stub_barbara"] {
        copy_dir(
            &root().join("exercises/01_race_counter"),
            &roster.join(student).join("01_race_counter"),
        );
    }
    let marker = format!("rf{}", std::process::id());
    for attempt in HOSTILE {
        hostile_submission(&roster.join(format!("hostile_{attempt}")), attempt, &marker);
    }
    let out = dir.join("out");
    let output = xtask()
        .args(["grade", "--exercise", "01", "--roster"])
        .arg(&roster)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("xtask runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "every student was graded:\n{}",
        stderr_of(&output)
    );
    assert_eq!(
        processes_named(&marker),
        0,
        "children forked by a hostile submission outlived the roster grading"
    );

    let mut gradebook = csv::Reader::from_path(out.join("gradebook.csv")).expect("the gradebook");
    let header = gradebook.headers().expect("a header").clone();
    assert_eq!(
        header.iter().collect::<Vec<_>>(),
        [
            "student",
            "01_race_counter",
            "total",
            "max_total",
            "problem"
        ]
    );
    let mut rows = 0;
    for row in gradebook.records() {
        let row = row.expect("a CSV row");
        rows += 1;
        let student = &row[0];
        let report = GradeReport::from_json(
            &std::fs::read_to_string(out.join("students").join(format!("{student}.json")))
                .expect("a report per student"),
        )
        .expect("the report reads back");
        assert!(
            std::fs::read_to_string(out.join("students").join(format!("{student}.md")))
                .is_ok_and(|md| md.contains(&format!("{}/{}", report.points, report.max_points))),
            "{student}'s Markdown report shows the same total"
        );
        assert_eq!(
            row[1].parse::<u32>().ok(),
            Some(report.exercises[0].points),
            "{student}"
        );
        assert_eq!(row[2].parse::<u32>().ok(), Some(report.points), "{student}");
        assert_eq!(
            row[3].parse::<u32>().ok(),
            Some(report.max_points),
            "{student}"
        );
        let full = report.points == report.max_points;
        if student.starts_with("sol_") {
            assert!(
                full,
                "{student} submitted the solution and got {}/{}",
                report.points, report.max_points
            );
        } else {
            assert!(
                !full,
                "{student} must not pass, got {}/{}",
                report.points, report.max_points
            );
        }
        if student.starts_with("hostile_") {
            let caught = report.exercises[0]
                .tests
                .iter()
                .find(|t| t.name == "run_concurrently_runs_every_index_once")
                .expect("the attacked test ran");
            assert!(!caught.verdict.is_pass(), "{student}: {caught:?}");
        }
    }
    assert_eq!(rows, 10, "one row per submission");
}

/// A student's exercises are built with one debug cargo run, and the timing tests left to run
/// with one release run for every exercise that has them, not a build per exercise: counted
/// with a `CARGO` that logs each run. An exercise that does not compile fails alone, a timer
/// its clock-free test already failed is never built for, and the report keeps every test in
/// the suite's order, as one check per exercise would.
#[test]
fn a_student_is_built_once_in_debug_and_once_in_release_for_the_timers_left() {
    let dir = fresh_dir("grade", "one-build");
    let submission = dir.join("student");
    for (number, from) in [
        ("05", "solutions"),
        ("06", "exercises"),
        ("09", "solutions"),
        ("01", "solutions"),
    ] {
        let exercise = std::fs::read_dir(root().join(from))
            .expect("the tree")
            .flatten()
            .find(|entry| entry.file_name().to_string_lossy().starts_with(number))
            .expect("the exercise");
        copy_dir(
            &exercise.path().join("src"),
            &submission
                .join("exercises")
                .join(exercise.file_name())
                .join("src"),
        );
    }
    let broken = std::fs::read_dir(submission.join("exercises"))
        .expect("the submission")
        .flatten()
        .find(|entry| entry.file_name().to_string_lossy().starts_with("01"))
        .expect("exercise 01")
        .path()
        .join("src/lib.rs");
    let code = read(&broken);
    std::fs::write(
        &broken,
        format!("{code}\npub fn broken() -> u32 {{ \"a string\" }}\n"),
    )
    .expect("writing the submission");

    let log = dir.join("cargo-runs.log");
    let counting_cargo = dir.join("cargo");
    std::fs::write(
        &counting_cargo,
        "#!/bin/sh\nprintf '%s\\n' \"$*\" >> \"$COUNTED_RUNS\"\nexec \"$REAL_CARGO\" \"$@\"\n",
    )
    .expect("writing the counting cargo");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&counting_cargo, std::fs::Permissions::from_mode(0o755))
            .expect("making it executable");
    }
    let json = dir.join("grade.json");
    let output = xtask()
        .args(["grade", "--submission"])
        .arg(&submission)
        .args([
            "--exercise",
            "01",
            "--exercise",
            "05",
            "--exercise",
            "06",
            "--exercise",
            "09",
        ])
        .args(["--format", "json", "--out"])
        .arg(&json)
        .env("CARGO", &counting_cargo)
        .env(
            "REAL_CARGO",
            std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()),
        )
        .env("COUNTED_RUNS", &log)
        .output()
        .expect("xtask runs");
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));

    let runs = read(&log);
    let builds: Vec<&str> = runs
        .lines()
        .filter(|run| !run.starts_with("rustc "))
        .collect();
    assert_eq!(builds.len(), 2, "one debug and one release build:\n{runs}");
    let (debug, release) = (builds[0], builds[1]);
    assert!(
        !debug.contains("--release") && release.contains("--release"),
        "{runs}"
    );
    for package in [
        "hidden_race_counter-",
        "hidden_process_pool-",
        "hidden_shared_array-",
        "hidden_map_reduce-",
    ] {
        assert!(
            debug.contains(package),
            "every exercise is built in debug: {debug}"
        );
    }
    for package in ["hidden_process_pool-", "hidden_map_reduce-"] {
        assert!(
            release.contains(package),
            "a timer left to run is built: {release}"
        );
    }
    assert!(
        !release.contains("hidden_shared_array-") && !release.contains("hidden_race_counter-"),
        "no release build for a timer already decided or code that does not compile: {release}"
    );

    let report = GradeReport::from_json(&read(&json)).expect("the JSON report reads");
    let workspace = crate::util::workspace();
    let catalog = grader::catalog::Catalog::load(&workspace).expect("the catalog");
    let statuses: Vec<(&str, ExerciseStatus)> = report
        .exercises
        .iter()
        .map(|exercise| (&exercise.dir_name[..2], exercise.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("01", ExerciseStatus::BuildFailed),
            ("05", ExerciseStatus::Passed),
            ("06", ExerciseStatus::Failed),
            ("09", ExerciseStatus::Passed),
        ],
        "{}",
        stderr_of(&output)
    );
    for graded in &report.exercises {
        let exercise = catalog.find(&graded.dir_name[..2]).expect("in the catalog");
        let names: Vec<&str> = graded.tests.iter().map(|test| test.name.as_str()).collect();
        let suite: Vec<&str> = exercise
            .meta
            .tests
            .iter()
            .map(|test| test.name.as_str())
            .collect();
        assert_eq!(names, suite, "every test, in the suite's order");
    }
    let stub_timer = &report.exercises[2]
        .tests
        .iter()
        .find(|test| test.name == "parallel_apply_speeds_up_a_cpu_heavy_function")
        .expect("06's timer");
    assert_eq!(stub_timer.verdict, TestLabel::Verdict(VerdictLabel::Fail));
    assert_eq!(stub_timer.elapsed_ms, 0, "decided without being run");
}
