//! A class at once: every subfolder of a roster folder is one student's submission.
//!
//! Students are graded with bounded parallelism (never more at once than the machine has
//! cores, because each grading runs one test process at a time and tests that measure timing
//! need their core), and the results become one CSV gradebook whose numbers come from the same
//! [`GradeReport`]s that are written per student.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use crate::grade::GradeReport;
use crate::{Error, ErrorKind, Result};

/// One student's submission folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Student {
    /// The folder's name, made safe to use as a file name and a CSV cell.
    pub name: String,
    pub dir: PathBuf,
}

/// What grading one student gave: a report, or why there is none.
pub type StudentGrade = std::result::Result<GradeReport, NotGraded>;

/// Why a student has no report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct NotGraded {
    /// In words, for the gradebook's `problem` column.
    pub reason: String,
}

impl NotGraded {
    pub fn new(reason: impl Into<String>) -> NotGraded {
        NotGraded {
            reason: reason.into(),
        }
    }
}

/// Every subfolder of `roster_dir`, sorted by name. Hidden folders (`.git`) are skipped.
pub fn students(roster_dir: &Path) -> Result<Vec<Student>> {
    let entries = std::fs::read_dir(roster_dir).map_err(|source| {
        Error::new(
            ErrorKind::NotFound,
            format!(
                "cannot list the roster {}: {source}; pass a folder with one subfolder per student",
                roster_dir.display()
            ),
        )
    })?;
    let mut students: Vec<Student> = entries
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|entry| !entry.file_name().to_string_lossy().starts_with('.'))
        .map(|entry| Student {
            name: safe_name(&entry.file_name().to_string_lossy()),
            dir: entry.path(),
        })
        .collect();
    students.sort_by(|a, b| a.name.cmp(&b.name));
    if students.is_empty() {
        return Err(Error::new(
            ErrorKind::NotFound,
            format!(
                "the roster {} has no subfolders; put each student's submission in a folder of its own",
                roster_dir.display()
            ),
        ));
    }
    for pair in students.windows(2) {
        if pair[0].name == pair[1].name {
            return Err(Error::new(
                ErrorKind::BrokenCheckout,
                format!(
                    "two roster folders both become `{}` as file names; rename one",
                    pair[0].name
                ),
            ));
        }
    }
    Ok(students)
}

/// Keeps letters, digits, `.`, `-` and `_`; everything else becomes `_`.
fn safe_name(raw: &str) -> String {
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// How many students to grade at once: what the caller asks for, but never more than the
/// machine's cores, and at least one.
pub fn parallelism(requested: Option<usize>) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    requested.unwrap_or(cores).clamp(1, cores)
}

/// Grades every student with `grade_one`, at most `parallelism` at a time, calling `on_done`
/// on the calling thread as each finishes. The results are in roster order.
pub fn grade_all<F>(
    students: &[Student],
    parallelism: usize,
    grade_one: F,
    on_done: &mut dyn FnMut(&Student, &StudentGrade),
) -> Vec<StudentGrade>
where
    F: Fn(&Student) -> StudentGrade + Sync,
{
    let next = AtomicUsize::new(0);
    let (sender, receiver) = mpsc::channel();
    let mut results: Vec<Option<StudentGrade>> = vec![None; students.len()];
    std::thread::scope(|scope| {
        for _ in 0..parallelism.max(1).min(students.len()) {
            let sender = sender.clone();
            let (next, grade_one) = (&next, &grade_one);
            scope.spawn(move || loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(student) = students.get(index) else {
                    break;
                };
                // The receiver lives until every worker is done, so sending cannot fail.
                let _ = sender.send((index, grade_one(student)));
            });
        }
        drop(sender);
        for (index, outcome) in receiver {
            on_done(&students[index], &outcome);
            results[index] = Some(outcome);
        }
    });
    results
        .into_iter()
        .map(|outcome| outcome.unwrap_or_else(|| Err(NotGraded::new("the grading worker stopped"))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_become_safe_file_names() {
        assert_eq!(safe_name("ada lovelace"), "ada_lovelace");
        assert_eq!(safe_name("../x"), ".._x");
        assert_eq!(safe_name("bob-2.final"), "bob-2.final");
    }

    #[test]
    fn workers_never_exceed_the_bound_and_results_keep_roster_order() {
        let students: Vec<Student> = (0..7)
            .map(|n| Student {
                name: format!("s{n}"),
                dir: PathBuf::from(format!("s{n}")),
            })
            .collect();
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let mut finished = 0;
        let outcomes = grade_all(
            &students,
            2,
            |student| {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::yield_now();
                running.fetch_sub(1, Ordering::SeqCst);
                Err(NotGraded::new(student.name.clone()))
            },
            &mut |_, _| finished += 1,
        );
        assert_eq!(finished, 7, "on_done runs once per student");
        assert!(
            most.load(Ordering::SeqCst) <= 2,
            "{} students were graded at once with a bound of 2",
            most.load(Ordering::SeqCst)
        );
        let order: Vec<String> = outcomes
            .into_iter()
            .map(|grade| grade.unwrap_err().reason)
            .collect();
        assert_eq!(order, ["s0", "s1", "s2", "s3", "s4", "s5", "s6"]);
    }
}
