//! Measurements a hidden test takes of the code under test without trusting its clock: CPU
//! time (of one thread, or of the whole process with its children), and whether a thread is
//! blocked in the kernel. The harness's only CPU-time readers.
//!
//! Tests use these to tell a consumer that sleeps in `Condvar::wait` from one that spins: both
//! take the same wall time, but only the spinner burns CPU time meanwhile.

use std::time::{Duration, Instant};

/// CPU time (user plus system) the calling thread has used since it started.
pub fn thread_cpu_time() -> Duration {
    clock(libc::CLOCK_THREAD_CPUTIME_ID)
}

fn clock(id: libc::clockid_t) -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes into the struct it is given. It cannot fail for this
    // clock on Linux, so a failure would be a broken platform.
    let status = unsafe { libc::clock_gettime(id, &mut now) };
    assert!(status == 0, "clock_gettime({id}) failed on this system");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// CPU time (user plus system) of every thread of this process and of its children that have
/// been waited for: what the speedup timer charges a round with.
pub fn cpu_time_with_children() -> Duration {
    let of = |who| {
        // SAFETY: getrusage only writes into the struct it is given.
        let usage = unsafe {
            let mut usage: libc::rusage = std::mem::zeroed();
            libc::getrusage(who, &mut usage);
            usage
        };
        let seconds = |t: libc::timeval| {
            Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
        };
        seconds(usage.ru_utime) + seconds(usage.ru_stime)
    };
    of(libc::RUSAGE_SELF) + of(libc::RUSAGE_CHILDREN)
}

/// The kernel's id of the calling thread, for [`wait_until_blocked`].
pub fn current_thread_id() -> i32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() }
}

/// Is thread `tid` of this process asleep in the kernel (state `S` or `D`): waiting on a
/// lock, a condition variable, a pipe or a timer rather than running?
pub fn is_blocked(tid: i32) -> bool {
    crate::procfs::read_stat(format!("/proc/self/task/{tid}/stat"))
        .is_some_and(|stat| matches!(stat.state, 'S' | 'D'))
}

/// Waits until every thread in `tids` has been blocked on two looks in a row, a few
/// milliseconds apart, or until `patience` runs out. Returns whether they all were.
///
/// Tests use it before `close` or `pop` to be sure the threads they want to wake are really
/// waiting, not merely about to wait, so that what the test proves does not depend on timing.
pub fn wait_until_blocked(tids: &[i32], patience: Duration) -> bool {
    let deadline = Instant::now() + patience;
    let mut in_a_row = 0;
    while Instant::now() < deadline {
        if tids.iter().all(|tid| is_blocked(*tid)) {
            in_a_row += 1;
            if in_a_row == 2 {
                return true;
            }
        } else {
            in_a_row = 0;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}
