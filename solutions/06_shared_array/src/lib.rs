//! Reference solution of exercise 06: an array shared by forked processes.

use std::io;
use std::num::NonZeroUsize;
use std::panic::{self, AssertUnwindSafe};
use std::ptr::NonNull;

use nix::sys::mman::{mmap_anonymous, munmap, MapFlags, ProtFlags};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};

/// Why [`parallel_apply`] did not finish.
#[derive(Debug)]
pub enum ApplyError {
    /// The child working on chunk `chunk` did not exit cleanly; `status` says how it ended.
    ChildFailed { chunk: usize, status: String },
    /// The operating system refused something: a fork, or a wait.
    Os(String),
}

// ANCHOR: shared_array
/// `f64`s in memory that forked children share with their parent: what a child writes, the
/// parent sees, with no copying.
pub struct SharedArray {
    /// The start of the mapping; dangling (and never mapped) when the array is empty.
    start: NonNull<f64>,
    len: usize,
}

impl SharedArray {
    /// A zero-filled array of `len` elements in an anonymous `MAP_SHARED` mapping.
    pub fn new(len: usize) -> io::Result<Self> {
        let Some(bytes) = NonZeroUsize::new(len * std::mem::size_of::<f64>()) else {
            // A mapping cannot be empty; an empty array needs none.
            return Ok(SharedArray {
                start: NonNull::dangling(),
                len: 0,
            });
        };
        // SAFETY: a fresh anonymous mapping aliases nothing. MAP_SHARED is the point: after a
        // fork, parent and children map the same physical pages, where MAP_PRIVATE would give
        // each child a copy-on-write copy whose changes the parent never sees. Anonymous
        // mappings start zero-filled, and zero bytes are 0.0.
        let start = unsafe {
            mmap_anonymous(
                None,
                bytes,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
            )?
        };
        Ok(SharedArray {
            start: start.cast(),
            len,
        })
    }
    // ANCHOR_END: shared_array

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn as_slice(&self) -> &[f64] {
        // SAFETY: `start` points at `len` initialised f64s (or dangles with `len == 0`), and
        // the borrow of `self` keeps the mapping alive.
        unsafe { std::slice::from_raw_parts(self.start.as_ptr(), self.len) }
    }

    pub fn as_mut_slice(&mut self) -> &mut [f64] {
        // SAFETY: as in `as_slice`, and `&mut self` makes this the only borrow.
        unsafe { std::slice::from_raw_parts_mut(self.start.as_ptr(), self.len) }
    }
}

// ANCHOR: drop
impl Drop for SharedArray {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: this is the mapping `new` made, of exactly this size, and no slice of it
            // outlives `self`.
            let _ = unsafe { munmap(self.start.cast(), self.len * std::mem::size_of::<f64>()) };
        }
    }
}
// ANCHOR_END: drop

// SAFETY: the array owns its mapping like a Box owns its memory; shared references only read.
unsafe impl Send for SharedArray {}
unsafe impl Sync for SharedArray {}

// ANCHOR: chunks
/// The half-open range of elements child `chunk` of `procs` works on. Rounding each boundary
/// down spreads the remainder over the chunks, the last chunk ends exactly at `len`, and with
/// `procs > len` some chunks are simply empty.
fn chunk_range(len: usize, procs: usize, chunk: usize) -> std::ops::Range<usize> {
    (chunk * len / procs)..((chunk + 1) * len / procs)
}
// ANCHOR_END: chunks

// ANCHOR: parallel_apply
/// Forks `procs` children; child `k` rewrites its own contiguous chunk in place as
/// `a[i] = f(i, a[i])`. The parent does none of the work: it forks, then waits for every
/// child, and reports the first chunk whose child failed.
pub fn parallel_apply(
    array: &mut SharedArray,
    procs: usize,
    f: fn(usize, f64) -> f64,
) -> Result<(), ApplyError> {
    if procs == 0 {
        return Err(ApplyError::Os("procs must be at least 1".into()));
    }
    let len = array.len();
    let mut children: Vec<(usize, Pid)> = Vec::with_capacity(procs);
    let mut fork_error = None;
    for chunk in 0..procs {
        // SAFETY: the child only computes on memory it owns a chunk of and then `_exit`s.
        match unsafe { fork() } {
            Ok(ForkResult::Child) => {
                let elements = array.as_mut_slice();
                let worked = panic::catch_unwind(AssertUnwindSafe(|| {
                    for i in chunk_range(len, procs, chunk) {
                        elements[i] = f(i, elements[i]);
                    }
                }));
                // SAFETY: ends the child at once, without returning into the parent's code.
                unsafe { libc::_exit(if worked.is_ok() { 0 } else { 101 }) }
            }
            Ok(ForkResult::Parent { child }) => children.push((chunk, child)),
            Err(errno) => {
                // Stop forking, but still reap the children already started.
                fork_error = Some(ApplyError::Os(format!(
                    "fork of child {chunk} failed: {errno}"
                )));
                break;
            }
        }
    }
    let mut first_failure = fork_error;
    for (chunk, child) in children {
        let failure = match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, 0)) => None,
            Ok(status) => Some(ApplyError::ChildFailed {
                chunk,
                status: format!("{status:?}"),
            }),
            Err(errno) => Some(ApplyError::Os(format!(
                "waiting for child {child}: {errno}"
            ))),
        };
        if first_failure.is_none() {
            first_failure = failure;
        }
    }
    first_failure.map_or(Ok(()), Err)
}
// ANCHOR_END: parallel_apply
