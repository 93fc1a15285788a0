//! Why a test ran out of time, read from `/proc` while the process is still alive.
//!
//! Two samples of every thread in the test's process group, a quarter of a second apart, tell
//! a deadlock (every thread blocked and no CPU time used) from a livelock or infinite loop (CPU
//! time keeps growing). The kernel's wait channel says what each blocked thread waits for.

use std::collections::BTreeMap;
use std::time::Duration;

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

/// One thread of one process, from `/proc/PID/task/TID/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadState {
    pub pid: i32,
    pub tid: i32,
    /// The thread's name (`comm`): Rust sets it from `thread::Builder::name`, truncated to 15 bytes.
    pub name: String,
    /// CPU time used between the two samples, in clock ticks.
    pub cpu_ticks: u64,
    /// What it waits for, in words: "a lock, condition variable or join", "a pipe", ...
    pub waiting_on: Option<String>,
}

/// Samples every thread of process group `pgid` twice and classifies the result.
pub fn diagnose(pgid: i32) -> Diagnosis {
    diagnose_processes(|| harness::procfs::processes_in_group(pgid))
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
            waiting_on: (now.state != 'R').then(|| describe_wait(&now.wchan, now.syscall)),
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
        .all(|t| t.waiting_on.as_deref() == Some(SLEEP))
    {
        DiagnosisKind::Sleeping
    } else {
        DiagnosisKind::Deadlock
    };
    Diagnosis { kind, threads }
}

const SLEEP: &str = "a timer (sleep)";
/// What a thread asleep in a futex waits for: std's locks, condition variables, barriers and
/// joins all sleep there.
pub const FUTEX: &str = "a lock, condition variable, barrier or join";

struct Sample {
    name: String,
    state: char,
    cpu_ticks: u64,
    wchan: String,
    syscall: Option<i64>,
}

fn sample(pids: &[i32]) -> BTreeMap<(i32, i32), Sample> {
    let mut samples = BTreeMap::new();
    for &pid in pids {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let Ok(tid) = task.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let dir = task.path();
            let Some(stat) = harness::procfs::read_stat(dir.join("stat")) else {
                continue;
            };
            let wchan = std::fs::read_to_string(dir.join("wchan")).unwrap_or_default();
            let syscall = std::fs::read_to_string(dir.join("syscall"))
                .ok()
                .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()));
            samples.insert(
                (pid, tid),
                Sample {
                    name: stat.name,
                    state: stat.state,
                    cpu_ticks: stat.cpu_ticks,
                    wchan,
                    syscall,
                },
            );
        }
    }
    samples
}

/// Names the wait in words a learner knows. The wait channel is the kernel function the thread
/// sleeps in; where the kernel hides it, the system call number stands in, named through
/// `libc`'s constants for the architecture the grader was built for.
fn describe_wait(wchan: &str, syscall: Option<i64>) -> String {
    let wchan = wchan.trim();
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
    let by_syscall: &[(libc::c_long, &str)] = &[
        (libc::SYS_futex, FUTEX),
        (libc::SYS_clock_nanosleep, SLEEP),
        (libc::SYS_nanosleep, SLEEP),
        (libc::SYS_read, "reading a pipe or file"),
        (libc::SYS_write, "writing a pipe or file"),
        (libc::SYS_wait4, "a child process to exit (waitpid)"),
        (libc::SYS_waitid, "a child process to exit (waitpid)"),
        #[cfg(target_arch = "x86_64")]
        (libc::SYS_poll, "poll or select"),
        (libc::SYS_ppoll, "poll or select"),
    ];
    // `c_long` is `i64` only on 64-bit targets.
    #[allow(clippy::useless_conversion)]
    if let Some((_, words)) = by_syscall
        .iter()
        .find(|(number, _)| Some(i64::from(*number)) == syscall)
    {
        return (*words).to_owned();
    }
    if wchan.is_empty() || wchan == "0" {
        "something the kernel does not name".to_owned()
    } else {
        format!("the kernel in `{wchan}`")
    }
}
