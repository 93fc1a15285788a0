//! What a test process can reach: the isolation ladder, probed once per grader process.
//!
//! At [`Isolation::Full`] every test runs in namespaces of its own (user, PID, mount, network,
//! IPC), under a small init process the grader controls, in a root filesystem built for it: the
//! system's read-only program folders, the test binary alone at its own path, a fresh `/proc`,
//! a few devices, and size-capped private `/tmp` and `/dev/shm`. A cgroup bounds the whole tree's
//! memory and process count. The test runs as an unprivileged user (a fresh one per test when
//! the grader is root), so it holds no capability over the mounts it sees.
//!
//! Each lower rung keeps what the machine still allows and says what it lost in its label:
//! without cgroups the bounds are per process; without user namespaces Landlock confines the
//! file system, TCP and signals; with neither the test runs as a plain child in a process
//! group of its own, as in the grader's first versions.
//!
//! Everything the child side does runs between `fork` and `exec` of a multi-threaded grader,
//! so it only makes system calls on memory prepared before the fork: no allocation, no locks.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::OnceLock;

use crate::{Error, ErrorKind, Result};

/// How far this machine lets the grader confine a test, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Isolation {
    /// Namespaces, a root filesystem of its own, and a cgroup around the whole process tree.
    Full,
    /// Namespaces, but the cgroup controllers cannot be written: memory is capped per process
    /// and the process count per test user.
    NoCgroups,
    /// User namespaces are refused (Ubuntu 24.04's AppArmor default for unprivileged users):
    /// Landlock confines files, TCP and signals; the process tree is found by its process group
    /// and the grader's subreaper; `/proc` shows other processes.
    NoUserNamespaces,
    /// Neither namespaces nor Landlock (ABI 6, Linux 6.12): a process group, the subreaper and
    /// per-process limits only. The test can read what the grader's user can read.
    Minimal,
}

impl Isolation {
    /// Whether tests are confined as far as the grader knows how.
    pub fn is_full(self) -> bool {
        self == Isolation::Full
    }

    /// Every rung, best first.
    pub const ALL: [Isolation; 4] = [
        Isolation::Full,
        Isolation::NoCgroups,
        Isolation::NoUserNamespaces,
        Isolation::Minimal,
    ];

    /// The name `THREADLINGS_ISOLATION` takes to cap the probe at this rung.
    pub fn key(self) -> &'static str {
        match self {
            Isolation::Full => "full",
            Isolation::NoCgroups => "no-cgroups",
            Isolation::NoUserNamespaces => "no-namespaces",
            Isolation::Minimal => "minimal",
        }
    }

    /// Whether everything a test leaves behind (orphaned processes, `/dev/shm` objects) stays
    /// in namespaces of its own. Only then can one grader process run tests side by side (as
    /// `verify --jobs` does): below it, an orphan comes to the grader process and a leftover
    /// appears in the machine's `/dev/shm`, and the sweep after one test would blame it on
    /// whichever test happened to end first.
    pub fn keeps_leftovers_per_test(self) -> bool {
        self.uses_namespaces()
    }

    pub(crate) fn uses_namespaces(self) -> bool {
        matches!(self, Isolation::Full | Isolation::NoCgroups)
    }
}

impl fmt::Display for Isolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Isolation::Full => "full",
            Isolation::NoCgroups => "reduced (no cgroups)",
            Isolation::NoUserNamespaces => "reduced (no user namespaces)",
            Isolation::Minimal => os::MINIMAL_LABEL,
        })
    }
}

impl FromStr for Isolation {
    type Err = Error;

    fn from_str(text: &str) -> Result<Isolation> {
        Isolation::ALL
            .into_iter()
            .find(|level| level.key() == text || level.to_string() == text)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!(
                        "`{text}` is not an isolation level; use one of full, no-cgroups, \
                         no-namespaces, minimal"
                    ),
                )
            })
    }
}

