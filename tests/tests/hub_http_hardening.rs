//! The hub's HTTP front (issue #15, item 3): a token before the body, slow and surplus
//! connections closed, failed tokens rate-limited per address, strict JSON bodies, and every
//! error in the documented JSON shape, counted by reason in `/metrics`. Raw TCP where the test
//! is about bytes on the wire, reqwest elsewhere.

#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;
use stockpost_hub::config::HubConfig;
use stockpost_hub::node::HubNode;
use stockpost_tests::hubapi::{hub_config_with_api, Api, OPERATOR, VIEWER};
use stockpost_tests::shift::{poll, WAIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// method, path, token, body, expected status, expected code.
type Case<'a> = (
    &'a str,
    String,
    Option<&'a str>,
    Option<Value>,
    u16,
    &'a str,
);

/// Longest a test waits for an answer the hub gives at once.
const ANSWER: Duration = Duration::from_secs(10);

async fn hub_with(dir: &std::path::Path, tune: impl FnOnce(&mut HubConfig)) -> HubNode {
    let mut config = hub_config_with_api(dir, "127.0.0.1:9", "").unwrap();
    tune(&mut config);
    HubNode::start(config).await.unwrap()
}

/// Reads until the peer closes (or `ANSWER` passes); returns what came.
async fn read_to_close(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    match tokio::time::timeout(ANSWER, stream.read_to_end(&mut buf)).await {
        Ok(_) => Some(String::from_utf8_lossy(&buf).to_string()),
        Err(_) => None,
    }
}

/// The status line's code of a raw HTTP answer.
fn status_of(answer: &str) -> Option<u16> {
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
}

