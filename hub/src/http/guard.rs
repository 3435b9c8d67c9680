//! Authentication before the body, with failed tokens rate-limited and logged.
//!
//! Every `/api/v1` request must carry a token this hub knows before its body is read; the
//! handler then checks the role its operation needs. After `http.auth_failures_per_minute`
//! failures from one client address that address gets `429` until its minute is over. The limits,
//! the error shape and the rejection counters are `stockpost_http`'s front (see `router`).

use super::error::ApiError;
use super::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use stockpost_common::orders::Role;

/// Most client addresses whose failures are remembered (the oldest windows are forgotten first).
const MAX_TRACKED: usize = 10_000;
const WINDOW: Duration = Duration::from_secs(60);

/// Per-address failed-token windows.
#[derive(Debug)]
pub struct Guard {
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
    per_minute: u32,
}

impl Guard {
    /// Allowing `per_minute` failed token checks per address and minute.
    pub fn new(per_minute: u32) -> Self {
        Self {
            failures: Mutex::new(HashMap::new()),
            per_minute,
        }
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
