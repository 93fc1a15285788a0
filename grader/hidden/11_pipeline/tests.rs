//! Hidden tests of exercise 11: run_pipeline with injected slow and failing stages.
//!
//! The pipeline runs on real threads and crossbeam channels, which the model checker cannot
//! see into, so these tests drive it with stages of their own: sources that count how far
//! ingest has read, stages that wait or fail on a chosen item. A pipeline that hangs is
//! stopped by the grader's deadline and diagnosed; it never passes. Every bound the tests
//! assert is a hard limit of a correct pipeline, so no verdict depends on the machine's speed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use pipeline::{add_record, parse_record, PipelineError, Record, Stage, Totals};

/// How long a stage waits for something a running pipeline does within microseconds. It only
/// bounds how long a pipeline that never does it is waited for, and is generous so that a
/// loaded CI machine never fails a correct pipeline.
const PATIENCE: Duration = Duration::from_secs(5);

/// How long the aggregate stage stalls at most in the back-pressure test, so that a pipeline
/// without back-pressure has time to show how far ingest runs ahead. A correct pipeline always
/// stalls this long, and passes whatever the machine's speed.
const STALL: Duration = Duration::from_secs(1);

/// A source long enough that reading all of it after a failure is obviously wasted work.
const LONG_SOURCE: usize = 100_000;

/// The line at position `item`: seven keys, and the item's position as its value, so a record
/// tells which item it came from.
fn line(item: usize) -> String {
    format!("key{}={item}", item % 7)
}

fn serial_totals(items: usize) -> Totals {
    let mut totals = Totals::new();
    for item in 0..items {
        add_record(&mut totals, parse_record(&line(item)).unwrap()).unwrap();
    }
    totals
}

/// Polls `condition` until it holds or `patience` runs out; says whether it held.
fn wait_until(patience: Duration, condition: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + patience;
    while !condition() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    true
}

/// A source of `items` lines that counts, in `produced`, how many ingest has pulled.
fn counted_source(
    items: usize,
    produced: &AtomicUsize,
) -> impl Iterator<Item = Result<String, String>> + Send + '_ {
    (0..items).map(move |item| {
        produced.fetch_add(1, Ordering::SeqCst);
        Ok(line(item))
    })
}

/// Runs the pipeline on `items` lines with the given parse stage and an aggregate stage that
/// records the order it sees items in, and checks totals and order against a serial fold.
fn assert_matches_serial_fold(
    what: &str,
    source: impl Iterator<Item = Result<String, String>> + Send,
    items: usize,
    parse: impl FnMut(&str) -> Result<Record, String> + Send,
    capacity: usize,
) {
    let mut order = Vec::new();
    let outcome = pipeline::run_pipeline(
        source,
        parse,
        |totals: &mut Totals, record: Record| {
            order.push(record.value as usize);
            add_record(totals, record)
        },
        capacity,
    );
    let totals = outcome.unwrap_or_else(|error| {
        panic!("{what}: run_pipeline failed with `{error}`, but every line was valid")
    });
    assert!(
        order.len() == items,
        "{what}: the aggregate stage saw {} of {items} records. A channel that is empty for a \
         moment (because the stage before it is slow) does not mean the input has ended; only \
         a closed channel does. Receive with a blocking `recv()` (or `for item in receiver`), \
         which waits, and ends only once every sender is dropped",
        order.len()
    );
    let first_out_of_order = order.iter().enumerate().find(|(at, item)| *at != **item);
    if let Some((at, item)) = first_out_of_order {
        panic!(
            "{what}: the aggregate stage saw item {item} in position {at}; with one thread per \
             stage and FIFO channels, records must arrive in source order, each exactly once"
        );
    }
    assert!(
        totals == serial_totals(items),
        "{what}: the totals differ from a serial fold of the same {items} lines"
    );
}

