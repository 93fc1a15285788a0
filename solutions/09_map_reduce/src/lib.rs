//! Reference solution of exercise 09: map-reduce and granularity.

use rayon::prelude::*;

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

/// How many items one task counts in [`word_frequencies`]. Hashing a word takes tens of
/// nanoseconds and handing a task to another thread about a microsecond, so a few thousand words
/// per task make the overhead negligible while still leaving hundreds of tasks to balance.
pub const BATCH_SIZE: usize = 4096;

// ANCHOR: batched
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
    items
        .par_chunks(batch_size)
        // Map: one task per batch, counting into a map no other task touches, so no lock.
        .map(|batch| {
            let mut counts = HashMap::new();
            for item in batch {
                *counts.entry(key_of(item)).or_insert(0) += 1;
            }
            counts
        })
        // Reduce: merge the maps pairwise, as the tasks finish.
        .reduce(HashMap::new, merge_counts)
}

/// Adds the smaller map into the larger one.
fn merge_counts<K: Eq + Hash>(
    mut into: HashMap<K, u64>,
    mut from: HashMap<K, u64>,
) -> HashMap<K, u64> {
    if into.len() < from.len() {
        std::mem::swap(&mut into, &mut from);
    }
    for (key, count) in from {
        *into.entry(key).or_insert(0) += count;
    }
    into
}
// ANCHOR_END: batched

/// How often each word occurs, counted by [`count_by_key`] in batches of [`BATCH_SIZE`].
pub fn word_frequencies(words: &[&str]) -> HashMap<String, u64> {
    count_by_key(words, BATCH_SIZE, |word| *word)
        .into_iter()
        .map(|(word, count)| (word.to_owned(), count))
        .collect()
}
