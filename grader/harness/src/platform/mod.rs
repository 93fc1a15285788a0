//! Everything threadlings asks the operating system about processes and threads, behind one
//! interface with one implementation per system, chosen at compile time: [`linux`](self) reads
//! `/proc`, the macOS one asks libproc (`proc_listallpids`, `proc_pidinfo`) and Mach. Nothing
//! outside this module reads `/proc` or names a system call number; the grader, the harness and
//! the hidden tests call the functions below.
//!
//! Where a system cannot answer, the answer says so (`None`, or a `*_ENFORCED` constant that is
//! `false`) instead of guessing, so that a caller never takes "cannot tell" for "nothing there".
//! What macOS cannot tell, and what the grader does about it, is listed in ARCHITECTURE.md
//! ("Platforms").

use std::sync::atomic::AtomicU32;
use std::time::Duration;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as os;

#[cfg(target_os = "macos")]
mod macos;
#[cfg(target_os = "macos")]
use macos as os;

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
compile_error!(
    "the threadlings grader runs on Linux and macOS only; on Windows, work inside WSL2 \
     (README.md, \"Supported systems\")"
);

/// A process id.
pub type Pid = i32;

/// A thread's id as the system numbers it: the kernel's thread id on Linux, the id
/// `pthread_threadid_np` gives on macOS. Unique among the threads alive on the machine.
pub type ThreadId = u64;

/// What a process or thread is doing when asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// On a core, or ready to run.
    Running,
    /// Asleep until something wakes it: a lock, a condition, a pipe, a timer.
    Sleeping,
    /// Asleep in the kernel in a wait no signal interrupts (mostly disk I/O).
    Uninterruptible,
    /// Stopped by a signal or a debugger.
    Stopped,
    /// Exited, and its parent has not waited for it yet.
    Zombie,
    /// Anything else the system reports.
    Other,
}

impl RunState {
    /// Asleep in the kernel rather than running: [`RunState::Sleeping`] or
    /// [`RunState::Uninterruptible`].
    pub fn is_blocked(self) -> bool {
        matches!(self, RunState::Sleeping | RunState::Uninterruptible)
    }
}

/// One process, as the system shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub pid: Pid,
    pub parent: Pid,
    pub group: Pid,
    /// The command name, short (15 bytes on Linux, 16 on macOS).
    pub name: String,
    pub state: RunState,
    /// User plus system CPU time of all its threads.
    pub cpu_time: Duration,
}

/// One thread of a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    pub tid: ThreadId,
    /// The thread's name: Rust sets it from `thread::Builder::name`, truncated by the system.
    pub name: String,
    pub state: RunState,
    pub cpu_time: Duration,
    /// What the kernel says the thread waits in, where it says it (Linux only).
    pub wait: Option<KernelWait>,
    /// How many times the thread has left a core, for any reason (Linux's voluntary plus
    /// involuntary context switches): unchanged between two looks at a blocked thread, it
    /// proves the thread never ran in between. `None` where the system does not say.
    pub switches: Option<u64>,
}

/// What a sleeping thread waits in, as far as the kernel tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelWait {
    /// The kernel function it sleeps in (Linux's wait channel), empty where the kernel hides it.
    pub channel: String,
    /// The blocking system call it is in, where the kernel shows it.
    pub call: Option<BlockingCall>,
    /// Whether the wait ends by itself (a sleep, or a wait given a timeout): `None` when the
    /// call and its arguments cannot be read.
    pub timed: Option<bool>,
}

/// The blocking system calls threadlings tells apart, whatever their numbers on this
/// architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockingCall {
    /// A futex: locks, condition variables, barriers, joins, parking.
    Futex,
    /// `nanosleep` or `clock_nanosleep`.
    Sleep,
    Read,
    Write,
    /// `wait4` or `waitid`: a child process to exit.
    WaitChild,
    /// `poll`, `ppoll`, `select`, `pselect6`.
    Poll,
    /// `epoll_wait` or `epoll_pwait`.
    Epoll,
    /// Another call, by its number.
    Other(i64),
}

/// Every process on the machine this user may look at.
pub fn processes() -> Vec<Process> {
    os::processes()
}

/// One process; `None` if it is gone.
pub fn process(pid: Pid) -> Option<Process> {
    os::process(pid)
}

