//! `GET /nodes`, `PUT /nodes/{node}`, `POST /nodes/{node}/credential`,
//! `PUT /nodes/{node}/locations/{code}`, `GET /nodes/{node}/snapshot`.

use super::{id, parse, ApiResult, AppState};
use crate::dto;
use crate::http::error::ApiError;
use crate::time::now_ms;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use stockpost_common::domain::{LocationCode, LocationInfo, LocationKind, NodeId, NonNegQty};
use stockpost_common::orders::Role;
use stockpost_common::wire::SyncKey;
use stockpost_engine::command::CredentialChoice;
use stockpost_engine::records::NodeMaster;
use stockpost_engine::ApiCommand;

fn default_true() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeBody {
    name: String,
    #[serde(default)]
    priority: u32,
    #[serde(default = "default_true")]
    active: bool,
    /// `HH:MM` UTC.
    #[serde(default)]
    cutoff: Option<String>,
    /// The node's sync credential, 64 hex digits, when the caller provisions it; else a node
    /// without one is issued one and the answer shows it once.
    #[serde(default)]
    credential: Option<String>,
}

/// A sync credential drawn from the operating system's secure random source (through rand's
/// thread-local CSPRNG, seeded from the OS).
pub(crate) fn fresh_key() -> SyncKey {
    use rand::Rng;
    SyncKey::from_bytes(rand::rng().random())
}

fn parse_cutoff(text: &str) -> Option<i64> {
    let (h, m) = text.split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some((h * 60 + m) * 60_000)
}

/// `PUT /nodes/{node}`.
pub(crate) async fn put_node(
    State(app): State<AppState>,
    Path(node): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let actor = app.tokens.authorize(&headers, Role::Admin)?;
    let node = id("node", NodeId::new(node))?;
    let b: NodeBody = parse(&body)?;
    if b.name.trim().is_empty() || b.name.chars().count() > 100 {
        return Err(ApiError::invalid("name: give 1 to 100 characters"));
    }
    let cutoff_ms_of_day = match &b.cutoff {
        Some(c) => Some(
            parse_cutoff(c)
                .ok_or_else(|| ApiError::invalid(format!("cutoff: {c:?} is not HH:MM (UTC)")))?,
        ),
        None => None,
    };
    let credential = match &b.credential {
        Some(hex) => CredentialChoice::Set(
            SyncKey::from_hex(hex).map_err(|e| ApiError::invalid(format!("credential: {e}")))?,
        ),
        None => CredentialChoice::KeepOrIssue(fresh_key()),
    };
    let master = NodeMaster {
        name: b.name,
        priority: b.priority,
        active: b.active,
        cutoff_ms_of_day,
    };
    app.call(ApiCommand::PutNode(node, master, credential), actor)
        .await
}

/// `POST /nodes/{node}/credential`: issues a new sync credential for the node and shows it
/// once; the old one stops working at once (docs/security.md, rotation).
pub(crate) async fn issue_credential(
    State(app): State<AppState>,
    Path(node): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let actor = app.tokens.authorize(&headers, Role::Admin)?;
    let node = id("node", NodeId::new(node))?;
    app.call(ApiCommand::IssueCredential(node, fresh_key()), actor)
        .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LocationBody {
    kind: LocationKind,
    #[serde(default)]
    pickable: Option<bool>,
    #[serde(default)]
    capacity: Option<NonNegQty>,
}

/// `PUT /nodes/{node}/locations/{code}`.
pub(crate) async fn put_location(
    State(app): State<AppState>,
    Path((node, code)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let actor = app.tokens.authorize(&headers, Role::Operator)?;
    let node = id("node", NodeId::new(node))?;
    let code = id("code", LocationCode::new(code))?;
    let b: LocationBody = parse(&body)?;
    let info = LocationInfo {
        kind: b.kind,
        pickable: b.pickable.unwrap_or_else(|| b.kind.pickable_by_default()),
        capacity: b.capacity,
    };
    app.call(ApiCommand::PutLocation(node, code, info), actor)
        .await
}

/// `GET /nodes`.
pub(crate) async fn get_nodes(State(app): State<AppState>, headers: HeaderMap) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    Ok(Json(dto::nodes::nodes(&app.model(), now_ms())).into_response())
}

/// `GET /nodes/{node}/snapshot`: what a new or wiped node needs to start, as of one commit.
pub(crate) async fn get_snapshot(
    State(app): State<AppState>,
    Path(node): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    let node = id("node", NodeId::new(node))?;
    let model = app.model();
    let snapshot = stockpost_engine::snapshot::of(&model.books, &node)
        .ok_or_else(|| ApiError::not_found(format!("node {node} is not registered")))?;
    Ok(Json(dto::nodes::snapshot(&snapshot, now_ms())).into_response())
}
