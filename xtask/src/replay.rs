//! `cargo xtask replay NN [TEST]`: a model-checked failure again, step by step.
//!
//! The model checker's seeds are fixed, so running a model-checked test again finds the same
//! failing schedule; the harness replays it once and reports its synchronisation steps. This
//! command runs the test (or every test of the exercise) and prints, for each failure the
//! model checker found, what the test expected and the steps that led there. The output holds
//! nothing of this machine or this run (no time, pid, address or absolute path), so it is the
//! same everywhere; the book's chapters include such output, checked by `tests/it/replay.rs`.

use anyhow::{bail, Result};
use grader::check::{Options, Outcome};
use grader::mutant::Mutant;
use grader::subject::Subject;

use crate::render;

#[derive(clap::Args)]
pub struct Flags {
    /// The exercise: `1`, `01`, `race_counter` or `01_race_counter`
    exercise: String,
    /// The hidden test to replay (every test of the exercise when omitted)
    test: Option<String>,
    /// Replay the reference solution instead of your exercise
    #[arg(long, conflicts_with = "mutant")]
    solution: bool,
    /// Maintainers: replay this known-wrong mutant of the solution (`grader/hidden/NN/mutants/`)
    #[arg(long, value_name = "NAME")]
    mutant: Option<String>,
}

impl Flags {
    pub fn run(&self) -> Result<crate::Exit> {
        let workspace = crate::workspace()?;
        let catalog = crate::catalog(&workspace)?;
        let exercise = catalog.find(&self.exercise)?;
        let subject = match &self.mutant {
            Some(name) => {
                let mutants = Mutant::load_all(exercise)?;
                let Some(mutant) = mutants.iter().find(|mutant| &mutant.name == name) else {
                    let names: Vec<&str> = mutants.iter().map(|m| m.name.as_str()).collect();
                    bail!(
                        "exercise {:02} has no mutant named `{name}`; its mutants are: {}",
                        exercise.meta.number,
                        names.join(", ")
                    );
                };
                Subject::mutant(&workspace, exercise, mutant)?
            }
            None if self.solution => Subject::solution(&workspace, exercise)?,
            None => Subject::exercise(&workspace, exercise)?,
        };
        if let Some(test) = &self.test {
            if !exercise
                .hidden_suite()
                .tests
                .iter()
                .any(|t| &t.name == test)
            {
                bail!(
                    "exercise {:02} has no hidden test named `{test}`; `cargo xtask check {:02}` lists them",
                    exercise.meta.number,
                    exercise.meta.number
                );
            }
        }
        let heading = format!(
            "Replaying {:02} · {} ({}) under the model checker",
            exercise.meta.number, exercise.meta.title, subject.display_dir
        );
        anstream::println!("{}", render::paint(render::BOLD, &heading));
        // The spinner draws only on a terminal's stderr, so the output compared between runs
        // (stdout) never holds it.
        let activity = crate::activity::Activity::start(exercise);
        let options = Options {
            color: render::colour_on(),
            only: self.test.iter().cloned().collect(),
            observer: activity.observer(),
            // Only model-checked failures are replayed: real-thread tests that would time out
            // on the deadlock already found need not run.
            stop_after_deadlock: true,
            ..Options::default()
        };
        let report = grader::check::check(&workspace, exercise, &subject, &options);
        activity.finish();
        let report = report?;
        let tests = match &report.outcome {
            Outcome::Graded { tests } => tests,
            // Nothing ran: `check` says why in its own words.
            _ => {
                anstream::print!("{}", render::report(&report));
                return Ok(crate::Exit::Failed);
            }
        };
        let mut replayed = 0;
        for test in tests {
            if test.verdict.interleaving().is_some() {
                replayed += 1;
                anstream::println!("\n{}", render::paint(render::BAD, &test.name));
                for line in test.verdict.details().lines() {
                    anstream::println!("  {line}");
                }
            }
        }
        if replayed > 0 {
            return Ok(crate::Exit::Failed);
        }
        let nothing = match &self.test {
            Some(test) => match tests.first() {
                Some(result) if !result.verdict.is_success() => format!(
                    "`{test}` fails, but not under the model checker, so there are no steps to \
                     replay; `cargo xtask check {:02} --test {test}` says why",
                    exercise.meta.number
                ),
                _ => format!("`{test}` passes: no failing schedule to replay"),
            },
            None => {
                "no test failed under the model checker: no failing schedule to replay".to_owned()
            }
        };
        anstream::println!("\n{nothing}");
        Ok(crate::Exit::Passed)
    }
}