/// How many threads of the whole machine are running or waiting for a core right now, the
/// caller included: Linux's `procs_running`, or on macOS the one-minute load average rounded
/// up. `None` when the system does not say. It tells a test the machine starved from one that
/// had the cores to itself and still did not finish.
pub fn runnable_threads_on_machine() -> Option<usize> {
    os::runnable_threads_on_machine()
}

/// Live or zombie members of process group `pgid`.
pub fn processes_in_group(pgid: Pid) -> Vec<Pid> {
    processes()
        .into_iter()
        .filter(|process| process.group == pgid)
        .map(|process| process.pid)
        .collect()
}

/// The threads of process `pid` (this process included); empty if it is gone.
pub fn threads(pid: Pid) -> Vec<Thread> {
    os::threads(pid)
}

/// The ids of this process's threads.
pub fn own_thread_ids() -> Vec<ThreadId> {
    os::own_thread_ids()
}

/// One thread of this process; `None` if it has ended.
pub fn own_thread(tid: ThreadId) -> Option<Thread> {
    os::own_thread(tid)
}

/// The id of the calling thread.
pub fn current_thread_id() -> ThreadId {
    os::current_thread_id()
}

/// Sends `signal` to thread `tid` of this process. A thread that has ended is no error.
pub fn signal_thread(tid: ThreadId, signal: libc::c_int) {
    os::signal_thread(tid, signal)
}

/// Sleeps while `word` (which may live in memory shared with forked processes) still holds
/// `expected`, until [`wake_all`] on it; may return early. Async-signal-safe.
pub fn wait_on(word: &AtomicU32, expected: u32) {
    os::wait_on(word, expected)
}

/// Wakes every thread, of any process, in [`wait_on`] for `word`. Async-signal-safe.
pub fn wake_all(word: &AtomicU32) {
    os::wake_all(word)
}

/// CPU time (user plus system) the calling thread has used since it started.
pub fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes into the struct it is given. Linux and macOS (10.12
    // and later) both have this clock, so a failure would be a broken system.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert!(
        status == 0,
        "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed on this system"
    );
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// CPU time (user plus system) of every thread of this process and of its children that have
/// been waited for.
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

/// Whether [`cap_memory`] is enforced by this kernel. macOS accepts `RLIMIT_AS` and ignores
/// it, so there a test may use as much memory as the machine gives it.
pub const MEMORY_CAP_ENFORCED: bool = os::MEMORY_CAP_ENFORCED;

/// Caps the address space of the calling process (and what it forks) at `bytes`.
/// Async-signal-safe: for between `fork` and `exec`.
pub fn cap_memory(bytes: u64) {
    set_rlimit(libc::RLIMIT_AS, bytes);
}

/// Sets a soft and hard resource limit. Async-signal-safe; a refusal leaves the old limit,
/// which is no worse than before.
pub fn set_rlimit(resource: RlimitResource, value: u64) {
    let limit = libc::rlimit {
        rlim_cur: value as libc::rlim_t,
        rlim_max: value as libc::rlim_t,
    };
    // SAFETY: setrlimit reads the struct it is given.
    unsafe {
        libc::setrlimit(resource, &limit);
    }
}

/// The type `setrlimit` takes its resource in, which differs between C libraries.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub type RlimitResource = libc::__rlimit_resource_t;
/// The type `setrlimit` takes its resource in, which differs between C libraries.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub type RlimitResource = libc::c_int;

/// Whether [`die_with_parent`] works here: Linux has a parent-death signal, macOS has none, so
/// there a test outlives a grader that is killed (the grader's own cleanup still ends it when
/// the grader exits normally or is interrupted).
pub const DIES_WITH_PARENT: bool = os::DIES_WITH_PARENT;

/// Makes the calling process receive SIGKILL when its parent dies, where the system can.
/// Async-signal-safe: for between `fork` and `exec`.
pub fn die_with_parent() {
    os::die_with_parent()
}

/// Whether [`become_subreaper`] works here. On macOS a process that leaves its process group
/// (`setsid`) and outlives its parent goes to launchd, out of the grader's sight: the sweep for
/// strays then cannot find or kill it.
pub const SUBREAPER: bool = os::SUBREAPER;

/// Makes orphans among this process's descendants its children instead of init's, where the
/// system can (Linux's child subreaper).
pub fn become_subreaper() {
    os::become_subreaper()
}

