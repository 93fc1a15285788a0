//! Why a test ran out of time, asked of the system (`harness::platform`) while the process is
//! still alive.
//!
//! Two samples of every thread in the test's process group, a quarter of a second apart, tell
//! a deadlock (every thread blocked and no CPU time used) from a livelock or infinite loop (CPU
//! time keeps growing). The kernel's wait channel says what each blocked thread waits for.
//! After a deadlock, each blocked thread of a hidden-test process is asked for its stack
//! ([`harness::blocked`]), which [`name_learner_sites`] reads back from stderr to name the
//! learner's line where it waits.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use harness::platform::{BlockingCall, KernelWait, RunState};
use serde::{Deserialize, Serialize};

/// Time between the two samples.
const SAMPLE_GAP: Duration = Duration::from_millis(250);
/// CPU time (in clock ticks, normally 10 ms) that marks a thread as busy over one gap.
const BUSY_TICKS: u64 = 5;

/// What the threads were doing when the time ran out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    pub kind: DiagnosisKind,
    /// Every thread of the process group, as the second sample saw it.
    pub threads: Vec<ThreadState>,
    /// Found before the limit by [`waiting_for_good`]: every thread waits with no timeout and
    /// none is left to wake another, so waiting longer could change nothing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub for_good: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiagnosisKind {
    /// Every thread blocked on a lock, condition, join or pipe, and none used CPU.
    Deadlock,
    /// At least one thread kept using CPU: a livelock, a spin loop or an infinite loop.
    Spinning,
    /// Every thread was asleep on a timer: `sleep` in a loop, or for a very long time.
    Sleeping,
    /// The process was gone or unreadable by the time it was sampled.
    Unknown,
}

impl DiagnosisKind {
    /// The suffix of the verdict label: `timeout:deadlock` and so on.
    pub fn label(self) -> &'static str {
        match self {
            DiagnosisKind::Deadlock => "deadlock",
            DiagnosisKind::Spinning => "spinning",
            DiagnosisKind::Sleeping => "sleeping",
            DiagnosisKind::Unknown => "unknown",
        }
    }
}

/// One thread of one process, as `harness::platform` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadState {
    pub pid: i32,
    pub tid: u64,
    /// The thread's name (`comm`): Rust sets it from `thread::Builder::name`, truncated to 15 bytes.
    pub name: String,
    /// CPU time used between the two samples, in clock ticks.
    pub cpu_ticks: u64,
    /// What it waits for, in words: "a lock, condition variable or join", "a pipe", ...
    pub waiting_on: Option<String>,
    /// Where it waits in the learner's files, innermost call first, when its stack said so:
    /// `exercises/02_lock_fix/src/lib.rs:26:14 (in Account::locked), called from ...`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learner_site: Option<String>,
    /// The thread's id as the test sees it, in its own PID namespace when it has one: the id
    /// its stack report carries. 0 when unknown.
    #[serde(skip)]
    pub tid_in_test: u64,
}

/// Samples every thread of process group `pgid` twice and classifies the result.
pub fn diagnose(pgid: i32) -> Diagnosis {
    diagnose_processes(|| harness::platform::processes_in_group(pgid))
}

/// Samples every thread of the processes `members` names (asked again for each sample, since
/// processes come and go) twice and classifies the result.
pub fn diagnose_processes(mut members: impl FnMut() -> Vec<i32>) -> Diagnosis {
    let first = sample(&members());
    std::thread::sleep(SAMPLE_GAP);
    let second = sample(&members());
    let mut threads = Vec::new();
    for ((pid, tid), now) in &second {
        let before = first
            .get(&(*pid, *tid))
            .map_or(now.cpu_ticks, |b| b.cpu_ticks);
        threads.push(ThreadState {
            pid: *pid,
            tid: *tid,
            name: now.name.clone(),
            cpu_ticks: now.cpu_ticks.saturating_sub(before),
            waiting_on: (now.state != RunState::Running).then(|| describe_wait(now.wait.as_ref())),
            learner_site: None,
            tid_in_test: 0,
        });
    }
    let kind = if threads.is_empty() {
        DiagnosisKind::Unknown
    } else if threads
        .iter()
        .any(|t| t.cpu_ticks >= BUSY_TICKS || t.waiting_on.is_none())
    {
        DiagnosisKind::Spinning
    } else if threads
        .iter()
        .any(|t| t.waiting_on.as_deref() == Some(UNNAMED))
    {
        // macOS does not say what a thread waits in: a deadlock cannot be told from a sleep.
        DiagnosisKind::Unknown
    } else if threads
        .iter()
        .all(|t| t.waiting_on.as_deref() == Some(SLEEP))
    {
        DiagnosisKind::Sleeping
    } else {
        DiagnosisKind::Deadlock
    };
    if kind == DiagnosisKind::Deadlock {
        ask_where_blocked(&mut threads);
    }
    Diagnosis {
        kind,
        threads,
        for_good: false,
    }
}

