//! Linux's rungs of the isolation ladder: user, PID, mount, network and IPC namespaces under an
//! init of the grader's, cgroups around the tree, and Landlock where namespaces are refused.

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use nix::mount::{mount, MsFlags};
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use nix::unistd::{ForkResult, Gid, Uid};

use super::{folder_name, Isolation, ScratchSizes};
use crate::{Error, ErrorKind, Result};
use harness::platform::set_rlimit;

/// What the lowest rung lacks, on this system.
pub(super) const MINIMAL_LABEL: &str = "minimal (no namespaces, no Landlock)";

/// The best rung this machine allows, found by trying each mechanism once.
pub(super) fn probe() -> Isolation {
    if namespaces_work() {
        if TreeLimits::available() {
            Isolation::Full
        } else {
            Isolation::NoCgroups
        }
    } else if landlock_abi() >= 6 {
        Isolation::NoUserNamespaces
    } else {
        Isolation::Minimal
    }
}

/// Runs `true` through the whole namespace set-up: the only honest test of what the kernel, its
/// AppArmor policy and the container the grader runs in allow together.
fn namespaces_work() -> bool {
    let Ok(program) = std::fs::canonicalize("/bin/true") else {
        return false;
    };
    let base = std::env::temp_dir().join(format!("threadlings-probe-{}", std::process::id()));
    let result = (|| -> Result<bool> {
        let plan = NamespacePlan::new(&base, &program, &ScratchSizes::probe())?;
        let mut command = std::process::Command::new(&program);
        command
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .current_dir("/");
        let status_read = plan.attach(&mut command, Vec::new());
        let mut child = crate::reaper::spawn_own(&mut command)
            .map_err(|e| Error::new(ErrorKind::Io, e.to_string()))?;
        // The command holds the status pipe's write end until it is dropped.
        drop(command);
        let mut status = [0u8; 4];
        let reported = nix::unistd::read(&status_read, &mut status).is_ok_and(|n| n == 4);
        // Init waits to be killed once it has reported.
        for process in harness::platform::processes() {
            if process.parent == child.id() as i32 {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(process.pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        let _ = child.wait();
        crate::reaper::forget_own(child.id());
        Ok(reported && i32::from_ne_bytes(status) == 0)
    })();
    let _ = std::fs::remove_dir_all(&base);
    result.unwrap_or(false)
}

/// The Landlock ABI version the kernel offers; 0 without Landlock.
fn landlock_abi() -> i64 {
    // SAFETY: LANDLOCK_CREATE_RULESET_VERSION with a null attribute only returns a number.
    let version = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            1u32, // LANDLOCK_CREATE_RULESET_VERSION
        )
    };
    version.max(0)
}

/// Most processes and threads a test's tree may have at once: room for every exercise's
/// threads and forks, and a ceiling on a fork bomb.
pub const PROCESS_LIMIT: u64 = 512;

/// A cgroup (v1 or v2) around one test's process tree, bounding its memory and process count.
pub(crate) struct TreeLimits {
    dirs: Vec<PathBuf>,
    /// `cgroup.procs` of each, opened before the fork; the child writes its pid there.
    procs: Vec<OwnedFd>,
}

impl TreeLimits {
    fn available() -> bool {
        static AVAILABLE: OnceLock<bool> = OnceLock::new();
        *AVAILABLE.get_or_init(|| {
            // A name of its own: graders of a roster probe at the same moment.
            folder_name().is_ok_and(|name| TreeLimits::create(64, &format!("probe-{name}")).is_ok())
        })
    }

    /// A new cgroup under the grader's own, in each hierarchy that has the `memory`, `pids` or
    /// `cpu` controller; `memory_mib` of 0 leaves memory unbounded.
    pub(crate) fn create(memory_mib: u64, name: &str) -> Result<TreeLimits> {
        let own = std::fs::read_to_string("/proc/self/cgroup")
            .map_err(|source| Error::io("cannot read", Path::new("/proc/self/cgroup"), source))?;
        let mut limits = TreeLimits {
            dirs: Vec::new(),
            procs: Vec::new(),
        };
        let memory = (memory_mib * 1024 * 1024).to_string();
        let processes = PROCESS_LIMIT.to_string();
        let mut covered = (false, false);
        for line in own.lines() {
            let mut fields = line.splitn(3, ':');
            let (_, controllers, path) = match (fields.next(), fields.next(), fields.next()) {
                (Some(id), Some(controllers), Some(path)) => (id, controllers, path),
                _ => continue,
            };
            let path = path.trim_start_matches('/');
            let (root, files): (PathBuf, Vec<(&str, &str)>) = if controllers.is_empty() {
                // v2: one hierarchy; only useful where the memory and pids controllers are
                // enabled for the grader's children.
                let root = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
                    .into_iter()
                    .map(PathBuf::from)
                    .find(|root| root.join("cgroup.subtree_control").is_file());
                let Some(root) = root else { continue };
                let enabled =
                    std::fs::read_to_string(root.join(path).join("cgroup.subtree_control"))
                        .unwrap_or_default();
                if !(enabled.contains("memory") && enabled.contains("pids")) {
                    continue;
                }
                covered = (true, true);
                (
                    root,
                    vec![
                        ("memory.max", memory.as_str()),
                        ("memory.swap.max", "0"),
                        ("pids.max", processes.as_str()),
                    ],
                )
            } else if controllers.split(',').any(|c| c == "memory") {
                covered.0 = true;
                (
                    PathBuf::from("/sys/fs/cgroup").join(controllers),
                    vec![
                        ("memory.limit_in_bytes", memory.as_str()),
                        ("memory.memsw.limit_in_bytes", memory.as_str()),
                    ],
                )
            } else if controllers.split(',').any(|c| c == "pids") {
                covered.1 = true;
                (
                    PathBuf::from("/sys/fs/cgroup").join(controllers),
                    vec![("pids.max", processes.as_str())],
                )
            } else if controllers.split(',').any(|c| c == "cpu") {
                // No limit to set: in a group of its own the whole tree weighs as much as one
                // of the grader's threads, so a fork bomb cannot starve the grader.
                (
                    PathBuf::from("/sys/fs/cgroup").join(controllers),
                    Vec::new(),
                )
            } else {
                continue;
            };
            let parent = root.join(path);
            sweep_orphaned_groups(&parent);
            let dir = parent.join(format!("{GROUP_PREFIX}{}-{name}", std::process::id()));
            std::fs::create_dir(&dir).map_err(|source| Error::io("cannot create", &dir, source))?;
            limits.dirs.push(dir.clone());
            for (file, value) in files {
                // memsw and swap files exist only with swap accounting; the rest must take.
                if memory_mib == 0 && file.starts_with("memory") {
                    continue;
                }
                let written = std::fs::write(dir.join(file), value);
                if written.is_err() && !file.contains("sw") {
                    return Err(Error::new(
                        ErrorKind::Io,
                        format!("cannot set {} to {value}", dir.join(file).display()),
                    ));
                }
            }
            let procs = std::fs::OpenOptions::new()
                .write(true)
                .open(dir.join("cgroup.procs"))
                .map_err(|source| Error::io("cannot open", &dir.join("cgroup.procs"), source))?;
            limits.procs.push(procs.into());
        }
        if covered != (true, true) {
            return Err(Error::new(
                ErrorKind::Io,
                "no cgroup hierarchy with the memory and pids controllers is writable",
            ));
        }
        Ok(limits)
    }

    pub(crate) fn procs_fds(&self) -> Vec<RawFd> {
        self.procs.iter().map(|fd| fd.as_raw_fd()).collect()
    }

    /// Whether the kernel had to kill a process of the tree for memory.
    pub(crate) fn hit_memory_limit(&self) -> bool {
        self.dirs.iter().any(|dir| {
            let v1 = std::fs::read_to_string(dir.join("memory.oom_control")).unwrap_or_default();
            let v2 = std::fs::read_to_string(dir.join("memory.events")).unwrap_or_default();
            [v1, v2].iter().any(|text| {
                text.lines().any(|line| {
                    line.strip_prefix("oom_kill ")
                        .is_some_and(|n| n.trim().parse::<u64>().is_ok_and(|n| n > 0))
                })
            })
        })
    }
}

impl Drop for TreeLimits {
    fn drop(&mut self) {
        // A cgroup can be removed once its last process is gone, and killed processes take a
        // moment to exit, longer on a loaded machine. What is still busy after the wait is
        // removed by the next grader's `sweep_orphaned_groups` once this one has exited.
        for dir in &self.dirs {
            for attempt in 0..60 {
                if std::fs::remove_dir(dir).is_ok() || !dir.exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10 * attempt.min(10)));
            }
        }
    }
}

