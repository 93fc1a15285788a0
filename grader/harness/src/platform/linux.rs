//! Linux: everything from `/proc`, futexes for waiting, `tgkill` for signalling one thread.

use std::collections::HashSet;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU32;
use std::time::Duration;

use super::{BlockingCall, KernelWait, Pid, Process, RunState, Thread, ThreadId};

pub const MEMORY_CAP_ENFORCED: bool = true;
pub const DIES_WITH_PARENT: bool = true;
pub const SUBREAPER: bool = true;
pub const SHM_FOLDER: Option<&str> = Some("/dev/shm");

/// The fields of `/proc/PID/stat` (or `/proc/PID/task/TID/stat`) that threadlings uses.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stat {
    name: String,
    state: char,
    parent: i32,
    group: i32,
    /// User plus system CPU time, in clock ticks.
    cpu_ticks: u64,
}

/// Parses a stat line. The name is in parentheses and may itself contain spaces and
/// parentheses, so the fields are counted from the last `)`.
fn parse_stat(text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = text.get(close + 2..)?.split_whitespace().collect();
    // Counted from 0 after the name: 0 state, 1 parent, 2 group, 11 utime, 12 stime.
    let number = |n: usize| {
        fields
            .get(n)
            .and_then(|f| f.parse::<i64>().ok())
            .unwrap_or(0)
    };
    Some(Stat {
        name,
        state: fields.first()?.chars().next()?,
        parent: number(1) as i32,
        group: number(2) as i32,
        cpu_ticks: (number(11) + number(12)) as u64,
    })
}

fn read_stat(path: impl AsRef<Path>) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(path).ok()?)
}

fn run_state(letter: char) -> RunState {
    match letter {
        'R' => RunState::Running,
        'S' => RunState::Sleeping,
        'D' => RunState::Uninterruptible,
        'T' | 't' => RunState::Stopped,
        'Z' => RunState::Zombie,
        _ => RunState::Other,
    }
}

fn ticks_to_time(ticks: u64) -> Duration {
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_nanos(ticks.saturating_mul(1_000_000_000) / per_second)
}

fn numbered_entries(folder: &str) -> Vec<u64> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_string_lossy().parse().ok())
        .collect()
}

pub fn runnable_threads_on_machine() -> Option<usize> {
    procs_running(&std::fs::read_to_string("/proc/stat").ok()?)
}

/// `procs_running N` of `/proc/stat`.
fn procs_running(stat: &str) -> Option<usize> {
    stat.lines()
        .find_map(|line| line.strip_prefix("procs_running "))
        .and_then(|count| count.trim().parse().ok())
}

pub fn processes() -> Vec<Process> {
    numbered_entries("/proc")
        .into_iter()
        .filter_map(|pid| process(pid as Pid))
        .collect()
}

pub fn process(pid: Pid) -> Option<Process> {
    let stat = read_stat(format!("/proc/{pid}/stat"))?;
    Some(Process {
        pid,
        parent: stat.parent,
        group: stat.group,
        name: stat.name,
        state: run_state(stat.state),
        cpu_time: ticks_to_time(stat.cpu_ticks),
    })
}

fn thread_in(task_folder: &str, tid: ThreadId) -> Option<Thread> {
    let folder = format!("{task_folder}/{tid}");
    let stat = read_stat(format!("{folder}/stat"))?;
    let state = run_state(stat.state);
    let wait = (state != RunState::Running).then(|| {
        let channel = std::fs::read_to_string(format!("{folder}/wchan")).unwrap_or_default();
        let syscall = std::fs::read_to_string(format!("{folder}/syscall")).unwrap_or_default();
        kernel_wait(channel.trim(), &syscall)
    });
    Some(Thread {
        tid,
        name: stat.name,
        state,
        cpu_time: ticks_to_time(stat.cpu_ticks),
        wait,
        switches: std::fs::read_to_string(format!("{folder}/status"))
            .ok()
            .and_then(|status| context_switches(&status)),
    })
}

/// Voluntary plus involuntary context switches, from a `/proc/.../status` text.
fn context_switches(status: &str) -> Option<u64> {
    let count = |key: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .and_then(|rest| rest.trim().parse::<u64>().ok())
    };
    Some(count("voluntary_ctxt_switches:")? + count("nonvoluntary_ctxt_switches:")?)
}

pub fn threads(pid: Pid) -> Vec<Thread> {
    let folder = format!("/proc/{pid}/task");
    numbered_entries(&folder)
        .into_iter()
        .filter_map(|tid| thread_in(&folder, tid))
        .collect()
}

pub fn own_thread_ids() -> Vec<ThreadId> {
    numbered_entries("/proc/self/task")
}

pub fn own_thread(tid: ThreadId) -> Option<Thread> {
    thread_in("/proc/self/task", tid)
}

pub fn current_thread_id() -> ThreadId {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() as ThreadId }
}

