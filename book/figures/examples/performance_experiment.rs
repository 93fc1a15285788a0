//! The seeds' minimal performance experiment in Rust: four CPU-bound tasks run one after
//! another, on four threads and on four processes, with the time of each.
//!
//! Run it with `cargo run --release -p figures --example performance_experiment`. In CPython
//! the threaded run is no faster than the serial one, because the threads take turns holding
//! the GIL; here the threads scale with the cores, like the processes, without starting any.

use std::time::Duration;

use anyhow::Context;

use figures::experiment;
use figures::machine::Machine;
use figures::workload::iterations_for;

fn main() -> anyhow::Result<()> {
    // Started with the worker flag, this program is one of the experiment's processes.
    experiment::serve_worker_if_asked();
    if cfg!(debug_assertions) {
        eprintln!("note: this is a debug build; add --release for timings worth comparing");
    }
    let program = std::env::current_exe().context("cannot find this program to start workers")?;
    let tasks = 4;
    // About a quarter of a second per task on this machine, measured before the experiment.
    let work = iterations_for(Duration::from_millis(250));
    let repeats = 3;
    let machine = Machine::current().probed();
    let rows = experiment::run(&program, tasks, work, repeats)?;
    print!(
        "{}",
        experiment::markdown_table(&rows, tasks, work, repeats, &machine)
    );
    Ok(())
}
