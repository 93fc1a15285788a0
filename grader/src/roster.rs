//! A class at once: every subfolder of a roster folder is one student's submission.
//!
//! Each student's outcome is a file of its own in the output's `students/` folder (the JSON
//! report, or a `.not-graded.txt` with the reason), and the gradebook is always made from that
//! folder. So a row appears as soon as its student is done, a run that stopped can resume, one
//! student can be regraded into an existing gradebook, and the outputs of shards graded on
//! different machines merge by copying their `students/` folders together.
//!
//! Students are graded with bounded parallelism (never more at once than the machine has
//! cores, because each grading runs one test process at a time), their graders take turns so
//! that a test measuring timing runs alone ([`crate::turns`]), builds of identical code are
//! shared and removed when no student needs them any more ([`SharedBuilds`]), and the results
//! become one CSV gradebook whose numbers come from the same [`GradeReport`]s that are written
//! per student.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use crate::catalog::Catalog;
use crate::grade::GradeReport;
use crate::scratch;
use crate::submission::Submission;
use crate::workspace::Workspace;
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

/// The shard `index` (1-based) of `count`: every `count`-th student of the sorted roster,
/// starting at the `index`-th. The split depends only on the roster's names, so every machine
/// of a matrix computes the same one, and the shards together are the whole roster, each
/// student once.
pub fn shard(students: Vec<Student>, index: usize, count: usize) -> Result<Vec<Student>> {
    if count == 0 || index == 0 || index > count {
        return Err(Error::new(
            ErrorKind::NotFound,
            format!("there is no shard {index} of {count}; shards are numbered 1 to N, as in 2/4"),
        ));
    }
    Ok(students
        .into_iter()
        .enumerate()
        .filter(|(position, _)| position % count == index - 1)
        .map(|(_, student)| student)
        .collect())
}

/// Where a student's JSON report is written.
pub fn report_path(students_dir: &Path, name: &str) -> PathBuf {
    students_dir.join(format!("{name}{REPORT}"))
}

/// Where the reason a student could not be graded is written.
pub fn not_graded_path(students_dir: &Path, name: &str) -> PathBuf {
    students_dir.join(format!("{name}{NOT_GRADED}"))
}

const REPORT: &str = ".json";
const NOT_GRADED: &str = ".not-graded.txt";

/// Whether `name` already has a report that reads back, which `--resume` keeps.
pub fn has_report(students_dir: &Path, name: &str) -> bool {
    std::fs::read_to_string(report_path(students_dir, name))
        .is_ok_and(|text| GradeReport::from_json(&text).is_ok())
}

/// One row of a gradebook: a student's name and outcome.
#[derive(Debug, Clone)]
pub struct Row {
    pub name: String,
    pub grade: StudentGrade,
}

