//! The folders inside `src/convert/` depend on each other in one direction only:
//!
//! ```text
//! openai_chat, anthropic, responses, gemini_native → gemini → (convert's own mod.rs)
//! ```
//!
//! - A dialect folder builds on the shared Gemini core and never on another dialect's folder: what two
//!   dialects share moves down into `gemini/`.
//! - `gemini/` knows no dialect.
//! - No two files inside `convert/` import each other, directly or around a circle.
//!
//! This test reads `src/convert/**/*.rs` and resolves every `crate::convert::…` path (and `super::…`
//! path inside the `schema` folder) to the file it names.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const DIALECTS: [&str; 4] = ["openai_chat", "anthropic", "responses", "gemini_native"];

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

fn convert_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/convert")
}

/// A file's module path inside `convert` (`anthropic/request.rs` → `anthropic::request`,
/// `gemini/schema/mod.rs` → `gemini::schema`, `mod.rs` → ``). Test files included with `#[path]`
/// belong to the file they test (`anthropic/request_tests.rs` → `anthropic::request`).
fn module_of(file: &Path) -> String {
    let rel = file.strip_prefix(convert_dir()).unwrap();
    let mut segments: Vec<String> = rel
        .iter()
        .map(|s| s.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if segments.last().is_some_and(|s| s == "mod") {
        segments.pop();
    }
    if let Some(last) = segments.last_mut() {
        if let Some(tested) = last.strip_suffix("_tests") {
            *last = tested.to_string();
        }
    }
    segments.join("::")
}

fn ident_at(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// Every module path named after `crate::convert::`, e.g. `gemini::parts::InlineImage` gives
/// `gemini::parts::InlineImage`; groups (`{a::x, b}`) are expanded one level deep.
fn convert_paths(text: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for (pos, _) in text.match_indices("crate::convert::") {
        let mut rest = &text[pos + "crate::convert::".len()..];
        let mut prefix = String::new();
        loop {
            let ident = ident_at(rest);
            if ident.is_empty() {
                break;
            }
            prefix.push_str(&ident);
            rest = &rest[ident.len()..];
            match rest.strip_prefix("::") {
                Some(after) if after.starts_with('{') => {
                    let group = &after[1..after.find('}').unwrap_or(after.len())];
                    for item in group.split(',') {
                        let item = ident_at(item.trim());
                        if !item.is_empty() {
                            paths.push(format!("{prefix}::{item}"));
                        }
                    }
                    break;
                }
                Some(after) => {
                    prefix.push_str("::");
                    rest = after;
                }
                None => break,
            }
        }
        if !prefix.is_empty() && !prefix.ends_with("::") {
            paths.push(prefix);
        }
    }
    paths
}

/// The longest known module a path starts with (items and submodules resolve to their file).
fn resolve(path: &str, modules: &BTreeSet<String>) -> Option<String> {
    let segments: Vec<&str> = path.split("::").collect();
    (1..=segments.len())
        .rev()
        .map(|n| segments[..n].join("::"))
        .find(|candidate| modules.contains(candidate))
}

fn file_graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&convert_dir(), &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let module = module_of(file);
        let text = fs::read_to_string(file).unwrap();
        let deps = graph.entry(module.clone()).or_default();
        for path in convert_paths(&text) {
            if let Some(target) = resolve(&path, &modules) {
                // A module naming its own children (`mod.rs` declaring them) is not a dependency.
                if target != module && !target.starts_with(&format!("{module}::")) {
                    deps.insert(target);
                }
            }
        }
    }
    graph
}

fn folder(module: &str) -> &str {
    module.split("::").next().unwrap_or("")
}

#[test]
fn the_tree_was_read() {
    let graph = file_graph();
    for module in [
        "gemini::parts",
        "openai_chat::request",
        "anthropic::request",
        "responses::request",
    ] {
        assert!(graph.contains_key(module), "{module} missing: {graph:?}");
    }
    assert!(
        graph["anthropic::request"].contains("gemini::tool_names"),
        "imports were not read: {:?}",
        graph["anthropic::request"]
    );
}

#[test]
fn no_dialect_imports_another_dialect() {
    let mut wrong = Vec::new();
    for (module, deps) in file_graph() {
        let from = folder(&module);
        if !DIALECTS.contains(&from) {
            continue;
        }
        for dep in deps {
            let to = folder(&dep);
            if DIALECTS.contains(&to) && to != from {
                wrong.push(format!("{module} → {dep}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "dialect folders must share through gemini/, not each other:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_gemini_core_knows_no_dialect() {
    let mut wrong = Vec::new();
    for (module, deps) in file_graph() {
        if folder(&module) != "gemini" {
            continue;
        }
        for dep in deps {
            if DIALECTS.contains(&folder(&dep)) {
                wrong.push(format!("{module} → {dep}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "gemini/ imports a dialect:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_import_circle_between_convert_files() {
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
    let graph = file_graph();
    let mut done = BTreeSet::new();
    let cycle = graph
        .keys()
        .find_map(|node| visit(node, &graph, &mut Vec::new(), &mut done));
    assert_eq!(cycle, None, "import circle inside convert/");
}