pub fn signal_thread(tid: ThreadId, signal: libc::c_int) {
    // SAFETY: tgkill only sends a signal; a thread that is gone makes it fail with ESRCH,
    // which is fine to ignore.
    unsafe {
        libc::syscall(libc::SYS_tgkill, libc::getpid(), tid as libc::pid_t, signal);
    }
}

pub fn wait_on(word: &AtomicU32, expected: u32) {
    // SAFETY: FUTEX_WAIT on a live, aligned u32; it returns at once if the word changed.
    // Not FUTEX_PRIVATE: the word may be shared with forked processes.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            std::ptr::null::<libc::timespec>(),
        );
    }
}

pub fn wake_all(word: &AtomicU32) {
    // SAFETY: FUTEX_WAKE on a live, aligned u32 only wakes waiters.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, i32::MAX);
    }
}

pub fn pipe_cloexec() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut ends = [0; 2];
    // SAFETY: pipe2 writes two new descriptors into the array, which are owned from here on.
    unsafe {
        if libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok((OwnedFd::from_raw_fd(ends[0]), OwnedFd::from_raw_fd(ends[1])))
    }
}

/// A signal mask of `/proc/PID/task/TID/status` (`SigCgt`, `SigBlk`, ...), as bits.
fn signal_mask(pid: Pid, tid: ThreadId, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/status")).ok()?;
    let value = status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))?;
    u64::from_str_radix(value.trim(), 16).ok()
}

fn signal_bit(signal: libc::c_int) -> u64 {
    1u64 << (signal - 1)
}

pub fn catches_signal(pid: Pid, signal: libc::c_int) -> bool {
    signal_mask(pid, pid as ThreadId, "SigCgt")
        .is_some_and(|caught| caught & signal_bit(signal) != 0)
}

pub fn signal_thread_of(pid: Pid, tid: ThreadId, signal: libc::c_int) -> bool {
    let Ok(tid) = libc::pid_t::try_from(tid) else {
        return false;
    };
    // SAFETY: tgkill only sends a signal, to the thread of `pid` named.
    unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, signal) == 0 }
}

pub fn signal_in_flight(pid: Pid, tid: ThreadId, signal: libc::c_int) -> bool {
    // A signal is pending until delivered, and blocked while its handler runs.
    ["SigPnd", "ShdPnd", "SigBlk"].iter().any(|field| {
        signal_mask(pid, tid, field).is_some_and(|mask| mask & signal_bit(signal) != 0)
    })
}

pub fn thread_id_seen_inside(pid: Pid, tid: ThreadId) -> Option<ThreadId> {
    // The last id of `NSpid` is the one in the innermost PID namespace.
    let status = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/status")).ok()?;
    let ids = status
        .lines()
        .find_map(|line| line.strip_prefix("NSpid:"))?;
    ids.split_whitespace().last()?.parse().ok()
}

pub fn root_folder_of(pid: Pid) -> Option<PathBuf> {
    Some(PathBuf::from(format!("/proc/{pid}/root")))
}

pub fn become_subreaper() {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER only sets a flag on this process.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
}

pub fn die_with_parent() {
    // SAFETY: prctl with PR_SET_PDEATHSIG only sets a flag on the calling process.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
    }
}

pub fn shm_objects_in_use() -> HashSet<PathBuf> {
    let mut in_use = HashSet::new();
    for pid in numbered_entries("/proc") {
        let folder = PathBuf::from(format!("/proc/{pid}"));
        if let Ok(maps) = std::fs::read_to_string(folder.join("maps")) {
            in_use.extend(maps.lines().filter_map(|line| {
                line.find("/dev/shm/")
                    .map(|at| PathBuf::from(line[at..].trim_end_matches(" (deleted)")))
            }));
        }
        if let Ok(fds) = std::fs::read_dir(folder.join("fd")) {
            in_use.extend(
                fds.flatten()
                    .filter_map(|fd| std::fs::read_link(fd.path()).ok())
                    .filter(|target| target.starts_with("/dev/shm/")),
            );
        }
    }
    in_use
}

