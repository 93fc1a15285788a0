//! The rules that keep the course coherent, in one place (rustlings' `dev check` is the model).
//!
//! An exercise is spread over four trees: `exercises/NN_name/`, `solutions/NN_name/`,
//! `grader/hidden/NN_name/` and the book. These rules keep them in step:
//!
//! 1. `exercise.toml` is well formed: its folder matches number and name, it has hints, every
//!    test earns points, speedup settings are in range, `stub.rejected_by` names a test and
//!    `tests.rs` exists. [`crate::catalog`] enforces these on load, so no command runs on a
//!    broken one; they are listed here and not repeated.
//! 2. Both crates' `src/sync.rs` are the one line that includes the grader's shim
//!    ([`SYNC_INCLUDE`]).
//! 3. The exercise has its chapter and its solution page, both linked from `SUMMARY.md`.
//! 4. `exercise.toml` and the `harness::hidden_tests![...]` list of `tests.rs` name the same
//!    tests, each a function of `tests.rs`. `hidden_tests!` makes the binary's `--list`, and
//!    [`listed_tests_problem`] asks a built binary too, so the three lists cannot disagree.
//! 5. The given code is the same in stub and solution outside the learner's part
//!    ([`given_code_problems`]).
//!
//! Each rule returns what is wrong, or nothing; [`crate::verify`] turns the findings into
//! claims.

use std::collections::BTreeMap;
use std::path::Path;

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use quote::ToTokens;
use syn::spanned::Spanned;

use crate::catalog::Exercise;
use crate::check;
use crate::scratch::{self, Profile};
use crate::subject::Subject;
use crate::workspace::Workspace;

/// The line every crate's `src/sync.rs` consists of, so that it compiles on its own in the IDE
/// while the grader's shim stays the single copy.
pub const SYNC_INCLUDE: &str = "include!(\"../../../grader/shim/sync.rs\");";

/// The word in a stub that marks an item as the learner's to change.
pub const LEARNER_MARK: &str = "TODO";

/// One rule applied to one exercise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule in words.
    pub rule: String,
    /// `None` when the rule holds; otherwise what is wrong and how to fix it.
    pub problem: Option<String>,
}

/// Every rule that needs no build, applied to `exercise`.
pub fn check_exercise(workspace: &Workspace, exercise: &Exercise) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut rule = |words: &str, problem: Option<String>| {
        findings.push(Finding {
            rule: words.to_owned(),
            problem,
        })
    };
    let (stub_dir, solution_dir) = (
        exercise.exercise_dir(workspace),
        exercise.solution_dir(workspace),
    );
    for (role, dir) in [("exercise", &stub_dir), ("solution", &solution_dir)] {
        rule(
            &format!("the {role} crate's src/sync.rs is the grader's shim"),
            sync_problem(dir),
        );
    }
    let book = workspace.root().join("book").join("src");
    let summary = std::fs::read_to_string(book.join("SUMMARY.md")).unwrap_or_default();
    let solution_page = format!("solutions/{}.md", exercise.dir_name);
    for (words, page) in [
        (
            "the book has its chapter, linked from SUMMARY.md",
            &exercise.meta.chapter,
        ),
        ("the book's appendix has its solution page", &solution_page),
    ] {
        rule(words, page_problem(&book, &summary, page));
    }
    let declared: Vec<String> = exercise.meta.tests.iter().map(|t| t.name.clone()).collect();
    rule(
        "exercise.toml and tests.rs's hidden_tests! name the same tests",
        match std::fs::read_to_string(exercise.tests_file()) {
            Ok(tests) => test_names_problem(&declared, &tests),
            Err(error) => Some(format!(
                "cannot read {}: {error}",
                exercise.tests_file().display()
            )),
        },
    );
    let lib = |dir: &Path| std::fs::read_to_string(dir.join("src").join("lib.rs"));
    let problems = match (lib(&stub_dir), lib(&solution_dir)) {
        (Ok(stub), Ok(solution)) => given_code_problems(&stub, &solution),
        (stub, solution) => vec![format!(
            "cannot read src/lib.rs of both crates: {:?} {:?}",
            stub.err(),
            solution.err()
        )],
    };
    rule(
        "stub and solution give the same code outside the learner's part",
        (!problems.is_empty()).then(|| {
            format!(
                "in {} and {}:\n{}",
                stub_dir.join("src/lib.rs").display(),
                solution_dir.join("src/lib.rs").display(),
                problems.join("\n")
            )
        }),
    );
    findings
}

