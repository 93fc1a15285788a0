//! The model checker's failing interleaving as a timeline a learner can read.
//!
//! When a model-checked test fails, the harness replays the failing schedule once and reports
//! every synchronisation operation it made from the learner's `src/`, in the order they ran
//! (`harness::InterleavingStep`). This module keeps the steps that matter (the last
//! [`SHOWN_STEPS`]: the failure is at the end) and lays them out one row per step. The rows
//! hold only what the schedule fixes (threads numbered in start order, operations, the values
//! an atomic read or wrote, the learner's file and line), never an address, a pid or a path of
//! this machine, so the same code gives the same timeline on every run and machine. A store
//! that overwrites another thread's store unseen (a lost update, [`lost_updates`]) is marked on
//! its row. The sentence around it is [`crate::explain`]'s.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
    /// What an atomic operation read or wrote: `= 0`, `0 -> 1`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// What the row means for the failure: `thread 2's increment is lost`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
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
        let as_row = |(step, note): (&harness::InterleavingStep, Option<String>)| TimelineStep {
            thread: step.thread.clone(),
            operation: step.operation.clone(),
            location: format!("{}:{}", file_under_src(&step.file), step.line),
            function: step.function.clone(),
            value: step.access.as_ref().map(|access| access.shown.clone()),
            note,
            never_ran: step.never_ran,
        };
        let mut rows: Vec<TimelineStep> = steps
            .iter()
            .zip(lost_updates(steps))
            .filter(|(step, _)| !step.never_ran || deadlock.is_some())
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

    /// One row per step, columns aligned:
    /// `thread 1: AtomicU64::load = 0  lib.rs:56  in Counter::increment`.
    pub fn rows(&self) -> Vec<String> {
        let operations: Vec<String> = self
            .steps
            .iter()
            .map(|step| match &step.value {
                Some(value) => format!("{} {value}", step.operation),
                None => step.operation.clone(),
            })
            .collect();
        let widest = |texts: &mut dyn Iterator<Item = &str>| {
            texts.map(|text| text.chars().count()).max().unwrap_or(0)
        };
        let thread_width = widest(&mut self.steps.iter().map(|step| step.thread.as_str())) + 1;
        let operation_width = widest(&mut operations.iter().map(String::as_str));
        let location_width = widest(&mut self.steps.iter().map(|step| step.location.as_str()));
        self.steps
            .iter()
            .zip(&operations)
            .map(|(step, operation)| {
                let row = format!(
                    "{:<thread_width$} {operation:<operation_width$}  {:<location_width$}  in {}",
                    format!("{}:", step.thread),
                    step.location,
                    step.function
                );
                match (step.never_ran, &step.note) {
                    (true, _) => format!("{row}  <- {NEVER_RAN}"),
                    (false, Some(note)) => format!("{row}  <- {note}"),
                    (false, None) => row,
                }
            })
            .collect()
    }

    /// Puts the name of the atomic before each value, read from the learner's line in
    /// `sources` (the files of `src/`, by path under `src/`): `count = 0` for
    /// `self.count.load(…)`. A value whose atomic has no plain name there keeps no name.
    pub fn name_atomics(&mut self, sources: &BTreeMap<PathBuf, String>) {
        for step in &mut self.steps {
            let (Some(value), Some((file, line))) = (&step.value, step.location.rsplit_once(':'))
            else {
                continue;
            };
            let (Some(text), Ok(line)) = (sources.get(Path::new(file)), line.parse::<usize>())
            else {
                continue;
            };
            let method = step.operation.rsplit("::").next().unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let name = line
                .checked_sub(1)
                .and_then(|index| lines.get(..=index))
                .and_then(|lines| receiver_name(lines, method));
            if let Some(name) = name {
                step.value = Some(format!("{name} {value}"));
            }
        }
    }
}

/// The field or variable a method is called on in the last of `lines`: `count` in
/// `let n = self.count.load(Ordering::SeqCst);`, also when the call starts a line of a chain.
/// `None` when the line calls `method` more than once or on anything but a plain name
/// (`self.slots[i]`, `counter()`).
fn receiver_name(lines: &[&str], method: &str) -> Option<String> {
    let (last, earlier) = lines.split_last()?;
    let call = format!(".{method}(");
    let mut calls = last.match_indices(&call);
    let (at, _) = calls.next()?;
    if calls.next().is_some() {
        return None;
    }
    let mut before = last[..at].trim_end();
    if before.is_empty() {
        // `.load(…)` begins the line: the receiver ends the line before.
        before = earlier.last()?.trim_end();
    }
    let is_name_char = |c: char| c.is_alphanumeric() || c == '_';
    let start = before
        .rfind(|c: char| !is_name_char(c))
        .map_or(0, |at| at + 1);
    let name = &before[start..];
    let plain = name.starts_with(|c: char| c.is_alphabetic() || c == '_') && name != "self";
    plain.then(|| name.to_owned())
}

