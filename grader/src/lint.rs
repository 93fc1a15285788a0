//! Rejects code that would make grading meaningless, before it is compiled.
//!
//! Two things are checked, with `syn` so that formatting and grouped imports do not matter:
//!
//! - In exercises that use the `crate::sync` shim, no path may reach `std::sync`,
//!   `std::thread` (or their `core` twins) or a crate that makes threads of its own. Such code
//!   would compile and run, but the model checker could not see its locks and would miss its
//!   races, so the learner gets a message instead of a silent bypass.
//! - In every exercise, nothing may run before `main`: `#[link_section]`, `#[no_mangle]`,
//!   `#[export_name]` and inline assembly are rejected, because code that runs first could read
//!   the harness's nonce.

use std::path::Path;

use syn::visit::Visit;

use crate::subject::Subject;

/// One rejected construct, located in the learner's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The file as the learner sees it, for example `exercises/01_race_counter/src/lib.rs`.
    pub file: String,
    pub line: usize,
    pub problem: String,
}

/// Crates that create threads or locks the model checker cannot see.
const THREADING_CRATES: &[&str] = &["parking_lot", "crossbeam", "crossbeam_utils", "rayon"];
const STD_CRATES: &[&str] = &["std", "core", "alloc"];
const PRE_MAIN_ATTRIBUTES: &[&str] = &["link_section", "no_mangle", "export_name", "used"];
const ASSEMBLY_MACROS: &[&str] = &["asm", "global_asm", "naked_asm"];

/// Checks every source file of a subject. A file that does not parse is left to the compiler,
/// whose message is better than ours.
pub fn lint(subject: &Subject, uses_sync_shim: bool) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (path, text) in &subject.sources {
        let Ok(file) = syn::parse_file(text) else {
            continue;
        };
        let mut visitor = Visitor {
            uses_sync_shim,
            line_problems: Vec::new(),
        };
        visitor.visit_file(&file);
        let display = display_path(&subject.display_dir, path);
        findings.extend(
            visitor
                .line_problems
                .into_iter()
                .map(|(line, problem)| Finding {
                    file: display.clone(),
                    line,
                    problem,
                }),
        );
    }
    findings.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    findings.dedup();
    findings
}

fn display_path(display_dir: &str, path: &Path) -> String {
    format!("{display_dir}/src/{}", path.display())
}

struct Visitor {
    uses_sync_shim: bool,
    line_problems: Vec<(usize, String)>,
}

impl Visitor {
    fn check_path(&mut self, segments: &[String], line: usize) {
        if !self.uses_sync_shim {
            return;
        }
        let Some(first) = segments.first() else {
            return;
        };
        let reaches_std_threads = STD_CRATES.contains(&first.as_str())
            && segments
                .get(1)
                .is_some_and(|second| second == "sync" || second == "thread");
        if reaches_std_threads {
            let joined = segments.join("::");
            let shim = format!(
                "crate::sync{}",
                joined
                    .trim_start_matches(first.as_str())
                    .replacen("::sync", "", 1)
            );
            self.line_problems.push((
                line,
                format!(
                    "`{joined}` goes around the grader's `crate::sync` module; write `{shim}` \
                     instead, so the model checker can see this thread or lock"
                ),
            ));
        } else if THREADING_CRATES.contains(&first.as_str()) {
            self.line_problems.push((
                line,
                format!(
                    "`{first}` makes threads or locks the model checker cannot see; \
                     this exercise is solved with `crate::sync` alone"
                ),
            ));
        }
    }

    fn check_use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(path) => {
                prefix.push(path.ident.to_string());
                self.check_use_tree(prefix, &path.tree);
                prefix.pop();
            }
            syn::UseTree::Name(name) => {
                let mut full = prefix.clone();
                if name.ident != "self" {
                    full.push(name.ident.to_string());
                }
                self.check_path(&full, name.ident.span().start().line);
            }
            syn::UseTree::Rename(rename) => {
                let mut full = prefix.clone();
                if rename.ident != "self" {
                    full.push(rename.ident.to_string());
                }
                if full.len() == 1 && STD_CRATES.contains(&full[0].as_str()) {
                    self.line_problems.push((
                        rename.ident.span().start().line,
                        format!("renaming `{}` hides which parts of it are used; import what you need from `crate::sync`", full[0]),
                    ));
                }
                self.check_path(&full, rename.ident.span().start().line);
            }
            syn::UseTree::Glob(glob) => {
                self.check_path(prefix, glob.star_token.span.start().line);
            }
            syn::UseTree::Group(group) => {
                for tree in &group.items {
                    self.check_use_tree(prefix, tree);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Visitor {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let mut prefix = Vec::new();
        self.check_use_tree(&mut prefix, &item.tree);
        syn::visit::visit_item_use(self, item);
    }

    fn visit_item_extern_crate(&mut self, item: &'ast syn::ItemExternCrate) {
        if item.rename.is_some() && STD_CRATES.contains(&item.ident.to_string().as_str()) {
            self.line_problems.push((
                item.ident.span().start().line,
                format!("renaming `{}` hides which parts of it are used; import what you need from `crate::sync`", item.ident),
            ));
        }
        syn::visit::visit_item_extern_crate(self, item);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path
            .segments
            .iter()
            .map(|segment| segment.ident.to_string())
            .collect();
        if segments.len() > 1 {
            let line = path
                .segments
                .first()
                .map_or(0, |s| s.ident.span().start().line);
            self.check_path(&segments, line);
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_attribute(&mut self, attribute: &'ast syn::Attribute) {
        // Doc comments are attributes too (`#[doc = "..."]`), but their words are prose: a
        // comment that says "used by shutdown" is not `#[used]`.
        if attribute.path().is_ident("doc") {
            return;
        }
        // `#[unsafe(no_mangle)]` wraps the interesting name, so the whole attribute is searched.
        let text = quote_tokens(attribute);
        for name in PRE_MAIN_ATTRIBUTES {
            if text
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .any(|word| word == *name)
            {
                self.line_problems.push((
                    attribute.pound_token.span.start().line,
                    format!(
                        "`#[{name}]` can run code before the grader's harness starts; \
                         exercises never need it"
                    ),
                ));
            }
        }
        syn::visit::visit_attribute(self, attribute);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        if let Some(last) = mac.path.segments.last() {
            if ASSEMBLY_MACROS.contains(&last.ident.to_string().as_str()) {
                self.line_problems.push((
                    last.ident.span().start().line,
                    format!(
                        "`{}!` is inline assembly, which the grader does not accept",
                        last.ident
                    ),
                ));
            }
        }
        syn::visit::visit_macro(self, mac);
    }
}

fn quote_tokens(attribute: &syn::Attribute) -> String {
    quote::ToTokens::to_token_stream(attribute).to_string()
}
