//! The learner's progress: the last verdict of each exercise, kept in
//! `target/threadlings/progress.json` so that `list` can show it without re-running anything.
//!
//! A record is only as true as the code it was made from. [`Overview`] compares each record's
//! fingerprint with the code in the checkout now, so an edit or a `reset` since the last check
//! shows as such instead of as a stale verdict.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, Exercise};
use crate::check::ExerciseReport;
use crate::subject::Subject;
use crate::workspace::Workspace;
use crate::{error, Result};

/// What `list` shows for one exercise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Never checked.
    NotStarted,
    /// The last check failed, or the code changed since it passed.
    Failing,
    /// The last check passed and the code has not changed since.
    Done,
}

/// The last check of one exercise.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// [`crate::subject::Subject::fingerprint`] of the code that was checked.
    pub fingerprint: u64,
    pub passed: bool,
    pub points: u32,
    pub max_points: u32,
    /// How many hints the learner has seen.
    #[serde(default)]
    pub hints_seen: usize,
}

/// All records, by exercise folder name.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Progress {
    pub exercises: BTreeMap<String, Record>,
}

impl Progress {
    /// Reads the progress file; a missing or unreadable one is an empty start, not an error,
    /// because it only caches what a check can recompute.
    pub fn load(workspace: &Workspace) -> Progress {
        std::fs::read_to_string(path(workspace))
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }

    pub fn save(&self, workspace: &Workspace) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("progress always serialises");
        error::write(path(workspace), text)
    }

    /// Records a check of the learner's own exercise.
    pub fn record(&mut self, report: &ExerciseReport, fingerprint: u64) {
        let hints_seen = self
            .exercises
            .get(&report.dir_name)
            .map_or(0, |r| r.hints_seen);
        self.exercises.insert(
            report.dir_name.clone(),
            Record {
                fingerprint,
                passed: report.passed(),
                points: report.points,
                max_points: report.max_points,
                hints_seen,
            },
        );
    }

    /// The state of an exercise whose code now has `fingerprint`.
    pub fn state(&self, dir_name: &str, fingerprint: u64) -> State {
        match self.exercises.get(dir_name) {
            // A record with no points possible only counts hints: never checked.
            None => State::NotStarted,
            Some(record) if record.max_points == 0 => State::NotStarted,
            Some(record) if record.passed && record.fingerprint == fingerprint => State::Done,
            Some(_) => State::Failing,
        }
    }

    /// Forgets the last check of an exercise (its code was just replaced, by `reset`), keeping
    /// how many hints were seen.
    pub fn forget_check(&mut self, dir_name: &str) {
        if let Some(record) = self.exercises.get_mut(dir_name) {
            record.passed = false;
            record.points = 0;
            record.max_points = 0;
        }
    }

    /// Marks hints up to `seen` (1-based) as seen, for a learner who asked for one by number.
    pub fn mark_hints_seen(&mut self, dir_name: &str, seen: usize) {
        let record = self.record_or_blank(dir_name);
        record.hints_seen = record.hints_seen.max(seen);
    }

    /// Counts one more hint seen and returns its index (0-based), staying on the last hint.
    pub fn next_hint(&mut self, dir_name: &str, hint_count: usize) -> usize {
        let record = self.record_or_blank(dir_name);
        let index = record.hints_seen.min(hint_count.saturating_sub(1));
        record.hints_seen = (record.hints_seen + 1).min(hint_count);
        index
    }

    fn record_or_blank(&mut self, dir_name: &str) -> &mut Record {
        self.exercises.entry(dir_name.to_owned()).or_insert(Record {
            fingerprint: 0,
            passed: false,
            points: 0,
            max_points: 0,
            hints_seen: 0,
        })
    }

    /// Every exercise of `catalog` with what is known about it now.
    pub fn overview(&self, workspace: &Workspace, catalog: &Catalog) -> Overview {
        let exercises: Vec<Entry> = catalog
            .exercises
            .iter()
            .map(|exercise| self.entry(workspace, exercise))
            .collect();
        let next = exercises
            .iter()
            .find(|entry| entry.status != Status::Passed)
            .map(|entry| entry.dir_name.clone());
        let done = exercises
            .iter()
            .filter(|entry| entry.status == Status::Passed)
            .count();
        let points = exercises
            .iter()
            .filter(|entry| entry.status != Status::Edited)
            .filter_map(|entry| entry.last_check.as_ref())
            .map(|last| last.points)
            .sum();
        Overview {
            done,
            total: exercises.len(),
            points,
            max_points: exercises.iter().map(|entry| entry.max_points).sum(),
            next,
            exercises,
        }
    }

    fn entry(&self, workspace: &Workspace, exercise: &Exercise) -> Entry {
        // A missing or unreadable src/ has no fingerprint, so it never matches a record.
        let fingerprint = Subject::exercise(workspace, exercise)
            .ok()
            .map(|subject| subject.fingerprint());
        let last_check = self
            .exercises
            .get(&exercise.dir_name)
            .filter(|record| record.max_points > 0);
        let status = match last_check {
            None => Status::NotChecked,
            Some(record) if Some(record.fingerprint) != fingerprint => Status::Edited,
            Some(record) if record.passed => Status::Passed,
            Some(_) => Status::Failed,
        };
        Entry {
            number: exercise.meta.number,
            dir_name: exercise.dir_name.clone(),
            title: exercise.meta.title.clone(),
            status,
            last_check: last_check.map(|record| LastCheck {
                passed: record.passed,
                points: record.points,
                max_points: record.max_points,
            }),
            max_points: exercise.max_points(),
        }
    }
}

/// Every exercise's status and the totals `list` ends with.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub exercises: Vec<Entry>,
    /// The first exercise, in order, whose code has not passed as it is now.
    pub next: Option<String>,
    /// Exercises whose current code passed.
    pub done: usize,
    pub total: usize,
    /// Points of the last checks that still describe the code (edited exercises count none).
    pub points: u32,
    pub max_points: u32,
}

/// One exercise in an [`Overview`].
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub number: u32,
    pub dir_name: String,
    pub title: String,
    pub status: Status,
    /// The last check, even when the code changed since (then `status` is `edited`).
    pub last_check: Option<LastCheck>,
    pub max_points: u32,
}

/// What is known about an exercise's code as it is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Never checked, or reset since.
    NotChecked,
    /// The last check passed, and the code is the code it checked.
    Passed,
    /// The last check failed, and the code is the code it checked.
    Failed,
    /// The code changed since its last check, so that verdict no longer says anything.
    Edited,
}

/// The verdict of the last check, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LastCheck {
    pub passed: bool,
    pub points: u32,
    pub max_points: u32,
}

impl Overview {
    pub fn entry(&self, dir_name: &str) -> Option<&Entry> {
        self.exercises
            .iter()
            .find(|entry| entry.dir_name == dir_name)
    }

    /// The first exercise after `number` whose code has not passed, wrapping around to the
    /// start, or `None` when every other exercise is done.
    pub fn next_unsolved_after(&self, number: u32) -> Option<&Entry> {
        let unsolved = |entry: &&Entry| entry.status != Status::Passed && entry.number != number;
        self.exercises
            .iter()
            .filter(|entry| entry.number > number)
            .find(unsolved)
            .or_else(|| self.exercises.iter().find(unsolved))
    }
}

fn path(workspace: &Workspace) -> std::path::PathBuf {
    workspace.state_dir().join("progress.json")
}