async fn rejections(api: &Api, reason: &str) -> u64 {
    let (_, text) = api.call("GET", "/metrics", None, None).await.unwrap();
    let text = text.as_str().unwrap_or_default().to_string();
    let line = format!("stockpost_hub_http_rejections_total{{reason=\"{reason}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&line))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {line} in /metrics"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_without_a_known_token_is_refused_from_its_headers_without_waiting_for_the_body() {
    let dir = tempfile::tempdir().unwrap();
    let hub = hub_with(dir.path(), |_| {}).await;
    let mut s = TcpStream::connect(hub.http_addr).await.unwrap();
    // Headers announce 1.9 MB; not one byte of it is sent.
    s.write_all(
        b"PUT /api/v1/items/MUG HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n\
          Content-Length: 1900000\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    let mut head = vec![0u8; 4096];
    let n = tokio::time::timeout(ANSWER, s.read(&mut head))
        .await
        .expect("the hub answered without waiting for the body")
        .unwrap();
    let answer = String::from_utf8_lossy(&head[..n]).to_string();
    assert_eq!(status_of(&answer), Some(401), "{answer}");
    assert!(answer.contains("\"unauthorized\""), "{answer}");
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_connections_are_closed_after_the_header_timeout_while_healthz_keeps_answering() {
    let dir = tempfile::tempdir().unwrap();
    let hub = hub_with(dir.path(), |c| c.http.header_timeout_ms = 500).await;
    let api = Api::new(&hub).unwrap();
    let mut slow = Vec::new();
    for _ in 0..1_000 {
        let mut s = TcpStream::connect(hub.http_addr).await.unwrap();
        // A request line and one header, never the blank line that ends the headers.
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: hub\r\n")
            .await
            .unwrap();
        slow.push(s);
    }
    let (status, _) = api.call("GET", "/healthz", None, None).await.unwrap();
    assert_eq!(status, 200, "/healthz answers while 1,000 clients dawdle");
    for (i, s) in slow.iter_mut().enumerate() {
        let closed = read_to_close(s).await;
        assert!(closed.is_some(), "slow connection {i} is still open");
    }
    // A new client: the first one's idle keep-alive connection was closed by the same timeout.
    let fresh = Api::new(&hub).unwrap();
    let (status, _) = fresh.call("GET", "/healthz", None, None).await.unwrap();
    assert_eq!(status, 200);
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_over_the_limit_is_closed_at_once_and_counted_and_a_slot_frees_when_one_closes(
) {
    let dir = tempfile::tempdir().unwrap();
    let hub = hub_with(dir.path(), |c| c.http.max_connections = 3).await;
    let addr: SocketAddr = hub.http_addr;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    // Each held connection sends a request so the hub surely accepted it.
    for s in held.iter_mut() {
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n")
            .await
            .unwrap();
        let mut buf = vec![0u8; 1024];
        let n = tokio::time::timeout(ANSWER, s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(status_of(&String::from_utf8_lossy(&buf[..n])), Some(200));
    }
    let mut over = TcpStream::connect(addr).await.unwrap();
    let _ = over
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n")
        .await;
    let answer = read_to_close(&mut over).await;
    assert_eq!(
        answer.as_deref(),
        Some(""),
        "the fourth connection is closed unanswered"
    );
    drop(held.pop());
    // The freed slot is usable again once the hub has seen the close.
    let api = Api::new(&hub).unwrap();
    poll(
        WAIT,
        "a slot freed by a closed connection to be given to a new one",
        || async {
            Ok(matches!(api.call("GET", "/healthz", None, None).await, Ok((200, _))).then_some(()))
        },
    )
    .await
    .unwrap();
    drop(held);
    assert!(rejections(&api, "connection_limit").await >= 1);
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_allowed_failed_tokens_an_address_gets_429_for_the_rest_of_its_minute() {
    let dir = tempfile::tempdir().unwrap();
    let hub = hub_with(dir.path(), |c| c.http.auth_failures_per_minute = 3).await;
    let api = Api::new(&hub).unwrap();
    let (status, _) = api
        .call("GET", "/api/v1/nodes", Some(VIEWER), None)
        .await
        .unwrap();
    assert_eq!(status, 200, "a good token before any failure");
    for i in 0..3 {
        let (status, body) = api
            .call(
                "GET",
                "/api/v1/nodes",
                Some("not-a-token-of-this-hub"),
                None,
            )
            .await
            .unwrap();
        assert_eq!(status, 401, "failure {i}: {body}");
    }
    let (status, body) = api
        .call(
            "GET",
            "/api/v1/nodes",
            Some("not-a-token-of-this-hub"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
    let (status, _) = api
        .call("GET", "/api/v1/nodes", Some(VIEWER), None)
        .await
        .unwrap();
    assert_eq!(
        status, 429,
        "the address is held off, whatever token it sends now"
    );
    assert_eq!(rejections(&api, "unauthorized").await, 3);
    assert_eq!(rejections(&api, "rate_limited").await, 2);
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_field_or_bytes_after_the_json_are_refused_with_a_400_that_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let hub = hub_with(dir.path(), |_| {}).await;
    let api = Api::new(&hub).unwrap();
    // The typo `gtin` for `gtins` would have stripped the item's barcodes.
    let (status, body) = api
        .call(
            "PUT",
            "/api/v1/items/MUG",
            Some(OPERATOR),
            Some(json!({"description": "Blue mug", "gtin": [{"gtin": "09506000134352"}]})),
        )
        .await
        .unwrap();
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_body");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`gtin`"),
        "{body}"
    );
    let url = format!("http://{}/api/v1/items/MUG", hub.http_addr);
    let r = reqwest::Client::new()
        .put(url)
        .bearer_auth(OPERATOR)
        .header("content-type", "application/json")
        .body(r#"{"description": "Blue mug"} {"description": "Red mug"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("goes on after"),
        "{body}"
    );
    let (status, _) = api
        .call("GET", "/api/v1/items/MUG", Some(VIEWER), None)
        .await
        .unwrap();
    assert_eq!(status, 404, "neither body created the item");
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_404_405_413_414_query_and_auth_is_json_with_a_code_and_counted_by_reason() {
    let dir = tempfile::tempdir().unwrap();
    let hub = hub_with(dir.path(), |c| {
        c.http.max_body_bytes = 1_024;
        c.http.max_uri_bytes = 512;
    })
    .await;
    let api = Api::new(&hub).unwrap();
    let big = json!({"description": "x".repeat(4_096)});
    let long = format!("/api/v1/stock?sku={}", "A".repeat(600));
    let cases: Vec<Case> = vec![
        (
            "GET",
            "/api/v1/no-such-thing".into(),
            Some(VIEWER),
            None,
            404,
            "not_found",
        ),
        ("GET", "/no-such-page".into(), None, None, 404, "not_found"),
        (
            "DELETE",
            "/api/v1/items".into(),
            Some(VIEWER),
            None,
            405,
            "method_not_allowed",
        ),
        (
            "PUT",
            "/api/v1/items/MUG".into(),
            Some(OPERATOR),
            Some(big),
            413,
            "body_too_large",
        ),
        ("GET", long, Some(VIEWER), None, 414, "uri_too_long"),
        (
            "GET",
            "/api/v1/events?limit=lots".into(),
            Some(VIEWER),
            None,
            400,
            "invalid_query",
        ),
        (
            "GET",
            "/api/v1/events?limit=1001".into(),
            Some(VIEWER),
            None,
            400,
            "invalid_query",
        ),
        (
            "GET",
            "/api/v1/nodes".into(),
            None,
            None,
            401,
            "unauthorized",
        ),
    ];
    for (method, path, token, body, status, code) in cases {
        let (got, answer) = api.call(method, &path, token, body).await.unwrap();
        let at = format!("{method} {}", &path[..path.len().min(60)]);
        assert_eq!(got, status, "{at}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{at}: {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{at}: {answer}"
        );
        assert!(
            rejections(&api, code).await >= 1,
            "{at}: {code} not counted"
        );
    }
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_body_never_completes_gets_a_json_408_when_its_time_is_up() {
    let dir = tempfile::tempdir().unwrap();
    let hub = hub_with(dir.path(), |c| c.http.request_timeout_ms = 300).await;
    let mut s = TcpStream::connect(hub.http_addr).await.unwrap();
    let head = format!(
        "PUT /api/v1/items/MUG HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer {OPERATOR}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{{\"desc"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let answer = read_to_close(&mut s)
        .await
        .expect("the hub answered and closed");
    assert_eq!(status_of(&answer), Some(408), "{answer}");
    assert!(answer.contains("\"timeout\""), "{answer}");
    let api = Api::new(&hub).unwrap();
    assert!(rejections(&api, "timeout").await >= 1);
    hub.stop().await;
}
