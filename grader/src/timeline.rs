//! The model checker's failing interleaving as a timeline a learner can read.
//!
//! When a model-checked test fails, the harness replays the failing schedule once and reports
//! every synchronisation operation it made from the learner's `src/`, in the order they ran
//! (`harness::InterleavingStep`). This module keeps the steps that matter (the last
//! [`SHOWN_STEPS`]: the failure is at the end) and lays them out one row per step. The rows
//! hold only what the schedule fixes (threads numbered in start order, operations, the
//! learner's file and line), never an address, a pid or a path of this machine, so the same
//! code gives the same timeline on every run and machine. The sentence around it is
//! [`crate::explain`]'s.

use serde::Serialize;

/// How many steps a timeline shows. A lost update or a lost wake-up needs four to eight; more
/// rows only push the failure out of sight.
pub const SHOWN_STEPS: usize = 12;

/// The last steps of a failing interleaving.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Timeline {
    /// Steps of the schedule before the ones shown.
    pub earlier_steps: usize,
    pub steps: Vec<TimelineStep>,
}

/// One thread's synchronisation operation, at a line of the learner's code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineStep {
    /// `main`, a name the test gave, or `thread N` in the order the threads started.
    pub thread: String,
    /// `AtomicU64::load`, `Mutex::lock`, `Condvar::wait`, ...
    pub operation: String,
    /// The file under the crate's `src/` and the line: `lib.rs:56`.
    pub location: String,
    /// The learner's function that made it: `Counter::increment`.
    pub function: String,
    /// The thread was stopped before this operation when the schedule ended (in a deadlock,
    /// for ever).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub never_ran: bool,
}

impl Timeline {
    /// The timeline of a report's interleaving; `None` when it has no step in the learner's
    /// code (the failure did not come from the model checker, or the code made no
    /// synchronisation operation of its own).
    ///
    /// `deadlock` is `Some` when the schedule ended in a deadlock, with the names the model
    /// checker's report gives the threads blocked in the learner's code (`main-thread`,
    /// `task-2`, or the test's name). In a deadlock no thread can move, so every thread the
    /// harness reports stopped before an operation ends the timeline with it; a thread blocked
    /// in the learner's code that the harness did not report stopped has its last step marked.
    /// After a failed assertion, what stopped threads were about to do is left out: it is not
    /// part of the story.
    pub fn from_interleaving(
        steps: &[harness::InterleavingStep],
        deadlock: Option<&[String]>,
    ) -> Option<Timeline> {
        let as_row = |step: &harness::InterleavingStep| TimelineStep {
            thread: step.thread.clone(),
            operation: step.operation.clone(),
            location: format!("{}:{}", file_under_src(&step.file), step.line),
            function: step.function.clone(),
            never_ran: step.never_ran,
        };
        let mut rows: Vec<TimelineStep> = steps
            .iter()
            .filter(|step| !step.never_ran || deadlock.is_some())
            .map(as_row)
            .collect();
        for name in deadlock.unwrap_or_default() {
            let label = thread_label(name);
            let stopped = rows.iter().any(|row| row.never_ran && row.thread == label);
            if !stopped {
                if let Some(last) = rows.iter_mut().rev().find(|row| row.thread == label) {
                    last.never_ran = true;
                }
            }
        }
        let earlier_steps = rows.len().saturating_sub(SHOWN_STEPS);
        let steps = rows.split_off(earlier_steps);
        (!steps.is_empty()).then_some(Timeline {
            earlier_steps,
            steps,
        })
    }

    /// One row per step, columns aligned: `thread 1: AtomicU64::load   lib.rs:56   Counter::increment`.
    pub fn rows(&self) -> Vec<String> {
        let width = |field: fn(&TimelineStep) -> &str| {
            self.steps
                .iter()
                .map(|step| field(step).chars().count())
                .max()
                .unwrap_or(0)
        };
        let thread_width = width(|step| &step.thread) + 1;
        let operation_width = width(|step| &step.operation);
        let location_width = width(|step| &step.location);
        self.steps
            .iter()
            .map(|step| {
                let row = format!(
                    "{:<thread_width$} {:<operation_width$}  {:<location_width$}  in {}",
                    format!("{}:", step.thread),
                    step.operation,
                    step.location,
                    step.function
                );
                match step.never_ran {
                    true => format!("{row}  <- {NEVER_RAN}"),
                    false => row,
                }
            })
            .collect()
    }
}

