//! `GET /exceptions`, `POST /exceptions/{id}/resolve`, `GET /adjustments`,
//! `POST /adjustments/{id}/approve|reject`.

use super::{id, parse, ApiResult, AppState, MAX_LIMIT};
use crate::dto;
use crate::http::error::ApiError;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use stockpost_common::orders::Role;
use stockpost_engine::ApiCommand;

#[derive(Debug, Deserialize)]
pub(crate) struct ExceptionsQuery {
    #[serde(default)]
    open: Option<bool>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    node: Option<String>,
    #[serde(default)]
    order: Option<String>,
}

/// `GET /exceptions?open=&code=&node=&order=`: newest first.
pub(crate) async fn get_exceptions(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ExceptionsQuery>,
) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    let model = app.model();
    let list: Vec<_> = model
        .books
        .exceptions
        .iter()
        .rev()
        .filter(|(_, e)| q.open.is_none_or(|o| e.exception.is_open() == o))
        .filter(|(_, e)| {
            q.code
                .as_deref()
                .is_none_or(|c| dto::code_name(&e.exception.code) == c)
        })
        .filter(|(_, e)| {
            q.node
                .as_deref()
                .is_none_or(|n| e.exception.node.as_ref().is_some_and(|x| x.as_str() == n))
        })
        .filter(|(_, e)| {
            q.order
                .as_deref()
                .is_none_or(|n| e.exception.order.as_ref().is_some_and(|x| x.as_str() == n))
        })
        .take(MAX_LIMIT)
        .map(|(id, e)| dto::exceptions::exception(*id, e))
        .collect();
    Ok(Json(serde_json::json!({ "exceptions": list })).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveBody {
    #[serde(default)]
    note: Option<String>,
}

/// `POST /exceptions/{id}/resolve`.
pub(crate) async fn resolve_exception(
    State(app): State<AppState>,
    Path(ex): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let actor = app.tokens.authorize(&headers, Role::Operator)?;
    let ex: u64 = id("id", ex.parse::<u64>())?;
    let b: ResolveBody = if body.is_empty() {
        ResolveBody::default()
    } else {
        parse(&body)?
    };
    if b.note.as_ref().is_some_and(|n| n.chars().count() > 1000) {
        return Err(ApiError::invalid("note: at most 1000 characters"));
    }
    app.call(
        ApiCommand::ResolveException {
            id: ex,
            note: b.note,
        },
        actor,
    )
    .await
}

/// `GET /adjustments`: newest first.
pub(crate) async fn get_adjustments(State(app): State<AppState>, headers: HeaderMap) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    let model = app.model();
    let list: Vec<_> = model
        .books
        .adjustments
        .iter()
        .rev()
        .take(MAX_LIMIT)
        .map(|(id, a)| dto::exceptions::adjustment(*id, a))
        .collect();
    Ok(Json(serde_json::json!({ "adjustments": list })).into_response())
}

async fn decide(app: AppState, adj: String, headers: HeaderMap, approve: bool) -> ApiResult {
    let actor = app.tokens.authorize(&headers, Role::Approver)?;
    let adj: u64 = id("id", adj.parse::<u64>())?;
    app.call(ApiCommand::DecideAdjustment { id: adj, approve }, actor)
        .await
}

/// `POST /adjustments/{id}/approve`.
pub(crate) async fn approve_adjustment(
    State(app): State<AppState>,
    Path(adj): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    decide(app, adj, headers, true).await
}

/// `POST /adjustments/{id}/reject`.
pub(crate) async fn reject_adjustment(
    State(app): State<AppState>,
    Path(adj): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    decide(app, adj, headers, false).await
}
