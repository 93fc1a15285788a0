//! A rendezvous that proves work ran at the same time, without reading a clock.
//!
//! Each participant (a thread, or a process forked after the rendezvous was made) calls
//! [`Rendezvous::arrive`] and waits there until `needed` participants wait at once. Code that
//! runs them one after another never gets them all there. Instead of a timeout, a watcher
//! ([`Rendezvous::watch`]) ends the wait when the kernel shows that nobody can arrive any more:
//! every other thread of the test process and of its child processes is asleep without a timer,
//! on several looks in a row, while nobody arrived. A runnable thread is not asleep, so a busy
//! machine only makes the rendezvous slower; it never makes it give up.
//!
//! Where the test cannot put a call to `arrive` into the work (exercise 10's threads only
//! increment counters), [`Rendezvous::watch_new_threads`] interrupts each thread the code under
//! test starts with a signal whose handler arrives on its behalf.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

const OPEN: u32 = 0;
const MET: u32 = 1;
const GAVE_UP: u32 = 2;

/// Looks in a row on which everyone must be asleep before the watcher gives up.
const QUIET_LOOKS: u32 = 3;
/// The pause between looks: it paces the watcher, it decides nothing.
const LOOK_EVERY: Duration = Duration::from_millis(10);

/// The state every participant shares; it lives in a `MAP_SHARED` mapping so that forked
/// children share it too.
#[repr(C)]
struct Shared {
    state: AtomicU32,
    arrived: AtomicU32,
}

/// See the module documentation. Made once per test and never freed: a test is one process.
pub struct Rendezvous {
    shared: &'static Shared,
    needed: u32,
    /// Threads of this process that are waiting *for* the watcher, so their own timed wait
    /// must not count as a thread that could still move.
    unwatched: Mutex<BTreeSet<i32>>,
}

/// The rendezvous the signal handler of [`Rendezvous::watch_new_threads`] arrives at.
static SIGNALLED: AtomicPtr<Rendezvous> = AtomicPtr::new(std::ptr::null_mut());

impl Rendezvous {
    /// A rendezvous that opens once `needed` participants wait at once. Make it before forking
    /// the processes that will arrive at it.
    pub fn new(needed: u32) -> &'static Rendezvous {
        // SAFETY: an anonymous shared mapping of a fresh region; the result is checked, and
        // the zeroed memory is a valid `Shared` (two atomics at 0, that is OPEN and nobody).
        let shared = unsafe {
            let address = libc::mmap(
                std::ptr::null_mut(),
                std::mem::size_of::<Shared>(),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert!(
                address != libc::MAP_FAILED,
                "the grader could not map shared memory for its rendezvous"
            );
            &*(address as *const Shared)
        };
        Box::leak(Box::new(Rendezvous {
            shared,
            needed,
            unwatched: Mutex::new(BTreeSet::new()),
        }))
    }

    /// Waits until `needed` participants wait here at once (then `true`), or until the
    /// watcher saw that nobody else can come (then `false`). Once decided, it returns at once.
    /// Async-signal-safe: atomics and the futex system call only.
    pub fn arrive(&self) -> bool {
        if self.decided() {
            return self.met();
        }
        let here = self.shared.arrived.fetch_add(1, Ordering::AcqRel) + 1;
        if here >= self.needed {
            self.decide(MET);
        }
        while !self.decided() {
            futex_wait(&self.shared.state, OPEN);
        }
        self.met()
    }

    /// Whether `needed` participants were ever here at once.
    pub fn met(&self) -> bool {
        self.shared.state.load(Ordering::Acquire) == MET
    }

    /// How many participants arrived before it was decided: when it was not met, the most
    /// that were ever waiting at once.
    pub fn arrived(&self) -> u32 {
        self.shared.arrived.load(Ordering::Acquire)
    }

    fn decided(&self) -> bool {
        self.shared.state.load(Ordering::Acquire) != OPEN
    }

    fn decide(&self, outcome: u32) {
        if self
            .shared
            .state
            .compare_exchange(OPEN, outcome, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            futex_wake_all(&self.shared.state);
        }
    }

    /// Runs `wait` on this thread without counting this thread as one that could still move:
    /// for a test's own wait that the watcher is meant to end (through `on_stuck`), with a
    /// timeout only as a fallback.
    pub fn unwatched<R>(&self, wait: impl FnOnce() -> R) -> R {
        let me = current_thread_id();
        self.unwatched.lock().unwrap().insert(me);
        let result = wait();
        self.unwatched.lock().unwrap().remove(&me);
        result
    }

