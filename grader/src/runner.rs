//! Runs one hidden test as its own process and records what it did.
//!
//! One mechanism for every test: a fresh process in its own process group, a wall-clock limit,
//! capped output, an address-space cap, no core dumps, the nonce on stdin and the report on fd 3.
//! Isolation comes from the process: a deadlock, abort, stack overflow or `exit` in one test
//! cannot hide another test's result, and `fork` in a test is safe because the process is
//! single-threaded when the test starts.
//!
//! The grader makes itself a *child subreaper*, so processes a test leaves behind (even ones
//! that escaped its process group with `setsid`) are re-parented to the grader rather than to
//! init, and [`reap_strays`] can find and end them.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use crate::diagnosis::{self, Diagnosis};
use crate::{Error, ErrorKind, Result};

/// Bytes of stdout and of stderr kept per test; the rest is counted and dropped.
pub const OUTPUT_CAP: usize = 64 * 1024;
/// Bytes of report kept; a real report is a few hundred bytes.
const REPORT_CAP: usize = 1024 * 1024;
/// How long to keep reading pipes after the test process exited, for output still in flight.
const DRAIN_GRACE: Duration = Duration::from_millis(200);

/// Processes the grader started and waits for itself. [`reap_strays`] leaves these alone.
static OWN_CHILDREN: Mutex<Option<HashSet<u32>>> = Mutex::new(None);

/// What to run and within which limits.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub executable: PathBuf,
    pub test_name: String,
    pub timeout: Duration,
    /// Address-space cap in MiB; 0 for none.
    pub memory_mib: u64,
    /// Working directory and `TMPDIR` of the test, inside `target/`.
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
}

/// How the test process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    Exited(i32),
    Signaled(i32),
    TimedOut(Diagnosis),
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

/// Makes this process the subreaper of everything it starts. Call once, early.
pub fn become_subreaper() {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER only sets a flag on this process.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
}

/// Spawns a command the grader will wait for itself, so [`reap_strays`] never touches it.
pub fn spawn_own(command: &mut Command) -> std::io::Result<Child> {
    let mut own = OWN_CHILDREN.lock().unwrap_or_else(|e| e.into_inner());
    let child = command.spawn()?;
    own.get_or_insert_with(HashSet::new).insert(child.id());
    Ok(child)
}

