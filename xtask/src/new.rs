//! `cargo xtask new NN name`: scaffolds a complete exercise from `xtask/templates/`.
//!
//! Every file an exercise needs in the four trees is written at once, from templates compiled
//! into xtask, and the book's `SUMMARY.md` gets its two lines. The result passes the course's
//! consistency rules (`grader::consistency`) before anyone edits it, so each later edit is
//! checked against a coherent starting point by `cargo xtask verify NN`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

#[derive(clap::Args)]
pub struct Flags {
    /// The exercise's number, e.g. `13`; it must not be taken
    number: u32,
    /// Its snake-case name, e.g. `work_stealing`; also the learner's package name
    name: String,
}

impl Flags {
    pub fn run(&self) -> Result<crate::Exit> {
        let workspace = crate::workspace()?;
        let written = scaffold(workspace.root(), self.number, &self.name)?;
        anstream::println!("Wrote exercise {:02}_{}:", self.number, self.name);
        for path in written {
            let shown = path.strip_prefix(workspace.root()).unwrap_or(&path);
            anstream::println!("  {}", shown.display());
        }
        anstream::println!(
            "\nIt is a working example: write the contract at the top of its chapter, then \
             replace the example file by file.\nRun `cargo xtask verify {:02}` after each step.",
            self.number
        );
        Ok(crate::Exit::Passed)
    }
}

/// Every template as (where it goes, its text); paths take the same placeholders as the text.
const TEMPLATES: [(&str, &str); 12] = [
    (
        "exercises/@dir@/Cargo.toml",
        include_str!("../templates/exercise/Cargo.toml.template"),
    ),
    (
        "exercises/@dir@/src/lib.rs",
        include_str!("../templates/exercise/lib.rs"),
    ),
    (
        "exercises/@dir@/src/sync.rs",
        include_str!("../templates/sync.rs"),
    ),
    (
        "exercises/@dir@/examples/@name@_demo.rs",
        include_str!("../templates/exercise/demo.rs"),
    ),
    (
        "solutions/@dir@/Cargo.toml",
        include_str!("../templates/solution/Cargo.toml.template"),
    ),
    (
        "solutions/@dir@/src/lib.rs",
        include_str!("../templates/solution/lib.rs"),
    ),
    (
        "solutions/@dir@/src/sync.rs",
        include_str!("../templates/sync.rs"),
    ),
    (
        "grader/hidden/@dir@/exercise.toml",
        include_str!("../templates/hidden/exercise.toml"),
    ),
    (
        "grader/hidden/@dir@/tests.rs",
        include_str!("../templates/hidden/tests.rs"),
    ),
    (
        "grader/hidden/@dir@/mutants/counts_twice.toml",
        include_str!("../templates/hidden/mutants/counts_twice.toml"),
    ),
    (
        "book/src/exercises/@dir@.md",
        include_str!("../templates/book/exercise.md"),
    ),
    (
        "book/src/solutions/@dir@.md",
        include_str!("../templates/book/solution.md"),
    ),
];

