//! Shows what a global interpreter lock does: a CPU-bound and an I/O-bound program, each with 1,
//! 2 and 4 threads.
//!
//! Run it with `cargo run --release -p gil --example gil_demo`. With the stub, only the I/O-bound
//! program gets faster with more threads; once `run_task` computes outside the lock, the
//! CPU-bound one does too, up to the number of cores.

use std::time::{Duration, Instant};

use gil::{run_program, Simulated, Task};

fn main() {
    let work = Simulated {
        compute_rounds: 2_000_000,
        io_latency: Duration::from_millis(10),
    };
    let cpu_bound: Vec<Task> = (0..64).map(Task::Compute).collect();
    let io_bound: Vec<Task> = (0..64).map(Task::Io).collect();
    for (name, tasks) in [("CPU-bound", &cpu_bound), ("I/O-bound", &io_bound)] {
        let mut one_thread = None;
        for threads in [1, 2, 4] {
            let started = Instant::now();
            let summary = run_program(threads, tasks, &work);
            let elapsed = started.elapsed();
            let baseline = *one_thread.get_or_insert(elapsed);
            println!(
                "{name}, {threads} thread(s): {} tasks in {:>4} ms, {:.2}× the speed of 1 thread",
                summary.tasks,
                elapsed.as_millis(),
                baseline.as_secs_f64() / elapsed.as_secs_f64()
            );
        }
    }
}
