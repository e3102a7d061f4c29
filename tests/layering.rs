//! The crate's modules depend on each other in one direction only. The intended layering, from the
//! outside in (a module may use any module to its right, never one to its left; `LAYERS` below is
//! the list the test enforces):
//!
//! ```text
//! cli → startup → routes → enrolment → gateway → auth → state → actors, quota, shutdown → fleet
//!     → observe → store, upstream, compaction_seal → credentials → config, private_files → convert
//!     → logging, clock, allocator, key_id, json_size → error
//! ```
//!
//! - `routes` extract, authenticate and convert, then make one `gateway::serve` call (or
//!   `gateway::count_tokens`); `enrolment` holds the services that add credentials (a completed
//!   sign-in, environment variables), called by routes and start-up.
//! - `gateway` owns the request path (quota guard, retries, stream modes); `convert` is pure shaping
//!   (requests, dialects, fake-stream chunks, anti-truncation rules) and knows nothing of the gateway.
//! - `state` holds the actors' addresses; `auth` reads it, the gateway never is read by `auth`.
//! - `actors` own lifecycles and durable writes; what request workers read and tally without a
//!   message is published in named structures below them (`fleet`, `observe::trace_inbox`). From
//!   outside `actors/`, only an actor, its messages and its constructor or settings types are named
//!   (`ACTOR_FACES`), and a file of an actor's folder that is neither an actor nor its messages is
//!   used by that folder only.
//! - `credentials` is what a credential is (kinds, record, formats): the store persists it and
//!   `upstream` calls Google with it, neither defines it.
//! - `error` (the error table) depends on nothing in the crate.
//! - Inside `convert/`, each dialect's folder (`openai_chat`, `anthropic`, `responses`,
//!   `gemini_native`) builds on the shared core `gemini/` and never on another dialect; `gemini/`
//!   knows no dialect.
//!
//! The tests read `src/**/*.rs` and fail on a cycle between top-level modules, on an import circle
//! between any two files (`crate::`, `super::` and `self::` paths, doc comments included), on a
//! dependency pointing up the layers, and on shared state reached through `actors/`, naming what
//! they found.

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

/// The module path a file defines (`src/actors/credentials/messages.rs` → `actors::credentials::messages`,
/// `src/gateway/mod.rs` → `gateway`, `src/lib.rs` → the crate root, empty).
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap_or(file);
    let mut parts: Vec<String> = rel
        .components()
        .filter_map(|c| c.as_os_str().to_str().map(str::to_string))
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.strip_suffix(".rs").unwrap_or(&last).to_string();
        if !matches!(stem.as_str(), "mod" | "lib" | "main") {
            parts.push(stem);
        }
    }
    parts
}

/// The file's text without its unit tests: a `#[cfg(test)] mod tests` at the end of a file may import
/// anything (and its `super` is the file itself), so only the code the crate is built from counts.
fn without_tests(text: &str) -> &str {
    match text.find("#[cfg(test)]\nmod ") {
        Some(at) => &text[..at],
        None => text,
    }
}

/// Expands a path tail (`a::b::{c, d::e}`, `x as y`, `*`) into its paths, as segments.
fn expand(tail: &str) -> Vec<Vec<String>> {
    let mut prefix: Vec<String> = Vec::new();
    let mut rest = tail;
    loop {
        let rest_trimmed = rest.trim_start();
        if let Some(group) = rest_trimmed.strip_prefix('{') {
            let mut depth = 0usize;
            let mut items = Vec::new();
            let mut start = 0usize;
            let mut end = group.len();
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        end = i;
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        items.push(&group[start..i]);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            items.push(&group[start..end]);
            let mut out = Vec::new();
            for item in items.into_iter().filter(|i| !i.trim().is_empty()) {
                for tail in expand(item) {
                    let mut path = prefix.clone();
                    path.extend(tail.into_iter().filter(|s| s != "self"));
                    out.push(path);
                }
            }
            return out;
        }
        let ident = ident_at(rest_trimmed);
        if ident.is_empty() {
            return vec![prefix];
        }
        prefix.push(ident.clone());
        let after = &rest_trimmed[ident.len()..];
        match after.strip_prefix("::") {
            Some(next) => rest = next,
            None => return vec![prefix],
        }
    }
}

