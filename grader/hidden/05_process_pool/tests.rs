//! Hidden tests of exercise 05: a process pool over pipes.
//!
//! Every job below is a plain function, because the workers are forked copies of this test
//! process and a function pointer means the same code in each of them. Each test runs in a
//! fresh single-threaded process, which is what makes `fork` safe here.

use std::sync::OnceLock;
use std::time::Duration;

use harness::rendezvous::Rendezvous;
use process_pool::{ProcessPool, TaskError};

/// One MiB, the payload size that no pipe buffer (64 KiB on Linux) can hold.
const MIB: usize = 1024 * 1024;

fn echo(input: &[u8]) -> Vec<u8> {
    input.to_vec()
}

fn reverse_and_mark(input: &[u8]) -> Vec<u8> {
    let mut output: Vec<u8> = input.iter().rev().copied().collect();
    output.push(b'!');
    output
}

/// Sleeps as many milliseconds as the first byte says, so that early tasks finish last.
fn sleep_by_first_byte(input: &[u8]) -> Vec<u8> {
    std::thread::sleep(Duration::from_millis(u64::from(input[0])));
    input.to_vec()
}

/// Reports which process ran the task. The short sleep keeps every worker busy long enough
/// that a pool handing out tasks fairly gives each worker some.
fn pid_of_runner(_input: &[u8]) -> Vec<u8> {
    std::thread::sleep(Duration::from_millis(2));
    std::process::id().to_le_bytes().to_vec()
}

/// The rendezvous of `meet_the_other_workers`, made before the pool forks its workers.
static MEETING: OnceLock<&'static Rendezvous> = OnceLock::new();

/// Waits until every worker runs a task at the same time, and answers whether they did.
fn meet_the_other_workers(_input: &[u8]) -> Vec<u8> {
    let met = MEETING
        .get()
        .expect("the test makes the rendezvous before the pool")
        .arrive();
    vec![u8::from(met)]
}

fn invert_bits(input: &[u8]) -> Vec<u8> {
    input.iter().map(|byte| !byte).collect()
}

fn abort_on_die(input: &[u8]) -> Vec<u8> {
    if input == b"die" {
        // A hard crash of the worker, as a segfault or an out-of-memory kill would be.
        std::process::abort();
    }
    input.to_vec()
}

/// The CPU-bound job of the timing test: the first 8 bytes say how many rounds of an integer
/// hash to run.
fn spin_hash(input: &[u8]) -> Vec<u8> {
    let rounds = u64::from_le_bytes(input[..8].try_into().expect("8 bytes of round count"));
    let mut state = u64::from_le_bytes(input[8..16].try_into().expect("8 bytes of seed")) | 1;
    for _ in 0..rounds {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
    }
    state.to_le_bytes().to_vec()
}

fn start(workers: usize, job: process_pool::Job) -> ProcessPool {
    ProcessPool::new(workers, job)
        .unwrap_or_else(|error| panic!("ProcessPool::new({workers}, ..) failed: {error}"))
}

/// Unwraps one result, saying which task failed and how.
fn expect_ok(results: &[Result<Vec<u8>, TaskError>], task: usize) -> &[u8] {
    assert!(
        task < results.len(),
        "map returned only {} results, so task {task} has none: map must return one result per input",
        results.len()
    );
    match &results[task] {
        Ok(output) => output,
        Err(error) => panic!(
            "task {task} of {} failed with {error:?}, but its job cannot fail",
            results.len()
        ),
    }
}

fn assert_no_children_left(after: &str) {
    if let Some(left) = harness::leftover_children() {
        panic!(
            "after {after}: {left}. Every worker must be told to stop and then reaped with \
             waitpid, or it stays in the process table"
        );
    }
}

/// Pools of 1, 2 and 3 workers: an answer that is not the pool's own size (the number of CPUs,
/// say) is wrong for at least two of them on any machine.
fn workers_says_how_many_workers_the_pool_keeps() {
    for size in 1..=3 {
        let pool = start(size, echo);
        let pids = pool.worker_pids();
        assert!(
            pool.workers() == size && pids.len() == size,
            "ProcessPool::new({size}, ..) keeps {size} workers, but workers() says {} and \
             worker_pids() lists {pids:?}: both must describe the workers this pool keeps",
            pool.workers()
        );
        pool.shutdown()
            .unwrap_or_else(|error| panic!("shutdown of a pool of {size} failed: {error}"));
    }
}

