//! Shows workers running ahead: compares your parallel simulation with the serial one.
//!
//! Run it with `cargo run -p barrier_phases --example barrier_phases_demo`. Without a barrier, some runs end
//! with cells that differ from the serial result, by a different amount each time; with one,
//! every run matches.

use barrier_phases::{diffuse, simulate_parallel, simulate_serial};

const CELLS: u64 = 64;
const STEPS: usize = 50;
const THREADS: usize = 4;
const RUNS: usize = 200;

fn main() {
    let initial: Vec<u64> = (0..CELLS).map(|cell| cell * 37 % 1000).collect();
    let expected = simulate_serial(&initial, STEPS, diffuse);
    let mut wrong_runs = 0;
    let mut wrong_cells = 0;
    for _ in 0..RUNS {
        let got = simulate_parallel(&initial, STEPS, THREADS, diffuse);
        let differing = got.iter().zip(&expected).filter(|(a, b)| a != b).count();
        if differing > 0 {
            wrong_runs += 1;
            wrong_cells += differing;
        }
    }
    println!(
        "{RUNS} runs of {CELLS} cells × {STEPS} steps on {THREADS} threads: {wrong_runs} ended \
         different from the serial simulation ({wrong_cells} wrong cells in all)"
    );
}
