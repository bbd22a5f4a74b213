//! The binary's two halves stay apart: what starts and runs a node
//! (`src/node/`) never uses the client commands (`src/client/`), and the
//! client commands never reach into the node's start-up code.

use std::path::Path;

fn sources(dir: &str) -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(dir);
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(out.len() > 1, "no sources in {}", dir.display());
    out
}

/// Lines of code (not comments) in `text` that name `path`.
fn uses<'a>(text: &'a str, path: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .filter(|l| l.contains(path))
        .collect()
}

#[test]
fn the_node_and_the_client_commands_do_not_import_each_other() {
    for (file, text) in sources("node") {
        let found = uses(&text, "crate::client");
        assert!(
            found.is_empty(),
            "{file} uses the client commands: {found:?}"
        );
    }
    for (file, text) in sources("client") {
        let found = uses(&text, "crate::node");
        assert!(
            found.is_empty(),
            "{file} uses the node's start-up: {found:?}"
        );
    }
    // The check sees an import when there is one.
    assert_eq!(
        uses(
            "use crate::client::roles;\n// crate::client",
            "crate::client"
        )
        .len(),
        1
    );
}
