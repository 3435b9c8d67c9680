//! The ops HTTP API (`/api/v1`, bearer tokens with roles), `/healthz`, `/metrics` and the
//! dashboard at `/`. One handler file per capability. Reads come from the read model published
//! after each commit (or, for the event log and audit trail, straight from the store's readers):
//! no read takes the writer's lock or waits for its disk. Every change is a command to the
//! writer, answered after its durable commit; the JSON shapes are written in `crate::dto` only.

pub mod documents;
pub mod error;
pub mod exceptions;
pub mod guard;
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
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put, MethodRouter};
use axum::{Json, Router};
use error::ApiError;
use rumqttc::Publish;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use stockpost_common::domain::NodeId;
use stockpost_common::orders::Actor;
use stockpost_common::wire::SyncKey;
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
    guard: Arc<guard::Guard>,
    front: Arc<stockpost_http::Front>,
    max_body: usize,
    credentials_dir: Option<std::path::PathBuf>,
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
            guard: Arc::new(guard::Guard::new(config.http.auth_failures_per_minute)),
            credentials_dir: config.credentials.resolved_dir(&config.data_dir),
            front: Arc::new(stockpost_http::Front::new(stockpost_http::FrontLimits {
                max_uri_bytes: config.http.max_uri_bytes,
                request_timeout: Duration::from_millis(config.http.request_timeout_ms),
            })),
            max_body: config.http.max_body_bytes,
        }
    }

    /// The HTTP front (its rejection counters feed `/metrics`).
    pub fn front(&self) -> Arc<stockpost_http::Front> {
        Arc::clone(&self.front)
    }

    /// The read model as of the last commit.
    pub fn model(&self) -> Arc<ReadModel> {
        self.writer.published.get()
    }

    /// Writes a credential the reply issued to `credentials.dir`, when set.
    fn drop_credential(&self, reply: &Reply) {
        let (Some(dir), Some((node, key))) = (&self.credentials_dir, issued_credential(reply))
        else {
            return;
        };
        let path = dir.join(format!("{node}.key"));
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        if let Err(e) = builder.create(dir) {
            tracing::error!(%node, error = %e, dir = %dir.display(), "cannot create credentials.dir; the credential is in the answer");
            return;
        }
        match crate::cli::write_credential(&path, key) {
            Ok(()) => {
                tracing::info!(%node, path = %path.display(), "wrote the node's sync credential")
            }
            Err(e) => {
                tracing::error!(%node, error = %e, "the node's sync credential was issued but not written; it is in the answer")
            }
        }
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
        self.drop_credential(&reply);
        let status = if reply.created() {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        Ok((status, Json(render(&self.model(), &reply))).into_response())
    }
}

/// The node and credential a reply issued, if any.
fn issued_credential(reply: &Reply) -> Option<(&NodeId, &SyncKey)> {
    match reply {
        Reply::Node(node, _, Some(key)) | Reply::Credential(node, key) => Some((node, key)),
        _ => None,
    }
}

/// The JSON of a command's reply.
fn render(model: &ReadModel, reply: &Reply) -> Value {
    match reply {
        Reply::Done => json!({}),
        Reply::Item(r) => dto::catalog::item(r),
        Reply::Node(node, m, issued) => {
            let mut v =
                json!({"node": node, "name": m.name, "priority": m.priority, "active": m.active});
            if let (Some(key), Some(map)) = (issued, v.as_object_mut()) {
                map.insert("credential".into(), json!(key.to_hex()));
            }
            v
        }
        Reply::Credential(node, key) => json!({"node": node, "credential": key.to_hex()}),
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
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            ApiError::invalid(e.inner().to_string())
        } else {
            ApiError::invalid(format!("{path}: {}", e.inner()))
        }
    })?;
    de.end()
        .map_err(|e| ApiError::invalid(format!("the body goes on after its JSON value ({e})")))?;
    Ok(value)
}

/// The `limit` query parameter of a list: `default` when absent, a `400 invalid_query` when it
/// is 0 or above [`MAX_LIMIT`] (never silently cut).
pub fn limit_param(limit: Option<usize>, default: usize) -> Result<usize, ApiError> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::new(
            400,
            "invalid_query",
            format!("limit: {n} is not between 1 and {MAX_LIMIT}"),
        )),
    }
}

