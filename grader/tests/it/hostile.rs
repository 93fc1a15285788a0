//! Hostile submissions that need more than a verdict to be judged safe.
//!
//! `attempts.rs` proves every file in `attempts/` gets its declared verdict. The cases here
//! check what a verdict cannot show: that 50 forked children are gone afterwards, that a flood
//! of output is capped, and that a submission's own manifest, build script, dependency,
//! `sync.rs`, visible tests and (in a fork) hidden tests are never used, only listed as ignored.
//! Each case prints how long it took to get its verdict; nothing asserts on time.
//!
//! Linux only: the attacks assume its isolation ladder (namespaces, cgroups, Landlock), and on
//! macOS, where nothing bounds a process tree, the fork bomb would take the machine.
#![cfg(target_os = "linux")]

use std::path::Path;
use std::time::Instant;

use grader::catalog::{Catalog, Exercise};
use grader::check::{self, Options, Outcome};
use grader::grade::{self, ExerciseStatus, GradeReport, GradeRequest, Source, TestLabel};
use grader::mutant::Mutant;
use grader::subject::Subject;
use grader::submission::Submission;
use grader::verdict::VerdictLabel;
use grader::workspace::Workspace;

use crate::util::{fresh_dir, one_at_a_time, workspace};

fn exercise_01(workspace: &Workspace) -> Exercise {
    Catalog::load(workspace)
        .expect("the catalog loads")
        .find("01")
        .expect("exercise 01 exists")
        .clone()
}

