//! `cargo xtask watch [N]`: re-check on every save, and move on once an exercise passes.
//!
//! File events come from `notify`, debounced by `notify-debouncer-mini` so that an editor's
//! burst of writes triggers one check. Where events do not arrive (network file systems,
//! some containers), `--poll` compares file times instead, and pressing Enter always checks.
//!
//! On a terminal, keys are read one at a time in raw mode (crossterm), so `q` quits without
//! Enter. Raw mode is on only while waiting: a check's report is printed in the terminal's
//! ordinary mode, and raw mode is switched off again however `watch` ends, a panic included.
//! When stdin is not a terminal (a pipe, an editor's task runner), lines are read instead.

use std::io::IsTerminal;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Duration;

use anyhow::{Context, Result};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use grader::catalog::{Catalog, Exercise};
use grader::progress::Progress;
use grader::subject::Subject;
use grader::workspace::Workspace;
use notify::{PollWatcher, RecursiveMode};
use notify_debouncer_mini::{new_debouncer_opt, Config, DebounceEventResult};

use crate::render::{paint, BOLD, ERROR, GOOD};

#[derive(clap::Args)]
pub struct Flags {
    /// The exercise to start with; by default the first one not yet done
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
        let mut exercise = match &self.exercise {
            Some(wanted) => catalog.find(wanted)?,
            None => first_unsolved(&workspace, &catalog)?,
        };
        let (sender, triggers) = mpsc::channel();
        let keyboard = Keyboard::start(sender.clone());
        let mut verdict;
        loop {
            let src = exercise.exercise_dir(&workspace).join("src");
            let _watcher = watch_files(&src, self.poll, sender.clone())?;
            let next = loop {
                let checked = fingerprint(&workspace, exercise);
                verdict = check(exercise);
                if matches!(verdict, crate::Exit::Passed) {
                    let overview = Progress::load(&workspace).overview(&workspace, &catalog);
                    if let Some(next) = overview.next_unsolved_after(exercise.meta.number) {
                        break catalog.find(&next.dir_name)?;
                    }
                    anstream::println!(
                        "\n{}",
                        paint(GOOD, "Every exercise passes. That was the whole course!")
                    );
                }
                anstream::println!(
                    "\n{} · save to re-check · Enter re-checks now · {} quits",
                    paint(
                        BOLD,
                        &format!("Watching exercises/{}/src", exercise.dir_name)
                    ),
                    paint(BOLD, "q")
                );
                let trigger = {
                    let _raw = keyboard.raw_mode();
                    wait(&triggers, || fingerprint(&workspace, exercise) != checked)
                };
                if matches!(trigger, Trigger::Quit) {
                    return Ok(verdict);
                }
                anstream::print!("\x1b[2J\x1b[H");
            };
            anstream::println!(
                "\n{} Moving on to {:02} · {}: open exercises/{}/src/lib.rs; \
                 it is checked each time you save it (Enter checks it now)",
                paint(GOOD, &format!("{:02} passes.", exercise.meta.number)),
                next.meta.number,
                next.meta.title,
                next.dir_name
            );
            anstream::println!(
                "{} · {} quits",
                paint(BOLD, &format!("Watching exercises/{}/src", next.dir_name)),
                paint(BOLD, "q")
            );
            exercise = next;
            let before = fingerprint(&workspace, exercise);
            let trigger = {
                let _watcher = watch_files(
                    &exercise.exercise_dir(&workspace).join("src"),
                    self.poll,
                    sender.clone(),
                )?;
                let _raw = keyboard.raw_mode();
                wait(&triggers, || fingerprint(&workspace, exercise) != before)
            };
            if matches!(trigger, Trigger::Quit) {
                return Ok(verdict);
            }
            anstream::print!("\x1b[2J\x1b[H");
        }
    }
}

/// The first exercise whose current code has not passed, or the last one when all have.
fn first_unsolved<'catalog>(
    workspace: &Workspace,
    catalog: &'catalog Catalog,
) -> Result<&'catalog Exercise> {
    let overview = Progress::load(workspace).overview(workspace, catalog);
    match overview.next {
        Some(next) => Ok(catalog.find(&next)?),
        None => catalog
            .exercises
            .last()
            .context("the catalog has no exercises"),
    }
}

fn fingerprint(workspace: &Workspace, exercise: &Exercise) -> Option<u64> {
    Subject::exercise(workspace, exercise)
        .map(|subject| subject.fingerprint())
        .ok()
}

