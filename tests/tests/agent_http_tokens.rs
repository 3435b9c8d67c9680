//! The agent's API with tokens (docs/agent-http.md, "Tokens"): a station's token opens only its
//! station, a viewer token reads, an admin token does everything, no token gets 401 before the
//! body is read, bad tokens are rate-limited, and an agent on a LAN address without an admin
//! token does not start.

#![allow(clippy::unwrap_used)]

use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::Duration;
use stockpost_agent::config::AgentConfig;
use stockpost_tests::station::{station_config_text, StationAgent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ADMIN: &str = "agent-admin-token-0123";
const VIEWER: &str = "agent-viewer-token-0123";
const HH: &str = "hh-1-station-token-0123";
const PACK: &str = "pack-1-station-token-0123";

fn sha(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Stations hh-1 and pack-1 with their own tokens, plus admin and viewer tokens.
pub fn tokens_config_text(dir: &Path, listen: &str) -> String {
    let stations = format!(
        "[[stations]]\nid = \"hh-1\"\nkinds = [\"receive\", \"putaway\"]\nreceiving_location = \"DOCK-1\"\nduplicate_window_ms = 0\ntoken_sha256 = \"{}\"\n\n\
         [[stations]]\nid = \"pack-1\"\nkinds = [\"pack\", \"ship\"]\nduplicate_window_ms = 0\ntoken_sha256 = \"{}\"\n\n\
         [[http.tokens]]\nname = \"ops\"\nrole = \"admin\"\ntoken = \"{ADMIN}\"\n\n\
         [[http.tokens]]\nname = \"dashboard\"\nrole = \"viewer\"\nsha256 = \"{}\"\n",
        sha(HH),
        sha(PACK),
        sha(VIEWER)
    );
    station_config_text(dir, listen, &stations)
}

async fn call(
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, serde_json::Value) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = client.request(m, format!("{base}{path}"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

async fn agent(dir: &Path) -> (StationAgent, String) {
    let text = tokens_config_text(dir, "127.0.0.1:0");
    let config = AgentConfig::from_toml(&text, Path::new("test-agent.toml"), &[]).unwrap();
    let a = StationAgent::start_with(config).await.unwrap();
    let base = format!("http://{}", a.addr);
    (a, base)
}

const SIGN_IN: &str = r#"{"data": "U:op-7"}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stations_token_opens_only_its_station_and_viewer_and_admin_tokens_do_what_their_role_says(
) {
    let dir = tempfile::tempdir().unwrap();
    let (a, base) = agent(dir.path()).await;
    // Open: health and the page.
    assert_eq!(call(&base, "GET", "/healthz", None, None).await.0, 200);
    assert_eq!(
        call(&base, "GET", "/stations/hh-1", None, None).await.0,
        200
    );
    // No token: 401 in the JSON error shape.
    let (status, body) = call(&base, "GET", "/api/v1/status", None, None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "unauthorized");
    let (status, _) = call(
        &base,
        "POST",
        "/api/v1/stations/hh-1/scan",
        None,
        Some(SIGN_IN),
    )
    .await;
    assert_eq!(status, 401);
    // A station's token: its own station, nothing else.
    let scan = "/api/v1/stations/hh-1/scan";
    assert_eq!(
        call(&base, "POST", scan, Some(HH), Some(SIGN_IN)).await.0,
        200
    );
    assert_eq!(
        call(&base, "GET", "/api/v1/stations/hh-1", Some(HH), None)
            .await
            .0,
        200
    );
    let (status, body) = call(&base, "POST", scan, Some(PACK), Some(SIGN_IN)).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    assert_eq!(
        call(&base, "GET", "/api/v1/status", Some(HH), None).await.0,
        403
    );
    // Viewer: reads, but no station.
    assert_eq!(
        call(&base, "GET", "/api/v1/status", Some(VIEWER), None)
            .await
            .0,
        200
    );
    assert_eq!(
        call(&base, "GET", "/metrics", Some(VIEWER), None).await.0,
        200
    );
    assert_eq!(
        call(&base, "GET", "/api/v1/stations", Some(VIEWER), None)
            .await
            .0,
        200
    );
    assert_eq!(
        call(&base, "POST", scan, Some(VIEWER), Some(SIGN_IN))
            .await
            .0,
        403
    );
    // Admin: everything.
    assert_eq!(
        call(&base, "POST", scan, Some(ADMIN), Some(SIGN_IN))
            .await
            .0,
        200
    );
    assert_eq!(
        call(&base, "GET", "/api/v1/stations/pack-1", Some(ADMIN), None)
            .await
            .0,
        200
    );
    // The event stream takes its token in the query (EventSource sends no headers).
    let client = reqwest::Client::new();
    let events = client
        .get(format!("{base}/api/v1/stations/hh-1/events?token={HH}"))
        .send()
        .await
        .unwrap();
    assert_eq!(events.status().as_u16(), 200);
    drop(events);
    let events = client
        .get(format!("{base}/api/v1/stations/hh-1/events?token={PACK}"))
        .send()
        .await
        .unwrap();
    assert_eq!(events.status().as_u16(), 403);
    // Rejections are counted by reason.
    let (_, metrics) = call(&base, "GET", "/metrics", Some(ADMIN), None).await;
    let metrics = metrics.as_str().unwrap_or_default().to_string();
    assert!(
        metrics.contains("reason=\"unauthorized\"") && metrics.contains("reason=\"forbidden\""),
        "{metrics}"
    );
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unauthenticated_upload_is_refused_from_its_headers_and_bad_tokens_are_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let (a, base) = agent(dir.path()).await;
    // A 1 MB body announced, none sent, no token: 401 at once (the token is checked from the
    // headers, before any body is read).
    let mut tcp = tokio::net::TcpStream::connect(a.addr).await.unwrap();
    tcp.write_all(
        b"POST /api/v1/stations/hh-1/scan HTTP/1.1\r\nhost: agent\r\ncontent-type: application/json\r\ncontent-length: 1000000\r\n\r\n",
    )
    .await
    .unwrap();
    let mut head = [0u8; 12];
    tokio::time::timeout(Duration::from_secs(5), tcp.read_exact(&mut head))
        .await
        .expect("an answer before the body")
        .unwrap();
    assert_eq!(&head, b"HTTP/1.1 401");
    // 20 unknown tokens a minute from one address, then 429 even for a good one.
    for i in 0..19 {
        let (status, _) = call(
            &base,
            "GET",
            "/api/v1/status",
            Some(&format!("guess-{i}")),
            None,
        )
        .await;
        assert_eq!(status, 401);
    }
    let mut limited = false;
    for _ in 0..3 {
        if call(&base, "GET", "/api/v1/status", Some("guess-x"), None)
            .await
            .0
            == 429
        {
            limited = true;
        }
    }
    assert!(limited, "no 429 after 20 bad tokens");
    assert_eq!(
        call(&base, "GET", "/api/v1/status", Some(ADMIN), None)
            .await
            .0,
        429
    );
    a.stop().await;
}

#[test]
fn an_agent_on_a_lan_address_without_an_admin_token_or_with_a_short_token_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let plain = station_config_text(dir.path(), "0.0.0.0:8081", "");
    let err = AgentConfig::from_toml(&plain, Path::new("agent.toml"), &[])
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.starts_with("config key `http.tokens`"), "{err}");
    let short = station_config_text(
        dir.path(),
        "127.0.0.1:8081",
        "[[http.tokens]]\nname = \"x\"\nrole = \"admin\"\ntoken = \"short\"\n",
    );
    let err = AgentConfig::from_toml(&short, Path::new("agent.toml"), &[])
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.starts_with("config key `http.tokens[0].token`"),
        "{err}"
    );
    // With an admin token the LAN address is accepted.
    let ok = tokens_config_text(dir.path(), "0.0.0.0:8081");
    assert!(AgentConfig::from_toml(&ok, Path::new("agent.toml"), &[]).is_ok());
}
