//! Decides, before any test runs, whether the code under test uses only what its exercise
//! allows (`[capabilities]` in `exercise.toml`), judged on what the compiler compiles.
//!
//! Three passes, cheapest first:
//!
//! 1. **The learner's files**, as tokens and then with `syn`, so that most findings name the
//!    exact line: `unsafe` where the exercise allows none, `debug_assertions` (which differs
//!    between the debug build the tests check and the release build the timer runs), and
//!    every rule of pass 2 on the code as written.
//! 2. **The crate after macro expansion**, both the real crate and its model-checked twin
//!    (`#[cfg(feature = "model")]` can hide code from either), from [`scratch::expand`].
//!    Nothing inside a `macro_rules!` body or a macro call is hidden from this pass. Paths are
//!    judged after following `use` and `type` aliases, so a renamed or glob-imported module
//!    does not hide where a path leads. A finding is located in the learner's files by the
//!    tokens it names.
//! 3. **Every file the compiler read** (dep-info) must lie in the scratch copy of the
//!    subject's `src/`, and no environment variable may be read at compile time; so
//!    `include!`, `include_str!`, `include_bytes!` and `#[path]` cannot reach solutions,
//!    hidden tests or anything else.
//!
//! The rules of passes 1 and 2: no path into std's closed modules
//! ([`CLOSED_STD_MODULES`]) or, in exercises on the sync shim, `std::sync` and
//! `std::thread`, unless `allow` opens it; no path into a course crate the exercise's crate
//! is not built with, or outside the listed items of a restricted one; no code that runs
//! before `main` (`#[link_section]`, `#[no_mangle]`, `#[export_name]`, `#[used]`, inline
//! assembly) and no `extern` blocks; and where the exercise allows `unsafe`, only blocks that
//! call the listed functions with plain arguments. Where it allows none, rustc itself refuses
//! `unsafe` (the scratch manifests forbid `unsafe_code`); pass 1 only says so earlier.
//!
//! The grader's own `sync.rs` is exempt, but only while the module `sync` of the expanded
//! crate is exactly that file, so a learner cannot put code of their own under its name.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use proc_macro2::{TokenStream, TokenTree};
use serde::{Deserialize, Serialize};
use syn::spanned::Spanned;
use syn::visit::Visit;

use crate::catalog::{Capabilities, Exercise, CLOSED_STD_MODULES};
use crate::scratch;
use crate::subject::Subject;
use crate::workspace::Workspace;
use crate::{error, Result};

/// One refused construct, located in the learner's file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Finding {
    /// The file as the learner sees it, for example `exercises/01_race_counter/src/lib.rs`.
    pub file: String,
    pub line: usize,
    pub problem: String,
}

/// What the compile-time check decided.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Nothing refused: build and run the tests.
    Clean,
    /// Refused before the build, for these reasons.
    Rejected(Vec<Finding>),
    /// The compiler could not expand the crate; its errors, mapped to the learner's files.
    DoesNotCompile(Vec<String>),
}

const STD_CRATES: &[&str] = &["std", "core", "alloc"];
/// Modules closed in addition to [`CLOSED_STD_MODULES`] when threads must go through the shim.
const SHIM_MODULES: &[&str] = &["sync", "thread"];
const PRE_MAIN_ATTRIBUTES: &[&str] = &["link_section", "no_mangle", "export_name", "used"];
const LINKING_ATTRIBUTES: &[&str] = &["link", "link_name", "linkage"];
const ASSEMBLY_MACROS: &[&str] = &["asm", "global_asm", "naked_asm"];
/// Methods an argument of an allowed unsafe call may use: each is safe on every type of std,
/// `nix` and `libc` that has it, and a learner cannot define an `unsafe fn` of that name.
const PLAIN_METHODS: &[&str] = &[
    "as_ptr",
    "as_raw_fd",
    "as_fd",
    "cast",
    "is_ok",
    "is_err",
    "len",
];
/// Safe functions an argument of an allowed unsafe call may call.
const PLAIN_FUNCTIONS: &[&[&str]] = &[
    &["std", "mem", "size_of"],
    &["core", "mem", "size_of"],
    &["Some"],
];

/// Runs every pass for `subject`, or replays the decision of an earlier run on exactly the same
/// sources, shim, capabilities and grader.
pub fn check(workspace: &Workspace, exercise: &Exercise, subject: &Subject) -> Result<Decision> {
    let course_crates = scratch::course_crates(workspace)?;
    let rules = Rules::new(exercise, &course_crates);
    let findings = lint_sources(subject, &rules);
    if !findings.is_empty() {
        return Ok(Decision::Rejected(findings));
    }
    let shim = error::read_to_string(workspace.sync_shim())?;
    let cache = workspace
        .state_dir()
        .join("expand")
        .join("decisions")
        .join(&exercise.dir_name)
        .join(format!("{}.json", subject.key()));
    let fingerprint = fingerprint(subject, &shim, &exercise.meta.capabilities, &course_crates);
    if let Some(findings) = cached(&cache, fingerprint) {
        return Ok(decision(findings));
    }
    let expansion = scratch::expand(workspace, exercise, subject)?;
    // Files read from outside `src/` explain whatever else their code trips over.
    let mut findings: Vec<Finding> = expansion
        .twins
        .iter()
        .flat_map(|twin| {
            let mut found = files_read_problems(subject, &expansion.src_dir, &twin.files_read);
            found.extend(env_read_problems(subject, &twin.env_read));
            found
        })
        .collect();
    if findings.is_empty() {
        findings = in_either_twin(&expansion.twins, |twin| {
            lint_expanded(subject, &rules, &twin.code, &shim, twin.model)
        });
    }
    findings.sort();
    findings.dedup();
    if findings.is_empty() && !expansion.errors.is_empty() {
        return Ok(Decision::DoesNotCompile(expansion.errors));
    }
    store(&cache, fingerprint, &findings);
    Ok(decision(findings))
}

