//! Hidden tests of exercise 09: count_by_key and word_frequencies on rayon.
//!
//! The tests run the learner's code inside rayon pools of their own, so the number of threads
//! is known. Which thread counted which item, and in what order, shows how the work was cut into
//! tasks without reading a clock; the speedup itself is timed by the course's speedup timer.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// How long the first key lookup on each thread waits for a second thread to start counting.
/// Threads that really count at the same time meet within milliseconds; this only bounds how
/// long a serial count is waited for.
const RENDEZVOUS_PATIENCE: Duration = Duration::from_secs(5);

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("the test could not build a rayon pool")
}

/// The same count, one item after another on this thread.
fn serial_count<K: std::hash::Hash + Eq>(keys: impl IntoIterator<Item = K>) -> HashMap<K, u64> {
    let mut counts = HashMap::new();
    for key in keys {
        *counts.entry(key).or_insert(0) += 1;
    }
    counts
}

/// Says which key's count differs first, and by how much.
fn assert_same_counts<K: std::hash::Hash + Eq + std::fmt::Debug>(
    got: &HashMap<K, u64>,
    want: &HashMap<K, u64>,
    what: &str,
) {
    for (key, count) in want {
        let got_count = got.get(key).copied().unwrap_or(0);
        assert!(
            got_count == *count,
            "{what}: key {key:?} was counted {got_count} times, but occurs {count} times. Every \
             item must be counted exactly once, and merging two maps must add their counts"
        );
    }
    if let Some(extra) = got.keys().find(|key| !want.contains_key(*key)) {
        panic!("{what}: key {extra:?} was counted, but no item has it");
    }
}

fn count_by_key_matches_a_serial_count() {
    const ITEMS: u64 = 10_007;
    let items: Vec<u64> = (0..ITEMS)
        .map(|item| item * 2_654_435_761 % 1_000_003)
        .collect();
    let want = serial_count(items.iter().map(|item| item % 37));
    let pool = pool(3);
    for batch_size in [1, 7, 1_000, 100_000] {
        let got = pool.install(|| map_reduce::count_by_key(&items, batch_size, |item| item % 37));
        assert_same_counts(
            &got,
            &want,
            &format!("{ITEMS} items in batches of {batch_size} (the last one shorter)"),
        );
    }
    let nothing = pool.install(|| map_reduce::count_by_key(&[] as &[u64], 8, |item| *item));
    assert!(
        nothing.is_empty(),
        "counting no items gave {} keys",
        nothing.len()
    );

    let text = map_reduce::generate_corpus(50_000, 9);
    let words: Vec<&str> = text.split(' ').collect();
    let got = pool.install(|| map_reduce::word_frequencies(&words));
    let want = serial_count(words.iter().map(|word| (*word).to_owned()));
    assert_same_counts(
        &got,
        &want,
        "word_frequencies over a corpus of 50 000 words",
    );
}

/// Which thread counted each item, in the order the threads counted them.
fn record_who_counted(items: &[usize], batch_size: usize, threads: usize) -> Vec<(usize, usize)> {
    let log = Mutex::new(Vec::with_capacity(items.len()));
    pool(threads).install(|| {
        map_reduce::count_by_key(items, batch_size, |item| {
            let thread = rayon::current_thread_index().unwrap_or(usize::MAX);
            log.lock().unwrap().push((thread, *item));
            *item % 3
        })
    });
    log.into_inner().unwrap()
}

fn each_batch_is_one_task_counted_in_order() {
    const ITEMS: usize = 1_024;
    const BATCH_SIZE: usize = 64;
    let items: Vec<usize> = (0..ITEMS).collect();
    let log = record_who_counted(&items, BATCH_SIZE, 2);
    // For every batch: the thread that counted it, and the last item it counted so far.
    let mut batches: HashMap<usize, (usize, usize)> = HashMap::new();
    for (thread, item) in log {
        let batch = item / BATCH_SIZE;
        match batches.get_mut(&batch) {
            None => {
                batches.insert(batch, (thread, item));
            }
            Some((counted_by, last_item)) => {
                assert!(
                    *counted_by == thread,
                    "batch {batch} (items {} to {}) was counted by rayon threads {counted_by} and \
                     {thread}: a batch must be one task, counted by one thread. Tasks smaller \
                     than a batch cost more to hand out than they save",
                    batch * BATCH_SIZE,
                    (batch + 1) * BATCH_SIZE - 1
                );
                assert!(
                    item > *last_item,
                    "in batch {batch}, item {item} was counted after item {last_item}: a batch \
                     must be counted item after item, in order, by one task. One task per item \
                     runs them in whatever order the scheduler picks"
                );
                *last_item = item;
            }
        }
    }
    assert!(
        batches.len() == ITEMS / BATCH_SIZE,
        "{} of the {} batches were counted",
        batches.len(),
        ITEMS / BATCH_SIZE
    );
}

fn batches_are_counted_on_several_threads_at_once() {
    const THREADS: usize = 2;
    let items: Vec<usize> = (0..4_096).collect();
    let started = Mutex::new(Vec::<std::thread::ThreadId>::new());
    let all_started = Condvar::new();
    let met = Mutex::new(true);
    pool(THREADS).install(|| {
        map_reduce::count_by_key(&items, 64, |item| {
            let me = std::thread::current().id();
            let mut threads = started.lock().unwrap();
            if !threads.contains(&me) {
                threads.push(me);
                all_started.notify_all();
                let (threads, waited) = all_started
                    .wait_timeout_while(threads, RENDEZVOUS_PATIENCE, |threads| {
                        threads.len() < THREADS
                    })
                    .unwrap();
                if waited.timed_out() && threads.len() < THREADS {
                    *met.lock().unwrap() = false;
                }
            }
            *item % 5
        })
    });
    let threads = started.into_inner().unwrap().len();
    assert!(
        met.into_inner().unwrap() && threads >= THREADS,
        "in a rayon pool of {THREADS} threads, only {threads} thread(s) counted items, though the \
         first one waited {RENDEZVOUS_PATIENCE:?} for another: the batches must be counted in \
         parallel, with rayon (for example items.par_chunks(batch_size)), not one after another"
    );
}

fn counting_words_speeds_up() {
    // About 150 ms on one thread in a release build: the timer wants 100 to 300 ms.
    const WORDS: usize = 4_000_000;
    let text = map_reduce::generate_corpus(WORDS, 42);
    let words: Vec<&str> = text.split(' ').collect();
    let want = serial_count(words.iter().copied());
    harness::timing::measure_speedup(|workers| {
        let got = pool(workers).install(|| map_reduce::word_frequencies(&words));
        assert!(
            got.len() == want.len() && want.iter().all(|(word, count)| got.get(*word) == Some(count)),
            "with {workers} threads, word_frequencies counted {} distinct words where there are {}, \
             or some count differs from a serial count",
            got.len(),
            want.len()
        );
    });
}

harness::hidden_tests![
    count_by_key_matches_a_serial_count,
    each_batch_is_one_task_counted_in_order,
    batches_are_counted_on_several_threads_at_once,
    counting_words_speeds_up,
];
