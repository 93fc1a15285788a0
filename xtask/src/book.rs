//! `cargo xtask book`: build the mdBook, run its code, and check that no internal link is dead.
//!
//! mdbook is installed at a pinned version into `target/tools/` the first time it is needed, so
//! a fresh clone needs nothing but cargo, and nothing is written outside `target/`. With
//! `--figures` the figures are measured again on this machine first. `--open NN` is the
//! learner's way in: it builds the book only if a source changed since the last build, then
//! opens the exercise's chapter in the browser, or prints its path where there is none.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::render::{paint, BAD, BOLD, GOOD};
use grader::catalog::Exercise;

/// The mdbook release the book is written for. Newer 0.4 releases would do; the pin makes
/// every machine build the same book, and 0.5 changed the preprocessor interface.
pub const MDBOOK_VERSION: &str = "0.4.48";

#[derive(clap::Args)]
pub struct Flags {
    /// Measure this machine again and redraw the figures in book/src/figures/ (about a minute)
    #[arg(long)]
    figures: bool,
    /// Build only; skip `mdbook test` and the link check
    #[arg(long)]
    no_test: bool,
    /// Open this exercise's chapter (building the book first if it is missing or out of date)
    #[arg(long, value_name = "EXERCISE", conflicts_with_all = ["figures", "no_test"])]
    open: Option<String>,
}

/// Where mdbook puts the chapter `chapter` (`exercises/01_race_counter.md`) of the book.
pub fn built_chapter(root: &Path, chapter: &str) -> PathBuf {
    root.join("target")
        .join("book")
        .join(Path::new(chapter).with_extension("html"))
}

impl Flags {
    pub fn run(&self) -> Result<crate::Exit> {
        let workspace = crate::workspace()?;
        let root = workspace.root();
        if let Some(wanted) = &self.open {
            let catalog = crate::catalog(&workspace)?;
            let exercise = catalog.find(wanted)?;
            return open_chapter(root, exercise);
        }
        if self.figures {
            step("Measuring this machine and redrawing the figures");
            cargo(root)
                .args(["run", "--release", "--quiet", "--package", "figures"])
                .status_ok("cargo run --package figures")?;
        }
        let mdbook = ensure_mdbook(root)?;
        let book_dir = root.join("book");
        step("Building the book");
        Command::new(&mdbook)
            .arg("build")
            .arg(&book_dir)
            .status_ok("mdbook build")?;
        if self.no_test {
            anstream::println!("{}", paint(GOOD, "Book built in target/book/"));
            return Ok(crate::Exit::Passed);
        }
        step("Running the book's code with mdbook test");
        // rustdoc writes each snippet's test program under TMPDIR; keep it inside target/.
        let temporary = root.join("target").join("tmp").join("mdbook-test");
        std::fs::create_dir_all(&temporary)
            .with_context(|| format!("cannot create {}", temporary.display()))?;
        Command::new(&mdbook)
            .arg("test")
            .arg(&book_dir)
            .env("TMPDIR", &temporary)
            .status_ok("mdbook test")?;
        step("Checking every internal link of the built book");
        let dead = dead_links(&root.join("target").join("book"))?;
        if !dead.is_empty() {
            anstream::eprintln!("{}", paint(BAD, "Dead internal links:"));
            for link in &dead {
                anstream::eprintln!("  {link}");
            }
            anstream::eprintln!(
                "Fix each link in book/src/, or add the page it points to to book/src/SUMMARY.md"
            );
            return Ok(crate::Exit::Failed);
        }
        anstream::println!(
            "{}",
            paint(
                GOOD,
                "Book built in target/book/, its code passes, no dead links"
            )
        );
        Ok(crate::Exit::Passed)
    }
}

fn open_chapter(root: &Path, exercise: &Exercise) -> Result<crate::Exit> {
    let chapter = built_chapter(root, &exercise.meta.chapter);
    if !is_newer_than_sources(&chapter, &root.join("book"))? {
        let mdbook = ensure_mdbook(root)?;
        step("Building the book (only its sources changed since the last build are redone)");
        Command::new(&mdbook)
            .arg("build")
            .arg(root.join("book"))
            .status_ok("mdbook build")?;
    }
    if !chapter.is_file() {
        bail!(
            "the book built, but without {}; is {} listed in book/src/SUMMARY.md?",
            chapter.display(),
            exercise.meta.chapter
        );
    }
    match browser() {
        Some(mut opener) => {
            // Not waited for: a browser may stay in the foreground for as long as it is open.
            opener
                .arg(&chapter)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .with_context(|| format!("cannot start a browser for {}", chapter.display()))?;
            anstream::println!("Opening {} in your browser", chapter.display());
        }
        None => anstream::println!(
            "No browser here; open this file in one:\n  {}",
            chapter.display()
        ),
    }
    Ok(crate::Exit::Passed)
}