/// Every outcome in `students_dir`, sorted by name: each `NAME.json` report, and each
/// `NAME.not-graded.txt` whose student has no report. A report that does not read back (a run
/// killed while writing it) becomes a row that says so.
pub fn rows(students_dir: &Path) -> Result<Vec<Row>> {
    let entries = std::fs::read_dir(students_dir)
        .map_err(|source| Error::io("cannot list the reports in", students_dir, source))?;
    let mut rows: Vec<Row> = Vec::new();
    let mut not_graded: Vec<(String, PathBuf)> = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if file_name.starts_with('.') {
            continue;
        }
        if let Some(name) = file_name.strip_suffix(NOT_GRADED) {
            not_graded.push((name.to_owned(), entry.path()));
        } else if let Some(name) = file_name.strip_suffix(REPORT) {
            let grade = std::fs::read_to_string(entry.path())
                .map_err(|e| NotGraded::new(format!("cannot read {file_name}: {e}")))
                .and_then(|text| {
                    GradeReport::from_json(&text)
                        .map_err(|e| NotGraded::new(format!("{file_name}: {e}")))
                });
            rows.push(Row {
                name: name.to_owned(),
                grade,
            });
        }
    }
    for (name, path) in not_graded {
        if rows.iter().any(|row| row.name == name) {
            continue;
        }
        let reason = std::fs::read_to_string(&path)
            .map_err(|source| Error::io("cannot read", &path, source))?;
        rows.push(Row {
            name,
            grade: Err(NotGraded::new(reason.trim_end())),
        });
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(rows)
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

/// Builds the students of a roster share: identical code (a copied solution, an untouched
/// stub) is compiled once, and each build is removed when the last student using it is done.
///
/// The scratch build folder otherwise keeps every student's test binaries, about 230 MB a
/// student. Only builds of submissions are counted and removed, never the checkout's own.
pub struct SharedBuilds {
    /// How many students not yet done use each (exercise, subject key).
    users: HashMap<(usize, String), usize>,
    /// Each student's builds, by exercise index in the catalog.
    of_student: HashMap<String, Vec<(usize, String)>>,
}

impl SharedBuilds {
    /// Reads every student's code to know which builds they share. A student whose code
    /// cannot be read has no builds to share (grading them says why).
    pub fn new(catalog: &Catalog, students: &[Student]) -> SharedBuilds {
        let mut users: HashMap<(usize, String), usize> = HashMap::new();
        let mut of_student = HashMap::new();
        for student in students {
            let Ok(submission) = Submission::open(&student.dir, Some(&student.name)) else {
                continue;
            };
            let builds: Vec<(usize, String)> = catalog
                .exercises
                .iter()
                .enumerate()
                .filter_map(|(index, exercise)| {
                    let subject = submission.subject(exercise).ok().flatten()?;
                    Some((index, subject.key()))
                })
                .collect();
            for build in &builds {
                *users.entry(build.clone()).or_default() += 1;
            }
            of_student.insert(student.name.clone(), builds);
        }
        SharedBuilds { users, of_student }
    }

    /// `student` is done: removes the builds no student still to be graded uses.
    pub fn done(
        &mut self,
        workspace: &Workspace,
        catalog: &Catalog,
        student: &Student,
    ) -> Result<()> {
        for build in self.of_student.remove(&student.name).unwrap_or_default() {
            let Some(count) = self.users.get_mut(&build) else {
                continue;
            };
            *count -= 1;
            if *count == 0 {
                self.users.remove(&build);
                let (index, key) = build;
                scratch::clean(workspace, &catalog.exercises[index], &key)?;
            }
        }
        Ok(())
    }
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

    fn named(names: &[&str]) -> Vec<Student> {
        names
            .iter()
            .map(|name| Student {
                name: (*name).to_owned(),
                dir: PathBuf::from(name),
            })
            .collect()
    }

    #[test]
    fn shards_split_the_sorted_roster_into_disjoint_parts_that_cover_it() {
        let roster = named(&["a", "b", "c", "d", "e"]);
        let mut seen = Vec::new();
        for index in 1..=3 {
            let part = shard(roster.clone(), index, 3).expect("a valid shard");
            seen.extend(part.into_iter().map(|student| student.name));
        }
        seen.sort();
        assert_eq!(seen, ["a", "b", "c", "d", "e"]);
        let first: Vec<String> = shard(roster.clone(), 1, 3)
            .expect("a valid shard")
            .into_iter()
            .map(|student| student.name)
            .collect();
        assert_eq!(first, ["a", "d"]);
        assert!(shard(roster.clone(), 0, 3).is_err());
        assert!(shard(roster.clone(), 4, 3).is_err());
        assert!(shard(roster, 1, 0).is_err());
    }

    #[test]
    fn rows_read_reports_and_reasons_and_prefer_a_report() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        std::fs::write(not_graded_path(dir.path(), "b.c"), "nested folder\n").expect("write");
        std::fs::write(not_graded_path(dir.path(), "a"), "old reason").expect("write");
        std::fs::write(report_path(dir.path(), "a"), "{ not json").expect("write");
        std::fs::write(dir.path().join(".a.json.tmp"), "").expect("write");
        let rows = rows(dir.path()).expect("the folder reads");
        let names: Vec<&str> = rows.iter().map(|row| row.name.as_str()).collect();
        assert_eq!(names, ["a", "b.c"]);
        let reason = rows[0].grade.as_ref().unwrap_err().reason.clone();
        assert!(
            reason.starts_with("a.json: not a threadlings grade report"),
            "{reason}"
        );
        assert_eq!(rows[1].grade.as_ref().unwrap_err().reason, "nested folder");
        assert!(
            !has_report(dir.path(), "a"),
            "an unreadable report is not kept"
        );
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
