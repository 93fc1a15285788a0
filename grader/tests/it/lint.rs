//! The compile-time layer of the trust boundary: what the lint refuses before a build, on the
//! learner's files and on the crate after macro expansion, and what rustc refuses itself.
//! The hostile cases that go through the whole pipeline are files in `attempts/` (verdict
//! `rejected`); the cases here need more than a verdict, or no scratch build at all.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use grader::catalog::{Capabilities, Catalog};
use grader::lint::{self, Decision, Rules};
use grader::scratch::{self, Profile};
use grader::subject::{Subject, SubjectKind};

use crate::util::workspace;

const COURSE: &[&str] = &[
    "crossbeam",
    "crossbeam_channel",
    "crossbeam_utils",
    "libc",
    "nix",
    "parking_lot",
    "rayon",
    "shuttle",
];

fn subject(code: &str) -> Subject {
    subject_named("lint-test", code)
}

fn subject_named(label: &str, code: &str) -> Subject {
    Subject {
        kind: SubjectKind::Submission {
            label: label.to_owned(),
        },
        display_dir: "exercises/01_race_counter".to_owned(),
        sources: BTreeMap::from([(PathBuf::from("lib.rs"), code.to_owned())]),
    }
}

fn rules(capabilities: &Capabilities) -> Rules {
    let course: Vec<String> = COURSE.iter().map(|s| s.to_string()).collect();
    Rules::from_capabilities("exercise 01", capabilities, &course)
}

/// A thread exercise on the shim: the default capabilities.
fn threads() -> Capabilities {
    Capabilities::default()
}

/// Exercise 05's capabilities, read from its exercise.toml.
fn process_pool() -> Capabilities {
    catalog().find("05").unwrap().meta.capabilities.clone()
}

fn catalog() -> Catalog {
    Catalog::load(&workspace()).expect("the catalog loads")
}

fn problems(code: &str, capabilities: &Capabilities) -> Vec<String> {
    lint::lint_sources(&subject(code), &rules(capabilities))
        .into_iter()
        .map(|f| format!("{}:{} {}", f.file, f.line, f.problem))
        .collect()
}

fn refused(code: &str, capabilities: &Capabilities) -> bool {
    !problems(code, capabilities).is_empty()
}

#[test]
fn code_through_the_shim_passes() {
    let code = "mod sync;\nuse sync::atomic::{AtomicU64, Ordering};\nfn f() { sync::thread::scope(|_| {}); }";
    assert!(problems(code, &threads()).is_empty());
}

#[test]
fn std_sync_and_std_thread_are_refused_however_they_are_written() {
    for code in [
        "use std::sync::Mutex;",
        "use std::{sync::Mutex, thread};",
        "use std::thread;",
        "use ::std::sync::atomic::AtomicU64;",
        "fn f() { std::thread::spawn(|| {}); }",
        "fn f() -> core::sync::atomic::AtomicBool { todo!() }",
        "use std::sync::*;",
        "fn f() { alloc::sync::Arc::new(1); }",
    ] {
        let found = problems(code, &threads());
        assert!(!found.is_empty(), "`{code}` must be refused");
        assert!(
            found[0].contains("crate::sync"),
            "the message names the fix: {found:?}"
        );
    }
}

#[test]
fn the_message_names_the_file_the_line_and_the_replacement() {
    let found = problems("\n\nuse std::sync::Mutex;", &threads());
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("exercises/01_race_counter/src/lib.rs:3 "),
        "{found:?}"
    );
    assert!(
        found[0].contains("write `crate::sync::Mutex` instead"),
        "{found:?}"
    );
}

#[test]
fn renames_and_globs_of_std_are_refused() {
    for code in [
        "use std as s;",
        "extern crate std as s;",
        "use ::std::{self as s};",
        "use std::*;",
        "mod m { pub use core::*; }",
    ] {
        assert!(refused(code, &threads()), "`{code}` must be refused");
    }
    // A glob below the closed modules hides nothing.
    assert!(!refused("use std::collections::*;", &threads()));
}

#[test]
fn crates_the_exercise_does_not_give_are_refused_by_name() {
    let found = problems("use parking_lot::Mutex;", &threads());
    assert!(
        found[0].contains("no crates, not `parking_lot`"),
        "{found:?}"
    );
    assert!(found[0].contains("crate::sync"), "{found:?}");
    // crossbeam-channel was not linted before capabilities derived the list from the crates.
    assert!(refused(
        "fn f() { crossbeam_channel::bounded::<u8>(1); }",
        &threads()
    ));
    assert!(refused("fn f() { rayon::join(|| (), || ()); }", &threads()));
    assert!(refused(
        "fn f() { shuttle::thread::yield_now(); }",
        &threads()
    ));
    let rayon = Capabilities {
        crates: vec!["rayon".to_owned()],
        sync_shim: false,
        ..Capabilities::default()
    };
    assert!(!refused("fn f() { rayon::join(|| (), || ()); }", &rayon));
    assert!(refused("use crossbeam_utils::CachePadded;", &rayon));
}

