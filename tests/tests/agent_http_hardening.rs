//! The agent's HTTP front (issue #15, item 3, the parts without tokens): slow connections are
//! closed while the station API keeps answering, and every error (404, 405, 413, 414) has the
//! documented JSON shape and is counted by reason in `/metrics`.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;
use stockpost_agent::config::AgentConfig;
use stockpost_tests::station::{http, station_config_text, StationAgent, STATIONS};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn agent(dir: &Path) -> StationAgent {
    let text = station_config_text(dir, "127.0.0.1:0", STATIONS);
    let mut config = AgentConfig::from_toml(&text, Path::new("test-agent.toml"), &[]).unwrap();
    config.http.header_timeout_ms = 500;
    config.http.max_body_bytes = 1_024;
    config.http.max_uri_bytes = 512;
    StationAgent::start_with(config).await.unwrap()
}

async fn rejections(a: &StationAgent, reason: &str) -> u64 {
    let (_, text) = http(a.addr, "GET", "/metrics", None).await.unwrap();
    let text = text.as_str().unwrap_or_default().to_string();
    let line = format!("stockpost_agent_http_rejections_total{{reason=\"{reason}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&line))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {line} in /metrics"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_connections_to_the_agent_are_closed_after_the_header_timeout_and_stations_keep_answering(
) {
    let dir = tempfile::tempdir().unwrap();
    let a = agent(dir.path()).await;
    let mut slow = Vec::new();
    for _ in 0..200 {
        let mut s = TcpStream::connect(a.addr).await.unwrap();
        s.write_all(b"GET /api/v1/stations HTTP/1.1\r\nHost: agent\r\n")
            .await
            .unwrap();
        slow.push(s);
    }
    let (status, v) = http(a.addr, "GET", "/api/v1/stations", None).await.unwrap();
    assert_eq!(status, 200, "{v}");
    for (i, s) in slow.iter_mut().enumerate() {
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut rest)).await;
        assert!(closed.is_ok(), "slow connection {i} is still open");
    }
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_agent_error_404_405_413_and_414_is_json_with_a_code_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let a = agent(dir.path()).await;
    let big = format!("{{\"data\": \"{}\"}}", "7".repeat(4_096));
    let long = format!("/api/v1/stock?sku={}", "A".repeat(600));
    let cases: [(&str, &str, Option<&str>, u16, &str); 4] = [
        ("GET", "/api/v1/no-such-thing", None, 404, "not_found"),
        (
            "DELETE",
            "/api/v1/stations",
            None,
            405,
            "method_not_allowed",
        ),
        (
            "POST",
            "/api/v1/stations/hh-1/scan",
            Some(&big),
            413,
            "body_too_large",
        ),
        ("GET", &long, None, 414, "uri_too_long"),
    ];
    for (method, path, body, status, code) in cases {
        let at = format!("{method} {}", &path[..path.len().min(60)]);
        let (got, v) = http(a.addr, method, path, body).await.unwrap();
        assert_eq!(got, status, "{at}: {v}");
        assert_eq!(v["error"]["code"], code, "{at}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{at}: {v}"
        );
        assert!(rejections(&a, code).await >= 1, "{at}: {code} not counted");
    }
    a.stop().await;
}
