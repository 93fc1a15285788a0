//! Turns on the machine for the graders of one roster: a test that measures timing runs alone,
//! with no build and no other test beside it, and everything else runs side by side.
//!
//! A roster grades each student in a process of its own, so the turns are `flock`s on files
//! under `target/threadlings/turns/`, which every grader of the checkout sees. A learner's
//! `check` never calls [`take_turns`], and so never waits for a turn.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::workspace::Workspace;
use crate::{Error, Result};

/// The lock files of the machine's turns, when this process grades one student of a roster.
static TURNS: OnceLock<PathBuf> = OnceLock::new();

/// Makes this process take turns with every other grader of `workspace` that does the same:
/// a test that measures timing then runs alone, with no build and no other test beside it, and
/// everything else runs side by side. A roster grades its students in processes of their own,
/// each of which calls this. Without it (a learner's `check`) no turn is ever waited for.
pub fn take_turns(workspace: &Workspace) {
    let _ = TURNS.set(workspace.state_dir().join("turns"));
}

/// A turn on the machine: held while it lives.
#[must_use = "the turn ends when it is dropped"]
pub struct Turn {
    _machine: Option<nix::fcntl::Flock<File>>,
}

/// A turn beside others: a build or a test that does not measure time.
pub fn shared_turn() -> Result<Turn> {
    turn(false)
}

/// The whole machine, for a test that measures timing: waits until every shared turn has
/// ended, and no new one starts until this one does.
pub fn whole_machine() -> Result<Turn> {
    turn(true)
}

/// Two `flock`s: `machine` (shared by builds and tests, exclusive for timing) and `gate`,
/// held by everyone only while taking `machine`. A timing test waiting for `machine` holds
/// `gate`, so new shared turns queue behind it instead of starving it.
fn turn(whole: bool) -> Result<Turn> {
    match TURNS.get() {
        Some(dir) => turn_in(dir, whole),
        None => Ok(Turn { _machine: None }),
    }
}

fn turn_in(dir: &Path, whole: bool) -> Result<Turn> {
    use nix::fcntl::{Flock, FlockArg};
    std::fs::create_dir_all(dir).map_err(|source| Error::io("cannot create", dir, source))?;
    let lock = |name: &str, how: FlockArg| {
        let path = dir.join(name);
        let file = open_lock(&path)?;
        Flock::lock(file, how).map_err(|(_, errno)| Error::io("cannot lock", &path, errno.into()))
    };
    let gate = lock("gate.lock", FlockArg::LockExclusive)?;
    let how = if whole {
        FlockArg::LockExclusive
    } else {
        FlockArg::LockShared
    };
    let machine = lock("machine.lock", how)?;
    drop(gate);
    Ok(Turn {
        _machine: Some(machine),
    })
}

fn open_lock(path: &Path) -> Result<File> {
    File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|source| Error::io("cannot open the lock", path, source))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// Whether another open file could take `name` in `dir` (shared or not) right now.
    fn free(dir: &Path, name: &str, shared: bool) -> bool {
        use nix::fcntl::{Flock, FlockArg};
        let file = open_lock(&dir.join(name)).expect("the lock file opens");
        let how = if shared {
            FlockArg::LockSharedNonblock
        } else {
            FlockArg::LockExclusiveNonblock
        };
        Flock::lock(file, how).is_ok()
    }

    #[test]
    fn a_timing_test_waits_for_shared_turns_and_later_shared_turns_wait_for_it() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let dir = dir.path().to_owned();
        let build = turn_in(&dir, false).expect("a shared turn");
        let other_build = turn_in(&dir, false).expect("shared turns go side by side");
        assert!(
            !free(&dir, "machine.lock", false),
            "shared turns hold the machine"
        );
        let (taken, timing_has_it) = mpsc::channel();
        let (release, timing_may_end) = mpsc::channel::<()>();
        let timing = std::thread::spawn({
            let dir = dir.clone();
            move || {
                let turn = turn_in(&dir, true).expect("the whole machine");
                taken.send(()).expect("the test listens");
                let _ = timing_may_end.recv();
                drop(turn);
            }
        });
        // The timing test holds the gate while it waits, so no new shared turn can start.
        while free(&dir, "gate.lock", false) {
            std::thread::yield_now();
        }
        drop(build);
        assert!(
            timing_has_it.try_recv().is_err(),
            "the timing test started beside a build"
        );
        drop(other_build);
        timing_has_it
            .recv()
            .expect("the timing test gets the machine");
        assert!(
            !free(&dir, "machine.lock", true),
            "a build could start beside the timing test"
        );
        assert!(
            free(&dir, "gate.lock", false),
            "the gate is let go once the turn is taken"
        );
        release.send(()).expect("the timing thread listens");
        timing.join().expect("the timing thread ends");
        assert!(
            free(&dir, "machine.lock", false),
            "the turn ends when dropped"
        );
        let untaken = turn(true).expect("no roster, no lock");
        assert!(untaken._machine.is_none());
    }
}