fn pipeline_totals_match_a_serial_fold() {
    const ITEMS: usize = 1_000;
    for capacity in [0, 1, 4, 64] {
        assert_matches_serial_fold(
            &format!("{ITEMS} lines through channels of capacity {capacity}"),
            (0..ITEMS).map(|item| Ok(line(item))),
            ITEMS,
            parse_record,
            capacity,
        );
    }
    let lines = (0..10).map(line).collect();
    let summed = pipeline::sum_by_key(lines, 2);
    assert!(
        summed.as_ref() == Ok(&serial_totals(10)),
        "sum_by_key over 10 lines returned {summed:?}, not the serial totals {:?}",
        serial_totals(10)
    );
}

/// Ingest may read item 1 only once item 0 has reached the aggregate stage. Stages running
/// on threads of their own get there at once; stages run one after another never do.
fn stages_run_at_the_same_time() {
    let aggregated = AtomicUsize::new(0);
    let waited_in_vain = AtomicUsize::new(0);
    let source = (0..2).map(|item| {
        if item == 1 && !wait_until(PATIENCE, || aggregated.load(Ordering::SeqCst) >= 1) {
            waited_in_vain.fetch_add(1, Ordering::SeqCst);
        }
        Ok(line(item))
    });
    let aggregate = |totals: &mut Totals, record: Record| {
        aggregated.fetch_add(1, Ordering::SeqCst);
        add_record(totals, record)
    };
    let outcome = pipeline::run_pipeline(source, parse_record, aggregate, 4);
    assert!(
        waited_in_vain.load(Ordering::SeqCst) == 0,
        "before reading item 1, ingest waited {PATIENCE:?} for item 0 to reach the aggregate \
         stage, and it never did: the stages ran one after another. Give every stage a thread \
         of its own, joined by channels, so item 0 is aggregated while item 1 is being read"
    );
    assert!(
        outcome.as_ref() == Ok(&serial_totals(2)),
        "two valid lines gave {outcome:?}, not {:?}",
        serial_totals(2)
    );
}

/// The aggregate stage stalls on its first record. A bounded pipeline fills its channels and
/// ingest waits; an unbounded one lets ingest read on and on.
fn back_pressure_bounds_items_in_flight() {
    const ITEMS: usize = 2_000;
    const CAPACITY: usize = 2;
    // Two channels full, one item in parse's hands and one in ingest's, and one for the race
    // between the two counters below.
    const BOUND: usize = 2 * CAPACITY + 3;
    let produced = AtomicUsize::new(0);
    let entered_aggregate = AtomicUsize::new(0);
    let most_in_flight = AtomicUsize::new(0);
    let source = (0..ITEMS).map(|item| {
        let produced = produced.fetch_add(1, Ordering::SeqCst) + 1;
        let in_flight = produced - entered_aggregate.load(Ordering::SeqCst);
        most_in_flight.fetch_max(in_flight, Ordering::SeqCst);
        Ok(line(item))
    });
    let aggregate = |totals: &mut Totals, record: Record| {
        if entered_aggregate.fetch_add(1, Ordering::SeqCst) == 0 {
            // Stall until ingest has clearly run ahead, or long enough to be sure it cannot.
            wait_until(STALL, || produced.load(Ordering::SeqCst) > 20 * BOUND);
        }
        add_record(totals, record)
    };
    let outcome = pipeline::run_pipeline(source, parse_record, aggregate, CAPACITY);
    let most_in_flight = most_in_flight.load(Ordering::SeqCst);
    assert!(
        most_in_flight <= BOUND,
        "while the aggregate stage was busy, ingest read {most_in_flight} items ahead of it; \
         with channels of capacity {CAPACITY} at most 2 × {CAPACITY} + 2 can be in flight. \
         An unbounded channel (or a Vec) lets a fast stage run arbitrarily far ahead of a slow \
         one and fill memory: use crossbeam_channel::bounded(capacity), whose full channel \
         makes the sender wait"
    );
    assert!(
        outcome.as_ref() == Ok(&serial_totals(ITEMS)),
        "the totals of {ITEMS} valid lines differ from a serial fold: {:?}",
        outcome.err()
    );
}

