//! The timeout diagnosis against purpose-built processes whose state is known: one asleep, one
//! spinning, one blocked reading a pipe nobody writes. (Compiled test binaries that deadlock on
//! a barrier or spin in a loop are covered end to end by `attempts.rs`.)

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::MutexGuard;

use grader::diagnosis::{diagnose, DiagnosisKind};

/// A process in a group of its own, killed with its group when dropped. It is a child outside
/// the grader's registry, so it holds the turn of tests that start processes (see `util`).
struct Subject {
    child: Child,
    _one_at_a_time: MutexGuard<'static, ()>,
}

impl Subject {
    fn start(program: &str, args: &[&str]) -> Subject {
        let serial = crate::util::one_at_a_time();
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        // Let it reach the state under test; the diagnosis samples for a quarter second more.
        std::thread::sleep(std::time::Duration::from_millis(300));
        Subject {
            child,
            _one_at_a_time: serial,
        }
    }

    fn group(&self) -> i32 {
        self.child.id() as i32
    }
}

impl Drop for Subject {
    fn drop(&mut self) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(self.group()),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = self.child.wait();
    }
}

#[test]
fn a_sleeping_process_is_diagnosed_as_sleeping() {
    let subject = Subject::start("sleep", &["30"]);
    let diagnosis = diagnose(subject.group());
    assert_eq!(diagnosis.kind, DiagnosisKind::Sleeping, "{diagnosis:?}");
    assert_eq!(
        diagnosis.threads[0].waiting_on.as_deref(),
        Some("a timer (sleep)")
    );
}

#[test]
fn a_busy_loop_is_diagnosed_as_spinning() {
    let subject = Subject::start("sh", &["-c", "while :; do :; done"]);
    let diagnosis = diagnose(subject.group());
    assert_eq!(diagnosis.kind, DiagnosisKind::Spinning, "{diagnosis:?}");
}

#[test]
fn a_reader_of_a_silent_pipe_is_diagnosed_as_blocked_on_it() {
    // `cat` reads its stdin, a pipe this test holds open and never writes: blocked for good,
    // using no CPU, which is exactly the shape of a deadlock.
    let subject = Subject::start("cat", &[]);
    let diagnosis = diagnose(subject.group());
    assert_eq!(diagnosis.kind, DiagnosisKind::Deadlock, "{diagnosis:?}");
    let waits: Vec<_> = diagnosis
        .threads
        .iter()
        .filter_map(|t| t.waiting_on.clone())
        .collect();
    assert!(
        waits.iter().any(|w| w.contains("pipe")),
        "the wait is named as a pipe read: {waits:?}"
    );
}

#[test]
fn a_vanished_group_is_unknown_rather_than_a_guess() {
    let diagnosis = diagnose(i32::MAX - 7);
    assert_eq!(diagnosis.kind, DiagnosisKind::Unknown);
    assert!(diagnosis.threads.is_empty());
}
