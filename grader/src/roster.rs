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
//! that a test measuring timing runs alone ([`crate::turns`]), students who submitted the same
//! code are graded once and share its report ([`same_code`], [`copy_grade`]), builds of
//! identical code are shared and removed when no student needs them any more
//! ([`SharedBuilds`]), and the results become one CSV gradebook whose numbers come from the
//! same [`GradeReport`]s that are written per student.

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

/// Students of one run whose graded code is the same: `graded` is graded, and each of
/// `copies` gets its report ([`copy_grade`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SameCode {
    /// The first of them in roster order.
    pub graded: Student,
    /// The others, in roster order.
    pub copies: Vec<Student>,
}

/// The students of this run grouped by the code grading uses: for each exercise of `catalog`,
/// the `src/` files of the submission's crate (path and text, as [`Submission::subject`] reads
/// them) or its absence. Grading reads nothing else of a submission, and the verdicts are a
/// function of that code, the tests, the limits and the machine, so grading it once for all of
/// them gives each the report grading them apart would (up to the machine's timing).
///
/// The key is the whole SHA-256 of that code: a student cannot aim at another's key without
/// submitting the same code. A student whose submission cannot be opened, or one of whose
/// exercises cannot be read, is a group alone, so that grading them says why. The groups are
/// in the roster order of their graded students.
pub fn same_code(catalog: &Catalog, students: &[Student]) -> Vec<SameCode> {
    let mut groups: Vec<SameCode> = Vec::new();
    let mut group_of_code: HashMap<[u8; 32], usize> = HashMap::new();
    for student in students {
        if let Some(code) = graded_code(catalog, student) {
            if let Some(&group) = group_of_code.get(&code) {
                groups[group].copies.push(student.clone());
                continue;
            }
            group_of_code.insert(code, groups.len());
        }
        groups.push(SameCode {
            graded: student.clone(),
            copies: Vec::new(),
        });
    }
    groups
}

/// The SHA-256 of every exercise's graded code in `student`'s submission, or `None` when some of
/// it cannot be read.
fn graded_code(catalog: &Catalog, student: &Student) -> Option<[u8; 32]> {
    use sha2::{Digest, Sha256};
    let submission = Submission::open(&student.dir, Some(&student.name)).ok()?;
    let mut hasher = Sha256::new();
    for exercise in &catalog.exercises {
        // The catalog is the same for every student of a run; the name keeps the input
        // readable on its own, an exercise and then what it holds.
        hasher.update((exercise.dir_name.len() as u64).to_le_bytes());
        hasher.update(exercise.dir_name.as_bytes());
        match submission.subject(exercise).ok()? {
            None => hasher.update([0]),
            Some(subject) => {
                hasher.update([1]);
                hasher.update(subject.digest());
            }
        }
    }
    Some(hasher.finalize().into())
}

