//! Reference solution of exercise 05: a process pool that talks over pipes.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::panic::{self, AssertUnwindSafe};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::{fork, pipe, ForkResult, Pid};

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

/// One worker process and the two pipes to it.
struct Worker {
    pid: Pid,
    /// Tasks go down this pipe.
    requests: File,
    /// Results come back up this one.
    results: File,
}

/// The length that means "stop" instead of "here is a task".
const STOP: u64 = u64::MAX;

// ANCHOR: framing
/// Sends one frame: the length as 8 little-endian bytes, then the bytes. The length says
/// where a message ends, so a payload may hold any bytes at all, newlines and zeros included.
fn write_frame(pipe: &mut File, payload: &[u8]) -> io::Result<()> {
    pipe.write_all(&(payload.len() as u64).to_le_bytes())?;
    pipe.write_all(payload)
}

/// Receives one frame; `None` when the other side sent the stop length or closed the pipe
/// before a new frame began.
fn read_frame(pipe: &mut File) -> io::Result<Option<Vec<u8>>> {
    let mut length = [0u8; 8];
    match pipe.read_exact(&mut length) {
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        other => other?,
    }
    let length = u64::from_le_bytes(length);
    if length == STOP {
        return Ok(None);
    }
    let mut payload = vec![0u8; length as usize];
    pipe.read_exact(&mut payload)?;
    Ok(Some(payload))
}
// ANCHOR_END: framing

/// A worker's whole life: answer tasks until told to stop.
fn serve(job: Job, mut requests: File, mut results: File) -> io::Result<()> {
    while let Some(task) = read_frame(&mut requests)? {
        write_frame(&mut results, &job(&task))?;
    }
    Ok(())
}

