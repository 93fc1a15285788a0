//! The sentences a learner reads about a verdict, in plain text.
//!
//! Every output shares them: `cargo xtask check` adds colour and layout around them, and the
//! JSON, JUnit, Gradescope and Markdown reports of `grade` carry them as they are. Messages
//! that a verdict carries (an assertion of a hidden test, a crash cause, the timer's sentence)
//! are written where the verdict is decided; this module says how each kind of verdict reads.

use std::fmt::Write;

use crate::diagnosis::DiagnosisKind;
use crate::model_report::BlockedThread;
use crate::verdict::Verdict;

/// The verdict as a learner reads it in a table: `timeout (deadlock)` rather than a label.
pub fn verdict_name(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Timeout { diagnosis, .. } => match diagnosis.kind {
            DiagnosisKind::Deadlock => "timeout (deadlock)".into(),
            DiagnosisKind::Spinning => "timeout (livelock or infinite loop)".into(),
            DiagnosisKind::Sleeping => "timeout (sleeping)".into(),
            DiagnosisKind::Unknown => "timeout".into(),
        },
        // The timer starts every reason with its short form: `1 core: ...`, `machine busy: ...`.
        Verdict::Inconclusive { reason } => match reason.split_once(':') {
            Some((short, _)) if short.len() <= 20 => format!("inconclusive ({short})"),
            _ => "inconclusive".into(),
        },
        other => other.label().to_string(),
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

/// What went wrong, in sentences; empty for a pass.
pub fn verdict_details(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Pass => String::new(),
        Verdict::Fail { message, replay } => {
            let mut text = message.clone();
            if let Some(schedule) = replay {
                let _ = write!(
                    text,
                    "\n(found by the model checker; this schedule replays it exactly: {schedule})"
                );
            }
            text
        }
        Verdict::Panic {
            message,
            location,
            thread,
        } => {
            let hint = if message.starts_with("not yet implemented") {
                "\nThat is a `todo!()` still waiting for your code."
            } else {
                ""
            };
            format!("your code panicked at {location} (thread '{thread}'):\n{message}{hint}")
        }
        Verdict::Timeout { limit, diagnosis } => {
            let seconds = limit.as_secs_f64();
            let mut text = match diagnosis.kind {
                DiagnosisKind::Deadlock => format!(
                    "still running after {seconds} s, every thread blocked and none using CPU: a deadlock."
                ),
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
                let doing = match &thread.waiting_on {
                    Some(what) => format!("waits on {what}"),
                    None => format!("running ({} ticks of CPU in 0.25 s)", thread.cpu_ticks),
                };
                let _ = write!(text, "\n  {name} of process {}: {doing}", thread.pid);
            }
            text
        }
        Verdict::Crash { cause } => cause.clone(),
        Verdict::Leak { message } => message.clone(),
        Verdict::Inconclusive { reason } => reason.clone(),
    }
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
    use crate::model_report::{model_deadlock, tests::REPORT_WITH_BACKTRACES};

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
            text.contains("The cycle: 'transfer 0→1' and 'transfer 1→0' each hold a lock"),
            "{text}"
        );
    }

    #[test]
    fn a_todo_panic_is_called_a_todo() {
        let details = verdict_details(&Verdict::Panic {
            message: "not yet implemented: run f".into(),
            location: "exercises/01_race_counter/src/lib.rs:35:5".into(),
            thread: "main".into(),
        });
        assert!(details.contains("That is a `todo!()`"), "{details}");
        assert!(
            details.starts_with("your code panicked at exercises/01"),
            "{details}"
        );
    }

    #[test]
    fn an_inconclusive_verdict_shows_its_short_reason() {
        let verdict = Verdict::Inconclusive {
            reason: "machine busy: in 4 attempts ...".into(),
        };
        assert_eq!(verdict_name(&verdict), "inconclusive (machine busy)");
    }
}
