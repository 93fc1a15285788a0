//! macOS's rung of the isolation ladder: always [`Isolation::Minimal`]. macOS has no namespaces,
//! no cgroups and no Landlock, and it does not enforce `RLIMIT_AS`, so a test runs as a plain
//! child in a process group of its own with CPU-time and core-file limits only; it can read and
//! write what the learner's user can. (`sandbox-exec` profiles are deprecated by Apple and
//! are not used.) The types below stand for the Linux mechanisms and have no values: the
//! runner's code for them type-checks here and can never run.

use std::os::fd::{OwnedFd, RawFd};
use std::path::Path;

use super::{Isolation, ScratchSizes};
use crate::Result;

/// What the lowest rung lacks, on this system: the reports print it.
pub(super) const MINIMAL_LABEL: &str = "minimal (macOS: no namespaces, cgroups or Landlock; \
    memory cap not enforced; processes that leave the test's group are not collected; leaked \
    shared memory is not found; a timeout does not name what a thread waits in)";

pub(super) fn probe() -> Isolation {
    Isolation::Minimal
}

/// Linux's namespace set-up; none exists on macOS.
pub(crate) enum NamespacePlan {}

impl NamespacePlan {
    pub(crate) fn new(
        _mount_point: &Path,
        _executable: &Path,
        _sizes: &ScratchSizes,
    ) -> Result<NamespacePlan> {
        Err(crate::Error::new(
            crate::ErrorKind::Tool,
            "namespaces exist on Linux only; on macOS tests run at isolation `minimal`".to_owned(),
        ))
    }

    pub(crate) fn attach(
        self,
        _command: &mut std::process::Command,
        _procs: Vec<RawFd>,
    ) -> OwnedFd {
        match self {}
    }
}

/// Linux's cgroup around a test's tree; none exists on macOS.
pub(crate) enum TreeLimits {}

impl TreeLimits {
    pub(crate) fn create(_memory_mib: u64, _name: &str) -> Result<TreeLimits> {
        Err(crate::Error::new(
            crate::ErrorKind::Tool,
            "cgroups exist on Linux only; on macOS tests run at isolation `minimal`".to_owned(),
        ))
    }

    pub(crate) fn procs_fds(&self) -> Vec<RawFd> {
        match *self {}
    }

    pub(crate) fn hit_memory_limit(&self) -> bool {
        match *self {}
    }
}

/// Linux's Landlock ruleset; none exists on macOS.
pub(crate) enum NoRules {}

impl NoRules {
    pub(crate) fn restrict_self(self) -> std::result::Result<(), String> {
        match self {}
    }
}

pub(crate) fn landlock_rules(
    _executable: &Path,
    _scratch: &Path,
) -> std::result::Result<NoRules, String> {
    Err("Landlock exists on Linux only".to_owned())
}
