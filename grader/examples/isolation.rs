//! Prints the isolation level this machine gives hidden tests: `cargo run -p grader --example
//! isolation`. `THREADLINGS_ISOLATION` caps it, as for `check` and `grade`.

fn main() {
    grader::reaper::become_subreaper();
    println!("isolation: {}", grader::sandbox::isolation());
}
