//! # Exercise 11: a pipeline of stages
//!
//! Data often flows through stages: read a line (ingest), turn it into a record (parse), fold
//! the record into a result (aggregate). Run one after another, each stage waits for the
//! previous one to finish *everything*, and every item sits in memory in between. Run as a
//! pipeline, each stage has a thread of its own and hands items to the next through a queue,
//! so all three work at once and items stream through.
//!
//! [`run_pipeline`] below is correct but not a pipeline: it reads the whole source into a
//! `Vec`, then parses all of it, then aggregates. Make it one. Your tasks, marked `TODO`:
//!
//! 1. Give each stage a thread of its own (`std::thread::scope`), joined by
//!    `crossbeam_channel::bounded(capacity)` channels, so that stages run at the same time and
//!    a slow stage makes the faster ones wait instead of piling up items (back-pressure).
//! 2. Shut down by closing channels: a stage that is done drops its `Sender`, and the stage
//!    after it finishes once its channel is empty *and* closed.
//! 3. When a stage fails, stop the others: the stages after it drain and end, the ones before
//!    it notice that their `send` fails and stop reading. Report the failing stage's error,
//!    not the closed channels it caused.
//!
//! This exercise uses real threads and crossbeam, not `crate::sync` (the model checker cannot
//! see inside crossbeam channels), so import `std::thread` and `crossbeam_channel` directly.
//! `src/sync.rs` is there only because every crate of the course has one.
//!
//! Check your work with `cargo xtask check 11`; see the stages overlap (or not) with
//! `cargo run -p pipeline --example pipeline_demo`.

use std::collections::BTreeMap;
use std::fmt;

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

// ANCHOR: sequential_stages
/// Feeds every item of `source` through `parse` and then `aggregate`, starting from empty
/// [`Totals`], with each stage on a thread of its own and `bounded(capacity)` channels
/// between them. Returns the totals, or the error of the first stage (in pipeline order)
/// that failed, naming the item it failed on. The stages may borrow from the caller.
pub fn run_pipeline<I, P, A>(
    source: I,
    mut parse: P,
    mut aggregate: A,
    capacity: usize,
) -> Result<Totals, PipelineError>
where
    I: IntoIterator<Item = Result<String, String>>,
    I::IntoIter: Send,
    P: FnMut(&str) -> Result<Record, String> + Send,
    A: FnMut(&mut Totals, Record) -> Result<(), String> + Send,
{
    // TODO: make the three loops below three threads joined by two bounded channels of
    // `capacity` items. Send `(item, line)` and `(item, record)` pairs so each stage knows the
    // position of what it works on. Today the first loop reads the *whole* source before
    // anything is parsed: nothing overlaps, and a long source fills memory.
    let _ = capacity;
    let mut lines = Vec::new();
    for (item, line) in source.into_iter().enumerate() {
        let line = line.map_err(PipelineError::from_stage(Stage::Ingest, item))?;
        lines.push(line);
    }

    let mut records = Vec::new();
    for (item, line) in lines.iter().enumerate() {
        let record = parse(line).map_err(PipelineError::from_stage(Stage::Parse, item))?;
        records.push(record);
    }

    // TODO: on threads, end this loop when the channel is closed, not when it is merely empty
    // for a moment: a slow parse stage leaves it empty long before the input ends.
    let mut totals = Totals::new();
    for (item, record) in records.into_iter().enumerate() {
        aggregate(&mut totals, record)
            .map_err(PipelineError::from_stage(Stage::Aggregate, item))?;
    }
    Ok(totals)
}
// ANCHOR_END: sequential_stages

/// Sums the values of `key=value` lines per key, through the pipeline.
pub fn sum_by_key(lines: Vec<String>, capacity: usize) -> Result<Totals, PipelineError> {
    run_pipeline(
        lines.into_iter().map(Ok),
        parse_record,
        add_record,
        capacity,
    )
}
