//! Exercise 09's granularity curve: the reference solution's `count_by_key` counting the same
//! words in batches of one item up to a quarter of a million, on one thread and on every core.
//!
//! The figure measures the solution, not a copy of it, so the curve in the chapter is the curve
//! of the code the grader holds learners to.

use std::time::Duration;
#[cfg(reference_solution)]
use std::time::Instant;

// The reference solution's own file, compiled in when the checkout has it (build.rs sets the
// cfg). A path dependency instead would stop the whole workspace from loading in the student
// edition, which has no solutions/.
#[cfg(reference_solution)]
#[allow(dead_code)] // the figure uses two of its functions
#[path = "../../../solutions/09_map_reduce/src/lib.rs"]
mod map_reduce_solution;
#[cfg(reference_solution)]
use map_reduce_solution::{count_by_key, generate_corpus};

/// Whether this build holds the reference solution the curve times. The student edition does
/// not, and keeps the committed curve.
pub const AVAILABLE: bool = cfg!(reference_solution);

#[cfg(reference_solution)]
use crate::workload::fastest_interleaved;

/// The batch sizes measured: every power of four from 1 to 4 194 304, so that the points sit
/// evenly on a logarithmic axis and cover too fine, about right and too coarse. The figure counts
/// two million words, so the last sizes leave fewer batches than cores, down to a single one.
pub const BATCH_SIZES: [usize; 12] = [
    1, 4, 16, 64, 256, 1_024, 4_096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304,
];

#[cfg(reference_solution)]
/// The corpus's seed, fixed so that every run counts the same text.
const SEED: u64 = 2024;

/// The fastest count at one batch size on one thread and on `cores` threads.
#[derive(Debug, Clone, Copy)]
pub struct Point {
    pub batch_size: usize,
    pub one_thread: Duration,
    pub all_cores: Duration,
}

impl Point {
    /// How many times faster every core counted than one thread did.
    pub fn speedup(&self) -> f64 {
        self.one_thread.as_secs_f64() / self.all_cores.as_secs_f64()
    }
}

/// Without the reference solution there is nothing to time (see [`AVAILABLE`]).
#[cfg(not(reference_solution))]
pub fn measure(_words: usize, _cores: usize, _repeats: usize) -> anyhow::Result<Vec<Point>> {
    anyhow::bail!(
        "the granularity curve times the reference solution of 09, and this checkout has no \
         solutions/09_map_reduce; the committed curve stays"
    )
}

/// Counts `words` generated words at every batch size in [`BATCH_SIZES`], on a rayon pool of 1
/// thread and on one of `cores` threads, interleaved, keeping the fastest of `repeats` each.
#[cfg(reference_solution)]
pub fn measure(words: usize, cores: usize, repeats: usize) -> anyhow::Result<Vec<Point>> {
    let text = generate_corpus(words, SEED);
    let words: Vec<&str> = text.split(' ').collect();
    let pool = |threads| rayon::ThreadPoolBuilder::new().num_threads(threads).build();
    let pools = [pool(1)?, pool(cores)?];
    BATCH_SIZES
        .iter()
        .map(|&batch_size| {
            let fastest = fastest_interleaved(pools.len(), repeats, |pool| {
                let started = Instant::now();
                let counts = pools[pool].install(|| count_by_key(&words, batch_size, |word| *word));
                let elapsed = started.elapsed();
                let counted: u64 = counts.values().sum();
                anyhow::ensure!(
                    counted == words.len() as u64,
                    "batches of {batch_size} counted {counted} of {} words",
                    words.len()
                );
                Ok(elapsed)
            })?;
            Ok(Point {
                batch_size,
                one_thread: fastest[0],
                all_cores: fastest[1],
            })
        })
        .collect()
}

/// The measurements as a Markdown table, for the chapter to show the numbers behind the curve.
pub fn markdown_table(
    points: &[Point],
    words: usize,
    cores: usize,
    repeats: usize,
    machine: &crate::machine::Machine,
) -> String {
    // A speedup against one thread at the same batch size hides how slow a bad batch size is:
    // the last column compares with the fastest serial run of any batch size.
    let best_serial = points
        .iter()
        .map(|point| point.one_thread)
        .min()
        .unwrap_or_default();
    let mut table = format!(
        "| batch size | batches | 1 thread | {cores} threads | speedup | vs the best serial time |\n\
         | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    );
    for point in points {
        table.push_str(&format!(
            "| {} | {} | {:.1} ms | {:.1} ms | {:.2}× | {:.2}× |\n",
            point.batch_size,
            words.div_ceil(point.batch_size),
            point.one_thread.as_secs_f64() * 1e3,
            point.all_cores.as_secs_f64() * 1e3,
            point.speedup(),
            best_serial.as_secs_f64() / point.all_cores.as_secs_f64()
        ));
    }
    table.push_str(&format!(
        "\n`count_by_key` from the reference solution over {words} words, best of {repeats} runs \
         per cell; {machine}.\n"
    ));
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    // Without the reference solution (the student edition) there is nothing to measure.
    #[cfg(reference_solution)]
    #[test]
    fn every_batch_size_is_measured_on_both_pools() {
        let points = measure(2_000, 2, 1).expect("counting a small corpus works");
        let sizes: Vec<usize> = points.iter().map(|point| point.batch_size).collect();
        assert_eq!(sizes, BATCH_SIZES, "one point per batch size, in order");
    }

    #[test]
    fn the_table_has_a_row_per_point_and_names_the_machine() {
        let point = Point {
            batch_size: 4_096,
            one_thread: Duration::from_millis(40),
            all_cores: Duration::from_millis(20),
        };
        let machine = crate::machine::Machine::two_cores_on_a_fixed_day();
        let table = markdown_table(&[point], 10_000, 2, 3, &machine);
        assert!(
            table.contains("| 4096 | 3 | 40.0 ms | 20.0 ms | 2.00× | 2.00× |"),
            "the row shows the batch size, the batch count, both times and both ratios:\n{table}"
        );
        assert!(
            table.contains("measured on 2 cores, 2026-05-01"),
            "the table names the machine and day:\n{table}"
        );
    }
}
