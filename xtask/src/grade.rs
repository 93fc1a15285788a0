//! `cargo xtask grade`: instructors grade a checkout, a submission or a whole class.
//!
//! One submission is graded in this process. A roster is graded by running this same command
//! once per student, a few at a time: each student's grading is then its own process, its own
//! subreaper and its own set of test processes, so nothing one hostile submission leaves
//! behind can touch another student's verdicts.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use grader::format;
use grader::grade::{self, ExerciseGrade, ExerciseStatus, GradeRequest, Source};
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
    pub fn run(&self) -> Result<crate::Exit> {
        let result = self.grade();
        // Gradescope shows "autograder failed" for a missing results.json, which tells a
        // student nothing; a results.json that says why grading stopped tells them what to
        // fix (a submission nested in an extra folder, say). The exit code is still 2.
        if let (Err(error), Format::Gradescope, Some(path), None) =
            (&result, self.format, &self.out, &self.roster)
        {
            let _ = write_file(
                path,
                &format::gradescope::could_not_grade(&format!("{error:#}")),
            );
        }
        result
    }

    fn grade(&self) -> Result<crate::Exit> {
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
            },
        )?;
        let text = match self.format {
            Format::Text => format::text::to_text(&grade),
            Format::Json => format::json::to_json(&grade),
            Format::Junit => format::junit::to_junit(&grade),
            Format::Gradescope => format::gradescope::to_gradescope(&grade),
            Format::Markdown => format::markdown::to_markdown(&grade),
        };
        match &self.out {
            Some(path) => {
                write_file(path, &text)?;
                anstream::eprintln!("wrote {}", path.display());
            }
            None => anstream::print!("{text}"),
        }
        if let Some(summary) = &self.summary {
            append_file(summary, &format::markdown::to_markdown(&grade))?;
        }
        anstream::eprintln!("{}/{} points", grade.points, grade.max_points);
        Ok(if grade.points == grade.max_points {
            crate::Exit::Passed
        } else {
            crate::Exit::Failed
        })
    }

    fn run_roster(
        &self,
        workspace: &grader::workspace::Workspace,
        roster_dir: &Path,
    ) -> Result<crate::Exit> {
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
        let grades = roster::grade_all(&students, jobs, grade_one, &mut |student, grade| {
            let line = match grade {
                Ok(grade) => format!("{}: {}/{}", student.name, grade.points, grade.max_points),
                Err(not_graded) => format!("{}: not graded: {not_graded}", student.name),
            };
            if bar.is_hidden() {
                anstream::eprintln!("  {line}");
            } else {
                bar.println(format!("  {line}"));
            }
            bar.inc(1);
        });
        bar.finish_and_clear();

        for (student, grade) in students.iter().zip(&grades) {
            if let Ok(grade) = grade {
                let path = students_dir.join(format!("{}.md", student.name));
                write_file(&path, &format::markdown::to_markdown(grade))?;
            }
        }
        let gradebook = out_dir.join("gradebook.csv");
        write_file(&gradebook, &format::gradebook::to_csv(&students, &grades))?;
        let graded = grades.iter().filter(|grade| grade.is_ok()).count();
        anstream::println!(
            "Graded {graded} of {} submissions; gradebook: {}; reports: {}",
            students.len(),
            gradebook.display(),
            students_dir.display()
        );
        if let Some(summary) = &self.summary {
            append_file(summary, &format::gradebook::to_markdown(&students, &grades))?;
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
        grader::runner::die_with_grader(&mut command);
        let output = grader::runner::output_own(&mut command)
            .map_err(|e| NotGraded::new(format!("cannot run the grader: {e}")))?;
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
        format::json::from_json(&text).map_err(|e| NotGraded::new(e.to_string()))
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
            exercise.points, exercise.max_points, exercise.status
        ),
    )
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
