//! Markdown for a CI job summary (`$GITHUB_STEP_SUMMARY`): a table of exercises, then what
//! failed and why.

use super::{first_line, IGNORED_HEADING};
use crate::grade::{qualified_name, GradeReport};

/// Markdown for a CI job summary: a table of exercises, then what failed and why.
pub fn to_markdown(report: &GradeReport) -> String {
    let mut out = format!(
        "## threadlings grade: {}\n\n**{}**\n\nisolation: {}\n\n",
        escape_markdown(&report.subject),
        report.summary_line(),
        report.isolation
    );
    if let Some(graded) = &report.same_code_as {
        out.push_str(&format!(
            "Graded once with {}'s identical submission.\n\n",
            escape_markdown(graded)
        ));
    }
    out.push_str("| exercise | points | status |\n| --- | ---: | --- |\n");
    for exercise in &report.exercises {
        out.push_str(&format!(
            "| {} {} | {}/{} | {} |\n",
            exercise.dir_name,
            escape_markdown(&exercise.title),
            exercise.points,
            exercise.max_points,
            exercise.status
        ));
    }
    let failing: Vec<_> = report
        .exercises
        .iter()
        .flat_map(|exercise| {
            exercise
                .tests
                .iter()
                .filter(|test| !test.verdict.is_pass())
                .map(move |test| (exercise, test))
        })
        .collect();
    if !failing.is_empty() {
        out.push_str("\n### Tests that did not pass (or could not time)\n\n");
        for (exercise, test) in failing {
            out.push_str(&format!(
                "- `{}` ({}/{}): **{}**: {}\n",
                qualified_name(exercise, test),
                test.points,
                test.max_points,
                test.verdict,
                escape_markdown(&first_line(&test.message))
            ));
        }
    }
    // An exercise that was not graded test by test says why once, in full: a compiler error
    // or a refusal is read as a block, not as its first line.
    for exercise in report.exercises.iter().filter(|e| !e.message.is_empty()) {
        out.push_str(&format!(
            "\n### {} ({})\n\n~~~text\n{}\n~~~\n",
            exercise.dir_name,
            exercise.status,
            exercise.message.trim_end().replace("~~~", "~ ~ ~")
        ));
    }
    if !report.ignored.listed.is_empty() {
        out.push_str(&format!("\n### Ignored changes\n\n{IGNORED_HEADING}\n\n"));
        // A path in backticks is shown as it is; only a backtick or a line break of its own
        // could end it.
        let code = |path: &str| format!("`{}`", path.replace('`', "'").replace(['\n', '\r'], " "));
        for line in report.ignored.lines(code) {
            out.push_str(&format!("- {line}\n"));
        }
    }
    out
}

/// Student-controlled text must not break the table or inject markup into a CI summary.
fn escape_markdown(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c {
            '|' | '<' | '>' | '*' | '_' | '`' | '[' | ']' | '\\' => vec!['\\', c],
            '\n' | '\r' => vec![' '],
            c => vec![c],
        })
        .collect()
}
