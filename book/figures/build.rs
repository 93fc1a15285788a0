//! Tells granularity.rs whether the reference solution of exercise 09 is in this checkout.
//! The instructor's edition has it; the student edition (`cargo xtask publish student`) has no
//! solutions/, and its figures are then drawn without remeasuring the granularity curve.

fn main() {
    let solution = std::path::Path::new("../../solutions/09_map_reduce/src/lib.rs");
    println!("cargo::rustc-check-cfg=cfg(reference_solution)");
    println!("cargo::rerun-if-changed={}", solution.display());
    if solution.is_file() {
        println!("cargo::rustc-cfg=reference_solution");
    }
}
