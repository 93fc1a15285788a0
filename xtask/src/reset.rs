//! `cargo xtask reset N`: put the stub back, after saving the learner's code.
//!
//! Backups go to `.threadlings/backups/` at the root of the checkout: outside `target/`, so
//! `cargo clean` cannot delete a learner's work, and git-ignored, so they never end up in a
//! commit or a submission. `reset --list` shows them.

use std::io::BufRead;
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use grader::progress::Progress;
use grader::workspace::Workspace;

use crate::render::{paint, BOLD, DIM};

#[derive(clap::Args)]
pub struct Flags {
    /// The exercise: `1`, `01`, `race_counter` or `01_race_counter`
    #[arg(required_unless_present = "list")]
    exercise: Option<String>,
    /// Do not ask before resetting
    #[arg(long)]
    yes: bool,
    /// The git revision whose stub to restore; use `origin/main` if you committed your attempt
    #[arg(long, default_value = "HEAD")]
    from: String,
    /// List the backups earlier resets made (of this exercise only, if one is named)
    #[arg(long)]
    list: bool,
}

/// Where `reset` keeps backups, relative to the root of the checkout.
pub const BACKUPS: &str = ".threadlings/backups";

impl Flags {
    pub fn run(&self) -> Result<crate::Exit> {
        let workspace = crate::workspace()?;
        let catalog = crate::catalog(&workspace)?;
        let exercise = match &self.exercise {
            Some(wanted) => Some(catalog.find(wanted)?),
            None => None,
        };
        if self.list {
            anstream::print!(
                "{}",
                backup_listing(&workspace, exercise.map(|e| e.dir_name.as_str()))?
            );
            return Ok(crate::Exit::Passed);
        }
        let exercise = exercise.expect("clap requires an exercise unless --list is given");
        let src = exercise.exercise_dir(&workspace).join("src");
        let relative_src = format!("exercises/{}/src", exercise.dir_name);
        let relative_backup = format!(
            "{BACKUPS}/{}",
            next_backup_name(workspace.root(), &exercise.dir_name)
        );
        let backup = workspace.root().join(&relative_backup);

        if !self.yes {
            anstream::print!(
                "Reset {relative_src} to the stub from `{}`? Your current code is saved to {relative_backup}/ first. [y/N] ",
                self.from,
            );
            std::io::Write::flush(&mut std::io::stdout())?;
            let mut answer = String::new();
            std::io::stdin().lock().read_line(&mut answer)?;
            if !matches!(answer.trim(), "y" | "Y" | "yes") {
                anstream::println!("Nothing changed.");
                return Ok(crate::Exit::Passed);
            }
        }
        // A deleted src/ has nothing to save; the reset is then exactly what is needed.
        if src.is_dir() {
            copy_dir(&src, &backup).with_context(|| {
                format!("cannot back up {} to {}", src.display(), backup.display())
            })?;
        }
        let status = Command::new("git")
            .current_dir(workspace.root())
            .args(["restore", "--source", &self.from, "--worktree", "--", &relative_src])
            .status()
            .context("cannot run git, which reset uses to find the original stub; install git or re-clone the exercise")?;
        if !status.success() {
            bail!(
                "git could not restore {relative_src} from `{}`; your code is safe in {relative_backup}/",
                self.from,
            );
        }
        // The last check judged code that is gone now.
        let mut progress = Progress::load(&workspace);
        progress.forget_check(&exercise.dir_name);
        progress.save(&workspace)?;
        if src.join("lib.rs").is_file() && backup.is_dir() {
            anstream::println!(
                "{relative_src} is the stub again. Your code is saved in {relative_backup}/ \
                 (kept out of git and out of reach of `cargo clean`; `cargo xtask reset --list` shows every backup)."
            );
        } else {
            anstream::println!("{relative_src} is the stub again.");
        }
        Ok(crate::Exit::Passed)
    }
}

/// Every backup, oldest first, as lines to print; `only` keeps one exercise's.
fn backup_listing(workspace: &Workspace, only: Option<&str>) -> Result<String> {
    let root = workspace.root();
    let mut backups: Vec<(std::time::SystemTime, String)> =
        match std::fs::read_dir(root.join(BACKUPS)) {
            Ok(entries) => entries
                .flatten()
                .filter(|entry| entry.path().is_dir())
                .map(|entry| {
                    let modified = entry
                        .metadata()
                        .and_then(|m| m.modified())
                        .unwrap_or(std::time::UNIX_EPOCH);
                    (modified, entry.file_name().to_string_lossy().into_owned())
                })
                .filter(|(_, name)| only.map_or(true, |dir_name| is_backup_of(name, dir_name)))
                .collect(),
            Err(_) => Vec::new(),
        };
    backups.sort();
    if backups.is_empty() {
        return Ok(format!(
            "No backups in {BACKUPS}/ yet; `cargo xtask reset NN` makes one before it restores a stub.\n"
        ));
    }
    let mut out = format!("Backups in {BACKUPS}/, oldest first:\n");
    for (modified, name) in &backups {
        out.push_str(&format!(
            "  {BACKUPS}/{}/  {}\n",
            paint(BOLD, name),
            paint(DIM, &age(*modified))
        ));
    }
    let (_, example) = backups.last().expect("not empty");
    let dir_name = example
        .rsplit_once('-')
        .map_or(example.as_str(), |(d, _)| d);
    out.push_str(&paint(
        DIM,
        &format!("To bring one back: cp -r {BACKUPS}/{example}/. exercises/{dir_name}/src/\n"),
    ));
    Ok(out)
}

fn is_backup_of(backup_name: &str, dir_name: &str) -> bool {
    backup_name
        .strip_prefix(dir_name)
        .is_some_and(|rest| rest.starts_with('-'))
}

/// The first free backup folder name of an exercise: `01_race_counter-1`, then `-2`, ...
fn next_backup_name(root: &Path, dir_name: &str) -> String {
    (1..)
        .map(|n| format!("{dir_name}-{n}"))
        .find(|name| !root.join(BACKUPS).join(name).exists())
        .expect("some number is free")
}

/// How long ago `modified` was, in the largest unit that fits.
fn age(modified: std::time::SystemTime) -> String {
    let seconds = modified.elapsed().map_or(0, |elapsed| elapsed.as_secs());
    match seconds {
        0..=59 => "just now".to_owned(),
        60..=3_599 => format!("{} min ago", seconds / 60),
        3_600..=86_399 => format!("{} h ago", seconds / 3_600),
        _ => format!("{} days ago", seconds / 86_400),
    }
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_belongs_to_its_exercise_only() {
        assert!(is_backup_of(
            "01_race_counter-2026-12-02T01-23-03",
            "01_race_counter"
        ));
        assert!(!is_backup_of(
            "01_race_counter-2026-12-02T01-23-03",
            "01_race"
        ));
        assert!(!is_backup_of(
            "02_lock_fix-2026-12-02T01-23-03",
            "01_race_counter"
        ));
    }
}