fn map_returns_results_in_input_order() {
    let mut pool = start(3, reverse_and_mark);
    assert_eq!(
        pool.workers(),
        3,
        "ProcessPool::new(3, ..) must start 3 workers"
    );
    let inputs: Vec<Vec<u8>> = (0..20u8)
        .map(|task| (0..task).map(|byte| byte.wrapping_mul(37)).collect())
        .collect();
    let results = pool.map(&inputs);
    assert_eq!(
        results.len(),
        inputs.len(),
        "map must return one result per input"
    );
    for (task, input) in inputs.iter().enumerate() {
        let output = expect_ok(&results, task);
        assert_eq!(
            output,
            reverse_and_mark(input).as_slice(),
            "result {task} is not the job's answer to input {task} (an input of {} bytes)",
            input.len()
        );
    }
    assert!(
        pool.map(&[]).is_empty(),
        "map on no inputs must return no results"
    );
}

/// Early tasks sleep longest, so results arrive in reverse; they must still come back in
/// input order.
fn map_keeps_input_order_when_tasks_finish_out_of_order() {
    let mut pool = start(3, sleep_by_first_byte);
    let inputs: Vec<Vec<u8>> = (0..12u8).map(|task| vec![(12 - task) * 3, task]).collect();
    let results = pool.map(&inputs);
    for (task, input) in inputs.iter().enumerate() {
        let output = expect_ok(&results, task);
        assert!(
            output == input.as_slice(),
            "result {task} is {output:?}, the answer to input {:?}: results were returned in the \
             order they finished, not in the order of the inputs",
            inputs.iter().position(|i| i.as_slice() == output)
        );
    }
}

fn tasks_run_in_several_workers_and_never_in_the_parent() {
    let mut pool = start(2, pid_of_runner);
    let workers = pool.worker_pids();
    let inputs: Vec<Vec<u8>> = (0..16u8).map(|task| vec![task]).collect();
    let results = pool.map(&inputs);
    let me = std::process::id() as i32;
    let mut runners: Vec<i32> = (0..inputs.len())
        .map(|task| {
            i32::from_le_bytes(
                expect_ok(&results, task)
                    .try_into()
                    .expect("a pid is 4 bytes"),
            )
        })
        .collect();
    let in_parent = runners.iter().filter(|pid| **pid == me).count();
    assert!(
        in_parent == 0,
        "{in_parent} of 16 tasks ran in the parent process {me}: the workers must do the work, \
         or nothing runs in parallel"
    );
    for pid in &runners {
        assert!(
            workers.contains(pid),
            "a task ran in process {pid}, which is not one of the workers {workers:?}"
        );
    }
    runners.sort_unstable();
    runners.dedup();
    assert!(
        runners.len() >= 2,
        "all 16 tasks ran in the one worker {:?} of 2 ({workers:?}): tasks must be spread over \
         every worker, or the pool is no faster than a loop",
        runners
    );
}

/// Each task waits until every worker runs one at the same time. A pool that hands out one
/// task and waits for its answer before sending the next never gets them together; the
/// rendezvous sees, without a clock, that nothing can move any more, and lets the task go.
fn every_worker_runs_a_task_at_the_same_time() {
    const WORKERS: usize = 3;
    let rendezvous = *MEETING.get_or_init(|| Rendezvous::new(WORKERS as u32));
    let mut pool = start(WORKERS, meet_the_other_workers);
    let inputs: Vec<Vec<u8>> = (0..2 * WORKERS as u8).map(|task| vec![task]).collect();
    let results = rendezvous.watch(|| {}, || pool.map(&inputs));
    for task in 0..inputs.len() {
        expect_ok(&results, task);
    }
    assert!(
        rendezvous.met(),
        "the {WORKERS} workers never ran tasks at the same time: at most {} of them had a task \
         at once, and then nothing moved. map must hand a task to every idle worker before it \
         waits for any answer, or the workers take turns and the pool is no faster than a loop",
        rendezvous.arrived()
    );
    pool.shutdown()
        .unwrap_or_else(|error| panic!("shutdown failed: {error}"));
}

fn one_mib_payloads_cross_both_ways_without_deadlock() {
    let mut pool = start(2, invert_bits);
    let inputs: Vec<Vec<u8>> = (0..6u8)
        .map(|task| {
            (0..MIB)
                .map(|i| (i as u8).wrapping_add(task.wrapping_mul(71)))
                .collect()
        })
        .collect();
    let results = pool.map(&inputs);
    for (task, input) in inputs.iter().enumerate() {
        let output = expect_ok(&results, task);
        assert!(
            output.len() == MIB && output.iter().zip(input).all(|(out, inp)| *out == !inp),
            "result {task} of 1 MiB came back wrong ({} bytes): the frames of large payloads \
             were cut or mixed up",
            output.len()
        );
    }
}

