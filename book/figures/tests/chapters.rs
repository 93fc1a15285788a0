//! Every exercise chapter agrees with its exercise's metadata, so the book cannot drift from
//! what the grader does: the table of hidden tests lists every test of `exercise.toml`, in
//! order, with its points, and the "Your task" box names the right file and commands.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Exercise {
    dir_name: String,
    chapter: String,
    /// (test name, points), in the order `exercise.toml` lists them.
    tests: Vec<(String, i64)>,
}

fn exercises() -> Vec<Exercise> {
    let mut exercises = Vec::new();
    for entry in std::fs::read_dir(root().join("grader/hidden")).expect("grader/hidden exists") {
        let dir = entry.expect("a readable folder entry").path();
        let Ok(text) = std::fs::read_to_string(dir.join("exercise.toml")) else {
            continue;
        };
        let meta: toml::Table = text.parse().expect("exercise.toml parses");
        let tests = meta["tests"]
            .as_array()
            .expect("[[tests]] is a list")
            .iter()
            .map(|test| {
                (
                    test["name"].as_str().expect("a test has a name").to_owned(),
                    test["points"].as_integer().expect("a test has points"),
                )
            })
            .collect();
        exercises.push(Exercise {
            dir_name: dir.file_name().unwrap().to_string_lossy().into_owned(),
            chapter: meta["chapter"].as_str().expect("a chapter").to_owned(),
            tests,
        });
    }
    exercises.sort_by(|a, b| a.dir_name.cmp(&b.dir_name));
    assert!(
        !exercises.is_empty(),
        "no exercise found under grader/hidden"
    );
    exercises
}

fn chapter_text(exercise: &Exercise) -> String {
    std::fs::read_to_string(root().join("book/src").join(&exercise.chapter))
        .unwrap_or_else(|_| panic!("{} has no chapter {}", exercise.dir_name, exercise.chapter))
}

#[test]
fn every_chapter_lists_every_hidden_test_with_its_points() {
    for exercise in exercises() {
        let text = chapter_text(&exercise);
        let listed: Vec<(String, i64)> = text
            .lines()
            .skip_while(|line| *line != "| test | points | what it proves |")
            .skip(2)
            .take_while(|line| line.starts_with("| `"))
            .map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let name = cells[1].trim_matches('`').to_owned();
                let points = cells[2].parse().unwrap_or_else(|_| {
                    panic!(
                        "{}: `{}` has no number of points",
                        exercise.chapter, cells[2]
                    )
                });
                (name, points)
            })
            .collect();
        assert_eq!(
            listed, exercise.tests,
            "{}: the table of hidden tests must list exercise.toml's tests, in order, with their \
             points",
            exercise.chapter
        );
    }
}

#[test]
fn every_chapter_opens_with_a_your_task_box() {
    for exercise in exercises() {
        let text = chapter_text(&exercise);
        let number = &exercise.dir_name[..2];
        let box_start = text
            .find("> **Your task**")
            .unwrap_or_else(|| panic!("{} has no \"Your task\" box", exercise.chapter));
        let first_section = text.find("\n## ").unwrap_or(text.len());
        assert!(
            box_start < first_section,
            "{}: the box comes before the first section",
            exercise.chapter
        );
        let task_box: String = text[box_start..]
            .lines()
            .take_while(|line| line.starts_with('>'))
            .collect::<Vec<_>>()
            .join("\n");
        for needed in [
            format!("exercises/{}/src/lib.rs", exercise.dir_name),
            format!("cargo xtask check {number}"),
            format!("cargo xtask hint {number}"),
            "cargo xtask watch".to_owned(),
            format!("cargo xtask reset {number}"),
            "crate::sync".to_owned(),
        ] {
            assert!(
                task_box.contains(&needed),
                "{}: the \"Your task\" box does not mention `{needed}`",
                exercise.chapter
            );
        }
    }
}