/// Writes exercise `number` called `name` into the checkout at `root` and links its pages from
/// `book/src/SUMMARY.md`; returns the files it wrote. Refuses to overwrite anything.
pub fn scaffold(root: &Path, number: u32, name: &str) -> Result<Vec<PathBuf>> {
    let valid_name = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid_name {
        bail!("`{name}` is not a snake-case name; use lowercase letters, digits and `_`, starting with a letter");
    }
    if !(1..=99).contains(&number) {
        bail!("exercise numbers run from 1 to 99; {number} is outside");
    }
    let nn = format!("{number:02}");
    let hidden = root.join("grader").join("hidden");
    let taken = std::fs::read_dir(&hidden)
        .with_context(|| format!("cannot list {}", hidden.display()))?
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .find(|folder| {
            folder
                .split_once('_')
                .is_some_and(|(number, taken)| number == nn || taken == name)
        });
    if let Some(folder) = taken {
        bail!("grader/hidden/{folder} already uses number {nn} or name `{name}`; pick another");
    }
    let title = name.replace('_', " ");
    let fill = |text: &str| {
        text.replace("@dir@", &format!("{nn}_{name}"))
            .replace("@NN@", &nn)
            .replace("@number@", &number.to_string())
            .replace("@name@", name)
            .replace("@title@", &title)
    };

    let summary_path = root.join("book").join("src").join("SUMMARY.md");
    let summary = std::fs::read_to_string(&summary_path)
        .with_context(|| format!("cannot read {}", summary_path.display()))?;
    let summary = link_pages(&summary, &nn, name, &title)?;

    let files: Vec<(PathBuf, String)> = TEMPLATES
        .iter()
        .map(|(target, text)| (root.join(fill(target)), fill(text)))
        .collect();
    // Checked before anything is written, so a refusal leaves the checkout as it was.
    if let Some((path, _)) = files.iter().find(|(path, _)| path.exists()) {
        bail!(
            "{} already exists; remove it or pick another number",
            path.display()
        );
    }
    let mut written = Vec::new();
    for (path, text) in files {
        let parent = path.parent().expect("every target is in a folder");
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    std::fs::write(&summary_path, summary)
        .with_context(|| format!("cannot write {}", summary_path.display()))?;
    written.push(summary_path);
    Ok(written)
}

/// `summary` with the chapter linked after the last exercise and the solution page after the
/// last solution, in the forms the existing lines use.
fn link_pages(summary: &str, nn: &str, name: &str, title: &str) -> Result<String> {
    let mut lines: Vec<String> = summary.lines().map(str::to_owned).collect();
    for (folder, line) in [
        (
            "exercises",
            format!("- [{nn} · {title}](exercises/{nn}_{name}.md)"),
        ),
        (
            "solutions",
            format!("  - [{nn} · {name}](solutions/{nn}_{name}.md)"),
        ),
    ] {
        let marker = format!("]({folder}/");
        let Some(last) = lines
            .iter()
            .rposition(|line| line.contains(&marker) && !line.contains("README.md"))
        else {
            bail!("book/src/SUMMARY.md links no page of {folder}/ to add this one after; add it by hand");
        };
        lines.insert(last + 1, line);
    }
    Ok(lines.join("\n") + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder with the few files `scaffold` and the consistency rules read, removed on drop.
    struct MinimalCheckout(PathBuf);

    impl MinimalCheckout {
        /// `tag` keeps the folders of tests running at once apart.
        fn new(tag: &str) -> MinimalCheckout {
            let root =
                std::env::temp_dir().join(format!("threadlings-new-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&root);
            let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
            std::fs::create_dir_all(root.join("grader/hidden")).expect("grader/hidden/");
            std::fs::create_dir_all(root.join("book/src")).expect("book/src/");
            for file in ["Cargo.lock", "book/src/SUMMARY.md"] {
                std::fs::copy(real.join(file), root.join(file)).expect("copy a checkout file");
            }
            MinimalCheckout(root)
        }
    }

    impl Drop for MinimalCheckout {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn a_new_exercise_keeps_every_consistency_rule() {
        if !Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../solutions")
            .is_dir()
        {
            eprintln!("skipped: `new` scaffolds a solution and its appendix page, which this edition has none of");
            return;
        }
        let checkout = MinimalCheckout::new("rules");
        scaffold(&checkout.0, 42, "work_stealing").expect("the exercise is scaffolded");
        let workspace = grader::workspace::Workspace::open(&checkout.0).expect("a checkout");
        let catalog = grader::catalog::Catalog::load(&workspace).expect("exercise.toml is valid");
        let exercise = catalog
            .find("42")
            .expect("the new exercise is in the catalog");
        assert_eq!(exercise.dir_name, "42_work_stealing");
        let findings = grader::consistency::check_exercise(&workspace, exercise);
        assert!(findings.len() >= 5, "the rules ran: {findings:?}");
        let broken: Vec<_> = findings.iter().filter(|f| f.problem.is_some()).collect();
        assert!(broken.is_empty(), "{broken:#?}");
        let example = checkout
            .0
            .join("exercises/42_work_stealing/examples/work_stealing_demo.rs");
        assert!(example.is_file(), "the demo is written");
        let unfilled: Vec<_> = walk(&checkout.0)
            .into_iter()
            .filter(|path| std::fs::read_to_string(path).is_ok_and(|text| text.contains('@')))
            .collect();
        assert!(unfilled.is_empty(), "placeholders left in {unfilled:?}");
    }

    #[test]
    fn a_taken_number_or_name_is_refused_and_nothing_is_written() {
        if !Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../solutions")
            .is_dir()
        {
            eprintln!("skipped: `new` scaffolds a solution and its appendix page, which this edition has none of");
            return;
        }
        let checkout = MinimalCheckout::new("taken");
        scaffold(&checkout.0, 42, "work_stealing").expect("the first one is written");
        let summary =
            std::fs::read_to_string(checkout.0.join("book/src/SUMMARY.md")).expect("read");
        let error = scaffold(&checkout.0, 42, "other").expect_err("42 is taken");
        assert!(
            error.to_string().contains("already uses number 42"),
            "{error}"
        );
        scaffold(&checkout.0, 43, "work_stealing").expect_err("the name is taken");
        scaffold(&checkout.0, 44, "Bad-Name").expect_err("not snake case");
        let after = std::fs::read_to_string(checkout.0.join("book/src/SUMMARY.md")).expect("read");
        assert_eq!(summary, after, "a refused scaffold leaves SUMMARY.md alone");
    }

    #[test]
    fn summary_lines_go_after_the_last_exercise_and_the_last_solution() {
        let summary = "# Exercises\n\n- [01 · A](exercises/01_a.md)\n\n# Appendix\n\n- [Solutions](solutions/README.md)\n  - [01 · a](solutions/01_a.md)\n\n# After\n";
        let linked = link_pages(summary, "02", "b", "b").expect("linked");
        assert_eq!(
            linked,
            "# Exercises\n\n- [01 · A](exercises/01_a.md)\n- [02 · b](exercises/02_b.md)\n\n# Appendix\n\n- [Solutions](solutions/README.md)\n  - [01 · a](solutions/01_a.md)\n  - [02 · b](solutions/02_b.md)\n\n# After\n"
        );
        assert!(link_pages("# Nothing\n", "02", "b", "b").is_err());
    }

    fn walk(folder: &Path) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(folder).expect("a folder lists").flatten() {
            let path = entry.path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else if path.extension().is_some_and(|e| e != "lock") {
                files.push(path);
            }
        }
        files
    }
}
