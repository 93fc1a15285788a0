//! Runs one hidden test as its own process and records what it did.
//!
//! One mechanism for every test: a fresh process with a wall-clock limit, capped output, an
//! address-space cap, no core dumps, the nonce on stdin and the report on fd 3. Isolation comes
//! from the process: a deadlock, abort, stack overflow or `exit` in one test cannot hide another
//! test's result, and `fork` in a test is safe because the process is single-threaded when the
//! test starts. What else confines the process depends on the machine's [`Isolation`]: at the
//! top of the ladder namespaces, a root filesystem and a cgroup of its own; at the bottom a
//! process group and the grader's subreaper ([`crate::reaper`]).
//!
//! Whatever the level, when the test ends every process it left is named (a `leak`) and
//! killed, every file it left in its scratch folder is named and removed, and no folder, mount,
//! variable or argument the test can see contains its nonce.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

use crate::diagnosis::{self, Diagnosis, DiagnosisKind};
use crate::reaper::{forget_own, reap_strays, spawn_own};
use crate::sandbox::{self, Isolation, NamespacePlan, ScratchSizes, TreeLimits};
use crate::{Error, ErrorKind, Result};

/// Bytes of stdout and of stderr kept per test; the rest is counted and dropped.
pub const OUTPUT_CAP: usize = 64 * 1024;
/// Bytes of report kept; a real report is a few hundred bytes.
const REPORT_CAP: usize = 1024 * 1024;
/// How long to keep reading pipes after the test process exited, for output still in flight.
const DRAIN_GRACE: Duration = Duration::from_millis(200);

/// What to run and within which limits.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub executable: PathBuf,
    pub test_name: String,
    pub timeout: Duration,
    /// Address-space cap in MiB; 0 for none.
    pub memory_mib: u64,
    /// The grader's folder for test processes, inside `target/`: per-test scratch folders
    /// (below the namespaced levels) and the mount point of namespaced tests' root.
    pub sandbox_dir: PathBuf,
    /// Extra arguments after `--run NAME` (the speedup timer passes its parameters here).
    pub extra_args: Vec<String>,
}

/// Everything observed about one test process.
#[derive(Debug, Clone)]
pub struct RawRun {
    pub ending: Ending,
    /// The harness's report, if one arrived carrying the right nonce.
    pub report: Option<harness::Report>,
    /// Report-like lines that did not carry the nonce: forged, or garbled.
    pub forged_reports: usize,
    pub stdout: Captured,
    pub stderr: Captured,
    pub elapsed: Duration,
    /// Processes of the test's group still alive after it exited (they were killed).
    pub leftovers: Vec<String>,
    /// Objects that appeared in `/dev/shm` while the test ran and that nobody held any more
    /// after it: left behind by the test. The runner has removed them.
    pub new_shm_objects: Vec<String>,
    /// Files and folders the test left in its scratch folder (`/tmp` inside the sandbox), with
    /// their sizes. The runner has removed them.
    pub scratch_leftovers: Vec<String>,
    /// The kernel killed a process of the test's tree because the tree as a whole went over
    /// its memory limit (known only where a cgroup bounds the tree).
    pub tree_out_of_memory: bool,
    /// How confined the test was.
    pub isolation: Isolation,
}

/// How the test process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    Exited(i32),
    Signaled(i32),
    TimedOut(Diagnosis),
    /// Still computing when the machine's patience ran out ([`Patience::give_up_after`]), having
    /// used less CPU time than its limit: the machine, not the code, was too slow.
    Starved {
        cpu_used: Duration,
        wall: Duration,
    },
}

/// Output with a cap; `dropped` counts what did not fit.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    pub bytes: Vec<u8>,
    pub dropped: u64,
    cap: usize,
}

impl Captured {
    fn with_cap(cap: usize) -> Captured {
        Captured {
            bytes: Vec::new(),
            dropped: 0,
            cap,
        }
    }

    fn push(&mut self, chunk: &[u8]) {
        let room = self.cap.saturating_sub(self.bytes.len());
        let kept = chunk.len().min(room);
        self.bytes.extend_from_slice(&chunk[..kept]);
        self.dropped += (chunk.len() - kept) as u64;
    }

