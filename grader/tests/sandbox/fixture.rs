//! A hidden-test binary whose tests are attacks on the grader, for `tests/it/hostile.rs`.
//!
//! It speaks the harness protocol like any hidden test binary but is written by hand, with
//! `unsafe` and raw system calls, so it goes around every compile-time check and proves what
//! the run-time sandbox alone holds. Each test *returns* (a pass, were it allowed to count) only
//! when its attack worked; when the sandbox stops the attack, it panics saying what stopped it.
//! So a `pass` verdict is always a hole in the sandbox.

use std::io::{Read, Write};
use std::time::Duration;

/// The checkout this fixture was built in; the attacks aim at it.
const CHECKOUT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn parent_is_alive(parent: i32) -> bool {
    // SAFETY: getppid has no preconditions.
    unsafe { libc::getppid() == parent }
}

/// `kill(getppid(), SIGKILL)`: a check with no verdict, a roster with no grades.
fn kill_parent() {
    // SAFETY: plain system calls.
    let parent = unsafe { libc::getppid() };
    let sent = unsafe { libc::kill(parent, libc::SIGKILL) };
    std::thread::sleep(Duration::from_millis(300));
    if parent_is_alive(parent) {
        panic!(
            "the parent {parent} survived SIGKILL (kill returned {sent}: {})",
            std::io::Error::last_os_error()
        );
    }
}

/// SIGSTOP to the parent: a check that hangs forever.
fn stop_parent() {
    // SAFETY: plain system calls.
    let parent = unsafe { libc::getppid() };
    let sent = unsafe { libc::kill(parent, libc::SIGSTOP) };
    std::thread::sleep(Duration::from_millis(200));
    let state = harness::platform::process(parent).map(|p| p.state);
    if sent == 0 && state == Some(harness::platform::RunState::Stopped) {
        // SAFETY: let the parent go on; the attack is proven.
        unsafe { libc::kill(parent, libc::SIGCONT) };
        return;
    }
    panic!("the parent {parent} could not be stopped (state {state:?})");
}

/// `kill(-1, SIGKILL)`: everything the test may signal. Run only where a PID namespace holds.
fn kill_everyone() {
    // SAFETY: a plain system call.
    unsafe { libc::kill(-1, libc::SIGKILL) };
    std::thread::sleep(Duration::from_millis(300));
    panic!("kill(-1) sent; the grader must still be there to read this");
}

/// Every other process's command line: the grader's, with the roster and private folders.
fn read_other_command_lines() {
    let me = std::process::id() as i32;
    let mut seen = Vec::new();
    for pid in harness::platform::processes().into_iter().map(|p| p.pid) {
        if pid == me {
            continue;
        }
        if let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) {
            if !cmdline.is_empty() {
                seen.push(format!("{pid}: {}", String::from_utf8_lossy(&cmdline)));
            }
        }
    }
    // SAFETY: getppid has no preconditions.
    let parent = unsafe { libc::getppid() };
    let parent_line = std::fs::read(format!("/proc/{parent}/cmdline")).unwrap_or_default();
    if seen.is_empty() && parent_line.is_empty() {
        panic!("no other process's command line is readable");
    }
    println!("{}", seen.join("\n"));
}

fn read_file_under(relative: &str) {
    let path = format!("{CHECKOUT}/{relative}");
    match std::fs::read(&path) {
        Ok(bytes) => println!("read {} bytes of {path}", bytes.len()),
        Err(e) => panic!("cannot read {path}: {e}"),
    }
}

/// The checkout: solutions, hidden tests, other students' scratch crates.
fn read_the_checkout() {
    read_file_under("solutions/01_race_counter/src/lib.rs")
}

/// A roster folder (the suite makes one under `target/`): another student's code.
fn read_the_roster() {
    read_file_under("target/hostile-roster/alice/exercises/01_race_counter/src/lib.rs")
}

fn append_to(relative: &str) {
    let path = format!("{CHECKOUT}/{relative}");
    let opened = std::fs::OpenOptions::new().append(true).open(&path);
    match opened {
        // Nothing is written: opening for writing is the proof.
        Ok(_) => println!("{path} is writable"),
        Err(e) => panic!("cannot open {path} for writing: {e}"),
    }
}

/// Rewrites another exercise's hidden tests, so the unsolved stub of 02 would pass.
fn write_hidden_tests() {
    append_to("grader/hidden/02_lock_fix/tests.rs")
}

/// Drops a file into the shared build folder, where the next student's build finds it.
fn poison_the_build_folder() {
    let dir = format!("{CHECKOUT}/target/threadlings/build");
    let path = format!("{dir}/poisoned-by-a-test");
    match std::fs::write(&path, "poison") {
        Ok(()) => {
            let _ = std::fs::remove_file(&path);
        }
        Err(e) => panic!("cannot write {path}: {e}"),
    }
}

