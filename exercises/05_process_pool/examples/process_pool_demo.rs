//! Shows, before you write the pool, the two facts it is built on.
//!
//! Run it with `cargo run -p process_pool --example process_pool_demo`.
//!
//! 1. `fork` returns twice. The child is a copy of the parent at the moment of the call, with
//!    its own process id; what it computes reaches the parent only through a pipe.
//! 2. A pipe holds a limited amount (64 KiB on Linux and macOS). A writer whose reader is busy writing
//!    too blocks for ever: the demo shows the limit by filling a pipe nobody reads, without
//!    blocking, and counting how much fitted.
//!
//! It uses `nix` directly, not your pool, so it works while `ProcessPool` is still `todo!()`.

use std::io::{Read, Write};

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::wait::waitpid;
use nix::unistd::{fork, pipe, ForkResult};

fn main() {
    println!("parent: process {}", std::process::id());
    let (read_end, write_end) = pipe().expect("a pipe");
    // SAFETY: this program has one thread here, and the child only computes, writes to the
    // pipe and leaves with `_exit`, so nothing of the parent's state is used half-copied.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            drop(read_end);
            let sum: u64 = (1..=10_000_000u64).sum();
            let mut pipe = std::fs::File::from(write_end);
            let _ = writeln!(pipe, "{} {sum}", std::process::id());
            drop(pipe);
            // SAFETY: leaves the child at once, without running the parent's destructors.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => {
            drop(write_end);
            let mut answer = String::new();
            std::fs::File::from(read_end)
                .read_to_string(&mut answer)
                .expect("the child's answer");
            waitpid(child, None).expect("the child is reaped");
            let mut fields = answer.split_whitespace();
            let (pid, sum) = (fields.next().unwrap_or("?"), fields.next().unwrap_or("?"));
            println!("child:  process {pid} (fork returned {child} to the parent, 0 to the child)");
            println!("        computed 1 + 2 + … + 10 000 000 = {sum} and sent it through a pipe");
        }
    }

    let (_read_end, write_end) = pipe().expect("a pipe");
    fcntl(&write_end, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).expect("a non-blocking pipe");
    let mut pipe = std::fs::File::from(write_end);
    let chunk = [0u8; 4096];
    let mut fitted = 0;
    while let Ok(written) = pipe.write(&chunk) {
        fitted += written;
    }
    println!(
        "a pipe nobody reads took {} KiB, then a blocking writer would have waited for ever:",
        fitted / 1024
    );
    println!("so a pool must read answers while it sends tasks, never all tasks first.");
}