/// Every module path named in `text` by `crate::…`, `super::…` or `self::…`, made absolute for a file
/// defining `module` (`is_dir_module`: a `mod.rs`, whose `super` is one level higher than a file's).
fn named_paths(text: &str, module: &[String], is_dir_module: bool) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    for anchor in ["crate::", "super::", "self::"] {
        for (pos, _) in text.match_indices(anchor) {
            // Only a path's first segment: `foo::super::` is no path of ours, `a_crate::` no anchor.
            if pos > 0 && (bytes[pos - 1].is_ascii_alphanumeric() || bytes[pos - 1] == b'_') {
                continue;
            }
            if pos > 1 && &text[pos - 2..pos] == "::" {
                continue;
            }
            let mut base: Vec<String> = match anchor {
                "crate::" => Vec::new(),
                _ => module.to_vec(),
            };
            let mut tail = &text[pos + anchor.len()..];
            if anchor == "super::" {
                // `super` of a file module is its parent; of a `mod.rs`, the parent's parent.
                base.pop();
                if is_dir_module {
                    base.pop();
                }
                while let Some(next) = tail.strip_prefix("super::") {
                    base.pop();
                    tail = next;
                }
            }
            for path in expand(tail) {
                let mut full = base.clone();
                full.extend(path);
                out.push(full);
            }
        }
    }
    out
}

/// One node per file (its module path), one edge per module another file's code names.
fn file_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_path(&src, f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let module = module_path(&src, file);
        let is_dir_module = file.file_name().is_some_and(|n| n == "mod.rs");
        let text = fs::read_to_string(file).unwrap();
        let deps = graph.entry(module.join("::")).or_default();
        for path in named_paths(without_tests(&text), &module, is_dir_module) {
            // The deepest file the path reaches: `crate::a::b::Item` → the file of `a::b`.
            let target = (0..=path.len())
                .rev()
                .map(|n| &path[..n])
                .find(|prefix| modules.contains(*prefix));
            if let Some(target) = target {
                let name = target.join("::");
                // A file's own items, the crate root, and a module a file is nested in (a submodule
                // may use its parent's items: the parent owns it) are no dependency on another file.
                if !name.is_empty() && !module.starts_with(target) {
                    deps.insert(name);
                }
            }
        }
    }
    graph
}

/// The strongly connected groups of more than one file: each is an import circle.
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    let nodes: Vec<&String> = graph.keys().collect();
    let reach = |from: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(n) = stack.pop() {
            for next in graph.get(&n).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&String, BTreeSet<String>> =
        nodes.iter().map(|n| (*n, reach(n))).collect();
    let mut out: Vec<BTreeSet<String>> = Vec::new();
    for n in &nodes {
        if out.iter().any(|c| c.contains(*n)) {
            continue;
        }
        let group: BTreeSet<String> = nodes
            .iter()
            .filter(|m| reaches[*n].contains(**m) && reaches[*m].contains(*n))
            .map(|m| (*m).clone())
            .collect();
        if group.len() > 1 {
            out.push(group);
        }
    }
    out
}

/// Import circles tolerated for now, each the set of files on it (none today). The test fails on an
/// entry that no longer matches, so none outlives its circle.
const KNOWN_CIRCLES: &[&[&str]] = &[];

#[test]
fn no_file_of_src_is_on_an_import_circle() {
    let graph = file_graph();
    assert!(
        graph.contains_key("gateway::serve") && graph.contains_key("actors::credentials::messages"),
        "the source tree was not read: {:?}",
        graph.keys().collect::<Vec<_>>()
    );
    let found = circles(&graph);
    let known: Vec<BTreeSet<String>> = KNOWN_CIRCLES
        .iter()
        .map(|c| c.iter().map(|s| s.to_string()).collect())
        .collect();
    let unexpected: Vec<&BTreeSet<String>> = found.iter().filter(|c| !known.contains(c)).collect();
    let gone: Vec<&BTreeSet<String>> = known.iter().filter(|c| !found.contains(c)).collect();
    assert!(
        unexpected.is_empty(),
        "import circles between files of src/ (each file reaches every other of its group):\n{unexpected:#?}"
    );
    assert!(
        gone.is_empty(),
        "circles listed in KNOWN_CIRCLES no longer exist; remove them: {gone:#?}"
    );
}