/// The rule that needs the solution built: its test binary lists the tests `exercise.toml`
/// declares. [`check_exercise`] proves the same from the source; this proves the binary.
pub fn listed_tests_problem(workspace: &Workspace, exercise: &Exercise) -> Finding {
    let listed = Subject::solution(workspace, exercise)
        .and_then(|subject| {
            let suite = exercise.hidden_suite();
            scratch::build(workspace, exercise, &suite, &subject, Profile::Debug, false)
        })
        .and_then(|built| match built {
            Ok(binary) => check::list_tests(&binary).map(Ok),
            Err(failure) => Ok(Err(failure.errors.join(" "))),
        });
    let mut declared: Vec<String> = exercise.meta.tests.iter().map(|t| t.name.clone()).collect();
    declared.sort();
    let problem = match listed {
        Ok(Ok(mut listed)) => {
            listed.sort();
            (listed != declared).then(|| {
                format!("exercise.toml lists {declared:?} but the test binary lists {listed:?}")
            })
        }
        Ok(Err(errors)) => Some(format!("the solution does not build: {errors}")),
        Err(error) => Some(error.to_string()),
    };
    Finding {
        rule: "the test binary lists the tests exercise.toml declares".to_owned(),
        problem,
    }
}

fn sync_problem(crate_dir: &Path) -> Option<String> {
    let path = crate_dir.join("src").join("sync.rs");
    match std::fs::read_to_string(&path) {
        Ok(text) if text.lines().any(|line| line.trim() == SYNC_INCLUDE) => None,
        Ok(_) => Some(format!(
            "{} must consist of `{SYNC_INCLUDE}`",
            path.display()
        )),
        Err(_) => Some(format!("{} is missing", path.display())),
    }
}

/// `page` (relative to `book/src/`) exists and `SUMMARY.md` links it.
fn page_problem(book: &Path, summary: &str, page: &str) -> Option<String> {
    if !book.join(page).is_file() {
        Some(format!(
            "book/src/{page} is missing; write it (`cargo xtask new` starts one)"
        ))
    } else if !summary.contains(&format!("({page})")) {
        Some(format!(
            "book/src/SUMMARY.md does not link {page}, so the book leaves it out; add a line"
        ))
    } else {
        None
    }
}

/// `declared` (from `exercise.toml`) against the `harness::hidden_tests![...]` list of the
/// hidden test file `tests`, each of which must also be a function there.
pub fn test_names_problem(declared: &[String], tests: &str) -> Option<String> {
    let file = match syn::parse_file(tests) {
        Ok(file) => file,
        Err(error) => return Some(format!("tests.rs does not parse: {error}")),
    };
    let functions: Vec<String> = file
        .items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Fn(function) => Some(function.sig.ident.to_string()),
            _ => None,
        })
        .collect();
    let lists: Vec<&syn::ItemMacro> = file
        .items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Macro(mac)
                if mac
                    .mac
                    .path
                    .segments
                    .last()
                    .is_some_and(|last| last.ident == "hidden_tests") =>
            {
                Some(mac)
            }
            _ => None,
        })
        .collect();
    let [list] = lists[..] else {
        return Some(format!(
            "tests.rs must end in exactly one `harness::hidden_tests![...]`, found {}",
            lists.len()
        ));
    };
    let names = match list.mac.parse_body_with(
        syn::punctuated::Punctuated::<syn::Ident, syn::Token![,]>::parse_terminated,
    ) {
        Ok(names) => names.iter().map(ToString::to_string).collect::<Vec<_>>(),
        Err(error) => return Some(format!("hidden_tests! is not a list of names: {error}")),
    };
    if let Some(missing) = names.iter().find(|name| !functions.contains(name)) {
        return Some(format!(
            "hidden_tests! names `{missing}`, which is not a function of tests.rs"
        ));
    }
    let (mut sorted_names, mut sorted_declared) = (names.clone(), declared.to_vec());
    sorted_names.sort();
    sorted_declared.sort();
    (sorted_names != sorted_declared).then(|| {
        format!(
            "exercise.toml lists {declared:?} but hidden_tests! lists {names:?}; name the same \
             tests in both"
        )
    })
}

