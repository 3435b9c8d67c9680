//! The ops HTTP API (`/api/v1`, bearer tokens with roles), `/healthz`, `/metrics` and the
//! dashboard at `/`. One handler file per capability. Reads come from the read model published
//! after each commit (or, for the event log and audit trail, straight from the store's readers):
//! no read takes the writer's lock or waits for its disk. Every change is a command to the
//! writer, answered after its durable commit; the JSON shapes are written in `crate::dto` only.

pub mod documents;
pub mod error;
pub mod exceptions;
pub mod items;
pub mod kpis;
pub mod metrics;
pub mod nodes;
pub mod orders;
pub mod records;
pub mod stock;

use crate::auth::Tokens;
use crate::config::HubConfig;
use crate::dto;
use crate::mqtt::MqttCounters;
use crate::repo::StoreReader;
use crate::webhooks::WebhookCounters;
use crate::writer::{Request, WriterHandle};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use error::ApiError;
use rumqttc::Publish;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use stockpost_common::orders::Actor;
use stockpost_engine::read::ReadModel;
use stockpost_engine::{ApiCommand, Command, Reply};
use tokio::sync::oneshot;

/// How long a change may wait for the writer.
const WRITER_TIMEOUT: Duration = Duration::from_secs(30);
/// Most rows a list answers.
pub const MAX_LIMIT: usize = 1_000;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    tokens: Arc<Tokens>,
    writer: WriterHandle<Publish>,
    reader: StoreReader,
    mqtt: Arc<MqttCounters>,
    webhooks: Arc<WebhookCounters>,
}

/// A handler's result.
pub type ApiResult = Result<Response, ApiError>;

impl AppState {
    /// Builds it.
    pub fn new(
        config: &HubConfig,
        writer: WriterHandle<Publish>,
        reader: StoreReader,
        mqtt: Arc<MqttCounters>,
        webhooks: Arc<WebhookCounters>,
    ) -> Self {
        Self {
            tokens: Arc::new(Tokens::from_config(&config.auth)),
            writer,
            reader,
            mqtt,
            webhooks,
        }
    }

    /// The read model as of the last commit.
    pub fn model(&self) -> Arc<ReadModel> {
        self.writer.published.get()
    }

    /// Runs an API command through the writer and renders its reply.
    async fn call(&self, op: ApiCommand, actor: Actor) -> ApiResult {
        let (tx, rx) = oneshot::channel();
        let request = Request {
            command: Command::Api { op, actor },
            token: None,
            reply: Some(tx),
        };
        match tokio::time::timeout(WRITER_TIMEOUT, self.writer.tx.send(request)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(ApiError::unavailable("the hub is stopping")),
            Err(_) => return Err(ApiError::unavailable("the hub is busy; try again")),
        }
        let reply = match tokio::time::timeout(WRITER_TIMEOUT, rx).await {
            Ok(Ok(answer)) => answer?,
            Ok(Err(_)) => return Err(ApiError::unavailable("the hub is stopping")),
            Err(_) => {
                return Err(ApiError::unavailable(
                    "the hub did not confirm the change in time; check before retrying",
                ))
            }
        };
        let status = if reply.created() {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        Ok((status, Json(render(&self.model(), &reply))).into_response())
    }
}

/// The JSON of a command's reply.
fn render(model: &ReadModel, reply: &Reply) -> Value {
    match reply {
        Reply::Done => json!({}),
        Reply::Item(r) => dto::catalog::item(r),
        Reply::Node(node, m) => {
            json!({"node": node, "name": m.name, "priority": m.priority, "active": m.active})
        }
        Reply::Location(node, code, info) => json!({"node": node, "code": code, "kind": info.kind,
            "pickable": info.pickable, "capacity": info.capacity}),
        Reply::Document { record, is_return } => dto::documents::document(record, *is_return),
        Reply::Order(o) => dto::orders::order(Some(&model.books), o),
        Reply::Cancelled {
            order,
            put_back_tasks,
            released,
        } => json!({"ref": order, "status": "cancelled", "put_back_tasks": put_back_tasks,
            "released": released.iter().map(|(n, s, q)| json!({"node": n, "sku": s, "qty": q})).collect::<Vec<_>>()}),
        Reply::Released {
            order,
            status,
            tasks,
        } => {
            json!({"ref": order, "status": stockpost_common::orders::status_name(*status), "tasks": tasks})
        }
        Reply::Exception(id, s) => dto::exceptions::exception(*id, s),
        Reply::Adjustment(id, s) => dto::exceptions::adjustment(*id, s),
    }
}

/// Parses a JSON body; the error names the field.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.is_empty() {
        return Err(ApiError::invalid("the request needs a JSON body"));
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            ApiError::invalid(e.inner().to_string())
        } else {
            ApiError::invalid(format!("{path}: {}", e.inner()))
        }
    })
}

/// A validated value, or a 400 naming `field`.
pub fn id<T, E: std::fmt::Display>(field: &str, r: Result<T, E>) -> Result<T, ApiError> {
    r.map_err(|e| ApiError::invalid(format!("{field}: {e}")))
}

/// The router.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/items/{sku}", put(items::put_item).get(items::get_item))
        .route("/items", get(items::list_items))
        .route("/nodes", get(nodes::get_nodes))
        .route("/nodes/{node}", put(nodes::put_node))
        .route("/nodes/{node}/locations/{code}", put(nodes::put_location))
        .route("/nodes/{node}/inbound", post(documents::post_inbound))
        .route("/nodes/{node}/snapshot", get(nodes::get_snapshot))
        .route("/inbound/{doc}", get(documents::get_inbound))
        .route("/orders", post(orders::post_order).get(orders::list_orders))
        .route("/orders/{r}", get(orders::get_order))
        .route("/orders/{r}/cancel", post(orders::cancel_order))
        .route("/orders/{r}/release", post(orders::release_order))
        .route("/returns", post(documents::post_return))
        .route("/stock", get(stock::get_stock))
        .route("/events", get(records::get_events))
        .route("/exceptions", get(exceptions::get_exceptions))
        .route(
            "/exceptions/{id}/resolve",
            post(exceptions::resolve_exception),
        )
        .route("/adjustments", get(exceptions::get_adjustments))
        .route(
            "/adjustments/{id}/approve",
            post(exceptions::approve_adjustment),
        )
        .route(
            "/adjustments/{id}/reject",
            post(exceptions::reject_adjustment),
        )
        .route("/kpis", get(kpis::get_kpis))
        .route("/kpis/chart.svg", get(kpis::get_kpi_chart))
        .route("/tasks", get(records::get_tasks))
        .route("/audit", get(records::get_audit))
        .route("/quarantine", get(records::get_quarantine))
        .route("/webhooks/dead-letters", get(records::get_dead_letters))
        .fallback(not_found);
    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::metrics))
        .route("/", get(crate::dashboard::page))
        .fallback(not_found)
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint; see docs/api.md")
}

async fn healthz(axum::extract::State(app): axum::extract::State<AppState>) -> Response {
    if app.writer.tx.is_closed() {
        (StatusCode::SERVICE_UNAVAILABLE, "writer stopped\n").into_response()
    } else {
        (StatusCode::OK, "ok\n").into_response()
    }
}