    /// The text, with the cut marked where output was dropped.
    pub fn text(&self) -> String {
        let mut text = String::from_utf8_lossy(&self.bytes).into_owned();
        if self.dropped > 0 {
            text.push_str(&format!(
                "\n[... {} more bytes not kept ...]\n",
                self.dropped
            ));
        }
        text
    }
}

/// Runs one test and waits for it, however it ends, as isolated as this machine allows.
pub fn run(request: &RunRequest) -> Result<RawRun> {
    run_isolated(request, sandbox::isolation())
}

/// Runs one test at a given isolation level, which must be one this machine allows (at most
/// [`sandbox::isolation`]); the hostile suite uses it to prove every rung.
pub fn run_isolated(request: &RunRequest, isolation: Isolation) -> Result<RawRun> {
    let nonce = fresh_nonce()?;
    let (report_read, report_write) = harness::platform::pipe_cloexec()
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot create a pipe: {e}")))?;

    // Absolute and without symlinks: a namespaced test sees the binary only at its real path,
    // from a working directory of its own.
    let executable = std::fs::canonicalize(&request.executable).map_err(|source| {
        Error::new(
            ErrorKind::Tool,
            format!(
                "cannot find the test binary {}: {source}",
                request.executable.display()
            ),
        )
    })?;
    let mut command = Command::new(&executable);
    command
        .arg("--run")
        .arg(&request.test_name)
        .args(&request.extra_args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let limits = ChildLimits {
        memory_bytes: request.memory_mib * 1024 * 1024,
        cpu_seconds: cpu_seconds_for(request.timeout),
        // Without a cgroup to weigh the tree as one, hundreds of spinning processes would
        // starve the grader past every deadline; at the lowest priority they cannot.
        lowest_priority: isolation != Isolation::Full,
    };
    // SAFETY: the closure runs in the forked child before exec and only makes
    // async-signal-safe system calls on values copied into it.
    unsafe {
        command.pre_exec(move || limits.apply());
    }

    let mut confinement = if isolation.uses_namespaces() {
        let tree = match isolation {
            Isolation::Full => Some(TreeLimits::create(
                request.memory_mib,
                &sandbox::folder_name()?,
            )?),
            _ => None,
        };
        let plan = NamespacePlan::new(
            &request.sandbox_dir.join("root"),
            &executable,
            &ScratchSizes::DEFAULT,
        )?;
        command
            .env("HOME", "/tmp")
            .env("TMPDIR", "/tmp")
            .current_dir(&request.sandbox_dir);
        let status = plan.attach(
            &mut command,
            tree.as_ref().map(TreeLimits::procs_fds).unwrap_or_default(),
        );
        Confinement::Namespace {
            status: Some(status),
            init: None,
            tree,
            binary_in_tmp: executable.strip_prefix("/tmp").ok().map(Path::to_path_buf),
        }
    } else {
        // A folder of the test's own, named by chance, never by the nonce.
        let folder = request.sandbox_dir.join(sandbox::folder_name()?);
        std::fs::create_dir_all(&folder)
            .map_err(|source| Error::io("cannot create", &folder, source))?;
        command
            .env("HOME", &folder)
            .env("TMPDIR", &folder)
            .current_dir(&folder);
        if isolation == Isolation::NoUserNamespaces {
            let rules = sandbox::landlock_rules(&executable, &folder).map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!("cannot prepare the Landlock rules for a test: {e}"),
                )
            })?;
            let mut rules = Some(rules);
            // SAFETY: restrict_self makes the Landlock system calls on a ruleset prepared before
            // the fork.
            unsafe {
                command.pre_exec(move || match rules.take() {
                    Some(rules) => rules
                        .restrict_self()
                        .map(|_| ())
                        .map_err(|e| std::io::Error::other(e.to_string())),
                    None => Ok(()),
                });
            }
        }
        Confinement::Group {
            folder,
            shm_before: shm_objects(),
        }
    };

    // Registered last, so it runs last, in the process that execs the test: `dup2` onto fd 3
    // replaces whatever the grader had there, and while another thread of the grader opens and
    // closes descriptors, fd 3 can be one the steps above still use in the child (the
    // cgroup's `cgroup.procs`, the status pipe, the Landlock ruleset). Done first, it sent the
    // child's pid meant for `cgroup.procs` down the report pipe, in front of the report.
    let report_fd = report_write.as_raw_fd();
    // SAFETY: the closure makes one `fcntl` or `dup2` call in the forked child before exec, on
    // a number copied into it.
    unsafe {
        command.pre_exec(move || move_to_result_fd(report_fd));
    }

    let started = Instant::now();
    let mut child = spawn_own(&mut command).map_err(|source| {
        Error::new(
            ErrorKind::Tool,
            format!(
                "cannot start the test binary {}: {source}",
                request.executable.display()
            ),
        )
    })?;
    drop(report_write);
    drop(command);
    let pgid = child.id() as i32;
    if let Some(mut stdin) = child.stdin.take() {
        // A test that exits before reading the nonce closes the pipe; that is its own failure.
        let _ = writeln!(stdin, "{nonce}");
    }
    let watched = watch(
        &mut child,
        pgid,
        report_read,
        &mut confinement,
        Patience {
            started,
            limit: request.timeout,
        },
    );
    let watched = match watched {
        Ok(watched) => watched,
        Err(error) => {
            confinement.kill_everything(pgid);
            let _ = child.wait();
            forget_own(child.id());
            return Err(error);
        }
    };
    let elapsed = started.elapsed();

    let mut leftovers: Vec<String> = confinement
        .members(pgid)
        .into_iter()
        .map(describe_process)
        .collect();
    let (scratch_leftovers, new_shm_objects) = confinement.collect_files();
    confinement.kill_everything(pgid);
    let _ = child.wait();
    forget_own(child.id());
    // Processes that left the process group with `setsid` were re-parented to the grader.
    leftovers.extend(reap_strays());
    let tree_out_of_memory = match &confinement {
        Confinement::Namespace {
            tree: Some(tree), ..
        } => tree.hit_memory_limit(),
        _ => false,
    };
    drop(confinement);

    let (report, forged_reports) = find_report(&watched.report_bytes, &nonce);
    Ok(RawRun {
        ending: watched.ending,
        report,
        forged_reports,
        stdout: watched.stdout,
        stderr: watched.stderr,
        elapsed,
        leftovers,
        new_shm_objects,
        scratch_leftovers,
        tree_out_of_memory,
        isolation,
    })
}

