//! What a check is doing while it runs, for a caller that wants to show it.
//!
//! Building a scratch crate for the first time takes minutes, and a learner facing a silent
//! terminal thinks it hung. The grader never prints, so instead it tells an [`Observer`] (passed
//! in `check::Options`) about each step, and the caller decides what the learner sees: `xtask`
//! draws a progress line, `grade` and `verify` pass [`Observer::none`]. An observer only
//! watches: nothing it does changes a verdict.

use std::fmt;
use std::sync::Arc;

/// One step of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The scratch crate starts building. `first_build` is true when the shared build folder
    /// did not exist yet, so every dependency compiles now (minutes, where later checks take
    /// seconds). `release` marks the optimised build made for timing tests.
    BuildStarted { release: bool, first_build: bool },
    /// Cargo finished compiling one crate (`compiler-artifact` in its JSON messages): `done`
    /// so far, out of about `total` when the grader can tell (`None` otherwise).
    Compiled {
        name: String,
        done: usize,
        total: Option<usize>,
    },
    /// The build ended, whether or not the code compiled.
    BuildFinished { release: bool },
    /// Hidden test `index` (1-based) of `total` that will run starts.
    TestStarted {
        index: usize,
        total: usize,
        name: String,
    },
}

/// Receives [`Event`]s as a check makes progress; cheap to clone, shared between threads.
#[derive(Clone, Default)]
pub struct Observer(Option<Arc<dyn Fn(&Event) + Send + Sync>>);

impl Observer {
    /// An observer that calls `on_event` for every event.
    pub fn new(on_event: impl Fn(&Event) + Send + Sync + 'static) -> Observer {
        Observer(Some(Arc::new(on_event)))
    }

    /// An observer that ignores every event.
    pub fn none() -> Observer {
        Observer(None)
    }

    /// Tells the observer about `event`.
    pub fn notify(&self, event: Event) {
        if let Some(on_event) = &self.0 {
            on_event(&event);
        }
    }
}

impl fmt::Debug for Observer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Observer(..)"
        } else {
            "Observer(none)"
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[test]
    fn an_observer_sees_every_event_in_order_and_none_sees_nothing() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        let observer = Observer::new(move |event| record.lock().unwrap().push(event.clone()));
        let events = [
            Event::BuildStarted {
                release: false,
                first_build: true,
            },
            Event::TestStarted {
                index: 1,
                total: 2,
                name: "a".into(),
            },
        ];
        for event in events.clone() {
            observer.clone().notify(event);
        }
        assert_eq!(*seen.lock().unwrap(), events);
        Observer::none().notify(Event::BuildFinished { release: false });
        assert_eq!(seen.lock().unwrap().len(), 2, "`none` forwards nothing");
    }
}
