//! `cargo xtask grade`: instructors grade a checkout, a submission or a whole class.
//!
//! One submission is graded in this process. A roster is graded by running this same command
//! once per student, a few at a time: each student's grading is then its own process, its own
//! subreaper and its own set of test processes, so nothing one hostile submission leaves
//! behind can touch another student's verdicts.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use grader::report::{self, ExerciseGrade, ExerciseStatus, GradeReport, Request, Source};
use grader::roster::{self, Student};
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
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Junit,
    Gradescope,
    Markdown,
}

impl Flags {
    pub fn run(&self) -> Result<crate::Verdict> {
        let workspace = crate::workspace()?;
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
            return self.run_roster(&workspace, roster_dir);
        }
        let source = match &self.submission {
            Some(dir) => Source::Submission(Submission::open(dir, self.label.as_deref())?),
            None => Source::Checkout,
        };
        let describe = |verdict: &grader::verdict::Verdict| render::verdict_details(verdict);
        let mut on_exercise = |exercise: &ExerciseGrade| {
            anstream::eprintln!("  graded {} {}", exercise.dir_name, paint_points(exercise));
        };
        anstream::eprintln!("{}", render::paint(render::BOLD, "Grading every exercise"));
        let grade = report::grade(
            &workspace,
            &catalog,
            &mut Request {
                source: &source,
                private_dir: self.hidden.as_deref(),
                describe: &describe,
                on_exercise: &mut on_exercise,
            },
        )?;
        let text = match self.format {
            Format::Text => text_report(&grade),
            Format::Json => report::to_json(&grade),
            Format::Junit => report::to_junit(&grade),
            Format::Gradescope => report::to_gradescope(&grade),
            Format::Markdown => report::to_markdown(&grade),
        };
        match &self.out {
            Some(path) => {
                write_file(path, &text)?;
                anstream::eprintln!("wrote {}", path.display());
            }
            None => anstream::print!("{text}"),
        }
        if let Some(summary) = &self.summary {
            append_file(summary, &report::to_markdown(&grade))?;
        }
        anstream::eprintln!("{}/{} points", grade.points, grade.max_points);
        Ok(if grade.points == grade.max_points {
            crate::Verdict::Passed
        } else {
            crate::Verdict::Failed
        })
    }

    fn run_roster(
        &self,
        workspace: &grader::workspace::Workspace,
        roster_dir: &Path,
    ) -> Result<crate::Verdict> {
        let students = roster::students(roster_dir)?;
        let out_dir = self
            .out
            .clone()
            .unwrap_or_else(|| workspace.state_dir().join("roster"));
        let students_dir = out_dir.join("students");
        std::fs::create_dir_all(&students_dir)
            .with_context(|| format!("cannot create {}", students_dir.display()))?;
        let jobs = roster::parallelism(self.jobs);
        let executable = std::env::current_exe().context("cannot find the xtask binary")?;

        let bar = indicatif::ProgressBar::new(students.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{bar:30}] {pos}/{len} students graded ({elapsed}) {msg}",
            )
            .expect("the template is valid")
            .progress_chars("#>-"),
        );
        anstream::eprintln!(
            "Grading {} submissions in {}, {jobs} at a time",
            students.len(),
            roster_dir.display()
        );
        let grade_one = |student: &Student| self.grade_student(&executable, &students_dir, student);
        let outcomes = roster::grade_all(&students, jobs, grade_one, &mut |student, outcome| {
            let line = match outcome {
                Ok(grade) => format!("{}: {}/{}", student.name, grade.points, grade.max_points),
                Err(problem) => format!("{}: not graded: {problem}", student.name),
            };
            if bar.is_hidden() {
                anstream::eprintln!("  {line}");
            } else {
                bar.println(format!("  {line}"));
            }
            bar.inc(1);
        });
        bar.finish_and_clear();

        for (student, outcome) in students.iter().zip(&outcomes) {
            if let Ok(grade) = outcome {
                let path = students_dir.join(format!("{}.md", student.name));
                write_file(&path, &report::to_markdown(grade))?;
            }
        }
        let gradebook = out_dir.join("gradebook.csv");
        write_file(&gradebook, &roster::gradebook_csv(&students, &outcomes))?;
        let graded = outcomes.iter().filter(|o| o.is_ok()).count();
        anstream::println!(
            "Graded {graded} of {} submissions; gradebook: {}; reports: {}",
            students.len(),
            gradebook.display(),
            students_dir.display()
        );
        if let Some(summary) = &self.summary {
            append_file(summary, &roster_summary(&students, &outcomes))?;
        }
        Ok(if graded == students.len() {
            crate::Verdict::Passed
        } else {
            crate::Verdict::Failed
        })
    }

    /// Grades one student by running `grade --submission` as a child process, and reads back
    /// the JSON report it wrote.
    fn grade_student(
        &self,
        executable: &Path,
        students_dir: &Path,
        student: &Student,
    ) -> roster::Outcome {
        let json = students_dir.join(format!("{}.json", student.name));
        let _ = std::fs::remove_file(&json);
        let mut command = Command::new(executable);
        command
            .arg("grade")
            .arg("--submission")
            .arg(&student.dir)
            .args(["--label", &student.name, "--format", "json", "--out"])
            .arg(&json)
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null());
        if let Some(hidden) = &self.hidden {
            command.arg("--hidden").arg(hidden);
        }
        for exercise in &self.exercises {
            command.args(["--exercise", exercise]);
        }
        grader::reaper::die_with_grader(&mut command);
        let output = grader::reaper::output_own(&mut command)
            .map_err(|e| format!("cannot run the grader: {e}"))?;
        if !matches!(output.status.code(), Some(0 | 1)) {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
            let last = last.unwrap_or("the grader failed").trim();
            return Err(last.strip_prefix("error: ").unwrap_or(last).to_owned());
        }
        let text = std::fs::read_to_string(&json)
            .map_err(|e| format!("the grader wrote no report {}: {e}", json.display()))?;
        report::from_json(&text)
    }
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
            exercise.points,
            exercise.max_points,
            report::status_label(exercise.status)
        ),
    )
}