/// Findings of each twin, each said once, with the twin that has it when only one does.
fn in_either_twin(
    twins: &[scratch::Expanded],
    lint: impl Fn(&scratch::Expanded) -> Vec<Finding>,
) -> Vec<Finding> {
    let mut seen: BTreeMap<Finding, Vec<bool>> = BTreeMap::new();
    for twin in twins {
        for finding in lint(twin) {
            seen.entry(finding).or_default().push(twin.model);
        }
    }
    seen.into_iter()
        .map(|(mut finding, models)| {
            let place = match models.as_slice() {
                [true] => "in the model-checked crate after macro expansion",
                [false] => "in the real crate after macro expansion",
                _ => "after macro expansion",
            };
            finding.problem = format!("{} (found {place})", finding.problem);
            finding
        })
        .collect()
}

fn decision(findings: Vec<Finding>) -> Decision {
    if findings.is_empty() {
        Decision::Clean
    } else {
        Decision::Rejected(findings)
    }
}

/// Everything the expensive passes depend on, the grader's own rules included (this file and
/// the one that expands), so a changed rule never replays an old decision.
fn fingerprint(
    subject: &Subject,
    shim: &str,
    capabilities: &Capabilities,
    crates: &[String],
) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    subject.sources.hash(&mut hasher);
    shim.hash(&mut hasher);
    capabilities.hash(&mut hasher);
    crates.hash(&mut hasher);
    include_str!("lint.rs").hash(&mut hasher);
    include_str!("scratch.rs").hash(&mut hasher);
    hasher.finish()
}

#[derive(Serialize, Deserialize)]
struct CachedDecision {
    fingerprint: u64,
    findings: Vec<Finding>,
}

fn cached(path: &Path, fingerprint: u64) -> Option<Vec<Finding>> {
    let text = std::fs::read_to_string(path).ok()?;
    let cached: CachedDecision = serde_json::from_str(&text).ok()?;
    (cached.fingerprint == fingerprint).then_some(cached.findings)
}

/// A cache that cannot be written only costs time on the next check.
fn store(path: &Path, fingerprint: u64, findings: &[Finding]) {
    let cached = CachedDecision {
        fingerprint,
        findings: findings.to_vec(),
    };
    if let Ok(text) = serde_json::to_string(&cached) {
        let _ = error::write(path, &text);
    }
}

/// What one exercise allows, ready to judge paths with.
pub struct Rules {
    exercise: String,
    capabilities: Capabilities,
    /// Every crate of `[workspace.dependencies]`, as code names it.
    course_crates: BTreeSet<String>,
    /// The crates this exercise's crate is built with, as code names them.
    own_crates: BTreeSet<String>,
    /// `allow` and `unsafe_calls`, split into segments.
    allowed: Vec<Vec<String>>,
    /// Crates of which only listed paths may be used.
    restricted_crates: BTreeSet<String>,
}

impl Rules {
    /// The rules of `exercise`, given the code names of every course crate.
    pub fn new(exercise: &Exercise, course_crates: &[String]) -> Rules {
        Rules::from_capabilities(
            &format!("exercise {:02}", exercise.meta.number),
            &exercise.meta.capabilities,
            course_crates,
        )
    }

    /// The rules of a set of capabilities; `exercise` names it in messages.
    pub fn from_capabilities(
        exercise: &str,
        capabilities: &Capabilities,
        course_crates: &[String],
    ) -> Rules {
        let allowed: Vec<Vec<String>> = capabilities
            .allow
            .iter()
            .chain(&capabilities.unsafe_calls)
            .map(|entry| split_path(entry))
            .collect();
        let own_crates: BTreeSet<String> = capabilities
            .crates
            .iter()
            .map(|name| Capabilities::code_name(name))
            .collect();
        let restricted_crates = allowed
            .iter()
            .filter_map(|entry| entry.first())
            .filter(|root| own_crates.contains(*root))
            .cloned()
            .collect();
        Rules {
            exercise: exercise.to_owned(),
            capabilities: capabilities.clone(),
            course_crates: course_crates.iter().cloned().collect(),
            own_crates,
            allowed,
            restricted_crates,
        }
    }

    fn is_allowed(&self, path: &[String]) -> bool {
        let normalised = normalise_std(path);
        self.allowed.iter().any(|entry| {
            if entry.last().is_some_and(|last| last == "*") {
                let prefix = &entry[..entry.len() - 1];
                normalised.len() >= prefix.len() && normalised[..prefix.len()] == *prefix
            } else {
                normalised == *entry
            }
        })
    }

    /// Allowed entries below `prefix`, for "what the exercise allows instead".
    fn allowed_under(&self, prefix: &[String]) -> Vec<String> {
        let prefix = normalise_std(prefix);
        self.allowed
            .iter()
            .filter(|entry| entry.len() >= prefix.len() && entry[..prefix.len()] == *prefix)
            .map(|entry| entry.join("::"))
            .collect()
    }

    fn closed_std_module(&self, module: &str) -> bool {
        CLOSED_STD_MODULES.contains(&module)
            || (self.capabilities.sync_shim && SHIM_MODULES.contains(&module))
    }

