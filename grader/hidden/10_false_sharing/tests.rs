//! Hidden tests of exercise 10: PerThreadCounters and count_per_thread.
//!
//! The layout is checked from the slots' addresses, which needs no clock. The timed test uses
//! the course's speedup timer (harness::timing): with the total number of increments fixed,
//! one thread against `p` threads on the learner's counters, calibrated against the grader's
//! reference kernel in the same run, so a machine that cannot show a speedup (one core, busy,
//! two virtual CPUs on one physical core) gives `inconclusive`, never `fail`.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;
use harness::rendezvous::Rendezvous;

/// The cache-line size the layout test holds slots to. Lines are 64 bytes on every machine
/// this course runs on; `CachePadded` uses 128 on x86-64, which also satisfies this.
const CACHE_LINE: usize = 64;

fn slot_address(counters: &false_sharing::PerThreadCounters, index: usize) -> usize {
    std::ptr::from_ref(counters.slot(index)) as usize
}

/// Slots at least a line apart never share one, wherever the allocator put the first: the
/// distance, unlike the line numbers, does not depend on where the vector starts.
fn slots_sit_in_separate_cache_lines() {
    for slots in [2, 3, 4, 7] {
        let counters = false_sharing::PerThreadCounters::new(slots);
        let addresses: Vec<usize> = (0..slots)
            .map(|index| slot_address(&counters, index))
            .collect();
        for first in 0..slots {
            for second in first + 1..slots {
                let (a, b) = (addresses[first], addresses[second]);
                assert!(
                    a.abs_diff(b) >= CACHE_LINE,
                    "with {slots} slots, slots {first} and {second} are {} bytes apart (addresses \
                     {a:#x} and {b:#x}), closer than a {CACHE_LINE}-byte cache line, so they can \
                     share one: two threads writing them take the line from each other on every \
                     increment. Give every slot a line of its own, for example with \
                     crossbeam_utils::CachePadded",
                    a.abs_diff(b)
                );
            }
        }
    }
    let counters = false_sharing::PerThreadCounters::new(2);
    let spacing = slot_address(&counters, 1).abs_diff(slot_address(&counters, 0));
    harness::note(format!("your slots are {spacing} bytes apart"));
}

fn new_makes_zeroed_slots() {
    for slots in [0, 1, 5] {
        let counters = false_sharing::PerThreadCounters::new(slots);
        assert!(
            counters.len() == slots,
            "PerThreadCounters::new({slots}).len() is {}: new(n) must make exactly n slots",
            counters.len()
        );
        assert!(
            counters.is_empty() == (slots == 0),
            "PerThreadCounters::new({slots}).is_empty() is {}",
            counters.is_empty()
        );
        for index in 0..slots {
            let value = counters.slot(index).load(Ordering::Relaxed);
            assert!(
                value == 0,
                "slot {index} of a new PerThreadCounters holds {value}, not 0"
            );
        }
        assert!(
            counters.total() == 0,
            "a new PerThreadCounters has a total of {}, not 0",
            counters.total()
        );
    }
    // Last, and never with 0 slots: a panic the test expects must not be the first one a
    // failing verdict reports.
    for slots in [1, 5] {
        let counters = false_sharing::PerThreadCounters::new(slots);
        let past_the_end = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            counters.slot(slots).load(Ordering::Relaxed)
        }));
        assert!(
            past_the_end.is_err(),
            "PerThreadCounters::new({slots}).slot({slots}) returned a counter: a thread with no \
             slot of its own would share another's. Index the slots so that an index past the \
             last one panics"
        );
    }
}

fn each_thread_counts_in_its_own_slot() {
    const SLOTS: usize = 3;
    const PER_THREAD: u64 = 10_000;
    let counters = false_sharing::PerThreadCounters::new(SLOTS);
    false_sharing::count_per_thread(&counters, PER_THREAD);
    let values: Vec<u64> = (0..SLOTS)
        .map(|index| counters.slot(index).load(Ordering::Relaxed))
        .collect();
    for (index, value) in values.iter().enumerate() {
        assert!(
            *value == PER_THREAD,
            "after count_per_thread with {PER_THREAD} increments per thread the slots hold \
             {values:?}: slot {index} holds {value}. Thread i must add to slot i only, so that \
             no two threads ever write the same counter"
        );
    }
}