#[test]
fn exercises_off_the_shim_may_use_std_threads_but_not_files() {
    let off = Capabilities {
        sync_shim: false,
        ..Capabilities::default()
    };
    assert!(!refused("use std::thread;\nuse std::sync::Mutex;", &off));
    assert!(refused(
        "fn f() { let _ = std::fs::read(\"/proc/self/mem\"); }",
        &off
    ));
}

#[test]
fn files_processes_environment_network_fds_and_paths_are_closed() {
    for (code, words) in [
        (
            "fn f() { let _ = std::fs::read(\"/proc/self/mem\"); }",
            "reaches files",
        ),
        ("fn f() { std::process::exit(0); }", "controls processes"),
        (
            "fn f() { let _ = std::env::var(\"X\"); }",
            "reads the environment",
        ),
        (
            "fn f() { let _ = std::net::TcpStream::connect(\"1.1.1.1:80\"); }",
            "network",
        ),
        ("use std::os::fd::FromRawFd;", "raw file descriptors"),
        (
            "fn f() { let _ = std::path::Path::new(\"/\").read_dir(); }",
            "file system",
        ),
    ] {
        let found = problems(code, &threads());
        assert!(
            found.iter().any(|p| p.contains(words)),
            "`{code}` must be refused as `{words}`: {found:?}"
        );
    }
}

#[test]
fn an_allowed_item_opens_only_itself() {
    let caps = process_pool();
    let allowed = "use std::fs::File;\nuse std::os::fd::AsRawFd;\nfn f() -> File { let (r, _w) = nix::unistd::pipe().unwrap(); File::from(r) }";
    assert!(!refused(allowed, &caps), "{:?}", problems(allowed, &caps));
    for code in [
        "use std::fs::File;\nfn f() { let _ = File::open(\"/proc/self/mem\"); }",
        "use std::fs::File as F;\nfn f() { let _ = F::open(\"/x\"); }",
        "type F = std::fs::File;\nfn f() { let _ = F::options(); }",
        "use std::fs::File;\nmod m { pub use super::File as G; }\nfn f() { let _ = m::G::create(\"/x\"); }",
        "fn f() { let _ = <std::fs::File>::open(\"/x\"); }",
        "use std::fs::*;",
        "use std::os::fd::FromRawFd;",
        "fn f() { let _ = nix::unistd::getppid(); }",
        "fn f() { let _ = nix::unistd::Pid::from_raw(1); }",
        "use nix::unistd::Pid;\nfn f() { let _ = Pid::parent(); }",
        "use nix::unistd::*;",
        "fn f() { let _ = nix::fcntl::open(\"/x\", nix::fcntl::OFlag::O_RDONLY, nix::sys::stat::Mode::empty()); }",
        "fn f() { let _ = libc::getppid(); }",
    ] {
        assert!(refused(code, &caps), "`{code}` must be refused in exercise 05");
    }
    let found = problems("fn f() { let _ = std::fs::read(\"/x\"); }", &caps);
    assert!(
        found[0].contains("it may use only `std::fs::File`, `std::fs::File::from`"),
        "the message says what the exercise allows instead: {found:?}"
    );
}

#[test]
fn unsafe_is_refused_where_the_exercise_allows_none() {
    let found = problems(
        "#![allow(unsafe_code)]\nfn f() { unsafe { std::hint::unreachable_unchecked() } }",
        &threads(),
    );
    assert!(
        found
            .iter()
            .any(|p| p.contains(":2 ") && p.contains("allows no `unsafe`")),
        "{found:?}"
    );
    // Inside a macro body too: the keyword cannot be made from other tokens.
    assert!(refused(
        "macro_rules! m { () => { unsafe { std::hint::unreachable_unchecked() } } }",
        &threads()
    ));
}

#[test]
fn code_that_could_run_before_main_is_refused_in_every_exercise() {
    for code in [
        "#[link_section = \".init_array\"] static F: extern \"C\" fn() = f;",
        "#[no_mangle] pub extern \"C\" fn main() {}",
        "#[unsafe(no_mangle)] pub extern \"C\" fn f() {}",
        "#[export_name = \"main\"] pub fn f() {}",
        "std::arch::global_asm!(\"nop\");",
        "extern \"C\" { fn write(fd: i32, b: *const u8, n: usize) -> isize; }",
    ] {
        assert!(refused(code, &process_pool()), "`{code}` must be refused");
    }
}