/// The lost updates of an interleaving: for each step, what it destroyed, if anything.
///
/// A store loses an update when its thread last read the same atomic before another thread
/// wrote it a different value: the store then writes a value computed from a stale read over
/// the other thread's. The note names the thread whose write is lost, and calls it an
/// increment when that write was its read plus one (`fetch_add(1)`, or a load then a store of
/// one more). A read-modify-write (`fetch_add`, `swap`, a compare-exchange) reads and writes in
/// one step, so it never loses anything itself.
pub fn lost_updates(steps: &[harness::InterleavingStep]) -> Vec<Option<String>> {
    (0..steps.len())
        .map(|index| lost_update_at(steps, index))
        .collect()
}

fn lost_update_at(steps: &[harness::InterleavingStep], index: usize) -> Option<String> {
    let store = &steps[index];
    let access = store.access.as_ref()?;
    if access.read.is_some() || access.written.is_none() || store.never_ran {
        return None;
    }
    let atomic = access.atomic;
    let read_at = last_read(&steps[..index], &store.thread, atomic)?;
    let stale = steps[read_at].access.as_ref()?.read.as_ref();
    let (offset, overwritten) = steps[read_at + 1..index]
        .iter()
        .enumerate()
        .rev()
        .find(|(_, step)| step.thread != store.thread && writes(step, atomic).is_some())?;
    let written = writes(overwritten, atomic);
    if written == stale {
        // The other thread wrote what this one had read: nothing is lost.
        return None;
    }
    let before_overwritten = &steps[..read_at + 1 + offset];
    Some(match is_increment(overwritten, before_overwritten) {
        true => format!("{}'s increment is lost", overwritten.thread),
        false => format!("overwrites {}'s store", overwritten.thread),
    })
}

/// The index of the last step of `thread` among `steps` that read `atomic`.
fn last_read(steps: &[harness::InterleavingStep], thread: &str, atomic: usize) -> Option<usize> {
    steps.iter().rposition(|step| {
        step.thread == thread
            && step
                .access
                .as_ref()
                .is_some_and(|access| access.atomic == atomic && access.read.is_some())
    })
}

/// The value `step` wrote to `atomic`, if it wrote it.
fn writes(step: &harness::InterleavingStep, atomic: usize) -> Option<&String> {
    let access = step
        .access
        .as_ref()
        .filter(|access| access.atomic == atomic)?;
    access.written.as_ref()
}

