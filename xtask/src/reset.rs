//! `cargo xtask reset N`: put the stub back, after saving the learner's code.

use std::io::BufRead;
use std::process::Command;

use anyhow::{bail, Context, Result};

#[derive(clap::Args)]
pub struct Flags {
    /// The exercise: `1`, `01`, `race_counter` or `01_race_counter`
    exercise: String,
    /// Do not ask before resetting
    #[arg(long)]
    yes: bool,
    /// The git revision whose stub to restore; use `origin/main` if you committed your attempt
    #[arg(long, default_value = "HEAD")]
    from: String,
}

impl Flags {
    pub fn run(&self) -> Result<crate::Exit> {
        let workspace = crate::workspace()?;
        let catalog = crate::catalog(&workspace)?;
        let exercise = catalog.find(&self.exercise)?;
        let src = exercise.exercise_dir(&workspace).join("src");
        let relative_src = format!("exercises/{}/src", exercise.dir_name);
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs();
        let backup = workspace
            .state_dir()
            .join("backups")
            .join(format!("{}-{stamp}", exercise.dir_name));

        if !self.yes {
            anstream::print!(
                "Reset {relative_src} to the stub from `{}`? Your current code is saved to {} first. [y/N] ",
                self.from,
                backup.display()
            );
            std::io::Write::flush(&mut std::io::stdout())?;
            let mut answer = String::new();
            std::io::stdin().lock().read_line(&mut answer)?;
            if !matches!(answer.trim(), "y" | "Y" | "yes") {
                anstream::println!("Nothing changed.");
                return Ok(crate::Exit::Passed);
            }
        }
        copy_dir(&src, &backup)
            .with_context(|| format!("cannot back up {} to {}", src.display(), backup.display()))?;
        let status = Command::new("git")
            .current_dir(workspace.root())
            .args(["restore", "--source", &self.from, "--worktree", "--", &relative_src])
            .status()
            .context("cannot run git, which reset uses to find the original stub; install git or re-clone the exercise")?;
        if !status.success() {
            bail!(
                "git could not restore {relative_src} from `{}`; your code is safe in {}",
                self.from,
                backup.display()
            );
        }
        anstream::println!(
            "{relative_src} is the stub again; your code is in {}.",
            backup.display()
        );
        Ok(crate::Exit::Passed)
    }
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
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
