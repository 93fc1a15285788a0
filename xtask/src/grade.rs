//! `cargo xtask grade`: instructors grade a checkout, a submission or a whole class.
//!
//! One submission is graded in this process. A roster is graded by running this same command
//! once per student, a few at a time: each student's grading is then its own process, its own
//! subreaper and its own set of test processes, so nothing one hostile submission leaves
//! behind can touch another student's verdicts. Students who submitted identical code are
//! graded once, by the first of them, and the others get that report
//! ([`grader::roster::same_code`]).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use grader::format;
use grader::grade::{self, ExerciseGrade, ExerciseStatus, GradeReport, GradeRequest, Source};
use grader::roster::{self, NotGraded, Student, StudentGrade};
use grader::submission::Submission;

use crate::render;

#[derive(clap::Args)]
pub struct Flags {
    /// Grade this submitted exercises/ folder, or the root of a student's checkout, instead of
    /// this checkout's exercises/ (only each exercise's src/*.rs is used)
    #[arg(long, value_name = "DIR", conflicts_with = "roster")]
    submission: Option<PathBuf>,
    /// Grade every subfolder of DIR as one student's submission and write a CSV gradebook
    #[arg(long, value_name = "DIR")]
    roster: Option<PathBuf>,
    /// Also run the private tests in DIR, laid out like grader/hidden/ (NN_name/tests.rs and
    /// NN_name/exercise.toml)
    #[arg(long, value_name = "DIR")]
    hidden: Option<PathBuf>,
    /// How to write the report (a roster always writes JSON and Markdown per student)
    #[arg(long, value_enum, default_value_t = Format::Text, conflicts_with = "roster")]
    format: Format,
    /// Write the report to FILE instead of standard output (with --roster: the folder for the
    /// gradebook and the per-student reports, by default target/threadlings/roster)
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Append a Markdown summary to FILE, e.g. "$GITHUB_STEP_SUMMARY"
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
    /// The student's name in reports (default: the submission folder's name)
    #[arg(long, value_name = "NAME", requires = "submission")]
    label: Option<String>,
    /// With --roster: students graded at once (at most the number of cores)
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// Grade only this exercise (repeatable; all when omitted), e.g. those assigned so far
    #[arg(long = "exercise", value_name = "N")]
    exercises: Vec<String>,
    /// Refuse to grade unless this machine isolates every test fully (namespaces, a root
    /// filesystem of its own and a cgroup); see the book's Instructors part, "Isolation"
    #[arg(long)]
    require_isolation: bool,
    /// With --roster: grade only shard K of N (1-based) of the sorted roster, for a matrix of
    /// machines; join their outputs with `cargo xtask gradebook merge`
    #[arg(long, value_name = "K/N", requires = "roster", value_parser = parse_shard)]
    shard: Option<(usize, usize)>,
    /// With --roster: skip students who already have a report in the output folder
    #[arg(long, requires = "roster")]
    resume: bool,
    /// With --roster: grade only this student (repeatable), replacing their row in an existing
    /// gradebook
    #[arg(long = "student", value_name = "NAME", requires = "roster")]
    students: Vec<String>,
    /// The most CPU seconds one student's grading may take, builds and tests included;
    /// exercises not begun by then are reported as not graded, with the reason (default with
    /// --roster: 1200, else none)
    #[arg(long, value_name = "SECS")]
    budget: Option<u64>,
    /// Take turns with the other graders of this checkout: timing tests run alone (set by
    /// --roster for each student's grader)
    #[arg(long, hide = true)]
    take_turns: bool,
}

/// A roster student's budget of CPU seconds when none is given: about ten times the 133 s a
/// student of the benchmark's mixed class once took on average (xtask/bench/roster.sh; 30 s
/// since identical code is graded once, builds keep less debug information, a deadlock for
/// good ends before its limit and a student is built by two cargo runs), and about 18
/// times a full solution's 67 s, so that it only stops a submission that is slow on purpose
/// or by accident, never changes a grade that grading alone would give.
const ROSTER_BUDGET_SECS: u64 = 1200;

/// The wall time a student's grader may take, in budgets, before the roster stops it: the
/// grader enforces its CPU budget itself, so this only catches a grader that hangs, and is
/// generous because waiting for the machine (a busy one, or another student's timing test)
/// takes wall time but no CPU.
const WALL_LIMIT_IN_BUDGETS: u32 = 4;

/// Added to the wall limit: the exercise running when the budget ran out still finishes,
/// within its tests' own limits.
const BUDGET_GRACE: std::time::Duration = std::time::Duration::from_secs(600);