fn total_adds_every_slot() {
    let counters = false_sharing::PerThreadCounters::new(4);
    for (index, value) in [3u64, 5, 7, 11].into_iter().enumerate() {
        counters.slot(index).store(value, Ordering::Relaxed);
    }
    let total = counters.total();
    assert!(
        total == 26,
        "the slots hold 3, 5, 7 and 11, but total() is {total}, not 26: total must add every slot"
    );
}

/// Each counting thread is stopped by a signal as soon as it shows up, and waits until a
/// second one is stopped too. Threads started one after another never are; the rendezvous sees,
/// without a clock, that nothing can move any more, and lets them go on.
fn count_per_thread_runs_every_thread_at_once() {
    const SLOTS: usize = 3;
    // Enough increments that no thread can finish before the grader has seen it.
    const PER_THREAD: u64 = 20_000_000;
    let counters = false_sharing::PerThreadCounters::new(SLOTS);
    let rendezvous = Rendezvous::new(2);
    let finished_when_stuck = AtomicUsize::new(0);
    let slots_done = || {
        (0..SLOTS)
            .filter(|index| counters.slot(*index).load(Ordering::Relaxed) == PER_THREAD)
            .count()
    };
    rendezvous.watch_new_threads(
        || finished_when_stuck.store(slots_done(), Ordering::Relaxed),
        || false_sharing::count_per_thread(&counters, PER_THREAD),
    );
    assert!(
        counters.total() == SLOTS as u64 * PER_THREAD,
        "{SLOTS} threads × {PER_THREAD} increments left a total of {}",
        counters.total()
    );
    if rendezvous.met() {
        return;
    }
    if finished_when_stuck.load(Ordering::Relaxed) > 0 {
        harness::inconclusive(
            "a counting thread finished before the grader could see it start, so whether the \
             threads run at once could not be told",
        );
    }
    panic!(
        "count_per_thread with {SLOTS} slots never had two counting threads alive at once: one \
         counted while the others had not started, and nothing else moved. Start every thread \
         first (spawn them all in the scope) and only then wait for them, or they take turns \
         and more cores make nothing faster"
    );
}

/// The grader's own count makes this many times fewer increments than the learner's, and the
/// learner's may not take less CPU time than it. Why a measured bar and not a physical floor
/// (no core makes a dependent atomic read-modify-write in under a cycle, none runs above 6 GHz,
/// so 60,000,000 of them take at least 10 ms): starting and joining three threads alone used
/// 0.1 to 3.7 ms of CPU per call on this course's loaded 2-core machine, so a floor with a
/// tenth's margin (1 ms) would not tell one `fetch_add` of the whole count from correct code.
/// The grader's count, on padded slots in the same debug build and the same run, measured
/// 30 ms: a seventeenth of the reference's 520 to 560 ms (the same loop; one unrolled by hand
/// is 1.5 times cheaper, still nine times above), and eight times what one `fetch_add` per
/// thread took at worst.
const FEWER_INCREMENTS_IN_THE_GRADERS_COUNT: u64 = 20;
/// CPU time the code under test may use before any slot shows an increment. Starting the
/// threads and entering their loops costs under 4 ms even on a loaded machine (measured as
/// above), so a correct solution never comes near; a thread that counts in a local variable
/// uses about 130 ms per 20,000,000 additions in the debug build the tests run, all of it with
/// its slot at 0, which leaves the looking thread some 100 ms of CPU time to see it.
const CPU_BEFORE_THE_FIRST_INCREMENT: Duration = Duration::from_millis(30);
/// The pause between two looks at the slots: it paces the looking, it decides nothing.
const LOOK_AT_SLOTS_EVERY: Duration = Duration::from_millis(1);

