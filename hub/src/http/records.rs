//! The logs and lists ops read: `GET /events`, `/tasks`, `/audit`, `/quarantine`,
//! `/webhooks/dead-letters`.

use super::{id, ApiResult, AppState, MAX_LIMIT};
use crate::dto;
use crate::http::error::ApiError;
use crate::time::format_ms;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use stockpost_common::domain::NodeId;
use stockpost_common::orders::Role;

#[derive(Debug, Deserialize)]
pub(crate) struct EventsQuery {
    #[serde(default)]
    node: Option<String>,
    #[serde(default)]
    after: Option<u64>,
    #[serde(default)]
    limit: Option<usize>,
}

/// `GET /events?node=&after=&limit=` (straight from the store's readers).
pub(crate) async fn get_events(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    let limit = super::limit_param(q.limit, 100)?;
    let node = q.node.as_deref().filter(|n| !n.is_empty());
    let events = match node {
        Some(n) => {
            let node = id("node", NodeId::new(n))?;
            app.reader.events(&node, q.after.unwrap_or(0), limit)?
        }
        None => {
            if q.after.is_some() {
                return Err(ApiError::invalid(
                    "after: give node too; sequences are per node",
                ));
            }
            app.reader.all_events(limit)?
        }
    };
    let next = if events.len() == limit && node.is_some() {
        events.last().map(|e| e.event.id.seq)
    } else {
        None
    };
    let list: Vec<_> = events.iter().map(dto::events::event).collect();
    Ok(Json(json!({ "events": list, "next": next })).into_response())
}

/// `GET /tasks`: in reverse id order.
pub(crate) async fn get_tasks(State(app): State<AppState>, headers: HeaderMap) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    let model = app.model();
    let list: Vec<_> = model
        .books
        .tasks
        .iter()
        .rev()
        .take(MAX_LIMIT)
        .map(|(id, t)| dto::tasks::task(id, t))
        .collect();
    Ok(Json(json!({ "tasks": list })).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct AuditQuery {
    #[serde(default)]
    after: Option<u64>,
    #[serde(default)]
    limit: Option<usize>,
}

/// `GET /audit?after=&limit=`.
pub(crate) async fn get_audit(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<AuditQuery>,
) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    let limit = super::limit_param(q.limit, 100)?;
    let rows = app.reader.audit(q.after.unwrap_or(0), limit)?;
    let next = (rows.len() == limit)
        .then(|| rows.last().map(|(id, _)| *id))
        .flatten();
    let list: Vec<_> = rows
        .into_iter()
        .map(|(id, entry)| {
            let mut v = serde_json::to_value(&entry).unwrap_or_default();
            if let Some(obj) = v.as_object_mut() {
                obj.insert("id".into(), json!(id));
                obj.insert("at".into(), json!(format_ms(entry.at_ms)));
            }
            v
        })
        .collect();
    Ok(Json(json!({ "audit": list, "next": next })).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct QuarantineQuery {
    #[serde(default)]
    node: Option<String>,
}

/// `GET /quarantine?node=`: what could not be used, newest first.
pub(crate) async fn get_quarantine(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<QuarantineQuery>,
) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    let node = q.node.as_deref().filter(|n| !n.is_empty());
    let model = app.model();
    let list: Vec<_> = model
        .books
        .quarantine
        .iter()
        .rev()
        .filter(|(_, r)| node.is_none_or(|n| r.node.as_ref().is_some_and(|x| x.as_str() == n)))
        .take(MAX_LIMIT)
        .map(|(id, r)| dto::quarantine::record(*id, r))
        .collect();
    let stats = model.live.stats;
    Ok(Json(json!({
        "quarantine": list,
        "received": stats.quarantined, "dropped": stats.quarantine_dropped,
    }))
    .into_response())
}

/// `GET /webhooks/dead-letters`.
pub(crate) async fn get_dead_letters(State(app): State<AppState>, headers: HeaderMap) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    Ok(Json(json!({ "dead_letters": app.reader.dead_letters()? })).into_response())
}
