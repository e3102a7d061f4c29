//! The crate's top-level modules depend on each other in one direction only. The intended layering,
//! from the outside in (a module may use any module to its right, never one to its left):
//!
//! ```text
//! cli → startup → routes → gateway → auth → state → actors → store, credential, upstream → convert
//!                                                           → config, logging, clock, error
//! ```
//!
//! - `routes` extract, authenticate and convert, then make one `gateway::serve` call.
//! - `gateway` owns the request path (quota guard, retries, stream modes); `convert` is pure shaping
//!   (requests, dialects, fake-stream chunks, anti-truncation rules) and knows nothing of the gateway.
//! - `state` holds the actors' addresses; `auth` reads it, the gateway never is read by `auth`.
//! - `error` (the error table) depends on nothing in the crate.
//!
//! This test reads `src/**/*.rs`, collects every `crate::<module>` path per top-level module and fails
//! on any cycle between them, naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`src/gateway/relay.rs` → `gateway`, `src/error.rs` → `error`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib" && name != "main").then(|| name.to_string())
}

fn ident_at(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// Every module named right after `crate::`, including inside `crate::{a::x, b}` groups.
fn crate_uses(text: &str) -> BTreeSet<String> {
    let mut uses = BTreeSet::new();
    for (pos, _) in text.match_indices("crate::") {
        let rest = &text[pos + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && !c.is_whitespace() => {
                        uses.insert(ident_at(&group[i..]));
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            uses.insert(ident_at(rest));
        }
    }
    uses.retain(|u| !u.is_empty());
    uses
}

fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let Some(module) = module_of(&src, &file) else {
            continue;
        };
        let text = fs::read_to_string(&file).unwrap();
        let deps = graph.entry(module.clone()).or_default();
        deps.extend(crate_uses(&text).into_iter().filter(|d| *d != module));
    }
    graph
}

/// A cycle as the list of modules on it, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn top_level_modules_have_no_import_cycle() {
    let graph = module_graph();
    assert!(
        graph.contains_key("gateway") && graph.contains_key("routes"),
        "the source tree was not read: {graph:?}"
    );
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "import cycle between top-level modules: {}\nfull graph: {graph:#?}",
            cycle.join(" → ")
        );
    }
}

#[test]
fn the_direction_is_the_documented_one() {
    let graph = module_graph();
    let uses = |from: &str, to: &str| graph.get(from).is_some_and(|d| d.contains(to));
    assert!(uses("routes", "gateway"));
    assert!(!uses("convert", "gateway"), "convert is pure shaping");
    assert!(
        !uses("auth", "gateway"),
        "auth reads state, not the gateway"
    );
    assert!(!uses("gateway", "routes"));
    assert!(
        graph.get("error").is_some_and(BTreeSet::is_empty),
        "the error table depends on nothing: {:?}",
        graph.get("error")
    );
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    graph.insert("a".into(), ["b".to_string()].into());
    graph.insert("b".into(), ["c".to_string()].into());
    graph.insert("c".into(), ["a".to_string()].into());
    assert_eq!(
        find_cycle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    graph.insert("c".into(), BTreeSet::new());
    assert_eq!(find_cycle(&graph), None);
    assert_eq!(
        crate_uses(
            "use crate::{gateway::serve, error::{ApiError, ErrorKind}};\nuse crate::state::X;"
        ),
        ["error", "gateway", "state"]
            .iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>()
    );
}