fn attempt(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/attempts/01_race_counter")
        .join(format!("{name}.toml"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Processes on the machine whose name is `name`.
fn processes_named(name: &str) -> Vec<String> {
    harness::platform::processes()
        .into_iter()
        .filter(|p| p.name == name)
        .map(|p| p.pid.to_string())
        .collect()
}

#[test]
fn fifty_forked_children_are_a_leak_and_none_survives_grading() {
    let _serial = one_at_a_time();
    grader::reaper::become_subreaper();
    let workspace = workspace();
    let exercise = exercise_01(&workspace);
    // A name of this run only, so another grader on the machine cannot confuse the count.
    let marker = format!("hf{}", std::process::id());
    let dir = fresh_dir("hostile", "forks");
    let path = dir.join("forks_fifty_children_marked.toml");
    std::fs::write(
        &path,
        attempt("forks_fifty_children").replace("hostile-fork", &marker),
    )
    .expect("writing the attempt");
    let mutant = Mutant::load(&path).expect("the attempt parses");

    let started = Instant::now();
    let claim =
        grader::verify::mutant_rejected(&workspace, &exercise, &mutant).expect("grading runs");
    eprintln!(
        "hostile case forks_fifty_children: verdict in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        claim.holds(),
        "forking 50 children must be a leak: {:?}",
        claim.problem
    );
    let left = processes_named(&marker);
    assert!(
        left.is_empty(),
        "{} forked children ({}) outlived grading; the runner must kill and reap every one",
        left.len(),
        left.join(", ")
    );
}

#[test]
fn a_flood_of_output_is_capped_and_still_judged() {
    let _serial = one_at_a_time();
    let workspace = workspace();
    let exercise = exercise_01(&workspace);
    let dir = fresh_dir("hostile", "flood");
    let path = dir.join("floods_stdout.toml");
    std::fs::write(&path, attempt("floods_stdout")).expect("writing the attempt");
    let mutant = Mutant::load(&path).expect("the attempt parses");
    let subject = Subject::mutant(&workspace, &exercise, &mutant).expect("the edits apply");
    let options = Options {
        only: vec![mutant.spec.expect.rejected_by.clone()],
        ..Options::default()
    };
    let started = Instant::now();
    let report = check::check(&workspace, &exercise, &subject, &options).expect("grading runs");
    eprintln!(
        "hostile case floods_stdout: verdict in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let Outcome::Graded { tests } = &report.outcome else {
        panic!("the flood compiles and runs, got {:?}", report.outcome);
    };
    let test = &tests[0];
    assert_eq!(
        test.verdict.label(),
        VerdictLabel::Fail,
        "skipping the work after the flood fails: {:?}",
        test.verdict
    );
    let limit = 2 * grader::runner::OUTPUT_CAP + 1024;
    assert!(
        test.output.len() <= limit,
        "300 MiB of output must be capped: {} bytes were kept, at most {limit} may be",
        test.output.len()
    );
    assert!(
        test.output.contains("more bytes not kept"),
        "the cut is marked"
    );
}

fn grade_only_01(workspace: &Workspace, submission: Submission) -> GradeReport {
    let catalog = Catalog {
        exercises: vec![exercise_01(workspace)],
    };
    grade::grade(
        workspace,
        &catalog,
        &mut GradeRequest {
            source: &Source::Submission(submission),
            private_dir: None,
            on_exercise: &mut |_| {},
            budget: None,
        },
    )
    .expect("grading runs")
}

/// Copies the stub of exercise 01 (its manifest and `src/`) to `to`.
fn copy_stub(workspace: &Workspace, to: &Path) {
    let stub = workspace.exercises_dir().join("01_race_counter");
    std::fs::create_dir_all(to.join("src")).expect("creating src/");
    for file in ["Cargo.toml", "src/lib.rs", "src/sync.rs"] {
        std::fs::copy(stub.join(file), to.join(file)).expect("copying the stub");
    }
}

/// The stub, with everything around `src/*.rs` turned against the grader. Had any of it been
/// used, the build would fail (build script, dependency, `sync.rs`) or the stub would pass
/// (visible tests); the canonical copies give the stub its ordinary failing grade.
#[test]
fn a_submissions_manifest_build_script_dependency_sync_and_tests_are_ignored() {
    let _serial = one_at_a_time();
    let workspace = workspace();
    let dir = fresh_dir("hostile", "manifest");
    let crate_dir = dir.join("exercises").join("01_race_counter");
    copy_stub(&workspace, &crate_dir);
    let marker = dir.join("build-script-ran");
    std::fs::write(
        crate_dir.join("Cargo.toml"),
        "[package]\nname = \"race_counter\"\nversion = \"0.1.0\"\nedition = \"2021\"\nbuild = \"build.rs\"\n\n\
         [dependencies]\nthreadlings-no-such-crate = \"99\"\n",
    )
    .expect("writing the manifest");
    std::fs::write(
        crate_dir.join("build.rs"),
        format!(
            "fn main() {{ std::fs::write({:?}, \"ran\").unwrap(); panic!(\"the build script ran\"); }}\n",
            marker.display().to_string()
        ),
    )
    .expect("writing the build script");
    std::fs::write(
        crate_dir.join("src").join("sync.rs"),
        "compile_error!(\"the submission's own sync.rs was compiled\");\n",
    )
    .expect("writing sync.rs");
    std::fs::create_dir_all(crate_dir.join("tests")).expect("tests/");
    std::fs::write(
        crate_dir.join("tests").join("visible.rs"),
        "#[test]\nfn always() {}\n",
    )
    .expect("writing a visible test");

    let started = Instant::now();
    let submission = Submission::open(&dir.join("exercises"), Some("mallory")).expect("it opens");
    let report = grade_only_01(&workspace, submission);
    eprintln!(
        "hostile case edited manifest, build.rs, dependency, sync.rs, tests: verdict in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let exercise = &report.exercises[0];
    assert_eq!(
        exercise.status,
        ExerciseStatus::Failed,
        "the stub must be graded with the canonical manifest and sync.rs and fail: {exercise:#?}"
    );
    let stub_test = exercise
        .tests
        .iter()
        .find(|t| t.name == "counter_never_loses_an_increment")
        .expect("the stub's declared test ran");
    assert_eq!(
        stub_test.verdict,
        TestLabel::Verdict(VerdictLabel::Fail),
        "the stub loses updates as always: {stub_test:?}"
    );
    assert!(!marker.exists(), "the submission's build script ran");
    let ignored: Vec<&str> = report
        .ignored
        .listed
        .iter()
        .map(|c| c.path.as_str())
        .collect();
    for path in [
        "01_race_counter/Cargo.toml",
        "01_race_counter/build.rs",
        "01_race_counter/src/sync.rs",
        "01_race_counter/tests/visible.rs",
    ] {
        assert!(
            ignored.contains(&path),
            "`{path}` must be listed as ignored, the list is {ignored:?}"
        );
    }
    assert!(
        !ignored.contains(&"01_race_counter/src/lib.rs"),
        "src/lib.rs is graded, not ignored: {ignored:?}"
    );
}

/// A student's fork whose hidden tests were replaced by ones that always pass.
#[test]
fn a_fork_with_rewritten_hidden_tests_is_graded_by_the_canonical_ones() {
    let _serial = one_at_a_time();
    let workspace = workspace();
    let dir = fresh_dir("hostile", "fork");
    copy_stub(&workspace, &dir.join("exercises").join("01_race_counter"));
    let hidden = dir.join("grader/hidden/01_race_counter");
    std::fs::create_dir_all(&hidden).expect("grader/hidden/");
    std::fs::write(
        hidden.join("tests.rs"),
        "fn counter_never_loses_an_increment() {}\nharness::hidden_tests![counter_never_loses_an_increment];\n",
    )
    .expect("writing the fake hidden tests");

    let started = Instant::now();
    let submission = Submission::open(&dir, None).expect("a checkout opens");
    let report = grade_only_01(&workspace, submission);
    eprintln!(
        "hostile case fork with rewritten hidden tests: verdict in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let exercise = &report.exercises[0];
    assert_eq!(exercise.status, ExerciseStatus::Failed, "{exercise:#?}");
    assert!(
        exercise.points < exercise.max_points,
        "the stub got {} of {} points through rewritten hidden tests",
        exercise.points,
        exercise.max_points
    );
    assert_eq!(
        report.subject, "fork",
        "the label defaults to the folder's name"
    );
    assert!(
        report
            .ignored
            .listed
            .iter()
            .any(|c| c.path == "grader/hidden/01_race_counter/tests.rs" && c.change == "changed"),
        "the edited hidden tests are listed as ignored: {:?}",
        report.ignored
    );
}

/// A fork whose `src/lib.rs` is a symlink to the reference solution in the same repository.
#[test]
fn a_symlink_to_the_solution_is_not_followed() {
    let _serial = one_at_a_time();
    let workspace = workspace();
    let dir = fresh_dir("hostile", "symlink");
    let crate_dir = dir.join("exercises").join("01_race_counter");
    copy_stub(&workspace, &crate_dir);
    let lib = crate_dir.join("src").join("lib.rs");
    std::fs::remove_file(&lib).expect("removing the stub's lib.rs");
    let solution = workspace.solutions_dir().join("01_race_counter/src/lib.rs");
    std::os::unix::fs::symlink(std::path::absolute(&solution).expect("a path"), &lib)
        .expect("a symlink");

    let started = Instant::now();
    let submission = Submission::open(&dir, Some("symlinker")).expect("a checkout opens");
    let report = grade_only_01(&workspace, submission);
    eprintln!(
        "hostile case symlink to the solution: verdict in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let exercise = &report.exercises[0];
    assert_eq!(
        exercise.points, 0,
        "a symlinked lib.rs must not bring the solution in: {exercise:#?}"
    );
    assert!(
        report.ignored.listed.iter().any(|c| {
            c.path == "exercises/01_race_counter/src/lib.rs" && c.change == "symlink, not followed"
        }),
        "the symlink is listed: {:?}",
        report.ignored
    );
}

/// The run-time sandbox on its own: attacks from `tests/sandbox/fixture.rs`, a hidden-test
/// binary written by hand around every compile-time check, run through the runner at every
/// isolation level this machine allows (the lower ones forced). Each attack runs at the levels
/// that claim to stop it; a `pass` would mean it worked.
mod sandbox {
    use std::path::{Path, PathBuf};
    use std::time::{Duration, Instant};

    use grader::runner::{self, RawRun, RunRequest};
    use grader::sandbox::{self, Isolation};
    use grader::verdict::{self, Verdict, VerdictLabel};

    use crate::util::{checkout, one_at_a_time};

    /// One attack, the weakest level that stops it, and the verdicts that count as stopped.
    struct Attack {
        test: &'static str,
        stopped_from: Isolation,
        verdicts: &'static [&'static str],
        timeout_secs: u64,
        memory_mib: u64,
    }

    const fn attack(
        test: &'static str,
        stopped_from: Isolation,
        verdicts: &'static [&'static str],
    ) -> Attack {
        Attack {
            test,
            stopped_from,
            verdicts,
            timeout_secs: 10,
            memory_mib: 4096,
        }
    }

    const ATTACKS: &[Attack] = &[
        attack("kill_parent", Isolation::NoUserNamespaces, &["fail"]),
        attack("stop_parent", Isolation::NoUserNamespaces, &["fail"]),
        attack("kill_everyone", Isolation::NoCgroups, &["fail"]),
        attack("read_other_command_lines", Isolation::NoCgroups, &["fail"]),
        attack("read_the_checkout", Isolation::NoUserNamespaces, &["fail"]),
        attack("read_the_roster", Isolation::NoUserNamespaces, &["fail"]),
        attack("write_hidden_tests", Isolation::NoUserNamespaces, &["fail"]),
        attack(
            "poison_the_build_folder",
            Isolation::NoUserNamespaces,
            &["fail"],
        ),
        attack(
            "connect_to_localhost",
            Isolation::NoUserNamespaces,
            &["fail"],
        ),
        attack("setsid_child", Isolation::Minimal, &["leak"]),
        attack("relay_daemons", Isolation::Minimal, &["leak"]),
        Attack {
            memory_mib: 384,
            ..attack("three_large_children", Isolation::Full, &["fail", "crash"])
        },
        Attack {
            timeout_secs: 3,
            ..attack(
                "fork_bomb",
                Isolation::NoCgroups,
                &["timeout:spinning", "timeout:unknown", "crash"],
            )
        },
        attack(
            "forge_a_pass_with_a_found_nonce",
            Isolation::Minimal,
            &["crash", "fail"],
        ),
        attack("read_the_nonce_again", Isolation::Minimal, &["fail"]),
        Attack {
            timeout_secs: 2,
            ..attack(
                "look_starved_on_a_quiet_machine",
                Isolation::Minimal,
                &["timeout:sleeping", "timeout:spinning", "timeout:unknown"],
            )
        },
    ];

    /// A service of the machine for `connect_to_localhost` to reach (the fixture's port).
    fn listen_on_the_machine() -> std::net::TcpListener {
        std::net::TcpListener::bind("127.0.0.1:47613").expect("port 47613 is free")
    }

    /// Another student's file in a roster folder, for the attacks to aim at.
    fn make_roster() {
        let file =
            checkout().join("target/hostile-roster/alice/exercises/01_race_counter/src/lib.rs");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "// alice's counter\n").unwrap();
    }

    fn run_attack(attack: &Attack, level: Isolation) -> (RawRun, Verdict, Duration) {
        let request = RunRequest {
            executable: PathBuf::from(env!("CARGO_BIN_EXE_hostile_fixture")),
            test_name: attack.test.to_owned(),
            timeout: Duration::from_secs(attack.timeout_secs),
            memory_mib: attack.memory_mib,
            sandbox_dir: Path::new(env!("CARGO_TARGET_TMPDIR")).join("hostile-sandbox"),
            extra_args: Vec::new(),
        };
        let started = Instant::now();
        let run = runner::run_isolated(&request, level).expect("the runner runs the fixture");
        let took = started.elapsed();
        let verdict = verdict::decide(
            &run,
            &verdict::Context {
                tests_file: Path::new("grader/tests/sandbox/fixture.rs"),
                display_dir: "fixture",
                timeout: request.timeout,
                memory_mib: request.memory_mib,
                sources: &Default::default(),
            },
        );
        (run, verdict, took)
    }

    /// A busy machine never turns correct code into a timeout: with eight spinning threads
    /// per core beside it, a test that needs half a second of CPU time cannot finish within
    /// its one-second limit of wall time, and the runner waits for it while it has used less
    /// than its limit in CPU time (`runner::Patience`). Before, this was `timeout:spinning`.
    #[test]
    fn a_test_the_machine_starves_is_not_timed_out() {
        let _serial = one_at_a_time();
        grader::reaper::become_subreaper();
        let stop = std::sync::atomic::AtomicBool::new(false);
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let (run, verdict, _) = std::thread::scope(|scope| {
            for _ in 0..8 * cores {
                scope.spawn(|| {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        std::hint::spin_loop();
                    }
                });
            }
            let starved = Attack {
                timeout_secs: 1,
                ..attack("compute_for_half_a_second", Isolation::Minimal, &[])
            };
            let outcome = run_attack(&starved, sandbox::isolation());
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            outcome
        });
        assert!(
            matches!(
                verdict.label(),
                VerdictLabel::Pass | VerdictLabel::Inconclusive
            ),
            "a starved correct test got {verdict:?}\nstderr: {}",
            run.stderr.text()
        );
    }

    /// A deadlock for good is proved and ended before its limit (`diagnosis::waiting_for_good`),
    /// with the verdict the limit would have given; waits that can still end are left alone: a
    /// timed wait runs to its limit, and threads that take turns through a condition variable
    /// (each asleep with no timeout whenever it is not its turn) finish and pass. The first
    /// case would end at its 60 s limit without the early look (`for_good` false). The last
    /// is the shape the context-switch comparison guards: a look reads the threads one by one,
    /// so it can find both asleep while they hand over (rarely; it passed without the
    /// comparison in 3 runs of 3, so this case alone does not prove the comparison).
    #[test]
    fn only_a_deadlock_for_good_ends_before_the_limit() {
        let _serial = one_at_a_time();
        grader::reaper::become_subreaper();
        let level = sandbox::isolation();
        let ending_for_good = |run: &RawRun| match &run.ending {
            runner::Ending::TimedOut(diagnosis) => Some(diagnosis.for_good),
            _ => None,
        };

        let deadlock = Attack {
            timeout_secs: 60,
            ..attack("deadlock_on_two_locks", Isolation::Minimal, &[])
        };
        // Every level this machine allows: the test's processes are found below a namespace's
        // init at the top of the ladder and by process group at the bottom.
        for weaker in Isolation::ALL.into_iter().filter(|weaker| *weaker >= level) {
            let (run, verdict, _) = run_attack(&deadlock, weaker);
            assert_eq!(
                verdict.label().to_string(),
                "timeout:deadlock",
                "at {weaker}: {verdict:?}"
            );
            assert_eq!(
                ending_for_good(&run),
                Some(true),
                "at {weaker}: {:?}",
                run.ending
            );
            assert!(
                verdict.details().contains("stopped before its 60 s limit"),
                "at {weaker}: {}",
                verdict.details()
            );
        }

        let timed = Attack {
            timeout_secs: 2,
            ..attack("wait_with_a_timeout_for_ever", Isolation::Minimal, &[])
        };
        let (run, _, _) = run_attack(&timed, level);
        assert_eq!(ending_for_good(&run), Some(false), "{:?}", run.ending);

        let turns = Attack {
            timeout_secs: 120,
            ..attack(
                "ping_pong_through_a_condition_variable",
                Isolation::Minimal,
                &[],
            )
        };
        let (run, verdict, _) = run_attack(&turns, level);
        assert_eq!(verdict.label(), VerdictLabel::Pass, "{verdict:?}");
        assert_eq!(run.ending, runner::Ending::Exited(0));
    }

    /// Processes on the machine whose name starts with `attack-`, as the fixture names them.
    fn hostile_processes() -> Vec<String> {
        harness::platform::processes()
            .into_iter()
            .filter(|p| {
                p.name.starts_with("attack-") && p.state != harness::platform::RunState::Zombie
            })
            .map(|p| format!("{} ({})", p.pid, p.name))
            .collect()
    }

    fn fingerprint(path: &Path) -> Vec<u8> {
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    }

    #[test]
    fn every_attack_is_stopped_at_every_level_that_claims_to_stop_it() {
        let _serial = one_at_a_time();
        grader::reaper::become_subreaper();
        let machine = sandbox::isolation();
        eprintln!("this machine allows isolation: {machine}");
        make_roster();
        let _service = listen_on_the_machine();
        let hidden_02 = checkout().join("grader/hidden/02_lock_fix/tests.rs");
        let hidden_before = fingerprint(&hidden_02);
        let poison = checkout().join("target/threadlings/build/poisoned-by-a-test");

        let mut problems = Vec::new();
        let mut ran = 0;
        for level in Isolation::ALL.into_iter().filter(|level| *level >= machine) {
            for attack in ATTACKS.iter().filter(|a| level <= a.stopped_from) {
                let (run, verdict, took) = run_attack(attack, level);
                ran += 1;
                let label = verdict.label();
                eprintln!(
                    "  {level:<38} {:<32} {label:<18} {:.1} s",
                    attack.test,
                    took.as_secs_f64()
                );
                let mut problem =
                    |text: String| problems.push(format!("{} at {level}: {text}", attack.test));
                let declared = attack
                    .verdicts
                    .iter()
                    .map(|text| text.parse::<VerdictLabel>().expect("a known verdict"));
                if !declared.clone().any(|expected| expected == label) {
                    problem(format!(
                        "verdict {label}, expected one of {:?}: {verdict:?}\nstdout: {}\nstderr: {}",
                        attack.verdicts,
                        run.stdout.text(),
                        run.stderr.text()
                    ));
                }
                if run.isolation != level {
                    problem(format!("ran at {} instead", run.isolation));
                }
                let survivors = hostile_processes();
                if !survivors.is_empty() {
                    problem(format!("processes survived the test: {survivors:?}"));
                }
                if fingerprint(&hidden_02) != hidden_before {
                    problem("grader/hidden/02_lock_fix/tests.rs changed".to_owned());
                }
                if poison.exists() {
                    problem(format!("{} was written", poison.display()));
                }
                if ["setsid_child", "relay_daemons"].contains(&attack.test)
                    && !run.leftovers.iter().any(|p| p.contains("attack-"))
                {
                    problem(format!(
                        "the leftovers do not name the process: {:?}",
                        run.leftovers
                    ));
                }
                if attack.test == "three_large_children" && !run.tree_out_of_memory {
                    problem("the tree's memory limit was never hit".to_owned());
                }
            }
        }
        assert!(ran >= ATTACKS.len(), "only {ran} attacks ran");
        assert!(
            problems.is_empty(),
            "holes in the sandbox:\n{}",
            problems.join("\n\n")
        );
    }

    /// The control: unconfined, the attacks that are harmless to run do work, so each attack
    /// above can fail and its `fail` there is the sandbox's doing.
    #[test]
    fn without_a_sandbox_the_harmless_attacks_succeed() {
        let _serial = one_at_a_time();
        grader::reaper::become_subreaper();
        make_roster();
        let _service = listen_on_the_machine();
        for test in [
            "read_other_command_lines",
            "read_the_checkout",
            "read_the_roster",
            "write_hidden_tests",
            "poison_the_build_folder",
            "connect_to_localhost",
            "three_large_children",
        ] {
            let attack = Attack {
                memory_mib: 384,
                ..attack(test, Isolation::Minimal, &[])
            };
            let (run, verdict, _) = run_attack(&attack, Isolation::Minimal);
            assert_eq!(
                verdict.label(),
                VerdictLabel::Pass,
                "{test} must work without a sandbox, or its `fail` above proves nothing: \
                 {verdict:?}\n{}",
                run.stderr.text()
            );
        }
    }

    /// A checkout cloned under /tmp: the test's private /tmp must not hide its own binary.
    /// Before the binary was bound after the tmpfs, exec failed, and the namespace's init,
    /// whose alarm the kernel dropped, kept the grader waiting for ever.
    #[test]
    fn a_test_binary_under_tmp_still_runs_at_every_level() {
        let _serial = one_at_a_time();
        grader::reaper::become_subreaper();
        let machine = sandbox::isolation();
        let folder = std::env::temp_dir().join(format!("threadlings-clone-{}", std::process::id()));
        std::fs::create_dir_all(folder.join("target")).unwrap();
        let copy = folder.join("target/hostile_fixture");
        std::fs::copy(env!("CARGO_BIN_EXE_hostile_fixture"), &copy).unwrap();
        for level in Isolation::ALL.into_iter().filter(|level| *level >= machine) {
            let request = RunRequest {
                executable: copy.clone(),
                test_name: "read_the_nonce_again".to_owned(),
                timeout: Duration::from_secs(10),
                memory_mib: 256,
                sandbox_dir: Path::new(env!("CARGO_TARGET_TMPDIR")).join("hostile-sandbox"),
                extra_args: Vec::new(),
            };
            let run = runner::run_isolated(&request, level)
                .unwrap_or_else(|e| panic!("at {level} the binary under /tmp did not start: {e}"));
            assert!(
                run.report.is_some(),
                "at {level} the binary under /tmp ran but sent no report: {}",
                run.stderr.text()
            );
            assert_eq!(
                run.scratch_leftovers,
                Vec::<String>::new(),
                "at {level} the folders the grader made for its own binary are not the test's"
            );
        }
        std::fs::remove_dir_all(&folder).unwrap();
    }

    /// 500 MB written to the scratch folder: capped where the folder is a tmpfs, and at every
    /// level named with its size and removed.
    #[test]
    fn files_left_in_the_scratch_folder_are_reported_and_removed() {
        let _serial = one_at_a_time();
        let machine = sandbox::isolation();
        let attack = attack("fill_the_scratch_folder", Isolation::Minimal, &[]);
        for level in Isolation::ALL.into_iter().filter(|level| *level >= machine) {
            let (run, _, took) = run_attack(&attack, level);
            eprintln!(
                "  {level:<38} {:?} {:.1} s",
                run.scratch_leftovers,
                took.as_secs_f64()
            );
            let [left] = run.scratch_leftovers.as_slice() else {
                panic!(
                    "at {level} one file was left, the runner reports {:?}",
                    run.scratch_leftovers
                );
            };
            assert!(left.contains("ballast"), "{left}");
            if matches!(level, Isolation::Full | Isolation::NoCgroups) {
                assert!(
                    left.contains("256 MiB") || left.contains("255 MiB"),
                    "the private /tmp holds 256 MiB at most: {left}"
                );
            } else {
                assert!(left.contains("500 MiB"), "{left}");
            }
        }
        let sandbox_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hostile-sandbox");
        let remaining: Vec<_> = std::fs::read_dir(&sandbox_dir)
            .map(|entries| entries.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(
            remaining.iter().all(|name| name == "root"),
            "per-test folders were left in {}: {remaining:?}",
            sandbox_dir.display()
        );
    }
}
