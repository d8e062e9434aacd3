//! The workspace's dependency rules, checked over `cargo metadata`: each heavy or
//! database-specific library stays in the crates that own it, and our crates depend only
//! downwards.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// External packages that only the named crates of ours may depend on: rusqlite in the
/// SQLite adapter, the PostgreSQL client in its adapter, DataFusion in the query crate and
/// the facade. With [`LAYERS`], nothing below them reaches them through another crate.
pub const CONFINED: &[(&str, &[&str])] = &[
    ("rusqlite", &["quiver-sqlite"]),
    ("postgres", &["quiver-postgres"]),
    ("tokio-postgres", &["quiver-postgres"]),
    ("datafusion", &["quiver-query", "quiver"]),
];

/// Our crates from the bottom up: a crate may depend only on crates earlier in this list
/// (normal dependencies; tests may use anything).
pub const LAYERS: &[&str] = &[
    "quiver-grammar",
    "quiver-catalog",
    "quiver-snapshot",
    "quiver-diff",
    "quiver-restore",
    "quiver-sqlite",
    "quiver-postgres",
    "quiver-storage",
    "quiver-query",
    "quiver-backup",
    "quiver",
    "quiver-cli",
];

/// The crates under `crates/` and their normal (not dev, not build) dependencies by name.
pub fn workspace_graph() -> Result<BTreeMap<String, BTreeSet<String>>, String> {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(crate::workspace_root())
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    let metadata: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("cargo metadata's output: {e}"))?;
    let mut graph = BTreeMap::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let name = package["name"].as_str().unwrap_or_default().to_string();
        let manifest = package["manifest_path"].as_str().unwrap_or_default();
        if !manifest.contains("/crates/") {
            continue;
        }
        let deps = package["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["kind"].is_null())
            .filter_map(|d| d["name"].as_str().map(String::from))
            .collect();
        graph.insert(name, deps);
    }
    Ok(graph)
}

/// Every break of the rules in `graph`, one line each.
pub fn violations(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut found = Vec::new();
    for (name, deps) in graph {
        for (package, owners) in CONFINED {
            if deps.contains(*package) && !owners.contains(&name.as_str()) {
                found.push(format!(
                    "{name} depends on {package}, which only {} may use",
                    owners.join(", ")
                ));
            }
        }
        let level = LAYERS.iter().position(|l| l == name);
        for dep in deps.iter().filter(|d| graph.contains_key(*d)) {
            let dep_level = LAYERS.iter().position(|l| l == dep);
            match (level, dep_level) {
                (Some(a), Some(b)) if b >= a => found.push(format!(
                    "{name} depends on {dep}, which is not below it (docs/architecture.md)"
                )),
                (Some(_), None) => found.push(format!(
                    "{name} depends on {dep}, which has no place in xtask's LAYERS"
                )),
                _ => {}
            }
        }
        if level.is_none() {
            found.push(format!("{name} has no place in xtask's LAYERS"));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_keeps_its_dependency_rules() {
        let graph = workspace_graph().unwrap();
        assert!(graph.contains_key("quiver-sqlite"), "{graph:?}");
        let found = violations(&graph);
        assert!(
            found.is_empty(),
            "dependency rules broken:\n{}",
            found.join("\n")
        );
    }

    #[test]
    fn a_broken_rule_is_found() {
        let graph: BTreeMap<String, BTreeSet<String>> = [
            ("quiver-catalog", vec!["rusqlite", "quiver-restore"]),
            ("quiver-restore", vec!["quiver-catalog"]),
            ("quiver-sqlite", vec!["rusqlite", "quiver-catalog"]),
            ("quiver-storage", vec!["datafusion"]),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
        .collect();
        let found = violations(&graph).join("\n");
        assert!(
            found.contains("quiver-catalog depends on rusqlite"),
            "{found}"
        );
        assert!(
            found.contains("quiver-catalog depends on quiver-restore, which is not below it"),
            "{found}"
        );
        assert!(
            found.contains("quiver-storage depends on datafusion"),
            "{found}"
        );
        assert!(
            !found.contains("quiver-sqlite depends on rusqlite"),
            "{found}"
        );
    }
}
