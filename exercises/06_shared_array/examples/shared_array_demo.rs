//! Shows, before you write `SharedArray`, why the mapping must be `MAP_SHARED`.
//!
//! Run it with `cargo run -p shared_array --example shared_array_demo`.
//!
//! After `fork`, the child's memory is a copy of the parent's: what the child writes to an
//! ordinary vector, or to a `MAP_PRIVATE` mapping, the parent never sees. Only a `MAP_SHARED`
//! mapping is the same memory in both processes. The demo maps one page each way, lets a child
//! write 42 into both, and prints what the parent reads afterwards.
//!
//! It uses `nix` directly, not your `SharedArray`, so it works while that is still `todo!()`.

use std::num::NonZeroUsize;

use nix::sys::mman::{mmap_anonymous, munmap, MapFlags, ProtFlags};
use nix::sys::wait::waitpid;
use nix::unistd::{fork, ForkResult};

fn main() {
    let length = NonZeroUsize::new(4096).expect("a page is not empty");
    let protection = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
    // SAFETY: fresh anonymous mappings, used only as u64 cells below and unmapped at the end.
    let (shared, private) = unsafe {
        (
            mmap_anonymous(None, length, protection, MapFlags::MAP_SHARED).expect("mmap"),
            mmap_anonymous(None, length, protection, MapFlags::MAP_PRIVATE).expect("mmap"),
        )
    };
    let shared_cell = shared.cast::<u64>().as_ptr();
    let private_cell = private.cast::<u64>().as_ptr();
    let mut ordinary = vec![0u64; 1];

    // SAFETY: one thread here; the child only writes the three cells and leaves with `_exit`.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            // SAFETY: both cells lie inside their live mappings.
            unsafe {
                *shared_cell = 42;
                *private_cell = 42;
            }
            ordinary[0] = 42;
            // SAFETY: leaves the child at once, without running the parent's destructors.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => {
            waitpid(child, None).expect("the child is reaped");
            // SAFETY: both cells lie inside their live mappings.
            let (seen_shared, seen_private) = unsafe { (*shared_cell, *private_cell) };
            println!("the child wrote 42 three times; the parent reads:");
            println!("  MAP_SHARED mapping:  {seen_shared}   (the same memory in both)");
            println!("  MAP_PRIVATE mapping: {seen_private}    (the child wrote its own copy)");
            println!("  ordinary Vec:        {}    (likewise)", ordinary[0]);
        }
    }
    // SAFETY: each mapping is unmapped once, with the length it was made with.
    unsafe {
        munmap(shared, length.get()).expect("munmap");
        munmap(private, length.get()).expect("munmap");
    }
}