/// The command that opens a file in the learner's browser, when there is a browser to open:
/// `$BROWSER` if set, else the desktop's opener where a desktop session runs. Over SSH or in a
/// container there is none, and printing the path beats starting a text browser by surprise.
fn browser() -> Option<Command> {
    if let Some(browser) = std::env::var_os("BROWSER").filter(|b| !b.is_empty()) {
        return Some(Command::new(browser));
    }
    if cfg!(target_os = "macos") {
        return Some(Command::new("open"));
    }
    let desktop = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()));
    let opener = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("xdg-open"))
            .find(|path| path.is_file())
    });
    opener.filter(|_| desktop).map(Command::new)
}

/// Whether `built` exists and is newer than every file under `sources`.
fn is_newer_than_sources(built: &Path, sources: &Path) -> Result<bool> {
    let Ok(built_at) = std::fs::metadata(built).and_then(|m| m.modified()) else {
        return Ok(false);
    };
    let mut folders = vec![sources.to_owned()];
    while let Some(folder) = folders.pop() {
        let entries = std::fs::read_dir(&folder)
            .with_context(|| format!("cannot list {}", folder.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|modified| modified > built_at)
            {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

fn step(what: &str) {
    anstream::println!("{}", paint(BOLD, what));
}

fn cargo(root: &Path) -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root);
    command
}

trait StatusOk {
    /// Runs the command and turns anything but exit code 0 into an error naming `what`.
    fn status_ok(&mut self, what: &str) -> Result<()>;
}

impl StatusOk for Command {
    fn status_ok(&mut self, what: &str) -> Result<()> {
        let status = self
            .status()
            .with_context(|| format!("cannot start {what}"))?;
        if !status.success() {
            bail!("{what} failed ({status}); its output above says why");
        }
        Ok(())
    }
}

/// The pinned mdbook, installed into `target/tools/bin/` first if it is missing there.
pub fn ensure_mdbook(root: &Path) -> Result<PathBuf> {
    let tools = root.join("target").join("tools");
    let mdbook = tools.join("bin").join("mdbook");
    let wanted = format!("mdbook v{MDBOOK_VERSION}");
    let installed = Command::new(&mdbook)
        .arg("--version")
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim() == wanted)
        .unwrap_or(false);
    if installed {
        return Ok(mdbook);
    }
    step(&format!(
        "Installing {wanted} into target/tools/ (once; a few minutes on two cores)"
    ));
    // Only the search feature: the web server and file watcher would double the build time
    // and the book is read from target/book/ as files.
    cargo(root)
        .args(["install", "--locked", "--version", MDBOOK_VERSION])
        .args(["--no-default-features", "--features", "search"])
        .arg("--root")
        .arg(&tools)
        .arg("--target-dir")
        .arg(tools.join("build"))
        .arg("mdbook")
        .status_ok("cargo install mdbook (it needs to reach crates.io once)")?;
    Ok(mdbook)
}

/// Every `href` and `src` in the built book's HTML that points inside the book at a file, or
/// at an `id` in a file, that is not there, as `page: target`.
pub fn dead_links(built: &Path) -> Result<Vec<String>> {
    let mut pages = Vec::new();
    collect_html(built, &mut pages)?;
    let mut ids: HashMap<PathBuf, BTreeSet<String>> = HashMap::new();
    let mut dead = Vec::new();
    for page in &pages {
        let html = std::fs::read_to_string(page)
            .with_context(|| format!("cannot read {}", page.display()))?;
        for target in attribute_values(&html, &["href", "src"]) {
            if is_external(&target) {
                continue;
            }
            let (path, fragment) = target.split_once('#').unwrap_or((target.as_str(), ""));
            let path = path.split('?').next().unwrap_or_default();
            let file = if path.is_empty() {
                page.clone()
            } else {
                let joined = page.parent().unwrap_or(built).join(path);
                if joined.is_dir() {
                    joined.join("index.html")
                } else {
                    joined
                }
            };
            let shown = page.strip_prefix(built).unwrap_or(page).display();
            if !file.is_file() {
                dead.push(format!("{shown}: {target} (no such file)"));
                continue;
            }
            if fragment.is_empty()
                || file
                    .extension()
                    .map_or(true, |extension| extension != "html")
            {
                continue;
            }
            let known = match ids.get(&file) {
                Some(known) => known,
                None => {
                    let html = std::fs::read_to_string(&file)
                        .with_context(|| format!("cannot read {}", file.display()))?;
                    ids.entry(file.clone())
                        .or_insert_with(|| attribute_values(&html, &["id", "name"]).collect())
                }
            };
            if !known.contains(fragment) {
                dead.push(format!("{shown}: {target} (no such heading or anchor)"));
            }
        }
    }
    dead.sort();
    dead.dedup();
    Ok(dead)
}

fn collect_html(folder: &Path, pages: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(folder).with_context(|| {
        format!(
            "cannot list {}; build the book first with `cargo xtask book`",
            folder.display()
        )
    })?;
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            collect_html(&path, pages)?;
        } else if path
            .extension()
            .is_some_and(|extension| extension == "html")
        {
            pages.push(path);
        }
    }
    Ok(())
}

