//! The module map in `docs/architecture.md` is the rule: every module of `gateway/src` has a row,
//! imports only what its row lists, and the imports form no cycle. A folder is one module,
//! except `phases/`, where each phase is its own (and phases never import each other).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

/// The module a path inside the crate belongs to: its first segment, or `phases/<name>`.
fn unit(path: &[String]) -> Option<String> {
    match path {
        [] => None,
        [first, second, ..] if first == "phases" => Some(format!("phases/{second}")),
        [first, ..] => Some(first.clone()),
    }
}

/// A file's module path: `phases/integration/http.rs` is `["phases", "integration", "http"]`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts == ["lib"] {
        parts.clear();
    }
    parts
}

/// Source without `//` comments (doc links are not imports) and without its unit tests (a
/// `#[cfg(test)]` module, at the end of a file by this codebase's convention, may use anything).
fn code(text: &str) -> String {
    text.lines()
        .take_while(|l| l.trim() != "#[cfg(test)]")
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident(s: &str) -> Option<&str> {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    (end > 0).then(|| &s[..end])
}

/// The first two segments of each path a `{...}` group names.
fn group_items(group: &str) -> Vec<Vec<String>> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&group[start..]);
    items
        .into_iter()
        .filter_map(|item| {
            let item = item.trim();
            let first = ident(item)?;
            let rest = item[first.len()..].strip_prefix("::").and_then(ident);
            Some(
                std::iter::once(first)
                    .chain(rest)
                    .map(str::to_string)
                    .collect(),
            )
        })
        .collect()
}

/// Every crate path `text` mentions (`crate::a::b`, `super::x`, `use crate::{a, b::c}`),
/// resolved against the file's module path.
fn mentioned(text: &str, module: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(pos) = rest.find(['c', 's']) {
        let at = &rest[pos..];
        let boundary = pos == 0 || {
            let prev = rest[..pos].chars().last().unwrap_or(' ');
            !(prev.is_ascii_alphanumeric() || prev == '_' || prev == ':')
        };
        let (base, tail) = if let (true, Some(t)) = (boundary, at.strip_prefix("crate::")) {
            (Vec::new(), t)
        } else if let (true, Some(mut t)) = (boundary, at.strip_prefix("super::")) {
            // The file's own module is the last segment; `super` is its parent.
            let mut up = 1;
            while let Some(more) = t.strip_prefix("super::") {
                up += 1;
                t = more;
            }
            let keep = module.len().saturating_sub(up);
            (module[..keep].to_vec(), t)
        } else {
            rest = &rest[pos + 1..];
            continue;
        };
        if let Some(group) = tail.strip_prefix('{') {
            let mut depth = 1;
            let end = group
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map_or(group.len(), |(i, _)| i);
            for item in group_items(&group[..end]) {
                out.push(base.iter().cloned().chain(item).collect());
            }
        } else if let Some(first) = ident(tail) {
            let second = tail[first.len()..].strip_prefix("::").and_then(ident);
            out.push(
                base.iter()
                    .cloned()
                    .chain(std::iter::once(first.to_string()))
                    .chain(second.map(str::to_string))
                    .collect(),
            );
        }
        rest = &rest[pos + 1..];
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src").flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Who imports whom in `gateway/src`.
fn imports() -> Graph {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph = Graph::new();
    for f in files {
        let module = module_path(f.strip_prefix(&src).expect("under src"));
        let Some(me) = unit(&module) else { continue };
        let text = std::fs::read_to_string(&f).expect("read");
        let deps = graph.entry(me.clone()).or_default();
        for path in mentioned(&code(&text), &module) {
            if let Some(u) = unit(&path) {
                if u != me {
                    deps.insert(u);
                }
            }
        }
    }
    let known: BTreeSet<String> = graph.keys().cloned().collect();
    for deps in graph.values_mut() {
        deps.retain(|d| known.contains(d));
    }
    graph
}

/// The rows of the module table: module → what it may import.
fn allowed() -> Graph {
    let doc = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/architecture.md");
    let text = std::fs::read_to_string(&doc).expect("docs/architecture.md");
    let ticked = |cell: &str| -> Vec<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    let mut rows = Graph::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 5 || !cells[1].starts_with('`') {
            continue;
        }
        let Some(module) = ticked(cells[1]).into_iter().next() else {
            continue;
        };
        let mut may: BTreeSet<String> = ticked(cells[3]).into_iter().collect();
        if cells[3].contains("every `phases/*` module") {
            may.insert("phases/*".into());
        }
        rows.insert(module, may);
    }
    rows
}

fn permitted(rules: &Graph, from: &str, to: &str) -> bool {
    rules.get(from).is_some_and(|may| {
        may.contains(to) || (may.contains("phases/*") && to.starts_with("phases/"))
    })
}

#[test]
fn every_module_imports_only_what_the_architecture_allows() {
    let graph = imports();
    let rules = allowed();
    assert!(
        graph.len() > 30,
        "the import scan found too few modules: {graph:?}"
    );
    let mut problems = Vec::new();
    for (from, deps) in &graph {
        if !rules.contains_key(from) {
            problems.push(format!(
                "`{from}` has no row in docs/architecture.md's module table"
            ));
            continue;
        }
        for to in deps {
            if !permitted(&rules, from, to) {
                problems.push(format!(
                    "`{from}` imports `{to}`, which its row in docs/architecture.md does not allow"
                ));
            }
        }
    }
    for module in rules.keys() {
        if !graph.contains_key(module) {
            problems.push(format!(
                "docs/architecture.md has a row for `{module}`, which gateway/src does not have"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn phases_never_import_each_other() {
    for (from, deps) in imports() {
        if !from.starts_with("phases/") || from == "phases/env" || from == "phases/handoff" {
            continue;
        }
        for to in deps {
            let allowed = to == "phases/env" || to == "phases/handoff";
            assert!(
                !to.starts_with("phases") || allowed,
                "phase `{from}` imports `{to}`: phases meet only in phases/handoff and phases/env"
            );
        }
    }
}

#[test]
fn the_imports_form_no_cycle() {
    let graph = imports();
    // Depth-first search with an explicit path; any edge back into the path is a cycle.
    fn visit(
        node: &str,
        graph: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, &graph, &mut Vec::new(), &mut done) {
            panic!("import cycle: {}", cycle.join(" → "));
        }
    }
}

#[test]
fn the_scanner_sees_grouped_and_relative_imports() {
    let module = vec!["phases".to_string(), "usage_plan".to_string()];
    let found = mentioned(
        "use crate::{auth::Policy, model::{Route, Integration}};\nuse super::integration::x;\nlet a = crate::error::GatewayError::Throttled;",
        &module,
    );
    let units: BTreeSet<String> = found.iter().filter_map(|p| unit(p)).collect();
    let expected: BTreeSet<String> = ["auth", "model", "phases/integration", "error"]
        .into_iter()
        .map(str::to_string)
        .collect();
    assert_eq!(units, expected);
}
