//! The experiment's process mode, end to end: the `figures` binary started as a worker.

use figures::experiment::{on_processes, serially};

#[test]
fn worker_processes_compute_what_the_serial_loop_computes() {
    let program = std::path::Path::new(env!("CARGO_BIN_EXE_figures"));
    let from_processes = on_processes(program, 2, 10_000).expect("the worker processes run");
    assert_eq!(
        from_processes,
        serially(2, 10_000),
        "the results read back from the worker processes differ from computing them here"
    );
}