/// Where a stub and its solution disagree outside the learner's part, one line per item.
///
/// Both files are compared item by item (a function, type, constant, or one member of an
/// `impl` block), by tokens, so formatting and doc comments may differ. An item is the
/// learner's when the stub's text of it, or the comment lines just above it, contain
/// [`LEARNER_MARK`]; the solution may change it freely. A marked struct or enum makes its `impl` blocks
/// the learner's too, since methods follow the fields the learner chooses. The solution may add
/// items of its own (helpers) and `use` lines are free; every other item of the stub must be in
/// the solution, unchanged.
pub fn given_code_problems(stub: &str, solution: &str) -> Vec<String> {
    let (stub_file, solution_file) = match (syn::parse_file(stub), syn::parse_file(solution)) {
        (Ok(stub), Ok(solution)) => (stub, solution),
        (stub, solution) => {
            return vec![format!(
                "a file does not parse: {:?} {:?}",
                stub.err().map(|e| e.to_string()),
                solution.err().map(|e| e.to_string())
            )]
        }
    };
    let stub_lines: Vec<&str> = stub.lines().collect();
    let marked = |piece: &Piece| {
        let end = piece.lines.1.min(stub_lines.len());
        let mut start = piece.lines.0.saturating_sub(1).min(end);
        // Comments just above an item belong to it, though they are not among its tokens.
        while start > 0 && stub_lines[start - 1].trim_start().starts_with("//") {
            start -= 1;
        }
        stub_lines[start..end]
            .iter()
            .any(|line| line.contains(LEARNER_MARK))
    };
    let stub_pieces = pieces(&stub_file);
    // A marked type's fields are the learner's to choose, so its `impl` blocks are too.
    let learners_types: Vec<&str> = stub_pieces
        .values()
        .filter(|piece| piece.is_type && marked(piece))
        .filter_map(|piece| piece.owner.as_deref())
        .collect();
    let solution_pieces = pieces(&solution_file);
    let mut problems = Vec::new();
    for (key, piece) in &stub_pieces {
        let owned_by_learner = piece
            .owner
            .as_deref()
            .is_some_and(|owner| learners_types.contains(&owner));
        if owned_by_learner || marked(piece) {
            continue;
        }
        match solution_pieces.get(key) {
            None => problems.push(format!(
                "  `{key}` (stub line {}) is given in the stub but missing from the solution",
                piece.lines.0
            )),
            Some(theirs) if theirs.tokens != piece.tokens => problems.push(format!(
                "  `{key}` differs (stub line {}, solution line {}); give the stub the \
                 solution's code, or mark the learner's part with a `{LEARNER_MARK}` comment",
                piece.lines.0, theirs.lines.0
            )),
            Some(_) => {}
        }
    }
    problems
}

/// One comparable item: its tokens without doc comments, its first and last line, and the type
/// it defines (`is_type`) or belongs to (a member of its `impl`).
struct Piece {
    tokens: String,
    lines: (usize, usize),
    owner: Option<String>,
    is_type: bool,
}

