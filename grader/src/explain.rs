//! The sentences a learner reads about a verdict, in plain text.
//!
//! Every output shares them: `cargo xtask check` adds colour and layout around them, and the
//! JSON, JUnit, Gradescope and Markdown reports of `grade` carry them as they are. Messages
//! that a verdict carries (an assertion of a hidden test, a crash cause, the timer's sentence)
//! are written where the verdict is decided; this module says how each kind of verdict reads.

use std::fmt::Write;
use std::time::Duration;

use crate::diagnosis::{Diagnosis, DiagnosisKind};
use crate::model_report::BlockedThread;
use crate::timeline::Timeline;

/// A timeout as a learner reads it in a table: `timeout (deadlock)` rather than a label.
pub fn timeout_name(kind: DiagnosisKind) -> String {
    match kind {
        DiagnosisKind::Deadlock => "timeout (deadlock)".into(),
        DiagnosisKind::Spinning => "timeout (livelock or infinite loop)".into(),
        DiagnosisKind::Sleeping => "timeout (sleeping)".into(),
        DiagnosisKind::Unknown => "timeout".into(),
    }
}

/// An inconclusive timing test as a learner reads it in a table, with the timer's short reason.
pub fn inconclusive_name(reason: &str) -> String {
    // The timer starts every reason with its short form: `1 core: ...`, `machine busy: ...`.
    match reason.split_once(':') {
        Some((short, _)) if short.len() <= 20 => format!("inconclusive ({short})"),
        _ => "inconclusive".into(),
    }
}

/// A thread as the learner knows it. The kernel names a thread after the binary (`hidden-…`)
/// unless the code gave it a name, which means nothing to a learner.
fn thread_name(thread: &crate::diagnosis::ThreadState) -> String {
    let binary_name = thread.name.starts_with("hidden-") || thread.name.is_empty();
    match (thread.tid == thread.pid as u64, binary_name) {
        (true, _) => "the test's main thread".to_owned(),
        (false, true) => "a thread without a name".to_owned(),
        (false, false) => format!("thread '{}'", thread.name),
    }
}

/// A real-thread deadlock's first sentence, by its shape, as for the model checker's
/// ([`describe_model_deadlock`]): the learner's lines come from each thread's stack
/// ([`crate::diagnosis::name_learner_sites`]).
fn real_thread_deadlock(diagnosis: &Diagnosis, seconds: f64) -> String {
    let threads = &diagnosis.threads;
    let waiting_in_learner_code = |what: &str| -> Vec<&crate::diagnosis::ThreadState> {
        threads
            .iter()
            .filter(|t| t.learner_site.is_some() && t.waiting_on.as_deref() == Some(what))
            .collect()
    };
    let on_condvar = waiting_in_learner_code(CONDVAR);
    let on_lock = waiting_in_learner_code(LOCK);
    // Found before the limit, the deadlock is proved, not inferred from a quiet moment.
    let (opening, only_thread) = if diagnosis.for_good {
        (
            format!(
                "stopped before its {seconds} s limit: every thread was blocked, waiting with no \
                 timeout, and none was left running to wake another"
            ),
            format!("stopped before its {seconds} s limit: its only thread was blocked, waiting with no timeout"),
        )
    } else {
        (
            format!("still running after {seconds} s, every thread blocked and none using CPU"),
            format!("still running after {seconds} s, its only thread blocked and using no CPU"),
        )
    };
    match (on_condvar.first(), on_lock.as_slice()) {
        (Some(waiter), []) => format!(
            "{opening}: nobody will ever notify {}, which waits on a condition variable (its \
             line is below). A wake-up was lost: {LOST_WAKE_UP_FIX}.",
            thread_name(waiter),
        ),
        (None, [waiter]) => format!(
            "{opening}: {} waits for a lock (its line is below), and no other thread waits \
             for one, so most likely it holds that lock itself (a self-lock). {SELF_LOCK_FIX}.",
            thread_name(waiter),
        ),
        (_, [_, _, ..]) => format!(
            "{opening}: a deadlock, {} each waiting for a lock. Take the locks in one global \
             order in every thread.",
            on_lock
                .iter()
                .map(|t| thread_name(t))
                .collect::<Vec<_>>()
                .join(" and ")
        ),
        _ if alone_on_a_futex(threads) => format!(
            "{only_thread}: nothing is left to wake it. It waits for a lock it already holds (a self-lock: a \
             `Mutex` cannot be locked twice by one thread), or on a condition variable nobody \
             will notify."
        ),
        _ => format!("{opening}: a deadlock."),
    }
}

