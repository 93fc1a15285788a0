// The threads, locks and atomics an exercise may use, owned by the grader.
//
// Learner code reaches every synchronisation primitive through `crate::sync`, never
// `std::sync` or `std::thread` directly. Normally the names below are std's own. When the
// grader builds the model-checked copy of a crate (feature `model`), the same names come
// from shuttle, which then controls every interleaving and can replay a failing one.
// The grader overwrites this file in every crate it grades, so edits here are ignored.
// An exercise uses only some of these names, hence `allow(unused_imports)` on each group.

#[cfg(not(feature = "model"))]
#[allow(unused_imports)]
pub use std::sync::{
    mpsc, Arc, Barrier, BarrierWaitResult, Condvar, LockResult, Mutex, MutexGuard, Once,
    PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError, TryLockResult,
    WaitTimeoutResult, Weak,
};

#[cfg(feature = "model")]
#[allow(unused_imports)]
pub use shuttle::sync::{
    mpsc, Arc, Barrier, BarrierWaitResult, Condvar, LockResult, Mutex, MutexGuard, Once,
    PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError, TryLockResult,
    WaitTimeoutResult, Weak,
};

/// Atomic integers and `Ordering`, from std or from the model checker. The model checker's
/// come through the grader's harness, which records the values they read and write when it
/// replays a failing schedule, so the learner sees them in the timeline.
pub mod atomic {
    #[cfg(not(feature = "model"))]
    #[allow(unused_imports)]
    pub use std::sync::atomic::*;

    #[cfg(feature = "model")]
    #[allow(unused_imports)]
    pub use harness::atomic::*;
}

/// Spawning, scoping and yielding threads, from std or from the model checker.
pub mod thread {
    #[cfg(not(feature = "model"))]
    #[allow(unused_imports)]
    pub use std::thread::{
        current, panicking, scope, sleep, spawn, yield_now, Builder, JoinHandle, Result, Scope,
        ScopedJoinHandle, Thread, ThreadId,
    };

    #[cfg(feature = "model")]
    #[allow(unused_imports)]
    pub use shuttle::thread::{
        current, panicking, scope, sleep, spawn, yield_now, Builder, JoinHandle, Result, Scope,
        ScopedJoinHandle, Thread, ThreadId,
    };
}
