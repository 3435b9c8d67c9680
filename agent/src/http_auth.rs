//! Tokens of the agent's local API (docs/agent-http.md, "Tokens").
//!
//! Off on a loopback-only agent with no token configured (the one-machine default). On as soon
//! as a token is configured, and required when `http.listen` is not loopback: then every
//! request but `/healthz` and the station page's HTML and assets needs a token, checked from
//! the headers before any body is read:
//!
//! - a station's own token (`stations[].token_sha256`) opens that station's endpoints
//!   (`/api/v1/stations/{id}` and below) and nothing else;
//! - a `viewer` token (`[[http.tokens]]`) reads status, stock, tasks, the station list and
//!   metrics;
//! - an `admin` token does all of that and every station.
//!
//! A missing or unknown token is `401`, a token of the wrong kind `403`; after
//! `http.auth_failures_per_minute` failures from one address it gets `429` for the rest of its
//! minute, and each failure is logged (up to that many per minute). The event stream may carry
//! its token as `?token=` (a browser's `EventSource` cannot send headers).

use crate::config::AgentConfig;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use stockpost_common::config_error::{invalid, ConfigError};
use stockpost_common::wire::constant_time_eq;
use stockpost_http::Guard;

/// Shortest token accepted.
pub const MIN_TOKEN_LEN: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Viewer,
    Admin,
    Station,
}

/// What a path needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// Nothing (health check, the page and its assets).
    Open,
    /// A viewer or admin token.
    Viewer,
    /// This station's token or an admin token.
    Station(String),
}

/// The tokens the agent knows, by SHA-256.
#[derive(Debug)]
pub struct AgentAuth {
    on: bool,
    known: Vec<(String, [u8; 32], Kind, Option<String>)>,
    guard: Guard,
}