    /// Why `path` (whose last segment may be `*` for a glob) is refused, if it is.
    fn judge(&self, path: &[String]) -> Option<String> {
        let root = path.first()?.as_str();
        let shown = path.join("::");
        if STD_CRATES.contains(&root) {
            if self.is_allowed(path) {
                return None;
            }
            let module = path.get(1)?.as_str();
            if module == "*" {
                return Some(format!(
                    "`{shown}` imports all of `{root}`, which hides which of its modules the code \
                     uses; import the items you need by name"
                ));
            }
            if !self.closed_std_module(module) {
                return None;
            }
            if SHIM_MODULES.contains(&module) {
                let shim = format!(
                    "crate::sync{}",
                    shown[root.len()..].replacen("::sync", "", 1)
                );
                return Some(format!(
                    "`{shown}` goes around the grader's `crate::sync` module; write `{shim}` \
                     instead, so the model checker can see this thread or lock"
                ));
            }
            let what = match module {
                "fs" => "reaches files",
                "process" => "controls processes (`exit`, `abort`, `Command`)",
                "env" => "reads the environment",
                "net" => "opens network connections",
                "os" => "reaches raw file descriptors and other OS specifics",
                _ => "reaches the file system through paths",
            };
            return Some(format!(
                "`{shown}` {what}, which {} does not allow; {}",
                self.exercise,
                self.instead(&path[..2])
            ));
        }
        if self.course_crates.contains(root) && !self.own_crates.contains(root) {
            let threads = if self.capabilities.sync_shim {
                " It makes threads or locks the model checker cannot see: this exercise is solved \
                 with `crate::sync` alone."
            } else {
                ""
            };
            let given = if self.own_crates.is_empty() {
                "no crates".to_owned()
            } else {
                self.own_crates
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Some(format!(
                "`{shown}`: {} builds the code with {given}, not `{root}`.{threads}",
                self.exercise
            ));
        }
        if self.restricted_crates.contains(root) && !self.is_allowed(path) {
            return Some(format!(
                "`{shown}` is not among the parts of `{root}` {} allows; {}",
                self.exercise,
                self.instead(&path[..1])
            ));
        }
        None
    }

    fn instead(&self, prefix: &[String]) -> String {
        let allowed = self.allowed_under(prefix);
        if allowed.is_empty() {
            format!(
                "nothing in `{}` is needed here, so solve it without",
                prefix.join("::")
            )
        } else {
            format!("it may use only {}", backticked(&allowed))
        }
    }
}

fn backticked(items: &[String]) -> String {
    items
        .iter()
        .map(|item| format!("`{item}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn split_path(entry: &str) -> Vec<String> {
    entry.split("::").map(str::to_owned).collect()
}

/// `core::x` and `alloc::x` are `std::x` for allow entries.
fn normalise_std(path: &[String]) -> Vec<String> {
    let mut normalised = path.to_vec();
    if let Some(root) = normalised.first_mut() {
        if root == "core" || root == "alloc" {
            *root = "std".to_owned();
        }
    }
    normalised
}

/// Pass 1: the learner's files as written.
pub fn lint_sources(subject: &Subject, rules: &Rules) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (path, text) in &subject.sources {
        let display = display_path(&subject.display_dir, path);
        let mut at = |line: usize, problem: String| {
            findings.push(Finding {
                file: display.clone(),
                line,
                problem,
            })
        };
        // A file that does not even tokenize is left to the compiler, which says why.
        let Ok(tokens) = TokenStream::from_str(text) else {
            continue;
        };
        for token in flatten(tokens) {
            let TokenTree::Ident(ident) = &token else {
                continue;
            };
            let line = ident.span().start().line;
            if ident == "unsafe" && !rules.capabilities.allows_unsafe() {
                at(
                    line,
                    format!(
                        "{} allows no `unsafe` code: its crate is built with \
                         `forbid(unsafe_code)`, which no `allow` can lift, and nothing it asks \
                         for needs `unsafe`",
                        rules.exercise
                    ),
                );
            }
            if ident == "debug_assertions" {
                at(
                    line,
                    "`debug_assertions` differs between the debug build the tests check and the \
                     release build the speedup timer runs, so code under it would be graded \
                     unseen; remove the condition"
                        .to_owned(),
                );
            }
        }
        let Ok(file) = syn::parse_file(text) else {
            continue;
        };
        let mut visitor = Visitor::new(rules, &file, false);
        visitor.visit_file(&file);
        for (line, problem, _) in visitor.problems {
            at(line, problem);
        }
    }
    findings.sort();
    findings.dedup();
    findings
}

/// Pass 2: one expanded twin. `shim` is the grader's `sync.rs`.
pub fn lint_expanded(
    subject: &Subject,
    rules: &Rules,
    code: &str,
    shim: &str,
    model: bool,
) -> Vec<Finding> {
    let twin = if model { "model-checked" } else { "real" };
    let file = match syn::parse_file(code) {
        Ok(file) => file,
        Err(error) => {
            // Never a silent pass: what cannot be read cannot be judged.
            let line = error.span().start().line;
            let text = code
                .lines()
                .nth(line.saturating_sub(1))
                .unwrap_or("")
                .trim();
            return vec![Finding {
                file: display_path(&subject.display_dir, Path::new("lib.rs")),
                line: 1,
                problem: format!(
                    "the grader cannot read the {twin} crate after macro expansion ({error}, at \
                     `{text}`), so it cannot check it; write that code without the macro that \
                     produces it"
                ),
            }];
        }
    };
    let mut file = file;
    let mut problems = Vec::new();
    if let Some(position) = file.items.iter().position(is_root_sync_module) {
        if sync_module_is_the_shim(&file.items[position], shim, model) {
            // The shim's own aliases (`scope` for `std::thread::scope`) are not the learner's.
            file.items.remove(position);
        } else {
            problems.push((
                0,
                "the module `sync` is not the grader's `src/sync.rs`: declare it with a plain \
                 `mod sync;` and keep your own code in other modules"
                    .to_owned(),
                vec!["sync".to_owned()],
            ));
        }
    }
    let mut visitor = Visitor::new(rules, &file, true);
    visitor.visit_file(&file);
    problems.extend(visitor.problems);
    let tokens = source_tokens(subject);
    let mut findings: Vec<Finding> = problems
        .into_iter()
        .map(|(_, problem, names)| {
            let (file, line) = locate(subject, &tokens, &names);
            Finding {
                file,
                line,
                problem,
            }
        })
        .collect();
    findings.sort();
    findings.dedup();
    findings
}

/// Pass 3a: every file the compiler read lies in the subject's own `src/`.
pub fn files_read_problems(subject: &Subject, src_dir: &Path, files: &[PathBuf]) -> Vec<Finding> {
    let src_dir = std::fs::canonicalize(src_dir).unwrap_or_else(|_| src_dir.to_owned());
    let tokens = source_tokens(subject);
    files
        .iter()
        .filter(|file| !file.starts_with(&src_dir))
        .map(|file| {
            let name = file
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            let (display, line) = locate_literal(subject, &tokens, &name);
            Finding {
                file: display,
                line,
                problem: format!(
                    "the compiler was made to read `{}`, which is not one of your files in \
                     `src/` (`include!`, `include_str!`, `include_bytes!` or `#[path]`); keep \
                     every module and every included file inside `src/`",
                    file.display()
                ),
            }
        })
        .collect()
}

/// Pass 3b: no environment variable is read at compile time.
pub fn env_read_problems(subject: &Subject, variables: &[String]) -> Vec<Finding> {
    let tokens = source_tokens(subject);
    variables
        .iter()
        .map(|variable| {
            let (file, line) = locate_literal(subject, &tokens, variable);
            Finding {
                file,
                line,
                problem: format!(
                    "`env!`/`option_env!` reads the environment variable `{variable}` while the \
                     code is compiled, which differs between builds; write the value into the \
                     code instead"
                ),
            }
        })
        .collect()
}

fn display_path(display_dir: &str, path: &Path) -> String {
    format!("{display_dir}/src/{}", path.display())
}

fn flatten(tokens: TokenStream) -> Vec<TokenTree> {
    let mut all = Vec::new();
    let mut stack: Vec<TokenTree> = tokens.into_iter().collect();
    stack.reverse();
    while let Some(token) = stack.pop() {
        if let TokenTree::Group(group) = &token {
            let mut inner: Vec<TokenTree> = group.stream().into_iter().collect();
            inner.reverse();
            all.push(token.clone());
            stack.extend(inner);
        } else {
            all.push(token);
        }
    }
    all
}

/// Every learner file's tokens, macro bodies included, for locating expanded findings.
fn source_tokens(subject: &Subject) -> Vec<(String, Vec<TokenTree>)> {
    subject
        .sources
        .iter()
        .filter_map(|(path, text)| {
            let tokens = TokenStream::from_str(text).ok()?;
            Some((display_path(&subject.display_dir, path), flatten(tokens)))
        })
        .collect()
}

/// The place in the learner's files where the most of `names` (a path's segments) stand
/// together: a finding in expanded code has no span of its own there.
fn locate(
    subject: &Subject,
    tokens: &[(String, Vec<TokenTree>)],
    names: &[String],
) -> (String, usize) {
    let mut best: Option<(usize, String, usize)> = None;
    for (file, tokens) in tokens {
        let idents: Vec<(String, usize)> = tokens
            .iter()
            .filter_map(|token| match token {
                TokenTree::Ident(ident) => Some((ident.to_string(), ident.span().start().line)),
                _ => None,
            })
            .collect();
        for (index, (ident, line)) in idents.iter().enumerate() {
            // Score an occurrence of any segment by how many segments match around it.
            let Some(position) = names.iter().rposition(|name| name == ident) else {
                continue;
            };
            let mut score = 1 + position;
            let mut back = 1;
            while back <= position
                && index >= back
                && idents[index - back].0 == names[position - back]
            {
                score += 10;
                back += 1;
            }
            if best
                .as_ref()
                .map_or(true, |(best_score, _, _)| score > *best_score)
            {
                best = Some((score, file.clone(), *line));
            }
        }
    }
    match best {
        Some((_, file, line)) => (file, line),
        None => (display_path(&subject.display_dir, Path::new("lib.rs")), 1),
    }
}

/// The first string literal in the learner's files that contains `needle`.
fn locate_literal(
    subject: &Subject,
    tokens: &[(String, Vec<TokenTree>)],
    needle: &str,
) -> (String, usize) {
    for (file, tokens) in tokens {
        for token in tokens {
            if let TokenTree::Literal(literal) = token {
                if !needle.is_empty() && literal.to_string().contains(needle) {
                    return (file.clone(), literal.span().start().line);
                }
            }
        }
    }
    // A path built by `concat!` has no literal to point at; the macro is still in the file.
    locate(
        subject,
        tokens,
        &[
            "include".to_owned(),
            "include_str".to_owned(),
            "include_bytes".to_owned(),
            "path".to_owned(),
            "env".to_owned(),
            "option_env".to_owned(),
        ],
    )
}

fn is_cfg_test(item: &syn::Item) -> bool {
    let attrs = match item {
        syn::Item::Mod(item) => &item.attrs,
        syn::Item::Fn(item) => &item.attrs,
        syn::Item::Use(item) => &item.attrs,
        syn::Item::Impl(item) => &item.attrs,
        _ => return false,
    };
    attrs.iter().any(|attribute| {
        attribute.path().is_ident("cfg")
            && attribute
                .parse_args::<syn::Path>()
                .is_ok_and(|path| path.is_ident("test"))
    })
}

fn is_root_sync_module(item: &syn::Item) -> bool {
    matches!(item, syn::Item::Mod(module) if module.ident == "sync" && module.content.is_some())
}

/// Whether the expanded module `sync` is token for token the grader's `sync.rs` with the
/// twin's `#[cfg]`s applied.
fn sync_module_is_the_shim(item: &syn::Item, shim: &str, model: bool) -> bool {
    let syn::Item::Mod(module) = item else {
        return false;
    };
    let Ok(shim) = syn::parse_file(shim) else {
        return false;
    };
    let expected = configure(shim.items, model);
    let found = &module
        .content
        .as_ref()
        .map(|(_, items)| items.clone())
        .unwrap_or_default();
    let expected_tokens: TokenStream = expected
        .iter()
        .map(quote::ToTokens::to_token_stream)
        .collect();
    let found_tokens: TokenStream = found.iter().map(quote::ToTokens::to_token_stream).collect();
    expected_tokens.to_string() == found_tokens.to_string()
}

/// Applies `#[cfg(...)]` on `feature = "model"` as the compiler would, recursively.
fn configure(items: Vec<syn::Item>, model: bool) -> Vec<syn::Item> {
    items
        .into_iter()
        .filter_map(|mut item| {
            let attrs = item_attrs(&mut item)?;
            let mut keep = true;
            attrs.retain(|attribute| {
                if attribute.path().is_ident("cfg") {
                    keep &= attribute
                        .parse_args::<syn::Meta>()
                        .is_ok_and(|meta| cfg_holds(&meta, model));
                    false
                } else {
                    true
                }
            });
            if !keep {
                return None;
            }
            if let syn::Item::Mod(module) = &mut item {
                if let Some((_, inner)) = module.content.take() {
                    module.content = Some((Default::default(), configure(inner, model)));
                }
            }
            Some(item)
        })
        .collect()
}

fn item_attrs(item: &mut syn::Item) -> Option<&mut Vec<syn::Attribute>> {
    Some(match item {
        syn::Item::Use(item) => &mut item.attrs,
        syn::Item::Mod(item) => &mut item.attrs,
        syn::Item::Fn(item) => &mut item.attrs,
        syn::Item::Type(item) => &mut item.attrs,
        syn::Item::Const(item) => &mut item.attrs,
        _ => return None,
    })
}

fn cfg_holds(meta: &syn::Meta, model: bool) -> bool {
    match meta {
        syn::Meta::NameValue(pair) if pair.path.is_ident("feature") => {
            matches!(&pair.value, syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) if s.value() == "model")
                && model
        }
        syn::Meta::List(list) => {
            let inner: Vec<syn::Meta> = list
                .parse_args_with(
                    syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
                )
                .map(|metas| metas.into_iter().collect())
                .unwrap_or_default();
            if list.path.is_ident("not") {
                inner.len() == 1 && !cfg_holds(&inner[0], model)
            } else if list.path.is_ident("all") {
                inner.iter().all(|meta| cfg_holds(meta, model))
            } else if list.path.is_ident("any") {
                inner.iter().any(|meta| cfg_holds(meta, model))
            } else {
                false
            }
        }
        _ => false,
    }
}

/// Names a crate binds by `use` and `type`, and names bound any other way.
#[derive(Default)]
struct Bindings {
    /// `use a::b as c;` and `type c = a::b;`: `c` → `a::b`, every such binding in the crate.
    aliases: BTreeMap<String, Vec<Vec<String>>>,
    /// Names bound by patterns, functions, statics and constants, which could shadow an alias.
    locals: BTreeSet<String>,
}

impl<'ast> Visit<'ast> for Bindings {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let mut leaves = Vec::new();
        use_leaves(&mut Vec::new(), &item.tree, &mut leaves);
        for leaf in leaves {
            if let UseLeaf::Bound { name, path } = leaf {
                self.aliases.entry(name).or_default().push(path);
            }
        }
    }