/// Reads a thread's wait channel and its `/proc/.../syscall` line ("number arg1 arg2 ... sp
/// pc", or "running"): which blocking call it is in, and whether that call ends by itself.
fn kernel_wait(channel: &str, syscall: &str) -> KernelWait {
    let fields: Vec<&str> = syscall.split_whitespace().collect();
    let number = fields.first().and_then(|n| n.parse::<libc::c_long>().ok());
    let argument = |n: usize| {
        fields
            .get(n + 1)
            .and_then(|a| u64::from_str_radix(a.trim_start_matches("0x"), 16).ok())
            .unwrap_or(0)
    };
    let no_timeout_int = |n: usize| argument(n) as i32 == -1;
    let Some(number) = number else {
        return KernelWait {
            channel: channel.to_owned(),
            call: None,
            timed: None,
        };
    };
    let (call, timed) = match number {
        libc::SYS_nanosleep | libc::SYS_clock_nanosleep => (BlockingCall::Sleep, true),
        // futex(addr, op, value, timeout, ..): a null timeout waits for a wake-up only.
        libc::SYS_futex => (BlockingCall::Futex, argument(3) != 0),
        libc::SYS_ppoll => (BlockingCall::Poll, argument(2) != 0),
        libc::SYS_pselect6 => (BlockingCall::Poll, argument(4) != 0),
        #[cfg(target_arch = "x86_64")]
        libc::SYS_poll => (BlockingCall::Poll, !no_timeout_int(2)),
        #[cfg(target_arch = "x86_64")]
        libc::SYS_select => (BlockingCall::Poll, argument(4) != 0),
        #[cfg(target_arch = "x86_64")]
        libc::SYS_epoll_wait => (BlockingCall::Epoll, !no_timeout_int(3)),
        libc::SYS_epoll_pwait => (BlockingCall::Epoll, !no_timeout_int(3)),
        libc::SYS_read => (BlockingCall::Read, false),
        libc::SYS_write => (BlockingCall::Write, false),
        libc::SYS_wait4 | libc::SYS_waitid => (BlockingCall::WaitChild, false),
        // `c_long` is `i64` only on 64-bit targets.
        #[allow(clippy::useless_conversion)]
        other => (BlockingCall::Other(i64::from(other)), false),
    };
    KernelWait {
        channel: channel.to_owned(),
        call: Some(call),
        timed: Some(timed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_switches_add_both_kinds() {
        let status = "Name:\tx\nvoluntary_ctxt_switches:\t12\nnonvoluntary_ctxt_switches:\t3\n";
        assert_eq!(context_switches(status), Some(15));
        assert_eq!(
            context_switches("Name:\tx\nvoluntary_ctxt_switches:\t12\n"),
            None
        );
    }

    #[test]
    fn procs_running_is_read_from_proc_stat() {
        let stat = "cpu  1 2 3\nctxt 99\nprocs_running 7\nprocs_blocked 1\n";
        assert_eq!(procs_running(stat), Some(7));
        assert_eq!(procs_running("cpu 1 2 3\n"), None);
    }

    #[test]
    fn a_name_with_spaces_and_parentheses_does_not_shift_the_fields() {
        let line = "4121 (my (odd) name) S 4000 4121 4000 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0";
        let stat = parse_stat(line).expect("the line parses");
        assert_eq!(stat.name, "my (odd) name");
        assert_eq!(
            (stat.state, stat.parent, stat.group, stat.cpu_ticks),
            ('S', 4000, 4121, 10)
        );
    }

    #[test]
    fn a_truncated_line_is_none() {
        assert_eq!(parse_stat("4121 (name"), None);
        assert_eq!(parse_stat("4121 (name)"), None);
    }

    #[test]
    fn a_child_asks_for_sigkill_when_its_parent_dies() {
        // SAFETY: the child makes two prctl calls and leaves with _exit.
        match unsafe { libc::fork() } {
            0 => {
                die_with_parent();
                let mut signal: libc::c_int = 0;
                // SAFETY: PR_GET_PDEATHSIG writes the signal number into `signal`.
                unsafe {
                    libc::prctl(libc::PR_GET_PDEATHSIG, &mut signal);
                    libc::_exit(signal)
                }
            }
            child => {
                let mut status = 0;
                // SAFETY: waits for the child just forked.
                unsafe { libc::waitpid(child, &mut status, 0) };
                assert_eq!(libc::WEXITSTATUS(status), libc::SIGKILL);
            }
        }
    }

    #[test]
    fn the_process_becomes_a_subreaper() {
        become_subreaper();
        let mut flag: libc::c_int = 0;
        // SAFETY: PR_GET_CHILD_SUBREAPER writes the flag into `flag`.
        unsafe { libc::prctl(libc::PR_GET_CHILD_SUBREAPER, &mut flag) };
        assert_eq!(flag, 1);
    }

    #[test]
    fn timed_waits_are_told_from_waits_for_a_wake_up() {
        let line = |number: libc::c_long, args: &str| format!("{number} {args} 0x7ffd 0x7f");
        let sleep = kernel_wait(
            "",
            &line(libc::SYS_clock_nanosleep, "0x0 0x0 0x7ffd 0x0 0x0 0x0"),
        );
        assert_eq!(
            (sleep.call, sleep.timed),
            (Some(BlockingCall::Sleep), Some(true))
        );
        let futex = kernel_wait("", &line(libc::SYS_futex, "0x55d0 0x80 0x0 0x0 0x0 0x0"));
        assert_eq!(
            (futex.call, futex.timed),
            (Some(BlockingCall::Futex), Some(false))
        );
        let timed = kernel_wait(
            "",
            &line(libc::SYS_futex, "0x55d0 0x80 0x0 0x7ffd1 0x0 0x0"),
        );
        assert_eq!(timed.timed, Some(true));
        let running = kernel_wait("", "running");
        assert_eq!((running.call, running.timed), (None, None));
    }
}
