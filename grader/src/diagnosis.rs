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
    let by_syscall: &[(libc::c_long, &str)] = &[
        (
            libc::SYS_futex,
            "a lock, condition variable, barrier or join",
        ),
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

/// One thread of a deadlock the model checker found, read from its report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockedThread {
    /// The thread's name, as the test gave it (`transfer 0→1`), or shuttle's `main-thread`.
    pub name: String,
    /// What it waits for, in words: "a lock", "another thread to finish (join)", ...
    pub waiting_for: Option<&'static str>,
    /// Where it waits in the learner's file, innermost call first:
    /// `exercises/04_x/src/lib.rs:58:33 (in Bank::lock), called from ...:72:35 (in
    /// Bank::transfer)`. `None` when it waits outside the learner's code, or shuttle captured
    /// no backtrace.
    pub learner_site: Option<String>,
}

/// Reads shuttle's deadlock report: `deadlock! blocked tasks: [NAME (task ID)` then, when
/// `SHUTTLE_CAPTURE_BACKTRACE` was set, `Backtrace:` and numbered frames, for each blocked task,
/// separated by `, `. Frames whose file is under `subject/src/` are the learner's; they are
/// shown under `display_dir` (`exercises/04_deadlock_ordering`). `None` when `message` is not
/// such a report.
pub fn model_deadlock(message: &str, display_dir: &str) -> Option<Vec<BlockedThread>> {
    const OPENING: &str = "deadlock! blocked tasks: [";
    let list = &message[message.find(OPENING)? + OPENING.len()..];
    let task_name = |entry: &str| entry.rfind(" (task ").map(|end| entry[..end].to_owned());
    if !list.contains("\nBacktrace:") {
        // Without backtraces the list is one line: `a (task 1), b (task 2)]`.
        let threads: Vec<BlockedThread> = list
            .lines()
            .next()
            .unwrap_or_default()
            .trim_end_matches(']')
            .split("), ")
            .filter_map(task_name)
            .map(|name| blocked_thread(&name, &[], display_dir))
            .collect();
        return (!threads.is_empty()).then_some(threads);
    }
    let lines: Vec<&str> = list.lines().collect();
    let mut threads = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let header = lines[index].trim_start_matches(", ");
        index += 1;
        // Everything up to the next header is this task's backtrace.
        let first_frame = index;
        while index < lines.len() && !lines[index].starts_with(", ") {
            index += 1;
        }
        if let Some(name) = task_name(header) {
            threads.push(blocked_thread(
                &name,
                &lines[first_frame..index],
                display_dir,
            ));
        }
    }
    (!threads.is_empty()).then_some(threads)
}

fn blocked_thread(name: &str, frames: &[&str], display_dir: &str) -> BlockedThread {
    // Frames come in pairs: `  N: function` and, below it, `      at file:line:column`. The
    // innermost frames are the primitive's; the first frame in the learner's file is the call
    // that waits, and the learner's frames after it say how it got there.
    let mut functions_before_learner = Vec::new();
    let mut learner_frames: Vec<String> = Vec::new();
    let mut function = "";
    for line in frames.iter().map(|line| line.trim()) {
        if let Some(location) = line.strip_prefix("at ") {
            if let Some(relative) = location.split("subject/src/").nth(1) {
                learner_frames.push(format!(
                    "{display_dir}/src/{relative} (in {})",
                    short_function(function)
                ));
            } else if !learner_frames.is_empty() {
                break;
            }
        } else if let Some((_, rest)) = line.split_once(": ") {
            function = rest;
            if learner_frames.is_empty() {
                functions_before_learner.push(rest);
            }
        }
    }
    let waiting_for = functions_before_learner
        .iter()
        .find_map(|function| primitive_of(function));
    BlockedThread {
        name: name.to_owned(),
        waiting_for,
        learner_site: (!learner_frames.is_empty()).then(|| learner_frames.join(", called from ")),
    }
}

/// `deadlock_ordering_model::Bank::transfer::{{closure}}` becomes `Bank::transfer`.
fn short_function(function: &str) -> &str {
    let function = function.split("::{{closure}}").next().unwrap_or(function);
    match function.split_once("::") {
        Some((_crate, rest)) if !rest.is_empty() => rest,
        _ => function,
    }
}

/// The synchronisation primitive a frame of shuttle's or std's belongs to, in words.
fn primitive_of(function: &str) -> Option<&'static str> {
    let known = [
        ("Condvar", "a condition variable"),
        ("RwLock", "a read-write lock"),
        ("Mutex", "a lock"),
        ("Barrier", "a barrier"),
        ("JoinHandle", "another thread to finish (join)"),
        ("mpsc", "a channel"),
    ];
    known
        .iter()
        .find(|(key, _)| function.contains(key))
        .map(|(_, words)| *words)
}