/// The items of `file` by a key naming them (`fn name`, `impl Type::member`); a repeated key
/// (items under different `#[cfg]`s) gets a `#2`, `#3` suffix.
fn pieces(file: &syn::File) -> BTreeMap<String, Piece> {
    let mut found: BTreeMap<String, Piece> = BTreeMap::new();
    let mut add = |key: String,
                   tokens: TokenStream,
                   span: proc_macro2::Span,
                   owner: Option<String>,
                   is_type: bool| {
        let mut unique = key.clone();
        let mut count = 1;
        while found.contains_key(&unique) {
            count += 1;
            unique = format!("{key} #{count}");
        }
        let piece = Piece {
            tokens: without_docs(tokens),
            lines: (span.start().line, span.end().line),
            owner,
            is_type,
        };
        found.insert(unique, piece);
    };
    for item in &file.items {
        match item {
            syn::Item::Use(_) => {}
            syn::Item::Impl(block) => {
                let trait_part = block
                    .trait_
                    .as_ref()
                    .map(|(_, path, _)| format!("{} for ", path.to_token_stream()))
                    .unwrap_or_default();
                let header = format!("impl {trait_part}{}", block.self_ty.to_token_stream());
                let owner = match &*block.self_ty {
                    syn::Type::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()),
                    _ => None,
                };
                let mut bare = block.clone();
                bare.items.clear();
                // The header alone: `impl` up to its opening brace.
                add(
                    header.clone(),
                    bare.to_token_stream(),
                    block
                        .impl_token
                        .span()
                        .join(block.self_ty.span())
                        .unwrap_or(block.impl_token.span()),
                    owner.clone(),
                    false,
                );
                for member in &block.items {
                    let name = match member {
                        syn::ImplItem::Fn(f) => f.sig.ident.to_string(),
                        syn::ImplItem::Const(c) => c.ident.to_string(),
                        syn::ImplItem::Type(t) => t.ident.to_string(),
                        other => other.to_token_stream().to_string(),
                    };
                    add(
                        format!("{header}::{name}"),
                        member.to_token_stream(),
                        member.span(),
                        owner.clone(),
                        false,
                    );
                }
            }
            other => {
                let defined = match other {
                    syn::Item::Struct(s) => Some(&s.ident),
                    syn::Item::Enum(e) => Some(&e.ident),
                    syn::Item::Union(u) => Some(&u.ident),
                    _ => None,
                };
                let owner = defined.map(ToString::to_string);
                add(
                    item_key(other),
                    other.to_token_stream(),
                    other.span(),
                    owner,
                    defined.is_some(),
                )
            }
        }
    }
    found
}

fn item_key(item: &syn::Item) -> String {
    let named = |kind: &str, ident: &syn::Ident| format!("{kind} {ident}");
    match item {
        syn::Item::Fn(f) => named("fn", &f.sig.ident),
        syn::Item::Struct(s) => named("struct", &s.ident),
        syn::Item::Enum(e) => named("enum", &e.ident),
        syn::Item::Union(u) => named("union", &u.ident),
        syn::Item::Const(c) => named("const", &c.ident),
        syn::Item::Static(s) => named("static", &s.ident),
        syn::Item::Type(t) => named("type", &t.ident),
        syn::Item::Trait(t) => named("trait", &t.ident),
        syn::Item::Mod(m) => named("mod", &m.ident),
        syn::Item::Macro(m) => match &m.ident {
            Some(ident) => named("macro", ident),
            None => without_docs(m.to_token_stream()),
        },
        other => without_docs(other.to_token_stream()),
    }
}

