//! Authentication before the body, with failed tokens rate-limited and logged.
//!
//! Every `/api/v1` request must carry a token this hub knows before its body is read; the
//! handler then checks the role its operation needs. After `http.auth_failures_per_minute`
//! failures from one client address that address gets `429` until its minute is over. The limits,
//! the error shape and the rejection counters are `stockpost_http`'s front (see `router`).

use super::error::ApiError;
use super::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Instant;
use stockpost_common::orders::Role;
pub use stockpost_http::guard::{client, Guard};

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
