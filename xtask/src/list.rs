//! `cargo xtask list`: every exercise, its state, and a progress bar.

use anyhow::Result;
use grader::progress::{Progress, State};
use grader::subject::Subject;

use crate::render;

#[derive(clap::Args)]
pub struct Flags {}

impl Flags {
    pub fn run(&self) -> Result<crate::Exit> {
        let workspace = crate::workspace()?;
        let catalog = crate::catalog(&workspace)?;
        let progress = Progress::load(&workspace);
        let mut done = 0;
        for exercise in &catalog.exercises {
            let fingerprint = Subject::exercise(&workspace, exercise)
                .map(|s| s.fingerprint())
                .unwrap_or(0);
            let state = progress.state(&exercise.dir_name, fingerprint);
            if state == State::Done {
                done += 1;
            }
            let points = progress
                .exercises
                .get(&exercise.dir_name)
                .filter(|record| record.max_points > 0)
                .map(|record| format!("{}/{}", record.points, record.max_points))
                .unwrap_or_default();
            anstream::println!(
                "  {} {:<24} {:<40} {:>6}",
                render::state_mark(state),
                exercise.dir_name,
                exercise.meta.title,
                points
            );
        }
        anstream::println!("\n{}", render::progress_bar(done, catalog.exercises.len()));
        if let Some(next) = catalog.exercises.iter().find(|exercise| {
            let fingerprint = Subject::exercise(&workspace, exercise)
                .map(|s| s.fingerprint())
                .unwrap_or(0);
            progress.state(&exercise.dir_name, fingerprint) != State::Done
        }) {
            anstream::println!(
                "Next: cargo xtask check {:02}  ({})",
                next.meta.number,
                next.meta.title
            );
        }
        Ok(crate::Exit::Passed)
    }
}
