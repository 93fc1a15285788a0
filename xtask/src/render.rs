//! Grader data as terminal text: colour and layout around the sentences of `grader::explain`.
//! Styles are written unconditionally; `anstream` strips them when the output is not a
//! terminal (or `NO_COLOR` is set), so logs and tests read plain text.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};
use grader::catalog::Exercise;
use grader::check::{EarlyStop, ExerciseReport, Outcome};
use grader::execute::TestResult;
use grader::explain::replay_hint;
use grader::progress::Entry;
use grader::subject::Subject;
use grader::verdict::{Verdict, VerdictLabel};

pub const GOOD: Style = AnsiColor::Green.on_default().bold();
pub const BAD: Style = AnsiColor::Red.on_default().bold();
pub const ERROR: Style = AnsiColor::Red.on_default().bold();
pub const DIM: Style = Style::new().dimmed();
pub const BOLD: Style = Style::new().bold();
pub const WARN: Style = AnsiColor::Yellow.on_default().bold();

/// Whether compiler messages should keep their colours: only when stdout is a terminal.
pub fn colour_on() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

pub fn paint(style: Style, text: &str) -> String {
    format!("{}{text}{}", style.render(), style.render_reset())
}

pub fn heading(exercise: &Exercise, subject: &Subject) -> String {
    paint(
        BOLD,
        &format!(
            "Checking {:02} · {} ({})",
            exercise.meta.number, exercise.meta.title, subject.display_dir
        ),
    )
}

/// The whole report of one exercise: a line per test, details for the ones that failed,
/// and a summary line.
/// Why some tests did not run, in one sentence (the rule is `grader::check::EarlyStop`'s).
fn early_stop_sentence(stop: &EarlyStop) -> String {
    format!(
        "Skipped {} test(s) on real threads: {} found threads that wait for ever, and these would \
         most likely hang on the same mistake and teach nothing new. Fix it and check again to \
         run them:",
        stop.skipped.len(),
        stop.after
    )
}

pub fn report(report: &ExerciseReport) -> String {
    let mut out = String::new();
    match &report.outcome {
        Outcome::Rejected { findings } => {
            let _ = writeln!(out, "\n{} before compiling:\n", paint(BAD, "Rejected"));
            for finding in findings {
                let _ = writeln!(
                    out,
                    "  {}:{}\n    {}\n",
                    finding.file, finding.line, finding.problem
                );
            }
        }
        Outcome::BuildFailed { errors } => {
            let _ = writeln!(
                out,
                "\n{} Fix the first error; the others often follow from it.\n",
                paint(BAD, "Your code does not compile.")
            );
            // The first few errors teach; a wall of fifty does not.
            for error in errors.iter().take(3) {
                let _ = writeln!(out, "{}", error.trim_end());
            }
            if errors.len() > 3 {
                let _ = writeln!(
                    out,
                    "{}",
                    paint(DIM, &format!("... and {} more errors", errors.len() - 3))
                );
            }
        }
        Outcome::Graded { tests } => {
            let _ = writeln!(out);
            let mut previous_details = String::new();
            for test in tests {
                out.push_str(&test_line(report.number, test, &previous_details));
                previous_details = test.verdict.details();
            }
            if let Some(stop) = &report.early_stop {
                let _ = writeln!(out, "\n  {}", paint(WARN, &early_stop_sentence(stop)));
                for name in &stop.skipped {
                    let _ = writeln!(out, "  {}", paint(DIM, &format!("- {name}")));
                }
            }
            let passed = tests
                .iter()
                .filter(|t| t.verdict.label() == VerdictLabel::Pass)
                .count();
            let summary = format!(
                "{}/{} points · {passed} of {} tests passed · {:.1} s",
                report.points,
                report.max_points,
                tests.len(),
                report.elapsed_ms as f64 / 1000.0
            );
            let style = if report.passed() { GOOD } else { BAD };
            let _ = writeln!(out, "\n{}", paint(style, &summary));
            // Every report says how far its tests were confined (see `grader::sandbox`).
            let _ = writeln!(
                out,
                "{}",
                paint(DIM, &format!("isolation: {}", report.isolation))
            );
        }
    }
    out
}