/// A validated value, or a 400 naming `field`.
pub fn id<T, E: std::fmt::Display>(field: &str, r: Result<T, E>) -> Result<T, ApiError> {
    r.map_err(|e| ApiError::invalid(format!("{field}: {e}")))
}

/// One route of `/api/v1`: its path (axum syntax), the methods it answers, and its handlers.
pub struct ApiRoute {
    /// The path under `/api/v1`.
    pub path: &'static str,
    /// The methods it answers (any other gets `405`).
    pub methods: &'static [&'static str],
    handler: MethodRouter<AppState>,
}

impl std::fmt::Debug for ApiRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiRoute")
            .field("path", &self.path)
            .field("methods", &self.methods)
            .finish_non_exhaustive()
    }
}

fn r(
    path: &'static str,
    methods: &'static [&'static str],
    handler: MethodRouter<AppState>,
) -> ApiRoute {
    ApiRoute {
        path,
        methods,
        handler,
    }
}

/// Every route of `/api/v1`: the router is built from this list, and the OpenAPI document is
/// checked against it (tests/tests/openapi.rs).
pub fn api_routes() -> Vec<ApiRoute> {
    vec![
        r("/items", &["GET"], get(items::list_items)),
        r(
            "/items/{sku}",
            &["PUT", "GET"],
            put(items::put_item).get(items::get_item),
        ),
        r("/nodes", &["GET"], get(nodes::get_nodes)),
        r("/nodes/{node}", &["PUT"], put(nodes::put_node)),
        r(
            "/nodes/{node}/credential",
            &["POST"],
            post(nodes::issue_credential),
        ),
        r(
            "/nodes/{node}/locations/{code}",
            &["PUT"],
            put(nodes::put_location),
        ),
        r(
            "/nodes/{node}/inbound",
            &["POST"],
            post(documents::post_inbound),
        ),
        r("/nodes/{node}/snapshot", &["GET"], get(nodes::get_snapshot)),
        r("/inbound/{doc}", &["GET"], get(documents::get_inbound)),
        r(
            "/orders",
            &["POST", "GET"],
            post(orders::post_order).get(orders::list_orders),
        ),
        r("/orders/{ref}", &["GET"], get(orders::get_order)),
        r(
            "/orders/{ref}/cancel",
            &["POST"],
            post(orders::cancel_order),
        ),
        r(
            "/orders/{ref}/release",
            &["POST"],
            post(orders::release_order),
        ),
        r("/returns", &["POST"], post(documents::post_return)),
        r("/stock", &["GET"], get(stock::get_stock)),
        r("/events", &["GET"], get(records::get_events)),
        r("/exceptions", &["GET"], get(exceptions::get_exceptions)),
        r(
            "/exceptions/{id}/resolve",
            &["POST"],
            post(exceptions::resolve_exception),
        ),
        r("/adjustments", &["GET"], get(exceptions::get_adjustments)),
        r(
            "/adjustments/{id}/approve",
            &["POST"],
            post(exceptions::approve_adjustment),
        ),
        r(
            "/adjustments/{id}/reject",
            &["POST"],
            post(exceptions::reject_adjustment),
        ),
        r("/kpis", &["GET"], get(kpis::get_kpis)),
        r("/kpis/chart.svg", &["GET"], get(kpis::get_kpi_chart)),
        r("/tasks", &["GET"], get(records::get_tasks)),
        r("/audit", &["GET"], get(records::get_audit)),
        r("/quarantine", &["GET"], get(records::get_quarantine)),
        r(
            "/webhooks/dead-letters",
            &["GET"],
            get(records::get_dead_letters),
        ),
    ]
}

/// The router.
pub fn router(state: AppState) -> Router {
    let mut api = Router::new();
    for route in api_routes() {
        api = api.route(route.path, route.handler);
    }
    let api = api
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(state.max_body))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::authenticate,
        ));
    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::metrics))
        .route("/", get(crate::dashboard::page))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.front(),
            stockpost_http::front::shape,
        ))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint; see docs/api.md")
}

async fn healthz(axum::extract::State(app): axum::extract::State<AppState>) -> Response {
    if app.writer.tx.is_closed() {
        return (StatusCode::SERVICE_UNAVAILABLE, "writer stopped\n").into_response();
    }
    match app.reader.write_failure() {
        Some(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the store's last commit failed: {reason}\n"),
        )
            .into_response(),
        None => (StatusCode::OK, "ok\n").into_response(),
    }
}
