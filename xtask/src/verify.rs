//! `cargo xtask verify`: the maintainers' gate over every exercise.

use anyhow::Result;

use crate::render;

#[derive(clap::Args)]
pub struct Flags {
    /// Verify only these exercises (all when omitted)
    exercises: Vec<String>,
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
        let mut failed = 0;
        let mut total = 0;
        for exercise in &exercises {
            anstream::println!("{}", render::paint(render::BOLD, &exercise.dir_name));
            for claim in grader::verify::verify_exercise(&workspace, exercise)? {
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
        }
        if failed == 0 {
            anstream::println!("\nverify: all {total} claims hold");
            Ok(crate::Exit::Passed)
        } else {
            anstream::println!("\nverify: {failed} of {total} claims do not hold");
            Ok(crate::Exit::Failed)
        }
    }
}
