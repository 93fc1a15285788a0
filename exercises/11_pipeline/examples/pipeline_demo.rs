//! Shows whether the stages overlap: ingest and parse each take 2 ms per line.
//!
//! Run it with `cargo run -p pipeline --example pipeline_demo`. Run one after another, 200 lines take
//! about 200 × (2 + 2) ms = 800 ms. As a pipeline, ingest reads line 2 while parse works on
//! line 1, and the whole run takes about 200 × 2 ms = 400 ms.

use std::time::{Duration, Instant};

const LINES: usize = 200;
const STAGE_DELAY: Duration = Duration::from_millis(2);

fn main() {
    let source = (0..LINES).map(|index| {
        std::thread::sleep(STAGE_DELAY);
        Ok(format!("sensor{}={}", index % 4, index))
    });
    let slow_parse = |line: &str| {
        std::thread::sleep(STAGE_DELAY);
        pipeline::parse_record(line)
    };
    let started = Instant::now();
    let totals = pipeline::run_pipeline(source, slow_parse, pipeline::add_record, 4);
    let elapsed = started.elapsed();
    let serial = STAGE_DELAY * 2 * LINES as u32;
    println!("totals: {totals:?}");
    println!(
        "took {:.0} ms; one stage after another would take about {:.0} ms, \
         overlapping stages about half that",
        elapsed.as_secs_f64() * 1000.0,
        serial.as_secs_f64() * 1000.0
    );
}