/// Every test's cgroup is named `threadlings-<grader pid>-<random>`, so that a group left
/// behind can be told apart from one a running grader is about to fill.
const GROUP_PREFIX: &str = "threadlings-";

/// Removes the cgroups under `parent` that graders which are no longer running left behind:
/// a grader killed mid-test never runs `Drop`, and a drop that gave up on a slow exit leaves
/// an empty group. Only a group whose owner is gone is touched, because a running grader's
/// new group is empty too until its test joins it; the kernel refuses to remove a group that
/// still has processes, so a busy one is never lost.
fn sweep_orphaned_groups(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(owner) = name
            .to_str()
            .and_then(|name| name.strip_prefix(GROUP_PREFIX))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        // Signal 0 only asks whether the process exists; EPERM means it does.
        let gone = nix::sys::signal::kill(nix::unistd::Pid::from_raw(owner as i32), None)
            == Err(nix::errno::Errno::ESRCH);
        if gone {
            let _ = std::fs::remove_dir(entry.path());
        }
    }
}

/// One step of building a test's root filesystem, every path already absolute under the new
/// root and converted to a C string before the fork.
enum MountStep {
    Dir(CString),
    File(CString),
    Symlink {
        target: CString,
        link: CString,
    },
    /// A read-only bind; `locked` are the flags the source mount has that a user namespace may
    /// not drop on remount (nosuid, nodev, noexec).
    BindReadOnly {
        source: CString,
        target: CString,
        locked: MsFlags,
    },
    /// A writable bind (devices).
    Bind {
        source: CString,
        target: CString,
    },
    Tmpfs {
        target: CString,
        options: CString,
    },
    Proc(CString),
}