/// 500 MB left in the scratch folder, never removed.
fn fill_the_scratch_folder() {
    let dir = std::env::var("TMPDIR").unwrap_or_else(|_| "/tmp".to_owned());
    let path = format!("{dir}/ballast");
    let chunk = vec![7u8; 1 << 20];
    if let Ok(mut file) = std::fs::File::create(&path) {
        for _ in 0..500 {
            if file.write_all(&chunk).is_err() {
                break;
            }
        }
    }
}

/// Linux only: the hostile suite proves the Linux rungs. On macOS (minimal isolation, no
/// name to set for a whole process) the attack keeps the binary's name.
fn name_this_process(name: &std::ffi::CStr) {
    // SAFETY: PR_SET_NAME copies at most 16 bytes of the string.
    #[cfg(target_os = "linux")]
    unsafe {
        libc::prctl(libc::PR_SET_NAME, name.as_ptr())
    };
    #[cfg(not(target_os = "linux"))]
    let _ = name;
}

fn fork() -> i32 {
    // SAFETY: the fixture is single-threaded when it forks.
    unsafe { libc::fork() }
}

/// A child in a session of its own, outside the test's process group.
fn setsid_child() {
    if fork() == 0 {
        // SAFETY: plain system calls in the child.
        unsafe { libc::setsid() };
        name_this_process(c"attack-setsid");
        std::thread::sleep(Duration::from_secs(600));
        // SAFETY: leaves without returning into the harness.
        unsafe { libc::_exit(0) };
    }
    std::thread::sleep(Duration::from_millis(100));
}

/// Two processes that each re-fork the other when it dies: killing one is not enough.
fn relay_daemons() {
    fn relay(name: &std::ffi::CStr) -> ! {
        name_this_process(name);
        // SAFETY: plain system calls in the child.
        unsafe { libc::setsid() };
        loop {
            let partner = fork();
            if partner == 0 {
                relay(if name == c"attack-relay-a" {
                    c"attack-relay-b"
                } else {
                    c"attack-relay-a"
                });
            }
            let mut status = 0;
            // SAFETY: waits for the partner it just forked.
            unsafe { libc::waitpid(partner, &mut status, 0) };
        }
    }
    if fork() == 0 {
        relay(c"attack-relay-a");
    }
    std::thread::sleep(Duration::from_millis(200));
}

/// Three children of 160 MiB each: more than the tree may hold (the suite gives this test
/// 384 MiB), each under its own address-space cap. The sizes are small only so that a debug
/// build touches every page in a second; 1.5 GB each against 4 GiB is the same attack.
fn three_large_children() {
    const EACH: usize = 160 << 20;
    let mut children = Vec::new();
    for _ in 0..3 {
        let child = fork();
        if child == 0 {
            let mut block = vec![0u8; EACH];
            for page in block.chunks_mut(4096) {
                page[0] = 1;
            }
            std::thread::sleep(Duration::from_secs(1));
            // SAFETY: leaves without returning into the harness.
            unsafe { libc::_exit(i32::from(block[4096] == 1) - 1) };
        }
        children.push(child);
    }
    let mut all_held = true;
    for child in children {
        let mut status = 0;
        // SAFETY: waits for its own child.
        unsafe { libc::waitpid(child, &mut status, 0) };
        all_held &= libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    }
    assert!(all_held, "a child was stopped before it held its share");
}

/// Forks until the machine has no processes left.
fn fork_bomb() {
    name_this_process(c"attack-bomb");
    loop {
        fork();
    }
}

/// The port `tests/it/hostile.rs` listens on, on the machine's loopback.
const HOST_PORT: u16 = 47_613;

/// A TCP connection to a service of the machine (the suite listens on [`HOST_PORT`]). The
/// test's own loopback, in a network namespace of its own, has nothing listening there.
fn connect_to_localhost() {
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], HOST_PORT));
    if let Err(e) = std::net::TcpStream::connect_timeout(&address, Duration::from_secs(1)) {
        panic!("the machine's port {HOST_PORT} is out of reach: {e}");
    }
}

