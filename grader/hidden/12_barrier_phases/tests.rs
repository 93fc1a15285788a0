//! Hidden tests of exercise 12: simulate_parallel must equal simulate_serial, step for step.
//!
//! `barrier_phases` is the learner's crate on real threads; `barrier_phases_model` is the same
//! code with `crate::sync` swapped for shuttle, whose fixed-seed schedules find a worker that
//! runs a step ahead on every run. The serial reference is always the grader's own copy, so a
//! change to the learner's `simulate_serial` cannot move the goalposts.

use std::collections::HashSet;
use std::sync::Mutex;

use harness::model::{self, Budget};

/// Real-thread stress sizes: enough steps that workers without a barrier drift apart, small
/// enough for well under a second in a debug build.
const STRESS_CELLS: u64 = 400;
const STRESS_STEPS: usize = 300;
const STRESS_THREADS: usize = 4;

/// Failure messages list every cell of rings up to this size.
const SHOWN_CELLS: usize = 16;

fn diffuse(left: u64, center: u64, right: u64) -> u64 {
    (left % 1000 + 2 * (center % 1000) + right % 1000) % 1000
}

/// The grader's serial simulation, written independently of the learner's.
fn serial(initial: &[u64], steps: usize) -> Vec<u64> {
    let len = initial.len();
    let mut cells = initial.to_vec();
    for _ in 0..steps {
        cells = (0..len)
            .map(|index| {
                diffuse(
                    cells[(index + len - 1) % len],
                    cells[index],
                    cells[(index + 1) % len],
                )
            })
            .collect();
    }
    cells
}

/// Distinct starting values, so that reading a neighbour from the wrong step shows.
fn initial_cells(len: u64) -> Vec<u64> {
    (0..len).map(|cell| (cell * 389 + 17) % 1000).collect()
}

/// Says which cells differ and why that happens, or nothing when `got` is right.
fn mismatch(what: &str, got: &[u64], expected: &[u64]) -> Option<String> {
    if got == expected {
        return None;
    }
    if got.len() != expected.len() {
        return Some(format!(
            "{what}: returned {} cells, but the simulation has {}",
            got.len(),
            expected.len()
        ));
    }
    let wrong: Vec<usize> = (0..got.len()).filter(|&i| got[i] != expected[i]).collect();
    let first = wrong[0];
    // Whole rings help only while they are short enough to compare by eye.
    let rings = if got.len() <= SHOWN_CELLS {
        format!(". Got {got:?}, serial {expected:?}")
    } else {
        String::new()
    };
    Some(format!(
        "{what}: {} of {} cells differ from the serial simulation, first cell {first} \
         (got {}, serial {}){rings}",
        wrong.len(),
        got.len(),
        got[first],
        expected[first]
    ))
}

/// Runs `simulate_parallel` under the model checker and compares it with the serial result.
fn explore_against_serial(cells: u64, steps: usize, threads: usize, lesson: &'static str) {
    let initial = initial_cells(cells);
    let expected = serial(&initial, steps);
    model::explore(Budget::default(), move || {
        let got = barrier_phases_model::simulate_parallel(&initial, steps, threads, diffuse);
        let what = format!("{cells} cells, {steps} steps, {threads} threads");
        if let Some(problem) = mismatch(&what, &got, &expected) {
            panic!("{problem}. {lesson}");
        }
    });
}

fn no_worker_starts_a_step_before_all_finished_the_last() {
    explore_against_serial(
        4,
        2,
        2,
        "A worker started a step while its neighbour was still on the previous one, so it \
         read a cell from the wrong step. After each step every worker must wait at a \
         `sync::Barrier` until all of them have finished it",
    );
    explore_against_serial(
        6,
        3,
        3,
        "With three workers a middle one has two neighbours to wait for. Every worker must \
         wait at the barrier after every step, not only once at the end",
    );
}

fn more_threads_than_cells_still_finish() {
    explore_against_serial(
        2,
        2,
        3,
        "With more workers than cells some chunks are empty, but the barrier counts every \
         worker: a worker with nothing to compute must still wait at it after every step, or \
         the others wait for it forever",
    );
}

fn parallel_equals_serial_for_many_shapes() {
    for cells in [0, 1, 2, 5, 17, 64] {
        let initial = initial_cells(cells);
        for steps in [0, 1, 2, 7] {
            for threads in [1, 2, 3, 8] {
                let got = barrier_phases::simulate_parallel(&initial, steps, threads, diffuse);
                let what = format!("{cells} cells, {steps} steps, {threads} threads");
                if let Some(problem) = mismatch(&what, &got, &serial(&initial, steps)) {
                    panic!(
                        "{problem}. Check that the chunks cover every cell exactly once (also \
                         when the cells do not divide evenly), that each step reads only the \
                         previous generation, and that the generation returned is the last one \
                         written"
                    );
                }
            }
        }
    }
}

fn workers_live_for_every_step() {
    const CELLS: u64 = 12;
    const STEPS: usize = 5;
    const THREADS: usize = 3;
    let workers = Mutex::new(HashSet::new());
    let counting_rule = |left, center, right| {
        workers.lock().unwrap().insert(std::thread::current().id());
        diffuse(left, center, right)
    };
    let initial = initial_cells(CELLS);
    let got = barrier_phases::simulate_parallel(&initial, STEPS, THREADS, counting_rule);
    let workers = workers.into_inner().unwrap();
    assert!(
        !workers.contains(&std::thread::current().id()),
        "the calling thread computed cells itself; the {THREADS} workers must do all the work"
    );
    assert!(
        workers.len() == THREADS,
        "{CELLS} cells over {STEPS} steps were computed by {} different threads, but there \
         should be exactly {THREADS} workers, started once and kept for every step. Starting \
         fresh threads for each step does separate the steps, but pays for thread creation \
         every step; a barrier lets the same workers go on",
        workers.len()
    );
    if let Some(problem) = mismatch("counting workers", &got, &serial(&initial, STEPS)) {
        panic!("{problem}");
    }
}

fn stress_parallel_simulation_on_real_threads() {
    let initial = initial_cells(STRESS_CELLS);
    let expected = serial(&initial, STRESS_STEPS);
    let got = barrier_phases::simulate_parallel(&initial, STRESS_STEPS, STRESS_THREADS, diffuse);
    if let Some(problem) = mismatch("on real threads", &got, &expected) {
        panic!("{problem}. Workers must wait at a barrier after every step");
    }
}

fn simulate_parallel_panics_on_0_threads() {
    let outcome = std::panic::catch_unwind(|| {
        barrier_phases::simulate_parallel(&[1, 2, 3], 2, 0, diffuse)
    });
    assert!(
        outcome.is_err(),
        "simulate_parallel with 0 threads returned; it must panic, since no worker would ever \
         compute a cell"
    );
}

harness::hidden_tests![
    no_worker_starts_a_step_before_all_finished_the_last,
    more_threads_than_cells_still_finish,
    simulate_parallel_panics_on_0_threads,
    parallel_equals_serial_for_many_shapes,
    workers_live_for_every_step,
    stress_parallel_simulation_on_real_threads,
];
