//! The shape of the code, checked so it stays: the library's modules import
//! one another as a tree (no cycles), and only the binary (main.rs and the
//! modules it declares) knows clap. A command is `run(&Layout, Options) ->
//! Report`; main maps argv to options and alone prints.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `mod NAME;` declarations at the top of a crate root.
fn declared_modules(root_file: &str) -> BTreeSet<String> {
    fs::read_to_string(src().join(root_file))
        .unwrap()
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("pub ").unwrap_or(l);
            l.strip_prefix("mod ")?
                .strip_suffix(';')
                .map(|m| m.trim().to_string())
        })
        .collect()
}

/// The top-level module a file under src/ belongs to.
fn top_module(file: &Path) -> String {
    let rel = file.strip_prefix(src()).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// Code without comments: a doc comment may name another module freely.
fn code_of(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::NAME` a text refers to, including inside `use crate::{a, b}`.
fn crate_references(code: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let tail = &rest[i + "crate::".len()..];
        if let Some(group) = tail.strip_prefix('{') {
            // use crate::{a::b, c}: the first segment of each item.
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name = ident(item.trim());
                if !name.is_empty() {
                    names.insert(name);
                }
            }
        } else {
            let name = ident(tail);
            if !name.is_empty() {
                names.insert(name);
            }
        }
        rest = tail;
    }
    names
}

fn library_graph() -> BTreeMap<String, BTreeSet<String>> {
    let library = declared_modules("lib.rs");
    let binary = declared_modules("main.rs");
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = library
        .iter()
        .map(|m| (m.clone(), BTreeSet::new()))
        .collect();
    for file in files {
        let module = top_module(&file);
        if !library.contains(&module) || binary.contains(&module) {
            continue;
        }
        let code = code_of(&fs::read_to_string(&file).unwrap());
        for target in crate_references(&code) {
            if target != module && library.contains(&target) {
                graph.get_mut(&module).unwrap().insert(target);
            }
        }
    }
    graph
}

/// A cycle through the graph, if there is one, as the modules along it.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|n| n == node) {
            let mut cycle = path[i..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in &graph[node] {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_module_graph_has_no_cycles() {
    let graph = library_graph();
    assert!(graph.len() > 5, "found too few modules: {graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "import cycle among src/ modules: {}\nfull graph: {graph:#?}",
            cycle.join(" -> ")
        );
    }
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(find_cycle(&graph).unwrap(), ["a", "b", "c", "a"]);
    assert_eq!(
        crate_references("use crate::{x::Y, z};\nlet a = crate::w::f();"),
        ["w", "x", "z"].map(String::from).into()
    );
}

#[test]
fn only_the_binary_knows_clap() {
    let binary = declared_modules("main.rs");
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let offenders: Vec<_> = files
        .iter()
        .filter(|f| {
            let module = top_module(f);
            module != "main" && !binary.contains(&module)
        })
        .filter(|f| code_of(&fs::read_to_string(f).unwrap()).contains("clap"))
        .map(|f| f.strip_prefix(src()).unwrap().display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "library modules that use clap (commands take plain Options; main maps argv to them): {offenders:?}"
    );
}
