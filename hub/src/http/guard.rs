//! What stands in front of every handler:
//!
//! - **Authentication before the body.** Every `/api/v1` request must carry a token this hub
//!   knows before its body is read; the handler then checks the role its operation needs.
//! - **Failed tokens are rate-limited and logged** per client address: after
//!   `http.auth_failures_per_minute` failures that address gets `429` until its minute is over.
//! - **Limits:** the request target (`414` above `http.max_uri_bytes`), the time to answer
//!   (`408` after `http.request_timeout_ms`); the body limit is `DefaultBodyLimit` (`413`).
//! - **One error shape.** Any error answer that is not already `{"error": {"code", "message"}}`
//!   (axum's own 405, 413 or query-string rejections) is rewritten into it, and every rejection
//!   is counted by reason for `/metrics`.

use super::error::{ApiError, ErrorCode};
use super::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use stockpost_common::orders::Role;

/// The reasons a request is rejected, as `/metrics` labels them.
pub const REASONS: [&str; 14] = [
    "unauthorized",
    "forbidden",
    "rate_limited",
    "invalid_body",
    "invalid_query",
    "not_found",
    "method_not_allowed",
    "body_too_large",
    "uri_too_long",
    "timeout",
    "conflict",
    "unavailable",
    "connection_limit",
    "other",
];

/// Most client addresses whose failures are remembered (the oldest windows are forgotten first).
const MAX_TRACKED: usize = 10_000;
const WINDOW: Duration = Duration::from_secs(60);
/// Longest error text kept when rewriting a plain-text error answer.
const MAX_ERROR_TEXT: usize = 4 * 1024;

/// Per-address failed-token windows and the rejection counters.
#[derive(Debug)]
pub struct Guard {
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
    per_minute: u32,
    max_uri: usize,
    timeout: Duration,
    rejected: [AtomicU64; REASONS.len()],
}

impl Guard {
    /// With the `[http]` limits.
    pub fn new(config: &crate::config::HttpConfig) -> Self {
        Self {
            failures: Mutex::new(HashMap::new()),
            per_minute: config.auth_failures_per_minute,
            max_uri: config.max_uri_bytes,
            timeout: Duration::from_millis(config.request_timeout_ms),
            rejected: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    /// Counts one rejection of `reason` (unknown reasons count as `other`).
    pub fn count(&self, reason: &str) {
        let i = REASONS
            .iter()
            .position(|r| *r == reason)
            .unwrap_or(REASONS.len() - 1);
        self.rejected[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Rejections so far, per reason.
    pub fn rejections(&self) -> Vec<(&'static str, u64)> {
        REASONS
            .iter()
            .zip(&self.rejected)
            .map(|(r, n)| (*r, n.load(Ordering::Relaxed)))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, (Instant, u32)>> {
        self.failures.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// True when `ip` used up its failures for this minute.
    fn blocked(&self, ip: IpAddr, now: Instant) -> bool {
        self.lock()
            .get(&ip)
            .is_some_and(|(start, n)| now.duration_since(*start) < WINDOW && *n >= self.per_minute)
    }

    /// Notes a failed token check from `ip`; returns how many it made this minute.
    fn failed(&self, ip: IpAddr, now: Instant) -> u32 {
        let mut map = self.lock();
        if map.len() >= MAX_TRACKED && !map.contains_key(&ip) {
            map.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
            if map.len() >= MAX_TRACKED {
                if let Some(oldest) = map.iter().min_by_key(|(_, (s, _))| *s).map(|(k, _)| *k) {
                    map.remove(&oldest);
                }
            }
        }
        let entry = map.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.1
    }
}

fn client(req: &Request) -> IpAddr {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip())
}

/// `/api/v1`: a known token before anything else, rate-limited failures.
pub async fn authenticate(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let ip = client(&req);
    let now = Instant::now();
    if app.guard.blocked(ip, now) {
        return ApiError::new(
            429,
            "rate_limited",
            "too many requests with a bad token from this address; wait a minute",
        )
        .into_response();
    }
    if let Err(e) = app.tokens.authorize(req.headers(), Role::Viewer) {
        let n = app.guard.failed(ip, now);
        if n <= app.guard.per_minute {
            tracing::warn!(client = %ip, path = %req.uri().path(), failures = n,
                "API request with a missing or unknown token refused");
        }
        return e.into_response();
    }
    next.run(req).await
}

/// Every request: the target's length, the time to answer, one error shape, rejections counted.
pub async fn shape(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let target = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    let response = if target > app.guard.max_uri {
        ApiError::new(
            414,
            "uri_too_long",
            format!(
                "the request target is {target} bytes; at most {} are accepted",
                app.guard.max_uri
            ),
        )
        .into_response()
    } else {
        match tokio::time::timeout(app.guard.timeout, next.run(req)).await {
            Ok(r) => r,
            Err(_) => ApiError::new(408, "timeout", "the request was not complete in time")
                .into_response(),
        }
    };
    if response.status().as_u16() < 400 {
        return response;
    }
    if let Some(code) = response.extensions().get::<ErrorCode>() {
        app.guard
            .count(reason_of(code.0.as_str(), response.status()));
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json || response.status() == StatusCode::SERVICE_UNAVAILABLE && is_health(&response) {
        app.guard.count("other");
        return response;
    }
    let status = response.status();
    let text = match axum::body::to_bytes(response.into_body(), MAX_ERROR_TEXT).await {
        Ok(b) => String::from_utf8_lossy(&b).trim().to_string(),
        Err(_) => String::new(),
    };
    let e = rewrite(status, text);
    app.guard.count(reason_of(&e.code, status));
    e.into_response()
}

/// `/healthz` answers 503 in plain text on purpose (load balancers read the status only).
fn is_health(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"))
}

/// The JSON error for a plain error answer of `status` with `text`.
fn rewrite(status: StatusCode, text: String) -> ApiError {
    let (code, default) = match status.as_u16() {
        400 if text.starts_with("Failed to deserialize query string") => {
            ("invalid_query", "the query string is not valid")
        }
        400 => ("invalid_body", "the request is not valid"),
        404 => ("not_found", "no such endpoint; see docs/api.md"),
        405 => (
            "method_not_allowed",
            "this endpoint does not answer that method",
        ),
        408 => ("timeout", "the request was not complete in time"),
        413 => (
            "body_too_large",
            "the body is larger than http.max_body_bytes",
        ),
        414 => ("uri_too_long", "the request target is too long"),
        415 => ("invalid_body", "send the body as application/json"),
        _ => ("other", "the request was refused"),
    };
    let message = if text.is_empty() {
        default.to_string()
    } else {
        text
    };
    ApiError::new(status.as_u16(), code, message)
}

/// The `/metrics` reason of an error `code` answered with `status`.
fn reason_of(code: &str, status: StatusCode) -> &str {
    if REASONS.contains(&code) {
        return REASONS
            .iter()
            .find(|r| **r == code)
            .copied()
            .unwrap_or("other");
    }
    match status.as_u16() {
        400 => "invalid_body",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        409 => "conflict",
        429 => "rate_limited",
        500..=599 => "unavailable",
        _ => "other",
    }
}
