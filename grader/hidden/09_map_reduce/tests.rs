//! Hidden tests of exercise 09: count_by_key and word_frequencies on rayon.
//!
//! The tests run the learner's code inside rayon pools of their own, so the number of threads
//! is known. Which thread counted which item, and in what order, shows how the work was cut into
//! tasks without reading a clock; the speedup itself is timed by the course's speedup timer.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use harness::rendezvous::Rendezvous;

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

/// The first item each thread counts waits until a second thread counts too. A serial count
/// never gets two threads there; the rendezvous sees, without a clock, that nothing can move
/// any more, and lets the count go on.
fn batches_are_counted_on_several_threads_at_once() {
    const THREADS: usize = 2;
    let items: Vec<usize> = (0..4_096).collect();
    let counting = Mutex::new(HashSet::new());
    let rendezvous = Rendezvous::new(THREADS as u32);
    let pool = pool(THREADS);
    rendezvous.watch(
        || {},
        || {
            pool.install(|| {
                map_reduce::count_by_key(&items, 64, |item| {
                    if counting.lock().unwrap().insert(std::thread::current().id()) {
                        rendezvous.arrive();
                    }
                    *item % 5
                })
            })
        },
    );
    assert!(
        rendezvous.met(),
        "in a rayon pool of {THREADS} threads, {} thread(s) counted items, and while the first \
         one waited for a second, nothing else moved: the batches must be counted in parallel, \
         with rayon (for example items.par_chunks(batch_size)), not one after another",
        counting.into_inner().unwrap().len()
    );
}

/// Every item gives the same key, which remembers its item and logs every comparison it takes
/// part in: a map compares a new key only with the one it already holds, so the log shows which
/// items met in one map, without a clock.
struct Witness(usize);

/// The pairs of items whose keys were compared.
static COMPARED: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());

impl PartialEq for Witness {
    fn eq(&self, other: &Witness) -> bool {
        COMPARED.lock().unwrap().push((self.0, other.0));
        true
    }
}

impl Eq for Witness {}

impl std::hash::Hash for Witness {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        0u8.hash(state);
    }
}

/// batch_size is honoured: counting a batch compares each of its items with the batch's first
/// item (the key its map holds), and merging two maps compares the first items of two batches.
/// Any other pair means a map counted items of two batches, or a batch was cut into several
/// maps.
fn each_task_counts_exactly_one_batch() {
    const BATCH_SIZE: usize = 64;
    const ITEMS: usize = 16 * BATCH_SIZE;
    let items: Vec<usize> = (0..ITEMS).collect();
    let counts = pool(2).install(|| map_reduce::count_by_key(&items, BATCH_SIZE, |item| Witness(*item)));
    let total: u64 = counts.values().sum();
    assert!(total == ITEMS as u64, "{ITEMS} items were counted as {total}");
    let batch = |item: usize| item / BATCH_SIZE;
    let first_of_its_batch = |item: usize| item % BATCH_SIZE == 0;
    for (a, b) in COMPARED.lock().unwrap().iter().copied() {
        let (a, b) = (a.min(b), a.max(b));
        assert!(
            (batch(a) == batch(b) && (first_of_its_batch(a) || first_of_its_batch(b)))
                || (first_of_its_batch(a) && first_of_its_batch(b)),
            "with batch_size {BATCH_SIZE}, items {a} and {b} were counted into one map, though \
             they are in batches {} and {}{}. Cut the items into batches of exactly batch_size \
             items (items.par_chunks(batch_size)), and count each batch into a map of its own",
            batch(a),
            batch(b),
            if batch(a) == batch(b) {
                ": the batch was cut into several maps"
            } else {
                ": a map counted more than one batch"
            }
        );
    }
}

/// Every item is counted on a thread of the pool the caller is in, not on rayon's global pool
/// or on threads of the solution's own.
fn runs_on_the_rayon_pool_it_is_called_from() {
    const THREADS: usize = 3;
    let pool = pool(THREADS);
    let ours: HashSet<std::thread::ThreadId> = pool
        .broadcast(|_| std::thread::current().id())
        .into_iter()
        .collect();
    let strangers = Mutex::new(HashSet::new());
    let items: Vec<usize> = (0..20_000).collect();
    pool.install(|| {
        map_reduce::count_by_key(&items, 100, |item| {
            let me = std::thread::current().id();
            if !ours.contains(&me) {
                strangers.lock().unwrap().insert(me);
            }
            *item % 11
        })
    });
    let strangers = strangers.into_inner().unwrap().len();
    assert!(
        strangers == 0,
        "count_by_key was called inside a rayon pool of {THREADS} threads, but {strangers} \
         other thread(s) counted items: it must run on the pool it is called from (rayon's \
         par_ methods do), so that the caller decides how many threads count"
    );
}

fn count_by_key_panics_on_a_batch_size_of_0() {
    let outcome = std::panic::catch_unwind(|| {
        pool(2).install(|| map_reduce::count_by_key(&[1u8, 2, 3], 0, |item| *item))
    });
    assert!(
        outcome.is_err(),
        "count_by_key with batch_size 0 returned a map; it must panic, since a batch of 0 items \
         counts nothing and the items could never all be counted"
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
    each_task_counts_exactly_one_batch,
    runs_on_the_rayon_pool_it_is_called_from,
    count_by_key_panics_on_a_batch_size_of_0,
    counting_words_speeds_up,
];
