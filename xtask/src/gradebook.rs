//! `cargo xtask gradebook merge`: joins the outputs of roster shards graded on several
//! machines into one gradebook.
//!
//! A roster's output folder is its `students/` reports plus a `gradebook.csv` made from them
//! (see `grader::roster`), so merging is copying every shard's reports into one folder and
//! making the gradebook again. The merged gradebook is the one a single machine would write.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use grader::format;
use grader::roster::{self, Row};

#[derive(clap::Args)]
pub struct Flags {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Join shard outputs (folders written by `grade --roster --shard K/N --out DIR`) into OUT
    Merge {
        /// The folder for the merged gradebook.csv and students/ (created when missing)
        out: PathBuf,
        /// Each shard's output folder
        #[arg(required = true)]
        shards: Vec<PathBuf>,
    },
}

impl Flags {
    pub fn run(&self) -> Result<crate::Exit> {
        let Action::Merge { out, shards } = &self.action;
        let students_dir = out.join("students");
        std::fs::create_dir_all(&students_dir)
            .with_context(|| format!("cannot create {}", students_dir.display()))?;
        let mut copied_from: Vec<(String, PathBuf)> = Vec::new();
        for shard in shards {
            let shard_students = shard.join("students");
            let entries = std::fs::read_dir(&shard_students).with_context(|| {
                format!(
                    "cannot list {}; pass folders written by `grade --roster --out DIR`",
                    shard_students.display()
                )
            })?;
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') || !entry.file_type().is_ok_and(|t| t.is_file()) {
                    continue;
                }
                if let Some((_, earlier)) = copied_from.iter().find(|(seen, _)| *seen == name) {
                    if std::fs::read(entry.path()).ok() != std::fs::read(earlier.join(&name)).ok() {
                        bail!(
                            "{name} differs between {} and {}; a student belongs to one shard, so \
                             merge the outputs of one sharded run (same roster, same N)",
                            earlier.display(),
                            shard_students.display()
                        );
                    }
                    continue;
                }
                let text = std::fs::read_to_string(entry.path())
                    .with_context(|| format!("cannot read {}", entry.path().display()))?;
                crate::files::write_file(&students_dir.join(&name), &text)?;
                copied_from.push((name, shard_students.clone()));
            }
        }
        let rows = write(out)?;
        let graded = rows.iter().filter(|row| row.grade.is_ok()).count();
        anstream::println!(
            "Merged {} shards: {graded} of {} students graded; gradebook: {}",
            shards.len(),
            rows.len(),
            out.join("gradebook.csv").display()
        );
        Ok(if graded == rows.len() {
            crate::Exit::Passed
        } else {
            crate::Exit::Failed
        })
    }
}

/// Makes `out_dir/gradebook.csv` from the reports in `out_dir/students/`, and returns its rows.
pub fn write(out_dir: &Path) -> Result<Vec<Row>> {
    let rows = roster::rows(&out_dir.join("students"))?;
    crate::files::write_file(
        &out_dir.join("gradebook.csv"),
        &format::gradebook::to_csv(&rows),
    )?;
    Ok(rows)
}