/// The report for a terminal: a line per exercise, then every test that lost points.
fn text_report(grade: &GradeReport) -> String {
    let mut out = format!("threadlings grade: {}\n\n", grade.subject);
    for exercise in &grade.exercises {
        let _ = writeln!(
            out,
            "{} {:<40} {}",
            exercise.dir_name,
            exercise.title,
            paint_points(exercise)
        );
        for test in exercise.tests.iter().filter(|t| t.verdict != "pass") {
            let _ = writeln!(
                out,
                "  {} {} {} {}",
                render::paint(render::BAD, "✗"),
                report::qualified_name(exercise, test),
                test.verdict,
                render::paint(render::DIM, &format!("{}/{}", test.points, test.max_points))
            );
            for line in test.message.lines().take(6) {
                let _ = writeln!(out, "      {line}");
            }
        }
    }
    if !grade.ignored.listed.is_empty() {
        let _ = writeln!(
            out,
            "\nIgnored (only exercises/*/src/*.rs is graded): {}",
            grade
                .ignored
                .listed
                .iter()
                .map(|c| format!("{} ({})", c.path, c.change))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let _ = writeln!(out, "\nTotal: {}/{} points", grade.points, grade.max_points);
    out
}

fn roster_summary(students: &[Student], outcomes: &[roster::Outcome]) -> String {
    let mut out =
        String::from("## threadlings gradebook\n\n| student | points |\n| --- | ---: |\n");
    for (student, outcome) in students.iter().zip(outcomes) {
        let points = match outcome {
            Ok(grade) => format!("{}/{}", grade.points, grade.max_points),
            Err(_) => "not graded".to_owned(),
        };
        let _ = writeln!(out, "| {} | {points} |", student.name);
    }
    out
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create the folder {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
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