fn parse_shard(text: &str) -> std::result::Result<(usize, usize), String> {
    let parsed = text
        .split_once('/')
        .and_then(|(k, n)| Some((k.trim().parse().ok()?, n.trim().parse().ok()?)));
    match parsed {
        Some((k, n)) if k >= 1 && k <= n => Ok((k, n)),
        _ => Err(format!(
            "`{text}` is not a shard; write K/N with 1 <= K <= N, as in 2/4"
        )),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Junit,
    Gradescope,
    /// GitHub Classroom's points, for `classroom-resources/autograding-grading-reporter`
    Classroom,
    Markdown,
}

impl Flags {
    pub fn run(&self) -> Result<crate::Exit> {
        let result = self.grade();
        // Gradescope shows "autograder failed" for a missing results.json, which tells a
        // student nothing; a results.json that says why grading stopped tells them what to
        // fix (a submission nested in an extra folder, say). The exit code is still 2.
        if let (Err(error), Format::Gradescope, Some(path), None) =
            (&result, self.format, &self.out, &self.roster)
        {
            let _ = crate::files::write_file(
                path,
                &format::gradescope::could_not_grade(&format!("{error:#}")),
            );
        }
        result
    }

    fn grade(&self) -> Result<crate::Exit> {
        let workspace = crate::workspace()?;
        let isolation = grader::sandbox::isolation();
        if !isolation.is_full() {
            if self.require_isolation {
                bail!(
                    "--require-isolation: this machine only allows isolation `{isolation}`, not \
                     `full`; run the grader as root or allow unprivileged user namespaces and \
                     cgroups (book: Instructors, Isolation), or drop the flag to grade anyway"
                );
            }
            anstream::eprintln!(
                "{}",
                render::paint(
                    render::WARN,
                    &format!(
                        "warning: tests run with isolation `{isolation}`, not `full`: a hostile \
                         submission can reach more than it should (book: Instructors, Isolation)"
                    )
                )
            );
        }
        if self.take_turns {
            grader::turns::take_turns(&workspace);
        }
        let mut catalog = crate::catalog(&workspace)?;
        if let Some(hidden) = &self.hidden {
            grader::submission::PrivateTests::check_folders(hidden, &catalog)?;
        }
        if !self.exercises.is_empty() {
            let mut chosen = Vec::new();
            for wanted in &self.exercises {
                chosen.push(catalog.find(wanted)?.clone());
            }
            catalog.exercises = chosen;
        }
        if let Some(roster_dir) = &self.roster {
            return self.run_roster(&workspace, &catalog, roster_dir);
        }
        let source = match &self.submission {
            Some(dir) => Source::Submission(Submission::open(dir, self.label.as_deref())?),
            None => Source::Checkout,
        };
        let mut on_exercise = |exercise: &ExerciseGrade| {
            anstream::eprintln!("  graded {} {}", exercise.dir_name, paint_points(exercise));
        };
        anstream::eprintln!("{}", render::paint(render::BOLD, "Grading every exercise"));
        let grade = grade::grade(
            &workspace,
            &catalog,
            &mut GradeRequest {
                source: &source,
                private_dir: self.hidden.as_deref(),
                on_exercise: &mut on_exercise,
                budget: self.budget.map(std::time::Duration::from_secs),
            },
        )?;
        let text = match self.format {
            Format::Text => format::text::to_text(&grade),
            Format::Json => format::json::to_json(&grade),
            Format::Junit => format::junit::to_junit(&grade),
            Format::Gradescope => format::gradescope::to_gradescope(&grade),
            Format::Classroom => format::classroom::to_classroom(&grade),
            Format::Markdown => format::markdown::to_markdown(&grade),
        };
        match &self.out {
            Some(path) => {
                crate::files::write_file(path, &text)?;
                anstream::eprintln!("wrote {}", path.display());
            }
            None => anstream::print!("{text}"),
        }
        if let Some(summary) = &self.summary {
            append_file(summary, &format::markdown::to_markdown(&grade))?;
        }
        anstream::eprintln!("{}/{} points", grade.points, grade.max_points);
        // Passed means every test counts as passed (the scoring rule's `is_success`): a timing
        // test the machine could not measure earns nothing but fails no one.
        let passed = grade
            .exercises
            .iter()
            .all(|exercise| exercise.status == ExerciseStatus::Passed);
        Ok(if passed {
            crate::Exit::Passed
        } else {
            crate::Exit::Failed
        })
    }

    fn run_roster(
        &self,
        workspace: &grader::workspace::Workspace,
        catalog: &grader::catalog::Catalog,
        roster_dir: &Path,
    ) -> Result<crate::Exit> {
        let mut students = roster::students(roster_dir)?;
        if let Some((index, count)) = self.shard {
            students = roster::shard(students, index, count)?;
        }
        if !self.students.is_empty() {
            for wanted in &self.students {
                if !students.iter().any(|student| &student.name == wanted) {
                    bail!(
                        "no student `{wanted}` in {}{}; name a folder of the roster",
                        roster_dir.display(),
                        if self.shard.is_some() {
                            " (in this shard)"
                        } else {
                            ""
                        }
                    );
                }
            }
            students.retain(|student| self.students.contains(&student.name));
        }
        let out_dir = self
            .out
            .clone()
            .unwrap_or_else(|| workspace.state_dir().join("roster"));
        let students_dir = out_dir.join("students");
        std::fs::create_dir_all(&students_dir)
            .with_context(|| format!("cannot create {}", students_dir.display()))?;
        let before = students.len();
        if self.resume {
            students.retain(|student| !roster::has_report(&students_dir, &student.name));
        }
        let jobs = roster::parallelism(self.jobs);
        let executable = std::env::current_exe().context("cannot find the xtask binary")?;
        // Among the students of this run only, so that a shard or one regraded student is
        // graded as documented, whatever the rest of the class submitted.
        let groups = roster::same_code(catalog, &students);
        let graded_once: Vec<Student> = groups.iter().map(|group| group.graded.clone()).collect();

        let bar = indicatif::ProgressBar::new(students.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{bar:30}] {pos}/{len} students graded ({elapsed}) {msg}",
            )
            .expect("the template is valid")
            .progress_chars("#>-"),
        );
        let notes: Vec<String> = [
            match before - students.len() {
                0 => None,
                kept => Some(format!("{kept} already graded, kept")),
            },
            match students.len() - graded_once.len() {
                0 => None,
                copies => Some(format!(
                    "{copies} with the same code as another, graded once"
                )),
            },
        ]
        .into_iter()
        .flatten()
        .collect();
        anstream::eprintln!(
            "Grading {} submissions in {}, {jobs} at a time{}",
            students.len(),
            roster_dir.display(),
            if notes.is_empty() {
                String::new()
            } else {
                format!(" ({})", notes.join("; "))
            }
        );
        let gradebook = out_dir.join("gradebook.csv");
        let mut builds = roster::SharedBuilds::new(catalog, &students);
        let mut failure = None;
        let mut graded = 0;
        let mut finish = |student: &Student,
                          grade: &StudentGrade,
                          same_code_as: Option<&Student>| {
            let shared = same_code_as.map_or(String::new(), |original| {
                format!(
                    " (same code as {}{})",
                    original.name,
                    if grade.is_ok() { ": graded once" } else { "" }
                )
            });
            let line = match grade {
                Ok(grade) => format!(
                    "{}: {}/{}{shared}",
                    student.name, grade.points, grade.max_points
                ),
                Err(not_graded) => format!("{}: not graded: {not_graded}{shared}", student.name),
            };
            if bar.is_hidden() {
                anstream::eprintln!("  {line}");
            } else {
                bar.println(format!("  {line}"));
            }
            bar.inc(1);
            graded += usize::from(grade.is_ok());
            // The row is in the gradebook as soon as the student is done, so a run that stops
            // keeps everything graded so far.
            let written = same_code_as
                .map_or(Ok(()), |_| write_copy_report(&students_dir, student, grade))
                .and_then(|()| record_student(&students_dir, student, grade))
                .and_then(|()| crate::gradebook::write(&out_dir))
                .and_then(|_| {
                    builds
                        .done(workspace, catalog, student)
                        .map_err(anyhow::Error::from)
                });
            if let Err(error) = written {
                failure.get_or_insert(error);
            }
        };
        let grade_one = |student: &Student| self.grade_student(&executable, &students_dir, student);
        roster::grade_all(&graded_once, jobs, grade_one, &mut |student, grade| {
            finish(student, grade, None);
            let copies = groups
                .iter()
                .filter(|group| group.graded == *student)
                .flat_map(|group| &group.copies);
            for copy in copies {
                finish(
                    copy,
                    &roster::copy_grade(workspace, student, grade, copy),
                    Some(student),
                );
            }
        });
        bar.finish_and_clear();
        if let Some(error) = failure {
            return Err(error);
        }
        let rows = crate::gradebook::write(&out_dir)?;
        anstream::println!(
            "Graded {graded} of {} submissions; gradebook ({} rows): {}; reports: {}",
            students.len(),
            rows.len(),
            gradebook.display(),
            students_dir.display()
        );
        if let Some(summary) = &self.summary {
            append_file(summary, &format::gradebook::to_markdown(&rows))?;
        }
        Ok(if graded == students.len() {
            crate::Exit::Passed
        } else {
            crate::Exit::Failed
        })
    }

    /// Grades one student by running `grade --submission` as a child process, and reads back
    /// the JSON report it wrote.
    fn grade_student(
        &self,
        executable: &Path,
        students_dir: &Path,
        student: &Student,
    ) -> StudentGrade {
        let json = roster::report_path(students_dir, &student.name);
        let _ = std::fs::remove_file(&json);
        let budget = std::time::Duration::from_secs(self.budget.unwrap_or(ROSTER_BUDGET_SECS));
        let mut command = Command::new(executable);
        command
            .arg("grade")
            .arg("--submission")
            .arg(&student.dir)
            .args(["--label", &student.name, "--format", "json", "--out"])
            .arg(&json)
            .arg("--take-turns")
            .arg("--budget")
            .arg(budget.as_secs().to_string())
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null());
        if let Some(hidden) = &self.hidden {
            command.arg("--hidden").arg(hidden);
        }
        for exercise in &self.exercises {
            command.args(["--exercise", exercise]);
        }
        grader::reaper::die_with_grader(&mut command);
        let wall_limit = budget * WALL_LIMIT_IN_BUDGETS + BUDGET_GRACE;
        let output = output_within(&mut command, wall_limit)
            .map_err(|e| NotGraded::new(format!("cannot run the grader: {e}")))?;
        let Some(output) = output else {
            return Err(NotGraded::new(format!(
                "not graded: the grader was stopped after {} s of wall time, with a budget of \
                 {} s of CPU time; grade this student again alone with a larger --budget",
                wall_limit.as_secs(),
                budget.as_secs()
            )));
        };
        if !matches!(output.status.code(), Some(0 | 1)) {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
            let last = last.unwrap_or("the grader failed").trim();
            return Err(NotGraded::new(last.strip_prefix("error: ").unwrap_or(last)));
        }
        let text = std::fs::read_to_string(&json).map_err(|e| {
            NotGraded::new(format!(
                "the grader wrote no report {}: {e}",
                json.display()
            ))
        })?;
        GradeReport::from_json(&text).map_err(|e| NotGraded::new(e.to_string()))
    }
}

