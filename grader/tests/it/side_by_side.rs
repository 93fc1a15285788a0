//! Tests run side by side on threads of one grader process, as `cargo xtask verify` runs two
//! exercises at once: every run must keep its own report.
//!
//! The harness puts the report on fd 3, so the runner moves the report pipe there in the
//! child. A descriptor that another thread of the grader has just closed is reused by the next
//! one opened, so fd 3 of the grader may be, for a moment, any descriptor the runner opens for
//! the child's own use: the test's `cgroup.procs`, the namespace's status pipe, a Landlock
//! ruleset. Moved onto fd 3 too early, the report pipe took that descriptor's place, and the
//! child's pid meant for `cgroup.procs` went down the report pipe in front of the report,
//! which then did not parse: `crash`, with one line "without the grader's secret nonce".
//!
//! Threads of the test keep fd 3 of this process busy for a moment and then free it, over and
//! over, so that it is often free when the runner opens something for the child.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use grader::runner::{self, Ending, RawRun, RunRequest};

use crate::util::one_at_a_time;

/// Runs at once, and runs on each: enough for several hundred chances at the reuse.
const RUNNERS: usize = 3;
const RUNS_EACH: usize = 40;

/// What a run that lost nothing looks like: the process exited and its report, the only line on
/// the report pipe, carried this run's nonce.
fn kept_its_report(run: &RawRun) -> bool {
    matches!(run.ending, Ending::Exited(_)) && run.report.is_some() && run.forged_reports == 0
}

#[test]
fn runs_side_by_side_in_one_process_keep_their_reports() {
    let _serial = one_at_a_time();
    grader::reaper::become_subreaper();
    let request = RunRequest {
        executable: PathBuf::from(env!("CARGO_BIN_EXE_hostile_fixture")),
        // Quick, and stopped by the sandbox at every level with namespaces or Landlock (a
        // panic, as in the failure first seen), returns below them: a report either way.
        test_name: "read_the_checkout".to_owned(),
        timeout: Duration::from_secs(20),
        memory_mib: 256,
        sandbox_dir: Path::new(env!("CARGO_TARGET_TMPDIR")).join("side-by-side-sandbox"),
        extra_args: Vec::new(),
    };
    let finished = AtomicBool::new(false);
    let lost: Vec<String> = std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                while !finished.load(Ordering::Relaxed) {
                    // The lowest free descriptor, held for a moment, then freed for whoever
                    // opens one next.
                    let held = std::fs::File::open("/dev/null").expect("/dev/null opens");
                    std::thread::yield_now();
                    drop(held);
                    std::thread::yield_now();
                }
            });
        }
        let runners: Vec<_> = (0..RUNNERS)
            .map(|_| {
                scope.spawn(|| {
                    (0..RUNS_EACH)
                        .map(|_| runner::run(&request).expect("the runner runs the fixture"))
                        .filter(|run| !kept_its_report(run))
                        .map(|run| {
                            format!(
                                "{:?}, report {}, {} forged line(s), stderr: {}",
                                run.ending,
                                if run.report.is_some() { "kept" } else { "lost" },
                                run.forged_reports,
                                run.stderr.text().trim()
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let lost = runners
            .into_iter()
            .flat_map(|runner| runner.join().expect("a runner thread finishes"))
            .collect();
        finished.store(true, Ordering::Relaxed);
        lost
    });
    assert!(
        lost.is_empty(),
        "{} of {} runs side by side lost their report:\n{}",
        lost.len(),
        RUNNERS * RUNS_EACH,
        lost.join("\n")
    );
}
