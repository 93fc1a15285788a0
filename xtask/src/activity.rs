//! The line that shows a check is alive: what it is doing and for how long, redrawn in place.
//!
//! The grader reports its steps as [`grader::events::Event`]s; this module turns them into an
//! `indicatif` spinner on stderr ("Building 01: 23 of 57 crates compiled (shuttle) · 41 s",
//! "Running test 3 of 9: name · 2 s"). indicatif draws nothing when stderr is not a terminal,
//! so logs, pipes and the CLI tests see only the report. Before the first check of a checkout
//! it says once that the first build takes minutes and later checks take seconds.

// Until `check` passes `Activity::observer()` in its `grader::check::Options` (see the branch's
// merge note), the spinner is called only from the tests.

use std::time::Duration;

use grader::catalog::Exercise;
use grader::events::{Event, Observer};
use indicatif::{ProgressBar, ProgressStyle};

use crate::render::{paint, DIM};

/// The spinner of one check; cleared by [`Activity::finish`] before the report is printed.
pub struct Activity {
    bar: ProgressBar,
    number: u32,
}

impl Activity {
    /// Starts the spinner for a check of `exercise`.
    pub fn start(exercise: &Exercise) -> Activity {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} · {elapsed}")
                .expect("the template is valid"),
        );
        let number = exercise.meta.number;
        bar.set_message(format!("Checking {number:02}"));
        // Ticks on a timer of its own, so the line stays alive through a long silent step.
        bar.enable_steady_tick(Duration::from_millis(120));
        Activity { bar, number }
    }

    /// The observer to pass in `grader::check::Options`.
    pub fn observer(&self) -> Observer {
        let bar = self.bar.clone();
        let number = self.number;
        Observer::new(move |event| bar.set_message(describe(number, event)))
    }

    /// Clears the line, leaving the terminal as it was for the report.
    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}

/// Says, before the first check of a checkout (no scratch crate was ever built in it), that
/// the first build is slow and the ones after it are not. Later runs find the build folder.
pub fn first_run_notice() {
    let never_built =
        crate::workspace().is_ok_and(|workspace| !workspace.scratch_target_dir().exists());
    if never_built {
        anstream::eprintln!("{}", paint(DIM, FIRST_RUN_NOTICE));
    }
}

const FIRST_RUN_NOTICE: &str = "The first check builds the exercises' dependencies: a few \
minutes on two cores. Later checks take seconds.";

/// The spinner's message for `event` during a check of exercise `number`.
pub fn describe(number: u32, event: &Event) -> String {
    match event {
        Event::BuildStarted {
            release: false,
            first_build,
        } => format!(
            "Building {number:02} and its dependencies{}",
            if *first_build {
                " (first build: a few minutes)"
            } else {
                ""
            }
        ),
        Event::BuildStarted { release: true, .. } => {
            format!("Building an optimised copy of {number:02} for the timing tests")
        }
        Event::Compiled { name, done, total } => match total {
            Some(total) => {
                format!("Building {number:02}: {done} of {total} crates compiled ({name})")
            }
            None => format!("Building {number:02}: {done} crates compiled ({name})"),
        },
        Event::BuildFinished { .. } => format!("Built {number:02}"),
        Event::TestStarted { index, total, name } => {
            format!("Running test {index} of {total}: {name}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_step_reads_as_what_the_check_is_doing() {
        let build = Event::BuildStarted {
            release: false,
            first_build: true,
        };
        assert_eq!(
            describe(1, &build),
            "Building 01 and its dependencies (first build: a few minutes)"
        );
        let compiled = Event::Compiled {
            name: "shuttle".into(),
            done: 23,
            total: Some(57),
        };
        assert_eq!(
            describe(1, &compiled),
            "Building 01: 23 of 57 crates compiled (shuttle)"
        );
        let test = Event::TestStarted {
            index: 3,
            total: 9,
            name: "lost_updates_are_counted".into(),
        };
        assert_eq!(
            describe(4, &test),
            "Running test 3 of 9: lost_updates_are_counted"
        );
    }
}
