//! The lint that guards the sync shim and the harness, on the ways learners actually write
//! imports: grouped, renamed, fully qualified, and through attributes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use grader::lint::lint;
use grader::subject::{Subject, SubjectKind};

fn subject(code: &str) -> Subject {
    Subject {
        kind: SubjectKind::Exercise,
        display_dir: "exercises/01_race_counter".to_owned(),
        sources: BTreeMap::from([(PathBuf::from("lib.rs"), code.to_owned())]),
    }
}

fn problems(code: &str, uses_sync_shim: bool) -> Vec<String> {
    lint(&subject(code), uses_sync_shim)
        .into_iter()
        .map(|f| format!("{}:{} {}", f.file, f.line, f.problem))
        .collect()
}

#[test]
fn code_through_the_shim_passes() {
    let code = "mod sync;\nuse sync::atomic::{AtomicU64, Ordering};\nfn f() { sync::thread::scope(|_| {}); }";
    assert!(problems(code, true).is_empty());
}

#[test]
fn std_sync_and_std_thread_are_rejected_however_they_are_written() {
    for code in [
        "use std::sync::Mutex;",
        "use std::{sync::Mutex, thread};",
        "use std::thread;",
        "use ::std::sync::atomic::AtomicU64;",
        "fn f() { std::thread::spawn(|| {}); }",
        "fn f() -> core::sync::atomic::AtomicBool { todo!() }",
        "use std::sync::*;",
    ] {
        let found = problems(code, true);
        assert!(!found.is_empty(), "`{code}` must be rejected");
        assert!(
            found[0].contains("crate::sync"),
            "the message names the fix: {found:?}"
        );
    }
}

#[test]
fn the_message_names_the_file_the_line_and_the_replacement() {
    let found = problems("\n\nuse std::sync::Mutex;", true);
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
fn renaming_std_and_threading_crates_are_rejected() {
    assert!(!problems("use std as s;", true).is_empty());
    assert!(!problems("extern crate std as s;", true).is_empty());
    assert!(!problems("use parking_lot::Mutex;", true).is_empty());
    assert!(!problems("fn f() { rayon::join(|| (), || ()); }", true).is_empty());
}

#[test]
fn exercises_without_the_shim_may_use_std_threads() {
    assert!(problems("use std::thread;\nuse std::sync::Mutex;", false).is_empty());
}

#[test]
fn code_that_could_run_before_main_is_rejected_in_every_exercise() {
    for code in [
        "#[link_section = \".init_array\"] static F: extern \"C\" fn() = f;",
        "#[no_mangle] pub extern \"C\" fn main() {}",
        "#[unsafe(no_mangle)] pub extern \"C\" fn f() {}",
        "#[export_name = \"main\"] pub fn f() {}",
        "std::arch::global_asm!(\"nop\");",
    ] {
        assert!(
            !problems(code, false).is_empty(),
            "`{code}` must be rejected"
        );
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
        problems(code, false).is_empty(),
        "{:?}",
        problems(code, false)
    );
}

#[test]
fn a_file_that_does_not_parse_is_left_to_the_compiler() {
    assert!(problems("fn f( {", true).is_empty());
}