#[test]
fn words_in_doc_comments_are_prose_not_attributes() {
    let code = "//! Nothing here is used before main.\n\
                /// Stops the workers (used by `shutdown`); never `#[no_mangle]` or link_section.\n\
                pub fn stop() {}";
    // A snippet that did not parse would be skipped, and this test would prove nothing.
    syn::parse_file(code).expect("the snippet parses");
    assert!(
        problems(code, &threads()).is_empty(),
        "{:?}",
        problems(code, &threads())
    );
}

#[test]
fn the_learners_own_unit_tests_are_not_judged_as_written() {
    // Never compiled into the graded crate; what is compiled is judged after expansion.
    let code = "#[cfg(test)]\nmod tests {\n    use std::thread;\n}\n";
    assert!(
        problems(code, &threads()).is_empty(),
        "{:?}",
        problems(code, &threads())
    );
    assert!(refused(
        "#[cfg(not(test))]\nmod m {\n    use std::thread;\n}\n",
        &threads()
    ));
}

#[test]
fn debug_assertions_cannot_hide_code_from_the_debug_build() {
    assert!(refused(
        "fn f() { if cfg!(debug_assertions) {} }",
        &threads()
    ));
}

fn expanded(code: &str, capabilities: &Capabilities) -> Vec<String> {
    let shim = std::fs::read_to_string(workspace().sync_shim()).unwrap();
    lint::lint_expanded(&subject(code), &rules(capabilities), code, &shim, false)
        .into_iter()
        .map(|f| format!("{}:{} {}", f.file, f.line, f.problem))
        .collect()
}

#[test]
fn expanded_code_that_syn_cannot_read_is_refused_not_passed() {
    // What rustc's printer writes is not always Rust that parses; here, plainly broken code.
    let found = expanded("fn f( {", &threads());
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("cannot read"), "{found:?}");
}

#[test]
fn an_unsafe_block_may_only_call_what_the_exercise_lists_with_plain_arguments() {
    let caps = process_pool();
    let fine = "use nix::unistd::fork;\nfn f(x: i32) { let _ = unsafe { fork() }; unsafe { libc::_exit(if x > 0 { 0 } else { 1 }) } }";
    assert!(
        expanded(fine, &caps).is_empty(),
        "{:?}",
        expanded(fine, &caps)
    );
    for code in [
        "fn f(p: *const i32) { unsafe { libc::_exit(*p) } }",
        "fn f(p: *const i32) { unsafe { libc::_exit(p.read()) } }",
        "fn f(p: *mut u8) { unsafe { std::ptr::write(p, 1) } }",
        "fn f(p: *mut u8) { unsafe { libc::close(1); std::ptr::write(p, 1); } }",
        "use nix::unistd::fork;\nfn f(p: *mut u8) { let fork = std::ptr::write::<u8>; unsafe { fork(p, 1) } }",
        "use std::ptr::write as _exit;\nfn f(p: *mut u8) { unsafe { _exit(p, 1) } }",
        "unsafe fn g() {}",
        "static mut X: u8 = 0;",
        "unsafe trait T {}",
        "union U { a: u8, b: i8 }",
        "fn f(g: unsafe fn()) {}",
        "struct S; unsafe impl std::alloc::GlobalAlloc for S { }",
        "use std::alloc::GlobalAlloc as Send; struct S; unsafe impl Send for S {}",
    ] {
        assert!(
            !expanded(code, &caps).is_empty(),
            "`{code}` must be refused in exercise 05"
        );
    }
}

#[test]
fn a_finding_in_expanded_code_names_the_line_the_learner_wrote() {
    let code = "mod sync;\n\nmacro_rules! hide {\n    () => {\n        use std::sync::atomic::AtomicU64;\n    };\n}\nhide!();\n";
    // The source pass cannot see into the macro body...
    assert!(problems(code, &threads()).is_empty());
    // ...the expanded crate (here written out by hand) shows the import, located at line 5.
    let after = "mod sync;\nuse std::sync::atomic::AtomicU64;\n";
    let found = expanded_with(code, after);
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("exercises/01_race_counter/src/lib.rs:5 ")),
        "{found:?}"
    );
}

fn expanded_with(source: &str, after: &str) -> Vec<String> {
    let shim = std::fs::read_to_string(workspace().sync_shim()).unwrap();
    lint::lint_expanded(&subject(source), &rules(&threads()), after, &shim, false)
        .into_iter()
        .map(|f| format!("{}:{} {}", f.file, f.line, f.problem))
        .collect()
}

/// Runs the whole compile-time check on `code` as a subject of exercise 01.
fn check_01(label: &str, code: &str) -> Decision {
    let workspace = workspace();
    let catalog = catalog();
    let exercise = catalog.find("01").unwrap();
    lint::check(&workspace, exercise, &subject_named(label, code)).expect("the check runs")
}

