//! `cargo xtask verify`: the maintainers' gate over every exercise.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use anyhow::Result;
use grader::verify::Claim;

use crate::render;

#[derive(clap::Args)]
pub struct Flags {
    /// Verify only these exercises (all when omitted)
    exercises: Vec<String>,
    /// Exercises verified at once (default: one per core; 1 without namespaces). Timing
    /// tests still run alone: the workers take turns on the machine as a roster's graders do
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
}

impl Flags {
    pub fn run(&self) -> Result<crate::Exit> {
        let workspace = crate::workspace()?;
        let catalog = crate::catalog(&workspace)?;
        let exercises = if self.exercises.is_empty() {
            catalog.exercises.clone()
        } else {
            let found: Result<Vec<_>, _> = self.exercises.iter().map(|e| catalog.find(e)).collect();
            found?.into_iter().cloned().collect()
        };
        let jobs = self.jobs(exercises.len());
        if jobs > 1 {
            // Ordinary tests and builds of two exercises side by side, but a timing test alone.
            grader::turns::take_turns(&workspace);
        }
        let mut failed = 0;
        let mut total = 0;
        let mut print = |exercise: &grader::catalog::Exercise, claims: Vec<Claim>| {
            anstream::println!("{}", render::paint(render::BOLD, &exercise.dir_name));
            for claim in claims {
                total += 1;
                let mark = if claim.holds() {
                    render::paint(render::GOOD, "✓")
                } else {
                    failed += 1;
                    render::paint(render::BAD, "✗")
                };
                anstream::println!("  {mark} {} {}", claim.subject, claim.claim);
                if let Some(problem) = &claim.problem {
                    for line in problem.lines() {
                        anstream::println!("      {line}");
                    }
                }
            }
        };
        // Workers take exercises in catalog order; each exercise is printed, in that order,
        // as soon as it and every exercise before it are done.
        let next = AtomicUsize::new(0);
        let (sender, receiver) = mpsc::channel();
        std::thread::scope(|scope| -> Result<()> {
            for _ in 0..jobs {
                let (sender, next, exercises, workspace) = (sender.clone(), &next, &exercises, &workspace);
                scope.spawn(move || loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(exercise) = exercises.get(index) else {
                        break;
                    };
                    let claims = grader::verify::verify_exercise(workspace, exercise);
                    // An error stops the run: the receiver may be gone, and nothing is lost.
                    if sender.send((index, claims)).is_err() {
                        break;
                    }
                });
            }
            drop(sender);
            let mut done = BTreeMap::new();
            let mut printed = 0;
            for (index, claims) in receiver {
                done.insert(index, claims);
                while let Some(claims) = done.remove(&printed) {
                    print(&exercises[printed], claims?);
                    printed += 1;
                }
            }
            Ok(())
        })?;
        if failed == 0 {
            anstream::println!("\nverify: all {total} claims hold");
            Ok(crate::Exit::Passed)
        } else {
            anstream::println!("\nverify: {failed} of {total} claims do not hold");
            Ok(crate::Exit::Failed)
        }
    }

    /// How many exercises to verify at once: `--jobs`, or one per core, never more than the
    /// exercises; and one alone where a test's leftovers could be blamed on another test
    /// running in the same process ([`grader::sandbox::Isolation::keeps_leftovers_per_test`]).
    fn jobs(&self, exercises: usize) -> usize {
        if !grader::sandbox::isolation().keeps_leftovers_per_test() {
            return 1;
        }
        grader::roster::parallelism(self.jobs).min(exercises.max(1))
    }
}
