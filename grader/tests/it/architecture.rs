//! The layering rule of ARCHITECTURE.md's invariants: no module imports, directly or through
//! others, a module that imports it. Read from the sources, the way a reviewer reads them: a
//! module `m` uses `n` when its text (comments and tests left out) names `crate::n`, or `n`
//! inside a `use crate::{...}` list.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::util::checkout;

/// Each top-level module of `src` (a file, or a folder with its submodules) and the modules of
/// the same crate it names.
fn imports(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = vec![src.to_path_buf()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).expect("the source folder lists") {
                files.push(entry.expect("an entry").path());
            }
            continue;
        }
        if path.extension().is_none_or(|ext| ext != "rs") {
            continue;
        }
        let relative = path.strip_prefix(src).expect("under src");
        let module = relative
            .components()
            .next()
            .expect("a file name")
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        if module == "lib" || module == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("a source file reads");
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let named = graph.entry(module.clone()).or_default();
        for line in code
            .lines()
            .map(|line| line.split("//").next().unwrap_or_default())
        {
            for (at, _) in line.match_indices("crate::") {
                let rest = &line[at + "crate::".len()..];
                if let Some(list) = rest.strip_prefix('{') {
                    for item in list.split([',', '}']) {
                        named.insert(
                            item.trim()
                                .split("::")
                                .next()
                                .unwrap_or_default()
                                .to_owned(),
                        );
                    }
                } else {
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    named.insert(name);
                }
            }
        }
        named.remove(&module);
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for named in graph.values_mut() {
        named.retain(|name| modules.contains(name));
    }
    graph
}

/// A cycle of `graph`, as the modules along it, if there is one.
fn a_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    // Depth first; a module met again while still on the path closes a cycle.
    fn visit(
        module: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|on_path| on_path == module) {
            let mut cycle = path[start..].to_vec();
            cycle.push(module.to_owned());
            return Some(cycle);
        }
        if done.contains(module) {
            return None;
        }
        path.push(module.to_owned());
        for next in &graph[module] {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(module.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|module| visit(module, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_module_imports_one_that_imports_it() {
    for crate_src in ["grader/src", "xtask/src"] {
        let graph = imports(&checkout().join(crate_src));
        assert!(graph.len() > 5, "{crate_src} has its modules: {graph:?}");
        if let Some(cycle) = a_cycle(&graph) {
            panic!(
                "{crate_src} has an import cycle: {}. Move what both need into a module below \
                 them (ARCHITECTURE.md, Invariants)",
                cycle.join(" → ")
            );
        }
    }
}

#[test]
fn a_cycle_is_found_and_named() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("catalog", vec!["suite"]),
        ("suite", vec!["verdict"]),
        ("verdict", vec!["catalog"]),
        ("workspace", vec![]),
    ]
    .into_iter()
    .map(|(module, named)| {
        (
            module.to_owned(),
            named.into_iter().map(str::to_owned).collect(),
        )
    })
    .collect();
    assert_eq!(
        a_cycle(&graph).expect("a cycle").join(" → "),
        "catalog → suite → verdict → catalog"
    );
    let mut layered = graph.clone();
    layered.get_mut("verdict").expect("verdict").clear();
    assert_eq!(a_cycle(&layered), None);
}

/// ARCHITECTURE.md's codemap names every module of the trees it maps, and every path the
/// document names exists: a module added, renamed or removed without the map fails here.
#[test]
fn the_codemap_names_every_module_and_only_paths_that_exist() {
    let architecture =
        std::fs::read_to_string(checkout().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let codemap = architecture
        .split("## Codemap")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("ARCHITECTURE.md has a Codemap section");
    let mut unnamed = Vec::new();
    for tree in [
        "grader/src",
        "grader/harness/src",
        "xtask/src",
        "grader/tests/it",
        "xtask/tests/it",
        "book/figures/src",
    ] {
        for entry in std::fs::read_dir(checkout().join(tree)).expect("the tree lists") {
            let file_name = entry.expect("an entry").file_name();
            let file_name = file_name.to_string_lossy();
            let module = file_name.trim_end_matches(".rs");
            if ["lib", "main", "snapshots"].contains(&module) {
                continue;
            }
            if !codemap.contains(&format!("`{module}`"))
                && !codemap.contains(&format!("`{module}.rs`"))
                && !codemap.contains(&format!("{module}/"))
                && !codemap.contains(&format!("{module}.rs"))
                && !codemap.contains(&format!("`{module} "))
                && !codemap.contains(&format!("`{module}::"))
            {
                unnamed.push(format!("{tree}/{file_name}"));
            }
        }
    }
    assert!(
        unnamed.is_empty(),
        "ARCHITECTURE.md's codemap does not name {unnamed:?}: say in a few words what each is for"
    );

    let mut absent = Vec::new();
    for quoted in architecture.split('`').skip(1).step_by(2) {
        let is_path = [
            "grader/",
            "xtask/",
            "book/",
            "exercises/",
            "solutions/",
            ".ci/",
            ".github/",
        ]
        .iter()
        .any(|root| quoted.starts_with(root));
        let is_pattern = ["NN", "*", "<", " ", "…", "..."]
            .iter()
            .any(|mark| quoted.contains(mark));
        if is_path && !is_pattern && !checkout().join(quoted).exists() {
            absent.push(quoted.to_owned());
        }
    }
    assert!(
        absent.is_empty(),
        "ARCHITECTURE.md names paths that do not exist: {absent:?}"
    );
}
