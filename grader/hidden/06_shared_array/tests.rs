//! Hidden tests of exercise 06: an array shared by forked processes.
//!
//! The functions applied are plain `fn`s, as the contract requires: a forked child runs the
//! parent's code, so a function pointer means the same thing in every process.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use harness::rendezvous::Rendezvous;
use shared_array::{parallel_apply, ApplyError, SharedArray};

fn add_thousand(_index: usize, value: f64) -> f64 {
    value + 1000.0
}

fn pid_of_runner(_index: usize, _value: f64) -> f64 {
    f64::from(std::process::id())
}

/// The rendezvous of `meet_the_other_children`, made before parallel_apply forks.
static MEETING: OnceLock<&'static Rendezvous> = OnceLock::new();

/// Waits until every child computes at the same time, then adds one.
fn meet_the_other_children(_index: usize, value: f64) -> f64 {
    MEETING
        .get()
        .expect("the test makes the rendezvous before parallel_apply")
        .arrive();
    value + 1.0
}

/// Element 25 is the poisoned one: with 40 elements and 4 children it lies in chunk 2.
fn abort_at_25(index: usize, value: f64) -> f64 {
    if index == 25 {
        // A hard crash of the child, as a segfault or an out-of-memory kill would be.
        std::process::abort();
    }
    value + 1000.0
}

/// The CPU-heavy function of the timing test: a dependent chain of square roots.
fn heavy(index: usize, value: f64) -> f64 {
    let mut y = value + index as f64;
    for _ in 0..HEAVY_STEPS {
        y = (y * 1.000_001 + 0.5).sqrt() + 1.0;
    }
    y
}
const HEAVY_STEPS: usize = 200;

/// An array holding `0.0, 1.0, 2.0, ...`, so every element says where it came from.
fn numbered(len: usize) -> SharedArray {
    let mut array = SharedArray::new(len)
        .unwrap_or_else(|error| panic!("SharedArray::new({len}) failed: {error}"));
    for (index, element) in array.as_mut_slice().iter_mut().enumerate() {
        *element = index as f64;
    }
    array
}

fn apply(array: &mut SharedArray, procs: usize, f: fn(usize, f64) -> f64) {
    let len = array.len();
    if let Err(error) = parallel_apply(array, procs, f) {
        panic!("parallel_apply(len {len}, procs {procs}) failed: {error:?}");
    }
}

fn assert_no_children_left(after: &str) {
    if let Some(left) = harness::leftover_children() {
        panic!(
            "after {after}: {left}. parallel_apply must waitpid every child it forked before it \
             returns"
        );
    }
}

/// Whether the page-aligned `bytes` at `address` are mapped in this process: `msync` refuses
/// (ENOMEM on Linux and macOS alike) a range that is not.
fn is_mapped(address: usize, bytes: usize) -> bool {
    // SAFETY: msync with MS_ASYNC only schedules write-back of pages that are mapped, and
    // reports the ones that are not; it never touches the memory.
    unsafe { libc::msync(address as *mut libc::c_void, bytes, libc::MS_ASYNC) == 0 }
}

fn a_new_array_is_zero_filled() {
    let array = SharedArray::new(1000)
        .unwrap_or_else(|error| panic!("SharedArray::new(1000) failed: {error}"));
    assert_eq!(array.len(), 1000, "SharedArray::new(1000).len()");
    assert!(!array.is_empty(), "an array of 1000 elements is not empty");
    assert!(
        array.as_slice().iter().all(|element| *element == 0.0),
        "a new array must be all zeros, as a fresh anonymous mapping is"
    );
    let empty =
        SharedArray::new(0).unwrap_or_else(|error| panic!("SharedArray::new(0) failed: {error}"));
    assert!(
        empty.is_empty() && empty.as_slice().is_empty(),
        "SharedArray::new(0) must be empty"
    );
}

fn every_element_is_transformed_exactly_once() {
    let cases = [
        (0, 1),
        (0, 3),
        (1, 1),
        (1, 4),
        (5, 1),
        (7, 8),
        (10, 3),
        (10, 10),
        (12, 4),
        (1000, 3),
        (1001, 4),
        (4099, 7),
    ];
    for (len, procs) in cases {
        let mut array = numbered(len);
        apply(&mut array, procs, add_thousand);
        for (index, element) in array.as_slice().iter().enumerate() {
            let times = (element - index as f64) / 1000.0;
            assert!(
                times == 1.0,
                "with len {len} and procs {procs}, element {index} was transformed {times} times \
                 (it holds {element}, not {}). {}",
                index as f64 + 1000.0,
                if times == 0.0 {
                    "No child's writes reached it: either no chunk covered it (check the last \
                     chunk when len is not a multiple of procs), or the children wrote to a \
                     private copy (MAP_PRIVATE) that vanished with them"
                } else {
                    "Chunks must not overlap"
                }
            );
        }
    }
}

fn the_parent_does_none_of_the_work() {
    const LEN: usize = 40;
    const PROCS: usize = 4;
    let mut array = numbered(LEN);
    apply(&mut array, PROCS, pid_of_runner);
    let me = f64::from(std::process::id());
    let elements = array.as_slice();
    let by_parent = elements.iter().filter(|pid| **pid == me).count();
    assert!(
        by_parent == 0,
        "the parent process computed {by_parent} of {LEN} elements itself: the children must do \
         all of the work, or nothing runs in parallel"
    );
    let mut runners: Vec<u64> = elements.iter().map(|pid| *pid as u64).collect();
    runners.dedup();
    assert!(
        runners.len() == PROCS,
        "{LEN} elements with {PROCS} children were computed by {} process run(s) {runners:?}: \
         each child must compute one contiguous chunk",
        runners.len()
    );
}