/// Runs `command` like `Command::output`, but kills it once `limit` has passed and then
/// returns `None`: the roster's own guard, in case a student's grader overruns its budget.
fn output_within(
    command: &mut Command,
    limit: std::time::Duration,
) -> std::io::Result<Option<std::process::Output>> {
    let mut child = grader::reaper::spawn_own(
        command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped()),
    )?;
    let pid = child.id();
    let stdout = read_all(child.stdout.take());
    let stderr = read_all(child.stderr.take());
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() >= limit {
            let _ = child.kill();
            let _ = child.wait();
            grader::reaper::forget_own(pid);
            // The readers are left behind: a process the grader started may still hold the
            // pipes, and the roster must go on.
            return Ok(None);
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    grader::reaper::forget_own(pid);
    Ok(Some(std::process::Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }))
}

/// Reads `pipe` to its end on a thread of its own.
fn read_all<R: std::io::Read + Send + 'static>(
    pipe: Option<R>,
) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

fn paint_points(exercise: &ExerciseGrade) -> String {
    let style = if exercise.status == ExerciseStatus::Passed {
        render::GOOD
    } else {
        render::BAD
    };
    render::paint(
        style,
        &format!(
            "{}/{} {}",
            exercise.points, exercise.max_points, exercise.status
        ),
    )
}