fn sha256(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

fn parse_sha256(hex: &str) -> Option<[u8; 32]> {
    let key = stockpost_common::wire::SyncKey::from_hex(hex).ok()?;
    Some(*key.as_bytes())
}

fn is_loopback(listen: &str) -> bool {
    listen
        .parse::<SocketAddr>()
        .is_ok_and(|a| a.ip().is_loopback())
}

/// Checks the token settings (part of `AgentConfig::validate`).
pub fn validate(config: &AgentConfig) -> Result<(), ConfigError> {
    for (i, t) in config.http.tokens.iter().enumerate() {
        let key = |k: &str| format!("http.tokens[{i}].{k}");
        if !matches!(t.role.as_str(), "viewer" | "admin") {
            return Err(invalid(
                &key("role"),
                format!("{:?} is not viewer or admin", t.role),
            ));
        }
        match (&t.token, &t.sha256) {
            (Some(token), None) if token.chars().count() >= MIN_TOKEN_LEN => {}
            (Some(_), None) => {
                return Err(invalid(
                    &key("token"),
                    format!("give at least {MIN_TOKEN_LEN} characters"),
                ))
            }
            (None, Some(h)) if parse_sha256(h).is_some() => {}
            (None, Some(_)) => return Err(invalid(&key("sha256"), "give 64 hex digits")),
            _ => {
                return Err(invalid(
                    &key("token"),
                    "give exactly one of token or sha256",
                ))
            }
        }
    }
    for (i, s) in config.stations.iter().enumerate() {
        if let Some(h) = &s.token_sha256 {
            if parse_sha256(h).is_none() {
                return Err(invalid(
                    &format!("stations[{i}].token_sha256"),
                    "give 64 hex digits (printf %s TOKEN | sha256sum)",
                ));
            }
        }
    }
    let admin = config.http.tokens.iter().any(|t| t.role == "admin");
    if !is_loopback(&config.http.listen) && !admin {
        return Err(invalid(
            "http.tokens",
            format!(
                "the agent listens on {} (not loopback): give at least one admin token \
                 ([[http.tokens]] with role = \"admin\"), and a token_sha256 per station",
                config.http.listen
            ),
        ));
    }
    if config.http.auth_failures_per_minute == 0 {
        return Err(invalid(
            "http.auth_failures_per_minute",
            "must be at least 1",
        ));
    }
    Ok(())
}

impl AgentAuth {
    /// From a validated configuration.
    pub fn from_config(config: &AgentConfig) -> Self {
        let mut known = Vec::new();
        for t in &config.http.tokens {
            let hash = match (&t.token, &t.sha256) {
                (Some(token), _) => Some(sha256(token)),
                (None, Some(h)) => parse_sha256(h),
                _ => None,
            };
            let kind = if t.role == "admin" {
                Kind::Admin
            } else {
                Kind::Viewer
            };
            if let Some(hash) = hash {
                known.push((t.name.clone(), hash, kind, None));
            }
        }
        for s in &config.stations {
            if let Some(hash) = s.token_sha256.as_deref().and_then(parse_sha256) {
                known.push((s.id.clone(), hash, Kind::Station, Some(s.id.clone())));
            }
        }
        Self {
            on: !known.is_empty() || !is_loopback(&config.http.listen),
            known,
            guard: Guard::new(config.http.auth_failures_per_minute),
        }
    }

    /// Whether tokens are checked at all.
    pub fn is_on(&self) -> bool {
        self.on
    }

    /// What `path` needs.
    pub fn need(path: &str) -> Need {
        if path == "/healthz" || path == "/" || path.starts_with("/stations/") {
            return Need::Open;
        }
        if path.starts_with("/assets/") {
            return Need::Open;
        }
        if let Some(rest) = path.strip_prefix("/api/v1/stations/") {
            let station = rest.split('/').next().unwrap_or_default();
            return Need::Station(station.to_string());
        }
        Need::Viewer
    }

    /// Checks `token` against `need`: `Ok`, or the status and the sentence to answer.
    fn check(&self, need: &Need, token: Option<&str>) -> Result<(), (StatusCode, &'static str)> {
        let Some(token) = token else {
            return Err((
                StatusCode::UNAUTHORIZED,
                "send an Authorization: Bearer <token> header (a station device: pair it with the station's token)",
            ));
        };
        let hash = sha256(token);
        let Some((_, _, kind, station)) = self
            .known
            .iter()
            .find(|(_, h, _, _)| constant_time_eq(h, &hash))
        else {
            return Err((StatusCode::UNAUTHORIZED, "this token is not known here"));
        };
        let allowed = match need {
            Need::Open => true,
            Need::Viewer => matches!(kind, Kind::Viewer | Kind::Admin),
            Need::Station(s) => *kind == Kind::Admin || station.as_deref() == Some(s.as_str()),
        };
        if allowed {
            Ok(())
        } else {
            Err((
                StatusCode::FORBIDDEN,
                "this token does not open this endpoint (a station's token opens only its station)",
            ))
        }
    }
}

/// The token of a request: the bearer header, or for an event stream `?token=`.
fn token_of(req: &Request) -> Option<String> {
    if let Some(v) = req.headers().get(axum::http::header::AUTHORIZATION) {
        let text = v.to_str().ok()?;
        return text.strip_prefix("Bearer ").map(|t| t.trim().to_string());
    }
    if !req.uri().path().ends_with("/events") {
        return None;
    }
    req.uri().query()?.split('&').find_map(|pair| {
        pair.strip_prefix("token=")
            .map(|t| percent_decode(t).unwrap_or_default())
    })
}

/// `%XX` and `+` decoding of a query value (tokens are plain ASCII; a bad escape is `None`).
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// The middleware: tokens before anything else (the body is not read yet).
pub async fn authenticate(
    State(state): State<(Arc<AgentAuth>, Arc<stockpost_http::Front>)>,
    req: Request,
    next: Next,
) -> Response {
    let (auth, front) = state;
    if !auth.is_on() {
        return next.run(req).await;
    }
    let need = AgentAuth::need(req.uri().path());
    if need == Need::Open {
        return next.run(req).await;
    }
    let ip = stockpost_http::guard::client(&req);
    let now = Instant::now();
    if auth.guard.blocked(ip, now) {
        front.count("rate_limited");
        return stockpost_http::error_response(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests with a bad token from this address; wait a minute",
        );
    }
    match auth.check(&need, token_of(&req).as_deref()) {
        Ok(()) => next.run(req).await,
        Err((status, message)) => {
            if status == StatusCode::UNAUTHORIZED {
                let n = auth.guard.failed(ip, now);
                if n <= auth.guard.per_minute {
                    tracing::warn!(client = %ip, path = %req.uri().path(), failures = n,
                        "agent API request with a missing or unknown token refused");
                }
                front.count("unauthorized");
                stockpost_http::error_response(status, "unauthorized", message)
            } else {
                front.count("forbidden");
                stockpost_http::error_response(status, "forbidden", message)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_need_what_the_docs_say() {
        assert_eq!(AgentAuth::need("/healthz"), Need::Open);
        assert_eq!(AgentAuth::need("/stations/hh-1"), Need::Open);
        assert_eq!(AgentAuth::need("/assets/station.js"), Need::Open);
        assert_eq!(AgentAuth::need("/api/v1/status"), Need::Viewer);
        assert_eq!(AgentAuth::need("/metrics"), Need::Viewer);
        assert_eq!(AgentAuth::need("/api/v1/stations"), Need::Viewer);
        assert_eq!(
            AgentAuth::need("/api/v1/stations/hh-1/scan"),
            Need::Station("hh-1".into())
        );
        assert_eq!(
            AgentAuth::need("/api/v1/stations/hh-1"),
            Need::Station("hh-1".into())
        );
    }

    #[test]
    fn a_query_token_is_percent_decoded_and_a_bad_escape_is_refused() {
        assert_eq!(percent_decode("a%2Bb+c").as_deref(), Some("a+b c"));
        assert_eq!(percent_decode("bad%2"), None);
    }
}