/// Whether `write` wrote one more than its thread read: in one step, or by a store after the
/// thread's last read among `before` (the steps before `write`).
fn is_increment(write: &harness::InterleavingStep, before: &[harness::InterleavingStep]) -> bool {
    let Some(access) = &write.access else {
        return false;
    };
    let read = match &access.read {
        Some(read) => Some(read),
        None => last_read(before, &write.thread, access.atomic)
            .and_then(|at| before[at].access.as_ref()?.read.as_ref()),
    };
    let number = |text: Option<&String>| text?.parse::<i128>().ok();
    matches!(
        (number(read), number(access.written.as_ref())),
        (Some(read), Some(written)) if written == read + 1
    )
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
            access: None,
        }
    }

    /// An operation on atomic number `atomic`: `read` and `written` as the harness records
    /// them, the row's text made from them as the harness makes it.
    fn atomic_step(
        thread: &str,
        operation: &str,
        atomic: usize,
        read: Option<u64>,
        written: Option<u64>,
    ) -> harness::InterleavingStep {
        let shown = match (read, written) {
            (Some(read), Some(written)) => format!("{read} -> {written}"),
            (Some(value), None) | (None, Some(value)) => format!("= {value}"),
            (None, None) => String::new(),
        };
        let line = if operation.ends_with("load") { 56 } else { 57 };
        harness::InterleavingStep {
            access: Some(harness::AtomicAccess {
                atomic,
                read: read.map(|value| value.to_string()),
                written: written.map(|value| value.to_string()),
                shown,
            }),
            ..step(thread, operation, line)
        }
    }

    fn load(thread: &str, value: u64) -> harness::InterleavingStep {
        atomic_step(thread, "AtomicU64::load", 1, Some(value), None)
    }

    fn store(thread: &str, value: u64) -> harness::InterleavingStep {
        atomic_step(thread, "AtomicU64::store", 1, None, Some(value))
    }

    /// The lost update of exercise 01, as the harness reports it.
    pub(crate) fn lost_update() -> Vec<harness::InterleavingStep> {
        vec![
            load("thread 1", 0),
            load("thread 2", 0),
            store("thread 2", 1),
            store("thread 1", 1),
        ]
    }

    #[test]
    fn rows_are_aligned_show_values_and_name_the_file_under_src() {
        let timeline = Timeline::from_interleaving(&lost_update(), None).unwrap();
        assert_eq!(timeline.earlier_steps, 0);
        assert_eq!(
            timeline.rows(),
            [
                "thread 1: AtomicU64::load = 0   lib.rs:56  in Counter::increment",
                "thread 2: AtomicU64::load = 0   lib.rs:56  in Counter::increment",
                "thread 2: AtomicU64::store = 1  lib.rs:57  in Counter::increment",
                "thread 1: AtomicU64::store = 1  lib.rs:57  in Counter::increment  \
                 <- thread 2's increment is lost",
            ]
        );
    }

    #[test]
    fn values_are_named_after_the_field_or_variable_called() {
        assert_eq!(
            receiver_name(&["let n = self.count.load(Ordering::SeqCst);"], "load"),
            Some("count".into())
        );
        assert_eq!(
            receiver_name(&["    counter.fetch_add(1, SeqCst);"], "fetch_add"),
            Some("counter".into())
        );
        assert_eq!(
            receiver_name(
                &["self.ready", "    .store(true, Ordering::Release);"],
                "store"
            ),
            Some("ready".into())
        );
        for (line, method) in [
            ("self.slots[i].load(SeqCst)", "load"),
            ("counter().load(SeqCst)", "load"),
            ("a.load(SeqCst) + b.load(SeqCst)", "load"),
            ("self.load(SeqCst)", "load"),
            ("self.0.load(SeqCst)", "load"),
            ("x.store(1, SeqCst)", "load"),
        ] {
            assert_eq!(receiver_name(&[line], method), None, "{line}");
        }

        let mut timeline = Timeline::from_interleaving(&lost_update(), None).unwrap();
        let mut lib = vec![""; 57];
        lib[55] = "        let current = self.count.load(Ordering::SeqCst);";
        lib[56] = "        self.count.store(current + 1, Ordering::SeqCst);";
        let sources = BTreeMap::from([(PathBuf::from("lib.rs"), lib.join("\n"))]);
        timeline.name_atomics(&sources);
        let values: Vec<_> = timeline.steps.iter().map(|s| s.value.as_deref()).collect();
        assert_eq!(
            values,
            [
                Some("count = 0"),
                Some("count = 0"),
                Some("count = 1"),
                Some("count = 1")
            ]
        );
    }

    fn notes(steps: &[harness::InterleavingStep]) -> Vec<Option<&'static str>> {
        lost_updates(steps)
            .into_iter()
            .map(|note| note.map(|note| &*note.leak()))
            .collect()
    }

    #[test]
    fn a_store_after_a_stale_load_loses_the_other_threads_increment() {
        assert_eq!(
            notes(&lost_update()),
            [None, None, None, Some("thread 2's increment is lost")]
        );
        // A `fetch_add(1)` in between is an increment too.
        let steps = [
            load("thread 1", 0),
            atomic_step("main", "AtomicU64::fetch_add", 1, Some(0), Some(1)),
            store("thread 1", 1),
        ];
        assert_eq!(
            notes(&steps),
            [None, None, Some("main's increment is lost")]
        );
    }

    #[test]
    fn a_store_over_a_write_that_is_not_an_increment_overwrites_it() {
        let steps = [
            load("thread 1", 0),
            store("thread 2", 5),
            store("thread 1", 1),
        ];
        assert_eq!(
            notes(&steps),
            [None, None, Some("overwrites thread 2's store")]
        );
    }

    #[test]
    fn nothing_is_lost_without_a_stale_read() {
        // One thread after the other.
        let serial = [
            load("thread 1", 0),
            store("thread 1", 1),
            load("thread 2", 1),
            store("thread 2", 2),
        ];
        assert_eq!(notes(&serial), [None; 4]);
        // The other thread wrote the value this one had read.
        let same_value = [
            load("thread 1", 0),
            store("thread 2", 0),
            store("thread 1", 1),
        ];
        assert_eq!(notes(&same_value), [None; 3]);
        // The other thread wrote another atomic.
        let elsewhere = [
            load("thread 1", 0),
            atomic_step("thread 2", "AtomicU64::store", 2, None, Some(1)),
            store("thread 1", 1),
        ];
        assert_eq!(notes(&elsewhere), [None; 3]);
        // Read-modify-writes read and write in one step.
        let indivisible = [
            atomic_step("thread 1", "AtomicU64::fetch_add", 1, Some(0), Some(1)),
            atomic_step("thread 2", "AtomicU64::fetch_add", 1, Some(1), Some(2)),
            atomic_step("thread 1", "AtomicU64::fetch_add", 1, Some(2), Some(3)),
        ];
        assert_eq!(notes(&indivisible), [None; 3]);
        // No values (operations on locks): nothing to judge.
        let unknown = [
            step("thread 1", "AtomicU64::load", 56),
            step("thread 2", "AtomicU64::store", 57),
            step("thread 1", "AtomicU64::store", 57),
        ];
        assert_eq!(notes(&unknown), [None; 3]);
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