/// What the grader's looking thread saw while `count_per_thread` ran.
#[derive(Default)]
struct SlotsSeen {
    /// The CPU time the code under test had used at a look where every slot still read 0, the
    /// first time it was at least `CPU_BEFORE_THE_FIRST_INCREMENT`.
    idle_slots_after: Option<Duration>,
    /// Whether some look found a slot part of the way: above 0, below `per_thread`.
    saw_a_slot_counting: bool,
    /// CPU time the looking thread itself used, which the process's CPU time includes.
    own_cpu: Duration,
}

/// The CPU time of `slots.len()` threads started at once, each adding 1 to its own slot
/// `per_thread` times: the reference's loop, run by the grader.
fn graders_count_cpu(slots: &[CachePadded<AtomicU64>], per_thread: u64) -> Duration {
    let before = harness::measure::cpu_time_with_children();
    count_on(slots.iter().map(|slot| &**slot), per_thread);
    harness::measure::cpu_time_with_children().saturating_sub(before)
}

/// A solution that keeps the total right but defeats the lesson makes one `fetch_add` of
/// `per_thread`, or counts in a local variable and adds (or stores) it once at the end: either
/// way each slot is written once, and there is no false sharing left to measure. No test can
/// count calls on std's atomics, so it is told from CPU time, which load does not inflate:
/// - the code under test must use at least the CPU time the grader's own count of a twentieth
///   as many increments used, one `fetch_add` at a time, in the same run
///   (`FEWER_INCREMENTS_IN_THE_GRADERS_COUNT`);
/// - a thread of the grader looks at the slots while they count, and fails the code once it
///   has used `CPU_BEFORE_THE_FIRST_INCREMENT` while every slot still reads 0. The process's
///   CPU time is read before the slots, so the slots are never older than the CPU time they
///   are compared with, and the looking thread's own CPU time is taken away from it. A slot
///   that a thread has been adding to for milliseconds is visible to every core by then.
///
/// A look can miss a local count only when the looking thread does not run at all while it
/// lasts; then no look ever found a slot part of the way either, and the verdict is
/// `inconclusive`, never `pass`.
fn count_per_thread_adds_one_fetch_add_at_a_time() {
    // As many as in the test above, so that a correct solution spends hundreds of
    // milliseconds of CPU counting.
    const SLOTS: usize = 3;
    const PER_THREAD: u64 = 20_000_000;
    let graders_slots: Vec<CachePadded<AtomicU64>> = (0..SLOTS)
        .map(|_| CachePadded::new(AtomicU64::new(0)))
        .collect();
    let graders_cpu = graders_count_cpu(
        &graders_slots,
        PER_THREAD / FEWER_INCREMENTS_IN_THE_GRADERS_COUNT,
    );
    let counters = false_sharing::PerThreadCounters::new(SLOTS);
    let counting = AtomicBool::new(true);
    // The looking thread reads the process's CPU time before the call starts, and the call
    // starts only once it has.
    let ready = Barrier::new(2);
    let (learner_cpu, seen) = std::thread::scope(|scope| {
        let looking = scope.spawn(|| {
            let own_start = harness::measure::thread_cpu_time();
            let process_start = harness::measure::cpu_time_with_children();
            ready.wait();
            let mut seen = SlotsSeen::default();
            while counting.load(Ordering::Acquire) {
                // Process first, own second: what is taken away is never less than what the
                // process's reading included, so the code under test is never charged for it.
                let process =
                    harness::measure::cpu_time_with_children().saturating_sub(process_start);
                let own = harness::measure::thread_cpu_time().saturating_sub(own_start);
                let learner = process.saturating_sub(own);
                let values: Vec<u64> = (0..SLOTS)
                    .map(|index| counters.slot(index).load(Ordering::Relaxed))
                    .collect();
                if values.iter().any(|value| (1..PER_THREAD).contains(value)) {
                    seen.saw_a_slot_counting = true;
                }
                if values.iter().all(|value| *value == 0)
                    && learner >= CPU_BEFORE_THE_FIRST_INCREMENT
                    && seen.idle_slots_after.is_none()
                {
                    seen.idle_slots_after = Some(learner);
                }
                std::thread::sleep(LOOK_AT_SLOTS_EVERY);
            }
            seen.own_cpu = harness::measure::thread_cpu_time().saturating_sub(own_start);
            (process_start, seen)
        });
        ready.wait();
        false_sharing::count_per_thread(&counters, PER_THREAD);
        counting.store(false, Ordering::Release);
        let (process_start, seen) = looking.join().expect("the grader's looking thread");
        // Read after the looking thread has ended, so the process's CPU time holds all of its
        // own; what it used after its last reading is charged to the code under test, in its
        // favour.
        let process = harness::measure::cpu_time_with_children().saturating_sub(process_start);
        (process.saturating_sub(seen.own_cpu), seen)
    });
    assert!(
        counters.total() == SLOTS as u64 * PER_THREAD,
        "{SLOTS} threads × {PER_THREAD} increments left a total of {}",
        counters.total()
    );
    let ms = |cpu: Duration| cpu.as_secs_f64() * 1e3;
    harness::note(format!(
        "{SLOTS} threads × {PER_THREAD} increments used {:.1} ms of CPU; the grader's own {SLOTS} \
         × {} used {:.1} ms",
        ms(learner_cpu),
        PER_THREAD / FEWER_INCREMENTS_IN_THE_GRADERS_COUNT,
        ms(graders_cpu)
    ));
    if let Some(idle) = seen.idle_slots_after {
        panic!(
            "count_per_thread had used {:.1} ms of CPU time while every slot still read 0: its \
             threads count somewhere else and write their slots only at the end. Each \
             increment must be its own `slot.fetch_add(1, ..)` on the thread's slot, or no \
             thread ever writes the shared cache line while another does, and there is no \
             false sharing for the padding to cure",
            ms(idle)
        );
    }
    if learner_cpu < graders_cpu {
        panic!(
            "count_per_thread made {SLOTS} × {PER_THREAD} increments in {:.2} ms of CPU time, \
             less than the grader's own {:.2} ms for a twentieth as many, one `fetch_add` at \
             a time: it adds `per_thread` at once instead of 1 `per_thread` times. Each \
             increment must be its own `slot.fetch_add(1, ..)`, or each thread writes its slot \
             once and there is no false sharing to measure",
            ms(learner_cpu),
            ms(graders_cpu)
        );
    }
    if !seen.saw_a_slot_counting {
        harness::inconclusive(
            "the grader never got to look at the slots while they were counting (the machine \
             is busy), so whether each increment is its own `fetch_add` could not be told",
        );
    }
}

