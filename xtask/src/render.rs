//! Grader data as terminal text. Styles are written unconditionally; `anstream` strips them
//! when the output is not a terminal (or `NO_COLOR` is set), so logs and tests read plain text.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};
use grader::catalog::{Catalog, Exercise};
use grader::check::{ExerciseReport, Outcome, TestResult};
use grader::diagnosis::DiagnosisKind;
use grader::progress::State;
use grader::subject::Subject;
use grader::verdict::Verdict;

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
                out.push_str(&test_line(test, &previous_details));
                previous_details = verdict_details(&test.verdict);
            }
            let passed = tests.iter().filter(|t| t.verdict.is_pass()).count();
            let summary = format!(
                "{}/{} points · {passed} of {} tests passed · {:.1} s",
                report.points,
                report.max_points,
                tests.len(),
                report.elapsed_ms as f64 / 1000.0
            );
            let style = if passed == tests.len() { GOOD } else { BAD };
            let _ = writeln!(out, "\n{}", paint(style, &summary));
        }
    }
    out
}

/// One test's line, then its notes and what went wrong. Details identical to the previous
/// test's (typically the same `todo!()`) are not repeated.
fn test_line(test: &TestResult, previous_details: &str) -> String {
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
        paint(style, &verdict_name(&test.verdict)),
        paint(DIM, &format!("{}/{}", test.points, test.max_points))
    );
    for note in &test.notes {
        let _ = writeln!(out, "      {}", paint(DIM, note));
    }
    let details = verdict_details(&test.verdict);
    if !details.is_empty() && details == previous_details {
        let _ = writeln!(out, "      {}", paint(DIM, "(the same as above)"));
        return out;
    }
    for line in details.lines() {
        let _ = writeln!(out, "      {line}");
    }
    if !details.is_empty() {
        out.push('\n');
    }
    out
}

/// The verdict as a learner reads it in the table: `timeout (deadlock)` rather than a label.
pub fn verdict_name(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Timeout { diagnosis, .. } => match diagnosis.kind {
            DiagnosisKind::Deadlock => "timeout (deadlock)".into(),
            DiagnosisKind::Spinning => "timeout (livelock or infinite loop)".into(),
            DiagnosisKind::Sleeping => "timeout (sleeping)".into(),
            DiagnosisKind::Unknown => "timeout".into(),
        },
        // The timer starts every reason with its short form: `1 core: ...`, `machine busy: ...`.
        Verdict::Inconclusive { reason } => match reason.split_once(':') {
            Some((short, _)) if short.len() <= 20 => format!("inconclusive ({short})"),
            _ => "inconclusive".into(),
        },
        other => other.label(),
    }
}

/// What went wrong, in sentences.
pub fn verdict_details(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Pass => String::new(),
        Verdict::Fail { message, replay } => {
            let mut text = message.clone();
            if let Some(schedule) = replay {
                let _ = write!(
                    text,
                    "\n(found by the model checker; this schedule replays it exactly: {schedule})"
                );
            }
            text
        }
        Verdict::Panic {
            message,
            location,
            thread,
        } => {
            let hint = if message.starts_with("not yet implemented") {
                "\nThat is a `todo!()` still waiting for your code."
            } else {
                ""
            };
            format!("your code panicked at {location} (thread '{thread}'):\n{message}{hint}")
        }
        Verdict::Timeout { limit, diagnosis } => {
            let mut text = match diagnosis.kind {
                DiagnosisKind::Deadlock => format!(
                    "still running after {} s, every thread blocked and none using CPU: a deadlock.",
                    limit.as_secs_f64()
                ),
                DiagnosisKind::Spinning => format!(
                    "still running after {} s and still burning CPU: a livelock, a spin loop or an infinite loop.",
                    limit.as_secs_f64()
                ),
                DiagnosisKind::Sleeping => format!(
                    "still running after {} s, every thread asleep on a timer.",
                    limit.as_secs_f64()
                ),
                DiagnosisKind::Unknown => format!("still running after {} s.", limit.as_secs_f64()),
            };
            for thread in &diagnosis.threads {
                let name = if thread.pid == thread.tid {
                    format!("{} (main thread)", thread.name)
                } else {
                    thread.name.clone()
                };
                let doing = match &thread.waiting_on {
                    Some(what) => format!("waits on {what}"),
                    None => format!("running ({} ticks of CPU in 0.25 s)", thread.cpu_ticks),
                };
                let _ = write!(
                    text,
                    "\n  thread '{name}' of process {}: {doing}",
                    thread.pid
                );
            }
            text
        }
        Verdict::Crash { cause } => cause.clone(),
        Verdict::Leak { message } => message.clone(),
        Verdict::Inconclusive { reason } => reason.clone(),
    }
}

pub fn help_footer(exercise: &Exercise) -> String {
    format!(
        "Stuck? {} shows a hint · the chapter is book/src/{}",
        paint(
            BOLD,
            &format!("cargo xtask hint {:02}", exercise.meta.number)
        ),
        exercise.meta.chapter
    )
}

pub fn next_step(catalog: &Catalog, exercise: &Exercise) -> String {
    match catalog
        .exercises
        .iter()
        .find(|e| e.meta.number > exercise.meta.number)
    {
        Some(next) => format!(
            "{} Next: {} ({})",
            paint(GOOD, "Well done!"),
            paint(BOLD, &format!("cargo xtask check {:02}", next.meta.number)),
            next.meta.title
        ),
        None => format!("{} That was the last exercise.", paint(GOOD, "Well done!")),
    }
}

pub fn state_mark(state: State) -> String {
    match state {
        State::Done => paint(GOOD, "✓"),
        State::Failing => paint(BAD, "✗"),
        State::NotStarted => paint(DIM, "·"),
    }
}

pub fn progress_bar(done: usize, total: usize) -> String {
    const WIDTH: usize = 30;
    let filled = if total == 0 { 0 } else { done * WIDTH / total };
    format!(
        "Progress: [{}{}] {done}/{total} exercises done",
        paint(GOOD, &"#".repeat(filled)),
        "-".repeat(WIDTH - filled)
    )
}