/// The folder where `shm_open` and POSIX semaphores keep their objects as files, if this
/// system has one (Linux: `/dev/shm`; macOS keeps them out of the file system).
pub const SHM_FOLDER: Option<&str> = os::SHM_FOLDER;

/// Paths under [`SHM_FOLDER`] that some process has open or mapped.
pub fn shm_objects_in_use() -> std::collections::HashSet<std::path::PathBuf> {
    os::shm_objects_in_use()
}

/// A pipe whose two ends close on `exec`, as `(read, write)`. On Linux the flag is set as the
/// pipe is made; macOS has no `pipe2`, so there another thread's `fork` could briefly see the
/// ends without it (the grader's tests close every descriptor but their own anyway).
pub fn pipe_cloexec() -> std::io::Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)> {
    os::pipe_cloexec()
}

/// The root folder process `pid` sees (its mount namespace's `/`), where the system shows it.
pub fn root_folder_of(pid: Pid) -> Option<std::path::PathBuf> {
    os::root_folder_of(pid)
}

/// Whether process `pid` has a handler installed for `signal`; `false` where the system cannot
/// tell (macOS), so that a caller never sends a signal that would kill the process.
pub fn catches_signal(pid: Pid, signal: libc::c_int) -> bool {
    os::catches_signal(pid, signal)
}

/// Sends `signal` to thread `tid` of another process `pid`; whether it was sent. macOS cannot
/// signal another process's thread by id.
pub fn signal_thread_of(pid: Pid, tid: ThreadId, signal: libc::c_int) -> bool {
    os::signal_thread_of(pid, tid, signal)
}

/// Whether `signal` sent to thread `tid` of `pid` is still pending, or blocked while its handler
/// runs: `false` once the handler has returned (or the thread is gone).
pub fn signal_in_flight(pid: Pid, tid: ThreadId, signal: libc::c_int) -> bool {
    os::signal_in_flight(pid, tid, signal)
}

