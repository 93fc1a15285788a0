//! The atomics of the model-checked twin's `crate::sync::atomic`: shuttle's, each operation
//! also telling [`crate::model`] the value it read or wrote while a failing schedule is replayed.
//!
//! The grader's `sync.rs` re-exports this module under the feature `model`, so the learner's
//! code reaches these types and never names them. A backtrace taken at a scheduling point shows
//! which operation a thread makes and from which line, but not its operands; only the atomic
//! itself sees the value, after the operation ran. Each method calls shuttle's method of the same
//! name once, so the scheduling points (and so every schedule and its replay string) are those of
//! shuttle's own types. Outside the replay an operation only checks one flag.
//!
//! Mutexes, condition variables and the rest stay shuttle's: the value an operation on them
//! carries is the learner's data, not a number a timeline can show.

use std::panic::Location;

use crate::model::{record_access, replaying, Access};

pub use shuttle::sync::atomic::{
    compiler_fence, fence, AtomicI128, AtomicPtr, AtomicU128, Ordering,
};

/// Records an operation on the atomic at `address` while a failing schedule is replayed;
/// `describe` gives what it read, what it wrote and how its row shows that. Outside the replay
/// nothing is formatted or kept.
#[track_caller]
fn record(address: usize, describe: impl FnOnce() -> (Option<String>, Option<String>, String)) {
    if !replaying() {
        return;
    }
    let location = Location::caller();
    let (read, written, shown) = describe();
    record_access(Access {
        task: shuttle::current::try_get_current_task().map_or(0, usize::from),
        file: location.file(),
        line: location.line(),
        address,
        read,
        written,
        shown,
    });
}

/// A read-modify-write method of shuttle's atomic that always writes, recorded as
/// `before -> after`.
macro_rules! read_modify_write {
    ($method:ident, $value:ty, |$before:ident, $operand:ident| $after:expr) => {
        #[track_caller]
        pub fn $method(&self, $operand: $value, order: Ordering) -> $value {
            let $before = self.inner.$method($operand, order);
            self.read_modify_write($before, $after)
        }
    };
}

/// A compare-exchange method of shuttle's atomic, recorded as `before -> after` when it
/// writes and as what it found when it does not.
macro_rules! compare_exchange {
    ($method:ident, $value:ty) => {
        #[track_caller]
        pub fn $method(
            &self,
            current: $value,
            new: $value,
            success: Ordering,
            failure: Ordering,
        ) -> Result<$value, $value> {
            let result = self.inner.$method(current, new, success, failure);
            self.record_exchange(current, new, result)
        }
    };
}

macro_rules! traced_atomic {
    ($name:ident, $value:ty) => {
        /// Shuttle's atomic of the same name, whose operations a replay records.
        #[derive(Default)]
        pub struct $name {
            inner: shuttle::sync::atomic::$name,
        }

        impl From<$value> for $name {
            fn from(value: $value) -> Self {
                Self::new(value)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(&self.inner, f)
            }
        }

        impl $name {
            #[track_caller]
            pub const fn new(value: $value) -> Self {
                Self {
                    inner: shuttle::sync::atomic::$name::new(value),
                }
            }

            fn address(&self) -> usize {
                std::ptr::from_ref(self) as usize
            }

            /// A read-modify-write that always writes, recorded as `before -> after`.
            #[track_caller]
            fn read_modify_write(&self, before: $value, after: $value) -> $value {
                record(self.address(), || {
                    let shown = format!("{before} -> {after}");
                    (Some(before.to_string()), Some(after.to_string()), shown)
                });
                before
            }

            pub fn get_mut(&mut self) -> &mut $value {
                self.inner.get_mut()
            }

            pub fn into_inner(self) -> $value {
                self.inner.into_inner()
            }

            #[track_caller]
            pub fn load(&self, order: Ordering) -> $value {
                let value = self.inner.load(order);
                record(self.address(), || {
                    (Some(value.to_string()), None, format!("= {value}"))
                });
                value
            }

            #[track_caller]
            pub fn store(&self, value: $value, order: Ordering) {
                self.inner.store(value, order);
                record(self.address(), || {
                    (None, Some(value.to_string()), format!("= {value}"))
                });
            }

            #[track_caller]
            pub fn swap(&self, value: $value, order: Ordering) -> $value {
                let before = self.inner.swap(value, order);
                self.read_modify_write(before, value)
            }

            compare_exchange!(compare_exchange, $value);
            compare_exchange!(compare_exchange_weak, $value);

            #[track_caller]
            fn record_exchange(
                &self,
                current: $value,
                new: $value,
                result: Result<$value, $value>,
            ) -> Result<$value, $value> {
                match result {
                    Ok(before) => {
                        self.read_modify_write(before, new);
                    }
                    Err(found) => record(self.address(), || {
                        let shown = format!("found {found}, not {current}: unchanged");
                        (Some(found.to_string()), None, shown)
                    }),
                }
                result
            }

            // Shuttle makes these of several steps (a load, then compare-exchanges), each
            // already a row of its own; the values are not recorded.
            pub fn fetch_update<F>(
                &self,
                set_order: Ordering,
                fetch_order: Ordering,
                f: F,
            ) -> Result<$value, $value>
            where
                F: FnMut($value) -> Option<$value>,
            {
                self.inner.fetch_update(set_order, fetch_order, f)
            }

            pub fn try_update(
                &self,
                set_order: Ordering,
                fetch_order: Ordering,
                f: impl FnMut($value) -> Option<$value>,
            ) -> Result<$value, $value> {
                self.inner.try_update(set_order, fetch_order, f)
            }

            pub fn update(
                &self,
                set_order: Ordering,
                fetch_order: Ordering,
                f: impl FnMut($value) -> $value,
            ) -> $value {
                self.inner.update(set_order, fetch_order, f)
            }

            read_modify_write!(fetch_and, $value, |before, value| before & value);
            read_modify_write!(fetch_nand, $value, |before, value| !(before & value));
            read_modify_write!(fetch_or, $value, |before, value| before | value);
            read_modify_write!(fetch_xor, $value, |before, value| before ^ value);
        }
    };
}

macro_rules! traced_atomic_integer {
    ($name:ident, $value:ty) => {
        traced_atomic!($name, $value);

        impl $name {
            read_modify_write!(fetch_add, $value, |before, value| before
                .wrapping_add(value));
            read_modify_write!(fetch_sub, $value, |before, value| before
                .wrapping_sub(value));
            read_modify_write!(fetch_max, $value, |before, value| before.max(value));
            read_modify_write!(fetch_min, $value, |before, value| before.min(value));
        }
    };
}

traced_atomic!(AtomicBool, bool);
traced_atomic_integer!(AtomicI8, i8);
traced_atomic_integer!(AtomicI16, i16);
traced_atomic_integer!(AtomicI32, i32);
traced_atomic_integer!(AtomicI64, i64);
traced_atomic_integer!(AtomicIsize, isize);
traced_atomic_integer!(AtomicU8, u8);
traced_atomic_integer!(AtomicU16, u16);
traced_atomic_integer!(AtomicU32, u32);
traced_atomic_integer!(AtomicU64, u64);
traced_atomic_integer!(AtomicUsize, usize);

impl AtomicBool {
    #[track_caller]
    pub fn fetch_not(&self, order: Ordering) -> bool {
        let before = self.inner.fetch_not(order);
        self.read_modify_write(before, !before)
    }
}
