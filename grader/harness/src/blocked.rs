//! Where each thread of a test that ran out of time waits, in the learner's code.
//!
//! When every thread of a test is blocked and its time is up, the grader sends [`SIGNAL`] to
//! each of them (`grader::diagnosis`). The handler, on that thread, captures its stack and
//! writes it to stderr as one line, [`LINE_PREFIX`], the thread id, then the frames of the
//! stack joined by [`FRAME_SEPARATOR`]: only the learner's frames and the synchronisation
//! primitives'. The grader reads these lines to name the learner's `lock`, `wait` or `join`
//! line of each thread. Nothing is recorded while the code runs, so correct code pays nothing.
//!
//! The process is killed right after, so the handler may do what a signal handler normally
//! must not (allocate, take std's backtrace lock): at worst its line is missing. The lines
//! only add words to a timeout the test already got; code under test that forges one changes
//! no verdict.

use std::backtrace::Backtrace;

/// The signal the grader sends to ask a blocked thread where it waits.
pub const SIGNAL: i32 = libc::SIGUSR2;
/// How each line of a blocked thread's report starts on stderr.
pub const LINE_PREFIX: &str = "threadlings-blocked ";
/// Stands for a line break inside one report line, so that one `write` carries it whole.
pub const FRAME_SEPARATOR: char = '\u{1f}';

/// Function names whose frames say what a thread waits for.
const PRIMITIVES: [&str; 7] = [
    "Mutex", "Condvar", "RwLock", "Barrier", "::join", "mpsc", "Receiver",
];

/// Installs the handler; called by the harness before the test runs.
pub(crate) fn install() {
    // SAFETY: a plain sigaction call with a zeroed action whose handler is an `extern "C"`
    // function of the right signature.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = report_where_blocked as extern "C" fn(libc::c_int) as usize;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(SIGNAL, &action, std::ptr::null_mut());
    }
}

extern "C" fn report_where_blocked(_signal: libc::c_int) {
    let tid = crate::measure::current_thread_id();
    let stack = Backtrace::force_capture().to_string();
    let line = format!(
        "{LINE_PREFIX}{tid} {}\n",
        frames_that_matter(&stack).join(&FRAME_SEPARATOR.to_string())
    );
    // SAFETY: writes a buffer this function owns to stderr, in one call so that the line of
    // one thread is not cut by another's.
    unsafe {
        libc::write(2, line.as_ptr().cast(), line.len());
    }
}

/// The lines of a captured stack (`N: function`, then `at file:line:column`) that name a
/// synchronisation primitive or lie in the learner's files (`subject/src/`), each with its
/// `at` line.
pub fn frames_that_matter(stack: &str) -> Vec<&str> {
    let lines: Vec<&str> = stack.lines().collect();
    let mut kept = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with("at ") {
            continue;
        }
        let at = lines
            .get(index + 1)
            .filter(|next| next.trim().starts_with("at "));
        let learners = at.is_some_and(|at| at.contains("subject/src/"));
        if learners || PRIMITIVES.iter().any(|name| trimmed.contains(name)) {
            kept.push(trimmed);
            if let Some(at) = at {
                kept.push(at.trim());
            }
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_primitives_and_the_learners_frames_are_kept() {
        let stack = "   0: std::sys::pal::unix::futex::futex_wait
             at /rustc/library/std/src/sys/pal/unix/futex.rs:72:21
   1: std::sync::poison::condvar::Condvar::wait
             at /rustc/library/std/src/sync/poison/condvar.rs:191:13
   2: bounded_queue::BoundedQueue<T>::pop
             at /scratch/03/exercise/subject/src/lib.rs:100:18
   3: hidden::close_wakes_every_blocked_consumer::{{closure}}
             at /work/grader/hidden/03_bounded_queue/tests.rs:283:9";
        assert_eq!(
            frames_that_matter(stack),
            [
                "1: std::sync::poison::condvar::Condvar::wait",
                "at /rustc/library/std/src/sync/poison/condvar.rs:191:13",
                "2: bounded_queue::BoundedQueue<T>::pop",
                "at /scratch/03/exercise/subject/src/lib.rs:100:18",
            ]
        );
    }
}
