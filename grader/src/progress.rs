//! The learner's progress: the last verdict of each exercise, kept in
//! `target/threadlings/progress.json` so that `list` can show it without re-running anything.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::check::ExerciseReport;
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

    /// Counts one more hint seen and returns its index (0-based), staying on the last hint.
    pub fn next_hint(&mut self, dir_name: &str, hint_count: usize) -> usize {
        let record = self.exercises.entry(dir_name.to_owned()).or_insert(Record {
            fingerprint: 0,
            passed: false,
            points: 0,
            max_points: 0,
            hints_seen: 0,
        });
        let index = record.hints_seen.min(hint_count.saturating_sub(1));
        record.hints_seen = (record.hints_seen + 1).min(hint_count);
        index
    }
}

fn path(workspace: &Workspace) -> std::path::PathBuf {
    workspace.state_dir().join("progress.json")
}
