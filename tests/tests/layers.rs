//! The layers are a compiler fact, and these tests keep them one: the domain crate
//! depends on no HTTP, runtime, AWS or database crate (resolved graph, not only the
//! manifest), the use cases on no HTTP, AWS or database crate, the adapters and the
//! HTTP edge not on each other, the authorizer on the domain alone among ours; no
//! crate's modules import each other in a cycle; no source file's code (its unit
//! tests aside) is over 500 lines.

use directory_tests::repo_root;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every package `name` depends on at run time on this platform (normal
/// dependencies, transitively), as `cargo tree` resolves them.
fn runtime_closure(name: &str) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["tree", "-e", "normal", "--prefix", "none", "--offline", "-p", name])
        .current_dir(repo_root())
        .output()
        .expect("cargo tree");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

fn forbidden(closure: &BTreeSet<String>, prefixes: &[&str]) -> Vec<String> {
    closure
        .iter()
        .filter(|d| {
            prefixes
                .iter()
                .any(|p| d.as_str() == *p || d.starts_with(&format!("{p}-")))
        })
        .cloned()
        .collect()
}

#[test]
fn each_layer_depends_only_on_the_layers_below_it() {
    let rules: [(&str, &[&str]); 6] = [
        (
            "directory-domain",
            &[
                "lambda_http",
                "lambda_runtime",
                "tokio",
                "hyper",
                "aws",
                "redb",
                "directory-usecases",
                "directory-http",
                "directory-aws",
                "directory-embedded",
                "directory-authz",
            ],
        ),
        (
            "directory-usecases",
            &[
                "lambda_http",
                "lambda_runtime",
                "hyper",
                "aws",
                "redb",
                "directory-http",
                "directory-aws",
                "directory-embedded",
            ],
        ),
        (
            "directory-http",
            &["aws", "redb", "directory-aws", "directory-embedded"],
        ),
        ("directory-aws", &["redb", "directory-http", "directory-embedded"]),
        (
            "directory-embedded",
            &["lambda_http", "aws", "directory-http", "directory-aws"],
        ),
        (
            "directory-authz",
            &[
                "aws",
                "redb",
                "directory-usecases",
                "directory-http",
                "directory-aws",
                "directory-embedded",
            ],
        ),
    ];
    for (krate, banned) in rules {
        let found = forbidden(&runtime_closure(krate), banned);
        assert!(found.is_empty(), "{krate} depends on {found:?}");
    }
}

/// The top-level modules of a crate and the other ones each names (`crate::name`).
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = Vec::new();
    collect_rs(src, &mut files);
    for file in files {
        let rel = file.strip_prefix(src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        if top == "lib" || top == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        // Code only: comments may name any module.
        let code: String = text
            .split("#[cfg(test)]")
            .next()
            .unwrap_or("")
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let code = code.as_str();
        let names = graph.entry(top.clone()).or_default();
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + 7..];
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !name.is_empty() && name != top && name != "Refusal" {
                names.insert(name);
            }
        }
        // `use crate::{a, b}` lists.
        for (i, _) in code.match_indices("crate::{") {
            let list = &code[i + 8..];
            let list = &list[..list.find('}').unwrap_or(0)];
            for name in list
                .split(',')
                .map(|n| n.trim().split("::").next().unwrap_or("").to_owned())
            {
                if !name.is_empty() && name != top && name.chars().next().is_some_and(char::is_lowercase) {
                    names.insert(name);
                }
            }
        }
    }
    graph
}

fn collect_rs(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A cycle in `graph`, if any (as the modules on it).
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            return Some(path[at..].to_vec());
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if graph.contains_key(next)
                && let Some(c) = visit(next, graph, path, done)
            {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_crate_has_a_cycle_of_modules() {
    for krate in ["domain", "usecases", "http", "embedded", "aws", "authz"] {
        let graph = module_graph(&repo_root().join("shared").join(krate).join("src"));
        assert!(graph.len() > 2, "{krate}: {graph:?}");
        assert_eq!(
            cycle(&graph),
            None,
            "shared/{krate}: modules import each other in a cycle"
        );
    }
    // The checker finds one where there is one.
    let mut looped = BTreeMap::new();
    looped.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    looped.insert("b".to_owned(), BTreeSet::from(["a".to_owned()]));
    assert!(cycle(&looped).is_some());
}

#[test]
fn no_source_file_is_over_500_lines_of_code() {
    let mut files = Vec::new();
    for dir in ["shared", "local/src", "functions", "bench/src"] {
        collect_rs(&repo_root().join(dir), &mut files);
    }
    let mut long = Vec::new();
    for file in files
        .iter()
        .filter(|f| !f.components().any(|c| c.as_os_str() == "tests"))
    {
        let text = std::fs::read_to_string(file).unwrap();
        let code = text.split("\n#[cfg(test)]").next().unwrap_or("").lines().count();
        if code > 500 {
            long.push(format!("{} ({code})", file.display()));
        }
    }
    assert!(long.is_empty(), "over 500 lines of code: {long:?}");
}