    /// Runs `body` on this thread while another thread watches for the moment nobody can
    /// arrive any more; then the waiting participants are let go and [`Rendezvous::met`] stays
    /// `false`. `on_stuck` runs at that moment, before anyone is let go, so that a test can
    /// record what the code under test had done by then.
    pub fn watch<R>(&self, on_stuck: impl FnOnce() + Send, body: impl FnOnce() -> R) -> R {
        self.watch_with(false, on_stuck, body)
    }

    /// Like [`Rendezvous::watch`], but every thread `body` starts is made to arrive: the
    /// watcher sends each new thread a signal whose handler calls [`Rendezvous::arrive`]. A
    /// thread that ends before the watcher sees it never arrives, so the test must give each
    /// thread enough work to outlive a few looks at `/proc` on a loaded machine.
    pub fn watch_new_threads<R>(
        &'static self,
        on_stuck: impl FnOnce() + Send,
        body: impl FnOnce() -> R,
    ) -> R {
        let previous = SIGNALLED.swap(std::ptr::from_ref(self).cast_mut(), Ordering::AcqRel);
        assert!(
            previous.is_null(),
            "one signalled rendezvous per test process"
        );
        // SAFETY: the handler only reads an atomic pointer and calls `arrive`, which is
        // async-signal-safe; SA_RESTART keeps interrupted system calls of the code under test
        // from failing with EINTR.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = arrive_on_signal as extern "C" fn(libc::c_int) as usize;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            let status = libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut());
            assert!(
                status == 0,
                "the grader could not install its signal handler"
            );
        }
        self.watch_with(true, on_stuck, body)
    }

    fn watch_with<R>(
        &self,
        signal_new_threads: bool,
        on_stuck: impl FnOnce() + Send,
        body: impl FnOnce() -> R,
    ) -> R {
        let finished = AtomicBool::new(false);
        let body_thread = current_thread_id();
        let before: BTreeSet<i32> = own_threads().into_iter().collect();
        std::thread::scope(|scope| {
            let finished = &finished;
            let before = &before;
            scope.spawn(move || {
                let watcher = current_thread_id();
                let mut signalled = BTreeSet::new();
                let mut quiet = 0;
                let mut arrived = self.arrived();
                let mut on_stuck = Some(on_stuck);
                while !finished.load(Ordering::Acquire) && !self.decided() {
                    if signal_new_threads {
                        for tid in own_threads() {
                            if tid != watcher
                                && tid != body_thread
                                && !before.contains(&tid)
                                && signalled.insert(tid)
                            {
                                // SAFETY: tgkill only sends a signal; a thread that is gone
                                // makes it fail with ESRCH, which is fine to ignore.
                                unsafe {
                                    libc::syscall(
                                        libc::SYS_tgkill,
                                        std::process::id() as libc::c_int,
                                        tid,
                                        libc::SIGUSR1,
                                    );
                                }
                            }
                        }
                    }
                    let now = self.arrived();
                    if now != arrived || !self.everyone_else_asleep(watcher) {
                        arrived = now;
                        quiet = 0;
                    } else {
                        quiet += 1;
                        if quiet >= QUIET_LOOKS {
                            if let Some(on_stuck) = on_stuck.take() {
                                on_stuck();
                            }
                            self.decide(GAVE_UP);
                        }
                    }
                    std::thread::sleep(LOOK_EVERY);
                }
            });
            let result = body();
            finished.store(true, Ordering::Release);
            result
        })
    }
    /// Every thread of this process but `watcher`, and every thread of its living children, is
    /// asleep with no timer that could wake it: only another thread could, and none is awake.
    fn everyone_else_asleep(&self, watcher: i32) -> bool {
        let unwatched = self.unwatched.lock().unwrap().clone();
        let own = own_threads()
            .into_iter()
            .filter(|tid| *tid != watcher && !unwatched.contains(tid))
            .map(|tid| format!("/proc/self/task/{tid}"));
        let children = crate::child_processes()
            .into_iter()
            .filter(|child| !child.zombie)
            .flat_map(|child| {
                let dir = format!("/proc/{}/task", child.pid);
                threads_of(&dir)
                    .into_iter()
                    .map(move |tid| format!("{dir}/{tid}"))
            });
        own.chain(children).all(|task| asleep_for_good(&task))
    }
}