/// The id thread `tid` of `pid` has inside its own PID namespace, the one its own code sees
/// (the same id where there are no namespaces).
pub fn thread_id_seen_inside(pid: Pid, tid: ThreadId) -> Option<ThreadId> {
    os::thread_id_seen_inside(pid, tid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    #[test]
    fn a_thread_outside_any_namespace_sees_its_own_id_and_no_signal_in_flight() {
        let me = std::process::id() as Pid;
        let tid = current_thread_id();
        assert_eq!(thread_id_seen_inside(me, tid), Some(tid));
        assert!(!signal_in_flight(me, tid, libc::SIGUSR2));
        // The test binary installs no handler for SIGUSR2, so the grader would never send it.
        assert!(!catches_signal(me, libc::SIGUSR2));
        assert!(
            !signal_thread_of(me, ThreadId::MAX, libc::SIGUSR2),
            "no such thread"
        );
    }

    #[test]
    fn this_process_is_listed_with_its_parent_and_group() {
        let me = std::process::id() as Pid;
        let found = processes()
            .into_iter()
            .find(|p| p.pid == me)
            .expect("the test process lists itself");
        assert_eq!(found.parent, std::os::unix::process::parent_id() as Pid);
        // SAFETY: getpgrp has no preconditions.
        assert_eq!(found.group, unsafe { libc::getpgrp() });
        let again = process(me).expect("the test process finds itself by pid");
        assert_eq!((again.parent, again.group), (found.parent, found.group));
        assert!(processes_in_group(found.group).contains(&me));
    }

    #[test]
    fn a_zombie_child_shows_as_a_zombie_until_it_is_waited_for() {
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("true runs");
        let pid = child.id() as Pid;
        let mut looks = 0;
        // The child's exit takes a moment; a look that still sees it running is no failure.
        while process(pid).map(|p| p.state) != Some(RunState::Zombie) {
            looks += 1;
            assert!(looks < 10_000, "the exited child never showed as a zombie");
            std::thread::yield_now();
        }
        child.wait().unwrap();
        assert_eq!(process(pid), None);
    }

    #[test]
    fn a_thread_waiting_on_a_word_is_blocked_until_woken() {
        let word = AtomicU32::new(0);
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                sender.send(current_thread_id()).unwrap();
                while word.load(Ordering::Acquire) == 0 {
                    wait_on(&word, 0);
                }
            });
            let tid = receiver.recv().unwrap();
            assert!(own_thread_ids().contains(&tid));
            let mut looks = 0;
            while !own_thread(tid).is_some_and(|t| t.state.is_blocked()) {
                looks += 1;
                assert!(
                    looks < 100_000,
                    "the waiting thread never showed as blocked"
                );
                std::thread::yield_now();
            }
            #[cfg(target_os = "linux")]
            {
                let wait = own_thread(tid)
                    .and_then(|t| t.wait)
                    .expect("Linux shows the wait");
                assert_eq!(
                    (wait.call, wait.timed),
                    (Some(BlockingCall::Futex), Some(false))
                );
                // Nothing wakes it, so it does not run between two looks; once woken, it has.
                let switches = || own_thread(tid).and_then(|t| t.switches);
                let asleep = switches().expect("Linux counts context switches");
                assert_eq!(switches(), Some(asleep));
                word.store(1, Ordering::Release);
                wake_all(&word);
                let mut looks = 0;
                while switches().is_some_and(|now| now == asleep) {
                    looks += 1;
                    assert!(looks < 100_000, "the woken thread never ran");
                    std::thread::yield_now();
                }
            }
            word.store(1, Ordering::Release);
            wake_all(&word);
        });
    }

    #[test]
    fn a_spinning_thread_is_counted_among_the_machines_runnable_ones() {
        let started = std::sync::atomic::AtomicBool::new(false);
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                started.store(true, Ordering::Release);
                while !stop.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            });
            while !started.load(Ordering::Acquire) {
                std::hint::spin_loop();
            }
            // The caller and the spinner both want a core, whether or not they have one.
            let runnable = runnable_threads_on_machine().expect("Linux says");
            stop.store(true, Ordering::Relaxed);
            assert!(runnable >= 2, "{runnable}");
        });
    }

    #[test]
    fn a_running_thread_is_not_blocked_and_its_cpu_time_grows() {
        let tid = current_thread_id();
        let before = thread_cpu_time();
        let mut spins = 0u64;
        while thread_cpu_time() == before {
            spins = std::hint::black_box(spins + 1);
        }
        let me = own_thread(tid).expect("the calling thread is one of ours");
        assert_eq!(me.state, RunState::Running);
        assert!(threads(std::process::id() as Pid)
            .iter()
            .any(|t| t.tid == tid));
        assert!(cpu_time_with_children() >= thread_cpu_time() - before);
    }

    #[test]
    fn a_signal_reaches_the_thread_it_is_sent_to() {
        static HANDLED_ON: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        extern "C" fn note(_signal: libc::c_int) {
            HANDLED_ON.store(current_thread_id(), Ordering::Release);
        }
        // SAFETY: the handler only stores into an atomic; SIGURG is ignored by default, so no
        // other thread of the test binary is disturbed.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = note as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGURG, &action, std::ptr::null_mut());
        }
        let tid = current_thread_id();
        signal_thread(tid, libc::SIGURG);
        assert_eq!(HANDLED_ON.load(Ordering::Acquire), tid);
    }

    #[test]
    fn a_caught_signal_sent_to_a_blocking_thread_is_in_flight_until_handled() {
        static HANDLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        extern "C" fn note(_signal: libc::c_int) {
            HANDLED.store(true, Ordering::Release);
        }
        // Where the system can tell another process's handlers and signal its threads by id.
        let can = cfg!(target_os = "linux");
        let me = std::process::id() as Pid;
        let tid = current_thread_id();
        // SAFETY: the handler only stores into an atomic; SIGWINCH is ignored by default and no
        // other test uses it. The mask calls change this thread's mask only, and restore it.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = note as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGWINCH, &action, std::ptr::null_mut());
            assert_eq!(catches_signal(me, libc::SIGWINCH), can);

            let mut blocked: libc::sigset_t = std::mem::zeroed();
            let mut before: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut blocked);
            libc::sigaddset(&mut blocked, libc::SIGWINCH);
            libc::pthread_sigmask(libc::SIG_BLOCK, &blocked, &mut before);
            assert_eq!(signal_thread_of(me, tid, libc::SIGWINCH), can);
            assert_eq!(signal_in_flight(me, tid, libc::SIGWINCH), can);
            assert!(
                !HANDLED.load(Ordering::Acquire),
                "a blocked signal was handled"
            );
            // Unblocked, the pending signal is handled before the mask call returns.
            libc::pthread_sigmask(libc::SIG_SETMASK, &before, std::ptr::null_mut());
        }
        assert_eq!(HANDLED.load(Ordering::Acquire), can);
        assert!(!signal_in_flight(me, tid, libc::SIGWINCH));
    }

    #[test]
    fn a_pipe_carries_bytes_and_closes_on_exec() {
        use std::io::{Read, Write};
        use std::os::fd::AsRawFd;
        let (read, write) = pipe_cloexec().expect("a pipe");
        for end in [read.as_raw_fd(), write.as_raw_fd()] {
            // SAFETY: F_GETFD only reads the descriptor's flags.
            let flags = unsafe { libc::fcntl(end, libc::F_GETFD) };
            assert_eq!(flags & libc::FD_CLOEXEC, libc::FD_CLOEXEC);
        }
        std::fs::File::from(write).write_all(b"ok").unwrap();
        let mut text = String::new();
        std::fs::File::from(read).read_to_string(&mut text).unwrap();
        assert_eq!(text, "ok");
    }

    #[test]
    fn a_process_root_is_a_folder_where_the_system_shows_it() {
        match root_folder_of(std::process::id() as Pid) {
            Some(root) => assert!(root.join("tmp").is_dir() || root.join("usr").is_dir()),
            None => assert!(cfg!(target_os = "macos")),
        }
    }

    #[test]
    fn the_memory_cap_reaches_the_process_it_is_set_in() {
        use std::os::unix::process::CommandExt;
        let mut command = std::process::Command::new("sh");
        command.args(["-c", "ulimit -v"]);
        // SAFETY: setrlimit only, between fork and exec.
        unsafe {
            command.pre_exec(|| {
                cap_memory(1 << 30);
                Ok(())
            });
        }
        let output = command.output().expect("sh runs");
        assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "1048576");
    }

    /// Forks a process that runs `child` and exits with what it returns; its pid. `child` may
    /// call only async-signal-safe functions: the test binary has other threads.
    fn fork_running(child: impl FnOnce() -> i32) -> Pid {
        // SAFETY: the child runs only async-signal-safe calls and leaves through `_exit`.
        match unsafe { libc::fork() } {
            -1 => panic!("fork failed: {}", std::io::Error::last_os_error()),
            0 => unsafe { libc::_exit(child()) },
            pid => pid,
        }
    }

    /// Waits for the child `pid` (-1: any child) and tells how it ended: `Ok(exit code)` or
    /// `Err(signal)`; `None` when there is no such child. Async-signal-safe.
    fn ending_of(pid: Pid) -> Option<Result<i32, i32>> {
        let mut status = 0;
        // SAFETY: waitpid only writes the status it is given.
        let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
        (waited > 0).then(|| {
            if libc::WIFEXITED(status) {
                Ok(libc::WEXITSTATUS(status))
            } else {
                Err(libc::WTERMSIG(status))
            }
        })
    }

    #[test]
    fn an_orphan_comes_to_the_subreaper_above_it() {
        let ending = ending_of(fork_running(|| {
            become_subreaper();
            // SAFETY: getpid, getppid, sched_yield and waitpid have no preconditions.
            let subreaper = unsafe { libc::getpid() };
            let middle = fork_running(|| {
                // The grandchild, orphaned as soon as the middle process exits.
                fork_running(|| {
                    let mut looks = 0;
                    while unsafe { libc::getppid() } != subreaper && looks < 1_000_000 {
                        looks += 1;
                        unsafe { libc::sched_yield() };
                    }
                    0
                });
                0
            });
            let _ = ending_of(middle);
            // The orphan is this process's child only if this process is its subreaper.
            match ending_of(-1) {
                Some(Ok(0)) => 0,
                Some(_) => 1,
                None => 2,
            }
        }));
        assert_eq!(
            ending,
            Some(Ok(if SUBREAPER { 0 } else { 2 })),
            "0: the orphan came to the subreaper, 2: it went elsewhere"
        );
    }

    #[test]
    fn a_process_that_asked_to_die_with_its_parent_is_killed_when_it_dies() {
        let ending = ending_of(fork_running(|| {
            // This process is a subreaper, where the system has them, to wait for the orphan.
            become_subreaper();
            let mut ends = [0; 2];
            // SAFETY: pipe writes two descriptors into the array it is given.
            assert_eq!(unsafe { libc::pipe(ends.as_mut_ptr()) }, 0);
            let [read_end, write_end] = ends;
            let middle = fork_running(|| {
                fork_running(|| {
                    die_with_parent();
                    // SAFETY: getppid, write and sched_yield have no preconditions.
                    let parent = unsafe { libc::getppid() };
                    unsafe { libc::write(write_end, b"r".as_ptr().cast(), 1) };
                    while unsafe { libc::getppid() } == parent {
                        unsafe { libc::sched_yield() };
                    }
                    // The death signal is sent as the parent changes; it lands long before
                    // these yields are done, so that only a process without one exits.
                    for _ in 0..10_000 {
                        unsafe { libc::sched_yield() };
                    }
                    0
                });
                let mut byte = [0u8; 1];
                // SAFETY: close and read on descriptors of this process; read fills `byte`.
                unsafe {
                    libc::close(write_end);
                    libc::read(read_end, byte.as_mut_ptr().cast(), 1);
                }
                0
            });
            // SAFETY: closing this process's own copies of the pipe's ends.
            unsafe {
                libc::close(read_end);
                libc::close(write_end);
            }
            let _ = ending_of(middle);
            // The orphan is this process's child only if this process is its subreaper.
            match ending_of(-1) {
                Some(Err(libc::SIGKILL)) => 0,
                Some(Ok(0)) => 1,
                _ => 2,
            }
        }));
        assert_eq!(
            ending,
            Some(Ok(if DIES_WITH_PARENT { 0 } else { 2 })),
            "0: killed as its parent died, 1: outlived its parent, 2: not seen"
        );
    }

    /// The `.rs` files under `dir`, recursively; none if it does not exist (the student
    /// edition has no `solutions/`).
    fn rust_files(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                rust_files(&path, found);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                found.push(path);
            }
        }
    }

    /// What the platform layer is for: the code of the grader, the harness, xtask, the hidden
    /// tests, the exercises and the solutions reads `/proc` only here (and the sandbox its own
    /// cgroup and namespace files), and names a system call only by its `libc::SYS_*`
    /// constant, so that it compiles for macOS and has the right numbers on every Linux.
    #[test]
    fn only_the_platform_layer_reads_proc_and_no_system_call_is_named_by_number() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut files = Vec::new();
        for tree in [
            "grader/src",
            "grader/harness/src",
            "grader/hidden",
            "xtask/src",
            "exercises",
            "solutions",
        ] {
            rust_files(&root.join(tree), &mut files);
        }
        assert!(files.len() > 50, "the source trees were not found");
        let may_read_proc = [
            "grader/harness/src/platform/linux.rs",
            "grader/src/sandbox/linux.rs",
        ];
        // Put together, so that this test's own text has neither.
        let proc_path = ["\"/", "proc"].concat();
        let call = ["sys", "call("].concat();
        let mut found = Vec::new();
        for file in &files {
            let name = file
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(file).unwrap();
            for (number, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                if code.contains(&proc_path) && !may_read_proc.contains(&name.as_str()) {
                    found.push(format!("{name}:{}: reads /proc: {line}", number + 1));
                }
                for (at, _) in code.match_indices(&call) {
                    // The call's first argument may be on the next line.
                    let next = text
                        .lines()
                        .skip(number)
                        .take(2)
                        .collect::<Vec<_>>()
                        .join(" ");
                    let argument = next[at + call.len()..].trim_start();
                    if !argument.starts_with("libc::SYS_") {
                        found.push(format!(
                            "{name}:{}: a system call by number: {line}",
                            number + 1
                        ));
                    }
                }
            }
        }
        assert!(found.is_empty(), "{}", found.join("\n"));
    }

    #[test]
    fn limits_and_shared_memory_folder_are_what_the_system_allows() {
        assert_eq!(MEMORY_CAP_ENFORCED, cfg!(target_os = "linux"));
        assert_eq!(DIES_WITH_PARENT, cfg!(target_os = "linux"));
        assert_eq!(SUBREAPER, cfg!(target_os = "linux"));
        match SHM_FOLDER {
            Some(folder) => {
                let name = format!("threadlings-platform-test-{}", std::process::id());
                let path = std::path::Path::new(folder).join(&name);
                let file = std::fs::File::create(&path).expect("the shm folder is writable");
                let in_use = shm_objects_in_use();
                drop(file);
                let _ = std::fs::remove_file(&path);
                assert!(in_use.contains(&path), "an open shm object is in use");
            }
            None => assert!(shm_objects_in_use().is_empty()),
        }
    }
}
