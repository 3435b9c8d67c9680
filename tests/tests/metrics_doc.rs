//! docs/metrics.md against what the binaries export: the hub's and the agent's `GET /metrics`
//! are read from in-process instances, every `# TYPE` family must be in the doc's table for that
//! process with the same type, and every metric in the tables must be exported. The alert rules
//! (deploy/prometheus) and the Grafana dashboard (deploy/grafana) may only use documented metrics.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use stockpost_hub::node::HubNode;
use stockpost_tests::fleet::init_tracing;
use stockpost_tests::hubapi::{hub_config_with_api, Api};
use stockpost_tests::station::{http_text, StationAgent, STATIONS};

/// No broker listens here: the processes keep retrying in the background; HTTP works anyway.
const NO_BROKER: &str = "127.0.0.1:9";

fn repo_file(path: &str) -> String {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("reading {}: {e}", full.display()))
}

/// Metric family name to type, from the `# TYPE` lines of a Prometheus text page.
fn exported_families(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split_whitespace();
            let name = parts.next().unwrap().to_string();
            let kind = parts.next().unwrap_or("").to_string();
            assert!(
                out.insert(name.clone(), kind).is_none(),
                "metric family {name} has two # TYPE lines"
            );
        }
    }
    out
}

/// Metric name to type from the table rows (`| \`name\` | type | ...`) of the docs/metrics.md
/// section that starts with the heading `heading` and runs to the next `## ` heading.
fn documented(heading: &str) -> BTreeMap<String, String> {
    let doc = repo_file("docs/metrics.md");
    let start = doc
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("docs/metrics.md has no section {heading:?}"));
    let section = &doc[start + heading.len() + 2..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let mut out = BTreeMap::new();
    for line in section.lines() {
        let Some(row) = line.strip_prefix("| `") else {
            continue;
        };
        let (name, rest) = row.split_once('`').unwrap();
        let kind = rest
            .trim_start_matches([' ', '|'])
            .split('|')
            .next()
            .unwrap()
            .trim()
            .to_string();
        assert!(
            out.insert(name.to_string(), kind).is_none(),
            "docs/metrics.md lists {name} twice under {heading:?}"
        );
    }
    assert!(!out.is_empty(), "no metric rows under {heading:?}");
    out
}

/// Every metric in `doc` is exported with the documented type, and every exported family is in
/// `doc`.
fn assert_same(process: &str, heading: &str, exported: &BTreeMap<String, String>) {
    let doc = documented(heading);
    for (name, kind) in exported {
        match doc.get(name) {
            None => panic!(
                "the {process} exports {name} ({kind}) but docs/metrics.md does not list it under {heading:?}"
            ),
            Some(documented) => assert_eq!(
                documented, kind,
                "docs/metrics.md says {name} is a {documented}; the {process} exports it as a {kind}"
            ),
        }
    }
    for name in doc.keys() {
        assert!(
            exported.contains_key(name),
            "docs/metrics.md lists {name} under {heading:?} but the {process} does not export it"
        );
    }
}

/// Every `stockpost_…` metric name in `text` (a name continues over `[a-z0-9_]`).
fn metric_names_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("stockpost_") {
        let before = rest[..at].chars().next_back();
        let tail = &rest[at..];
        let len = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        if !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            out.push(tail[..len].to_string());
        }
        rest = &tail[len..];
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_the_hub_exports_is_documented_and_every_documented_hub_metric_is_exported() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let hub = HubNode::start(hub_config_with_api(dir.path(), NO_BROKER, "").unwrap())
        .await
        .unwrap();
    let api = Api::new(&hub).unwrap();
    let (status, body) = api.call("GET", "/metrics", None, None).await.unwrap();
    assert_eq!(status, 200, "{body}");
    let exported = exported_families(body.as_str().unwrap());
    assert_same("hub", "## Hub metrics", &exported);
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_the_agent_exports_is_documented_and_every_documented_agent_metric_is_exported(
) {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let agent = StationAgent::start(dir.path(), STATIONS).await.unwrap();
    let (status, body) = http_text(agent.addr, "GET", "/metrics", None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let exported = exported_families(&body);
    assert_same("agent", "## Agent metrics", &exported);
    agent.stop().await;
}

#[test]
fn every_metric_the_alert_rules_and_the_grafana_dashboard_use_is_documented() {
    let mut known = documented("## Hub metrics");
    known.extend(documented("## Agent metrics"));
    for file in [
        "deploy/prometheus/stockpost.rules.yml",
        "deploy/prometheus/stockpost.rules.test.yml",
        "deploy/grafana/stockpost.json",
    ] {
        let names = metric_names_in(&repo_file(file));
        assert!(!names.is_empty(), "{file} uses no stockpost_ metric");
        for name in names {
            // A histogram's series are its family name plus one of these suffixes.
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| {
                    name.strip_suffix(s)
                        .filter(|base| known.get(*base).is_some_and(|k| k == "histogram"))
                })
                .unwrap_or(&name);
            assert!(
                known.contains_key(family),
                "{file} uses {name}, which docs/metrics.md does not list"
            );
        }
    }
}

#[test]
fn the_metric_name_scanner_finds_names_and_skips_look_alikes() {
    assert_eq!(
        metric_names_in(
            "rate(stockpost_hub_commits_total[5m]) / x_stockpost_y, stockpost_agent_scans_total"
        ),
        vec!["stockpost_hub_commits_total", "stockpost_agent_scans_total"]
    );
}
