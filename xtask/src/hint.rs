//! `cargo xtask hint N [K]`: the next hint, one more each time it is asked for; hint `K` again,
//! or `--all` of them, for a learner who wants to read an earlier one once more.

use anyhow::{bail, Result};
use grader::catalog::Exercise;
use grader::progress::Progress;

use crate::render::{paint, BOLD};

#[derive(clap::Args)]
pub struct Flags {
    /// The exercise: `1`, `01`, `race_counter` or `01_race_counter`
    exercise: String,
    /// Show this hint (1 is the first) instead of the next one
    #[arg(value_name = "K", conflicts_with = "all")]
    which: Option<usize>,
    /// Show every hint of the exercise at once
    #[arg(long)]
    all: bool,
}

impl Flags {
    pub fn run(&self) -> Result<crate::Exit> {
        let workspace = crate::workspace()?;
        let catalog = crate::catalog(&workspace)?;
        let exercise = catalog.find(&self.exercise)?;
        let hints = &exercise.meta.hints;
        let mut progress = Progress::load(&workspace);
        let shown: Vec<usize> = if self.all {
            progress.mark_hints_seen(&exercise.dir_name, hints.len());
            (0..hints.len()).collect()
        } else if let Some(which) = self.which {
            if which == 0 || which > hints.len() {
                bail!(
                    "exercise {:02} has {} hints; ask for one from 1 to {}, or use --all",
                    exercise.meta.number,
                    hints.len(),
                    hints.len()
                );
            }
            progress.mark_hints_seen(&exercise.dir_name, which);
            vec![which - 1]
        } else {
            vec![progress.next_hint(&exercise.dir_name, hints.len())]
        };
        progress.save(&workspace)?;
        for &index in &shown {
            anstream::println!(
                "{}\n\n  {}\n",
                paint(
                    BOLD,
                    &format!(
                        "Hint {} of {} for {}:",
                        index + 1,
                        hints.len(),
                        exercise.dir_name
                    )
                ),
                hints[index]
            );
        }
        anstream::println!("{}", what_next(exercise, &shown, hints.len()));
        Ok(crate::Exit::Passed)
    }
}

/// Where to go from the hints just shown: the next one, or the chapter after the last.
fn what_next(exercise: &Exercise, shown: &[usize], count: usize) -> String {
    let number = exercise.meta.number;
    let last_shown = shown.last().copied().unwrap_or(0);
    if shown.len() == 1 && last_shown + 1 < count {
        format!(
            "Run `cargo xtask hint {number:02}` again for the next one, or `cargo xtask hint {number:02} --all` for every hint."
        )
    } else {
        format!(
            "That was the last hint; `cargo xtask hint {number:02} K` shows hint K again.\n{}",
            crate::render::chapter_pointer(exercise)
        )
    }
}