/// A test process whose only thread sleeps in a futex: nobody else can wake it.
fn alone_on_a_futex(threads: &[crate::diagnosis::ThreadState]) -> bool {
    matches!(threads, [only] if only.waiting_on.as_deref() == Some(crate::diagnosis::FUTEX))
}

/// Why a test the machine starved has no verdict: it was still computing when the runner
/// stopped waiting, having used less CPU time than its limit (see `runner::Patience`).
pub fn starved(limit: Duration, cpu_used: Duration, wall: Duration) -> String {
    format!(
        "machine busy: after {:.0} s the test was still running but had been given only {:.1} s \
         of CPU time, less than its {} s limit; other programs held the cores. Run it again \
         when the machine is quieter",
        wall.as_secs_f64(),
        cpu_used.as_secs_f64(),
        limit.as_secs_f64()
    )
}

/// Why a real-thread test was not run: `decider`, a model-checked test of the same promise,
/// already failed. The learner is sent to the test that shows the mistake on every run.
pub fn decided_by_the_model(decider: &str) -> String {
    format!(
        "not run: `{decider}` already found this mistake under the model checker, on every \
         run; on real threads it shows only when the timing happens to be right. Fix what \
         `{decider}` reports, and this test runs again"
    )
}

/// Why a timing test was not run: `decider`, a clock-free test of what the speedup rests on
/// (that the work runs in parallel, or in the tasks the exercise asks for), already failed, so
/// the timer could only confirm it (or, on a busy machine, not decide at all).
pub fn decided_without_a_clock(decider: &str) -> String {
    format!(
        "not run: `{decider}` already showed, without a clock, that the work is not shaped to \
         get faster with more workers (it does not run in parallel, or not in the tasks the \
         exercise asks for). Fix what `{decider}` reports, and the speedup is measured again"
    )
}

/// A failed assertion in sentences: its message, the failing interleaving when the model
/// checker found one, and the schedule that replays it.
pub fn fail_details(
    message: &str,
    replay: Option<&str>,
    interleaving: Option<&Timeline>,
) -> String {
    let mut text = message.to_owned();
    if let Some(timeline) = interleaving {
        text.push_str(&describe_interleaving(timeline));
    }
    if let Some(schedule) = replay {
        let _ = write!(
            text,
            "\n(found by the model checker; this schedule replays it exactly: {schedule})"
        );
    }
    text
}

/// A panic in the learner's code in sentences, with a word for a `todo!()` left in.
pub fn panic_details(
    message: &str,
    location: &str,
    thread: &str,
    interleaving: Option<&Timeline>,
) -> String {
    let hint = if message.starts_with("not yet implemented") {
        "\nThat is a `todo!()` still waiting for your code."
    } else {
        ""
    };
    let steps = interleaving.map(describe_interleaving);
    format!(
        "your code panicked at {location} (thread '{thread}'):\n{message}{hint}{}",
        steps.unwrap_or_default()
    )
}

/// A timeout in sentences: what the diagnosis found, and what each thread was doing.
pub fn timeout_details(limit: Duration, diagnosis: &Diagnosis) -> String {
    let seconds = limit.as_secs_f64();
    let mut text = match diagnosis.kind {
        DiagnosisKind::Deadlock => real_thread_deadlock(diagnosis, seconds),
        DiagnosisKind::Spinning => format!(
            "still running after {seconds} s and still burning CPU: a livelock, a spin loop or an infinite loop."
        ),
        DiagnosisKind::Sleeping => {
            format!("still running after {seconds} s, every thread asleep on a timer.")
        }
        DiagnosisKind::Unknown => format!("still running after {seconds} s."),
    };
    for thread in &diagnosis.threads {
        let name = thread_name(thread);
        let doing = match (&thread.waiting_on, &thread.learner_site) {
            (Some(what), Some(site)) => format!("waits on {what} at {site}"),
            (Some(what), None) => format!("waits on {what}"),
            (None, _) => format!("running ({} ticks of CPU in 0.25 s)", thread.cpu_ticks),
        };
        let _ = write!(text, "\n  {name} of process {}: {doing}", thread.pid);
    }
    text
}

