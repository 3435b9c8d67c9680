//! What can go wrong with a command: it is rejected (the caller asked for something the rules
//! refuse; nothing changed) or the engine failed internally (the round is aborted and nothing
//! of it is committed).

use crate::repo::RepoError;

/// Why a command was refused; the HTTP layer maps the kind to a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectKind {
    /// The request is malformed or names something invalid (400).
    Invalid,
    /// What it names does not exist (404).
    NotFound,
    /// It conflicts with the current state (409).
    Conflict,
    /// The actor may not do this (403).
    Forbidden,
    /// The hub cannot take it now; try again later (503).
    Busy,
}

/// A refused command: a snake_case code and a sentence a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Rejection {
    /// The kind.
    pub kind: RejectKind,
    /// snake_case code for the API's error body.
    pub code: &'static str,
    /// A sentence a person can act on.
    pub message: String,
}

impl Rejection {
    /// `invalid_body`, naming the field in the message.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(RejectKind::Invalid, "invalid_body", message)
    }

    /// `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(RejectKind::NotFound, "not_found", message)
    }

    /// A conflict with its own code.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(RejectKind::Conflict, code, message)
    }

    /// `forbidden`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(RejectKind::Forbidden, "forbidden", message)
    }

    /// `unavailable`: try again later.
    pub fn busy(message: impl Into<String>) -> Self {
        Self::new(RejectKind::Busy, "unavailable", message)
    }

    /// Any rejection.
    pub fn new(kind: RejectKind, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            code,
            message: message.into(),
        }
    }
}

/// The outcome of a command that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// Refused by the rules; the command changed nothing.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The engine or its repository failed; the round must not be committed.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<RepoError> for EngineError {
    fn from(e: RepoError) -> Self {
        EngineError::Internal(e.to_string())
    }
}

/// A result of the engine.
pub type EngineResult<T> = Result<T, EngineError>;

/// An internal error from anything printable (an id that cannot be built, a broken invariant).
pub fn internal(e: impl std::fmt::Display) -> EngineError {
    EngineError::Internal(e.to_string())
}
