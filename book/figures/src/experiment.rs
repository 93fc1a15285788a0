//! The seeds' minimal performance experiment, in Rust: one CPU-bound task run `N` times
//! serially, on `N` threads and on `N` processes.
//!
//! In CPython the threads take turns on the GIL and gain nothing; here they run in parallel.
//! The processes are started the way Python's `spawn` starts them: a fresh copy of this program
//! (`std::process::Command`), which computes one task and sends its result back over a pipe.

use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::machine::Machine;
use crate::workload::{cpu_task, fastest_interleaved};

/// The argument that turns this program into one worker process of the experiment.
pub const WORKER_FLAG: &str = "--cpu-task-worker";

/// How the tasks were run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Serially,
    OnThreads,
    OnProcesses,
}

/// One line of the experiment's table.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    pub mode: Mode,
    pub elapsed: Duration,
    /// The tasks' results, summed: the same in every mode, or a mode computed something else.
    pub checksum: u64,
}

fn combine(results: impl IntoIterator<Item = u64>) -> u64 {
    results.into_iter().fold(0, u64::wrapping_add)
}

// ANCHOR: modes
/// The baseline: every task on the calling thread, one after another.
pub fn serially(tasks: usize, work: u64) -> u64 {
    combine((0..tasks).map(|_| cpu_task(work)))
}

/// One thread per task. Nothing is shared, so nothing is locked, and the threads run in
/// parallel on as many cores as there are.
pub fn on_threads(tasks: usize, work: u64) -> u64 {
    thread::scope(|scope| {
        let handles: Vec<_> = (0..tasks)
            .map(|_| scope.spawn(move || cpu_task(work)))
            .collect();
        combine(
            handles
                .into_iter()
                .map(|handle| handle.join().expect("a task panicked")),
        )
    })
}

/// One process per task: `program` started afresh with [`WORKER_FLAG`], its result read back
/// from its standard output. Starting them all before waiting for any lets them overlap.
pub fn on_processes(program: &Path, tasks: usize, work: u64) -> anyhow::Result<u64> {
    let children = (0..tasks)
        .map(|_| {
            Command::new(program)
                .arg(WORKER_FLAG)
                .arg(work.to_string())
                .stdout(Stdio::piped())
                .spawn()
                .with_context(|| format!("cannot start worker process {}", program.display()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut results = Vec::with_capacity(tasks);
    for child in children {
        let output = child
            .wait_with_output()
            .context("cannot wait for a worker process")?;
        if !output.status.success() {
            bail!("a worker process failed with {}", output.status);
        }
        let text = String::from_utf8_lossy(&output.stdout);
        let result = text
            .trim()
            .parse::<u64>()
            .with_context(|| format!("a worker process printed {text:?} instead of its result"))?;
        results.push(result);
    }
    Ok(combine(results))
}
// ANCHOR_END: modes

/// Makes this process one worker of [`on_processes`] when it was started as one: computes the
/// task, prints the result and exits. Call it first thing in `main`.
pub fn serve_worker_if_asked() {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    if arguments.first().map(String::as_str) != Some(WORKER_FLAG) {
        return;
    }
    let work = arguments
        .get(1)
        .and_then(|work| work.parse::<u64>().ok())
        .unwrap_or_else(|| {
            eprintln!("error: {WORKER_FLAG} needs the number of iterations, for example {WORKER_FLAG} 1000");
            std::process::exit(2)
        });
    println!("{}", cpu_task(work));
    std::process::exit(0);
}

/// Runs all three modes, interleaved, each the fastest of `repeats`, and checks that they agree.
pub fn run(program: &Path, tasks: usize, work: u64, repeats: usize) -> anyhow::Result<Vec<Row>> {
    const MODES: [Mode; 3] = [Mode::Serially, Mode::OnThreads, Mode::OnProcesses];
    let mut checksums = [0u64; MODES.len()];
    let fastest = fastest_interleaved(MODES.len(), repeats, |index| {
        let start = Instant::now();
        checksums[index] = match MODES[index] {
            Mode::Serially => serially(tasks, work),
            Mode::OnThreads => on_threads(tasks, work),
            Mode::OnProcesses => on_processes(program, tasks, work)?,
        };
        anyhow::Ok(start.elapsed())
    })?;
    let rows: Vec<Row> = MODES
        .iter()
        .zip(fastest)
        .zip(checksums)
        .map(|((&mode, elapsed), checksum)| Row {
            mode,
            elapsed,
            checksum,
        })
        .collect();
    if let Some(odd) = rows.iter().find(|row| row.checksum != rows[0].checksum) {
        bail!(
            "{:?} computed {} but running serially computed {}: the modes must do the same work",
            odd.mode,
            odd.checksum,
            rows[0].checksum
        );
    }
    Ok(rows)
}

/// The experiment's table as Markdown, beside what the notes report for CPython.
pub fn markdown_table(
    rows: &[Row],
    tasks: usize,
    work: u64,
    repeats: usize,
    machine: &Machine,
) -> String {
    let serial = rows
        .iter()
        .find(|row| row.mode == Mode::Serially)
        .map_or(f64::NAN, |row| row.elapsed.as_secs_f64());
    let mut table = String::from(
        "| how the tasks ran | Rust, measured | speedup | CPython, as the notes report it |\n\
         | --- | ---: | ---: | --- |\n",
    );
    for row in rows {
        let (how, python) = match row.mode {
            Mode::Serially => ("one after another".to_string(), "the baseline"),
            Mode::OnThreads => (
                format!("{tasks} threads"),
                "about the same as serial, sometimes slower: the threads take turns holding the GIL",
            ),
            Mode::OnProcesses => (
                format!("{tasks} processes"),
                "faster on a multi-core machine, each process paying about 100 ms to start an interpreter",
            ),
        };
        let seconds = row.elapsed.as_secs_f64();
        table.push_str(&format!(
            "| {how} | {seconds:.3} s | {:.2}× | {python} |\n",
            serial / seconds
        ));
    }
    table.push_str(&format!(
        "\n{tasks} tasks of `cpu_task({work})` each, best of {repeats} runs per row; {machine}.\n"
    ));
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_compute_what_the_serial_loop_computes() {
        assert_eq!(on_threads(3, 5_000), serially(3, 5_000));
    }

    #[test]
    fn the_table_has_a_row_per_mode_and_names_the_machine() {
        let row = |mode, millis| Row {
            mode,
            elapsed: Duration::from_millis(millis),
            checksum: 0,
        };
        let rows = [
            row(Mode::Serially, 800),
            row(Mode::OnThreads, 400),
            row(Mode::OnProcesses, 500),
        ];
        let machine = Machine::two_cores_on_a_fixed_day();
        let table = markdown_table(&rows, 4, 1_000, 3, &machine);
        assert!(table.contains("| 4 threads | 0.400 s | 2.00× |"), "{table}");
        assert!(
            table.contains("| 4 processes | 0.500 s | 1.60× |"),
            "{table}"
        );
        assert!(table.contains("measured on 2 cores, 2026-05-01"), "{table}");
    }
}
