//! `cargo xtask check N`: grade one exercise and teach from the result.

use anyhow::Result;
use grader::check::Options;
use grader::progress::Progress;
use grader::subject::Subject;
use grader::verdict::VerdictLabel;

use crate::render;

#[derive(clap::Args)]
pub struct Flags {
    /// The exercise: `1`, `01`, `race_counter` or `01_race_counter`
    exercise: String,
    /// Grade the reference solution instead of your exercise
    #[arg(long)]
    solution: bool,
    /// Run only this hidden test (repeatable)
    #[arg(long = "test", value_name = "NAME")]
    only: Vec<String>,
}

impl Flags {
    pub fn run(&self) -> Result<crate::Exit> {
        let workspace = crate::workspace()?;
        let catalog = crate::catalog(&workspace)?;
        let exercise = catalog.find(&self.exercise)?;
        let subject = if self.solution {
            Subject::solution(&workspace, exercise)?
        } else {
            Subject::exercise(&workspace, exercise)?
        };
        anstream::println!("{}", render::heading(exercise, &subject));
        let activity = crate::activity::Activity::start(exercise);
        let options = Options {
            color: render::colour_on(),
            only: self.only.clone(),
            observer: activity.observer(),
            // A learner's whole check: say fast that it fails. With `--test` they asked for
            // those tests, so every one of them runs.
            stop_after_deadlock: self.only.is_empty(),
            ..Options::default()
        };
        let report = grader::check::check(&workspace, exercise, &subject, &options);
        activity.finish();
        let report = report?;
        anstream::print!("{}", render::report(&report));
        if !self.solution && self.only.is_empty() {
            let mut progress = Progress::load(&workspace);
            progress.record(&report, subject.fingerprint());
            progress.save(&workspace)?;
        }
        if report.passed() {
            let unmeasured = report
                .tests()
                .iter()
                .filter(|t| t.verdict.label() == VerdictLabel::Inconclusive)
                .count();
            if unmeasured > 0 {
                anstream::println!(
                    "{}",
                    render::paint(
                        render::WARN,
                        &format!(
                            "{unmeasured} timing test(s) could not be measured on this machine right now, so \
                             they earn no points yet; the other tests passed. Run the check again when the \
                             machine is idle to see your speedup and earn them."
                        )
                    )
                );
            }
            // The check above is already recorded, so this exercise counts as solved now.
            let overview = Progress::load(&workspace).overview(&workspace, &catalog);
            let next = overview.next_unsolved_after(exercise.meta.number);
            anstream::println!("{}", render::next_step(next));
            Ok(crate::Exit::Passed)
        } else {
            anstream::println!("{}", render::help_footer(exercise));
            Ok(crate::Exit::Failed)
        }
    }
}

impl Flags {
    /// The flags of a plain `check N`, for `watch`.
    pub fn for_exercise(exercise: &str) -> Flags {
        Flags {
            exercise: exercise.to_owned(),
            solution: false,
            only: Vec::new(),
        }
    }
}