/// Looks for the nonce everywhere the grader once left it (the name of the per-test folder,
/// mounts, environment, arguments) and forges a pass with each candidate.
fn forge_a_pass_with_a_found_nonce() {
    let mut text = String::new();
    for file in [
        "/proc/self/mountinfo",
        "/proc/self/environ",
        "/proc/self/cmdline",
    ] {
        text.push_str(&String::from_utf8_lossy(
            &std::fs::read(file).unwrap_or_default(),
        ));
        text.push('\n');
    }
    let tmp = std::env::var("TMPDIR").unwrap_or_else(|_| "/tmp".to_owned());
    for dir in [".", tmp.as_str(), "/dev/shm", ".."] {
        if let Ok(path) = std::fs::canonicalize(dir) {
            text.push_str(&path.to_string_lossy());
            text.push('\n');
        }
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            text.push_str(&entry.file_name().to_string_lossy());
            text.push('\n');
        }
    }
    let candidates: Vec<&str> = text
        .split(|c: char| !c.is_ascii_hexdigit())
        .filter(|word| word.len() == 32)
        .collect();
    if candidates.is_empty() {
        panic!("no 32-hex-digit name anywhere");
    }
    let mut report = std::fs::File::from(
        // SAFETY: fd 3 is the report pipe the grader gave this process.
        unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(3) },
    );
    for nonce in candidates {
        let forged = harness::Report {
            nonce: nonce.to_owned(),
            outcome: harness::ReportOutcome::Returned,
            panics: Vec::new(),
            leak: None,
            notes: Vec::new(),
            inconclusive: None,
            speedup: None,
            interleaving: None,
        };
        let _ = writeln!(report, "{}", serde_json::to_string(&forged).expect("json"));
    }
    std::process::exit(0);
}

/// Reads stdin after the harness did: the nonce must be gone.
fn read_the_nonce_again() {
    let mut rest = String::new();
    let _ = std::io::stdin().read_to_string(&mut rest);
    assert!(rest.trim().len() == 32, "stdin holds no nonce any more");
}

/// Looks starved without being so: runnable for a few milliseconds now and then, asleep the
/// rest, never finishing. The runner gives a test more time only while it is still computing,
/// has used less CPU time than its limit, and other threads want the cores; this one hopes to
/// be seen computing and be waited for ten times its limit, tying up the grader.
fn look_starved_on_a_quiet_machine() {
    loop {
        let burst = std::time::Instant::now();
        while burst.elapsed() < Duration::from_millis(3) {
            std::hint::spin_loop();
        }
        std::thread::sleep(Duration::from_millis(60));
    }
}

/// Not an attack: correct code that needs half a second of CPU time, for the test that starves
/// it with load from elsewhere (`tests/it/hostile.rs`). It returns, so its pass is no hole.
fn compute_for_half_a_second() {
    let started = harness::platform::thread_cpu_time();
    while harness::platform::thread_cpu_time() - started < Duration::from_millis(500) {
        for _ in 0..10_000 {
            std::hint::spin_loop();
        }
    }
}

/// Not an attack: two threads that each hold one lock and wait for the other's, for the test
/// that a deadlock for good ends before the limit. It never returns.
fn deadlock_on_two_locks() {
    let (first, second) = (std::sync::Mutex::new(()), std::sync::Mutex::new(()));
    let both_hold_one = std::sync::Barrier::new(2);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let _held = second.lock().unwrap();
            both_hold_one.wait();
            let _never = first.lock().unwrap();
        });
        let _held = first.lock().unwrap();
        both_hold_one.wait();
        let _never = second.lock().unwrap();
    });
}

/// Not an attack: waits for ever on a condition variable nobody notifies, but with a timeout,
/// so that the wait ends by itself again and again. It must run to the limit, not be taken
/// for a deadlock for good: a timed wait may see the world change.
fn wait_with_a_timeout_for_ever() {
    let (lock, changed) = (std::sync::Mutex::new(false), std::sync::Condvar::new());
    let mut done = lock.lock().unwrap();
    while !*done {
        done = changed
            .wait_timeout(done, Duration::from_millis(200))
            .unwrap()
            .0;
    }
}

/// Not an attack: two threads hand a token back and forth through a condition variable, each
/// asleep in a wait with no timeout whenever it is not its turn, and return after a fixed
/// number of rounds. Any look may find both asleep; only their context switches show that they
/// run between looks, so this must pass, not end as a deadlock.
fn ping_pong_through_a_condition_variable() {
    const ROUNDS: u64 = 100_000;
    let (turn, changed) = (std::sync::Mutex::new(0u64), std::sync::Condvar::new());
    let play = |parity: u64| {
        let mut count = turn.lock().unwrap();
        while *count < ROUNDS {
            if *count % 2 == parity {
                *count += 1;
                changed.notify_all();
            } else {
                count = changed.wait(count).unwrap();
            }
        }
        changed.notify_all();
    };
    std::thread::scope(|scope| {
        scope.spawn(|| play(1));
        play(0);
    });
}

harness::hidden_tests![
    kill_parent,
    stop_parent,
    kill_everyone,
    read_other_command_lines,
    read_the_checkout,
    read_the_roster,
    write_hidden_tests,
    poison_the_build_folder,
    fill_the_scratch_folder,
    setsid_child,
    relay_daemons,
    three_large_children,
    fork_bomb,
    connect_to_localhost,
    forge_a_pass_with_a_found_nonce,
    read_the_nonce_again,
    look_starved_on_a_quiet_machine,
    compute_for_half_a_second,
    deadlock_on_two_locks,
    wait_with_a_timeout_for_ever,
    ping_pong_through_a_condition_variable,
];