/// The failing schedule's last steps, one row each, under a line that says how to read them.
pub fn describe_interleaving(timeline: &Timeline) -> String {
    let values = if timeline.steps.iter().any(|step| step.value.is_some()) {
        ", with what each atomic read or wrote (`a -> b`: it held a, then b)"
    } else {
        ""
    };
    let mut text = format!(
        "\nHow it happened, one synchronisation step of your code per line, in the order the \
         threads made them{values} (the failure comes right after the last):",
    );
    if timeline.earlier_steps > 0 {
        let _ = write!(text, "\n  ({} earlier steps)", timeline.earlier_steps);
    }
    for row in timeline.rows() {
        let _ = write!(text, "\n  {row}");
    }
    text
}

/// How to see a model-checked failure again, step by step.
pub fn replay_hint(exercise_number: u32, test: &str) -> String {
    format!("`cargo xtask replay {exercise_number:02} {test}` shows these steps again")
}

/// The model checker's deadlock in sentences: who waits, for what, where, and why nothing
/// will wake them. Three shapes read differently, because their fixes differ:
///
/// - a thread waits on a condition variable and no thread is left to notify it: a lost
///   wake-up, not a cycle (a `notify_one` that woke another waiter, a notify that is missing);
/// - exactly one thread waits for a lock, and every other thread has finished or waits for a
///   join: it waits for a lock it holds itself;
/// - two or more threads wait for locks: a cycle, fixed by one global lock order.
pub fn describe_model_deadlock(threads: &[BlockedThread]) -> String {
    let in_learner_code =
        |t: &&BlockedThread, what: &str| t.waiting_for == Some(what) && t.learner_site.is_some();
    let on_condvar: Vec<&BlockedThread> = threads
        .iter()
        .filter(|t| in_learner_code(t, CONDVAR))
        .collect();
    let on_lock: Vec<&BlockedThread> = threads
        .iter()
        .filter(|t| in_learner_code(t, LOCK) || in_learner_code(t, RWLOCK))
        .collect();
    let mut text = if !on_condvar.is_empty() && on_lock.is_empty() {
        let waiter = on_condvar[0];
        format!(
            "{MODEL_FOUND_BLOCKED} in which {} waits on a condition variable at {} \
             and nobody will ever notify it: every other thread has finished or waits too. That \
             is a lost wake-up, not a cycle: {LOST_WAKE_UP_FIX}",
            learner_name(&waiter.name),
            site_of(waiter),
        )
    } else if on_lock.len() == 1 && on_condvar.is_empty() {
        let waiter = on_lock[0];
        format!(
            "{MODEL_FOUND_BLOCKED} in which {} waits for a lock at {} that no other \
             thread holds: every other thread has finished or waits for it to finish. So it \
             waits for a lock it already holds itself. {SELF_LOCK_FIX}",
            learner_name(&waiter.name),
            site_of(waiter),
        )
    } else if on_lock.len() >= 2 {
        format!(
            "{MODEL_FOUND_BLOCKED} that ends in a deadlock: every thread waits for another, so \
             none can go on"
        )
    } else {
        format!(
            "{MODEL_FOUND_BLOCKED} in which every thread is blocked, and no thread is left \
             running to wake any of them"
        )
    };
    for thread in threads {
        let what = thread.waiting_for.unwrap_or("something");
        let place = match &thread.learner_site {
            Some(site) => format!("at {site}"),
            None => "outside your code".to_owned(),
        };
        text.push_str(&format!(
            "\n  {} waits for {what} {place}",
            learner_name(&thread.name)
        ));
    }
    if on_lock.len() >= 2 {
        let cycle: Vec<String> = on_lock.iter().map(|t| learner_name(&t.name)).collect();
        text.push_str(&format!(
            "\nThe cycle: {} each hold a lock that another of them waits for. Take the locks \
             in one global order in every thread, and none can hold a later lock while it waits \
             for an earlier one",
            cycle.join(" and ")
        ));
    }
    text
}

/// Shuttle's report of a thread that locks a `Mutex` it already holds, in sentences.
pub fn describe_model_self_lock(thread: &BlockedThread) -> String {
    format!(
        "{MODEL_FOUND_BLOCKED} in which {} locks a `Mutex` that it already holds (a \
         self-lock), at {}. {SELF_LOCK_FIX}",
        learner_name(&thread.name),
        site_of(thread),
    )
}

const LOST_WAKE_UP_FIX: &str = "the change it waits for was made without a notify that \
    reaches it (a notify that is missing, or a `notify_one` that woke another waiter). After \
    every change a waiter can wait for, notify the condition variable it waits on, with \
    `notify_all` when several threads may wait";

const SELF_LOCK_FIX: &str = "A `Mutex` cannot be locked twice by one thread: the second \
    `lock()` waits for ever. Do the work under the guard you already have, or drop that guard \
    before calling code that locks again";