/// One test's line, then its notes and what went wrong. Details identical to the previous
/// test's (typically the same `todo!()`) are not repeated.
fn test_line(exercise_number: u32, test: &TestResult, previous_details: &str) -> String {
    let mut out = String::new();
    let (mark, style) = match &test.verdict {
        Verdict::Pass => ("✓", GOOD),
        Verdict::Inconclusive { .. } => ("?", WARN),
        _ => ("✗", BAD),
    };
    let _ = writeln!(
        out,
        "  {} {:<56} {:<18} {}",
        paint(style, mark),
        test.name,
        paint(style, &test.verdict.name()),
        paint(DIM, &format!("{}/{}", test.points, test.max_points))
    );
    for note in &test.notes {
        let _ = writeln!(out, "      {}", paint(DIM, note));
    }
    let details = test.verdict.details();
    if !details.is_empty() && details == previous_details {
        let _ = writeln!(out, "      {}", paint(DIM, "(the same as above)"));
        return out;
    }
    for line in details.lines() {
        let _ = writeln!(out, "      {line}");
    }
    if test.verdict.interleaving().is_some() {
        let hint = replay_hint(exercise_number, &test.name);
        let _ = writeln!(out, "      {}", paint(DIM, &hint));
    }
    if !details.is_empty() {
        out.push('\n');
    }
    out
}

pub fn help_footer(exercise: &Exercise) -> String {
    format!(
        "Stuck? {} shows a hint · {}",
        paint(
            BOLD,
            &format!("cargo xtask hint {:02}", exercise.meta.number)
        ),
        chapter_pointer(exercise)
    )
}

/// After a pass: the next exercise not yet solved, or the end of the course.
pub fn next_step(next_unsolved: Option<&Entry>) -> String {
    match next_unsolved {
        Some(next) => format!(
            "{} Next: {} ({})",
            paint(GOOD, "Well done!"),
            paint(BOLD, &format!("cargo xtask check {:02}", next.number)),
            next.title
        ),
        None => format!(
            "{} Every exercise after this one passes too.",
            paint(GOOD, "Well done!")
        ),
    }
}

/// The sentence every learner-facing footer uses to point at an exercise's chapter.
pub fn chapter_pointer(exercise: &Exercise) -> String {
    format!(
        "{} opens its chapter",
        paint(
            BOLD,
            &format!("cargo xtask book --open {:02}", exercise.meta.number)
        )
    )
}

#[cfg(test)]
mod tests {
    //! The layout of a check's report for every kind of verdict, pinned by snapshots. The
    //! reports are made by hand, so these tests run no grader and depend on no machine.

    use std::time::Duration;

    use grader::diagnosis::{Diagnosis, DiagnosisKind, ThreadState};
    use grader::execute::TestResult;

    use super::*;

    fn result(name: &str, points: u32, max_points: u32, verdict: Verdict) -> TestResult {
        TestResult {
            name: name.to_owned(),
            points,
            max_points,
            verdict,
            elapsed_ms: 10,
            output: String::new(),
            notes: Vec::new(),
        }
    }

    fn report(outcome: Outcome, points: u32, max_points: u32) -> ExerciseReport {
        ExerciseReport {
            number: 1,
            name: "race_counter".into(),
            dir_name: "01_race_counter".into(),
            title: "A race-prone counter".into(),
            chapter: "exercises/01_race_counter.md".into(),
            subject: "exercises/01_race_counter".into(),
            outcome,
            points,
            max_points,
            elapsed_ms: 1234,
            isolation: grader::sandbox::Isolation::Full,
            early_stop: None,
        }
    }

    fn plain(text: &str) -> String {
        anstream::adapter::strip_str(text).to_string()
    }

