//! The error shape, the target and time limits, and the rejection counters.

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The reasons a request (or connection) is refused, as `/metrics` labels them.
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

/// Longest error text kept when rewriting a plain-text error answer.
const MAX_ERROR_TEXT: usize = 4 * 1024;

/// The code of an error answer, kept in the response's extensions so the counters need not
/// read the body. [`error_response`] sets it.
#[derive(Debug, Clone)]
pub struct ErrorCode(pub String);

/// `{"error": {"code", "message"}}` with `status`, its code kept for the counters.
pub fn error_response(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = serde_json::json!({"error": {"code": code, "message": message.into()}});
    let mut response = (status, axum::Json(body)).into_response();
    response
        .extensions_mut()
        .insert(ErrorCode(code.to_string()));
    response
}

/// The limits [`Front`] enforces.
#[derive(Debug, Clone, Copy)]
pub struct FrontLimits {
    /// Longest request target (path and query), bytes.
    pub max_uri_bytes: usize,
    /// Time to answer a request.
    pub request_timeout: Duration,
}

/// The limits and the rejection counters of one server.
#[derive(Debug)]
pub struct Front {
    limits: FrontLimits,
    rejected: [AtomicU64; REASONS.len()],
}

impl Front {
    /// With `limits`.
    pub fn new(limits: FrontLimits) -> Self {
        Self {
            limits,
            rejected: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    /// Counts one rejection of `reason` (an unknown reason counts as `other`).
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

    /// The `/metrics` lines of the counters under `name` (a counter with a `reason` label).
    pub fn metrics(&self, name: &str) -> String {
        let mut out = format!(
            "# HELP {name} HTTP requests (or connections) refused, by reason.\n# TYPE {name} counter\n"
        );
        for (reason, n) in self.rejections() {
            out.push_str(&format!("{name}{{reason=\"{reason}\"}} {n}\n"));
        }
        out
    }
}

/// The middleware (`axum::middleware::from_fn_with_state(front, shape)`): the target's length,
/// the time to answer, one error shape, every rejection counted.
pub async fn shape(State(front): State<Arc<Front>>, req: Request, next: Next) -> Response {
    let target = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    let limits = front.limits;
    let response = if target > limits.max_uri_bytes {
        error_response(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!(
                "the request target is {target} bytes; at most {} are accepted",
                limits.max_uri_bytes
            ),
        )
    } else {
        match tokio::time::timeout(limits.request_timeout, next.run(req)).await {
            Ok(r) => r,
            Err(_) => error_response(
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                "the request was not complete in time",
            ),
        }
    };
    if response.status().as_u16() < 400 {
        return response;
    }
    if let Some(code) = response.extensions().get::<ErrorCode>() {
        front.count(reason_of(code.0.as_str(), response.status()));
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    // JSON already; or `/healthz`'s plain-text 503, which load balancers read by status.
    let health = response.status() == StatusCode::SERVICE_UNAVAILABLE
        && content_type.starts_with("text/plain");
    if content_type.starts_with("application/json") || health {
        front.count(reason_of("", response.status()));
        return response;
    }
    let status = response.status();
    let text = match axum::body::to_bytes(response.into_body(), MAX_ERROR_TEXT).await {
        Ok(b) => String::from_utf8_lossy(&b).trim().to_string(),
        Err(_) => String::new(),
    };
    let (code, message) = rewrite(status, text);
    front.count(reason_of(code, status));
    error_response(status, code, message)
}

/// The code and message for a plain error answer of `status` with `text`.
fn rewrite(status: StatusCode, text: String) -> (&'static str, String) {
    let (code, default) = match status.as_u16() {
        400 if text.starts_with("Failed to deserialize query string") => {
            ("invalid_query", "the query string is not valid")
        }
        400 => ("invalid_body", "the request is not valid"),
        404 => ("not_found", "no such endpoint"),
        405 => (
            "method_not_allowed",
            "this endpoint does not answer that method",
        ),
        408 => ("timeout", "the request was not complete in time"),
        413 => (
            "body_too_large",
            "the body is larger than this server accepts",
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
    (code, message)
}

/// The `/metrics` reason of an error `code` answered with `status`.
fn reason_of(code: &str, status: StatusCode) -> &'static str {
    if let Some(r) = REASONS.iter().find(|r| **r == code) {
        return r;
    }
    match status.as_u16() {
        400 => "invalid_body",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        409 => "conflict",
        429 => "rate_limited",
        500..=599 => "unavailable",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_string_rejection_is_invalid_query_and_keeps_axums_words() {
        let (code, message) = rewrite(
            StatusCode::BAD_REQUEST,
            "Failed to deserialize query string: limit: invalid digit".into(),
        );
        assert_eq!(code, "invalid_query");
        assert!(message.contains("limit"));
    }

    #[test]
    fn an_empty_plain_error_gets_a_sentence() {
        let (code, message) = rewrite(StatusCode::METHOD_NOT_ALLOWED, String::new());
        assert_eq!(code, "method_not_allowed");
        assert!(!message.is_empty());
    }

    #[test]
    fn engine_codes_count_under_their_status() {
        assert_eq!(
            reason_of("duplicate_order", StatusCode::CONFLICT),
            "conflict"
        );
        assert_eq!(
            reason_of("uri_too_long", StatusCode::URI_TOO_LONG),
            "uri_too_long"
        );
        assert_eq!(reason_of("x", StatusCode::IM_A_TEAPOT), "other");
    }

    #[test]
    fn an_unknown_reason_is_counted_as_other() {
        let front = Front::new(FrontLimits {
            max_uri_bytes: 1,
            request_timeout: Duration::from_secs(1),
        });
        front.count("nonsense");
        let other = front.rejections().into_iter().find(|(r, _)| *r == "other");
        assert_eq!(other, Some(("other", 1)));
    }
}
