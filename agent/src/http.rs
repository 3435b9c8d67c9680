//! The agent's local HTTP API (system.md §7): status, stock, health and metrics, plus the
//! station endpoints and the station page (`crate::stations`). See docs/agent-http.md.

use crate::node::AgentNode;
use crate::writer::lock;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use stockpost_common::domain::Place;

/// Shared by every handler.
pub type AppState = Arc<AgentNode>;

/// An error as the contract shapes it.
pub fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    stockpost_http::error_response(status, code, message)
}

/// The routes this module serves, behind the HTTP front (body and target limits, request
/// timeout, one JSON error shape, rejections counted).
pub fn router(state: AppState) -> Router {
    let front = Arc::clone(&state.http_front);
    let max_body = state.config.http.max_body_bytes;
    let auth = Arc::new(crate::http_auth::AgentAuth::from_config(&state.config));
    Router::new()
        .merge(crate::stations::http::routes())
        .merge(crate::stations::page::routes())
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/v1/status", get(status))
        .route("/api/v1/stock", get(stock))
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such endpoint; see docs/agent-http.md",
            )
        })
        .layer(DefaultBodyLimit::max(max_body))
        // Tokens from the headers, before any body is read (inside the front: its error shape,
        // limits and counters apply).
        .layer(axum::middleware::from_fn_with_state(
            (auth, Arc::clone(&front)),
            crate::http_auth::authenticate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            front,
            stockpost_http::front::shape,
        ))
        .with_state(state)
}

async fn healthz(State(node): State<AppState>) -> Response {
    if lock(node.writer.state()).bootstrap_pending {
        let why = node.bootstrap.last_error().unwrap_or_default();
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("waiting for the hub to bootstrap this node: {why}"),
        )
            .into_response();
    }
    if let stockpost_store::StoreHealth::WriteFailing { reason } = node.store.raw().health() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the store's last commit failed: {reason}"),
        )
            .into_response();
    }
    "ok".into_response()
}

/// Serves the API and the station page on `listener` until `shutdown` resolves; also runs
/// the stations' idle sign-out.
pub async fn serve(
    node: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let idle = tokio::spawn({
        let node = Arc::clone(&node);
        async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            loop {
                tick.tick().await;
                node.stations.sign_out_idle().await;
            }
        }
    });
    let limits = stockpost_http::Limits {
        max_connections: node.config.http.max_connections,
        header_timeout: std::time::Duration::from_millis(node.config.http.header_timeout_ms),
    };
    let front = Arc::clone(&node.http_front);
    stockpost_http::serve(listener, router(node), limits, front, shutdown).await;
    idle.abort();
    Ok(())
}

async fn status(State(node): State<AppState>) -> Json<Value> {
    let link = node.link_status.borrow().clone();
    let state = lock(node.writer.state());
    let pending = state.bootstrap_pending;
    Json(json!({
        "bootstrap": {
            "pending": pending,
            "bootstrapped": state.bootstrapped,
            "last_error": if pending { node.bootstrap.last_error() } else { None },
            "attempts": node.bootstrap.attempts.load(Ordering::Relaxed),
        },
        "node": state.node.to_string(),
        "connected": link.connected,
        "outbox_pending": state.head - state.acked,
        "last_seq": state.head,
        "last_acked_seq": state.acked,
        "downlink_applied_seq": state.down_applied,
        "last_error": link.last_error,
    }))
}

#[derive(Debug, Deserialize)]
struct StockQuery {
    sku: Option<String>,
    location: Option<String>,
}

async fn stock(State(node): State<AppState>, Query(q): Query<StockQuery>) -> Json<Value> {
    let state = lock(node.writer.state());
    let balances: Vec<Value> = state
        .ledger
        .balances()
        .filter(|(k, _)| q.sku.as_deref().is_none_or(|s| k.stock.sku.as_str() == s))
        .filter(|(k, _)| {
            q.location.as_deref().is_none_or(|l| match &k.place {
                Place::Location(code) => code.as_str() == l,
                Place::Container(c) => c.as_str() == l,
            })
        })
        .take(10_000)
        .map(|(k, qty)| {
            let (location, container) = match &k.place {
                Place::Location(code) => (Some(code.to_string()), None),
                Place::Container(c) => (None, Some(c.to_string())),
            };
            json!({
                "node": k.node.to_string(),
                "location": location,
                "container": container,
                "sku": k.stock.sku.to_string(),
                "lot": k.stock.lot.as_ref().map(|l| l.to_string()),
                "serial": k.stock.serial.as_ref().map(|s| s.to_string()),
                "expiry": k.stock.expiry.map(|d| d.to_string()),
                "status": k.status,
                "on_hand": qty.to_string(),
            })
        })
        .collect();
    Json(json!({"balances": balances}))
}