    #[test]
    fn every_kind_of_verdict_has_its_line_and_details() {
        let todo = || Verdict::Panic {
            message: "not yet implemented: run f(0)..f(n - 1)".into(),
            location: "exercises/01_race_counter/src/lib.rs:35:5".into(),
            thread: "main".into(),
            interleaving: None,
        };
        let tests = vec![
            result("passes", 1, 1, Verdict::Pass),
            result(
                "loses_an_update",
                0,
                3,
                Verdict::Fail {
                    message: "lost 1 of 4 updates (got 3)".into(),
                    replay: Some("9102".into()),
                    interleaving: None,
                },
            ),
            result("reaches_a_todo", 0, 2, todo()),
            result("reaches_the_same_todo", 0, 2, todo()),
            result(
                "deadlocks",
                0,
                2,
                Verdict::Timeout {
                    limit: Duration::from_secs(5),
                    diagnosis: Diagnosis {
                        kind: DiagnosisKind::Deadlock,
                        threads: vec![ThreadState {
                            pid: 7,
                            tid: 7,
                            name: "hidden".into(),
                            cpu_ticks: 0,
                            waiting_on: Some("a lock, condition variable, barrier or join".into()),
                            learner_site: None,
                            tid_in_test: 0,
                        }],
                        for_good: false,
                    },
                },
            ),
            result(
                "crashes",
                0,
                1,
                Verdict::Crash {
                    cause: "the process was killed by SIGSEGV (invalid memory access)".into(),
                },
            ),
            result(
                "leaks",
                0,
                1,
                Verdict::Leak {
                    message: "process 9 (worker) still running after the test ended".into(),
                },
            ),
            result(
                "cannot_time",
                0,
                3,
                Verdict::Inconclusive {
                    reason: "machine busy: the reference never reached 1.50×".into(),
                },
            ),
        ];
        let text = plain(&super::report(&report(Outcome::Graded { tests }, 1, 15)));
        insta::assert_snapshot!(text);
    }

    #[test]
    fn a_model_checked_failure_shows_its_steps_and_how_to_replay_them() {
        use grader::timeline::{Timeline, TimelineStep};
        let step = |thread: &str, operation: &str, line: u32| TimelineStep {
            thread: thread.into(),
            operation: operation.into(),
            location: format!("lib.rs:{line}"),
            function: "Counter::increment".into(),
            value: None,
            note: None,
            never_ran: false,
        };
        let interleaving = Timeline {
            earlier_steps: 2,
            steps: vec![
                step("thread 1", "AtomicU64::load", 56),
                step("thread 2", "AtomicU64::load", 56),
                step("thread 2", "AtomicU64::store", 57),
                step("thread 1", "AtomicU64::store", 57),
            ],
        };
        let tests = vec![result(
            "counter_never_loses_an_increment",
            0,
            3,
            Verdict::Fail {
                message: "lost 1 of 4 updates (got 3)".into(),
                replay: Some("9102".into()),
                interleaving: Some(interleaving),
            },
        )];
        let text = plain(&super::report(&report(Outcome::Graded { tests }, 0, 3)));
        insta::assert_snapshot!(text);
    }

    #[test]
    fn an_inconclusive_timing_test_alone_does_not_colour_the_summary_red() {
        let tests = vec![
            result("passes", 1, 1, Verdict::Pass),
            result(
                "cannot_time",
                0,
                3,
                Verdict::Inconclusive {
                    reason: "1 core: nothing to measure".into(),
                },
            ),
        ];
        let text = super::report(&report(Outcome::Graded { tests }, 1, 4));
        let summary = paint(GOOD, "1/4 points · 1 of 2 tests passed · 1.2 s");
        assert!(text.contains(&summary), "{text:?}");
    }

    #[test]
    fn a_build_failure_shows_the_first_three_errors() {
        let errors = (1..=5)
            .map(|n| format!("error[E0{n}]: problem {n}"))
            .collect();
        let text = plain(&super::report(&report(
            Outcome::BuildFailed { errors },
            0,
            16,
        )));
        insta::assert_snapshot!(text);
    }
}