fn rejected_with(decision: &Decision) -> Vec<String> {
    match decision {
        Decision::Rejected(findings) => findings.iter().map(|f| f.problem.clone()).collect(),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn the_sync_module_is_exempt_only_while_it_is_the_grader_s_file() {
    // The grader's sync.rs, plus one function of the learner's under its name.
    let code = "mod sync {\n    include!(\"sync.rs\");\n    pub fn more() {}\n}\npub fn f() { sync::more(); }\n";
    let problems = rejected_with(&check_01("tampered-sync", code));
    assert!(
        problems
            .iter()
            .any(|p| p.contains("is not the grader's `src/sync.rs`")),
        "{problems:?}"
    );
    let honest = "mod sync;\npub fn f() { sync::thread::yield_now(); }\n";
    assert!(
        matches!(check_01("honest-sync", honest), Decision::Clean),
        "the shim itself is never refused"
    );
}

#[test]
fn every_file_the_compiler_read_must_be_in_src() {
    let code = "mod sync;\npub const S: &str = include_str!(\"/etc/hostname\");\n";
    let decision = check_01("reads-etc", code);
    let problems = rejected_with(&decision);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("/etc/hostname") && p.contains("keep every module")),
        "{problems:?}"
    );
    let Decision::Rejected(findings) = decision else {
        unreachable!()
    };
    assert_eq!(
        findings[0].line, 2,
        "the finding names the line: {findings:?}"
    );
}

#[test]
fn code_that_does_not_expand_is_a_build_failure_not_a_pass() {
    match check_01("does-not-expand", "mod sync;\nfn f( {") {
        Decision::DoesNotCompile(errors) => assert!(!errors.is_empty()),
        other => panic!("a syntax error must stop the check, got {other:?}"),
    }
    match check_01("unknown-macro", "mod sync;\nno_such_macro!();\n") {
        Decision::DoesNotCompile(errors) => assert!(
            errors.iter().any(|e| e.contains("no_such_macro")),
            "{errors:?}"
        ),
        other => panic!("an unknown macro must stop the check, got {other:?}"),
    }
}

#[test]
fn a_repeated_check_replays_its_decision_without_expanding_again() {
    // New code on every run, so the first check below cannot replay an earlier run's decision.
    let code = format!(
        "mod sync;\npub fn replayed() -> u32 {{ {} }}\n",
        std::process::id()
    );
    let code = code.as_str();
    let started = std::time::Instant::now();
    assert!(matches!(check_01("replayed", code), Decision::Clean));
    let expanding = started.elapsed();
    let workspace = workspace();
    let expanded = workspace
        .scratch_dir()
        .join("01_race_counter")
        .join(subject_named("replayed", code).key())
        .join("expanded/subject.rs");
    std::fs::remove_file(&expanded).expect("the first check expanded the crate");
    let started = std::time::Instant::now();
    assert!(matches!(check_01("replayed", code), Decision::Clean));
    // Printed for the record (ARCHITECTURE.md quotes them); nothing asserts on time.
    eprintln!(
        "compile-time check of exercise 01: {:.2} s expanding both twins, {:.3} s replayed",
        expanding.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        !expanded.exists(),
        "an unchanged subject must not be expanded a second time"
    );
}

#[test]
fn rustc_itself_refuses_unsafe_and_an_allow_cannot_lift_it() {
    // Straight to the build, past the lint, as if the lint had missed it.
    let workspace = workspace();
    let catalog = catalog();
    let exercise = catalog.find("01").unwrap();
    let solution = Subject::solution(&workspace, exercise).unwrap();
    let mut subject = subject_named("lifts-forbid", "");
    subject.sources = solution.sources.clone();
    let lib = subject.sources.get_mut(Path::new("lib.rs")).unwrap();
    *lib = format!(
        "#![allow(unsafe_code)]\n{}\npub fn sneaky() -> u8 {{ unsafe {{ *(&7u8 as *const u8) }} }}\n",
        lib
    );
    let suite = exercise.hidden_suite();
    let failure = scratch::build(
        &workspace,
        exercise,
        &suite,
        &subject,
        Profile::Debug,
        false,
    )
    .expect("cargo runs")
    .expect_err("forbid(unsafe_code) must stop the build");
    let all = failure.errors.join("\n");
    assert!(
        all.contains("unsafe_code") && all.contains("forbid"),
        "rustc names the forbidden lint:\n{all}"
    );
    let manifest = workspace
        .scratch_dir()
        .join("01_race_counter")
        .join(subject.key())
        .join("subject/Cargo.toml");
    let manifest = std::fs::read_to_string(manifest).unwrap();
    assert!(manifest.contains("unsafe_code = \"forbid\""), "{manifest}");
    for absent in ["nix", "libc", "rayon", "crossbeam", "parking_lot"] {
        assert!(
            !manifest.contains(absent),
            "exercise 01's crate must not be built with `{absent}`:\n{manifest}"
        );
    }
}
