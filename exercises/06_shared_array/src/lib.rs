//! Exercise 06: an array shared by forked processes.
//!
//! A process pool (exercise 05) copies every task and every result through a pipe. For a big
//! array of numbers that copying can cost more than the computation. Here the parent and its
//! children share the array's memory instead: each child rewrites its own chunk in place, and
//! the parent sees the result without a single byte copied.
//!
//! The steps:
//!
//! 1. `SharedArray::new`: an anonymous `MAP_SHARED` mapping, zero-filled.
//! 2. `as_slice`, `as_mut_slice`, `len`, `is_empty`.
//! 3. `Drop`: `munmap`.
//! 4. `chunk_range`: which elements child `k` of `procs` owns.
//! 5. `parallel_apply`: fork, compute in the children, wait for every child.
//!
//! `cargo xtask check 06` grades it; `cargo xtask hint 06` helps when you are stuck.

use std::io;
use std::ptr::NonNull;

/// Why [`parallel_apply`] did not finish.
#[derive(Debug)]
pub enum ApplyError {
    /// The child working on chunk `chunk` did not exit cleanly; `status` says how it ended.
    ChildFailed { chunk: usize, status: String },
    /// The operating system refused something: a fork, or a wait.
    Os(String),
}

/// `f64`s in memory that forked children share with their parent: what a child writes, the
/// parent sees, with no copying.
pub struct SharedArray {
    /// The start of the mapping; dangling (and never mapped) when the array is empty.
    start: NonNull<f64>,
    len: usize,
}

impl SharedArray {
    /// Step 1. A zero-filled array of `len` elements in an anonymous `MAP_SHARED` mapping.
    ///
    /// Use `nix::sys::mman::mmap_anonymous` with `PROT_READ | PROT_WRITE` and
    /// `MapFlags::MAP_SHARED`. Why shared? After `fork`, a `MAP_PRIVATE` mapping is copied
    /// page by page the moment a child writes to it, and the copy dies with the child. A
    /// mapping cannot be zero bytes long: for `len == 0`, use `NonNull::dangling()` and map
    /// nothing.
    pub fn new(len: usize) -> io::Result<Self> {
        // TODO
        let _ = len;
        todo!("map len * 8 bytes, shared, readable and writable")
    }

    /// Step 2.
    pub fn len(&self) -> usize {
        // TODO
        todo!()
    }

    /// Step 2.
    pub fn is_empty(&self) -> bool {
        // TODO
        todo!()
    }

    /// Step 2. `std::slice::from_raw_parts` over the mapping.
    pub fn as_slice(&self) -> &[f64] {
        // TODO
        let _ = (self.start, self.len);
        todo!()
    }

    /// Step 2. `std::slice::from_raw_parts_mut` over the mapping.
    pub fn as_mut_slice(&mut self) -> &mut [f64] {
        // TODO
        todo!()
    }
}

impl Drop for SharedArray {
    /// Step 3. `nix::sys::mman::munmap` the mapping (when there is one), or it stays in the
    /// address space until the process ends.
    fn drop(&mut self) {
        // TODO
    }
}

// SAFETY: the array owns its mapping like a Box owns its memory; shared references only read.
unsafe impl Send for SharedArray {}
unsafe impl Sync for SharedArray {}

/// Step 4. The half-open range of elements child `chunk` of `procs` works on. Every element
/// must belong to exactly one chunk, also when `len` is not a multiple of `procs` and when
/// `procs > len` (then some chunks are empty).
#[allow(dead_code)]
fn chunk_range(len: usize, procs: usize, chunk: usize) -> std::ops::Range<usize> {
    // TODO
    let _ = (len, procs, chunk);
    todo!("the bounds of one chunk")
}

// ANCHOR: parallel_apply
/// Step 5. Forks `procs` children (at least 1, even when `procs > len`); child `k` rewrites
/// its own chunk in place as `a[i] = f(i, a[i])` and leaves with `libc::_exit`. The parent
/// does none of the work: it forks every child, then `waitpid`s each one, and returns
/// `Err(ApplyError::ChildFailed { chunk, status })` for a child that did not exit with 0.
pub fn parallel_apply(
    array: &mut SharedArray,
    procs: usize,
    f: fn(usize, f64) -> f64,
) -> Result<(), ApplyError> {
    // TODO
    let _ = (array, procs, f);
    todo!("fork, compute in the children, reap them all")
}
// ANCHOR_END: parallel_apply
