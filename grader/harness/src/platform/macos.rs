//! macOS: processes and their threads through libproc (`proc_listallpids`, `proc_pidinfo`, as
//! bound by `libc`), this process's threads through Mach (`mach2`), waiting on shared memory
//! through `__ulock_wait`. Type-checked from Linux by `cargo xtask xcheck`; no Mac runs it in
//! this project's CI (the GitHub workflow's macos-latest job does).
//!
//! What macOS does not tell: the kernel function or system call a thread waits in (so
//! [`Thread::wait`] is always `None`), and it does not enforce `RLIMIT_AS`, has no
//! parent-death signal and keeps POSIX shared memory out of the file system.

use std::collections::HashSet;
use std::ffi::{c_int, c_void};
use std::mem::{size_of, MaybeUninit};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

use super::{Pid, Process, RunState, Thread, ThreadId};

pub const MEMORY_CAP_ENFORCED: bool = false;
pub const DIES_WITH_PARENT: bool = false;
pub const SUBREAPER: bool = false;
pub const SHM_FOLDER: Option<&str> = None;

// From <sys/proc_info.h>, which `libc` does not bind: list a process's threads by id, and
// read one thread's info by that id.
const PROC_PIDLISTTHREADIDS: c_int = 28;
const PROC_PIDTHREADID64INFO: c_int = 15;

// From <sys/ulock.h> (stable since macOS 10.12; what libc++'s atomic wait is built on): a
// compare-and-wait on a 32-bit word that other processes may map too.
const UL_COMPARE_AND_WAIT_SHARED: u32 = 3;
const ULF_WAKE_ALL: u32 = 0x0000_0100;
extern "C" {
    fn __ulock_wait(operation: u32, address: *mut c_void, value: u64, timeout_us: u32) -> c_int;
    fn __ulock_wake(operation: u32, address: *mut c_void, wake_value: u64) -> c_int;
}

/// One `proc_pidinfo` call for a fixed-size answer; `None` if the process is gone or hidden.
fn pid_info<T>(pid: Pid, flavor: c_int, argument: u64) -> Option<T> {
    let mut info = MaybeUninit::<T>::zeroed();
    let size = size_of::<T>() as c_int;
    // SAFETY: proc_pidinfo writes at most `size` bytes into the buffer it is given, and every
    // type it is used with here is plain integers, for which zeroed memory is valid.
    let written =
        unsafe { libc::proc_pidinfo(pid, flavor, argument, info.as_mut_ptr().cast(), size) };
    // SAFETY: the kernel filled the whole struct.
    (written == size).then(|| unsafe { info.assume_init() })
}

/// A `proc_pidinfo`-style call that fills an array: grows the buffer until it fits.
fn list<T: Copy + Default>(fill: impl Fn(*mut c_void, c_int) -> c_int) -> Vec<T> {
    let mut capacity = 256;
    loop {
        let mut buffer = vec![T::default(); capacity];
        let bytes = (capacity * size_of::<T>()) as c_int;
        let written = fill(buffer.as_mut_ptr().cast(), bytes);
        if written <= 0 {
            return Vec::new();
        }
        let count = written as usize / size_of::<T>();
        if count < capacity {
            buffer.truncate(count);
            return buffer;
        }
        capacity *= 2;
    }
}