fn slow_stages_lose_no_record() {
    const ITEMS: usize = 60;
    let pause = || std::thread::sleep(Duration::from_millis(1));
    assert_matches_serial_fold(
        "with a slow source (1 ms a line)",
        (0..ITEMS).map(move |item| {
            pause();
            Ok(line(item))
        }),
        ITEMS,
        parse_record,
        2,
    );
    assert_matches_serial_fold(
        "with a slow parse stage (1 ms a line)",
        (0..ITEMS).map(|item| Ok(line(item))),
        ITEMS,
        move |text: &str| {
            pause();
            parse_record(text)
        },
        2,
    );
}

fn failing_source_is_reported() {
    const FAILING_SOURCE_ITEM: usize = 3;
    let source = (0..10).map(|item| match item {
        FAILING_SOURCE_ITEM => {
            Err("the disk returned an I/O error (injected by the test)".to_owned())
        }
        _ => Ok(line(item)),
    });
    let outcome = pipeline::run_pipeline(source, parse_record, add_record, 2);
    let expected = PipelineError {
        stage: Stage::Ingest,
        item: FAILING_SOURCE_ITEM,
        message: "the disk returned an I/O error (injected by the test)".to_owned(),
    };
    assert!(
        outcome.as_ref() == Err(&expected),
        "the source failed on item {FAILING_SOURCE_ITEM}, so run_pipeline must return \
         Err({expected:?}), but it returned {outcome:?}. An error of the ingest stage must \
         reach the caller; closing the channel alone makes the failure look like the end of \
         the input"
    );
}

/// Checks that a pipeline in which `failing_stage` failed on `FAILING_ITEM` returned its error
/// and that ingest stopped reading soon after.
fn assert_failure_stopped_ingest(
    failing_stage: Stage,
    outcome: Result<Totals, PipelineError>,
    produced: usize,
    bound: usize,
) {
    let expected = PipelineError {
        stage: failing_stage,
        item: FAILING_ITEM,
        message: INJECTED_FAILURE.to_owned(),
    };
    assert!(
        outcome.as_ref() == Err(&expected),
        "the {failing_stage:?} stage failed on item {FAILING_ITEM}, so run_pipeline must return \
         Err({expected:?}), but it returned {outcome:?}. Report the stage that failed: the \
         stages before it only saw their channel close, which is a consequence, not a cause"
    );
    assert!(
        produced <= bound,
        "after the {failing_stage:?} stage failed on item {FAILING_ITEM}, ingest went on to read \
         {produced} items of {LONG_SOURCE}; a pipeline that stops has read at most {bound} by then. \
         A stage whose `send` fails must stop: the stage after it has gone, and everything it \
         reads from now on is wasted, or blocks forever"
    );
}

const FAILING_ITEM: usize = 5;
const INJECTED_FAILURE: &str = "this item is broken (injected by the test)";
const FAILURE_CAPACITY: usize = 4;

fn failing_parse_stops_every_stage() {
    let produced = AtomicUsize::new(0);
    let mut parsed = 0;
    let parse = |text: &str| {
        parsed += 1;
        if parsed - 1 == FAILING_ITEM {
            return Err(INJECTED_FAILURE.to_owned());
        }
        parse_record(text)
    };
    let outcome = pipeline::run_pipeline(
        counted_source(LONG_SOURCE, &produced),
        parse,
        add_record,
        FAILURE_CAPACITY,
    );
    // The failing item, a full channel before parse, and one more in ingest's hands.
    let bound = FAILING_ITEM + 1 + FAILURE_CAPACITY + 1;
    assert_failure_stopped_ingest(
        Stage::Parse,
        outcome,
        produced.load(Ordering::SeqCst),
        bound,
    );
}

