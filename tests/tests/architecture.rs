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

/// Skips a string or char literal or a comment starting at `i` (if one starts there); returns
/// the index after it, or `i` when none starts there.
fn skip_literal(b: &[u8], i: usize) -> usize {
    match (b[i], b.get(i + 1)) {
        (b'/', Some(b'/')) => b[i..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(b.len(), |n| i + n),
        (b'/', Some(b'*')) => b[i + 2..]
            .windows(2)
            .position(|w| w == b"*/")
            .map_or(b.len(), |n| i + 2 + n + 2),
        (b'"', _) => {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            j + 1
        }
        // A char literal such as '{' or '\'' (a lifetime has no closing quote within 3 bytes).
        (b'\'', _) if b.get(i + 2) == Some(&b'\'') => i + 3,
        (b'\'', Some(b'\\')) => b[i + 3..]
            .iter()
            .position(|&c| c == b'\'')
            .map_or(b.len(), |n| i + 3 + n + 1),
        _ => i,
    }
}

/// The end of the item starting at `i`: after its `;` or its matching closing brace.
fn item_end(b: &[u8], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < b.len() {
        let next = skip_literal(b, i);
        if next != i {
            i = next;
            continue;
        }
        match b[i] {
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            b';' if depth == 0 => return i + 1,
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// `text` with every `#[cfg(test)]` item cut out (the attribute, the attributes after it and the
/// item, braces matched); the names of `#[cfg(test)] mod name;` files are added to `test_mods`.
fn without_test_items(text: &str, test_mods: &mut Vec<String>) -> String {
    const ATTR: &str = "#[cfg(test)]";
    let b = text.as_bytes();
    let mut out = String::new();
    let mut rest = 0;
    while let Some(at) = text[rest..].find(ATTR).map(|n| rest + n) {
        out.push_str(&text[rest..at]);
        let mut i = at + ATTR.len();
        // Further attributes of the same item.
        loop {
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if text[i..].starts_with("#[") {
                i = text[i..].find(']').map_or(b.len(), |n| i + n + 1);
            } else {
                break;
            }
        }
        let end = item_end(b, i);
        let item = text[i..end].trim();
        if let Some(name) = item.strip_prefix("mod ").and_then(|m| m.strip_suffix(';')) {
            test_mods.push(name.trim().to_string());
        }
        rest = end;
    }
    out.push_str(&text[rest..]);
    out
}

/// The production source of every file under `dir`: whole files, with `#[cfg(test)]` items cut
/// out, and without the files of test modules (`#[cfg(test)] mod name;`, `#![cfg(test)]`).
fn production_sources(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut test_mods = Vec::new();
        let mut files = Vec::new();
        let mut dirs = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("readable source dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("readable source");
                if text.contains("#![cfg(test)]") {
                    continue;
                }
                let production = without_test_items(&text, &mut test_mods);
                files.push((path, production));
            }
        }
        let is_test = |path: &Path| {
            path.file_stem()
                .and_then(|s| s.to_str())
                .is_some_and(|stem| test_mods.iter().any(|m| m == stem))
        };
        out.extend(files.into_iter().filter(|(p, _)| !is_test(p)));
        stack.extend(dirs.into_iter().filter(|d| !is_test(d)));
    }
    out
}

#[test]
fn the_test_item_cutter_keeps_code_after_a_test_module_and_drops_only_the_module() {
    let text = "fn a() {}\n#[cfg(test)]\n#[allow(x)]\nmod tests {\n fn t() { let c = '{'; let s = \"}\"; }\n}\nfn b() { std::fs::read(\"x\"); }\n#[cfg(test)]\nmod more;\n";
    let mut mods = Vec::new();
    let kept = without_test_items(text, &mut mods);
    assert!(kept.contains("fn a()"), "{kept}");
    assert!(kept.contains("fn b() { std::fs::read"), "{kept}");
    assert!(!kept.contains("fn t()"), "{kept}");
    assert_eq!(mods, vec!["more".to_string()]);
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

/// Every dependency name (normal, dev and build) a member's Cargo.toml lists.
fn all_manifest_deps(member: &str) -> Vec<String> {
    let text = std::fs::read_to_string(workspace_root().join(member).join("Cargo.toml"))
        .expect("member manifest");
    let manifest: toml::Table = text.parse().expect("manifest parses");
    ["dependencies", "dev-dependencies", "build-dependencies"]
        .iter()
        .filter_map(|section| manifest.get(*section).and_then(|d| d.as_table()))
        .flat_map(|t| t.keys().cloned())
        .collect()
}

/// Every `.rs` file under `dir`, whole.
fn all_sources(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable source dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("readable source");
                out.push((path, text));
            }
        }
    }
    out
}

#[test]
fn the_agent_and_the_hub_never_depend_on_or_import_each_other() {
    for (member, other, crate_name) in [
        ("agent", "stockpost-hub", "stockpost_hub"),
        ("hub", "stockpost-agent", "stockpost_agent"),
    ] {
        assert!(
            !all_manifest_deps(member).iter().any(|d| d == other),
            "{member}/Cargo.toml depends on {other}"
        );
        let sources = all_sources(&workspace_root().join(member).join("src"));
        assert!(sources.len() >= 10, "{member}'s sources were read");
        for (path, text) in sources {
            assert!(
                !text.contains(crate_name),
                "{} names {crate_name}",
                path.display()
            );
        }
    }
    let graph = lock_graph();
    assert!(!graph["stockpost-agent"]
        .iter()
        .any(|d| d == "stockpost-hub"));
    assert!(!graph["stockpost-hub"]
        .iter()
        .any(|d| d == "stockpost-agent"));
}

#[test]
fn the_engine_depends_on_no_io_json_or_http_crate() {
    let deps = normal_tree("stockpost-engine");
    assert!(
        deps.contains("stockpost-common"),
        "the tree was read: {deps:?}"
    );
    for banned in IO_CRATES
        .iter()
        .copied()
        .chain(["serde_json", "stockpost-store", "tracing"])
    {
        assert!(
            !deps.contains(banned),
            "stockpost-engine's dependency tree contains {banned}; the engine must stay pure"
        );
    }
}

#[test]
fn the_engine_reads_no_clock_and_does_no_io_in_any_file_tests_included() {
    let sources = all_sources(&workspace_root().join("engine").join("src"));
    assert!(sources.len() >= 20, "the engine's sources were read");
    for (path, text) in sources {
        for banned in [
            "SystemTime",
            "Instant::now",
            "std::fs",
            "std::net",
            "std::process",
            "std::thread",
            "std::env",
            "std::io",
            "println!",
            "serde_json",
            "StatusCode",
        ] {
            assert!(
                !text.contains(banned),
                "{} uses {banned}; the engine must stay pure",
                path.display()
            );
        }
    }
}

#[test]
fn in_the_hub_only_the_repo_module_uses_the_store_crate() {
    let src = workspace_root().join("hub").join("src");
    let repo = src.join("repo");
    let sources = all_sources(&src);
    assert!(sources.iter().any(|(p, _)| p.starts_with(&repo)));
    for (path, text) in sources {
        if !path.starts_with(&repo) {
            assert!(
                !text.contains("stockpost_store"),
                "{} uses the store crate; only hub/src/repo/ may (invariant 2)",
                path.display()
            );
        }
    }
}
