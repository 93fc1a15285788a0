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

use crate::platform::{self, Pid, ThreadId};

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
    unwatched: Mutex<BTreeSet<ThreadId>>,
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
    /// Async-signal-safe: atomics and the system's wait on a word only.
    pub fn arrive(&self) -> bool {
        if self.decided() {
            return self.met();
        }
        let here = self.shared.arrived.fetch_add(1, Ordering::AcqRel) + 1;
        if here >= self.needed {
            self.decide(MET);
        }
        while !self.decided() {
            platform::wait_on(&self.shared.state, OPEN);
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
            platform::wake_all(&self.shared.state);
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
    /// thread enough work to outlive a few looks at its threads on a loaded machine.
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
        let before: BTreeSet<ThreadId> = platform::own_thread_ids().into_iter().collect();
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
                        for tid in platform::own_thread_ids() {
                            if tid != watcher
                                && tid != body_thread
                                && !before.contains(&tid)
                                && signalled.insert(tid)
                            {
                                platform::signal_thread(tid, libc::SIGUSR1);
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
    fn everyone_else_asleep(&self, watcher: ThreadId) -> bool {
        let unwatched = self.unwatched.lock().unwrap().clone();
        let own = platform::threads(std::process::id() as Pid)
            .into_iter()
            .filter(|thread| thread.tid != watcher && !unwatched.contains(&thread.tid));
        let children = crate::child_processes()
            .into_iter()
            .filter(|child| !child.zombie)
            .flat_map(|child| platform::threads(child.pid));
        own.chain(children).all(|thread| asleep_for_good(&thread))
    }
}

extern "C" fn arrive_on_signal(_signal: libc::c_int) {
    let rendezvous = SIGNALLED.load(Ordering::Acquire);
    // SAFETY: the pointer is null or a leaked `Rendezvous`, which lives forever.
    if let Some(rendezvous) = unsafe { rendezvous.as_ref() } {
        rendezvous.arrive();
    }
}

fn current_thread_id() -> ThreadId {
    platform::current_thread_id()
}

/// Is this thread sleeping in a wait that only another thread can end? One that has exited
/// counts as asleep; one whose wait the system does not describe (always, on macOS), or that
/// waits with a timeout, does not: the watcher then never gives up, and a rendezvous that is
/// never met ends in the grader's timeout instead of a named failure.
fn asleep_for_good(thread: &platform::Thread) -> bool {
    match thread.state {
        platform::RunState::Sleeping => {}
        platform::RunState::Zombie => return true,
        _ => return false,
    }
    thread
        .wait
        .as_ref()
        .is_some_and(|wait| wait.timed == Some(false))
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
}