fn forget_own(pid: u32) {
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
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
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
/// were re-parented here. Returns a description of each.
pub fn reap_strays() -> Vec<String> {
    let own = OWN_CHILDREN.lock().unwrap_or_else(|e| e.into_inner());
    let me = std::process::id() as i32;
    let mut strays = Vec::new();
    for (pid, stat) in harness::procfs::all_processes() {
        let is_own = own.as_ref().is_some_and(|own| own.contains(&(pid as u32)));
        let name = stat.name;
        if stat.parent == me && !is_own {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(Pid::from_raw(pid), None);
            strays.push(format!("process {pid} ({name})"));
        }
    }
    strays
}

/// Runs one test and waits for it, however it ends.
pub fn run(request: &RunRequest) -> Result<RawRun> {
    let nonce = fresh_nonce()?;
    let (report_read, report_write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot create a pipe: {e}")))?;
    let tmp_dir = request.sandbox_dir.join("tmp");
    std::fs::create_dir_all(&tmp_dir)
        .map_err(|source| Error::io("cannot create", &tmp_dir, source))?;

    let mut command = Command::new(&request.executable);
    command
        .arg("--run")
        .arg(&request.test_name)
        .args(&request.extra_args)
        .current_dir(&request.sandbox_dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &request.sandbox_dir)
        .env("TMPDIR", &tmp_dir)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let write_fd = report_write.as_raw_fd();
    let memory_bytes = request.memory_mib * 1024 * 1024;
    let private_shm = private_shm_supported()
        .then(|| PrivateShm::create(&request.sandbox_dir, &nonce))
        .transpose()?;
    let shm_mount_source = private_shm.as_ref().map(|shm| shm.c_path.clone());
    // SAFETY: the closure runs in the forked child before exec and only makes
    // async-signal-safe system calls on values copied into it (the path was allocated before
    // the fork).
    unsafe {
        command.pre_exec(move || {
            prepare_child(write_fd, memory_bytes)?;
            match &shm_mount_source {
                Some(source) => give_private_shm(source),
                None => Ok(()),
            }
        });
    }

    let shm_before = shm_objects();
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
    let pgid = child.id() as i32;
    if let Some(mut stdin) = child.stdin.take() {
        // A test that exits before reading the nonce closes the pipe; that is its own failure.
        let _ = writeln!(stdin, "{nonce}");
    }
    let watched = watch(&mut child, pgid, report_read, started + request.timeout);
    forget_own(child.id());
    let mut watched = watched?;
    watched.elapsed = started.elapsed();

    watched.leftovers = processes_in_group(pgid)
        .into_iter()
        .map(|pid| format!("process {pid} ({})", process_name(pid)))
        .collect();
    let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
    reap_strays();

    let (report, forged_reports) = find_report(&watched.report_bytes, &nonce);
    Ok(RawRun {
        ending: watched.ending,
        report,
        forged_reports,
        stdout: watched.stdout,
        stderr: watched.stderr,
        elapsed: watched.elapsed,
        leftovers: watched.leftovers,
        new_shm_objects: match &private_shm {
            Some(shm) => shm.collect_leftovers(),
            None => remove_abandoned_shm_objects(&shm_before),
        },
    })
}

/// A test's own `/dev/shm`: a folder under `target/` that the test process sees at `/dev/shm`,
/// through a bind mount in a mount namespace of its own.
///
/// Every shared-memory object a test creates lands here and nowhere else, so a leftover is
/// attributed to exactly the test that left it, even with many tests running at once, and
/// the machine's real `/dev/shm` is never written.
struct PrivateShm {
    dir: PathBuf,
    c_path: std::ffi::CString,
}

impl PrivateShm {
    fn create(sandbox_dir: &Path, nonce: &str) -> Result<PrivateShm> {
        let dir = sandbox_dir.join("shm").join(nonce);
        std::fs::create_dir_all(&dir).map_err(|source| Error::io("cannot create", &dir, source))?;
        let c_path = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).map_err(|_| {
            Error::new(
                ErrorKind::Io,
                format!("{} contains a NUL byte", dir.display()),
            )
        })?;
        Ok(PrivateShm { dir, c_path })
    }

    /// Names what the test left behind, as the test saw it, and removes the folder.
    fn collect_leftovers(&self) -> Vec<String> {
        let mut leftovers: Vec<String> = std::fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|entry| format!("/dev/shm/{}", entry.file_name().to_string_lossy()))
                    .collect()
            })
            .unwrap_or_default();
        leftovers.sort();
        let _ = std::fs::remove_dir_all(&self.dir);
        leftovers
    }
}