/// Every thread of the processes `pids`, with how often each has left a core, when every one
/// of them sleeps in a futex with no timeout (a lock, a condition variable without a timeout,
/// a join, a barrier); `None` as soon as one runs, sleeps on a timer, waits on anything else,
/// or cannot be read.
///
/// Two equal answers prove a deadlock for good: no thread left a core between its two looks,
/// so at some moment between the two all of them were asleep at once, and a futex with no
/// timeout is woken only by another thread or process sharing its memory, all of which are
/// among `pids` and asleep. (A signal from outside could still interrupt a wait; nothing
/// outside the test sends one.) The runner asks this every [`FOR_GOOD_GAP`] so that a deadlock
/// ends in about a second instead of at the test's limit, with the same verdict.
pub fn waiting_for_good(pids: &[i32]) -> Option<BTreeMap<(i32, u64), u64>> {
    let mut switches = BTreeMap::new();
    for &pid in pids {
        let threads = harness::platform::threads(pid);
        if threads.is_empty() {
            // Gone, a zombie, or unreadable: no proof either way.
            return None;
        }
        for thread in threads {
            // A running thread has no wait.
            let wait = thread.wait.as_ref()?;
            if wait.call != Some(BlockingCall::Futex) || wait.timed != Some(false) {
                return None;
            }
            switches.insert((pid, thread.tid), thread.switches?);
        }
    }
    (!switches.is_empty()).then_some(switches)
}

/// Time between two looks of [`waiting_for_good`].
pub const FOR_GOOD_GAP: Duration = Duration::from_millis(250);

/// How long the blocked threads may take to write their stacks. The grader waits only until
/// every handler has run (0.16-0.35 s for three threads on a 2-core machine at load 10-40: the
/// first reads the binary's debug information); the bound is generous so that a loaded
/// machine does not lose the learner's lines from the report, and snapshots stay the same.
const STACK_PATIENCE: Duration = Duration::from_secs(10);