fn failing_aggregate_stops_every_stage() {
    let produced = AtomicUsize::new(0);
    let mut aggregated = 0;
    let aggregate = |totals: &mut Totals, record: Record| {
        aggregated += 1;
        if aggregated - 1 == FAILING_ITEM {
            return Err(INJECTED_FAILURE.to_owned());
        }
        add_record(totals, record)
    };
    let outcome = pipeline::run_pipeline(
        counted_source(LONG_SOURCE, &produced),
        parse_record,
        aggregate,
        FAILURE_CAPACITY,
    );
    // The failing item, two full channels, and one item each in parse's and ingest's hands.
    let bound = FAILING_ITEM + 1 + 2 * FAILURE_CAPACITY + 2;
    assert_failure_stopped_ingest(
        Stage::Aggregate,
        outcome,
        produced.load(Ordering::SeqCst),
        bound,
    );
}

/// A stage that holds its item back until every other thread of the pipeline is asleep with
/// nothing left to wake it (seen from /proc by the watcher, not timed). `PATIENCE` lets it go
/// on anyway for a pipeline whose stages poll with a timeout, so such a pipeline is not failed
/// by the wait itself.
struct HoldUntilStuck {
    watcher: &'static harness::rendezvous::Rendezvous,
    released: Mutex<bool>,
    release: Condvar,
}

impl HoldUntilStuck {
    fn new() -> Self {
        HoldUntilStuck {
            watcher: harness::rendezvous::Rendezvous::new(u32::MAX),
            released: Mutex::new(false),
            release: Condvar::new(),
        }
    }

    /// Called by the stage: waits until the watcher lets it go.
    fn hold(&self) {
        self.watcher.unwatched(|| {
            let released = self.released.lock().unwrap();
            let _released = self
                .release
                .wait_timeout_while(released, PATIENCE, |released| !*released)
                .unwrap();
        });
    }

    /// Runs the pipeline while the watcher looks for the moment everyone else is asleep.
    fn watch<R>(&self, pipeline: impl FnOnce() -> R) -> R {
        self.watcher.watch(
            || {
                *self.released.lock().unwrap() = true;
                self.release.notify_all();
            },
            pipeline,
        )
    }
}

/// The source holds item 1 back until every other thread of the pipeline is asleep with
/// nothing left to wake it (seen from /proc, not timed): a stage that is still waiting for
/// input. A stage that takes a pause in the input for its end (a `recv_timeout` read as "no
/// more lines") has ended by then, and item 1 is lost.
fn a_slow_source_is_not_the_end_of_input() {
    let hold = HoldUntilStuck::new();
    let source = (0..3).map(|item| {
        if item == 1 {
            hold.hold();
        }
        Ok(line(item))
    });
    let outcome = hold.watch(|| pipeline::run_pipeline(source, parse_record, add_record, 2));
    assert!(
        outcome.as_ref() == Ok(&serial_totals(3)),
        "the source paused before item 1 until every stage was waiting, then gave items 1 and \
         2, but run_pipeline returned {outcome:?} instead of Ok({:?}): a pause in the input \
         was taken for its end. Only a closed channel ends the input: receive without a \
         timeout (for line in receiver), however long the source takes",
        serial_totals(3)
    );
}

