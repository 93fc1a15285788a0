//! The book as a reader meets it: it builds, its code runs, its links lead somewhere, and the
//! code in the chapters comes from the compiled crates. That every exercise has its chapter and
//! solution page is a rule of `grader::consistency`, checked with the course's other rules.
//!
//! The first test installs the pinned mdbook into `target/tools/` when it is missing, which
//! takes a few minutes once per clone.

use std::path::{Path, PathBuf};

use crate::util::{read, root, xtask};

fn book_source() -> PathBuf {
    root().join("book").join("src")
}

fn summary() -> String {
    read(&book_source().join("SUMMARY.md"))
}

/// Every Markdown file below `folder`.
fn markdown_files(folder: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(folder).expect("the book's source folder lists") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            found.extend(markdown_files(&path));
        } else if path.extension().is_some_and(|extension| extension == "md") {
            found.push(path);
        }
    }
    found.sort();
    found
}

#[test]
fn the_book_builds_its_code_passes_and_no_internal_link_is_dead() {
    let output = xtask()
        .env("CARGO_WORKSPACE_DIR", root())
        .arg("book")
        .output()
        .expect("cargo xtask book runs");
    assert!(
        output.status.success(),
        "`cargo xtask book` failed ({}); run it to see the same output:\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Every `{{#include path}}` and `{{#include path:anchor}}` of every chapter, as
/// (chapter, path, anchor).
fn includes() -> Vec<(PathBuf, String, Option<String>)> {
    let mut found = Vec::new();
    for chapter in markdown_files(&book_source()) {
        let text = read(&chapter);
        for (at, directive) in text.match_indices("{{#include ") {
            let rest = &text[at + directive.len()..];
            let end = rest
                .find("}}")
                .unwrap_or_else(|| panic!("{}: an unclosed {{{{#include", chapter.display()));
            let target = rest[..end].trim();
            let (path, anchor) = match target.split_once(':') {
                Some((path, anchor)) => (path, Some(anchor.to_string())),
                None => (target, None),
            };
            found.push((chapter.clone(), path.to_string(), anchor));
        }
    }
    found
}

#[test]
fn every_include_names_a_file_and_anchor_that_exist() {
    let includes = includes();
    assert!(
        includes.len() >= 5,
        "found only {} includes in the whole book; the scan is not finding them",
        includes.len()
    );
    for (chapter, path, anchor) in includes {
        let file = chapter
            .parent()
            .expect("a chapter is in a folder")
            .join(&path);
        let shown = chapter.strip_prefix(root()).unwrap_or(&chapter).display();
        assert!(
            file.is_file(),
            "{shown} includes {path}, which does not exist; mdbook would leave the reader an \
             empty block"
        );
        // Line ranges (`file.rs:3:9`) are numbers; anything else is an anchor name.
        let Some(anchor) =
            anchor.filter(|anchor| !anchor.starts_with(|c: char| c.is_ascii_digit()))
        else {
            continue;
        };
        let source = read(&file);
        for marker in [format!("ANCHOR: {anchor}"), format!("ANCHOR_END: {anchor}")] {
            assert!(
                source.contains(&marker),
                "{shown} includes {path}:{anchor}, but {path} has no `// {marker}` line; add the \
                 ANCHOR / ANCHOR_END pair around the code the chapter shows"
            );
        }
    }
}

/// The Rust code blocks of `chapter` that hold anything but include directives.
fn pasted_rust_blocks(chapter: &str) -> Vec<String> {
    let mut pasted = Vec::new();
    let mut block: Option<String> = None;
    for line in chapter.lines() {
        let trimmed = line.trim_start();
        match &mut block {
            None if trimmed.starts_with("```rust") => block = Some(String::new()),
            Some(body) if trimmed.starts_with("```") => {
                let only_includes = body
                    .lines()
                    .filter(|line| !line.trim().is_empty())
                    .all(|line| line.trim().starts_with("{{#"));
                if !only_includes {
                    pasted.push(body.clone());
                }
                block = None;
            }
            Some(body) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    pasted
}

#[test]
fn the_pasted_code_check_tells_a_pasted_block_from_an_include() {
    let chapter = "```rust,ignore\n{{#include ../a.rs:x}}\n```\ntext\n```rust\nfn main() {}\n```\n";
    assert_eq!(pasted_rust_blocks(chapter), ["fn main() {}\n"]);
}

#[test]
fn exercise_and_solution_chapters_include_their_code_instead_of_pasting_it() {
    for folder in ["exercises", "solutions"] {
        if !book_source().join(folder).is_dir() {
            eprintln!("skipped book/src/{folder}/: the student edition has none");
            continue;
        }
        for chapter in markdown_files(&book_source().join(folder)) {
            let text = read(&chapter);
            let shown = chapter.strip_prefix(root()).unwrap_or(&chapter).display();
            let pasted = pasted_rust_blocks(&text);
            assert!(
                pasted.is_empty(),
                "{shown} pastes Rust code that no compiler checks:\n{}\nPut it in the crate \
                 between `// ANCHOR: name` and `// ANCHOR_END: name` and write \
                 `{{{{#include path/to/file.rs:name}}}}` instead",
                pasted.join("\n---\n")
            );
            let is_index = chapter.file_name().is_some_and(|name| name == "README.md");
            assert!(
                is_index || text.contains("{{#include "),
                "{shown} shows no code from the compiled crates; include the key parts with \
                 {{{{#include ...:anchor}}}}"
            );
        }
    }
}

/// The concept chapters, one per idea of the seed notes.
const CONCEPT_CHAPTERS: [&str; 14] = [
    "concepts/concurrency_vs_parallelism.md",
    "concepts/threads_vs_processes.md",
    "concepts/no_gil.md",
    "concepts/cpu_vs_io_bound.md",
    "concepts/performance_experiment.md",
    "concepts/amdahl.md",
    "concepts/granularity.md",
    "concepts/false_sharing.md",
    "concepts/start_methods.md",
    "concepts/ipc_and_serialization.md",
    "concepts/shared_memory.md",
    "concepts/graceful_shutdown.md",
    "concepts/testing_and_debugging.md",
    "concepts/common_errors.md",
];

#[test]
fn every_concept_of_the_notes_has_a_chapter_in_the_summary() {
    let summary = summary();
    for chapter in CONCEPT_CHAPTERS {
        assert!(
            book_source().join(chapter).is_file() && summary.contains(&format!("({chapter})")),
            "book/src/{chapter} is missing or not linked from SUMMARY.md under `# Concepts`"
        );
    }
}

#[test]
fn every_figure_states_the_machine_and_day_it_was_measured_on() {
    let figures = book_source().join("figures");
    let mut count = 0;
    for entry in std::fs::read_dir(&figures).expect("book/src/figures/ lists") {
        let path = entry.expect("a folder entry").path();
        if path.extension().is_some_and(|extension| extension == "svg") {
            count += 1;
            let svg = read(&path);
            let stated = svg
                .find("measured on ")
                .map(|at| &svg[at..svg[at..].find('<').map_or(svg.len(), |end| at + end)]);
            let has_date = stated.is_some_and(|line| {
                line.trim().rsplit(", ").next().is_some_and(|date| {
                    date.len() == 10 && date.chars().filter(|c| *c == '-').count() == 2
                })
            });
            assert!(
                has_date,
                "{} does not say which machine and day it came from (found {stated:?}); \
                 redraw it with `cargo xtask book --figures`",
                path.display()
            );
        }
    }
    assert!(
        count >= 3,
        "the book needs at least three figures, found {count}"
    );
}