/// The grade of `copy`, whose code is that of `graded`, graded once as `grade`: the same report
/// with the copy's name, what the copy's own submission changed that grading ignored, and the
/// name of the student who was graded. When `graded` has no report, neither has the copy, for
/// the same reason.
pub fn copy_grade(
    workspace: &Workspace,
    graded: &Student,
    grade: &StudentGrade,
    copy: &Student,
) -> StudentGrade {
    let mut report = grade.clone()?;
    let submission = Submission::open(&copy.dir, Some(&copy.name))
        .map_err(|error| NotGraded::new(error.to_string()))?;
    report.subject = submission.label.clone();
    report.ignored = submission.ignored_changes(workspace);
    report.same_code_as = Some(graded.name.clone());
    Ok(report)
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

    /// This checkout and its catalog, whose stubs the grouping tests submit.
    fn checkout() -> (Workspace, Catalog) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let workspace = Workspace::open(root).expect("the checkout opens");
        let catalog = Catalog::load(&workspace).expect("every exercise.toml loads");
        (workspace, catalog)
    }

    /// Writes `text` as `crate_dir/src/lib.rs`.
    fn write_lib(crate_dir: &Path, text: &str) {
        std::fs::create_dir_all(crate_dir.join("src")).expect("a crate folder");
        std::fs::write(crate_dir.join("src/lib.rs"), text).expect("the code is written");
    }

    #[test]
    fn only_identical_graded_code_is_one_group_and_unreadable_students_stay_alone() {
        let (workspace, catalog) = checkout();
        let stub = |exercise: &str| {
            std::fs::read_to_string(workspace.exercises_dir().join(exercise).join("src/lib.rs"))
                .expect("the stub")
        };
        let (first, second) = ("01_race_counter", "02_lock_fix");
        let dir = tempfile::tempdir().expect("a temporary folder");
        let roster = dir.path();
        // ada submits the stub of 01 alone; bob the same code in a checkout's layout, with a
        // manifest of his own, which grading ignores.
        write_lib(&roster.join("ada").join(first), &stub(first));
        let bob = roster.join("bob/exercises").join(first);
        write_lib(&bob, &stub(first));
        std::fs::write(bob.join("Cargo.toml"), "[package]\nname = \"mine\"\n").expect("write");
        // cy differs by one byte; dan adds exercise 02, and eve submits what dan did.
        write_lib(&roster.join("cy").join(first), &format!("{} ", stub(first)));
        for student in ["dan", "eve"] {
            write_lib(&roster.join(student).join(first), &stub(first));
            write_lib(&roster.join(student).join(second), &stub(second));
        }
        // fay and gus are no submission at all; hal and ivy have a file that is not UTF-8.
        for student in ["fay", "gus"] {
            std::fs::create_dir_all(roster.join(student).join("notes")).expect("a folder");
        }
        for student in ["hal", "ivy"] {
            let crate_dir = roster.join(student).join(first);
            write_lib(&crate_dir, &stub(first));
            std::fs::write(crate_dir.join("src/bytes.rs"), b"\xff").expect("write");
        }

        // jo adds only a comment to ada's code: the same program, but not the same code, or a
        // student could choose a key that is another's.
        write_lib(
            &roster.join("jo").join(first),
            &format!("// mine\n{}", stub(first)),
        );

        let students = students(roster).expect("the roster lists");
        let groups = same_code(&catalog, &students);
        let names: Vec<(&str, Vec<&str>)> = groups
            .iter()
            .map(|group| {
                let copies = group.copies.iter().map(|copy| copy.name.as_str());
                (group.graded.name.as_str(), copies.collect())
            })
            .collect();
        assert_eq!(
            names,
            [
                ("ada", vec!["bob"]),
                ("cy", vec![]),
                ("dan", vec!["eve"]),
                ("fay", vec![]),
                ("gus", vec![]),
                ("hal", vec![]),
                ("ivy", vec![]),
                ("jo", vec![]),
            ]
        );

        // Only the exercises graded in this run count: without 02, dan's code is ada's.
        let only_first = Catalog {
            exercises: vec![catalog.find(first).expect("01").clone()],
        };
        let groups = same_code(&only_first, &students);
        assert_eq!(groups[0].graded.name, "ada");
        let copies: Vec<&str> = groups[0].copies.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(copies, ["bob", "dan", "eve"]);
    }

    #[test]
    fn a_copy_gets_the_graded_report_with_its_own_name_and_ignored_changes() {
        let (workspace, _) = checkout();
        let dir = tempfile::tempdir().expect("a temporary folder");
        let student = |name: &str| Student {
            name: name.to_owned(),
            dir: dir.path().join(name),
        };
        let (ada, bob) = (student("ada"), student("bob"));
        write_lib(&ada.dir.join("01_race_counter"), "pub fn f() {}\n");
        write_lib(&bob.dir.join("01_race_counter"), "pub fn f() {}\n");
        std::fs::write(bob.dir.join("01_race_counter/build.rs"), "fn main() {}\n").expect("write");
        let graded = GradeReport {
            schema: crate::grade::SCHEMA.to_owned(),
            subject: "ada".to_owned(),
            points: 3,
            max_points: 16,
            exercises: Vec::new(),
            ignored: Default::default(),
            started_at: "2026-01-01T00:00:00Z".to_owned(),
            isolation: crate::sandbox::Isolation::Full,
            elapsed_ms: 7,
            same_code_as: None,
        };
        let copy = copy_grade(&workspace, &ada, &Ok(graded.clone()), &bob).expect("a report");
        assert_eq!(copy.subject, "bob");
        assert_eq!(copy.same_code_as.as_deref(), Some("ada"));
        let ignored: Vec<&str> = copy
            .ignored
            .listed
            .iter()
            .map(|c| c.path.as_str())
            .collect();
        assert_eq!(ignored, ["01_race_counter/build.rs"]);
        assert_eq!(
            GradeReport {
                subject: graded.subject.clone(),
                ignored: graded.ignored.clone(),
                same_code_as: None,
                ..copy
            },
            graded,
            "everything else is the graded report"
        );

        let reason = NotGraded::new("the grader was stopped");
        assert_eq!(
            copy_grade(&workspace, &ada, &Err(reason.clone()), &bob),
            Err(reason),
            "a copy of a student who was not graded is not graded either, for the same reason"
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