/// The layers from the outside in; a module may use its own layer and any layer after it, never one
/// before it. Every top-level module of `src/` must be placed.
const LAYERS: &[&[&str]] = &[
    &["cli"],
    &["startup"],
    &["routes"],
    &["enrolment"],
    &["gateway"],
    &["auth"],
    &["state"],
    &["actors", "quota", "shutdown"],
    &["fleet"],
    &["observe"],
    &["store", "upstream", "compaction_seal"],
    &["credentials"],
    &["config", "private_files"],
    &["convert"],
    &["logging", "clock", "allocator", "key_id", "json_size"],
    &["error"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

#[test]
fn every_dependency_points_down_the_layers() {
    let graph = module_graph();
    let unplaced: Vec<&String> = graph.keys().filter(|m| layer_of(m).is_none()).collect();
    assert!(
        unplaced.is_empty(),
        "top-level modules missing from LAYERS in tests/layering.rs: {unplaced:?}"
    );
    let mut upward = Vec::new();
    for (from, deps) in &graph {
        for to in deps {
            match (layer_of(from), layer_of(to)) {
                (Some(a), Some(b)) if b < a => upward.push(format!("{from} → {to}")),
                _ => {}
            }
        }
    }
    assert!(
        upward.is_empty(),
        "dependencies pointing up the layers (routes → gateway → actors/upstream/store → convert → error):\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_file_graph_reads_relative_paths() {
    let module: Vec<String> = ["fleet", "view"].iter().map(|s| s.to_string()).collect();
    let paths = named_paths(
        "use super::{lease::Lease, status::*};\nuse crate::upstream::kind::Credential;\nx::super::y",
        &module,
        false,
    );
    let joined: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        joined,
        [
            "upstream::kind::Credential",
            "fleet::lease::Lease",
            "fleet::status",
        ]
    );
    let dir = named_paths("use super::x;", &["a".to_string(), "b".to_string()], true);
    assert_eq!(dir, [vec!["x".to_string()]]);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    graph.insert("a".into(), ["b".to_string()].into());
    graph.insert("b".into(), ["a".to_string(), "c".to_string()].into());
    graph.insert("c".into(), BTreeSet::new());
    assert_eq!(
        circles(&graph),
        [["a".to_string(), "b".to_string()]
            .into_iter()
            .collect::<BTreeSet<_>>()]
    );
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

/// The client dialects' folders inside `src/convert/`: each builds on the shared Gemini core
/// (`convert/gemini/`) and never on another dialect's folder, and the core knows no dialect, so what
/// two dialects share moves down into `gemini/`.
const DIALECTS: [&str; 4] = ["openai_chat", "anthropic", "responses", "gemini_native"];

/// The folder of `convert/` a file is in (`convert::anthropic::blocks` → `anthropic`).
fn convert_folder(module: &str) -> Option<&str> {
    let mut parts = module.split("::");
    match (parts.next(), parts.next(), parts.next()) {
        (Some("convert"), Some(folder), Some(_)) => Some(folder),
        _ => None,
    }
}

/// Imports between the folders of `convert/` that break the rule above.
fn wrong_convert_imports() -> Vec<String> {
    let graph = file_graph();
    assert!(
        graph
            .get("convert::anthropic::request")
            .is_some_and(|deps| deps.iter().any(|d| d.starts_with("convert::gemini::"))),
        "the convert folders were not read: {:?}",
        graph.get("convert::anthropic::request")
    );
    let mut wrong = Vec::new();
    for (module, deps) in &graph {
        let Some(from) = convert_folder(module) else {
            continue;
        };
        for dep in deps {
            let Some(to) = convert_folder(dep) else {
                continue;
            };
            let dialect_to_dialect =
                DIALECTS.contains(&from) && DIALECTS.contains(&to) && to != from;
            let core_to_dialect = from == "gemini" && DIALECTS.contains(&to);
            if dialect_to_dialect || core_to_dialect {
                wrong.push(format!("{module} → {dep}"));
            }
        }
    }
    wrong
}

#[test]
fn convert_dialects_share_only_through_the_gemini_core() {
    let wrong = wrong_convert_imports();
    assert!(
        wrong.is_empty(),
        "a dialect folder imports another dialect, or gemini/ imports a dialect:\n{}",
        wrong.join("\n")
    );
}

/// What code outside `src/actors/` may name in each actor's folder (or single-file actor), besides the
/// folder's `messages` module: the actors, their constructor and settings types, and the messages
/// (with their answers) an actor file declares beside its actor. Every name must be declared in a file
/// of the folder that implements `Actor`, or in its `messages.rs` (checked below), so the list cannot
/// open a door to anything else. State that request workers read or tally without a message does not
/// belong in `actors/`: it goes to a module of its own (`fleet/` for the credential fleet,
/// `observe/` for traces and counters) that the actors publish into.
const ACTOR_FACES: &[(&str, &[&str])] = &[
    ("config_actor", &["ConfigActor"]),
    (
        "credentials",
        &[
            "CredentialActor",
            "CredentialEnv",
            "CredentialSupervisor",
            "FindCredential",
        ],
    ),
    ("log_broadcaster", &["LogBroadcaster"]),
    ("oauth_flows", &["OAuthFlows"]),
    ("quota", &["KeyAdminActor", "QuotaActor"]),
    (
        "request_history",
        &[
            "RequestHistory",
            "TakeInbox",
            "RequestFilter",
            "ListRequests",
            "GetRequest",
            "TokenUsage",
            "KeyModelUsage",
            "FlushTokens",
        ],
    ),
    (
        "response_store",
        &[
            "ResponseStore",
            "Conversation",
            "SaveResponse",
            "LoadConversation",
            "LoadResponse",
            "ForgetOwner",
            "StoredSize",
            "key_owner",
        ],
    ),
    ("scout", &["CredentialScout", "OnChange"]),
    ("sessions", &["SessionGuard"]),
    ("storage", &["StorageActor"]),
];

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Whether a file defines an actor (`impl Actor for …`, also spelled `impl actix::Actor for`).
fn defines_actor(text: &str) -> bool {
    text.contains("impl Actor for ") || text.contains("impl actix::Actor for ")
}

/// The actor folder a module path is in (`actors::credentials::supervisor::dormant` → `credentials`,
/// `actors::response_store` → `response_store`).
fn actor_folder(module: &[String]) -> Option<&str> {
    match module {
        [first, folder, ..] if first == "actors" => Some(folder),
        _ => None,
    }
}

/// Every file of `src/` as (module path, is a `mod.rs`, text).
fn src_files() -> Vec<(Vec<String>, bool, String)> {
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files
        .iter()
        .map(|f| {
            let is_dir_module = f.file_name().is_some_and(|n| n == "mod.rs");
            (
                module_path(&src, f),
                is_dir_module,
                fs::read_to_string(f).unwrap(),
            )
        })
        .collect()
}

/// Whether `name` is declared as an item in `text` (`struct Name`, `fn name`, `type Name`, …).
fn declares(text: &str, name: &str) -> bool {
    ["struct", "enum", "type", "fn", "trait", "const", "static"]
        .iter()
        .any(|kw| {
            text.match_indices(&format!("{kw} {name}")).any(|(at, m)| {
                let next = text[at + m.len()..].chars().next();
                !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            })
        })
}

/// Paths named outside `src/actors/` that reach into an actor folder past its face.
fn imports_past_actor_faces() -> Vec<String> {
    let files = src_files();
    // The module paths of the actor files and `messages` modules, per folder.
    let open_modules: BTreeSet<Vec<String>> = files
        .iter()
        .filter(|(m, _, text)| {
            actor_folder(m).is_some()
                && (defines_actor(text) || m.last().is_some_and(|l| l == "messages"))
        })
        .map(|(m, _, _)| m.clone())
        .collect();
    let mut wrong = Vec::new();
    for (module, is_dir_module, text) in &files {
        if module.first().is_some_and(|m| m == "actors") {
            continue;
        }
        for path in named_paths(without_tests(text), module, *is_dir_module) {
            if path.first().is_none_or(|p| p != "actors") {
                continue;
            }
            let Some(folder) = actor_folder(&path) else {
                wrong.push(format!(
                    "{} names the actors module itself",
                    module.join("::")
                ));
                continue;
            };
            let face = ACTOR_FACES
                .iter()
                .find(|(f, _)| *f == folder)
                .map_or(&[][..], |(_, names)| *names);
            // Through the files that hold an actor (`credentials::supervisor::FindCredential`), down
            // to the item named; a `messages` module is open as a whole.
            let mut depth = 2;
            while depth < path.len() && open_modules.contains(&path[..=depth]) {
                if path[depth] == "messages" {
                    break;
                }
                depth += 1;
            }
            let allowed = match path.get(depth) {
                Some(segment) if segment == "messages" => true,
                Some(item) => face.contains(&item.as_str()),
                None => false,
            };
            if !allowed {
                wrong.push(format!(
                    "{} names crate::{}",
                    module.join("::"),
                    path.join("::")
                ));
            }
        }
    }
    wrong
}

#[test]
fn outside_actors_only_actors_and_their_messages_are_named() {
    let wrong = imports_past_actor_faces();
    assert!(
        wrong.is_empty(),
        "outside src/actors/, name only an actor, its messages and its constructor or settings types \
         (ACTOR_FACES in tests/layering.rs). State that request workers read or tally without a \
         message goes to a module of its own (fleet/, observe/, …) that the actor publishes into:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn actor_faces_name_actors_and_messages_only() {
    let files = src_files();
    let folders: BTreeSet<String> = files
        .iter()
        .filter_map(|(m, _, _)| actor_folder(m).map(str::to_string))
        .collect();
    assert!(
        folders.contains("credentials") && folders.contains("storage"),
        "the actor folders were not read: {folders:?}"
    );
    let mut wrong = Vec::new();
    for folder in &folders {
        if !ACTOR_FACES.iter().any(|(f, _)| f == folder) {
            wrong.push(format!(
                "{folder}: list its actors and messages in ACTOR_FACES"
            ));
        }
    }
    for (folder, names) in ACTOR_FACES {
        if !folders.contains(*folder) {
            wrong.push(format!(
                "{folder}: no such actor folder; remove it from ACTOR_FACES"
            ));
        }
        let open: Vec<&String> = files
            .iter()
            .filter(|(m, _, text)| {
                actor_folder(m) == Some(*folder)
                    && (defines_actor(text) || m.last().is_some_and(|l| l == "messages"))
            })
            .map(|(_, _, text)| text)
            .collect();
        for name in *names {
            if !open.iter().any(|text| declares(text, name)) {
                wrong.push(format!(
                    "{folder}::{name} is declared in no file of the folder that holds an actor or its messages"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn actor_folders_hold_actors_messages_and_private_helpers() {
    let files = src_files();
    let graph = file_graph();
    let mut wrong = Vec::new();
    for (module, is_dir_module, text) in &files {
        let Some(folder) = actor_folder(module) else {
            continue;
        };
        let own = module.join("::");
        let folder_root = format!("actors::{folder}");
        // An actor or its messages may be used from anywhere; a folder's `mod.rs` is its face, whose
        // names the tests above check.
        let is_messages = module.last().is_some_and(|l| l == "messages");
        let is_folder_root = module.len() == 2;
        if defines_actor(text) || is_messages || (is_folder_root && *is_dir_module) {
            continue;
        }
        if is_folder_root {
            wrong.push(format!(
                "{own}: a file directly in src/actors/ must hold an actor"
            ));
            continue;
        }
        let users: Vec<&String> = graph
            .iter()
            .filter(|(from, deps)| {
                deps.contains(&own)
                    && *from != &folder_root
                    && !from.starts_with(&format!("{folder_root}::"))
            })
            .map(|(from, _)| from)
            .collect();
        if !users.is_empty() {
            wrong.push(format!(
                "{own} is neither an actor nor its messages, yet used outside actors/{folder}/ by {users:?}: \
                 move it next to its readers (fleet/, observe/, …)"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
