//! The API's error: `{"error": {"code", "message"}}` with a 4xx/5xx status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An error answer of the ops API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// snake_case code.
    pub code: String,
    /// A sentence a person can act on.
    pub message: String,
}

impl ApiError {
    /// Any error.
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_string(),
            message: message.into(),
        }
    }

    /// 400 `invalid_body` naming the field.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, "invalid_body", message)
    }

    /// 404.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(404, "not_found", what)
    }

    /// 409.
    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::new(409, code, message)
    }

    /// 503: the hub cannot take it now; try again.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(503, "unavailable", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        stockpost_http::error_response(status, &self.code, self.message)
    }
}

impl From<stockpost_engine::Rejection> for ApiError {
    fn from(r: stockpost_engine::Rejection) -> Self {
        use stockpost_engine::RejectKind;
        let status = match r.kind {
            RejectKind::Invalid => 400,
            RejectKind::NotFound => 404,
            RejectKind::Conflict => 409,
            RejectKind::Forbidden => 403,
            RejectKind::Busy => 503,
        };
        ApiError::new(status, r.code, r.message)
    }
}

impl From<stockpost_engine::EngineError> for ApiError {
    fn from(e: stockpost_engine::EngineError) -> Self {
        match e {
            stockpost_engine::EngineError::Rejected(r) => r.into(),
            stockpost_engine::EngineError::Internal(_) => ApiError::unavailable(
                "the hub could not store the change; nothing was changed; try again",
            ),
        }
    }
}

impl From<stockpost_engine::repo::RepoError> for ApiError {
    fn from(e: stockpost_engine::repo::RepoError) -> Self {
        ApiError::new(500, "storage", e.to_string())
    }
}