/// Links that leave the book, or that are no file at all, are not ours to check. Absolute
/// paths depend on where the book is served (404.html's `<base href="/">` is one) and are left
/// alone too; every link mdbook makes between pages is relative.
fn is_external(target: &str) -> bool {
    target.contains("://")
        || target.starts_with('/')
        || target.starts_with("mailto:")
        || target.starts_with("javascript:")
        || target.starts_with("data:")
        || target.contains("{{")
}

/// The values of `name="..."` attributes for every name in `names`. The HTML comes from
/// mdbook, which always quotes attributes with double quotes.
fn attribute_values<'html>(
    html: &'html str,
    names: &'html [&'html str],
) -> impl Iterator<Item = String> + 'html {
    names.iter().flat_map(move |name| {
        let needle = format!(" {name}=\"");
        html.match_indices(&needle)
            .filter_map(|(at, needle)| {
                let value = &html[at + needle.len()..];
                value.find('"').map(|end| value[..end].to_string())
            })
            .collect::<Vec<_>>()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_book_is_rebuilt_for_open_only_when_a_source_is_newer_than_the_chapter() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/tmp/open-test");
        let _ = std::fs::remove_dir_all(&root);
        let chapter = built_chapter(&root, "exercises/01_race_counter.md");
        assert!(chapter.ends_with("target/book/exercises/01_race_counter.html"));
        let source = root.join("book/src/exercises/01_race_counter.md");
        std::fs::create_dir_all(source.parent().unwrap()).unwrap();
        std::fs::write(&source, "# 01").unwrap();
        assert!(
            !is_newer_than_sources(&chapter, &root.join("book")).unwrap(),
            "a book never built is built"
        );
        std::fs::create_dir_all(chapter.parent().unwrap()).unwrap();
        std::fs::write(&chapter, "<html>").unwrap();
        let at = |seconds| std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds);
        let touch = |path: &Path, seconds| {
            let file = std::fs::File::options().write(true).open(path).unwrap();
            file.set_modified(at(seconds)).unwrap();
        };
        touch(&source, 1_000);
        touch(&chapter, 2_000);
        assert!(is_newer_than_sources(&chapter, &root.join("book")).unwrap());
        touch(&source, 3_000);
        assert!(
            !is_newer_than_sources(&chapter, &root.join("book")).unwrap(),
            "an edited source means a rebuild"
        );
    }

    #[test]
    fn a_link_to_a_missing_page_or_heading_is_dead_and_the_rest_are_not() {
        // Inside target/, like everything the project's tests write.
        let built = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/tmp/dead-links-test");
        let _ = std::fs::remove_dir_all(&built);
        let page = |name: &str, html: &str| {
            let path = built.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, html).unwrap();
        };
        page(
            "index.html",
            r##"<a href="concepts/amdahl.html#the-law">ok</a> <a href="missing.html">dead</a>
               <a href="concepts/amdahl.html#nowhere">dead</a> <a href="https://example.org/x">out</a>
               <img src="figures/speedup.svg"> <a href="#top">ok</a> <h1 id="top">t</h1>"##,
        );
        page(
            "concepts/amdahl.html",
            r#"<h2 id="the-law">law</h2><a href="../index.html">up</a>"#,
        );
        page("figures/speedup.svg", "<svg/>");
        let dead = dead_links(&built).expect("the check runs");
        assert_eq!(
            dead,
            [
                "index.html: concepts/amdahl.html#nowhere (no such heading or anchor)",
                "index.html: missing.html (no such file)",
            ],
            "exactly the missing page and the missing heading are dead links"
        );
    }
}
