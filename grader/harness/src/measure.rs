//! Measurements a hidden test takes of the code under test without trusting its clock: CPU
//! time (of one thread, or of the whole process with its children), and whether a thread is
//! blocked in the kernel, asked of [`crate::platform`].
//!
//! Tests use these to tell a consumer that sleeps in `Condvar::wait` from one that spins: both
//! take the same wall time, but only the spinner burns CPU time meanwhile.

use std::time::{Duration, Instant};

pub use crate::platform::ThreadId;

/// CPU time (user plus system) the calling thread has used since it started.
pub fn thread_cpu_time() -> Duration {
    crate::platform::thread_cpu_time()
}

/// CPU time (user plus system) of every thread of this process and of its children that have
/// been waited for: what the speedup timer charges a round with.
pub fn cpu_time_with_children() -> Duration {
    crate::platform::cpu_time_with_children()
}

/// The system's id of the calling thread, for [`wait_until_blocked`].
pub fn current_thread_id() -> ThreadId {
    crate::platform::current_thread_id()
}

/// Is thread `tid` of this process asleep in the kernel: waiting on a lock, a condition
/// variable, a pipe or a timer rather than running?
pub fn is_blocked(tid: ThreadId) -> bool {
    crate::platform::own_thread(tid).is_some_and(|thread| thread.state.is_blocked())
}

/// Waits until every thread in `tids` has been blocked on two looks in a row, a few
/// milliseconds apart, or until `patience` runs out. Returns whether they all were.
///
/// Tests use it before `close` or `pop` to be sure the threads they want to wake are really
/// waiting, not merely about to wait, so that what the test proves does not depend on timing.
pub fn wait_until_blocked(tids: &[ThreadId], patience: Duration) -> bool {
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