/// `tokens` as text with every `#[doc = ...]` and `#![doc = ...]` left out, at any depth.
fn without_docs(tokens: TokenStream) -> String {
    fn strip(tokens: TokenStream) -> TokenStream {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let mut kept = Vec::with_capacity(trees.len());
        let mut at = 0;
        while at < trees.len() {
            if let TokenTree::Punct(hash) = &trees[at] {
                if hash.as_char() == '#' {
                    let bang = matches!(&trees.get(at + 1), Some(TokenTree::Punct(p)) if p.as_char() == '!');
                    let body = at + 1 + usize::from(bang);
                    if let Some(TokenTree::Group(group)) = trees.get(body) {
                        let is_doc = group.delimiter() == Delimiter::Bracket
                            && matches!(group.stream().into_iter().next(),
                                Some(TokenTree::Ident(ident)) if ident == "doc");
                        if is_doc {
                            at = body + 1;
                            continue;
                        }
                    }
                }
            }
            kept.push(match &trees[at] {
                TokenTree::Group(group) => {
                    TokenTree::Group(Group::new(group.delimiter(), strip(group.stream())))
                }
                other => other.clone(),
            });
            at += 1;
        }
        kept.into_iter().collect()
    }
    strip(tokens).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STUB: &str = r#"
//! The stub: its module doc differs from the solution's, which is allowed.
mod sync;
use sync::Mutex;

/// Given to the learner.
pub struct Bank { accounts: Vec<Mutex<u64>> }

impl Bank {
    fn lock(&self, account: usize) -> u64 {
        *self.accounts[account].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Moves money.
    pub fn transfer(&self) -> bool {
        // TODO: take the locks in order.
        false
    }
}
"#;

    const SOLUTION: &str = r#"
//! The solution.
mod sync;
use sync::{Mutex, MutexGuard};

/// Given to the learner, documented differently.
pub struct Bank { accounts: Vec<Mutex<u64>> }

impl Bank {
    fn lock(&self, account: usize) -> u64 {
        *self.accounts[account]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Moves money, in order.
    pub fn transfer(&self) -> bool {
        self.helper()
    }

    fn helper(&self) -> bool {
        true
    }
}
"#;

    #[test]
    fn given_code_may_differ_in_docs_layout_uses_and_the_learners_part() {
        assert_eq!(given_code_problems(STUB, SOLUTION), Vec::<String>::new());
    }

    #[test]
    fn given_code_that_drifted_is_named() {
        let drifted = STUB.replace(
            ".lock().unwrap_or_else(|p| p.into_inner())",
            ".lock().unwrap()",
        );
        let problems = given_code_problems(&drifted, SOLUTION);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("`impl Bank::lock` differs"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_given_field_or_item_missing_from_the_solution_is_named() {
        let changed = SOLUTION.replace("accounts: Vec<Mutex<u64>>", "accounts: Vec<u64>");
        let problems = given_code_problems(STUB, &changed);
        assert!(
            problems.iter().any(|p| p.contains("`struct Bank` differs")),
            "{problems:?}"
        );
        let gone = SOLUTION.replace("pub struct Bank", "pub struct Vault");
        let problems = given_code_problems(STUB, &gone);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("`struct Bank`") && p.contains("missing")),
            "{problems:?}"
        );
    }

    #[test]
    fn only_the_marked_item_is_the_learners() {
        // Without its TODO, `transfer` is given code and must match.
        let unmarked = STUB.replace("// TODO: take the locks in order.", "");
        let problems = given_code_problems(&unmarked, SOLUTION);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("`impl Bank::transfer` differs")),
            "{problems:?}"
        );
    }

    #[test]
    fn a_comment_just_above_an_item_marks_it() {
        let stub = "// TODO: make it count.\npub fn count() -> u64 {\n    0\n}\n";
        let solution = "pub fn count() -> u64 {\n    1\n}\n";
        assert_eq!(given_code_problems(stub, solution), Vec::<String>::new());
        let apart = stub.replace("count.\n", "count.\n\n");
        assert_eq!(given_code_problems(&apart, solution).len(), 1);
    }

    #[test]
    fn a_marked_type_makes_its_methods_the_learners() {
        let stub = "pub struct Q {\n    // TODO: add a Condvar.\n    items: Vec<u8>,\n}\nimpl Q {\n    pub fn len(&self) -> usize { self.items.len() }\n}\n";
        let solution = "pub struct Q { state: (Vec<u8>, bool) }\nimpl Q {\n    pub fn len(&self) -> usize { self.state.0.len() }\n}\n";
        assert_eq!(given_code_problems(stub, solution), Vec::<String>::new());
        let unmarked = stub.replace("// TODO: add a Condvar.", "");
        let problems = given_code_problems(&unmarked, solution);
        assert!(
            problems.iter().any(|p| p.contains("`impl Q::len` differs")),
            "{problems:?}"
        );
    }

    const TESTS: &str = "fn a() {}\nfn b() {}\nfn helper() {}\nharness::hidden_tests![a, b];\n";

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn test_names_agree_in_any_order() {
        assert_eq!(test_names_problem(&names(&["b", "a"]), TESTS), None);
    }

    #[test]
    fn test_names_that_disagree_are_named() {
        let problem = test_names_problem(&names(&["a", "c"]), TESTS).expect("a mismatch");
        assert!(
            problem.contains("hidden_tests! lists [\"a\", \"b\"]"),
            "{problem}"
        );
        let undefined = TESTS.replace("a, b", "a, b, c");
        let problem = test_names_problem(&names(&["a", "b", "c"]), &undefined).expect("c missing");
        assert!(
            problem.contains("`c`, which is not a function"),
            "{problem}"
        );
        let no_list = "fn a() {}\n";
        assert!(test_names_problem(&names(&["a"]), no_list).is_some());
    }

    #[test]
    fn sync_rs_must_be_the_include_line() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        assert!(sync_problem(dir.path())
            .expect("missing")
            .contains("is missing"));
        std::fs::create_dir(dir.path().join("src")).expect("src/");
        std::fs::write(dir.path().join("src/sync.rs"), "pub use std::sync::*;\n").expect("write");
        assert!(sync_problem(dir.path())
            .expect("wrong")
            .contains("must consist of"));
        std::fs::write(
            dir.path().join("src/sync.rs"),
            format!("// Grader-owned.\n{SYNC_INCLUDE}\n"),
        )
        .expect("write");
        assert_eq!(sync_problem(dir.path()), None);
    }

    #[test]
    fn a_page_must_exist_and_be_linked() {
        let book = tempfile::tempdir().expect("a temporary folder");
        let page = "exercises/01_x.md";
        let linked = format!("- [01](./{page})\n- [01]({page})\n");
        assert!(page_problem(book.path(), &linked, page)
            .expect("missing")
            .contains("missing"));
        std::fs::create_dir(book.path().join("exercises")).expect("folder");
        std::fs::write(book.path().join(page), "# 01\n").expect("write");
        assert!(page_problem(book.path(), "- [01](other.md)\n", page)
            .expect("unlinked")
            .contains("does not link"));
        assert_eq!(page_problem(book.path(), &linked, page), None);
    }

    #[test]
    fn every_exercise_of_this_checkout_keeps_the_rules_that_need_no_build() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let workspace = Workspace::open(root).expect("the checkout opens");
        if !workspace.solutions_dir().is_dir() {
            eprintln!("skipped: the rules compare stubs with solutions, and this edition has none");
            return;
        }
        let catalog = crate::catalog::Catalog::load(&workspace).expect("every exercise.toml loads");
        let broken: Vec<String> = catalog
            .exercises
            .iter()
            .flat_map(|exercise| {
                check_exercise(&workspace, exercise)
                    .into_iter()
                    .filter_map(move |finding| {
                        let problem = finding.problem?;
                        Some(format!(
                            "{}: {}: {problem}",
                            exercise.dir_name, finding.rule
                        ))
                    })
            })
            .collect();
        assert!(broken.is_empty(), "{}", broken.join("\n"));
    }
}
