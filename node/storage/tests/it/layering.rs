//! The crate's modules form no cycle, and the state tree's modules import
//! only the ones listed before them in `src/tree/mod.rs`: read bottom-up, no
//! file needs one above it. Reads the sources, so it also holds for `#[cfg(test)]`
//! code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The tree's layers, bottom first, as `src/tree/mod.rs` lists them.
const TREE_LAYERS: [&str; 8] = [
    "mem", "layout", "pairs", "codec", "walk", "recent", "db", "parallel",
];

type Graph = BTreeMap<String, BTreeSet<String>>;

fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("lib" | "mod")) {
        parts.pop();
    }
    std::iter::once("crate".to_string())
        .chain(parts)
        .collect::<Vec<_>>()
        .join("::")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        // `src/bin` holds binaries: they use the crate, they are not in it.
        if path.is_dir() && path.file_name().is_some_and(|n| n != "bin") {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Paths named in `text` after `crate::` or `super::` (a file's `super` is its
/// parent module; `super::*` in a test module names the file itself and is
/// skipped), resolved against `module`.
fn named_paths(module: &str, text: &str) -> Vec<String> {
    let parent = module.rsplit_once("::").map_or("crate", |(p, _)| p);
    let mut out = Vec::new();
    for (prefix, base) in [("crate::", "crate"), ("super::", parent)] {
        for (at, _) in text.match_indices(prefix) {
            let before = text[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let rest: String = text[at + prefix.len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            if !rest.is_empty() {
                out.push(format!("{base}::{}", rest.trim_end_matches(':')));
            }
        }
    }
    out
}

/// Edges from each module to the modules it names (the longest known module
/// a path starts with), leaving out itself and its ancestors.
fn graph(modules: &BTreeMap<String, String>) -> Graph {
    let mut graph = Graph::new();
    for (module, text) in modules {
        let edges = graph.entry(module.clone()).or_default();
        for path in named_paths(module, text) {
            let target = modules
                .keys()
                .filter(|m| path == **m || path.starts_with(&format!("{m}::")))
                .max_by_key(|m| m.len());
            if let Some(target) = target
                && target != module
                && !module.starts_with(&format!("{target}::"))
            {
                edges.insert(target.clone());
            }
        }
    }
    graph
}

/// A cycle in `graph`, if there is one (depth-first search).
fn cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(n: &str, g: &Graph, path: &mut Vec<String>, done: &mut BTreeSet<String>) -> bool {
        if let Some(at) = path.iter().position(|p| p == n) {
            path.drain(..at);
            return true;
        }
        if done.contains(n) {
            return false;
        }
        path.push(n.to_string());
        for next in g.get(n).into_iter().flatten() {
            if visit(next, g, path, done) {
                return true;
            }
        }
        path.pop();
        done.insert(n.to_string());
        false
    }
    let mut done = BTreeSet::new();
    for start in graph.keys() {
        let mut path = Vec::new();
        if visit(start, graph, &mut path, &mut done) {
            return Some(path);
        }
    }
    None
}

fn crate_modules() -> BTreeMap<String, String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files
        .iter()
        .map(|f| (module_of(&src, f), std::fs::read_to_string(f).unwrap()))
        .collect()
}

#[test]
fn the_crates_modules_form_no_cycle_and_the_tree_reads_bottom_up() {
    let modules = crate_modules();
    for layer in TREE_LAYERS {
        assert!(
            modules.contains_key(&format!("crate::tree::{layer}")),
            "no module tree::{layer}"
        );
    }
    let graph = graph(&modules);
    assert_eq!(cycle(&graph), None, "a cycle among the modules");
    for (i, layer) in TREE_LAYERS.iter().enumerate() {
        let allowed: BTreeSet<String> = TREE_LAYERS[..i]
            .iter()
            .map(|l| format!("crate::tree::{l}"))
            .collect();
        for target in &graph[&format!("crate::tree::{layer}")] {
            assert!(
                !target.starts_with("crate::tree::") || allowed.contains(target),
                "tree::{layer} imports {target}, which is not below it"
            );
            assert!(
                !["crate::store", "crate::snapshot"].contains(&target.as_str()),
                "tree::{layer} imports the store above it"
            );
        }
    }
}

/// The checker itself finds a cycle when there is one: the old layout, where
/// the codec took constants from the parallel writer that encodes with it.
#[test]
fn the_checker_sees_a_cycle_through_super_and_crate_paths() {
    let modules: BTreeMap<String, String> = [
        ("crate::tree::codec", "use super::parallel::NIBBLES;"),
        (
            "crate::tree::parallel",
            "use crate::tree::codec::encode_node;",
        ),
        ("crate::tree", "pub(crate) mod codec;"),
    ]
    .into_iter()
    .map(|(m, t)| (m.to_string(), t.to_string()))
    .collect();
    let found = cycle(&graph(&modules)).expect("a cycle");
    assert_eq!(found, ["crate::tree::codec", "crate::tree::parallel"]);
}
