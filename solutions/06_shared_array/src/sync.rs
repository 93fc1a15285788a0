// Grader-owned and unused here: this exercise works with processes, not threads, so it has no
// `mod sync;`. The file is kept so that every exercise crate has the same shape.
include!("../../../grader/shim/sync.rs");
