//! The grader's rule for its own children: it is a *child subreaper*, and every process it
//! starts and waits for itself is registered here.
//!
//! Invariant: a child of the grader process that is not in the registry is a stray, an orphan
//! some test left behind and the kernel re-parented here, and [`reap_strays`] kills it. So
//! every part of the grader that starts a process it means to wait for (cargo in `scratch`,
//! `--list` in `check`, a student's grader in `xtask grade`, a test in `runner`) starts it
//! through [`spawn_own`] or [`output_own`], never through `Command::spawn` directly, or the
//! next sweep would kill it mid-run.

use std::collections::HashSet;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use nix::sys::signal::Signal;
use nix::unistd::Pid;

/// Processes the grader started and waits for itself. [`reap_strays`] leaves these alone.
static OWN_CHILDREN: Mutex<Option<HashSet<u32>>> = Mutex::new(None);

/// Makes this process the subreaper of everything it starts, where the system has subreapers
/// (Linux; see `harness::platform::become_subreaper`). Call once, early.
pub fn become_subreaper() {
    harness::platform::become_subreaper();
}

/// Spawns a command the grader will wait for itself, so [`reap_strays`] never touches it.
/// Call [`forget_own`] once it has been waited for.
pub fn spawn_own(command: &mut Command) -> std::io::Result<Child> {
    let mut own = OWN_CHILDREN.lock().unwrap_or_else(|e| e.into_inner());
    let child = command.spawn()?;
    own.get_or_insert_with(HashSet::new).insert(child.id());
    Ok(child)
}

/// Takes a child that has been waited for out of the registry: its pid may be reused.
pub fn forget_own(pid: u32) {
    if let Some(own) = OWN_CHILDREN
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_mut()
    {
        own.remove(&pid);
    }
}

/// Makes the process `command` starts die when the grader dies, instead of running on
/// unsupervised (a roster's per-student graders, for example, after the roster is killed).
pub fn die_with_grader(command: &mut Command) -> &mut Command {
    // SAFETY: one prctl call between fork and exec.
    unsafe {
        command.pre_exec(|| {
            harness::platform::die_with_parent();
            Ok(())
        })
    }
}

/// Runs `command` to completion like `Command::output`, as a child [`reap_strays`] respects.
pub fn output_own(command: &mut Command) -> std::io::Result<std::process::Output> {
    let child = spawn_own(command.stdout(Stdio::piped()).stderr(Stdio::piped()))?;
    let pid = child.id();
    let output = child.wait_with_output();
    forget_own(pid);
    output
}

/// Kills and reaps every child of the grader it did not start itself: orphans of tests that
/// were re-parented here, with everything below them. Returns a description of each.
///
/// Strays and their descendants are killed at once, round after round, so that a relay of
/// processes that re-fork each other when one dies runs out of partners.
pub fn reap_strays() -> Vec<String> {
    let own = OWN_CHILDREN.lock().unwrap_or_else(|e| e.into_inner());
    let me = std::process::id() as i32;
    let mut strays = Vec::new();
    for _round in 0..STRAY_ROUNDS {
        let processes = harness::platform::processes();
        let mut doomed: Vec<(i32, String)> = processes
            .iter()
            .filter(|p| {
                p.parent == me
                    && !own
                        .as_ref()
                        .is_some_and(|own| own.contains(&(p.pid as u32)))
            })
            .map(|p| (p.pid, p.name.clone()))
            .collect();
        if doomed.is_empty() {
            break;
        }
        let mut index = 0;
        while index < doomed.len() {
            let parent = doomed[index].0;
            doomed.extend(
                processes
                    .iter()
                    .filter(|p| p.parent == parent)
                    .map(|p| (p.pid, p.name.clone())),
            );
            index += 1;
        }
        for (pid, _) in &doomed {
            let _ = nix::sys::signal::kill(Pid::from_raw(*pid), Signal::SIGKILL);
        }
        for (pid, name) in doomed {
            if processes.iter().any(|p| p.pid == pid && p.parent == me) {
                let _ = nix::sys::wait::waitpid(Pid::from_raw(pid), None);
            }
            let description = format!("process {pid} ({name})");
            if !strays.contains(&description) {
                strays.push(description);
            }
        }
        // The killed strays' own children come to the grader next; let them arrive.
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    strays
}

/// Rounds of [`reap_strays`] before it gives up on a relay that keeps re-forking.
const STRAY_ROUNDS: usize = 50;
