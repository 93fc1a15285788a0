//! Exercise 05: a process pool that talks over pipes.
//!
//! Build a small `ProcessPoolExecutor`: `new` forks worker processes, `map` sends each input
//! to a worker down a pipe and reads the answer back up another, and `shutdown` stops and
//! reaps every worker. Workers are processes, so they share no memory with the parent: every
//! task and every result is copied through a pipe as a *frame* (its length, then its bytes).
//!
//! The steps, in the order that makes the tests pass one by one:
//!
//! 1. `write_frame` and `read_frame`: a length prefix, then the payload.
//! 2. `start_worker`: two pipes, `fork`, and the child's loop.
//! 3. `new`, `workers`, `worker_pids`.
//! 4. `map`: at most one task in flight per worker, results read as they become ready.
//! 5. `replace_worker`: a worker that died fails its own task and gets a successor.
//! 6. `stop_all` (which `shutdown` and `Drop` call): stop, close, `waitpid`.
//!
//! `cargo xtask check 05` grades it; `cargo xtask hint 05` helps when you are stuck.

use std::fs::File;
use std::io;

use nix::unistd::Pid;

// ANCHOR: contract
/// The work a pool does: bytes in, bytes out. A plain function pointer, because a forked
/// worker shares the parent's code but nothing the parent builds after the fork.
pub type Job = fn(&[u8]) -> Vec<u8>;

/// Why one task has no result.
#[derive(Debug)]
pub enum TaskError {
    /// The worker running the task died before it answered (it crashed, aborted or was
    /// killed). The pool replaced it.
    WorkerDied { pid: i32 },
    /// The pool could not talk to its workers or start a new one.
    Io(String),
}

/// A pool of forked worker processes that run one [`Job`] on many inputs.
pub struct ProcessPool {
    job: Job,
    workers: Vec<Worker>,
}

// ANCHOR_END: contract

/// One worker process and the two pipes to it.
#[allow(dead_code)] // TODO: remove once you use every field
struct Worker {
    pid: Pid,
    /// Tasks go down this pipe.
    requests: File,
    /// Results come back up this one.
    results: File,
}

/// The length that means "stop" instead of "here is a task".
#[allow(dead_code)] // TODO: remove once stop_all sends it
const STOP: u64 = u64::MAX;

/// Step 1. Sends one frame: the length as 8 little-endian bytes, then the bytes.
///
/// Why not one line per message? A payload may contain any byte, newlines and zeros included.
#[allow(dead_code)]
fn write_frame(pipe: &mut File, payload: &[u8]) -> io::Result<()> {
    // TODO: `write_all` the length, then the payload.
    let _ = (pipe, payload);
    todo!("write the length prefix, then the payload")
}

/// Step 1. Receives one frame. Returns `Ok(None)` when the other side sent the [`STOP`] length
/// or closed the pipe before a new frame began (`read_exact` then fails with
/// `UnexpectedEof`).
#[allow(dead_code)]
fn read_frame(pipe: &mut File) -> io::Result<Option<Vec<u8>>> {
    // TODO: `read_exact` 8 bytes of length, then exactly that many bytes of payload.
    let _ = pipe;
    todo!("read the length prefix, then the payload")
}

impl ProcessPool {
    /// Step 3. Forks `workers` worker processes (at least one), each with a pipe for tasks and
    /// a pipe for results.
    pub fn new(workers: usize, job: Job) -> io::Result<Self> {
        // TODO: build an empty pool and push `start_worker()` results into it. If a later
        // fork fails, returning the error drops the pool, and `Drop` stops the others.
        let _ = (workers, job);
        todo!("fork the workers")
    }

    /// Step 2. Starts one worker.
    ///
    /// Make two pipes with `nix::unistd::pipe`, then `unsafe { nix::unistd::fork() }`:
    ///
    /// - In the child: close the parent's ends of every *other* worker's pipes (inherited
    ///   from the parent), loop on "read a frame, run `self.job`, write the answer" until
    ///   `read_frame` says stop, and leave with `libc::_exit`. Never return: the child would
    ///   run the caller's code a second time.
    /// - In the parent: close the child's ends and keep the task pipe's write end and the
    ///   result pipe's read end in a [`Worker`].
    #[allow(dead_code)]
    fn start_worker(&self) -> io::Result<Worker> {
        // TODO
        todo!("make the pipes and fork one worker")
    }

    /// How many workers the pool keeps running.
    pub fn workers(&self) -> usize {
        // TODO
        todo!()
    }

    /// The process ids of the current workers.
    pub fn worker_pids(&self) -> Vec<i32> {
        // TODO: `pid.as_raw()` of every worker.
        todo!()
    }

    /// Step 4. Runs the job on every input, spread over the workers, and returns the results
    /// in input order.
    ///
    /// Keep at most one task in flight per worker and read each result as soon as it is ready
    /// (`nix::poll::poll` on the result pipes of busy workers). Writing all the tasks before
    /// reading any answer deadlocks as soon as a payload is bigger than a pipe's buffer.
    pub fn map(&mut self, inputs: &[Vec<u8>]) -> Vec<Result<Vec<u8>, TaskError>> {
        // TODO
        let _ = inputs;
        todo!("send tasks, collect results in input order")
    }

    /// Step 5. Reaps the worker in slot `worker`, which died (its result pipe ended in the
    /// middle of a task, or its task pipe broke), forks a replacement into the same slot, and
    /// returns the error for the task it was running: `TaskError::WorkerDied { pid }`.
    #[allow(dead_code)]
    fn replace_worker(&mut self, worker: usize) -> TaskError {
        // TODO: `waitpid` the dead worker (so it is not left a zombie), then `start_worker`.
        let _ = worker;
        todo!("reap the dead worker and start another")
    }

    /// Stops every worker and waits for each, so that none is left as a zombie.
    pub fn shutdown(mut self) -> io::Result<()> {
        self.stop_all()
    }

    /// Step 6. For every worker: send the [`STOP`] length, close both pipes, then `waitpid`
    /// it. Take the workers out of `self` (`std::mem::take`) so that `Drop` after `shutdown`
    /// finds nothing left to do.
    fn stop_all(&mut self) -> io::Result<()> {
        // TODO
        let _ = (&self.job, &self.workers);
        todo!("stop and reap every worker")
    }
}

impl Drop for ProcessPool {
    fn drop(&mut self) {
        let _ = self.stop_all();
    }
}