/// The source fails on item 3 after ingest has sent items 0 to 2. Parse holds item 0 until
/// every other thread of the pipeline is asleep with nothing left to wake it (seen from /proc,
/// not timed), which is once ingest has failed and ended. Items 1 and 2 are then still in the
/// channel: the stages downstream of the failure must drain them and end, not drop them.
fn downstream_stages_drain_after_a_failure() {
    const FAILING_SOURCE_ITEM: usize = 3;
    const FAILURE: &str = "the source broke on item 3 (injected by the test)";
    let hold = HoldUntilStuck::new();
    let source = (0..=FAILING_SOURCE_ITEM).map(|item| match item {
        FAILING_SOURCE_ITEM => Err(FAILURE.to_owned()),
        _ => Ok(line(item)),
    });
    let mut parsed = 0;
    let parse = |text: &str| {
        if parsed == 0 {
            hold.hold();
        }
        parsed += 1;
        parse_record(text)
    };
    let mut aggregated = Vec::new();
    let aggregate = |totals: &mut Totals, record: Record| {
        aggregated.push(record.value as usize);
        add_record(totals, record)
    };
    let outcome = hold.watch(|| pipeline::run_pipeline(source, parse, aggregate, 2));
    let expected = PipelineError {
        stage: Stage::Ingest,
        item: FAILING_SOURCE_ITEM,
        message: FAILURE.to_owned(),
    };
    assert!(
        outcome.as_ref() == Err(&expected),
        "the source failed on item {FAILING_SOURCE_ITEM}, so run_pipeline must return \
         Err({expected:?}), but it returned {outcome:?}"
    );
    assert!(
        parsed == FAILING_SOURCE_ITEM && aggregated == [0, 1, 2],
        "ingest sent items 0 to 2 before the source failed on item {FAILING_SOURCE_ITEM}, but \
         parse ran {parsed} times and aggregate saw items {aggregated:?}, not [0, 1, 2]. The \
         stages after a failure drain what is already in their channel and end when it is \
         empty and closed; only the stages before it stop reading"
    );
}

/// Parse fails on item 1 after aggregate has already failed on item 0: both stages fail in
/// every schedule, and parse, the earlier of the two, is the one reported.
fn the_earliest_failing_stage_is_reported() {
    let parse = |text: &str| {
        let record = parse_record(text)?;
        if record.value == 1 {
            return Err("parse failed on item 1 (injected by the test)".to_owned());
        }
        Ok(record)
    };
    let aggregate = |_: &mut Totals, _: Record| -> Result<(), String> {
        Err("aggregate failed on item 0 (injected by the test)".to_owned())
    };
    let outcome = pipeline::run_pipeline((0..4).map(|item| Ok(line(item))), parse, aggregate, 2);
    let expected = PipelineError {
        stage: Stage::Parse,
        item: 1,
        message: "parse failed on item 1 (injected by the test)".to_owned(),
    };
    assert!(
        outcome.as_ref() == Err(&expected),
        "aggregate failed on item 0 and parse on item 1, so run_pipeline must return \
         Err({expected:?}), the earliest stage in the pipeline, but it returned {outcome:?}. \
         Join every stage, then report ingest's error first, then parse's, then aggregate's"
    );
}

/// A stage that panics must not be turned into a result: the caller gets the panic, once the
/// other stages have stopped.
fn a_panic_in_a_stage_reaches_the_caller() {
    const DELIBERATE: &str =
        "parse panicked on item 1 on purpose (expected by the test: it must reach the caller)";
    let parse = |text: &str| {
        let record = parse_record(text)?;
        if record.value == 1 {
            panic!("{DELIBERATE}");
        }
        Ok(record)
    };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pipeline::run_pipeline((0..4).map(|item| Ok(line(item))), parse, add_record, 2)
    }));
    match outcome {
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("");
            assert!(
                message == DELIBERATE,
                "the parse stage panicked with `{DELIBERATE}`, but the caller got a panic \
                 saying `{message}`: pass the stage's own panic on (std::panic::resume_unwind \
                 of what join returned)"
            );
        }
        Ok(result) => panic!(
            "the parse stage panicked on item 1, but run_pipeline returned {result:?}: a panic \
             in a stage must reach the caller (std::panic::resume_unwind of what join \
             returned), not be dropped or turned into a value"
        ),
    }
}

harness::hidden_tests![
    pipeline_totals_match_a_serial_fold,
    stages_run_at_the_same_time,
    back_pressure_bounds_items_in_flight,
    slow_stages_lose_no_record,
    failing_source_is_reported,
    failing_parse_stops_every_stage,
    failing_aggregate_stops_every_stage,
    a_slow_source_is_not_the_end_of_input,
    downstream_stages_drain_after_a_failure,
    the_earliest_failing_stage_is_reported,
    a_panic_in_a_stage_reaches_the_caller,
];
