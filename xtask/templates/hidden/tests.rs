//! Hidden tests of exercise @NN@: count_on_threads.
//!
//! `@name@` is the learner's crate on real threads; `@name@_model` is the same code with
//! `crate::sync` swapped for shuttle, for tests under the model checker (`harness::model`).

fn every_thread_is_counted() {
    for threads in [0, 1, 4] {
        let counted = @name@::count_on_threads(threads);
        assert_eq!(
            counted, threads as u64,
            "count_on_threads({threads}) returned {counted}; every thread must add one"
        );
    }
}

harness::hidden_tests![every_thread_is_counted];
