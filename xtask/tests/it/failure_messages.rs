//! What `cargo xtask check NN` prints for each class of mistake, pinned by snapshots: a lost
//! update, a lost wake-up and a self-lock (under the model checker, and as real-thread timeouts
//! that name the learner's line), a lock-order cycle, a serial solution, a swallowed panic, and
//! the early stop of a check that found threads waiting for ever.
//!
//! Each case is a mistake the course already proves caught (a mutant or a learner's attempt,
//! applied to the reference solution) or an untouched stub, checked in a private copy of the
//! checkout. Model-checked tests use fixed seeds and real-thread cases are chosen to decide the
//! same way on every run, so only what varies between runs (times, process ids, the binary's
//! hash) is masked: a change in the words or the layout shows up as a snapshot difference.

use std::path::{Path, PathBuf};

use grader::mutant::Mutant;

/// One class of failure: the mistake, the exercise, and the test whose report is pinned.
struct Case {
    snapshot: &'static str,
    exercise: &'static str,
    /// A mutant or attempt file under `grader/`, applied to the solution; `None` checks the
    /// untouched stub.
    mistake: Option<&'static str>,
    /// The tests to run; empty runs the whole check, as a learner does.
    tests: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        snapshot: "lost_update",
        exercise: "01_race_counter",
        mistake: Some("hidden/01_race_counter/mutants/increment_load_then_store.toml"),
        tests: &["counter_never_loses_an_increment"],
    },
    Case {
        snapshot: "serial_solution",
        exercise: "01_race_counter",
        mistake: Some("hidden/01_race_counter/mutants/join_each_thread.toml"),
        tests: &["run_concurrently_runs_all_threads_at_once"],
    },
    Case {
        snapshot: "swallowed_panic",
        exercise: "01_race_counter",
        mistake: Some(
            "tests/attempts/01_race_counter/wrong_swallows_panics_with_let_underscore.toml",
        ),
        tests: &["run_concurrently_propagates_a_panic"],
    },
    Case {
        snapshot: "self_lock_under_the_model",
        exercise: "02_lock_fix",
        mistake: Some("tests/attempts/02_lock_fix/wrong_withdraw_locks_twice.toml"),
        tests: &["withdrawals_never_overdraw_under_the_model"],
    },
    Case {
        snapshot: "self_lock_timeout",
        exercise: "02_lock_fix",
        mistake: Some("tests/attempts/02_lock_fix/wrong_withdraw_locks_twice.toml"),
        tests: &["account_alone_deposits_and_withdraws"],
    },
    Case {
        snapshot: "lost_wake_up",
        exercise: "03_bounded_queue",
        mistake: Some("hidden/03_bounded_queue/mutants/close_notifies_one_consumer.toml"),
        tests: &["close_wakes_everyone_under_the_model"],
    },
    Case {
        snapshot: "lost_wake_up_timeout",
        exercise: "03_bounded_queue",
        mistake: Some("hidden/03_bounded_queue/mutants/close_notifies_one_consumer.toml"),
        tests: &["close_wakes_every_blocked_consumer"],
    },
    Case {
        snapshot: "lost_wake_up_stops_the_check_early",
        exercise: "03_bounded_queue",
        mistake: Some("hidden/03_bounded_queue/mutants/close_notifies_one_consumer.toml"),
        tests: &[],
    },
    Case {
        snapshot: "lock_order_cycle",
        exercise: "04_deadlock_ordering",
        mistake: None,
        tests: &["opposite_transfers_never_deadlock_under_the_model"],
    },
];

#[test]
fn every_class_of_failure_reads_as_its_snapshot() {
    let checkout = Checkout::new();
    let filters = crate::util::report_filters();
    for case in CASES {
        checkout.put_mistake(case);
        let mut command = crate::util::xtask();
        command
            .env("CARGO_WORKSPACE_DIR", &checkout.root)
            .args(["check", case.exercise]);
        for test in case.tests {
            command.args(["--test", test]);
        }
        let output = command.output().expect("xtask runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{} must fail its check:\n{stdout}{}",
            case.snapshot,
            crate::util::stderr_of(&output)
        );
        insta::with_settings!({filters => filters.clone(), snapshot_path => "snapshots/failure_messages"}, {
            insta::assert_snapshot!(case.snapshot, stdout);
        });
    }
}

/// A private copy of the checkout whose exercises the cases overwrite; the scratch build folder
/// is the real checkout's (through a link), so dependencies compile once.
struct Checkout {
    root: PathBuf,
}

impl Checkout {
    fn new() -> Checkout {
        let root = crate::util::fresh_dir("failure-messages", "checkout");
        let real = crate::util::root();
        for file in ["Cargo.toml", "Cargo.lock"] {
            std::fs::copy(real.join(file), root.join(file)).expect("copying a manifest");
        }
        for folder in ["grader", "exercises", "solutions"] {
            crate::util::copy_dir(&real.join(folder), &root.join(folder));
        }
        let build = real.join("target/threadlings/build");
        std::fs::create_dir_all(&build).expect("the real build folder can be created");
        std::fs::create_dir_all(root.join("target/threadlings")).expect("a target folder");
        std::os::unix::fs::symlink(&build, root.join("target/threadlings/build"))
            .expect("the build folder links");
        Checkout { root }
    }

    /// Puts the case's code in `exercises/NN/src`: the stub as cloned, or the solution with
    /// the mistake's edits.
    fn put_mistake(&self, case: &Case) {
        let real = crate::util::root();
        let src = self.root.join("exercises").join(case.exercise).join("src");
        let Some(mistake) = case.mistake else {
            crate::util::copy_dir(
                &real.join("exercises").join(case.exercise).join("src"),
                &src,
            );
            return;
        };
        let mutant = Mutant::load(&real.join("grader").join(mistake)).expect("the mistake loads");
        let solution = real.join("solutions").join(case.exercise).join("src");
        let mut sources = std::collections::BTreeMap::new();
        for entry in std::fs::read_dir(&solution)
            .expect("the solution's src")
            .flatten()
        {
            let name = PathBuf::from(entry.file_name());
            // The sync shim stays the exercise's, which includes the grader's copy.
            if name != Path::new("sync.rs") {
                let text = std::fs::read_to_string(entry.path()).expect("a source file");
                sources.insert(name, text);
            }
        }
        mutant.apply(&mut sources).expect("the mistake applies");
        for (name, text) in sources {
            std::fs::write(src.join(name), text).expect("writing the learner's file");
        }
    }
}