/// Everything the child side needs for a namespaced test, prepared in the grader.
pub(crate) struct NamespacePlan {
    new_root: CString,
    steps: Vec<MountStep>,
    uid_map: Vec<u8>,
    gid_map: Vec<u8>,
    run_as: u32,
    grader_is_root: bool,
}

/// System folders a dynamically linked test binary needs, bound read-only.
const SYSTEM_FOLDERS: [&str; 6] = ["/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc"];
/// Devices a test may open.
const DEVICES: [&str; 5] = ["null", "zero", "full", "random", "urandom"];

fn c_path(path: &Path) -> Result<CString> {
    CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| {
        Error::new(
            ErrorKind::Io,
            format!("{} contains a NUL byte", path.display()),
        )
    })
}

impl NamespacePlan {
    /// A root filesystem mounted on `mount_point` (an empty folder the grader owns) that holds
    /// `executable` at its own path and nothing else of the checkout.
    pub(crate) fn new(
        mount_point: &Path,
        executable: &Path,
        sizes: &ScratchSizes,
    ) -> Result<NamespacePlan> {
        std::fs::create_dir_all(mount_point)
            .map_err(|source| Error::io("cannot create", mount_point, source))?;
        let mount_point = std::fs::canonicalize(mount_point)
            .map_err(|source| Error::io("cannot resolve", mount_point, source))?;
        let executable = std::fs::canonicalize(executable)
            .map_err(|source| Error::io("cannot resolve", executable, source))?;
        let inside = |path: &Path| -> Result<CString> {
            c_path(&mount_point.join(path.strip_prefix("/").unwrap_or(path)))
        };
        let mut steps = Vec::new();
        for folder in SYSTEM_FOLDERS.map(Path::new) {
            let Ok(metadata) = std::fs::symlink_metadata(folder) else {
                continue;
            };
            if metadata.file_type().is_symlink() {
                let target = std::fs::read_link(folder)
                    .map_err(|source| Error::io("cannot read", folder, source))?;
                steps.push(MountStep::Symlink {
                    target: c_path(&target)?,
                    link: inside(folder)?,
                });
            } else {
                steps.push(MountStep::Dir(inside(folder)?));
                steps.push(MountStep::BindReadOnly {
                    source: c_path(folder)?,
                    target: inside(folder)?,
                    locked: locked_flags(folder),
                });
            }
        }
        steps.push(MountStep::Dir(inside(Path::new("/dev"))?));
        steps.push(MountStep::Tmpfs {
            target: inside(Path::new("/dev"))?,
            options: c"mode=0755,size=64k".to_owned(),
        });
        for device in DEVICES {
            let path = Path::new("/dev").join(device);
            steps.push(MountStep::File(inside(&path)?));
            steps.push(MountStep::Bind {
                source: c_path(&path)?,
                target: inside(&path)?,
            });
        }
        for (folder, mib) in [("/dev/shm", sizes.shm_mib), ("/tmp", sizes.tmp_mib)] {
            steps.push(MountStep::Dir(inside(Path::new(folder))?));
            steps.push(MountStep::Tmpfs {
                target: inside(Path::new(folder))?,
                options: CString::new(format!("mode=1777,size={mib}m")).expect("no NUL"),
            });
        }
        steps.push(MountStep::Dir(inside(Path::new("/proc"))?));
        steps.push(MountStep::Proc(inside(Path::new("/proc"))?));
        // The test binary alone, at the path the grader executes. Bound last, so that a
        // checkout under /tmp (or /dev) is not hidden by the private tmpfs mounted there.
        let mut ancestors: Vec<&Path> = executable.ancestors().skip(1).collect();
        ancestors.reverse();
        for folder in ancestors.into_iter().skip(1) {
            if SYSTEM_FOLDERS
                .iter()
                .any(|system| folder.starts_with(system))
            {
                continue;
            }
            steps.push(MountStep::Dir(inside(folder)?));
        }
        if !SYSTEM_FOLDERS
            .iter()
            .any(|system| executable.starts_with(system))
        {
            steps.push(MountStep::File(inside(&executable)?));
            steps.push(MountStep::BindReadOnly {
                source: c_path(&executable)?,
                target: inside(&executable)?,
                locked: locked_flags(&executable),
            });
        }

        let grader_is_root = Uid::effective().is_root();
        // Root gives each test a user of its own, so that no file of anyone's is the test's and
        // RLIMIT_NPROC counts the test's processes only; anyone else runs the test as
        // themselves, mapped into the namespace.
        let run_as = if grader_is_root {
            fresh_test_uid()
        } else {
            Uid::effective().as_raw()
        };
        let gid = if grader_is_root {
            run_as
        } else {
            Gid::effective().as_raw()
        };
        Ok(NamespacePlan {
            new_root: c_path(&mount_point)?,
            steps,
            uid_map: format!("{run_as} {run_as} 1\n").into_bytes(),
            gid_map: format!("{gid} {gid} 1\n").into_bytes(),
            run_as,
            grader_is_root,
        })
    }