/// How one test is confined, and how to find and end what it started.
enum Confinement {
    /// Namespaces: the test runs under an init of the runner's, which reports on `status`.
    Namespace {
        status: Option<OwnedFd>,
        /// The init process's pid as the grader sees it, once found.
        init: Option<i32>,
        tree: Option<TreeLimits>,
        /// The test binary's path under `/tmp`, when the checkout lies there: bound into the
        /// test's private `/tmp` by the grader, so never the test's leftover.
        binary_in_tmp: Option<PathBuf>,
    },
    /// No namespaces: the test's process group, a scratch folder of its own on disk, and the
    /// machine's `/dev/shm` compared before and after.
    Group {
        folder: PathBuf,
        shm_before: HashSet<String>,
    },
}

impl Confinement {
    /// The init process of a namespaced test: the only child of the grader's child.
    fn init(&mut self, outer: i32) -> Option<i32> {
        let Confinement::Namespace { init, .. } = self else {
            return None;
        };
        if init.is_none() {
            *init = harness::platform::processes()
                .into_iter()
                .find(|process| process.parent == outer)
                .map(|process| process.pid);
        }
        *init
    }

    /// Every process of the test still there: below init in a namespace (whatever process
    /// group or nested namespace it moved to), or in the process group.
    /// The test's processes while it runs: its own and every one it started. (The test
    /// process leads its group; [`Confinement::members`] leaves it out, because after the test
    /// it is the grader's child, not a leftover.)
    fn tree(&mut self, pgid: i32) -> Vec<i32> {
        let mut tree = self.members(pgid);
        if matches!(self, Confinement::Group { .. }) {
            tree.push(pgid);
        }
        tree
    }

    fn members(&mut self, pgid: i32) -> Vec<i32> {
        match self {
            Confinement::Namespace { .. } => match self.init(pgid) {
                Some(init) => descendants(init),
                None => Vec::new(),
            },
            Confinement::Group { .. } => harness::platform::processes_in_group(pgid)
                .into_iter()
                .filter(|pid| *pid != pgid)
                .collect(),
        }
    }