extern "C" fn arrive_on_signal(_signal: libc::c_int) {
    let rendezvous = SIGNALLED.load(Ordering::Acquire);
    // SAFETY: the pointer is null or a leaked `Rendezvous`, which lives forever.
    if let Some(rendezvous) = unsafe { rendezvous.as_ref() } {
        rendezvous.arrive();
    }
}

fn current_thread_id() -> i32 {
    crate::measure::current_thread_id()
}

/// The kernel ids of this process's threads.
fn own_threads() -> Vec<i32> {
    threads_of("/proc/self/task")
}

fn threads_of(task_dir: &str) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir(task_dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_string_lossy().parse().ok())
        .collect()
}

/// Is this thread (a `/proc/.../task/TID` folder) sleeping in a wait that only another thread
/// can end? A thread that is gone counts as asleep; one whose system call cannot be read, or
/// that waits with a timeout, does not.
fn asleep_for_good(task: &str) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("{task}/stat")) else {
        return true;
    };
    match crate::procfs::parse_stat(&stat).map(|stat| stat.state) {
        Some('S') => {}
        Some('Z') | Some('X') | None => return true,
        Some(_) => return false,
    }
    let Ok(syscall) = std::fs::read_to_string(format!("{task}/syscall")) else {
        return false;
    };
    !waits_with_a_timer(&syscall)
}

/// Reads `/proc/.../syscall` ("number arg1 arg2 ... sp pc"): does this blocking call end by
/// itself after a while (a sleep, or a wait given a timeout)?
fn waits_with_a_timer(syscall: &str) -> bool {
    let fields: Vec<&str> = syscall.split_whitespace().collect();
    let Some(Ok(number)) = fields.first().map(|n| n.parse::<libc::c_long>()) else {
        // "running" or unreadable: not a wait at all.
        return true;
    };
    let argument = |n: usize| {
        fields
            .get(n + 1)
            .and_then(|a| u64::from_str_radix(a.trim_start_matches("0x"), 16).ok())
            .unwrap_or(0)
    };
    let no_timeout_int = |n: usize| argument(n) as i32 == -1;
    match number {
        libc::SYS_nanosleep | libc::SYS_clock_nanosleep => true,
        // futex(addr, op, value, timeout, ..): a null timeout waits for a wake-up only.
        libc::SYS_futex => argument(3) != 0,
        libc::SYS_ppoll | libc::SYS_pselect6 => {
            argument(if number == libc::SYS_ppoll { 2 } else { 4 }) != 0
        }
        #[cfg(target_arch = "x86_64")]
        libc::SYS_poll => !no_timeout_int(2),
        #[cfg(target_arch = "x86_64")]
        libc::SYS_select => argument(4) != 0,
        #[cfg(target_arch = "x86_64")]
        libc::SYS_epoll_wait => !no_timeout_int(3),
        libc::SYS_epoll_pwait => !no_timeout_int(3),
        _ => false,
    }
}

fn futex_wait(word: &AtomicU32, expected: u32) {
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

fn futex_wake_all(word: &AtomicU32) {
    // SAFETY: FUTEX_WAKE on a live, aligned u32 only wakes waiters.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, i32::MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_that_run_at_once_meet() {
        let rendezvous = Rendezvous::new(3);
        rendezvous.watch(
            || {},
            || {
                std::thread::scope(|scope| {
                    for _ in 0..3 {
                        scope.spawn(|| rendezvous.arrive());
                    }
                });
            },
        );
        assert!(rendezvous.met());
    }

    // Giving up is proven by the hidden tests' mutants (05, 06, 07, 09, 10), not here: libtest's
    // own main thread waits with a timeout, so under libtest nobody is ever asleep for good.

    #[test]
    fn timed_waits_are_not_asleep_for_good() {
        assert!(waits_with_a_timer(
            "35 0x7ffd 0x0 0x0 0x0 0x0 0x0 0x7ffd 0x7f"
        ));
        assert!(!waits_with_a_timer(
            "202 0x55d0 0x80 0x0 0x0 0x0 0x0 0x7ffd 0x7f"
        ));
        assert!(waits_with_a_timer(
            "202 0x55d0 0x80 0x0 0x7ffd1 0x0 0x0 0x7ffd 0x7f"
        ));
        assert!(waits_with_a_timer("running"));
    }
}