/// Times one thread per slot, each adding 1 to its own slot `per_thread` times.
fn time_threads_on(slots: [&AtomicU64; 2], per_thread: u64) -> Duration {
    let started = Instant::now();
    count_on(slots, per_thread);
    started.elapsed()
}

/// Starts one thread per slot, all at once, each adding 1 to its own slot `per_thread` times,
/// one `fetch_add` at a time (the reference's loop), and waits for them.
fn count_on<'a>(slots: impl IntoIterator<Item = &'a AtomicU64>, per_thread: u64) {
    std::thread::scope(|scope| {
        for slot in slots {
            scope.spawn(move || {
                for _ in 0..per_thread {
                    slot.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
}

/// Two counters side by side at the start of one cache line, whatever the stack looks like.
#[repr(align(128))]
struct OneLine([AtomicU64; 2]);

/// Measures, in the same run, the grader's own adjacent and padded counters, and tells the
/// learner what this hardware makes of false sharing.
fn note_what_this_machine_makes_of_false_sharing() {
    const PER_THREAD: u64 = 5_000_000;
    let adjacent = OneLine([AtomicU64::new(0), AtomicU64::new(0)]);
    let padded = [
        CachePadded::new(AtomicU64::new(0)),
        CachePadded::new(AtomicU64::new(0)),
    ];
    // The fastest of three runs of each: noise only ever makes a run slower.
    let fastest = |slots: [&AtomicU64; 2]| {
        (0..3)
            .map(|_| time_threads_on(slots, PER_THREAD))
            .min()
            .expect("three runs")
    };
    let adjacent_time = fastest([&adjacent.0[0], &adjacent.0[1]]);
    let padded_time = fastest([&padded[0], &padded[1]]);
    harness::note(format!(
        "on this machine 2 threads × {PER_THREAD} increments took {} ms on adjacent counters and \
         {} ms on padded ones: false sharing costs a factor of {:.1} here",
        adjacent_time.as_millis(),
        padded_time.as_millis(),
        adjacent_time.as_secs_f64() / padded_time.as_secs_f64().max(1e-9)
    ));
}

/// How strongly this machine must show false sharing (adjacent counters this many times slower
/// than padded ones) before the layout ratio is judged at all. Below it, two vCPUs may share a
/// physical core or the machine may be busy, and the honest answer is `inconclusive`.
const CONCLUSIVE_HARDWARE_RATIO: f64 = 1.5;
/// Rounds of {adjacent, padded, learner}, interleaved so a burst of noise hits all three.
const RATIO_ROUNDS: usize = 5;
const RATIO_INCREMENTS: u64 = 2_000_000;

/// The learner's two slots against the grader's adjacent and padded ones, timed in one run.
/// A layout that pads its slots runs about as fast as the padded reference; one that packs them
/// runs as slowly as the adjacent one. The verdict needs only the ratio, measured here and now.
fn padded_counters_beat_adjacent_ones() {
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        harness::inconclusive("this machine has one core, so two counters never touch one cache line at the same time");
    }
    let adjacent = OneLine([AtomicU64::new(0), AtomicU64::new(0)]);
    let padded = [
        CachePadded::new(AtomicU64::new(0)),
        CachePadded::new(AtomicU64::new(0)),
    ];
    let learners = false_sharing::PerThreadCounters::new(2);
    // Like the speedup timer: a batch judges only when the hardware shows false sharing and the
    // grader's own runs were steady; one batch that looks right passes, and it takes two
    // steady batches below the bar to fail, so a burst of load never fails a padded layout.
    let mut slow = Vec::new();
    for _ in 0..RATIO_BATCHES {
        let batch = RatioBatch::measure(&adjacent, &padded, &learners);
        harness::note(batch.sentence());
        if batch.hardware_ratio() < CONCLUSIVE_HARDWARE_RATIO || !batch.grader_runs_steady() {
            continue;
        }
        if batch.learner_ratio() >= batch.expected() {
            return;
        }
        if batch.learner_runs_steady() {
            slow.push(batch);
        }
        if slow.len() >= 2 {
            break;
        }
    }
    if let [.., batch] = slow.as_slice() {
        if slow.len() >= 2 {
            panic!(
                "your counters ran only {:.2}× faster than adjacent ones, while padded ones ran \
                 {:.2}× faster in the same run (at least {:.2}× is expected), in {} steady \
                 measurements: two of your slots share a cache line, so each increment steals \
                 the line from the other thread's core",
                batch.learner_ratio(),
                batch.hardware_ratio(),
                batch.expected(),
                slow.len()
            );
        }
    }
    harness::inconclusive(format!(
        "in {RATIO_BATCHES} measurements this machine never showed steady false sharing (adjacent \
         counters at least {CONCLUSIVE_HARDWARE_RATIO}× slower than padded ones, runs within \
         {:.0}% of each other): its vCPUs may share a core, or it is busy. \
         `slots_sit_in_separate_cache_lines` still checks your layout",
        MAX_RATIO_SPREAD * 100.0
    ));
}

/// Measurements of one batch: interleaved rounds of {adjacent, padded, learner}.
struct RatioBatch {
    adjacent: Vec<Duration>,
    padded: Vec<Duration>,
    learner: Vec<Duration>,
}

/// Batches measured at most for one decision.
const RATIO_BATCHES: usize = 4;
/// How much slower than the fastest the median run of a kind may be for a batch to count.
const MAX_RATIO_SPREAD: f64 = 0.25;

impl RatioBatch {
    fn measure(
        adjacent: &OneLine,
        padded: &[CachePadded<AtomicU64>; 2],
        learners: &false_sharing::PerThreadCounters,
    ) -> RatioBatch {
        let mut batch = RatioBatch {
            adjacent: Vec::new(),
            padded: Vec::new(),
            learner: Vec::new(),
        };
        for _ in 0..RATIO_ROUNDS {
            batch.adjacent.push(time_threads_on(
                [&adjacent.0[0], &adjacent.0[1]],
                RATIO_INCREMENTS,
            ));
            batch
                .padded
                .push(time_threads_on([&padded[0], &padded[1]], RATIO_INCREMENTS));
            batch.learner.push(time_threads_on(
                [learners.slot(0), learners.slot(1)],
                RATIO_INCREMENTS,
            ));
        }
        batch
    }

    fn best(runs: &[Duration]) -> f64 {
        runs.iter().min().copied().unwrap_or_default().as_secs_f64().max(1e-9)
    }

    /// How much slower the median run was than the fastest, as a fraction.
    fn spread(runs: &[Duration]) -> f64 {
        let mut sorted = runs.to_vec();
        sorted.sort();
        sorted[sorted.len() / 2].as_secs_f64() / Self::best(runs) - 1.0
    }

    fn hardware_ratio(&self) -> f64 {
        Self::best(&self.adjacent) / Self::best(&self.padded)
    }

    fn learner_ratio(&self) -> f64 {
        Self::best(&self.adjacent) / Self::best(&self.learner)
    }

    /// Half of the machine's own gain, judged from the adjacent side: a packed layout sits at
    /// about 1.0, a padded one near `hardware_ratio`, so noise cannot carry one across.
    fn expected(&self) -> f64 {
        1.0 + 0.5 * (self.hardware_ratio() - 1.0)
    }

    /// The grader's own counters ran steadily: whether the batch can judge is decided from
    /// them alone, never from the learner's runs, which the code under test could disturb.
    fn grader_runs_steady(&self) -> bool {
        Self::spread(&self.adjacent) <= MAX_RATIO_SPREAD
            && Self::spread(&self.padded) <= MAX_RATIO_SPREAD
    }

    /// A batch whose learner runs jumped about cannot count against the learner.
    fn learner_runs_steady(&self) -> bool {
        Self::spread(&self.learner) <= MAX_RATIO_SPREAD
    }

    fn sentence(&self) -> String {
        let ms = |runs: &[Duration]| Self::best(runs) * 1e3;
        format!(
            "2 threads × {RATIO_INCREMENTS} increments: adjacent counters {:.0} ms, padded {:.0} \
             ms, yours {:.0} ms (runs varied by {:.0}%, {:.0}% and {:.0}%)",
            ms(&self.adjacent),
            ms(&self.padded),
            ms(&self.learner),
            Self::spread(&self.adjacent) * 100.0,
            Self::spread(&self.padded) * 100.0,
            Self::spread(&self.learner) * 100.0
        )
    }
}

fn padded_counters_let_threads_scale() {
    // About 200 ms for one thread in a release build on a quiet machine: the timer wants 100
    // to 300 ms.
    const INCREMENTS: u64 = 30_000_000;
    note_what_this_machine_makes_of_false_sharing();
    harness::timing::measure_speedup(|workers| {
        let counters = false_sharing::PerThreadCounters::new(workers);
        let per_thread = INCREMENTS / workers as u64;
        false_sharing::count_per_thread(&counters, per_thread);
        let total = counters.total();
        assert!(
            total == per_thread * workers as u64,
            "{workers} threads × {per_thread} increments left a total of {total}"
        );
    });
}

harness::hidden_tests![
    slots_sit_in_separate_cache_lines,
    new_makes_zeroed_slots,
    each_thread_counts_in_its_own_slot,
    count_per_thread_runs_every_thread_at_once,
    count_per_thread_adds_one_fetch_add_at_a_time,
    total_adds_every_slot,
    padded_counters_beat_adjacent_ones,
    padded_counters_let_threads_scale,
];