impl serde::Serialize for Isolation {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Isolation {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The environment variable that caps the probed level, to run a machine's tests as a less
/// capable machine would (`THREADLINGS_ISOLATION=no-namespaces`). It can only lower the level.
pub const CEILING_VARIABLE: &str = "THREADLINGS_ISOLATION";

/// The isolation every test of this grader process gets: probed once, then cached.
pub fn isolation() -> Isolation {
    static LEVEL: OnceLock<Isolation> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        let ceiling = std::env::var(CEILING_VARIABLE)
            .ok()
            .and_then(|text| text.parse().ok())
            .unwrap_or(Isolation::Full);
        os::probe().max(ceiling)
    })
}

/// Sizes of a test's private `/tmp` and `/dev/shm`, so a test cannot fill the disk.
#[derive(Debug, Clone, Copy)]
pub struct ScratchSizes {
    pub tmp_mib: u64,
    pub shm_mib: u64,
}

impl ScratchSizes {
    pub const DEFAULT: ScratchSizes = ScratchSizes {
        tmp_mib: 256,
        shm_mib: 256,
    };

    /// The smallest sizes, for the probe's trial run of the namespace set-up.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub(crate) fn probe() -> ScratchSizes {
        ScratchSizes {
            tmp_mib: 1,
            shm_mib: 1,
        }
    }
}

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as os;
#[cfg(target_os = "linux")]
pub use linux::PROCESS_LIMIT;
#[cfg(target_os = "linux")]
pub(crate) use linux::{landlock_rules, NamespacePlan, TreeLimits};

#[cfg(target_os = "macos")]
mod macos;
#[cfg(target_os = "macos")]
use macos as os;
#[cfg(target_os = "macos")]
pub(crate) use macos::{landlock_rules, NamespacePlan, TreeLimits};

/// Lists what a test left in a scratch folder, with sizes, and removes it.
pub(crate) fn collect_scratch(folder: &Path, shown_as: &str, keep: Option<&Path>) -> Vec<String> {
    let mut found = Vec::new();
    collect_into(folder, shown_as, keep, &mut found);
    found.sort();
    found
}

/// `keep` is a path relative to `folder` that the grader put there itself: the test binary,
/// bound into the test's private `/tmp` when the checkout lies under `/tmp`. The folders on
/// its way are entered instead of reported, so that anything else in them still is.
fn collect_into(folder: &Path, shown_as: &str, keep: Option<&Path>, found: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let shown = format!("{shown_as}/{}", entry.file_name().to_string_lossy());
        let mut kept = keep.map(Path::components);
        if let Some(first) = kept.as_mut().and_then(Iterator::next) {
            if first.as_os_str() == entry.file_name() {
                let rest = kept
                    .map(|rest| rest.as_path().to_owned())
                    .unwrap_or_default();
                if !rest.as_os_str().is_empty() {
                    collect_into(&path, &shown, Some(&rest), found);
                }
                continue;
            }
        }
        found.push(format!("{shown} ({})", human_size(disk_usage(&path))));
        let _ = if path.is_dir() && !path.is_symlink() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
    }
}

fn disk_usage(path: &Path) -> u64 {
    let Ok(metadata) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if metadata.is_dir() {
        std::fs::read_dir(path)
            .map(|entries| entries.flatten().map(|e| disk_usage(&e.path())).sum())
            .unwrap_or(0)
    } else {
        metadata.len()
    }
}

fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// A name for a per-test folder that has nothing to do with the test's nonce.
pub(crate) fn folder_name() -> Result<String> {
    let mut bytes = [0u8; 8];
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .map_err(|source| Error::io("cannot read", Path::new("/dev/urandom"), source))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_level_reads_back_from_its_key_and_its_label() {
        for level in Isolation::ALL {
            assert_eq!(level.key().parse::<Isolation>().unwrap(), level);
            assert_eq!(level.to_string().parse::<Isolation>().unwrap(), level);
        }
        assert!(Isolation::Full.is_full() && !Isolation::NoCgroups.is_full());
        assert!(Isolation::Full < Isolation::Minimal, "best first");
    }
}
