//! Architecture checks `cargo xtask test` runs on the host's source: no cycle between its
//! top-level modules (read from the `crate::…` paths each file names), and no JSON indexing
//! (`v["…"]`) outside the gateway module, which parses the gateway's answers into types once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The host crate's sources.
fn host_src() -> PathBuf {
    crate::root().join("crates/host/src")
}

/// Every `.rs` file under `dir`, with its path relative to `dir`.
fn sources(dir: &Path) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("read {}", d.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, std::fs::read_to_string(&path)?));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The top-level module a file belongs to (`store/sql.rs` → `store`); `None` for the root.
fn module_of(rel: &str) -> Option<String> {
    let first = rel.split('/').next()?.trim_end_matches(".rs");
    (first != "lib" && first != "main").then(|| first.to_owned())
}

/// The top-level modules a file's text names through `crate::` (paths and `use` groups).
fn uses(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for part in group[..end].split(',') {
                let name = ident(part.trim());
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

/// The module graph: module → the modules it uses.
fn graph(files: &[(String, String)]) -> BTreeMap<String, BTreeSet<String>> {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, _) in files {
        if let Some(m) = module_of(rel) {
            g.entry(m).or_default();
        }
    }
    for (rel, text) in files {
        let Some(m) = module_of(rel) else { continue };
        let deps: BTreeSet<String> = uses(text)
            .into_iter()
            .filter(|d| *d != m && g.contains_key(d))
            .collect();
        g.entry(m).or_default().extend(deps);
    }
    g
}

/// A cycle of the graph, if it has one (as the modules along it).
fn cycle(g: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        g: &BTreeMap<String, BTreeSet<String>>,
        m: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == m) {
            let mut c = path[i..].to_vec();
            c.push(m.to_owned());
            return Some(c);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_owned());
        for d in g.get(m).into_iter().flatten() {
            if let Some(c) = visit(g, d, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for m in g.keys() {
        if let Some(c) = visit(g, m, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

/// Lines that index JSON (`x["…"]`) outside `gateway/` and `gateway.rs`, skipping comments.
fn json_indexing(files: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for (rel, text) in files {
        if module_of(rel).as_deref() == Some("gateway") {
            continue;
        }
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            let bytes = code.as_bytes();
            let hit = code.match_indices("[\"").any(|(i, _)| {
                i > 0 && {
                    let before = bytes[i - 1];
                    before.is_ascii_alphanumeric()
                        || before == b'_'
                        || before == b']'
                        || before == b')'
                }
            });
            if hit {
                out.push(format!("crates/host/src/{rel}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    out
}

/// Runs both checks on the host's source.
pub(crate) fn check() -> Result<()> {
    let files = sources(&host_src())?;
    let g = graph(&files);
    if let Some(c) = cycle(&g) {
        bail!("a module cycle in the host: {}", c.join(" → "));
    }
    let indexing = json_indexing(&files);
    if !indexing.is_empty() {
        bail!(
            "JSON indexed outside the gateway module (parse into a gateway type instead):\n{}",
            indexing.join("\n")
        );
    }
    println!(
        "host: {} modules, no cycle; no JSON indexing outside gateway/",
        g.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn a_cycle_through_use_groups_and_paths_is_found() {
        let f = files(&[
            ("config.rs", "use crate::{mail::EmailAddress, secret};"),
            ("mail/mod.rs", "fn f() { crate::config::x(); }"),
            ("secret.rs", ""),
        ]);
        let c = cycle(&graph(&f)).expect("config → mail → config");
        assert_eq!(c.first(), c.last());
        let f = files(&[
            ("config.rs", "use crate::email::EmailAddress;"),
            ("mail.rs", "use crate::{config, email};"),
            ("email.rs", ""),
        ]);
        assert_eq!(cycle(&graph(&f)), None);
    }

    #[test]
    fn json_indexing_is_found_outside_the_gateway_only() {
        let f = files(&[
            (
                "reconcile.rs",
                "let x = v[\"id\"].as_str();\n// v[\"doc\"]\nlet k = key(&[\"a\"]);",
            ),
            ("gateway/objects.rs", "let y = body[\"data\"];"),
        ]);
        let hits = json_indexing(&f);
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert!(hits[0].contains("reconcile.rs:1"));
    }
}
