//! `figures`: measures this machine and redraws the book's figures.
//!
//! Usage: `figures [--out DIR] [--quick]`. Without `--out` it writes into `book/src/figures/`,
//! where the book includes them. `--quick` shrinks every measurement, for a smoke test whose
//! numbers mean little. Run it in release mode (`cargo xtask book --figures` does), or the
//! timings measure the debug build's overhead instead of the work.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};

use figures::experiment;
use figures::false_sharing;
use figures::granularity;
use figures::machine::Machine;
use figures::plot::{self, SpeedupSeries};
use figures::speedup::Job;
use figures::timeline::{self, Scenario, Sizes};
use figures::workload::iterations_for;

struct Flags {
    out: PathBuf,
    quick: bool,
}

fn parse_flags() -> anyhow::Result<Flags> {
    let mut flags = Flags {
        out: Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("book/figures/ is inside book/")
            .join("src")
            .join("figures"),
        quick: false,
    };
    let mut arguments = std::env::args().skip(1);
    while let Some(argument) = arguments.next() {
        match argument.as_str() {
            "--out" => {
                flags.out = arguments
                    .next()
                    .context("--out needs a folder, for example --out target/figures")?
                    .into()
            }
            "--quick" => flags.quick = true,
            other => bail!("unknown argument {other:?}: the arguments are [--out DIR] [--quick]"),
        }
    }
    Ok(flags)
}

fn main() -> anyhow::Result<()> {
    experiment::serve_worker_if_asked();
    let flags = parse_flags()?;
    std::fs::create_dir_all(&flags.out)
        .with_context(|| format!("cannot create {}", flags.out.display()))?;
    let machine = Machine::current();
    let scale = if flags.quick { 0.02 } else { 1.0 };
    let repeats = if flags.quick { 1 } else { 5 };
    let work_for = |millis: f64| iterations_for(Duration::from_secs_f64(millis * scale / 1e3));
    let write = |name: &str, contents: String| -> anyhow::Result<()> {
        let path = flags.out.join(name);
        std::fs::write(&path, contents)
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("wrote {}", path.display());
        Ok(())
    };
    println!("measuring on this machine: {machine}");

    let threads = machine.cores.clamp(2, 4);
    let sizes = Sizes {
        threads,
        slices_per_thread: 6,
        slice_work: work_for(3.0),
        wait: Duration::from_secs_f64(9e-3 * scale),
    };
    let probed = machine.probed();
    let panels: Vec<_> = Scenario::ALL
        .iter()
        .map(|&scenario| (scenario, timeline::record(scenario, sizes)))
        .collect();
    write("timeline.svg", plot::timeline(&panels, threads, &probed)?)?;

    let max_workers = (2 * machine.cores).clamp(4, 8);
    let total_work = work_for(150.0);
    let job = |serial_fraction, global_lock| Job {
        total_work,
        serial_fraction,
        global_lock,
    };
    let probed = machine.probed();
    let series = vec![
        SpeedupSeries {
            label: "Rust threads, nothing serial".to_string(),
            amdahl_serial_fraction: Some(0.0),
            points: job(0.0, false).speedups(max_workers, repeats),
        },
        SpeedupSeries {
            label: "Rust threads, 30% serial".to_string(),
            amdahl_serial_fraction: Some(0.3),
            points: job(0.3, false).speedups(max_workers, repeats),
        },
        SpeedupSeries {
            label: "threads under one global lock, like the GIL".to_string(),
            amdahl_serial_fraction: None,
            points: job(0.0, true).speedups(max_workers, repeats),
        },
    ];
    write(
        "speedup.svg",
        plot::speedup(&series, machine.cores, &probed)?,
    )?;

    let increments = (10_000_000.0 * scale) as u64;
    let probed = machine.probed();
    let comparisons = false_sharing::compare(
        max_workers.min(false_sharing::MAX_THREADS),
        increments,
        repeats,
    );
    write(
        "false_sharing.svg",
        plot::false_sharing(&comparisons, increments, &probed)?,
    )?;

    if granularity::AVAILABLE {
        // Two million words: enough that the fast middle of the curve takes tens of milliseconds.
        let words = (2_000_000.0 * scale) as usize;
        let probed = machine.probed();
        // A cell lasts tens of milliseconds, where a neighbour's short burst can slow every run of
        // it; twice the usual repeats cost a few seconds and make an undisturbed run likelier.
        let granularity_repeats = 2 * repeats;
        let points = granularity::measure(words, machine.cores, granularity_repeats)?;
        write(
            "granularity.svg",
            plot::granularity(&points, words, machine.cores, &probed)?,
        )?;
        write(
            "granularity.md",
            granularity::markdown_table(
                &points,
                words,
                machine.cores,
                granularity_repeats,
                &probed,
            ),
        )?;
    } else {
        eprintln!("granularity.svg kept: this edition has no reference solution of 09 to time");
    }

    let program = std::env::current_exe().context("cannot find this program to start workers")?;
    let tasks = 4;
    let work = work_for(250.0);
    let probed = machine.probed();
    let rows = experiment::run(&program, tasks, work, repeats)?;
    write(
        "performance_experiment.md",
        experiment::markdown_table(&rows, tasks, work, repeats, &probed),
    )?;
    Ok(())
}
