//! Where the learner's files lie inside a scratch crate, and how their paths are shown.
//!
//! A scratch crate ([`crate::scratch`]) copies the learner's files to `subject/src/`, and its
//! model-checked twin reaches them as `model/../subject/src/`. Compiler messages, panics and
//! the model checker's backtraces name those copies; the learner must read the path of their
//! own file instead. This module is the one place that knows the layout, so that the modules
//! which read such paths (verdicts, timelines, the model checker's reports) need nothing else
//! of the scratch crate.

/// The folder of the learner's files inside a scratch crate, as it appears in paths.
pub const SUBJECT_SRC: &str = "subject/src/";

/// Whether `file`, as a panic or a backtrace names it, is one of the learner's files.
pub fn is_learner_file(file: &str) -> bool {
    file.contains(SUBJECT_SRC)
}

/// Where `file` lies under the learner's `src/` (`…/model/../subject/src/lib.rs` becomes
/// `lib.rs`), or `None` when it is not one of the learner's files.
pub fn under_learner_src(file: &str) -> Option<&str> {
    file.rsplit_once(SUBJECT_SRC).map(|(_, relative)| relative)
}

/// Rewrites every path to a file under `subject/src/` in `text` (compiler output, a panic, a
/// backtrace) to where the learner's file really is, `{display_dir}/src/...`.
///
/// The scratch crate's own build names the files relative to the crate (`subject/src/lib.rs`,
/// `model/../subject/src/lib.rs`); a build of several crates at once
/// ([`crate::scratch::build_together`]) and debug information name them by absolute paths
/// (`/…/scratch/01_race_counter/code-…/subject/src/lib.rs`). The path's start is found by
/// walking back from `subject/src/` to a character no path of ours contains; what precedes the
/// first `/` of that run is kept, for a colour code (`\x1b[0m`) may touch the path.
pub fn map_scratch_paths(text: &str, display_dir: &str) -> String {
    let mut mapped = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(SUBJECT_SRC) {
        let before = &rest[..at];
        let run_start = before
            .rfind(|c: char| c.is_whitespace() || c.is_control() || "\"'`()<>[]{},;=|".contains(c))
            .map_or(0, |i| {
                i + before[i..].chars().next().map_or(1, char::len_utf8)
            });
        let run = &before[run_start..];
        let run = run.strip_suffix("model/../").unwrap_or(run);
        let kept = match run.find('/') {
            Some(slash) => &run[..slash],
            None => run,
        };
        mapped.push_str(&before[..run_start]);
        mapped.push_str(kept);
        mapped.push_str(display_dir);
        mapped.push_str("/src/");
        rest = &rest[at + SUBJECT_SRC.len()..];
    }
    mapped.push_str(rest);
    mapped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_in_a_scratch_crate_become_the_learners_own() {
        let panic = "/t/scratch/01/exercise/model/../subject/src/lib.rs:22:5";
        assert!(is_learner_file(panic));
        assert!(!is_learner_file("/t/grader/hidden/01/tests.rs"));
        assert_eq!(under_learner_src(panic), Some("lib.rs:22:5"));
        assert_eq!(under_learner_src("/rustc/library/std/src/lib.rs"), None);
        let learner = "exercises/01_race_counter/src/lib.rs:22:5";
        let display = "exercises/01_race_counter";
        assert_eq!(map_scratch_paths(panic, display), learner);
        for (scratch, shown) in [
            // A scratch crate's own build: paths relative to the crate.
            ("subject/src/lib.rs:22:5", learner.to_owned()),
            ("model/../subject/src/lib.rs:22:5", learner.to_owned()),
            // A build of several crates at once: absolute paths.
            (
                "panicked at /t/scratch/01/code-1f/subject/src/lib.rs:22:5:",
                format!("panicked at {learner}:"),
            ),
            (
                "  --> /t/scratch/01/code-1f/model/../subject/src/lib.rs:22:5\n",
                format!("  --> {learner}\n"),
            ),
            // A colour code right before the path stays.
            (
                "\u{1b}[0m/t/scratch/01/code-1f/subject/src/lib.rs:22:5",
                format!("\u{1b}[0m{learner}"),
            ),
            (
                "(/t/a/subject/src/m.rs, `/t/b/subject/src/lib.rs`)",
                "(exercises/01_race_counter/src/m.rs, `exercises/01_race_counter/src/lib.rs`)"
                    .to_owned(),
            ),
            ("no path here", "no path here".to_owned()),
        ] {
            assert_eq!(map_scratch_paths(scratch, display), shown, "{scratch}");
        }
    }
}