    /// Makes `command` start its program inside the namespaces, as the second child of an
    /// init process of the plan's own. Returns the pipe on which init reports the test's wait
    /// status (four bytes, native order) when it ends; init then waits to be killed, so the
    /// grader can list what the test left running before everything in the namespace dies.
    pub(crate) fn attach(
        self,
        command: &mut std::process::Command,
        cgroup_procs: Vec<RawFd>,
    ) -> OwnedFd {
        use std::os::unix::process::CommandExt;
        let (status_read, status_write) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("a pipe can be created");
        let status_fd = status_write.as_raw_fd();
        // SAFETY: the closure runs in the forked child before exec; see `enter`. It owns the
        // write end of the status pipe, which must stay open until the fork.
        unsafe {
            command.pre_exec(move || {
                let _keep = &status_write;
                self.enter(status_fd, &cgroup_procs)
            });
        }
        status_read
    }

    /// In the forked child: cgroup, namespaces, init, root filesystem, user; returns in the
    /// test process, ready to exec. Only system calls on memory prepared before the fork.
    fn enter(&self, status_fd: RawFd, cgroup_procs: &[RawFd]) -> std::io::Result<()> {
        join_cgroups(cgroup_procs)?;
        let namespaces = CloneFlags::CLONE_NEWPID
            | CloneFlags::CLONE_NEWNS
            | CloneFlags::CLONE_NEWNET
            | CloneFlags::CLONE_NEWIPC
            | CloneFlags::CLONE_NEWUTS;
        if self.grader_is_root {
            // Root needs no user namespace to create the others, and so the mounts below belong
            // to the machine's own user namespace, which the test (a plain user) cannot touch.
            // Root's supplementary groups would stay in force after the switch of user.
            nix::unistd::setgroups(&[])?;
            nix::sched::unshare(namespaces)?;
        } else {
            // Anyone else needs a user namespace, in which the grader's own user is the only
            // one mapped; the test loses every capability at exec, as a non-root user.
            nix::sched::unshare(CloneFlags::CLONE_NEWUSER | namespaces)?;
            write_file(c"/proc/self/uid_map", &self.uid_map)?;
            write_file(c"/proc/self/setgroups", b"deny")?;
            write_file(c"/proc/self/gid_map", &self.gid_map)?;
        }
        // SAFETY: the child of a fork in a forked child; both sides only make system calls.
        match unsafe { nix::unistd::fork() }? {
            ForkResult::Parent { child } => outer_waiter(child),
            ForkResult::Child => {}
        }
        bring_up_loopback()?;
        // Now PID 1 of the new namespace. Init is a copy of the grader that never executes
        // anything: undumpable, so that the test can neither read its memory nor, with
        // `hidepid`, even see its `/proc` entry (its command line is the grader's).
        set_death_signal();
        // SAFETY: prctl on this process only.
        unsafe {
            libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        }
        self.build_root()?;
        // SAFETY: as above.
        match unsafe { nix::unistd::fork() }? {
            ForkResult::Parent { child } => init(child, status_fd),
            ForkResult::Child => {}
        }
        set_death_signal();
        nix::unistd::chdir(c"/tmp")?;
        if self.grader_is_root {
            // From root to a user of the test's own: every capability goes with the switch.
            let (uid, gid) = (Uid::from_raw(self.run_as), Gid::from_raw(self.run_as));
            nix::unistd::setresgid(gid, gid, gid)?;
            nix::unistd::setresuid(uid, uid, uid)?;
        }
        // SAFETY: prctl on this process only.
        unsafe {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        set_rlimit(libc::RLIMIT_NPROC, PROCESS_LIMIT);
        Ok(())
    }

    fn build_root(&self) -> std::io::Result<()> {
        let none: Option<&CStr> = None;
        mount(
            none,
            c"/",
            none,
            MsFlags::MS_REC | MsFlags::MS_PRIVATE,
            none,
        )?;
        mount(
            Some(c"tmpfs"),
            self.new_root.as_c_str(),
            Some(c"tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some(c"mode=0755,size=1m"),
        )?;
        for step in &self.steps {
            match step {
                MountStep::Dir(path) => {
                    match nix::unistd::mkdir(path.as_c_str(), Mode::from_bits_truncate(0o755)) {
                        Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                MountStep::File(path) => {
                    let fd = nix::fcntl::open(
                        path.as_c_str(),
                        nix::fcntl::OFlag::O_CREAT
                            | nix::fcntl::OFlag::O_WRONLY
                            | nix::fcntl::OFlag::O_CLOEXEC,
                        Mode::from_bits_truncate(0o644),
                    )?;
                    drop(fd);
                }
                MountStep::Symlink { target, link } => nix::unistd::symlinkat(
                    target.as_c_str(),
                    nix::fcntl::AT_FDCWD,
                    link.as_c_str(),
                )?,
                MountStep::BindReadOnly {
                    source,
                    target,
                    locked,
                } => {
                    mount(
                        Some(source.as_c_str()),
                        target.as_c_str(),
                        none,
                        MsFlags::MS_BIND | MsFlags::MS_REC,
                        none,
                    )?;
                    mount(
                        none,
                        target.as_c_str(),
                        none,
                        MsFlags::MS_BIND
                            | MsFlags::MS_REMOUNT
                            | MsFlags::MS_RDONLY
                            | MsFlags::MS_NOSUID
                            | *locked,
                        none,
                    )?;
                }
                MountStep::Bind { source, target } => mount(
                    Some(source.as_c_str()),
                    target.as_c_str(),
                    none,
                    MsFlags::MS_BIND,
                    none,
                )?,
                MountStep::Tmpfs { target, options } => mount(
                    Some(c"tmpfs"),
                    target.as_c_str(),
                    Some(c"tmpfs"),
                    MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                    Some(options.as_c_str()),
                )?,
                MountStep::Proc(target) => mount(
                    Some(c"proc"),
                    target.as_c_str(),
                    Some(c"proc"),
                    MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                    Some(c"hidepid=invisible"),
                )?,
            }
        }
        // The old root goes away entirely: stack the new root on it, then detach the old one.
        nix::unistd::chdir(self.new_root.as_c_str())?;
        nix::unistd::pivot_root(c".", c".")?;
        nix::mount::umount2(c".", nix::mount::MntFlags::MNT_DETACH)?;
        nix::unistd::chdir(c"/")?;
        mount(
            none,
            c"/",
            none,
            MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            none,
        )?;
        Ok(())
    }
}

/// Brings up `lo` in the test's network namespace: tests may talk to themselves over
/// 127.0.0.1 (exercise 08 serves its pages that way), and nothing else is reachable.
fn bring_up_loopback() -> std::io::Result<()> {
    // SAFETY: a socket, two ioctls on a zeroed `ifreq` on the stack, and a close.
    unsafe {
        let socket = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if socket < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut request: libc::ifreq = std::mem::zeroed();
        for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
            *slot = *byte as libc::c_char;
        }
        let mut result = libc::ioctl(socket, libc::SIOCGIFFLAGS, &mut request);
        if result == 0 {
            request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            result = libc::ioctl(socket, libc::SIOCSIFFLAGS, &request);
        }
        let error = std::io::Error::last_os_error();
        libc::close(socket);
        if result != 0 {
            return Err(error);
        }
    }
    Ok(())
}

/// Mount flags of the mount holding `path` that a user namespace must keep when remounting.
fn locked_flags(path: &Path) -> MsFlags {
    let Ok(stat) = nix::sys::statvfs::statvfs(path) else {
        return MsFlags::empty();
    };
    let flags = stat.flags();
    let mut locked = MsFlags::empty();
    use nix::sys::statvfs::FsFlags;
    for (have, keep) in [
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if flags.contains(have) {
            locked |= keep;
        }
    }
    locked
}

/// A uid no account uses, drawn at random for every test, so that tests (of this grader or of
/// another on the machine) never share one.
fn fresh_test_uid() -> u32 {
    let mut bytes = [0u8; 4];
    let _ = std::fs::File::open("/dev/urandom")
        .and_then(|mut random| std::io::Read::read_exact(&mut random, &mut bytes));
    // Above every ordinary and system range, below the overflow ids.
    2_000_000_000 + u32::from_ne_bytes(bytes) % 100_000_000
}

fn join_cgroups(procs: &[RawFd]) -> std::io::Result<()> {
    let mut digits = [0u8; 12];
    let text = format_number(std::process::id(), &mut digits);
    for &fd in procs {
        // SAFETY: a write of bytes on the stack to a file descriptor opened before the fork.
        if unsafe { libc::write(fd, text.as_ptr().cast(), text.len()) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// `number` in decimal, in `buffer`, without allocating.
fn format_number(mut number: u32, buffer: &mut [u8; 12]) -> &[u8] {
    let mut start = buffer.len();
    loop {
        start -= 1;
        buffer[start] = b'0' + (number % 10) as u8;
        number /= 10;
        if number == 0 {
            break;
        }
    }
    &buffer[start..]
}

fn write_file(path: &CStr, contents: &[u8]) -> std::io::Result<()> {
    let fd = nix::fcntl::open(
        path,
        nix::fcntl::OFlag::O_WRONLY | nix::fcntl::OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    nix::unistd::write(&fd, contents)?;
    Ok(())
}

fn set_death_signal() {
    // SAFETY: prctl on this process only.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
    }
}

/// Closes every file descriptor but `keep`, so that the pipes of the test (and `Command`'s own
/// exec-error pipe) close as soon as the test process closes them.
fn close_all_but(keep: Option<RawFd>) {
    // SAFETY: close_range on this process's own descriptors.
    unsafe {
        match keep {
            Some(fd) => {
                if fd > 0 {
                    libc::syscall(libc::SYS_close_range, 0u32, (fd - 1) as u32, 0u32);
                }
                libc::syscall(libc::SYS_close_range, (fd + 1) as u32, u32::MAX, 0u32);
            }
            None => {
                libc::syscall(libc::SYS_close_range, 0u32, u32::MAX, 0u32);
            }
        }
    }
}

/// The grader's direct child, outside the namespace: waits for init and leaves with it.
fn outer_waiter(init: nix::unistd::Pid) -> ! {
    close_all_but(None);
    let code = match nix::sys::wait::waitpid(init, None) {
        Ok(nix::sys::wait::WaitStatus::Exited(_, code)) => code,
        _ => INIT_DIED,
    };
    // SAFETY: leaves at once, running nothing of the parent's.
    unsafe { libc::_exit(code) }
}

/// How long init waits, after reporting, for the grader to kill it.
const INIT_PATIENCE_SECS: u32 = 30;

/// The exit code of the grader's child when init ended before reporting (killed for memory).
pub(crate) const INIT_DIED: i32 = 113;

/// PID 1 of the namespace: reaps orphans, reports the test's wait status on `status_fd` when
/// the test ends, then waits to be killed with everything still in the namespace.
fn init(test: nix::unistd::Pid, status_fd: RawFd) -> ! {
    close_all_but(Some(status_fd));
    // The kernel drops every signal to a namespace's init that has no handler, its own alarm
    // included, so the alarm below needs one to end init.
    // SAFETY: installs an async-signal-safe handler in this single-threaded process.
    unsafe {
        libc::signal(
            libc::SIGALRM,
            init_alarm as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes the status it is given.
        let pid = unsafe { libc::waitpid(-1, &mut status, 0) };
        if pid == test.as_raw() {
            let bytes = status.to_ne_bytes();
            // SAFETY: a write of bytes on the stack to the descriptor kept open for it.
            unsafe {
                libc::write(status_fd, bytes.as_ptr().cast(), bytes.len());
                libc::close(status_fd);
            }
            // The grader kills init as soon as it has looked. Should it never (the test
            // failed to exec, and `Command::spawn` waits for the grader's child, which waits
            // for init), the alarm ends init, and with it the wait.
            // SAFETY: alarm and pause only arm a timer and wait for a signal.
            unsafe { libc::alarm(INIT_PATIENCE_SECS) };
            loop {
                // SAFETY: as above; SIGKILL or SIGALRM ends it.
                unsafe { libc::pause() };
            }
        }
        if pid < 0 && nix::errno::Errno::last() == nix::errno::Errno::ECHILD {
            // SAFETY: as in `outer_waiter`.
            unsafe { libc::_exit(INIT_DIED) }
        }
    }
}

/// Init's alarm: the grader never came to look (the test failed to start), so leave.
extern "C" fn init_alarm(_signal: libc::c_int) {
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(INIT_DIED) }
}

/// Landlock rules for a test at [`Isolation::NoUserNamespaces`]: read and run the system's
/// folders, `/proc` and the test binary; write its own scratch folder, `/dev/shm` and
/// `/dev/null`; no TCP; no signals or abstract sockets outside its own tree.
pub(crate) fn landlock_rules(
    executable: &Path,
    scratch: &Path,
) -> std::result::Result<landlock::RulesetCreated, landlock::RulesetError> {
    use landlock::{
        path_beneath_rules, Access, AccessFs, AccessNet, Ruleset, RulesetAttr, RulesetCreatedAttr,
        Scope, ABI,
    };
    let abi = ABI::V6;
    let read = AccessFs::from_read(abi);
    let everything = AccessFs::from_all(abi);
    Ruleset::default()
        .handle_access(everything)?
        .handle_access(AccessNet::from_all(abi))?
        .scope(Scope::from_all(abi))?
        .create()?
        .add_rules(path_beneath_rules(
            SYSTEM_FOLDERS.iter().chain(["/proc", "/dev"].iter()),
            read,
        ))?
        .add_rules(path_beneath_rules(
            [executable],
            AccessFs::from_file(abi) & read,
        ))?
        .add_rules(path_beneath_rules(
            [scratch, Path::new("/dev/shm")],
            everything,
        ))?
        .add_rules(path_beneath_rules(
            ["/dev/null", "/dev/zero", "/dev/full"],
            AccessFs::from_file(abi),
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_groups_of_graders_that_are_gone_are_swept() {
        let parent = std::env::temp_dir().join(format!("threadlings-sweep-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&parent);
        let mut finished = std::process::Command::new("true")
            .spawn()
            .expect("`true` runs");
        let gone = finished.id();
        finished.wait().expect("`true` exits");
        let names = [
            format!("{GROUP_PREFIX}{gone}-0011223344556677"),
            format!("{GROUP_PREFIX}{}-8899aabbccddeeff", std::process::id()),
            format!("{GROUP_PREFIX}1-probe-0011223344556677"),
            format!("{GROUP_PREFIX}not-a-pid"),
            "someone-else".to_owned(),
        ];
        for name in &names {
            std::fs::create_dir_all(parent.join(name)).unwrap();
        }
        sweep_orphaned_groups(&parent);
        let mut left: Vec<String> = std::fs::read_dir(&parent)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        let mut expected = names[1..].to_vec();
        expected.sort();
        assert_eq!(
            left, expected,
            "only the group of the exited grader {gone} goes"
        );
        std::fs::remove_dir_all(&parent).unwrap();
    }

    #[test]
    fn numbers_are_written_without_allocating() {
        let mut buffer = [0u8; 12];
        assert_eq!(format_number(0, &mut buffer), b"0");
        assert_eq!(format_number(4_294_967_295, &mut buffer), b"4294967295");
    }
}