    /// What the test left in its scratch folder and in `/dev/shm`, both removed.
    fn collect_files(&mut self) -> (Vec<String>, Vec<String>) {
        match self {
            Confinement::Namespace {
                init,
                binary_in_tmp,
                ..
            } => {
                let Some(init) = *init else {
                    return (Vec::new(), Vec::new());
                };
                // The test's tmpfs mounts, seen through init's root while init still holds them.
                let Some(root) = harness::platform::root_folder_of(init) else {
                    return (Vec::new(), Vec::new());
                };
                (
                    sandbox::collect_scratch(&root.join("tmp"), "/tmp", binary_in_tmp.as_deref()),
                    shm_names(sandbox::collect_scratch(
                        &root.join("dev/shm"),
                        "/dev/shm",
                        None,
                    )),
                )
            }
            Confinement::Group { folder, shm_before } => {
                let scratch = sandbox::collect_scratch(folder, "$TMPDIR", None);
                let _ = std::fs::remove_dir_all(&*folder);
                (scratch, remove_abandoned_shm_objects(shm_before))
            }
        }
    }

    /// Kills every process of the test: init, and with it the whole namespace (the grader's
    /// child then leaves on its own, having reaped init), or the process group.
    fn kill_everything(&mut self, pgid: i32) {
        match self.init(pgid) {
            // Killing the grader's child too would hand init, still dying, to the grader's
            // subreaper, where the sweep for strays would count it as the test's leftover.
            Some(init) => {
                let _ = kill(Pid::from_raw(init), Signal::SIGKILL);
            }
            None => {
                let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
            }
        }
    }
}

/// `/dev/shm/NAME (4 KiB)` becomes `/dev/shm/NAME`: an object is named, its size is noise.
fn shm_names(found: Vec<String>) -> Vec<String> {
    found
        .into_iter()
        .map(|entry| match entry.rsplit_once(" (") {
            Some((name, _)) => name.to_owned(),
            None => entry,
        })
        .collect()
}

/// Every process below `ancestor` in the process tree, by the grader's pids.
fn descendants(ancestor: i32) -> Vec<i32> {
    let processes = harness::platform::processes();
    let mut found = vec![ancestor];
    let mut index = 0;
    while index < found.len() {
        let parent = found[index];
        found.extend(
            processes
                .iter()
                .filter(|process| process.parent == parent)
                .map(|process| process.pid),
        );
        index += 1;
    }
    found.remove(0);
    found
}

fn describe_process(pid: i32) -> String {
    let name = harness::platform::process(pid)
        .map(|process| process.name)
        .unwrap_or_default();
    format!("process {pid} ({name})")
}

/// The CPU time one process of a test may use: more than it could use in its wall-clock
/// limit on every core, so that only a process the deadline somehow missed ever meets it.
fn cpu_seconds_for(timeout: Duration) -> u64 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    (timeout.as_secs() + 1) * cores + 1
}

/// Finds objects that appeared in `/dev/shm` during the test and that no process holds open or
/// mapped any more: abandoned by the test, since the whole test process group is gone. They are
/// removed, so that a leak costs one verdict and not memory until reboot, and named for the
/// report. An object some live process still uses is left alone: it belongs to someone else.
fn remove_abandoned_shm_objects(before: &HashSet<String>) -> Vec<String> {
    let Some(shm_folder) = harness::platform::SHM_FOLDER.map(PathBuf::from) else {
        return Vec::new();
    };
    let new: Vec<String> = shm_objects()
        .into_iter()
        .filter(|name| !before.contains(name))
        .collect();
    if new.is_empty() {
        return Vec::new();
    }
    let in_use = harness::platform::shm_objects_in_use();
    let mut abandoned = Vec::new();
    for name in new {
        let path = shm_folder.join(&name);
        if in_use.contains(&path) {
            continue;
        }
        let _ = std::fs::remove_file(&path);
        abandoned.push(path.display().to_string());
    }
    abandoned.sort();
    abandoned
}