fn binary_payloads_of_any_bytes_survive() {
    let mut pool = start(2, echo);
    let inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"\n".to_vec(),
        b"two\nlines\n".to_vec(),
        vec![0; 9],
        (0..=255u8).collect(),
        (0..=255u8).rev().cycle().take(70_000).collect(),
        u64::MAX.to_le_bytes().to_vec(),
        Vec::new(),
    ];
    let results = pool.map(&inputs);
    for (task, input) in inputs.iter().enumerate() {
        let output = expect_ok(&results, task);
        assert!(
            output == input.as_slice(),
            "input {task} ({} bytes, starting {:?}) came back as {} bytes starting {:?}: \
             messages must be framed by their length, because a payload may contain any byte, \
             newlines and zeros included",
            input.len(),
            &input[..input.len().min(8)],
            output.len(),
            &output[..output.len().min(8)]
        );
    }
}

fn a_dying_worker_fails_only_its_task_and_is_replaced() {
    let mut pool = start(2, abort_on_die);
    let before = pool.worker_pids();
    let inputs: Vec<Vec<u8>> = ["a", "b", "die", "c", "d", "e", "f"]
        .iter()
        .map(|text| text.as_bytes().to_vec())
        .collect();
    let results = pool.map(&inputs);
    match &results[2] {
        Err(TaskError::WorkerDied { pid }) => assert!(
            before.contains(pid),
            "WorkerDied names process {pid}, which is not one of the workers {before:?}"
        ),
        other => panic!(
            "the worker running task 2 aborted, so task 2 must be Err(WorkerDied {{ pid }}), \
             not {other:?}"
        ),
    }
    for task in [0, 1, 3, 4, 5, 6] {
        assert_eq!(
            expect_ok(&results, task),
            inputs[task].as_slice(),
            "task {task} did not die, so its result must be unaffected"
        );
    }
    let after = pool.worker_pids();
    assert!(
        pool.workers() == 2 && after.len() == 2,
        "after a worker died the pool has {} workers ({after:?}), not 2: it must start a \
         replacement",
        pool.workers()
    );
    let zombies: Vec<i32> = harness::child_processes()
        .into_iter()
        .filter(|child| child.zombie)
        .map(|child| child.pid)
        .collect();
    assert!(
        zombies.is_empty(),
        "worker {zombies:?} died but was never waited for: reap a dead worker before replacing it"
    );
    let again = pool.map(&[b"still".to_vec(), b"working".to_vec(), b"fine".to_vec()]);
    for task in 0..3 {
        expect_ok(&again, task);
    }
    pool.shutdown()
        .unwrap_or_else(|error| panic!("shutdown after a replaced worker failed: {error}"));
}

fn shutdown_and_drop_leave_no_zombie_and_no_orphan() {
    let mut pool = start(3, echo);
    let results = pool.map(&[b"x".to_vec(), b"y".to_vec(), b"z".to_vec()]);
    expect_ok(&results, 0);
    pool.shutdown()
        .unwrap_or_else(|error| panic!("shutdown failed: {error}"));
    assert_no_children_left("shutdown()");

    let pool = start(2, echo);
    drop(pool);
    assert_no_children_left("dropping a pool without calling shutdown");
}

fn pool_speeds_up_cpu_bound_work() {
    const TASKS: u64 = 32;
    const ROUNDS_PER_TASK: u64 = 2_500_000;
    let inputs: Vec<Vec<u8>> = (0..TASKS)
        .map(|task| [ROUNDS_PER_TASK.to_le_bytes(), (task * 7919).to_le_bytes()].concat())
        .collect();
    let expected: Vec<Vec<u8>> = inputs.iter().map(|input| spin_hash(input)).collect();
    harness::timing::measure_speedup(|workers| {
        let mut pool = start(workers, spin_hash);
        let results = pool.map(&inputs);
        for (task, want) in expected.iter().enumerate() {
            assert_eq!(
                expect_ok(&results, task),
                want.as_slice(),
                "with {workers} workers, task {task} gave a wrong result"
            );
        }
        pool.shutdown()
            .unwrap_or_else(|error| panic!("shutdown failed: {error}"));
    });
}

harness::hidden_tests![
    workers_says_how_many_workers_the_pool_keeps,
    map_returns_results_in_input_order,
    map_keeps_input_order_when_tasks_finish_out_of_order,
    tasks_run_in_several_workers_and_never_in_the_parent,
    every_worker_runs_a_task_at_the_same_time,
    one_mib_payloads_cross_both_ways_without_deadlock,
    binary_payloads_of_any_bytes_survive,
    a_dying_worker_fails_only_its_task_and_is_replaced,
    shutdown_and_drop_leave_no_zombie_and_no_orphan,
    pool_speeds_up_cpu_bound_work,
];