/// Sends [`harness::blocked::SIGNAL`] to every thread of a process that catches it (the
/// hidden-test binary and its forks; anything else, such as a program the test executed, would
/// die of it) and waits until each handler has run, or [`STACK_PATIENCE`] has passed.
fn ask_where_blocked(threads: &mut [ThreadState]) {
    use harness::platform;
    for thread in threads.iter_mut() {
        thread.tid_in_test = platform::thread_id_seen_inside(thread.pid, thread.tid).unwrap_or(0);
    }
    let signal = harness::blocked::SIGNAL;
    let asked: Vec<&ThreadState> = threads
        .iter()
        .filter(|t| platform::catches_signal(t.pid, signal))
        .filter(|t| platform::signal_thread_of(t.pid, t.tid, signal))
        .collect();
    let give_up = Instant::now() + STACK_PATIENCE;
    while Instant::now() < give_up
        && asked
            .iter()
            .any(|t| platform::signal_in_flight(t.pid, t.tid, signal))
    {
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Adds to `diagnosis` what each thread's stack said on `stderr` (see [`harness::blocked`]):
/// the learner's line where it waits and, when a primitive's frame names it, what it waits
/// for. `display_dir` is how the learner sees their crate's folder.
pub fn name_learner_sites(diagnosis: &mut Diagnosis, stderr: &str, display_dir: &str) {
    for line in stderr.lines() {
        let Some(report) = line.strip_prefix(harness::blocked::LINE_PREFIX) else {
            continue;
        };
        let Some((tid, frames)) = report.split_once(' ') else {
            continue;
        };
        let Some(thread) = diagnosis
            .threads
            .iter_mut()
            .find(|thread| tid.parse() == Ok(thread.tid_in_test))
        else {
            continue;
        };
        let frames: Vec<&str> = frames.split(harness::blocked::FRAME_SEPARATOR).collect();
        let found = crate::model_report::blocked_thread(&thread.name, &frames, display_dir);
        if let Some(what) = found.waiting_for {
            thread.waiting_on = Some(what.to_owned());
        }
        thread.learner_site = found.learner_site;
    }
}

const SLEEP: &str = "a timer (sleep)";
/// What a thread asleep in a futex waits for: std's locks, condition variables, barriers and
/// joins all sleep there.
pub const FUTEX: &str = "a lock, condition variable, barrier or join";

/// What a thread's wait is called where the system does not say (macOS).
const UNNAMED: &str = "a wait this system does not name";

struct Sample {
    name: String,
    state: RunState,
    cpu_ticks: u64,
    wait: Option<KernelWait>,
}

fn sample(pids: &[i32]) -> BTreeMap<(i32, u64), Sample> {
    let mut samples = BTreeMap::new();
    for &pid in pids {
        for thread in harness::platform::threads(pid) {
            samples.insert(
                (pid, thread.tid),
                Sample {
                    name: thread.name,
                    state: thread.state,
                    // Clock ticks of 10 ms, as Linux counts them.
                    cpu_ticks: (thread.cpu_time.as_millis() / 10) as u64,
                    wait: thread.wait,
                },
            );
        }
    }
    samples
}

/// Names the wait in words a learner knows. The wait channel is the kernel function the thread
/// sleeps in; where the kernel hides it, the blocking system call stands in.
fn describe_wait(wait: Option<&KernelWait>) -> String {
    let Some(wait) = wait else {
        return UNNAMED.to_owned();
    };
    let wchan = wait.channel.trim();
    let by_wchan = [
        ("futex", FUTEX),
        ("nanosleep", SLEEP),
        ("pipe_read", "reading a pipe nobody writes to"),
        ("pipe_write", "writing a full pipe nobody reads"),
        ("do_wait", "a child process to exit (waitpid)"),
        ("poll", "poll or select"),
        ("ep_poll", "epoll"),
        ("unix_stream", "a socket"),
    ];
    if let Some((_, words)) = by_wchan.iter().find(|(key, _)| wchan.contains(key)) {
        return (*words).to_owned();
    }
    let by_call = match wait.call {
        Some(BlockingCall::Futex) => Some(FUTEX),
        Some(BlockingCall::Sleep) => Some(SLEEP),
        Some(BlockingCall::Read) => Some("reading a pipe or file"),
        Some(BlockingCall::Write) => Some("writing a pipe or file"),
        Some(BlockingCall::WaitChild) => Some("a child process to exit (waitpid)"),
        Some(BlockingCall::Poll) => Some("poll or select"),
        Some(BlockingCall::Epoll) => Some("epoll"),
        Some(BlockingCall::Other(_)) | None => None,
    };
    if let Some(words) = by_call {
        return words.to_owned();
    }
    if wchan.is_empty() || wchan == "0" {
        "something the kernel does not name".to_owned()
    } else {
        format!("the kernel in `{wchan}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stack_report_names_the_learners_line_of_its_thread() {
        let thread = |tid| ThreadState {
            pid: 900,
            tid: 900 + tid,
            name: "hidden-1a2b".into(),
            cpu_ticks: 0,
            waiting_on: Some(FUTEX.into()),
            learner_site: None,
            tid_in_test: tid,
        };
        let mut diagnosis = Diagnosis {
            kind: DiagnosisKind::Deadlock,
            threads: vec![thread(1), thread(2)],
            for_good: false,
        };
        let frames = [
            "1: std::sync::poison::condvar::Condvar::wait",
            "at /rustc/library/std/src/sync/poison/condvar.rs:191:13",
            "2: bounded_queue::BoundedQueue<T>::pop",
            "at /scratch/03/exercise/subject/src/lib.rs:100:18",
        ]
        .join(&harness::blocked::FRAME_SEPARATOR.to_string());
        let stderr = format!(
            "learner output\n{}2 {frames}\n",
            harness::blocked::LINE_PREFIX
        );
        name_learner_sites(&mut diagnosis, &stderr, "exercises/03_bounded_queue");
        assert_eq!(diagnosis.threads[0], thread(1));
        let named = &diagnosis.threads[1];
        assert_eq!(named.waiting_on.as_deref(), Some("a condition variable"));
        assert_eq!(
            named.learner_site.as_deref(),
            Some("exercises/03_bounded_queue/src/lib.rs:100:18 (in BoundedQueue<T>::pop)")
        );
    }
}