/// How every report of threads the model checker found blocked for ever begins; see
/// [`reports_threads_blocked_for_ever`].
pub(crate) const MODEL_FOUND_BLOCKED: &str = "the model checker found a schedule";

/// Whether a failure message is one of the model checker's reports of threads blocked for
/// ever (a deadlock, a self-lock, a lost wake-up); see [`Verdict::waits_for_ever`].
///
/// [`Verdict::waits_for_ever`]: crate::verdict::Verdict::waits_for_ever
pub fn reports_threads_blocked_for_ever(message: &str) -> bool {
    message.starts_with(MODEL_FOUND_BLOCKED)
}

const CONDVAR: &str = "a condition variable";
const LOCK: &str = "a lock";
const RWLOCK: &str = "a read-write lock";

fn site_of(thread: &BlockedThread) -> &str {
    thread
        .learner_site
        .as_deref()
        .unwrap_or("a line outside your code")
}

/// A model-checked thread as the learner knows it: shuttle calls the test's own thread
/// `main-thread` and a thread the code did not name `<unknown>`.
fn learner_name(name: &str) -> String {
    match name {
        "main-thread" => "the test's main thread".to_owned(),
        "<unknown>" | "" => "a thread without a name".to_owned(),
        named => format!("thread '{named}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model_report::{model_deadlock, tests::REPORT_WITH_BACKTRACES};

    #[test]
    fn a_timeline_with_values_says_how_to_read_them() {
        let steps = crate::timeline::tests::lost_update();
        let with_values = Timeline::from_interleaving(&steps, None).unwrap();
        let text = describe_interleaving(&with_values);
        assert!(
            text.contains("with what each atomic read or wrote"),
            "{text}"
        );
        assert!(text.contains("<- thread 2's increment is lost"), "{text}");

        let without: Vec<_> = steps
            .into_iter()
            .map(|step| harness::InterleavingStep {
                access: None,
                ..step
            })
            .collect();
        let text = describe_interleaving(&Timeline::from_interleaving(&without, None).unwrap());
        assert!(!text.contains("read or wrote"), "{text}");
    }

    #[test]
    fn the_deadlock_description_names_the_cycle() {
        let threads =
            model_deadlock(REPORT_WITH_BACKTRACES, "exercises/04_deadlock_ordering").unwrap();
        let mut both = threads.clone();
        both.push(BlockedThread {
            name: "transfer 1→0".into(),
            ..threads[1].clone()
        });
        let text = describe_model_deadlock(&both);
        assert!(
            text.contains(
                "The cycle: thread 'transfer 0→1' and thread 'transfer 1→0' each hold a lock"
            ),
            "{text}"
        );
    }

    fn blocked(name: &str, waiting_for: &'static str, site: Option<&str>) -> BlockedThread {
        BlockedThread {
            name: name.into(),
            waiting_for: Some(waiting_for),
            learner_site: site.map(str::to_owned),
        }
    }

    #[test]
    fn a_wait_nobody_will_notify_is_a_lost_wake_up_not_a_cycle() {
        let text = describe_model_deadlock(&[
            blocked("main-thread", "another thread to finish (join)", None),
            blocked(
                "<unknown>",
                "a condition variable",
                Some("exercises/03_bounded_queue/src/lib.rs:100:18 (in BoundedQueue<T>::pop)"),
            ),
        ]);
        assert!(
            text.contains(
                "a thread without a name waits on a condition variable at \
                 exercises/03_bounded_queue/src/lib.rs:100:18"
            ),
            "{text}"
        );
        assert!(text.contains("nobody will ever notify it"), "{text}");
        assert!(text.contains("lost wake-up"), "{text}");
        assert!(!text.contains("every thread waits for another"), "{text}");
        assert!(!text.contains("main-thread"), "{text}");
    }

    #[test]
    fn one_thread_waiting_for_a_lock_alone_holds_it_itself() {
        let text = describe_model_deadlock(&[
            blocked("main-thread", "another thread to finish (join)", None),
            blocked(
                "withdrawer",
                "a lock",
                Some("exercises/02_lock_fix/src/lib.rs:40:9 (in Account::balance)"),
            ),
        ]);
        assert!(
            text.contains("thread 'withdrawer' waits for a lock at exercises/02_lock_fix"),
            "{text}"
        );
        assert!(text.contains("a lock it already holds itself"), "{text}");
        assert!(!text.contains("every thread waits for another"), "{text}");
        assert!(!text.contains("The cycle"), "{text}");
    }
}
