//! Why a test ran out of time, asked of the system (`harness::platform`) while the process is
//! still alive.
//!
//! Two samples of every thread in the test's process group, a quarter of a second apart, tell
//! a deadlock (every thread blocked and no CPU time used) from a livelock or infinite loop (CPU
//! time keeps growing). The kernel's wait channel says what each blocked thread waits for.

use std::collections::BTreeMap;
use std::time::Duration;

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
    Diagnosis { kind, threads }
}

const SLEEP: &str = "a timer (sleep)";

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
        ("futex", "a lock, condition variable, barrier or join"),
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
        Some(BlockingCall::Futex) => Some("a lock, condition variable, barrier or join"),
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
