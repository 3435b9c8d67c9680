//! Architecture invariants checked as ordinary tests (see ARCHITECTURE.md).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// package name -> names of its dependencies, from Cargo.lock.
fn lock_graph() -> BTreeMap<String, Vec<String>> {
    let text = std::fs::read_to_string(workspace_root().join("Cargo.lock"))
        .expect("Cargo.lock is committed");
    let lock: toml::Table = text.parse().expect("Cargo.lock parses");
    let mut graph = BTreeMap::new();
    for package in lock["package"].as_array().expect("packages") {
        let name = package["name"].as_str().expect("name").to_string();
        let deps: Vec<String> = package
            .get("dependencies")
            .and_then(|d| d.as_array())
            .map(|deps| {
                deps.iter()
                    .filter_map(|d| d.as_str())
                    // "name version" when several versions are locked
                    .map(|d| d.split(' ').next().unwrap_or(d).to_string())
                    .collect()
            })
            .unwrap_or_default();
        graph.entry(name).or_insert_with(Vec::new).extend(deps);
    }
    graph
}

/// Normal (non-dev) dependencies of a workspace member, from its Cargo.toml.
fn normal_deps(member: &str) -> Vec<String> {
    let text = std::fs::read_to_string(workspace_root().join(member).join("Cargo.toml"))
        .expect("member manifest");
    let manifest: toml::Table = text.parse().expect("manifest parses");
    manifest
        .get("dependencies")
        .and_then(|d| d.as_table())
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default()
}

const IO_CRATES: [&str; 12] = [
    "tokio",
    "mio",
    "sled",
    "redb",
    "rumqttc",
    "rumqttd",
    "reqwest",
    "hyper",
    "axum",
    "tokio-serial",
    "socket2",
    "rand",
];

/// The names of every crate in `package`'s normal (non-dev) dependency tree, from `cargo tree`.
fn normal_tree(package: &str) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let output = std::process::Command::new(cargo)
        .current_dir(workspace_root())
        .args([
            "tree",
            "--locked",
            "--offline",
            "-p",
            package,
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[test]
fn common_depends_on_no_io_runtime_database_network_or_randomness_crate() {
    let deps = normal_tree("stockpost-common");
    assert!(deps.contains("postcard"), "the tree was read: {deps:?}");
    for banned in IO_CRATES {
        assert!(
            !deps.contains(banned),
            "stockpost-common's dependency tree contains {banned}; common must stay pure"
        );
    }
}

/// Source of `dir`, without `#[cfg(test)]` modules, `#![cfg(test)]` files and `tests.rs` files.
fn production_sources(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable source dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && path.file_name().is_some_and(|n| n != "tests.rs")
            {
                let text = std::fs::read_to_string(&path).expect("readable source");
                if text.contains("#![cfg(test)]") {
                    // The whole file is a test module.
                    continue;
                }
                let production = text.split("#[cfg(test)]").next().unwrap_or("").to_string();
                out.push((path, production));
            }
        }
    }
    out
}

#[test]
fn common_reads_no_clock_and_does_no_io() {
    let sources = production_sources(&workspace_root().join("common").join("src"));
    assert!(sources.len() >= 10);
    for (path, text) in sources {
        for banned in [
            "SystemTime",
            "Instant::now",
            "std::fs",
            "std::net",
            "std::process",
            "std::thread",
            "std::env",
            "std::io::stdin",
            "println!",
        ] {
            assert!(
                !text.contains(banned),
                "{} uses {banned}; common must stay pure",
                path.display()
            );
        }
    }
}

#[test]
fn only_the_store_crate_depends_on_an_embedded_database() {
    for member in ["common", "agent", "hub", "tests"] {
        for db in ["sled", "redb"] {
            assert!(
                !normal_deps(member).iter().any(|d| d == db),
                "{member} depends on {db} directly; only store/ may (invariant 2)"
            );
        }
    }
    let graph = lock_graph();
    for (package, deps) in &graph {
        if deps.iter().any(|d| d == "sled" || d == "redb") {
            assert_eq!(
                package, "stockpost-store",
                "{package} depends on an embedded database"
            );
        }
    }
}
