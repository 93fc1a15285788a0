//! `cargo xtask list`: every exercise, what is known about it now, and what to do next.
//!
//! A recorded verdict is shown only while the code is the code it judged; after an edit or a
//! `reset` the line says so instead of repeating a stale result.

use std::io::Write;

use anyhow::Result;
use grader::progress::{Entry, Overview, Progress, Status};

use crate::render::{paint, BAD, BOLD, DIM, GOOD, WARN};

#[derive(clap::Args)]
pub struct Flags {
    /// `text` for people, `json` for scripts and editors (the same facts)
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

impl Flags {
    pub fn run(&self) -> Result<crate::Exit> {
        let workspace = crate::workspace()?;
        let catalog = crate::catalog(&workspace)?;
        let overview = Progress::load(&workspace).overview(&workspace, &catalog);
        match self.format {
            Format::Json => {
                let json = serde_json::to_string_pretty(&overview)?;
                // A script that reads only the start (`| head`) closes the pipe early; that
                // is its choice, not an error worth a panic.
                let _ = writeln!(std::io::stdout(), "{json}");
            }
            Format::Text => anstream::print!("{}", text(&overview)),
        }
        Ok(crate::Exit::Passed)
    }
}

fn text(overview: &Overview) -> String {
    let mut out = String::new();
    for entry in &overview.exercises {
        let is_next = overview.next.as_deref() == Some(entry.dir_name.as_str());
        out.push_str(&format!(
            "  {} {:<22} {:<38} {}{}\n",
            mark(entry.status),
            entry.dir_name,
            entry.title,
            status_text(entry),
            if is_next {
                paint(BOLD, "  ← next")
            } else {
                String::new()
            }
        ));
    }
    out.push('\n');
    if let Some(next) = overview
        .next
        .as_deref()
        .and_then(|name| overview.entry(name))
    {
        out.push_str(&format!(
            "Next: {}  ({})\n",
            paint(BOLD, &format!("cargo xtask check {:02}", next.number)),
            next.title
        ));
    } else {
        out.push_str(&format!(
            "{}\n",
            paint(GOOD, "Every exercise passes. Well done!")
        ));
    }
    out.push_str(&summary(overview));
    out.push('\n');
    out
}

/// The line `list` ends with: a bar, then exercises and points done.
fn summary(overview: &Overview) -> String {
    const WIDTH: usize = 24;
    let filled = if overview.total == 0 {
        0
    } else {
        overview.done * WIDTH / overview.total
    };
    format!(
        "[{}{}] {} of {} exercises done, {} of {} points",
        paint(GOOD, &"#".repeat(filled)),
        "-".repeat(WIDTH - filled),
        overview.done,
        overview.total,
        overview.points,
        overview.max_points
    )
}

fn mark(status: Status) -> String {
    match status {
        Status::Passed => paint(GOOD, "✓"),
        Status::Failed => paint(BAD, "✗"),
        Status::Edited => paint(WARN, "~"),
        Status::NotChecked => paint(DIM, "·"),
    }
}

fn status_text(entry: &Entry) -> String {
    let result = |passed: bool| if passed { "passed" } else { "failed" };
    match (entry.status, entry.last_check) {
        (Status::Passed | Status::Failed, Some(last)) => {
            format!(
                "{:>5}  {}",
                format!("{}/{}", last.points, last.max_points),
                result(last.passed)
            )
        }
        (Status::Edited, Some(last)) => paint(
            DIM,
            &format!(
                "{:>5}  edited since it {} ({}/{}); check again",
                format!("-/{}", entry.max_points),
                result(last.passed),
                last.points,
                last.max_points
            ),
        ),
        _ => paint(
            DIM,
            &format!("{:>5}  not checked yet", format!("-/{}", entry.max_points)),
        ),
    }
}