async fn metrics(State(node): State<AppState>) -> impl IntoResponse {
    let (head, acked, pending) = {
        let s = lock(node.writer.state());
        (s.head, s.acked, u8::from(s.bootstrap_pending))
    };
    let b = &node.bootstrap;
    let c = &node.link_counters;
    let connected = u8::from(node.link_status.borrow().connected);
    let text = format!(
        "# HELP stockpost_agent_outbox_pending Events committed but not yet acked by the hub.\n\
         # TYPE stockpost_agent_outbox_pending gauge\nstockpost_agent_outbox_pending {}\n\
         # HELP stockpost_agent_last_seq Last committed outbox sequence.\n\
         # TYPE stockpost_agent_last_seq gauge\nstockpost_agent_last_seq {head}\n\
         # HELP stockpost_agent_mqtt_connected 1 when connected to the broker.\n\
         # TYPE stockpost_agent_mqtt_connected gauge\nstockpost_agent_mqtt_connected {connected}\n\
         # TYPE stockpost_agent_batches_sent_total counter\nstockpost_agent_batches_sent_total {}\n\
         # TYPE stockpost_agent_events_sent_total counter\nstockpost_agent_events_sent_total {}\n\
         # TYPE stockpost_agent_bad_messages_total counter\nstockpost_agent_bad_messages_total {}\n\
         # HELP stockpost_agent_unauthenticated_messages_total Messages on this node's topic whose authentication tag did not verify (dropped).\n\
         # TYPE stockpost_agent_unauthenticated_messages_total counter\nstockpost_agent_unauthenticated_messages_total {}\n\
         # TYPE stockpost_agent_mqtt_connects_total counter\nstockpost_agent_mqtt_connects_total {}\n",
        head - acked,
        c.batches_sent.load(Ordering::Relaxed),
        c.events_sent.load(Ordering::Relaxed),
        c.bad_messages.load(Ordering::Relaxed),
        c.unauthenticated.load(Ordering::Relaxed),
        c.connects.load(Ordering::Relaxed),
    );
    let text = format!(
        "{text}# HELP stockpost_agent_store_write_failing 1 while the store's last commit failed (disk full, I/O error).\n\
         # TYPE stockpost_agent_store_write_failing gauge\nstockpost_agent_store_write_failing {}\n\
         # HELP stockpost_agent_bootstrap_pending 1 while the node waits for the hub's snapshot.\n\
         # TYPE stockpost_agent_bootstrap_pending gauge\nstockpost_agent_bootstrap_pending {pending}\n\
         # TYPE stockpost_agent_bootstrap_attempts_total counter\nstockpost_agent_bootstrap_attempts_total {}\n\
         # TYPE stockpost_agent_bootstrap_failures_total counter\nstockpost_agent_bootstrap_failures_total {}\n\
         # HELP stockpost_agent_bootstrap_bad_snapshots_total Snapshots refused for a missing or invalid field.\n\
         # TYPE stockpost_agent_bootstrap_bad_snapshots_total counter\nstockpost_agent_bootstrap_bad_snapshots_total {}\n",
        u8::from(node.store.raw().health().is_write_failing()),
        b.attempts.load(Ordering::Relaxed),
        b.failures.load(Ordering::Relaxed),
        b.bad_snapshots.load(Ordering::Relaxed),
    );
    let text = format!(
        "{text}# HELP stockpost_agent_outbox_depth Entries in the outbox (committed, not acked).\n\
         # TYPE stockpost_agent_outbox_depth gauge\nstockpost_agent_outbox_depth {}\n{}",
        head - acked,
        node.stations.render_metrics()
    );
    let text = format!(
        "{text}{}",
        node.http_front
            .metrics("stockpost_agent_http_rejections_total")
    );
    ([("content-type", "text/plain; version=0.0.4")], text)
}