/// In the forked child: a private mount namespace with the test's folder over `/dev/shm`.
fn give_private_shm(source: &std::ffi::CStr) -> std::io::Result<()> {
    // SAFETY: plain system calls between fork and exec, on a path allocated before the fork.
    unsafe {
        if libc::unshare(libc::CLONE_NEWNS) != 0
            // Private propagation keeps the bind mount from leaking back to the host.
            || libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ) != 0
            || libc::mount(
                source.as_ptr(),
                c"/dev/shm".as_ptr(),
                std::ptr::null(),
                libc::MS_BIND,
                std::ptr::null(),
            ) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Whether this machine lets the grader give a test a mount namespace of its own (it needs
/// root or CAP_SYS_ADMIN). Probed once with a throwaway child; where it is refused, leftovers
/// are found by comparing the machine's `/dev/shm` before and after instead.
fn private_shm_supported() -> bool {
    static SUPPORTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SUPPORTED.get_or_init(|| {
        let probe_dir = std::env::temp_dir();
        let Ok(source) = std::ffi::CString::new(probe_dir.as_os_str().as_encoded_bytes()) else {
            return false;
        };
        let mut probe = Command::new("true");
        probe
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: as for the test processes: system calls only, on a path allocated before.
        unsafe {
            probe.pre_exec(move || give_private_shm(&source));
        }
        output_own(&mut probe).is_ok_and(|output| output.status.success())
    })
}

/// Finds objects that appeared in `/dev/shm` during the test and that no process holds open or
/// mapped any more: abandoned by the test, since the whole test process group is gone. They are
/// removed, so that a leak costs one verdict and not memory until reboot, and named for the
/// report. An object some live process still uses is left alone: it belongs to someone else.
fn remove_abandoned_shm_objects(before: &HashSet<String>) -> Vec<String> {
    let new: Vec<String> = shm_objects()
        .into_iter()
        .filter(|name| !before.contains(name))
        .collect();
    if new.is_empty() {
        return Vec::new();
    }
    let in_use = shm_objects_in_use();
    let mut abandoned = Vec::new();
    for name in new {
        let path = PathBuf::from("/dev/shm").join(&name);
        if in_use.contains(&path) {
            continue;
        }
        let _ = std::fs::remove_file(&path);
        abandoned.push(path.display().to_string());
    }
    abandoned.sort();
    abandoned
}

/// Paths under `/dev/shm` that some process has open or mapped.
fn shm_objects_in_use() -> HashSet<PathBuf> {
    let mut in_use = HashSet::new();
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return in_use;
    };
    for process in processes.flatten() {
        let dir = process.path();
        if let Ok(maps) = std::fs::read_to_string(dir.join("maps")) {
            in_use.extend(maps.lines().filter_map(|line| {
                line.find("/dev/shm/")
                    .map(|at| PathBuf::from(line[at..].trim_end_matches(" (deleted)")))
            }));
        }
        if let Ok(fds) = std::fs::read_dir(dir.join("fd")) {
            in_use.extend(
                fds.flatten()
                    .filter_map(|fd| std::fs::read_link(fd.path()).ok())
                    .filter(|target| target.starts_with("/dev/shm/")),
            );
        }
    }
    in_use
}

/// The names in `/dev/shm`, where `shm_open` and POSIX semaphores keep their objects.
fn shm_objects() -> HashSet<String> {
    std::fs::read_dir("/dev/shm")
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn prepare_child(report_fd: i32, memory_bytes: u64) -> std::io::Result<()> {
    // SAFETY: plain system calls in the child between fork and exec.
    unsafe {
        if report_fd == harness::RESULT_FD {
            libc::fcntl(report_fd, libc::F_SETFD, 0);
        } else if libc::dup2(report_fd, harness::RESULT_FD) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // If the grader dies, its tests die with it instead of running on unsupervised.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        // A crashing test must not write a core file outside target/.
        let no_core = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::setrlimit(libc::RLIMIT_CORE, &no_core);
        if memory_bytes > 0 {
            let cap = libc::rlimit {
                rlim_cur: memory_bytes,
                rlim_max: memory_bytes,
            };
            libc::setrlimit(libc::RLIMIT_AS, &cap);
        }
    }
    Ok(())
}

struct Watched {
    ending: Ending,
    stdout: Captured,
    stderr: Captured,
    report_bytes: Vec<u8>,
    elapsed: Duration,
    leftovers: Vec<String>,
}

/// The event loop: reads the three pipes without ever blocking on one, and ends the process
/// group at the deadline after diagnosing it.
fn watch(child: &mut Child, pgid: i32, report_read: OwnedFd, deadline: Instant) -> Result<Watched> {
    let stdout: OwnedFd = child.stdout.take().expect("stdout is piped").into();
    let stderr: OwnedFd = child.stderr.take().expect("stderr is piped").into();
    let mut streams = [
        (Some(stdout), Captured::with_cap(OUTPUT_CAP)),
        (Some(stderr), Captured::with_cap(OUTPUT_CAP)),
        (Some(report_read), Captured::with_cap(REPORT_CAP)),
    ];
    let mut ending = None;
    let mut drain_until = None;
    loop {
        let now = Instant::now();
        if ending.is_none() {
            if let Some(status) = child.try_wait().map_err(wait_error)? {
                ending = Some(ending_of(status));
                drain_until = Some(now + DRAIN_GRACE);
            } else if now >= deadline {
                let diagnosis = diagnosis::diagnose(pgid);
                let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
                let _ = child.wait();
                ending = Some(Ending::TimedOut(diagnosis));
                drain_until = Some(Instant::now() + DRAIN_GRACE);
            }
        }
        let all_closed = streams.iter().all(|(fd, _)| fd.is_none());
        if ending.is_some() && (all_closed || drain_until.is_some_and(|until| now >= until)) {
            break;
        }
        let wait = drain_until
            .unwrap_or(deadline)
            .saturating_duration_since(now)
            .min(Duration::from_millis(50));
        read_ready(&mut streams, wait)?;
    }
    let [(_, stdout), (_, stderr), (_, report)] = streams;
    Ok(Watched {
        ending: ending.expect("the loop only ends once the process has"),
        stdout,
        stderr,
        report_bytes: report.bytes,
        elapsed: Duration::ZERO,
        leftovers: Vec::new(),
    })
}

fn read_ready(streams: &mut [(Option<OwnedFd>, Captured); 3], wait: Duration) -> Result<()> {
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
    use std::os::unix::process::ExitStatusExt;
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

/// Live or zombie members of a process group.
pub fn processes_in_group(pgid: i32) -> Vec<i32> {
    harness::procfs::all_processes()
        .into_iter()
        .filter(|(_, stat)| stat.group == pgid)
        .map(|(pid, _)| pid)
        .collect()
}

fn process_name(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}