fn name_of(bytes: &[libc::c_char]) -> String {
    let bytes: Vec<u8> = bytes
        .iter()
        .take_while(|b| **b != 0)
        .map(|b| *b as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Mach absolute time units (what libproc reports CPU time in on Apple silicon) to time.
fn mach_time(units: u64) -> Duration {
    let mut timebase = mach2::mach_time::mach_timebase_info { numer: 0, denom: 0 };
    // SAFETY: mach_timebase_info only writes into the struct it is given.
    unsafe { mach2::mach_time::mach_timebase_info(&mut timebase) };
    let nanos = units as u128 * timebase.numer.max(1) as u128 / timebase.denom.max(1) as u128;
    Duration::from_nanos(nanos as u64)
}

fn bsd_state(status: u32) -> RunState {
    match status {
        libc::SZOMB => RunState::Zombie,
        libc::SSTOP => RunState::Stopped,
        libc::SSLEEP => RunState::Sleeping,
        libc::SRUN => RunState::Running,
        _ => RunState::Other,
    }
}

fn thread_state(run_state: i32) -> RunState {
    match run_state {
        libc::TH_STATE_RUNNING => RunState::Running,
        libc::TH_STATE_WAITING => RunState::Sleeping,
        libc::TH_STATE_UNINTERRUPTIBLE => RunState::Uninterruptible,
        libc::TH_STATE_STOPPED => RunState::Stopped,
        _ => RunState::Other,
    }
}

pub fn runnable_threads_on_machine() -> Option<usize> {
    // macOS has no count of runnable threads; the one-minute load average is the nearest.
    let mut load = [0f64; 1];
    // SAFETY: getloadavg writes at most `nelem` doubles into the buffer it is given.
    let filled = unsafe { libc::getloadavg(load.as_mut_ptr(), 1) };
    (filled == 1).then(|| load[0].ceil() as usize)
}

pub fn processes() -> Vec<Process> {
    // SAFETY: proc_listallpids writes at most `bytes` bytes of pids into the buffer.
    let pids: Vec<Pid> = list(|buffer, bytes| unsafe {
        libc::proc_listallpids(buffer, bytes) * size_of::<Pid>() as c_int
    });
    pids.into_iter()
        .filter(|pid| *pid > 0)
        .filter_map(process)
        .collect()
}

pub fn process(pid: Pid) -> Option<Process> {
    let bsd: libc::proc_bsdinfo = pid_info(pid, libc::PROC_PIDTBSDINFO, 0)?;
    // A zombie has no task left to report CPU time for.
    let cpu_time = pid_info::<libc::proc_taskinfo>(pid, libc::PROC_PIDTASKINFO, 0)
        .map_or(Duration::ZERO, |task| {
            mach_time(task.pti_total_user + task.pti_total_system)
        });
    Some(Process {
        pid,
        parent: bsd.pbi_ppid as Pid,
        group: bsd.pbi_pgid as Pid,
        name: name_of(&bsd.pbi_comm),
        state: bsd_state(bsd.pbi_status),
        cpu_time,
    })
}

fn thread_ids(pid: Pid) -> Vec<ThreadId> {
    // SAFETY: proc_pidinfo writes at most `bytes` bytes of thread ids into the buffer.
    list(|buffer, bytes| unsafe {
        libc::proc_pidinfo(pid, PROC_PIDLISTTHREADIDS, 0, buffer, bytes)
    })
}

fn thread(pid: Pid, tid: ThreadId) -> Option<Thread> {
    let info: libc::proc_threadinfo = pid_info(pid, PROC_PIDTHREADID64INFO, tid)?;
    Some(Thread {
        tid,
        name: name_of(&info.pth_name),
        state: thread_state(info.pth_run_state),
        cpu_time: Duration::from_nanos(info.pth_user_time + info.pth_system_time),
        wait: None,
        // libproc's thread info has no switch count; without it (and without the wait), a
        // deadlock is found only at the limit.
        switches: None,
    })
}

pub fn threads(pid: Pid) -> Vec<Thread> {
    thread_ids(pid)
        .into_iter()
        .filter_map(|tid| thread(pid, tid))
        .collect()
}

fn own_pid() -> Pid {
    std::process::id() as Pid
}

pub fn own_thread_ids() -> Vec<ThreadId> {
    thread_ids(own_pid())
}

pub fn own_thread(tid: ThreadId) -> Option<Thread> {
    thread(own_pid(), tid)
}

pub fn current_thread_id() -> ThreadId {
    let mut tid = 0;
    // SAFETY: a null thread means the calling thread; the id is written into `tid`.
    unsafe { libc::pthread_threadid_np(0 as libc::pthread_t, &mut tid) };
    tid
}

pub fn signal_thread(tid: ThreadId, signal: libc::c_int) {
    // macOS signals threads by pthread handle, not by id: find the handle among this task's
    // Mach threads.
    let mut threads: mach2::mach_types::thread_act_array_t = std::ptr::null_mut();
    let mut count: mach2::message::mach_msg_type_number_t = 0;
    // SAFETY: task_threads fills a list the kernel allocates; each port and the list itself
    // are given back below.
    unsafe {
        let task = mach2::traps::mach_task_self();
        if mach2::task::task_threads(task, &mut threads, &mut count)
            != mach2::kern_return::KERN_SUCCESS
        {
            return;
        }
        for index in 0..count as usize {
            let port = *threads.add(index);
            let handle = libc::pthread_from_mach_thread_np(port);
            let mut id = 0;
            if handle != 0 as libc::pthread_t
                && libc::pthread_threadid_np(handle, &mut id) == 0
                && id == tid
            {
                libc::pthread_kill(handle, signal);
            }
            mach2::mach_port::mach_port_deallocate(task, port);
        }
        mach2::vm::mach_vm_deallocate(
            task,
            threads as mach2::vm_types::mach_vm_address_t,
            (count as usize * size_of::<mach2::mach_types::thread_act_t>())
                as mach2::vm_types::mach_vm_size_t,
        );
    }
}

pub fn wait_on(word: &AtomicU32, expected: u32) {
    // SAFETY: a compare-and-wait on a live, aligned u32; it returns at once if the word
    // changed, and a timeout of 0 means none.
    unsafe {
        __ulock_wait(
            UL_COMPARE_AND_WAIT_SHARED,
            word.as_ptr().cast(),
            expected as u64,
            0,
        );
    }
}

pub fn wake_all(word: &AtomicU32) {
    // SAFETY: a wake on a live, aligned u32 only wakes waiters.
    unsafe {
        __ulock_wake(
            UL_COMPARE_AND_WAIT_SHARED | ULF_WAKE_ALL,
            word.as_ptr().cast(),
            0,
        );
    }
}

pub fn pipe_cloexec() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut ends = [0; 2];
    // SAFETY: pipe writes two new descriptors into the array, owned from here on; fcntl only
    // sets their close-on-exec flag.
    unsafe {
        if libc::pipe(ends.as_mut_ptr()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let ends = (OwnedFd::from_raw_fd(ends[0]), OwnedFd::from_raw_fd(ends[1]));
        for end in [ends.0.as_raw_fd(), ends.1.as_raw_fd()] {
            if libc::fcntl(end, libc::F_SETFD, libc::FD_CLOEXEC) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(ends)
    }
}

/// macOS has no mount namespaces: every process sees the same root.
pub fn catches_signal(_pid: Pid, _signal: libc::c_int) -> bool {
    // libproc does not show another process's signal handlers.
    false
}

pub fn signal_thread_of(_pid: Pid, _tid: ThreadId, _signal: libc::c_int) -> bool {
    false
}

pub fn signal_in_flight(_pid: Pid, _tid: ThreadId, _signal: libc::c_int) -> bool {
    false
}

pub fn thread_id_seen_inside(_pid: Pid, tid: ThreadId) -> Option<ThreadId> {
    // No PID namespaces on macOS.
    Some(tid)
}

pub fn root_folder_of(_pid: Pid) -> Option<PathBuf> {
    None
}

pub fn become_subreaper() {}

pub fn die_with_parent() {}

pub fn shm_objects_in_use() -> HashSet<PathBuf> {
    HashSet::new()
}
