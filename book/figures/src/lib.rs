//! Real measurements behind the book's figures, the minimal performance experiment, and the
//! concept chapters' examples that need crates (`mdbook test` compiles only std).
//!
//! Every figure in `book/src/figures/` is drawn from a run of this crate on the machine that ran
//! it, and says which machine and which day. Rerun them all with `cargo xtask book --figures`.
//! Nothing here asserts on time: a slow or busy machine draws a flatter curve, not a failure.

pub mod async_model;
pub mod experiment;
pub mod false_sharing;
pub mod granularity;
pub mod machine;
pub mod patterns;
pub mod plot;
pub mod primitives;
pub mod speedup;
pub mod timeline;
pub mod workload;