/// The harness's label of a thread the model checker's report names.
fn thread_label(name: &str) -> String {
    match name {
        "main-thread" => "main".to_owned(),
        other => match other.strip_prefix("task-") {
            Some(number) if number.parse::<usize>().is_ok() => format!("thread {number}"),
            _ => other.to_owned(),
        },
    }
}

/// What a row says of a thread stopped before its operation when the schedule ended.
const NEVER_RAN: &str = "never got past this";

/// `…/scratch/01_race_counter/exercise/model/../subject/src/lib.rs` becomes `lib.rs`: where the
/// file is in the learner's `src/`, whoever built it.
fn file_under_src(file: &str) -> &str {
    crate::learner_paths::under_learner_src(file).unwrap_or(file)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn step(thread: &str, operation: &str, line: u32) -> harness::InterleavingStep {
        harness::InterleavingStep {
            thread: thread.into(),
            operation: operation.into(),
            file: "/somewhere/target/threadlings/scratch/01_race_counter/exercise/model/../subject/src/lib.rs"
                .into(),
            line,
            function: "Counter::increment".into(),
            never_ran: false,
        }
    }

    /// The lost update of exercise 01, as the harness reports it.
    pub(crate) fn lost_update() -> Vec<harness::InterleavingStep> {
        vec![
            step("thread 1", "AtomicU64::load", 56),
            step("thread 2", "AtomicU64::load", 56),
            step("thread 2", "AtomicU64::store", 57),
            step("thread 1", "AtomicU64::store", 57),
        ]
    }

    #[test]
    fn rows_are_aligned_and_name_the_file_under_src() {
        let timeline = Timeline::from_interleaving(&lost_update(), None).unwrap();
        assert_eq!(timeline.earlier_steps, 0);
        assert_eq!(
            timeline.rows(),
            [
                "thread 1: AtomicU64::load   lib.rs:56  in Counter::increment",
                "thread 2: AtomicU64::load   lib.rs:56  in Counter::increment",
                "thread 2: AtomicU64::store  lib.rs:57  in Counter::increment",
                "thread 1: AtomicU64::store  lib.rs:57  in Counter::increment",
            ]
        );
    }

    #[test]
    fn only_the_last_steps_are_kept() {
        let long: Vec<_> = (0..30)
            .map(|line| step("main", "Mutex::lock", line))
            .collect();
        let timeline = Timeline::from_interleaving(&long, None).unwrap();
        assert_eq!(timeline.earlier_steps, 30 - SHOWN_STEPS);
        assert_eq!(timeline.steps.len(), SHOWN_STEPS);
        assert_eq!(timeline.steps.last().unwrap().location, "lib.rs:29");
    }

    #[test]
    fn a_deadlocked_thread_ends_with_the_step_it_never_got_past() {
        let mut steps = lost_update();
        let mut stopped = step("thread 1", "Mutex::lock", 60);
        stopped.never_ran = true;
        steps.push(stopped);
        let mut asleep = step("thread 2", "Condvar::wait (asleep)", 61);
        asleep.never_ran = true;
        steps.push(asleep);

        // In a deadlock, every stopped thread ends the timeline, named in the report or not.
        let names = ["task-1".to_owned()];
        let rows = Timeline::from_interleaving(&steps, Some(&names))
            .unwrap()
            .rows();
        assert_eq!(rows.len(), 6, "{rows:?}");
        assert!(
            rows[4].starts_with("thread 1: Mutex::lock")
                && rows[4].ends_with("<- never got past this"),
            "{rows:?}"
        );
        assert!(
            rows[5].starts_with("thread 2: Condvar::wait (asleep)"),
            "{rows:?}"
        );
        assert!(
            !rows[..4].iter().any(|row| row.contains("never")),
            "{rows:?}"
        );

        // After a failed assertion, they are left out.
        let rows = Timeline::from_interleaving(&steps, None).unwrap().rows();
        assert_eq!(rows.len(), 4, "{rows:?}");

        // Without its stopped step, a deadlocked thread's last step is the one it is stuck in.
        let names = ["task-2".to_owned()];
        let timeline = Timeline::from_interleaving(&lost_update(), Some(&names)).unwrap();
        let marked: Vec<bool> = timeline.steps.iter().map(|step| step.never_ran).collect();
        assert_eq!(marked, [false, false, true, false]);
    }

    #[test]
    fn no_steps_is_no_timeline() {
        assert_eq!(Timeline::from_interleaving(&[], None), None);
    }
}
