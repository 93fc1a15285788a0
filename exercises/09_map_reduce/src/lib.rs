//! # Exercise 09: map-reduce and granularity
//!
//! Counting words is a map-reduce: *map* each word to a count of one, *reduce* the counts by
//! adding them up. Both halves parallelise, but how finely the work is cut matters as much as
//! whether it is parallel. The stub below makes one rayon task per word, and every task takes a
//! shared lock to add its one: handing out a task and taking a contended lock cost far more than
//! hashing one word, so more threads make it *slower*.
//!
//! Your task, marked `TODO`: cut the items into batches of `batch_size`, count each batch into
//! a map of its own in one task, then merge the maps pairwise, and choose a good [`BATCH_SIZE`].
//!
//! This exercise uses rayon directly. Check your work with `cargo xtask check 09`; measure the
//! granularity curve with `cargo run --release -p map_reduce --example map_reduce_demo`.

use std::sync::Mutex;

use std::collections::HashMap;
use std::hash::Hash;

/// Syllables the corpus's words are made of.
const SYLLABLES: [&str; 8] = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo"];

/// A deterministic text of `words` words separated by single spaces, drawn from about 580
/// made-up words, the short ones far more often than the long ones, as in real text. The same
/// `seed` always gives the same text. This function is complete.
pub fn generate_corpus(words: usize, seed: u64) -> String {
    let vocabulary: Vec<String> = (0..SYLLABLES.len().pow(3) + SYLLABLES.len().pow(2))
        .map(|index| {
            let (syllables, mut rest) = if index < 64 {
                (2, index)
            } else {
                (3, index - 64)
            };
            (0..syllables)
                .map(|_| {
                    let syllable = SYLLABLES[rest % SYLLABLES.len()];
                    rest /= SYLLABLES.len();
                    syllable
                })
                .collect()
        })
        .collect();
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state as usize
    };
    let mut text = String::with_capacity(words * 7);
    for position in 0..words {
        // The product of two uniform draws favours small indexes: a few words are common.
        let index = (next() % vocabulary.len()) * (next() % vocabulary.len()) / vocabulary.len();
        if position > 0 {
            text.push(' ');
        }
        text.push_str(&vocabulary[index]);
    }
    text
}

/// How many items one task counts in [`word_frequencies`].
// TODO: one item per task is the stub's choice, and the worst one. Measure with the demo and
// pick a size that makes each task far longer than handing it over.
pub const BATCH_SIZE: usize = 1;

// ANCHOR: task_per_item
/// How often each key occurs among `items`. The items are cut into consecutive batches of
/// `batch_size` (the last one may be shorter); each batch is counted by one rayon task, item
/// after item, into a map of its own, and the maps are merged pairwise. Panics when
/// `batch_size` is 0.
pub fn count_by_key<T, K, F>(items: &[T], batch_size: usize, key_of: F) -> HashMap<K, u64>
where
    T: Sync,
    K: Eq + Hash + Send,
    F: Fn(&T) -> K + Sync,
{
    assert!(
        batch_size > 0,
        "batch_size is 0: a batch must hold at least one item"
    );
    // TODO: this spawns a task per item, and every task locks the one shared map for a single
    // `+= 1`. Use `items.par_chunks(batch_size)` (from `rayon::prelude::*`): map every batch to
    // a HashMap of its own, counted serially, and `reduce` the maps by adding one into the other.
    let counts = Mutex::new(HashMap::new());
    rayon::scope(|scope| {
        for item in items {
            let (counts, key_of) = (&counts, &key_of);
            scope.spawn(move |_| {
                let key = key_of(item);
                *counts.lock().unwrap().entry(key).or_insert(0) += 1;
            });
        }
    });
    counts.into_inner().unwrap()
}
// ANCHOR_END: task_per_item

/// How often each word occurs, counted by [`count_by_key`] in batches of [`BATCH_SIZE`].
pub fn word_frequencies(words: &[&str]) -> HashMap<String, u64> {
    count_by_key(words, BATCH_SIZE, |word| *word)
        .into_iter()
        .map(|(word, count)| (word.to_owned(), count))
        .collect()
}
