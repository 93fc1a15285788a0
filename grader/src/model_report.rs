//! Reading what the model checker (shuttle) reports when it finds a bug.
//!
//! Shuttle panics with a message and prints the schedule that replays the failure on stderr.
//! This module turns those texts into data: the failing schedule, and for a deadlock, which
//! threads were blocked, on what, and where in the learner's file. The sentences built from
//! them are in [`crate::explain`].

/// Shuttle prints `failing schedule: "..."` on stderr when it finds a bug.
pub fn failing_schedule(stderr: &str) -> Option<String> {
    let start = stderr.find("failing schedule:")?;
    let rest = &stderr[start..];
    let open = rest.find('"')? + 1;
    let close = rest[open..].find('"')? + open;
    Some(rest[open..close].trim().to_owned())
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

/// Reads shuttle's report of a thread that locks a `Mutex` or `RwLock` it already holds:
/// `deadlock! task NAME(ID) tried to acquire a Mutex it already holds`, followed by the stack
/// the harness adds (`Backtrace:` and numbered frames). `None` when `message` is not one.
pub fn model_self_lock(message: &str, display_dir: &str) -> Option<BlockedThread> {
    let (head, frames) = message
        .split_once("\nBacktrace:\n")
        .unwrap_or((message, ""));
    let task = head.split("deadlock! task ").nth(1)?;
    let (task, _) = task.split_once(" tried to acquire a ")?;
    if !head.ends_with(harness::MODEL_SELF_LOCK) {
        return None;
    }
    // `main-thread(0)`, `"worker"(2)` or `TaskId(3)`: the name without its number.
    let name = task
        .rsplit_once('(')
        .map_or(task, |(name, _)| name)
        .trim_matches('"');
    let name = if name == "TaskId" { "<unknown>" } else { name };
    let frames: Vec<&str> = frames.lines().collect();
    Some(blocked_thread(name, &frames, display_dir))
}

/// One thread from the frames of its stack (`N: function`, then `at file:line:column`), as
/// shuttle and [`harness::blocked`] print them.
pub(crate) fn blocked_thread(name: &str, frames: &[&str], display_dir: &str) -> BlockedThread {
    // Frames come in pairs: `  N: function` and, below it, `      at file:line:column`. The
    // innermost frames are the primitive's; the first frame in the learner's file is the call
    // that waits, and the learner's frames after it say how it got there.
    let mut functions_before_learner = Vec::new();
    let mut learner_frames: Vec<String> = Vec::new();
    let mut function = "";
    for line in frames.iter().map(|line| line.trim()) {
        if let Some(location) = line.strip_prefix("at ") {
            if let Some(relative) = crate::learner_paths::under_learner_src(location) {
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
        ("::join", "another thread to finish (join)"),
        ("mpsc", "a channel"),
    ];
    known
        .iter()
        .find(|(key, _)| function.contains(key))
        .map(|(_, words)| *words)
}

#[cfg(test)]
pub(crate) mod tests {
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

    /// The shape of shuttle's report with `SHUTTLE_CAPTURE_BACKTRACE` set, cut to the frames
    /// that matter; shared with the sentences' tests in `explain`.
    pub(crate) const REPORT_WITH_BACKTRACES: &str = WITH_BACKTRACES;

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
    fn a_self_lock_names_the_thread_and_the_learners_line() {
        let report = "deadlock! task main-thread(0) tried to acquire a Mutex it already holds
Backtrace:
   4: shuttle_std::sync::mutex::Mutex<T>::lock
             at /registry/shuttle-std/src/sync/mutex.rs:59:9
   5: lock_fix_model::Account::balance
             at /scratch/02_lock_fix/exercise/model/../subject/src/lib.rs:33:9
   6: lock_fix_model::Account::withdraw
             at /scratch/02_lock_fix/exercise/model/../subject/src/lib.rs:47:12
   7: hidden::withdrawals_never_overdraw_under_the_model::{{closure}}
             at /work/grader/hidden/02_lock_fix/tests.rs:61:9";
        let thread = model_self_lock(report, "exercises/02_lock_fix").expect("a self-lock");
        assert_eq!(thread.name, "main-thread");
        assert_eq!(thread.waiting_for, Some("a lock"));
        assert_eq!(
            thread.learner_site.as_deref(),
            Some(
                "exercises/02_lock_fix/src/lib.rs:33:9 (in Account::balance), called from \
                 exercises/02_lock_fix/src/lib.rs:47:12 (in Account::withdraw)"
            )
        );
        assert_eq!(
            model_self_lock("deadlock! blocked tasks: [a (task 1)]", "x"),
            None
        );
    }

    #[test]
    fn other_panics_are_not_model_deadlocks() {
        assert_eq!(
            model_deadlock("attempt to subtract with overflow", "x"),
            None
        );
    }

    #[test]
    fn the_failing_schedule_is_read_from_stderr() {
        let stderr = "test panicked\nfailing schedule: \"9102abc\"\npass that schedule to replay";
        assert_eq!(failing_schedule(stderr).as_deref(), Some("9102abc"));
        assert_eq!(failing_schedule("no schedule here"), None);
    }
}
