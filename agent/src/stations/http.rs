//! The station endpoints of the local HTTP API (api.md "Agent HTTP"):
//! `POST /api/v1/stations/{station}/scan`, `GET /api/v1/stations/{station}`,
//! `GET /api/v1/stations/{station}/events` (server-sent events), `GET /api/v1/tasks`.

use super::{RuntimeError, StationRuntime};
use crate::http::{error, AppState};
use crate::writer::{lock, WriterError};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// The station routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/stations", get(list))
        .route("/api/v1/stations/{station}", get(station))
        .route("/api/v1/stations/{station}/scan", post(scan))
        .route("/api/v1/stations/{station}/events", get(events))
        .route("/api/v1/stations/{station}/weight", post(weight))
        .route("/api/v1/tasks", get(tasks))
}

fn runtime_error(e: RuntimeError) -> Response {
    match e {
        RuntimeError::UnknownStation(s) => error(
            StatusCode::NOT_FOUND,
            "unknown_station",
            format!("There is no station {s:?} at this node; check the station id in agent.toml"),
        ),
        RuntimeError::Writer(WriterError::Busy) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "Too many steps are waiting to be written; scan again",
        ),
        RuntimeError::Writer(WriterError::NotBootstrapped) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "waiting_for_bootstrap",
            "This node is waiting for the hub to bootstrap it (its store is new or was wiped); \
             nothing was recorded; scan again once the hub is reachable",
        ),
        RuntimeError::Writer(e) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_recorded",
            format!("The step was not recorded ({e}); scan again"),
        ),
    }
}

async fn list(State(node): State<AppState>) -> Json<Value> {
    let ids: Vec<Value> = node
        .stations
        .station_ids()
        .into_iter()
        .filter_map(|id| node.stations.state(&id).ok())
        .collect();
    Json(json!({ "stations": ids }))
}

async fn station(State(node): State<AppState>, Path(id): Path<String>) -> Response {
    match node.stations.state(&id) {
        Ok(v) => Json(v).into_response(),
        Err(e) => runtime_error(e),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScanBody {
    data: String,
}

fn bad_body(message: impl Into<String>) -> Response {
    error(StatusCode::BAD_REQUEST, "invalid_body", message)
}

async fn scan(State(node): State<AppState>, Path(id): Path<String>, body: Bytes) -> Response {
    // 404 before 400: an unknown station is the more useful answer.
    if !node.stations.station_ids().iter().any(|s| s == &id) {
        return runtime_error(RuntimeError::UnknownStation(id));
    }
    let parsed: ScanBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return bad_body(format!(
                "The body must be JSON {{\"data\": \"<what the scanner sent>\"}}: {e}"
            ))
        }
    };
    if parsed.data.contains(['\r', '\n']) {
        return bad_body("data must be one scan, without its CR/LF terminator");
    }
    match node.stations.scan(&id, parsed.data.as_bytes()).await {
        Ok(answer) => Json(answer.to_json()).into_response(),
        Err(e) => runtime_error(e),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WeightBody {
    kg: String,
    #[serde(default = "yes")]
    stable: bool,
}

fn yes() -> bool {
    true
}

/// A scale reading given by hand or by an integration (a station without a scale driver):
/// `{"kg": "1.250", "stable": true}`. Takes the same path as a reading from the scale.
async fn weight(State(node): State<AppState>, Path(id): Path<String>, body: Bytes) -> Response {
    use stockpost_common::scale::{ScaleCondition, WeightReading, WeightUnit};
    if !node.stations.station_ids().iter().any(|s| s == &id) {
        return runtime_error(RuntimeError::UnknownStation(id));
    }
    let parsed: WeightBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return bad_body(format!(
                "The body must be JSON {{\"kg\": \"1.250\", \"stable\": true}}: {e}"
            ))
        }
    };
    let value = match parsed.kg.parse::<rust_decimal::Decimal>() {
        Ok(v) if !v.is_sign_negative() => v,
        _ => {
            return bad_body(format!(
                "kg must be a non-negative decimal string, not {:?}",
                parsed.kg
            ))
        }
    };
    let reading = WeightReading {
        value: Some(value),
        unit: WeightUnit::Kg,
        stable: parsed.stable,
        net: None,
        condition: ScaleCondition::Ok,
        tare: None,
    };
    match node.stations.weight(&id, reading).await {
        Ok(answer) => Json(answer.to_json()).into_response(),
        Err(e) => runtime_error(e),
    }
}

async fn events(State(node): State<AppState>, Path(id): Path<String>) -> Response {
    let (rx, first) = match (node.stations.subscribe(&id), node.stations.state(&id)) {
        (Ok(rx), Ok(first)) => (rx, first),
        (Err(e), _) | (_, Err(e)) => return runtime_error(e),
    };
    let runtime: Arc<crate::node::AgentNode> = Arc::clone(&node);
    let start: Option<Arc<str>> = Some(Arc::from(first.to_string()));
    let stream = futures_util::stream::unfold(
        (rx, start, runtime, id),
        |(mut rx, pending, runtime, id)| async move {
            if let Some(text) = pending {
                let ev = Event::default().event("state").data(text.as_ref());
                return Some((Ok::<_, Infallible>(ev), (rx, None, runtime, id)));
            }
            let text: Arc<str> = match rx.recv().await {
                Ok(text) => text,
                // Fell behind: skip to the current state.
                Err(broadcast::error::RecvError::Lagged(_)) => Arc::from(
                    StationRuntime::state(&runtime.stations, &id)
                        .ok()?
                        .to_string(),
                ),
                Err(broadcast::error::RecvError::Closed) => return None,
            };
            let ev = Event::default().event("state").data(text.as_ref());
            Some((Ok(ev), (rx, None, runtime, id)))
        },
    );
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

#[derive(Debug, Deserialize)]
struct TasksQuery {
    status: Option<String>,
    kind: Option<String>,
}

async fn tasks(State(node): State<AppState>, Query(q): Query<TasksQuery>) -> Response {
    let want_open = match q.status.as_deref() {
        None | Some("all") => None,
        Some("open") => Some(true),
        Some("closed") => Some(false),
        Some(other) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                format!("status must be open, closed or all, not {other:?}"),
            )
        }
    };
    let state = lock(node.writer.state());
    let list: Vec<Value> = state
        .tasks
        .values()
        .filter(|r| want_open.is_none_or(|o| r.progress.status.is_open() == o))
        .filter(|r| q.kind.as_deref().is_none_or(|k| r.spec.kind.as_str() == k))
        .take(10_000)
        .map(|r| {
            let lines: Vec<Value> = r
                .spec
                .lines
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let p = r.line_progress(i);
                    json!({
                        "sku": l.sku.to_string(),
                        "qty": l.qty.get().to_string(),
                        "done": p.done.get().to_string(),
                        "closed": p.closed,
                        "location": l.location.as_ref().map(|c| c.to_string()),
                        "to": l.to.as_ref().map(|c| c.to_string()),
                        "lot": l.lot.as_ref().map(|c| c.to_string()),
                    })
                })
                .collect();
            json!({
                "id": r.spec.id.to_string(),
                "kind": r.spec.kind.as_str(),
                "ref": r.spec.reference(),
                "status": r.progress.status,
                "station": r.progress.station.as_ref().map(|s| s.to_string()),
                "priority": r.spec.priority,
                "due_ms": r.spec.due_ms,
                "blind": r.spec.blind,
                "container": r.spec.container.as_ref().map(|c| c.to_string()),
                "locations": r.spec.locations.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
                "lines": lines,
            })
        })
        .collect();
    Json(json!({ "tasks": list })).into_response()
}