    fn visit_item_type(&mut self, item: &'ast syn::ItemType) {
        if let syn::Type::Path(path) = &*item.ty {
            if path.qself.is_none() {
                self.aliases
                    .entry(item.ident.to_string())
                    .or_default()
                    .push(segments(&path.path));
            }
        }
        syn::visit::visit_item_type(self, item);
    }

    fn visit_ident(&mut self, ident: &'ast proc_macro2::Ident) {
        // Over-approximates "bound locally": every identifier outside `use` trees and paths
        // (patterns, names of functions, statics, constants, fields, methods) counts.
        self.locals.insert(ident.to_string());
    }

    fn visit_path(&mut self, _: &'ast syn::Path) {}
}

enum UseLeaf {
    /// A name bound to a path.
    Bound { name: String, path: Vec<String> },
    /// A glob: everything public below the path.
    Glob(Vec<String>),
    /// `use a as b` where `a` is a whole crate.
    RenamedCrate { name: String },
}

fn use_leaves(prefix: &mut Vec<String>, tree: &syn::UseTree, leaves: &mut Vec<UseLeaf>) {
    match tree {
        syn::UseTree::Path(path) => {
            prefix.push(path.ident.to_string());
            use_leaves(prefix, &path.tree, leaves);
            prefix.pop();
        }
        syn::UseTree::Name(name) => {
            let mut path = prefix.clone();
            if name.ident != "self" {
                path.push(name.ident.to_string());
            }
            if let Some(last) = path.last() {
                leaves.push(UseLeaf::Bound {
                    name: last.clone(),
                    path: path.clone(),
                });
            }
        }
        syn::UseTree::Rename(rename) => {
            let mut path = prefix.clone();
            if rename.ident != "self" {
                path.push(rename.ident.to_string());
            }
            if path.len() == 1 {
                leaves.push(UseLeaf::RenamedCrate {
                    name: path[0].clone(),
                });
            }
            if rename.rename != "_" {
                leaves.push(UseLeaf::Bound {
                    name: rename.rename.to_string(),
                    path,
                });
            }
        }
        syn::UseTree::Glob(_) => {
            let mut path = prefix.clone();
            path.push("*".to_owned());
            leaves.push(UseLeaf::Glob(path));
        }
        syn::UseTree::Group(group) => {
            for tree in &group.items {
                use_leaves(prefix, tree, leaves);
            }
        }
    }
}

fn segments(path: &syn::Path) -> Vec<String> {
    path.segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect()
}

/// One problem: its line in the file the visitor read, the message, and the names that locate
/// it in the learner's files when that file is the expanded crate.
type Problem = (usize, String, Vec<String>);

struct Visitor<'r> {
    rules: &'r Rules,
    bindings: Bindings,
    expanded: bool,
    problems: Vec<Problem>,
}