/// Each child waits, at its first element, until every child has started. Children forked
/// and waited for one at a time never get there together; the rendezvous sees, without a
/// clock, that nothing can move any more, and lets them go.
fn the_children_compute_at_the_same_time() {
    const LEN: usize = 12;
    const PROCS: usize = 3;
    let rendezvous = *MEETING.get_or_init(|| Rendezvous::new(PROCS as u32));
    let mut array = numbered(LEN);
    rendezvous.watch(|| {}, || apply(&mut array, PROCS, meet_the_other_children));
    assert!(
        rendezvous.met(),
        "the {PROCS} children never computed at the same time: at most {} of them were running \
         at once, and then nothing moved. Fork every child before you wait for any of them, or \
         they take turns and the work is no faster than a loop",
        rendezvous.arrived()
    );
    for (index, element) in array.as_slice().iter().enumerate() {
        assert!(
            *element == index as f64 + 1.0,
            "element {index} is {element}, not {}: every element must be transformed once",
            index as f64 + 1.0
        );
    }
}

/// Forks made by this process, counted by a `pthread_atfork` handler: libc runs it in the
/// parent after every `fork`, whichever crate calls it.
static FORKS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn count_a_fork() {
    FORKS.fetch_add(1, Ordering::SeqCst);
}

fn parallel_apply_forks_procs_children() {
    // SAFETY: registers a handler that only increments an atomic, which is safe to run right
    // after a fork; the result is checked.
    let registered = unsafe { libc::pthread_atfork(None, Some(count_a_fork), None) };
    assert!(registered == 0, "the grader could not count forks (pthread_atfork failed)");
    for (len, procs) in [(40, 4), (1, 1), (3, 5), (0, 2)] {
        let before = FORKS.load(Ordering::SeqCst);
        apply(&mut numbered(len), procs, add_thousand);
        let forked = FORKS.load(Ordering::SeqCst) - before;
        assert!(
            forked == procs,
            "parallel_apply(len {len}, procs {procs}) forked {forked} children, not {procs}: it \
             forks exactly `procs` children, also when there are more of them than elements \
             (their chunks are then empty)"
        );
    }
}

fn a_failing_child_names_its_chunk() {
    let mut array = numbered(40);
    match parallel_apply(&mut array, 4, abort_at_25) {
        Err(ApplyError::ChildFailed { chunk: 2, .. }) => {}
        other => panic!(
            "the child for elements 20..30 aborted at element 25, so parallel_apply must return \
             Err(ChildFailed {{ chunk: 2, .. }}), not {other:?}"
        ),
    }
    for index in (0..20).chain(30..40) {
        let element = array.as_slice()[index];
        assert!(
            element == index as f64 + 1000.0,
            "element {index} holds {element}: the children of the other chunks must still finish \
             their work when one child fails"
        );
    }
    assert_no_children_left("a child failed");
}

fn no_child_is_left_unreaped() {
    let mut array = numbered(100);
    apply(&mut array, 3, add_thousand);
    assert_no_children_left("parallel_apply returned");
}

fn the_mapping_is_shared_and_released_on_drop() {
    const LEN: usize = 1 << 16;
    let mut array =
        SharedArray::new(LEN).unwrap_or_else(|error| panic!("SharedArray::new failed: {error}"));
    let address = array.as_slice().as_ptr() as usize;
    // SAFETY: the child only writes into the array and leaves with _exit, running no code of
    // the parent's that could hold a lock.
    match unsafe { libc::fork() } {
        -1 => panic!(
            "the test could not fork: {}",
            std::io::Error::last_os_error()
        ),
        0 => {
            array.as_mut_slice()[LEN - 1] = 42.0;
            // SAFETY: _exit ends the child at once, as a forked child must.
            unsafe { libc::_exit(0) }
        }
        child => {
            let mut status = 0;
            // SAFETY: waitpid on the child just forked writes its status only.
            unsafe { libc::waitpid(child, &mut status, 0) };
        }
    }
    let seen = array.as_slice()[LEN - 1];
    assert!(
        seen == 42.0,
        "a forked child wrote 42 into the array, and the parent reads {seen}: the mapping is          private, so each child writes into a copy of its own that vanishes when it exits. Map          it MAP_SHARED"
    );
    drop(array);
    assert!(
        !is_mapped(address, LEN * std::mem::size_of::<f64>()),
        "the array's 512 KiB at {address:#x} are still mapped after drop: Drop must munmap them,          or every array ever made stays in the address space"
    );
}

fn parallel_apply_speeds_up_a_cpu_heavy_function() {
    const LEN: usize = 100_000;
    let expected: Vec<f64> = (0..LEN).map(|index| heavy(index, index as f64)).collect();
    harness::timing::measure_speedup(|procs| {
        let mut array = numbered(LEN);
        apply(&mut array, procs, heavy);
        let wrong = array
            .as_slice()
            .iter()
            .zip(&expected)
            .position(|(got, want)| got != want);
        assert!(
            wrong.is_none(),
            "with {procs} processes, element {wrong:?} came out wrong"
        );
    });
}

harness::hidden_tests![
    a_new_array_is_zero_filled,
    parallel_apply_forks_procs_children,
    every_element_is_transformed_exactly_once,
    the_parent_does_none_of_the_work,
    the_children_compute_at_the_same_time,
    a_failing_child_names_its_chunk,
    no_child_is_left_unreaped,
    the_mapping_is_shared_and_released_on_drop,
    parallel_apply_speeds_up_a_cpu_heavy_function,
];
