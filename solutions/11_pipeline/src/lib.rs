//! Reference solution of exercise 11: a pipeline of stages.
//!
//! This exercise runs on real threads and crossbeam channels, not through `crate::sync`: the
//! model checker cannot see inside crossbeam, so the grader tests it with injected failing and
//! slow stages instead. `src/sync.rs` is present only because every crate of the course has it.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::panic;
use std::thread;

use crossbeam_channel::{Receiver, Sender};

/// The sum of the values of every key.
pub type Totals = BTreeMap<String, i64>;

/// One parsed line: `key=value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub key: String,
    pub value: i64,
}

/// The three stages, in pipeline order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Ingest,
    Parse,
    Aggregate,
}

/// Why a pipeline stopped: which stage failed, on which item of the source, and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineError {
    pub stage: Stage,
    /// Position of the failing item in the source, counting from 0.
    pub item: usize,
    pub message: String,
}

impl fmt::Display for PipelineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the {:?} stage failed on item {}: {}",
            self.stage, self.item, self.message
        )
    }
}

impl std::error::Error for PipelineError {}

impl PipelineError {
    /// Turns a stage's message about item `item` into the pipeline's error, for `map_err`.
    fn from_stage(stage: Stage, item: usize) -> impl FnOnce(String) -> PipelineError {
        move |message| PipelineError {
            stage,
            item,
            message,
        }
    }
}

/// Parses `key=value`, where the value is a whole number.
pub fn parse_record(line: &str) -> Result<Record, String> {
    let (key, value) = line
        .split_once('=')
        .ok_or_else(|| format!("`{line}` has no `=`; records are written key=value"))?;
    let key = key.trim();
    if key.is_empty() {
        return Err(format!("`{line}` has an empty key"));
    }
    let value = value
        .trim()
        .parse::<i64>()
        .map_err(|error| format!("`{}` is not a whole number: {error}", value.trim()))?;
    Ok(Record {
        key: key.to_owned(),
        value,
    })
}

/// Adds `record.value` to the total of `record.key`, failing instead of overflowing.
pub fn add_record(totals: &mut Totals, record: Record) -> Result<(), String> {
    let total = totals.entry(record.key).or_insert(0);
    *total = total
        .checked_add(record.value)
        .ok_or_else(|| format!("adding {} to {} overflows an i64", record.value, *total))?;
    Ok(())
}

// ANCHOR: run_pipeline
/// Runs ingest, parse and aggregate on three threads joined by bounded channels.
pub fn run_pipeline<I, P, A>(
    source: I,
    parse: P,
    aggregate: A,
    capacity: usize,
) -> Result<Totals, PipelineError>
where
    I: IntoIterator<Item = Result<String, String>>,
    I::IntoIter: Send,
    P: FnMut(&str) -> Result<Record, String> + Send,
    A: FnMut(&mut Totals, Record) -> Result<(), String> + Send,
{
    // Bounded channels are the back-pressure: when parse or aggregate falls behind, the
    // channel before it fills up and the stage feeding it waits instead of piling up items.
    let (line_sender, line_receiver) = crossbeam_channel::bounded(capacity);
    let (record_sender, record_receiver) = crossbeam_channel::bounded(capacity);
    let source = source.into_iter();
    // A scope lets the stages borrow from the caller, and guarantees that every stage thread
    // has ended before `run_pipeline` returns, whatever happened.
    thread::scope(|scope| {
        let ingest = scope.spawn(move || ingest_stage(source, line_sender));
        let parse = scope.spawn(move || parse_stage(line_receiver, parse, record_sender));
        let aggregate = scope.spawn(move || aggregate_stage(record_receiver, aggregate));
        // Join all three before looking at any result, so that the first stage's error is
        // reported even when a later stage ends first.
        let ingest = ingest.join();
        let parse = parse.join();
        let aggregate = aggregate.join();
        ingest.unwrap_or_else(rethrow)?;
        parse.unwrap_or_else(rethrow)?;
        aggregate.unwrap_or_else(rethrow)
    })
}
// ANCHOR_END: run_pipeline

/// Re-raises a stage's panic in the caller, with its original message.
fn rethrow<T>(payload: Box<dyn Any + Send>) -> T {
    panic::resume_unwind(payload)
}

// ANCHOR: stages
fn ingest_stage(
    source: impl Iterator<Item = Result<String, String>>,
    lines: Sender<(usize, String)>,
) -> Result<(), PipelineError> {
    for (item, line) in source.enumerate() {
        let line = line.map_err(PipelineError::from_stage(Stage::Ingest, item))?;
        if lines.send((item, line)).is_err() {
            // Parse hung up: it failed, or aggregate did and parse passed the hang-up on.
            // The failing stage reports why; reading more input would be wasted work.
            return Ok(());
        }
    }
    // Returning drops `lines`, which closes the channel: that is how parse learns the input
    // has ended, after it has received everything already sent.
    Ok(())
}

fn parse_stage(
    lines: Receiver<(usize, String)>,
    mut parse: impl FnMut(&str) -> Result<Record, String>,
    records: Sender<(usize, Record)>,
) -> Result<(), PipelineError> {
    // The loop waits while the channel is empty and ends once it is empty *and* closed.
    for (item, line) in lines {
        let record = parse(&line).map_err(PipelineError::from_stage(Stage::Parse, item))?;
        if records.send((item, record)).is_err() {
            // Aggregate failed and hung up; stop, and by dropping `lines` tell ingest too.
            return Ok(());
        }
    }
    Ok(())
}

fn aggregate_stage(
    records: Receiver<(usize, Record)>,
    mut aggregate: impl FnMut(&mut Totals, Record) -> Result<(), String>,
) -> Result<Totals, PipelineError> {
    let mut totals = Totals::new();
    for (item, record) in records {
        aggregate(&mut totals, record)
            .map_err(PipelineError::from_stage(Stage::Aggregate, item))?;
    }
    Ok(totals)
}
// ANCHOR_END: stages

/// Sums the values of `key=value` lines per key, through the pipeline.
pub fn sum_by_key(lines: Vec<String>, capacity: usize) -> Result<Totals, PipelineError> {
    run_pipeline(
        lines.into_iter().map(Ok),
        parse_record,
        add_record,
        capacity,
    )
}