impl<'r> Visitor<'r> {
    fn new(rules: &'r Rules, file: &syn::File, expanded: bool) -> Visitor<'r> {
        let mut bindings = Bindings::default();
        bindings.visit_file(file);
        Visitor {
            rules,
            bindings,
            expanded,
            problems: Vec::new(),
        }
    }

    fn refuse(&mut self, line: usize, problem: String, names: Vec<String>) {
        self.problems.push((line, problem, names));
    }

    /// Every path `path` may stand for: itself, and with any segment that is an alias
    /// replaced by what it aliases (a few levels deep, for aliases of aliases).
    fn meanings(&self, path: &[String]) -> Vec<Vec<String>> {
        let mut meanings = vec![path.to_vec()];
        let mut frontier = vec![path.to_vec()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for candidate in &frontier {
                for (index, segment) in candidate.iter().enumerate() {
                    // Only where a module or a name can start: after `crate`, `self`,
                    // `super` or other module names, never inside a std path.
                    if index > 0
                        && candidate[..index].iter().any(|s| {
                            STD_CRATES.contains(&s.as_str()) || self.rules.course_crates.contains(s)
                        })
                    {
                        break;
                    }
                    let Some(targets) = self.bindings.aliases.get(segment) else {
                        continue;
                    };
                    for target in targets {
                        if target.len() == 1 && target[0] == *segment {
                            continue;
                        }
                        let mut resolved = target.clone();
                        resolved.extend_from_slice(&candidate[index + 1..]);
                        if !meanings.contains(&resolved) && meanings.len() < 64 {
                            meanings.push(resolved.clone());
                            next.push(resolved);
                        }
                    }
                }
            }
            frontier = next;
        }
        meanings
    }

    fn check_path(&mut self, path: &[String], line: usize) {
        for meaning in self.meanings(path) {
            if let Some(problem) = self.rules.judge(&meaning) {
                let mut names = path.to_vec();
                names.retain(|name| name != "*");
                self.refuse(line, problem, names);
                return;
            }
        }
    }

    /// An `unsafe` block where the exercise allows some: only calls to `unsafe_calls`.
    fn check_unsafe_block(&mut self, block: &syn::ExprUnsafe) {
        let line = block.unsafe_token.span.start().line;
        let mut reasons = Vec::new();
        for statement in &block.block.stmts {
            let expr = match statement {
                syn::Stmt::Expr(expr, _) => expr,
                _ => {
                    reasons.push("it holds a statement that is not a call".to_owned());
                    continue;
                }
            };
            let expr = match expr {
                syn::Expr::Try(try_expr) => &*try_expr.expr,
                other => other,
            };
            let syn::Expr::Call(call) = expr else {
                reasons.push("it holds something other than a call".to_owned());
                continue;
            };
            match &*call.func {
                syn::Expr::Path(path) if path.qself.is_none() => {
                    let written = segments(&path.path);
                    if written.len() == 1 && self.bindings.locals.contains(&written[0]) {
                        reasons.push(format!("`{}` is also a local name", written[0]));
                    } else if let Some(meaning) = self.not_an_unsafe_call(&written) {
                        let shown = written.join("::");
                        reasons.push(if meaning == shown {
                            format!("it calls `{shown}`")
                        } else {
                            format!("it calls `{shown}`, which here can mean `{meaning}`")
                        });
                    }
                }
                _ => reasons.push("it calls something that is not a named function".to_owned()),
            }
            for argument in &call.args {
                if !self.is_plain(argument) {
                    reasons.push(format!(
                        "the argument `{}` does more than name a value",
                        quote::ToTokens::to_token_stream(argument)
                            .to_string()
                            .replace(" :: ", "::")
                            .replace(" (", "(")
                    ));
                }
            }
        }
        if block.block.stmts.is_empty() {
            reasons.push("it is empty".to_owned());
        }
        if !reasons.is_empty() {
            let allowed = backticked(&self.rules.capabilities.unsafe_calls);
            self.refuse(
                line,
                format!(
                    "this `unsafe` block is refused because {}; {} allows `unsafe` only around \
                     calls to {allowed} with plain arguments (compute them before the block)",
                    reasons.join(", and "),
                    self.rules.exercise
                ),
                vec!["unsafe".to_owned()],
            );
        }
    }

    /// What a called path may mean that is not an allowed unsafe call, if anything.
    fn not_an_unsafe_call(&self, written: &[String]) -> Option<String> {
        let meanings = self.meanings(written);
        // A single name means only what `use` bound it to.
        let resolved: Vec<Vec<String>> = if written.len() == 1 {
            meanings.into_iter().filter(|m| m.len() > 1).collect()
        } else {
            meanings
        };
        if resolved.is_empty() {
            return Some(written.join("::"));
        }
        // Every meaning must be allowed: an alias bound twice could be either.
        resolved
            .iter()
            .find(|meaning| {
                let normalised = normalise_std(meaning);
                !self
                    .rules
                    .capabilities
                    .unsafe_calls
                    .iter()
                    .any(|call| split_path(call) == normalised)
            })
            .map(|meaning| meaning.join("::"))
    }

    /// Values, fields, references, arithmetic, casts and a few known-safe calls: nothing that
    /// could itself need `unsafe`.
    fn is_plain(&self, expr: &syn::Expr) -> bool {
        match expr {
            syn::Expr::Lit(_) => true,
            syn::Expr::Path(path) => path.qself.is_none(),
            syn::Expr::Field(field) => self.is_plain(&field.base),
            syn::Expr::Reference(reference) => self.is_plain(&reference.expr),
            syn::Expr::Paren(inner) => self.is_plain(&inner.expr),
            syn::Expr::Group(inner) => self.is_plain(&inner.expr),
            syn::Expr::Binary(binary) => {
                self.is_plain(&binary.left) && self.is_plain(&binary.right)
            }
            syn::Expr::Unary(unary) => {
                !matches!(unary.op, syn::UnOp::Deref(_)) && self.is_plain(&unary.expr)
            }
            syn::Expr::Cast(cast) => self.is_plain(&cast.expr),
            syn::Expr::Tuple(tuple) => tuple.elems.iter().all(|e| self.is_plain(e)),
            syn::Expr::If(if_expr) => {
                self.is_plain(&if_expr.cond)
                    && self.is_plain_block(&if_expr.then_branch)
                    && if_expr
                        .else_branch
                        .as_ref()
                        .map_or(true, |(_, e)| self.is_plain(e))
            }
            syn::Expr::Block(block) => block.label.is_none() && self.is_plain_block(&block.block),
            syn::Expr::MethodCall(call) => {
                PLAIN_METHODS.contains(&call.method.to_string().as_str())
                    && self.is_plain(&call.receiver)
                    && call.args.iter().all(|e| self.is_plain(e))
            }
            syn::Expr::Call(call) => {
                matches!(&*call.func, syn::Expr::Path(path) if path.qself.is_none()
                    && PLAIN_FUNCTIONS.iter().any(|f| segments(&path.path) == f.iter().map(|s| s.to_string()).collect::<Vec<_>>()))
                    && call.args.iter().all(|e| self.is_plain(e))
            }
            _ => false,
        }
    }

    fn is_plain_block(&self, block: &syn::Block) -> bool {
        matches!(block.stmts.as_slice(), [syn::Stmt::Expr(expr, None)] if self.is_plain(expr))
    }
}

impl<'ast> Visit<'ast> for Visitor<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        // The learner's own unit tests are never compiled into what the grader builds; the
        // expanded crate, which has them stripped, is the authority on everything else.
        if !self.expanded && is_cfg_test(item) {
            return;
        }
        syn::visit::visit_item(self, item);
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let line = item.use_token.span.start().line;
        // The compiler's own prelude import in expanded code.
        let is_prelude = self.expanded
            && item
                .attrs
                .iter()
                .any(|attribute| attribute.path().is_ident("prelude_import"));
        let mut leaves = Vec::new();
        use_leaves(&mut Vec::new(), &item.tree, &mut leaves);
        for leaf in leaves {
            match leaf {
                UseLeaf::Bound { path, .. } => self.check_path(&path, line),
                UseLeaf::Glob(path) if !is_prelude => self.check_path(&path, line),
                UseLeaf::Glob(_) => {}
                UseLeaf::RenamedCrate { name } => {
                    if STD_CRATES.contains(&name.as_str())
                        || self.rules.course_crates.contains(&name)
                    {
                        self.refuse(
                            line,
                            format!(
                                "renaming `{name}` hides which parts of it are used; import \
                                 the items you need by name"
                            ),
                            vec![name],
                        );
                    }
                }
            }
        }
        for attribute in &item.attrs {
            self.visit_attribute(attribute);
        }
    }

    fn visit_item_extern_crate(&mut self, item: &'ast syn::ItemExternCrate) {
        let line = item.extern_token.span.start().line;
        let name = item.ident.to_string();
        if item.rename.is_some() {
            self.refuse(
                line,
                format!(
                    "renaming the crate `{name}` hides which parts of it are used; import the \
                     items you need by name"
                ),
                vec![name.clone()],
            );
        } else if !STD_CRATES.contains(&name.as_str()) && !self.rules.own_crates.contains(&name) {
            self.refuse(
                line,
                format!(
                    "`extern crate {name}` links a crate {} does not give its code",
                    self.rules.exercise
                ),
                vec![name.clone()],
            );
        }
        syn::visit::visit_item_extern_crate(self, item);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let line = path.span().start().line;
        self.check_path(&segments(path), line);
        syn::visit::visit_path(self, path);
    }

    fn visit_expr_path(&mut self, expr: &'ast syn::ExprPath) {
        self.check_qualified(expr.qself.as_ref(), &expr.path);
        syn::visit::visit_expr_path(self, expr);
    }

    fn visit_type_path(&mut self, ty: &'ast syn::TypePath) {
        self.check_qualified(ty.qself.as_ref(), &ty.path);
        syn::visit::visit_type_path(self, ty);
    }

    fn visit_attribute(&mut self, attribute: &'ast syn::Attribute) {
        // Doc comments are attributes too (`#[doc = "..."]`), but their words are prose: a
        // comment that says "used by shutdown" is not `#[used]`.
        if attribute.path().is_ident("doc") {
            return;
        }
        let line = attribute.pound_token.span.start().line;
        // `#[unsafe(no_mangle)]` wraps the interesting name, so the whole attribute is searched.
        let text = quote::ToTokens::to_token_stream(attribute).to_string();
        let words: Vec<&str> = text
            .split(|c: char| !c.is_alphanumeric() && c != '_')
            .collect();
        for name in PRE_MAIN_ATTRIBUTES {
            if words.contains(name) {
                self.refuse(
                    line,
                    format!(
                        "`#[{name}]` can run code before the grader's harness starts; exercises \
                         never need it"
                    ),
                    vec![(*name).to_owned()],
                );
            }
        }
        if LINKING_ATTRIBUTES
            .iter()
            .any(|name| attribute.path().is_ident(name))
        {
            self.refuse(
                line,
                "linking attributes reach code outside Rust's checks; exercises never need them"
                    .to_owned(),
                vec!["link".to_owned()],
            );
        }
        let is_injected = self.expanded && words.contains(&"prelude_import");
        if attribute.path().is_ident("feature") && !is_injected {
            self.refuse(
                line,
                "`#![feature]` turns on unstable compiler features, which the grader's stable \
                 build does not have; write the code in stable Rust"
                    .to_owned(),
                vec!["feature".to_owned()],
            );
        }
        syn::visit::visit_attribute(self, attribute);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        if let Some(last) = mac.path.segments.last() {
            if ASSEMBLY_MACROS.contains(&last.ident.to_string().as_str()) {
                self.refuse(
                    last.ident.span().start().line,
                    format!(
                        "`{}!` is inline assembly, which the grader does not accept",
                        last.ident
                    ),
                    vec![last.ident.to_string()],
                );
            }
        }
        syn::visit::visit_macro(self, mac);
    }

    fn visit_item_foreign_mod(&mut self, item: &'ast syn::ItemForeignMod) {
        self.refuse(
            item.abi.extern_token.span.start().line,
            "an `extern` block declares foreign functions that bypass the exercise's \
             capabilities; use the functions the exercise gives"
                .to_owned(),
            vec!["extern".to_owned()],
        );
        syn::visit::visit_item_foreign_mod(self, item);
    }

    fn visit_expr_unsafe(&mut self, block: &'ast syn::ExprUnsafe) {
        if self.expanded && self.rules.capabilities.allows_unsafe() {
            self.check_unsafe_block(block);
        }
        syn::visit::visit_expr_unsafe(self, block);
    }

    fn visit_signature(&mut self, signature: &'ast syn::Signature) {
        if let Some(token) = &signature.unsafety {
            self.refuse_unsafe_item(token.span.start().line, "an `unsafe fn`");
        }
        syn::visit::visit_signature(self, signature);
    }

    fn visit_item_trait(&mut self, item: &'ast syn::ItemTrait) {
        if let Some(token) = &item.unsafety {
            self.refuse_unsafe_item(token.span.start().line, "an `unsafe trait`");
        }
        syn::visit::visit_item_trait(self, item);
    }

    fn visit_type_bare_fn(&mut self, ty: &'ast syn::TypeBareFn) {
        if let Some(token) = &ty.unsafety {
            self.refuse_unsafe_item(token.span.start().line, "an `unsafe fn` pointer");
        }
        syn::visit::visit_type_bare_fn(self, ty);
    }

    fn visit_item_static(&mut self, item: &'ast syn::ItemStatic) {
        if let syn::StaticMutability::Mut(token) = &item.mutability {
            self.refuse_unsafe_item(token.span.start().line, "a `static mut`");
        }
        syn::visit::visit_item_static(self, item);
    }

    fn visit_item_union(&mut self, item: &'ast syn::ItemUnion) {
        self.refuse_unsafe_item(item.union_token.span.start().line, "a `union`");
        syn::visit::visit_item_union(self, item);
    }

    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        // Elsewhere rustc refuses every `unsafe impl` under `forbid(unsafe_code)`.
        let unsafety = item
            .unsafety
            .filter(|_| self.rules.capabilities.allows_unsafe());
        if let Some(token) = &unsafety {
            let allowed = item.trait_.as_ref().is_some_and(|(_, path, _)| {
                let written = segments(path);
                // `#[derive(Clone, Copy)]` writes this one; the trait is unstable, so code
                // that names it does not build on the grader's stable compiler.
                if written == ["core", "clone", "TrivialClone"] {
                    return true;
                }
                let name = written.last().cloned().unwrap_or_default();
                self.rules.capabilities.unsafe_impls.contains(&name)
                    && self.meanings(&written).iter().all(|meaning| {
                        meaning.len() == 1
                            || normalise_std(meaning) == ["std", "marker", name.as_str()]
                    })
            });
            if !allowed {
                let impls = if self.rules.capabilities.unsafe_impls.is_empty() {
                    "none".to_owned()
                } else {
                    backticked(&self.rules.capabilities.unsafe_impls)
                };
                self.refuse(
                    token.span.start().line,
                    format!(
                        "this `unsafe impl` is refused: {} allows it only for {impls}",
                        self.rules.exercise
                    ),
                    vec!["unsafe".to_owned(), "impl".to_owned()],
                );
            }
        }
        syn::visit::visit_item_impl(self, item);
    }
}

impl Visitor<'_> {
    /// `<T>::f` is `T::f`; `<T as Trait>::f` is judged as `Trait::f` by `visit_path`.
    fn check_qualified(&mut self, qself: Option<&syn::QSelf>, path: &syn::Path) {
        let Some(qself) = qself else {
            return;
        };
        if qself.position != 0 {
            return;
        }
        if let syn::Type::Path(ty) = &*qself.ty {
            let mut joined = segments(&ty.path);
            joined.extend(segments(path));
            self.check_path(&joined, path.span().start().line);
        }
    }

    /// Constructs only the exercises that allow `unsafe` need refusing here: elsewhere rustc
    /// refuses every one of them under `forbid(unsafe_code)`, and pass 1 says so first.
    fn refuse_unsafe_item(&mut self, line: usize, what: &str) {
        if !self.rules.capabilities.allows_unsafe() {
            return;
        }
        self.refuse(
            line,
            format!(
                "{what} is refused: {} allows `unsafe` only around calls to {}",
                self.rules.exercise,
                backticked(&self.rules.capabilities.unsafe_calls)
            ),
            vec!["unsafe".to_owned()],
        );
    }
}
