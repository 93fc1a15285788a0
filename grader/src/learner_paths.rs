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

/// Rewrites `subject/src/...` in compiler output to where the learner's file really is.
pub fn map_scratch_paths(text: &str, display_dir: &str) -> String {
    text.replace("model/../subject/src/", SUBJECT_SRC)
        .replace(SUBJECT_SRC, &format!("{display_dir}/src/"))
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
        assert_eq!(
            map_scratch_paths(panic, "exercises/01_race_counter"),
            "/t/scratch/01/exercise/exercises/01_race_counter/src/lib.rs:22:5"
        );
    }
}