/// Checks once. A problem that stops the grader (an emptied file, a deleted one) is shown and
/// the watch goes on, since the learner's next save may well fix it.
fn check(exercise: &Exercise) -> crate::Exit {
    match crate::check::Flags::for_exercise(&exercise.dir_name).run() {
        Ok(verdict) => verdict,
        Err(error) => {
            anstream::println!("{}error:{} {error:#}", ERROR.render(), ERROR.render_reset());
            crate::Exit::Failed
        }
    }
}

/// Waits for the next trigger that asks for a check. File events also report reads (the
/// grader's own, an editor's), and editors rewrite files unchanged; a save counts only when
/// `changed` says the contents differ from what was last checked.
fn wait(triggers: &Receiver<Trigger>, changed: impl Fn() -> bool) -> Trigger {
    let trigger = loop {
        match triggers.recv() {
            Ok(Trigger::Saved) if !changed() => continue,
            Ok(trigger) => break trigger,
            Err(_) => break Trigger::Quit,
        }
    };
    // Drain the rest of a burst so one save is one check.
    while triggers.try_recv().is_ok() {}
    trigger
}

/// Watches `src` for saved Rust files for as long as the returned value lives.
fn watch_files(
    src: &std::path::Path,
    poll: bool,
    saves: Sender<Trigger>,
) -> Result<Box<dyn std::any::Any>> {
    let on_event = move |events: DebounceEventResult| {
        if events.is_ok_and(|events| {
            events
                .iter()
                .any(|e| e.path.extension().is_some_and(|x| x == "rs"))
        }) {
            let _ = saves.send(Trigger::Saved);
        }
    };
    Ok(if poll {
        let config = Config::default().with_timeout(DEBOUNCE).with_notify_config(
            notify::Config::default().with_poll_interval(Duration::from_millis(500)),
        );
        let mut debouncer = new_debouncer_opt::<_, PollWatcher>(config, on_event)?;
        debouncer.watcher().watch(src, RecursiveMode::Recursive)?;
        Box::new(debouncer)
    } else {
        let mut debouncer = notify_debouncer_mini::new_debouncer(DEBOUNCE, on_event)?;
        debouncer.watcher().watch(src, RecursiveMode::Recursive)?;
        Box::new(debouncer)
    })
}

/// Where keys come from: single keys on a terminal, whole lines otherwise.
struct Keyboard {
    terminal: bool,
}

impl Keyboard {
    fn start(sender: Sender<Trigger>) -> Keyboard {
        let terminal = std::io::stdin().is_terminal();
        if terminal {
            restore_terminal_on_panic();
            std::thread::spawn(move || read_keys(sender));
        } else {
            std::thread::spawn(move || read_lines(sender));
        }
        Keyboard { terminal }
    }

    /// Raw mode until the returned guard is dropped, on a terminal; nothing otherwise.
    fn raw_mode(&self) -> Option<RawMode> {
        (self.terminal && crossterm::terminal::enable_raw_mode().is_ok()).then_some(RawMode)
    }
}

/// Switches raw mode off when dropped, on every way out of the wait (return, `?`, unwinding).
struct RawMode;

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

/// A panic message printed in raw mode would run down the screen in a staircase, and the
/// shell would be left without echo; the hook restores the terminal before the message.
fn restore_terminal_on_panic() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = crossterm::terminal::disable_raw_mode();
        previous(info);
    }));
}

fn read_keys(sender: Sender<Trigger>) {
    loop {
        let trigger = match crossterm::event::read() {
            Ok(Event::Key(KeyEvent {
                code,
                modifiers,
                kind: KeyEventKind::Press,
                ..
            })) => match code {
                KeyCode::Char('q') | KeyCode::Char('Q') | KeyCode::Esc => Trigger::Quit,
                // Raw mode turns Ctrl-C into a key instead of a signal.
                KeyCode::Char('c') if modifiers.contains(KeyModifiers::CONTROL) => Trigger::Quit,
                KeyCode::Enter => Trigger::Enter,
                _ => continue,
            },
            Ok(_) => continue,
            Err(_) => Trigger::Quit,
        };
        let quit = matches!(trigger, Trigger::Quit);
        if sender.send(trigger).is_err() || quit {
            return;
        }
    }
}

fn read_lines(sender: Sender<Trigger>) {
    for line in std::io::stdin().lines() {
        let quit = line.as_deref().map(str::trim).is_ok_and(|l| l == "q");
        let trigger = if quit { Trigger::Quit } else { Trigger::Enter };
        if sender.send(trigger).is_err() || quit {
            return;
        }
    }
    let _ = sender.send(Trigger::Quit);
}