/// The model checker's deadlock in sentences: who waits, for what, where, and the cycle.
pub fn describe_model_deadlock(threads: &[BlockedThread]) -> String {
    let mut text = String::from(
        "the model checker found a schedule that ends in a deadlock: every thread waits for \
         another, so none can go on",
    );
    for thread in threads {
        let what = thread.waiting_for.unwrap_or("something");
        let place = match &thread.learner_site {
            Some(site) => format!("at {site}"),
            None => "outside your code".to_owned(),
        };
        text.push_str(&format!(
            "\n  thread '{}' waits for {what} {place}",
            thread.name
        ));
    }
    let cycle: Vec<String> = threads
        .iter()
        .filter(|t| t.waiting_for == Some("a lock") && t.learner_site.is_some())
        .map(|t| format!("'{}'", t.name))
        .collect();
    match cycle.len() {
        0 => {}
        1 => text.push_str(&format!(
            "\nThe cycle: {} waits for a lock that it holds itself, or that a thread waiting \
             for it holds",
            cycle[0]
        )),
        _ => text.push_str(&format!(
            "\nThe cycle: {} each hold a lock that another of them waits for. Take the locks \
             in one global order in every thread, and none can hold a later lock while it waits \
             for an earlier one",
            cycle.join(" and ")
        )),
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of shuttle's report with `SHUTTLE_CAPTURE_BACKTRACE` set, cut to the frames
    /// that matter.
    const WITH_BACKTRACES: &str = "deadlock! blocked tasks: [main-thread (task main-thread(0))
Backtrace:
   0: shuttle_engine::runtime::task::Task::block
             at /registry/shuttle-engine/src/runtime/task/mod.rs:614:18
   1: shuttle_std::thread::JoinHandle<T>::join
             at /registry/shuttle-std/src/thread.rs:275:28
   2: hidden::opposite_transfers::{{closure}}
             at /work/grader/hidden/04_deadlock_ordering/tests.rs:102:26
, transfer 0→1 (task transfer 0→1(1))
Backtrace:
   0: shuttle_engine::runtime::task::Task::block
             at /registry/shuttle-engine/src/runtime/task/mod.rs:614:18
   1: shuttle_std::sync::mutex::Mutex<T>::lock
             at /registry/shuttle-std/src/sync/mutex.rs:165:9
   2: deadlock_ordering_model::Bank::lock
             at /target/scratch/04_deadlock_ordering/exercise/model/../subject/src/lib.rs:58:32
   3: deadlock_ordering_model::Bank::transfer
             at /target/scratch/04_deadlock_ordering/exercise/model/../subject/src/lib.rs:75:35
   4: hidden::opposite_transfers::{{closure}}::{{closure}}
             at /work/grader/hidden/04_deadlock_ordering/tests.rs:96:21
]";

    #[test]
    fn model_deadlock_names_threads_primitives_and_learner_lines() {
        let threads = model_deadlock(WITH_BACKTRACES, "exercises/04_deadlock_ordering")
            .expect("a shuttle deadlock report");
        assert_eq!(threads.len(), 2, "{threads:?}");
        assert_eq!(threads[0].name, "main-thread");
        assert_eq!(
            threads[0].waiting_for,
            Some("another thread to finish (join)")
        );
        assert_eq!(threads[0].learner_site, None);
        assert_eq!(threads[1].name, "transfer 0→1");
        assert_eq!(threads[1].waiting_for, Some("a lock"));
        assert_eq!(
            threads[1].learner_site.as_deref(),
            Some(
                "exercises/04_deadlock_ordering/src/lib.rs:58:32 (in Bank::lock), called from \
                 exercises/04_deadlock_ordering/src/lib.rs:75:35 (in Bank::transfer)"
            )
        );
    }

    #[test]
    fn model_deadlock_without_backtraces_still_names_the_threads() {
        let report = "deadlock! blocked tasks: [main-thread (task main-thread(0)), \
                      transfer 1→0 (task transfer 1→0(2))]";
        let names: Vec<String> = model_deadlock(report, "exercises/x")
            .expect("a shuttle deadlock report")
            .into_iter()
            .map(|thread| thread.name)
            .collect();
        assert_eq!(names, ["main-thread", "transfer 1→0"]);
    }

    #[test]
    fn other_panics_are_not_model_deadlocks() {
        assert_eq!(
            model_deadlock("attempt to subtract with overflow", "x"),
            None
        );
    }

    #[test]
    fn the_description_names_the_cycle() {
        let threads = model_deadlock(WITH_BACKTRACES, "exercises/04_deadlock_ordering").unwrap();
        let mut both = threads.clone();
        both.push(BlockedThread {
            name: "transfer 1→0".into(),
            ..threads[1].clone()
        });
        let text = describe_model_deadlock(&both);
        assert!(
            text.contains("The cycle: 'transfer 0→1' and 'transfer 1→0' each hold a lock"),
            "{text}"
        );
    }
}