/// Writes the JSON report of a student whose code was graded for another (a grader child writes
/// it for the student it grades), or removes an earlier one when there is none, so that the
/// student's row reads what this run found.
fn write_copy_report(students_dir: &Path, student: &Student, grade: &StudentGrade) -> Result<()> {
    let json = roster::report_path(students_dir, &student.name);
    match grade {
        Ok(grade) => crate::files::write_file(&json, &format::json::to_json(grade)),
        Err(_) => {
            let _ = std::fs::remove_file(&json);
            Ok(())
        }
    }
}

/// Writes the student's Markdown report, or the reason there is none, and removes what an
/// earlier grading of the same student left that no longer holds.
fn record_student(students_dir: &Path, student: &Student, grade: &StudentGrade) -> Result<()> {
    let markdown = students_dir.join(format!("{}.md", student.name));
    let not_graded = roster::not_graded_path(students_dir, &student.name);
    match grade {
        Ok(grade) => {
            let _ = std::fs::remove_file(&not_graded);
            crate::files::write_file(&markdown, &format::markdown::to_markdown(grade))
        }
        Err(reason) => {
            let _ = std::fs::remove_file(&markdown);
            crate::files::write_file(&not_graded, &format!("{reason}\n"))
        }
    }
}

fn append_file(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {} to append the summary", path.display()))?;
    if let Err(error) = file.write_all(text.as_bytes()) {
        bail!("cannot append the summary to {}: {error}", path.display());
    }
    Ok(())
}
