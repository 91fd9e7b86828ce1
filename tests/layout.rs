//! The layout the design depends on: no import circle between the files of
//! a crate (file A using file B, B using A, directly or through others),
//! so each file can be read, tested and changed from the files below it.
//!
//! A file's imports are the module paths it names after `crate::` or
//! `super::` in its code (comments and its `#[cfg(test)]` module aside),
//! each taken as the longest prefix that is a module of the crate. A
//! parent naming its own children (`mod x;`, `pub use x::…`) is how Rust
//! declares them, not a use, and is not counted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every library crate's and the binary's sources.
const CRATES: [&str; 6] = [
    "core/src",
    "dataset/src",
    "sweep/src",
    "analyze/src",
    "cluster/src",
    "src",
];

/// Module path (`a::b`, "" for the crate root) → its file's code.
fn modules(src: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                parts.pop();
            }
            out.insert(
                parts.join("::"),
                code(&std::fs::read_to_string(&path).unwrap()),
            );
        }
    }
    out
}

/// A file's code without its comments and its test module.
fn code(text: &str) -> String {
    let text = text
        .find("#[cfg(test)]\nmod tests")
        .map_or(text, |i| &text[..i]);
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The identifier paths written after `prefix` in `code`, braces of a
/// grouped import expanded one level (`crate::{a, b::c}` gives `a`, `b::c`).
fn paths_after(code: &str, prefix: &str) -> Vec<String> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut out = Vec::new();
    for (at, _) in code.match_indices(prefix) {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &code[at + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            out.extend(group.split(',').map(|p| p.trim().to_owned()));
        } else {
            out.push(rest.chars().take_while(|&c| ident(c)).collect());
        }
    }
    out
}

/// Each module's imports of the crate's other modules.
fn imports(modules: &BTreeMap<String, String>) -> BTreeMap<&str, BTreeSet<&str>> {
    let longest = |base: &str, path: &str| -> Option<&str> {
        let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
        (1..=parts.len()).rev().find_map(|k| {
            let name = parts[..k].join("::");
            let full = if base.is_empty() {
                name
            } else {
                format!("{base}::{name}")
            };
            modules.get_key_value(&full).map(|(m, _)| m.as_str())
        })
    };
    modules
        .iter()
        .map(|(module, code)| {
            let parent = module.rsplit_once("::").map_or("", |(p, _)| p);
            let named = paths_after(code, "crate::")
                .into_iter()
                .map(|p| longest("", &p))
                .chain(
                    paths_after(code, "super::")
                        .into_iter()
                        .map(|p| longest(parent, &p).or(Some(parent))),
                )
                .flatten()
                // Itself, and its own children: those are its declarations
                // (all of the crate's, for the root).
                .filter(|&m| {
                    !module.is_empty() && m != module && !m.starts_with(&format!("{module}::"))
                });
            (module.as_str(), named.collect())
        })
        .collect()
}

/// A circle of `graph`, if it has one (depth-first search).
fn circle<'a>(graph: &BTreeMap<&'a str, BTreeSet<&'a str>>) -> Option<Vec<&'a str>> {
    fn visit<'a>(
        at: &'a str,
        graph: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<&'a str>> {
        if let Some(i) = path.iter().position(|&p| p == at) {
            let mut found = path[i..].to_vec();
            found.push(at);
            return Some(found);
        }
        if !done.insert(at) {
            return None;
        }
        path.push(at);
        for &next in &graph[at] {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|&start| visit(start, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_crate_has_an_import_circle_between_its_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for src in CRATES {
        let modules = modules(&root.join(src));
        assert!(modules.len() > 3, "{src}: its files were not found");
        let graph = imports(&modules);
        if let Some(found) = circle(&graph) {
            panic!("{src}: import circle {}", found.join(" -> "));
        }
    }
}

#[test]
fn a_circle_is_found() {
    let files = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(m, c)| (m.to_string(), code(c)))
            .collect()
    };
    let circular = files(&[
        ("", "mod a; mod b; mod c;"),
        ("a", "use crate::b::Thing;"),
        ("b", "use crate::{c::More, d};"),
        ("c", "fn f() { crate::a::g() }"),
    ]);
    assert_eq!(circle(&imports(&circular)), Some(vec!["a", "b", "c", "a"]));
    // Comments, the test module, parents declaring children and children
    // using their parent (through `super::`) are no circle.
    let fine = files(&[
        ("", "pub mod a; pub use a::x::Y;"),
        (
            "a",
            "pub mod x; pub use x::Y;\n// crate::b\n#[cfg(test)]\nmod tests { use crate::a::x; }",
        ),
        ("a::x", "use super::helper; use crate::b;"),
        ("b", ""),
    ]);
    assert_eq!(circle(&imports(&fine)), None);
}
