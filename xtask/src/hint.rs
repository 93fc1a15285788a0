//! `cargo xtask hint N`: the next hint, one more each time it is asked for.

use anyhow::Result;
use grader::progress::Progress;

#[derive(clap::Args)]
pub struct Flags {
    /// The exercise: `1`, `01`, `race_counter` or `01_race_counter`
    exercise: String,
}

impl Flags {
    pub fn run(&self) -> Result<crate::Exit> {
        let workspace = crate::workspace()?;
        let catalog = crate::catalog(&workspace)?;
        let exercise = catalog.find(&self.exercise)?;
        let hints = &exercise.meta.hints;
        let mut progress = Progress::load(&workspace);
        let index = progress.next_hint(&exercise.dir_name, hints.len());
        progress.save(&workspace)?;
        anstream::println!(
            "Hint {} of {} for {}:\n\n  {}\n",
            index + 1,
            hints.len(),
            exercise.dir_name,
            hints[index]
        );
        if index + 1 < hints.len() {
            anstream::println!(
                "Run `cargo xtask hint {:02}` again for the next one.",
                exercise.meta.number
            );
        } else {
            anstream::println!(
                "That was the last hint. The chapter book/src/{} walks through the idea.",
                exercise.meta.chapter
            );
        }
        Ok(crate::Exit::Passed)
    }
}