/// The names in `/dev/shm`, where `shm_open` and POSIX semaphores keep their objects on Linux.
/// macOS keeps them out of the file system, so there a leak goes unnoticed.
fn shm_objects() -> HashSet<String> {
    let Some(folder) = harness::platform::SHM_FOLDER else {
        return HashSet::new();
    };
    std::fs::read_dir(folder)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Puts the write end of the report pipe on fd 3, where the harness writes its report, and
/// leaves it open across exec.
fn move_to_result_fd(report_fd: i32) -> std::io::Result<()> {
    // SAFETY: plain system calls in the child between fork and exec.
    unsafe {
        if report_fd == harness::RESULT_FD {
            libc::fcntl(report_fd, libc::F_SETFD, 0);
        } else if libc::dup2(report_fd, harness::RESULT_FD) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The limits every test process gets, applied in the forked child.
#[derive(Clone, Copy)]
struct ChildLimits {
    memory_bytes: u64,
    cpu_seconds: u64,
    lowest_priority: bool,
}

impl ChildLimits {
    fn apply(self) -> std::io::Result<()> {
        // SAFETY: plain system calls in the child between fork and exec.
        unsafe {
            // If the grader dies, its tests die with it instead of running on unsupervised
            // (Linux only: macOS has no parent-death signal).
            harness::platform::die_with_parent();
            if self.lowest_priority {
                libc::setpriority(libc::PRIO_PROCESS, 0, 19);
            }
        }
        // A crashing test must not write a core file outside target/.
        harness::platform::set_rlimit(libc::RLIMIT_CORE, 0);
        harness::platform::set_rlimit(libc::RLIMIT_CPU, self.cpu_seconds);
        // Not enforced on macOS (harness::platform::MEMORY_CAP_ENFORCED).
        if self.memory_bytes > 0 {
            harness::platform::cap_memory(self.memory_bytes);
        }
        Ok(())
    }
}

struct Watched {
    ending: Ending,
    stdout: Captured,
    stderr: Captured,
    report_bytes: Vec<u8>,
}

/// How long a test may run. Its limit is CPU time as much as wall time, so that a busy machine
/// cannot turn correct code into a timeout: at the wall-clock limit, a test whose threads are
/// all blocked or asleep has timed out (nothing it does will change that), but one that is
/// still computing has timed out only once its processes have used [`STARVED_SHARE`] of the
/// limit in CPU time. Until then the machine was slower than the limit assumed, and the runner
/// looks again every [`EXTENSION`], up to [`Patience::give_up_after`].
///
/// Measured on 2 cores: a correct test needing 2 s of CPU takes about 16 s of wall time with 8
/// runnable processes per core, past a 10 s limit; an infinite loop on one thread reaches 9 s
/// of CPU after about 72 s at that load, and exactly at the limit on an idle machine.
#[derive(Debug, Clone, Copy)]
struct Patience {
    started: Instant,
    limit: Duration,
}

/// The share of the limit, in CPU time, that a still-running test must have used to be called
/// out of time: below it, the machine starved the test.
const STARVED_SHARE: f64 = 0.9;
/// How often a starved test is looked at again.
const EXTENSION: Duration = Duration::from_secs(1);

impl Patience {
    fn first_deadline(self) -> Instant {
        self.started + self.limit
    }

    /// The most wall time the runner waits for a starved test: ten times its limit. Beyond
    /// it, the test ends `Starved`, which is no one's verdict on the code.
    fn give_up_after(self) -> Instant {
        self.started + self.limit * 10
    }

    /// Whether a test still computing after `cpu_used` of CPU time was starved by the machine.
    fn starved(self, cpu_used: Duration) -> bool {
        cpu_used.as_secs_f64() < STARVED_SHARE * self.limit.as_secs_f64()
    }
}

/// The CPU time the test's processes have used so far, from the platform layer.
fn cpu_time_of(members: &[i32]) -> Duration {
    members
        .iter()
        .filter_map(|pid| harness::platform::process(*pid))
        .map(|process| process.cpu_time)
        .sum()
}

/// Whether threads other than the test's and this one wanted a core at the end of `diagnosis`:
/// only then can a test that used little CPU time blame the machine. A test cannot fake it
/// without using CPU time of its own, which ends the patience (at the lower isolation rungs a
/// process that left the group with `setsid` can, for at most [`Patience::give_up_after`]).
fn others_want_a_core(diagnosis: &Diagnosis) -> bool {
    let test_runnable = diagnosis
        .threads
        .iter()
        .filter(|thread| thread.waiting_on.is_none())
        .count();
    harness::platform::runnable_threads_on_machine()
        .is_some_and(|runnable| runnable > test_runnable + 1)
}

/// The event loop: reads the pipes without ever blocking on one, notices the end of the test
/// (its exit, or its wait status from a namespace's init), and ends everything once the test
/// is out of time ([`Patience`]) after diagnosing it.
fn watch(
    child: &mut Child,
    pgid: i32,
    report_read: OwnedFd,
    confinement: &mut Confinement,
    patience: Patience,
) -> Result<Watched> {
    let mut deadline = patience.first_deadline();
    let stdout: OwnedFd = child.stdout.take().expect("stdout is piped").into();
    let stderr: OwnedFd = child.stderr.take().expect("stderr is piped").into();
    let status = match confinement {
        Confinement::Namespace { status, .. } => status.take(),
        Confinement::Group { .. } => None,
    };
    let namespaced = status.is_some();
    let mut streams = [
        (Some(stdout), Captured::with_cap(OUTPUT_CAP)),
        (Some(stderr), Captured::with_cap(OUTPUT_CAP)),
        (Some(report_read), Captured::with_cap(REPORT_CAP)),
        (status, Captured::with_cap(STATUS_BYTES)),
    ];
    let mut ending = None;
    let mut drain_until = None;
    // A deadlock for good ends the test before its limit (see `diagnosis::waiting_for_good`).
    let mut next_look = patience.started + diagnosis::FOR_GOOD_GAP;
    let mut last_look = None;
    loop {
        let now = Instant::now();
        if ending.is_none() {
            let reported = &streams[3].1.bytes;
            if namespaced && reported.len() == STATUS_BYTES {
                let status = i32::from_ne_bytes(reported[..].try_into().expect("four bytes"));
                ending = Some(ending_of(ExitStatus::from_raw(status)));
            } else if let Some(status) = child.try_wait().map_err(wait_error)? {
                ending = Some(match namespaced {
                    // The grader's child leaves only after init, which waits to be killed: the
                    // kernel killed init, and the test with it (for memory, most likely).
                    true => Ending::Signaled(libc::SIGKILL),
                    false => ending_of(status),
                });
            } else if now >= deadline {
                let diagnosis = diagnosis::diagnose_processes(|| confinement.tree(pgid));
                // No thread to see yet: on a busy machine the sandbox may not have started the
                // test at all, which is no more the code's fault than a slow computation.
                let computing =
                    diagnosis.kind == DiagnosisKind::Spinning || diagnosis.threads.is_empty();
                let cpu_used = cpu_time_of(&confinement.tree(pgid));
                let starved =
                    computing && patience.starved(cpu_used) && others_want_a_core(&diagnosis);
                if starved && now < patience.give_up_after() {
                    deadline = Instant::now() + EXTENSION;
                } else {
                    confinement.kill_everything(pgid);
                    ending = Some(if starved {
                        Ending::Starved {
                            cpu_used,
                            wall: patience.started.elapsed(),
                        }
                    } else {
                        Ending::TimedOut(diagnosis)
                    });
                }
            } else if now >= next_look {
                let look = diagnosis::waiting_for_good(&confinement.tree(pgid));
                if look.is_some() && look == last_look {
                    let diagnosis = diagnosis::diagnose_processes(|| confinement.tree(pgid));
                    // The full diagnosis looks again; it agrees unless the test was already
                    // ending.
                    if diagnosis.kind == DiagnosisKind::Deadlock {
                        confinement.kill_everything(pgid);
                        ending = Some(Ending::TimedOut(Diagnosis {
                            for_good: true,
                            ..diagnosis
                        }));
                    }
                }
                last_look = look;
                next_look = Instant::now() + diagnosis::FOR_GOOD_GAP;
            }
            if ending.is_some() {
                drain_until = Some(Instant::now() + DRAIN_GRACE);
            }
        }
        let all_closed = streams[..3].iter().all(|(fd, _)| fd.is_none());
        if ending.is_some() && (all_closed || drain_until.is_some_and(|until| now >= until)) {
            break;
        }
        let wait = drain_until
            .unwrap_or(deadline)
            .saturating_duration_since(now)
            .min(Duration::from_millis(50));
        read_ready(&mut streams, wait)?;
    }
    let [(_, stdout), (_, stderr), (_, report), _] = streams;
    Ok(Watched {
        ending: ending.expect("the loop only ends once the process has"),
        stdout,
        stderr,
        report_bytes: report.bytes,
    })
}

/// Bytes of the wait status a namespace's init reports.
const STATUS_BYTES: usize = 4;

fn read_ready(streams: &mut [(Option<OwnedFd>, Captured)], wait: Duration) -> Result<()> {
    let ready: Vec<bool> = {
        let mut poll_fds: Vec<PollFd> = streams
            .iter()
            .filter_map(|(fd, _)| {
                fd.as_ref()
                    .map(|fd| PollFd::new(fd.as_fd(), PollFlags::POLLIN))
            })
            .collect();
        let timeout = PollTimeout::try_from(wait.as_millis() as i32).unwrap_or(PollTimeout::ZERO);
        match poll(&mut poll_fds, timeout) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(Error::new(ErrorKind::Io, format!("poll failed: {e}"))),
        }
        poll_fds
            .iter()
            .map(|p| p.revents().is_some_and(|r| !r.is_empty()))
            .collect()
    };
    let mut ready = ready.into_iter();
    let mut buffer = [0u8; 64 * 1024];
    for (fd, captured) in streams.iter_mut() {
        let Some(open) = fd.as_ref() else { continue };
        if !ready.next().unwrap_or(false) {
            continue;
        }
        let mut file = std::fs::File::from(
            open.try_clone()
                .map_err(|e| Error::new(ErrorKind::Io, e.to_string()))?,
        );
        match file.read(&mut buffer) {
            Ok(0) => *fd = None,
            Ok(n) => captured.push(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => *fd = None,
        }
    }
    Ok(())
}

fn ending_of(status: ExitStatus) -> Ending {
    match (status.code(), status.signal()) {
        (Some(code), _) => Ending::Exited(code),
        (None, Some(signal)) => Ending::Signaled(signal),
        (None, None) => Ending::Exited(-1),
    }
}

fn wait_error(source: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("cannot wait for the test process: {source}"),
    )
}

fn fresh_nonce() -> Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .map_err(|source| Error::io("cannot read", Path::new("/dev/urandom"), source))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The one report that carries the nonce, and how many lines pretended to be one.
fn find_report(bytes: &[u8], nonce: &str) -> (Option<harness::Report>, usize) {
    let mut found = None;
    let mut forged = 0;
    for line in String::from_utf8_lossy(bytes)
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        match serde_json::from_str::<harness::Report>(line) {
            Ok(report) if report.nonce == nonce && found.is_none() => found = Some(report),
            _ => forged += 1,
        }
    }
    (found, forged)
}

#[cfg(test)]
mod tests {
    use super::{find_report, Patience};
    use std::time::{Duration, Instant};

    #[test]
    fn a_test_is_out_of_time_once_it_used_most_of_its_limit_in_cpu_time() {
        let patience = Patience {
            started: Instant::now(),
            limit: Duration::from_secs(10),
        };
        // An infinite loop on one thread of an idle machine uses its whole limit.
        assert!(!patience.starved(Duration::from_millis(9_950)));
        // Correct code given an eighth of a core for the limit's wall time.
        assert!(patience.starved(Duration::from_millis(1_250)));
        assert_eq!(
            patience.give_up_after() - patience.first_deadline(),
            Duration::from_secs(90)
        );
    }

    fn line(nonce: &str) -> String {
        format!(r#"{{"nonce":"{nonce}","outcome":"returned","panics":[],"leak":null}}"#)
    }

    #[test]
    fn only_the_first_report_with_the_nonce_counts_and_the_rest_are_forged() {
        let bytes = format!(
            "{}\nnot json\n{}\n{}\n",
            line("guessed"),
            line("secret"),
            line("secret")
        );
        let (report, forged) = find_report(bytes.as_bytes(), "secret");
        assert_eq!(report.map(|r| r.nonce).as_deref(), Some("secret"));
        assert_eq!(forged, 3, "a wrong nonce, garbage and a second report");
    }

    #[test]
    fn no_report_with_the_nonce_is_no_report() {
        let (report, forged) = find_report(line("guessed").as_bytes(), "secret");
        assert!(report.is_none());
        assert_eq!(forged, 1);
    }
}
