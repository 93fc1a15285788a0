//! `cargo xtask watch [N]`: re-check on every save.
//!
//! File events come from `notify`, debounced by `notify-debouncer-mini` so that an editor's
//! burst of writes triggers one check. Where events do not arrive (network file systems,
//! some containers), `--poll` compares file times instead, and pressing Enter always checks.

use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result};
use grader::progress::{Progress, State};
use grader::subject::Subject;
use notify::{PollWatcher, RecursiveMode};
use notify_debouncer_mini::{new_debouncer_opt, Config, DebounceEventResult};

#[derive(clap::Args)]
pub struct Flags {
    /// The exercise to watch; by default the first one not yet done
    exercise: Option<String>,
    /// Poll file times instead of waiting for file events
    #[arg(long)]
    poll: bool,
}

const DEBOUNCE: Duration = Duration::from_millis(200);

enum Trigger {
    Saved,
    Enter,
    Quit,
}

impl Flags {
    pub fn run(&self) -> Result<crate::Exit> {
        let workspace = crate::workspace()?;
        let catalog = crate::catalog(&workspace)?;
        let exercise = match &self.exercise {
            Some(wanted) => catalog.find(wanted)?.clone(),
            None => {
                let progress = Progress::load(&workspace);
                catalog
                    .exercises
                    .iter()
                    .find(|e| {
                        let fingerprint = Subject::exercise(&workspace, e)
                            .map(|s| s.fingerprint())
                            .unwrap_or(0);
                        progress.state(&e.dir_name, fingerprint) != State::Done
                    })
                    .or(catalog.exercises.last())
                    .context("the catalog has no exercises")?
                    .clone()
            }
        };
        let src = exercise.exercise_dir(&workspace).join("src");
        let (sender, triggers) = mpsc::channel();

        let saves = sender.clone();
        let on_event = move |events: DebounceEventResult| {
            if events.is_ok_and(|events| {
                events
                    .iter()
                    .any(|e| e.path.extension().is_some_and(|x| x == "rs"))
            }) {
                let _ = saves.send(Trigger::Saved);
            }
        };
        // Both watchers stay alive for the whole loop; only one is created.
        let _watcher: Box<dyn std::any::Any> = if self.poll {
            let config = Config::default().with_timeout(DEBOUNCE).with_notify_config(
                notify::Config::default().with_poll_interval(Duration::from_millis(500)),
            );
            let mut debouncer = new_debouncer_opt::<_, PollWatcher>(config, on_event)?;
            debouncer.watcher().watch(&src, RecursiveMode::Recursive)?;
            Box::new(debouncer)
        } else {
            let mut debouncer = notify_debouncer_mini::new_debouncer(DEBOUNCE, on_event)?;
            debouncer.watcher().watch(&src, RecursiveMode::Recursive)?;
            Box::new(debouncer)
        };
        std::thread::spawn(move || {
            for line in std::io::stdin().lines() {
                let quit = line.as_deref().map(str::trim).is_ok_and(|l| l == "q");
                if sender
                    .send(if quit { Trigger::Quit } else { Trigger::Enter })
                    .is_err()
                    || quit
                {
                    return;
                }
            }
            let _ = sender.send(Trigger::Quit);
        });

        let fingerprint = || {
            Subject::exercise(&workspace, &exercise)
                .map(|s| s.fingerprint())
                .ok()
        };
        loop {
            let checked = fingerprint();
            let verdict = crate::check::Flags::for_exercise(&exercise.dir_name).run()?;
            let mark = if matches!(verdict, crate::Exit::Passed) {
                "✓"
            } else {
                "…"
            };
            anstream::println!(
                "\n{mark} Watching {} · save to re-check · Enter re-checks now · q quits",
                src.display()
            );
            loop {
                match triggers.recv() {
                    // File events also report reads (the grader's own, an editor's), and
                    // editors rewrite files unchanged; only new contents earn a check.
                    Ok(Trigger::Saved) if fingerprint() == checked => continue,
                    Ok(Trigger::Saved | Trigger::Enter) => break,
                    Ok(Trigger::Quit) | Err(_) => return Ok(verdict),
                }
            }
            // Drain the rest of a burst so one save is one check.
            while triggers.try_recv().is_ok() {}
            anstream::print!("\x1b[2J\x1b[H");
        }
    }
}