impl ProcessPool {
    /// Forks `workers` worker processes, each with a pipe for tasks and a pipe for results.
    pub fn new(workers: usize, job: Job) -> io::Result<Self> {
        if workers == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a pool needs at least one worker",
            ));
        }
        let mut pool = ProcessPool {
            job,
            workers: Vec::with_capacity(workers),
        };
        for _ in 0..workers {
            // On an error, dropping `pool` stops and reaps the workers already started.
            let worker = pool.start_worker()?;
            pool.workers.push(worker);
        }
        Ok(pool)
    }

    // ANCHOR: fork
    fn start_worker(&self) -> io::Result<Worker> {
        // Plain `pipe`, not `pipe2`: macOS has no `pipe2`. The workers are forked, never
        // exec'd, so close-on-exec would change nothing.
        let (request_read, request_write) = pipe()?;
        let (result_read, result_write) = pipe()?;
        // SAFETY: the child only runs the job and plain reads and writes, then `_exit`s; the
        // tests and the pool run no other threads that could hold a lock across the fork.
        match unsafe { fork() }? {
            ForkResult::Child => {
                // The child inherited the parent's ends of every other worker's pipes. Closing
                // them means a worker's pipes have exactly two ends: its own and the parent's.
                for other in &self.workers {
                    // SAFETY: closing descriptors this process owns and never uses again.
                    unsafe {
                        libc::close(other.requests.as_raw_fd());
                        libc::close(other.results.as_raw_fd());
                    }
                }
                drop(request_write);
                drop(result_read);
                let job = self.job;
                let served = panic::catch_unwind(AssertUnwindSafe(|| {
                    serve(job, File::from(request_read), File::from(result_write))
                }));
                let code = match served {
                    Ok(Ok(())) => 0,
                    Ok(Err(_)) => 1,
                    Err(_) => 101,
                };
                // `_exit`, not `exit` or a return: the child must never run the parent's code
                // again, flush the parent's buffers twice, or run its destructors.
                // SAFETY: ends this process immediately.
                unsafe { libc::_exit(code) }
            }
            ForkResult::Parent { child } => Ok(Worker {
                pid: child,
                requests: File::from(request_write),
                results: File::from(result_read),
            }),
        }
    }
    // ANCHOR_END: fork

    /// How many workers the pool keeps running.
    pub fn workers(&self) -> usize {
        self.workers.len()
    }

    /// The process ids of the current workers.
    pub fn worker_pids(&self) -> Vec<i32> {
        self.workers
            .iter()
            .map(|worker| worker.pid.as_raw())
            .collect()
    }

    // ANCHOR: map
    /// Runs the job on every input, spread over the workers, and returns the results in input
    /// order. Each worker has at most one task in flight, and a result is read as soon as it
    /// is ready, so neither side ever waits on a full pipe that the other is not draining.
    pub fn map(&mut self, inputs: &[Vec<u8>]) -> Vec<Result<Vec<u8>, TaskError>> {
        let mut results: Vec<Option<Result<Vec<u8>, TaskError>>> =
            inputs.iter().map(|_| None).collect();
        let mut in_flight: Vec<Option<usize>> = vec![None; self.workers.len()];
        let mut next_task = 0;
        loop {
            for worker in 0..self.workers.len() {
                if in_flight[worker].is_none() && next_task < inputs.len() {
                    let task = next_task;
                    next_task += 1;
                    match write_frame(&mut self.workers[worker].requests, &inputs[task]) {
                        Ok(()) => in_flight[worker] = Some(task),
                        Err(_) => results[task] = Some(Err(self.replace_worker(worker))),
                    }
                }
            }
            if in_flight.iter().all(Option::is_none) {
                if next_task >= inputs.len() {
                    break;
                }
                continue;
            }
            let ready = match self.ready_workers(&in_flight) {
                Ok(ready) => ready,
                Err(error) => {
                    for task in in_flight.iter_mut().filter_map(Option::take) {
                        results[task] = Some(Err(TaskError::Io(error.to_string())));
                    }
                    continue;
                }
            };
            for worker in ready {
                let Some(task) = in_flight[worker].take() else {
                    continue;
                };
                results[task] = Some(match read_frame(&mut self.workers[worker].results) {
                    Ok(Some(output)) => Ok(output),
                    // End of file in the middle of a task: the worker is gone.
                    Ok(None) | Err(_) => Err(self.replace_worker(worker)),
                });
            }
        }
        results
            .into_iter()
            .map(|result| result.expect("every task is answered before the loop ends"))
            .collect()
    }
    // ANCHOR_END: map

    /// Waits until at least one worker with a task in flight has something to read (a result,
    /// or end of file because it died) and returns those workers.
    fn ready_workers(&self, in_flight: &[Option<usize>]) -> io::Result<Vec<usize>> {
        let busy: Vec<usize> = (0..self.workers.len())
            .filter(|worker| in_flight[*worker].is_some())
            .collect();
        let mut poll_fds: Vec<PollFd> = busy
            .iter()
            .map(|worker| PollFd::new(self.workers[*worker].results.as_fd(), PollFlags::POLLIN))
            .collect();
        loop {
            match poll(&mut poll_fds, PollTimeout::NONE) {
                Ok(_) => break,
                Err(Errno::EINTR) => continue,
                Err(errno) => return Err(errno.into()),
            }
        }
        Ok(busy
            .iter()
            .zip(&poll_fds)
            .filter(|(_, fd)| fd.revents().is_some_and(|events| !events.is_empty()))
            .map(|(worker, _)| *worker)
            .collect())
    }

    // ANCHOR: replace
    /// Reaps a worker that died and starts another in its place. Returns the error for the
    /// task it was running.
    fn replace_worker(&mut self, worker: usize) -> TaskError {
        let pid = self.workers[worker].pid;
        // It may still be on its way out; make sure, then collect its exit status.
        let _ = kill(pid, Signal::SIGKILL);
        let _ = waitpid(pid, None);
        match self.start_worker() {
            Ok(replacement) => {
                self.workers[worker] = replacement;
                TaskError::WorkerDied { pid: pid.as_raw() }
            }
            Err(error) => TaskError::Io(format!(
                "worker {pid} died and no replacement could be started: {error}"
            )),
        }
    }
    // ANCHOR_END: replace

    /// Stops every worker and waits for each, so that none is left as a zombie.
    pub fn shutdown(mut self) -> io::Result<()> {
        self.stop_all()
    }

    // ANCHOR: stop
    fn stop_all(&mut self) -> io::Result<()> {
        let mut first_error = None;
        for mut worker in std::mem::take(&mut self.workers) {
            // A worker that already died cannot read this; the wait below still reaps it.
            let _ = worker.requests.write_all(&STOP.to_le_bytes());
            drop(worker.requests);
            drop(worker.results);
            match waitpid(worker.pid, None) {
                // ECHILD: a worker whose replacement failed was already reaped.
                Ok(_) | Err(Errno::ECHILD) => {}
                Err(errno) => {
                    first_error.get_or_insert(io::Error::from(errno));
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }
    // ANCHOR_END: stop
}

impl Drop for ProcessPool {
    fn drop(&mut self) {
        let _ = self.stop_all();
    }
}
