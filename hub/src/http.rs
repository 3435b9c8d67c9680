//! The ops HTTP API (`/api/v1`, bearer tokens with roles), `/healthz`, `/metrics` and the
//! dashboard at `/`. Reads look at the shared state; every change is sent to the ingest writer
//! as an [`ApiOp`] and answered after its durable commit.

use crate::auth::Tokens;
use crate::config::HubConfig;
use crate::error::ApiError;
use crate::ingest::{lock, ApiOp, HubState, IngestHandle, IngestRequest};
use crate::mqtt::MqttCounters;
use crate::ops::{self, DocLine, ItemRecord, NodeMaster};
use crate::stock_view;
use crate::store::HubStore;
use crate::time::{format_ms, now_ms, parse_rfc3339};
use crate::webhooks::Webhooks;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use rumqttc::Publish;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use stockpost_common::domain::{
    Date, Dec, DocRef, Item, ItemGtin, LocationCode, LocationInfo, LocationKind, Lot, NodeId,
    NonNegQty, OrderRef, Qty, Sku, Tracking,
};
use stockpost_common::orders::{compute_kpis, Actor, NewOrder, NewOrderLine, Role};
use tokio::sync::oneshot;

/// How long a change may wait for the writer.
const WRITER_TIMEOUT: Duration = Duration::from_secs(30);
/// Most rows a list answers.
const MAX_LIMIT: usize = 1_000;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    tokens: Arc<Tokens>,
    store: HubStore,
    ingest: IngestHandle<Publish>,
    mqtt: Arc<MqttCounters>,
    webhooks: Arc<Webhooks>,
}

impl AppState {
    /// Builds it.
    pub fn new(
        config: &HubConfig,
        store: HubStore,
        ingest: IngestHandle<Publish>,
        mqtt: Arc<MqttCounters>,
        webhooks: Arc<Webhooks>,
    ) -> Self {
        Self {
            tokens: Arc::new(Tokens::from_config(&config.auth)),
            store,
            ingest,
            mqtt,
            webhooks,
        }
    }

    async fn call(&self, op: ApiOp, actor: Actor) -> Result<Response, ApiError> {
        let (tx, rx) = oneshot::channel();
        let request = IngestRequest::Api {
            op,
            actor,
            reply: tx,
        };
        match tokio::time::timeout(WRITER_TIMEOUT, self.ingest.tx.send(request)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(ApiError::unavailable("the hub is stopping")),
            Err(_) => return Err(ApiError::unavailable("the hub is busy; try again")),
        }
        let (status, body) = match tokio::time::timeout(WRITER_TIMEOUT, rx).await {
            Ok(Ok(reply)) => reply?,
            Ok(Err(_)) => return Err(ApiError::unavailable("the hub is stopping")),
            Err(_) => {
                return Err(ApiError::unavailable(
                    "the hub did not confirm the change in time; check before retrying",
                ))
            }
        };
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
        Ok((status, Json(body)).into_response())
    }

    fn state(&self) -> std::sync::MutexGuard<'_, HubState> {
        lock(&self.ingest.state)
    }
}

type ApiResult = Result<Response, ApiError>;

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

fn id<T, E: std::fmt::Display>(field: &str, r: Result<T, E>) -> Result<T, ApiError> {
    r.map_err(|e| ApiError::invalid(format!("{field}: {e}")))
}

/// The router.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/items/{sku}", put(put_item).get(get_item))
        .route("/items", get(list_items))
        .route("/nodes", get(get_nodes))
        .route("/nodes/{node}", put(put_node))
        .route("/nodes/{node}/locations/{code}", put(put_location))
        .route("/nodes/{node}/inbound", post(post_inbound))
        .route("/nodes/{node}/snapshot", get(get_snapshot))
        .route("/inbound/{doc}", get(get_inbound))
        .route("/orders", post(post_order).get(list_orders))
        .route("/orders/{r}", get(get_order))
        .route("/orders/{r}/cancel", post(cancel_order))
        .route("/orders/{r}/release", post(release_order))
        .route("/returns", post(post_return))
        .route("/stock", get(get_stock))
        .route("/events", get(get_events))
        .route("/exceptions", get(get_exceptions))
        .route("/exceptions/{id}/resolve", post(resolve_exception))
        .route("/adjustments", get(get_adjustments))
        .route("/adjustments/{id}/approve", post(approve_adjustment))
        .route("/adjustments/{id}/reject", post(reject_adjustment))
        .route("/kpis", get(get_kpis))
        .route("/kpis/chart.svg", get(get_kpi_chart))
        .route("/tasks", get(get_tasks))
        .route("/audit", get(get_audit))
        .route("/webhooks/dead-letters", get(get_dead_letters))
        .fallback(not_found);
    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/", get(crate::dashboard::page))
        .fallback(not_found)
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint; see docs/api.md")
}

async fn healthz(State(app): State<AppState>) -> Response {
    let ok = !app.ingest.tx.is_closed();
    if ok {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "ingest stopped\n").into_response()
    }
}

#[derive(Debug, Deserialize)]
struct ItemBody {
    #[serde(default)]
    sku: Option<String>,
    description: String,
    #[serde(default)]
    gtins: Vec<ItemGtin>,
    #[serde(default)]
    tracking: Tracking,
    #[serde(default)]
    expiry_controlled: bool,
    #[serde(default)]
    unit_weight_kg: Option<NonNegQty>,
    #[serde(default)]
    weight_tolerance_pct: Option<NonNegQty>,
    #[serde(default)]
    unit_value: Option<Dec>,
}

async fn put_item(
    State(app): State<AppState>,
    Path(sku): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let actor = app.tokens.authorize(&headers, Role::Operator)?;
    let sku = id("sku", Sku::new(sku))?;
    let b: ItemBody = parse(&body)?;
    if b.sku.as_ref().is_some_and(|s| s != sku.as_str()) {
        return Err(ApiError::invalid(
            "sku: the body names another SKU than the path",
        ));
    }
    let item = Item {
        sku,
        description: b.description,
        gtins: b.gtins,
        tracking: b.tracking,
        expiry_controlled: b.expiry_controlled,
        unit_weight_kg: b.unit_weight_kg,
        weight_tolerance_pct: b.weight_tolerance_pct,
    };
    item.validate()
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    let unit_value = b.unit_value.unwrap_or(Dec::ONE);
    if unit_value.is_negative() {
        return Err(ApiError::invalid("unit_value: must not be negative"));
    }
    app.call(
        ApiOp::PutItem(Box::new(ItemRecord { item, unit_value })),
        actor,
    )
    .await
}

async fn get_item(
    State(app): State<AppState>,
    Path(sku): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    let sku = id("sku", Sku::new(sku))?;
    let s = app.state();
    let r = s
        .ops
        .items
        .get(&sku)
        .ok_or_else(|| ApiError::not_found(format!("item {sku} does not exist")))?;
    Ok(Json(ops::item_json(r)).into_response())
}

async fn list_items(State(app): State<AppState>, headers: HeaderMap) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    let s = app.state();
    let items: Vec<_> = s
        .ops
        .items
        .values()
        .take(MAX_LIMIT)
        .map(ops::item_json)
        .collect();
    Ok(Json(serde_json::json!({ "items": items })).into_response())
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Deserialize)]
struct NodeBody {
    name: String,
    #[serde(default)]
    priority: u32,
    #[serde(default = "default_true")]
    active: bool,
    /// `HH:MM` UTC.
    #[serde(default)]
    cutoff: Option<String>,
}

fn parse_cutoff(text: &str) -> Option<i64> {
    let (h, m) = text.split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some((h * 60 + m) * 60_000)
}

async fn put_node(
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
    app.call(
        ApiOp::PutNode(
            node,
            NodeMaster {
                name: b.name,
                priority: b.priority,
                active: b.active,
                cutoff_ms_of_day,
            },
        ),
        actor,
    )
    .await
}

#[derive(Debug, Deserialize)]
struct LocationBody {
    kind: LocationKind,
    #[serde(default)]
    pickable: Option<bool>,
    #[serde(default)]
    capacity: Option<NonNegQty>,
}

async fn put_location(
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
    app.call(ApiOp::PutLocation(node, code, info), actor).await
}

#[derive(Debug, Deserialize)]
struct LineBody {
    sku: String,
    qty: Dec,
    #[serde(default)]
    lot: Option<String>,
    #[serde(default)]
    expiry: Option<String>,
}

fn doc_lines(lines: Vec<LineBody>) -> Result<Vec<DocLine>, ApiError> {
    if lines.is_empty() {
        return Err(ApiError::invalid("lines: give at least one line"));
    }
    if lines.len() > 500 {
        return Err(ApiError::invalid("lines: at most 500 lines are allowed"));
    }
    lines
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            Ok(DocLine {
                sku: id(&format!("lines[{i}].sku"), Sku::new(l.sku))?,
                qty: id(&format!("lines[{i}].qty"), Qty::try_from(l.qty))?,
                lot: match l.lot {
                    Some(lot) => Some(id(&format!("lines[{i}].lot"), Lot::new(lot))?),
                    None => None,
                },
                expiry: match l.expiry {
                    Some(d) => Some(id(&format!("lines[{i}].expiry"), Date::parse(&d))?),
                    None => None,
                },
            })
        })
        .collect()
}

#[derive(Debug, Deserialize)]
struct InboundBody {
    #[serde(rename = "ref")]
    doc: String,
    lines: Vec<LineBody>,
}

async fn post_inbound(
    State(app): State<AppState>,
    Path(node): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let actor = app.tokens.authorize(&headers, Role::Operator)?;
    let node = id("node", NodeId::new(node))?;
    let b: InboundBody = parse(&body)?;
    let doc = id("ref", DocRef::new(b.doc))?;
    let lines = doc_lines(b.lines)?;
    app.call(ApiOp::Inbound(node, doc, lines), actor).await
}

async fn get_inbound(
    State(app): State<AppState>,
    Path(doc): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    let doc = id("ref", DocRef::new(doc))?;
    let s = app.state();
    let r = s
        .ops
        .inbound
        .get(&doc)
        .ok_or_else(|| ApiError::not_found(format!("inbound notice {doc} does not exist")))?;
    Ok(Json(ops::doc_json(r, false)).into_response())
}

#[derive(Debug, Deserialize)]
struct ReturnBody {
    rma: String,
    #[serde(default)]
    order_ref: Option<String>,
    node: String,
    lines: Vec<LineBody>,
}

async fn post_return(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let actor = app.tokens.authorize(&headers, Role::Operator)?;
    let b: ReturnBody = parse(&body)?;
    let rma = id("rma", DocRef::new(b.rma))?;
    let node = id("node", NodeId::new(b.node))?;
    let order = match b.order_ref {
        Some(o) => Some(id("order_ref", OrderRef::new(o))?),
        None => None,
    };
    let lines = doc_lines(b.lines)?;
    app.call(ApiOp::Return(node, rma, order, lines), actor)
        .await
}

#[derive(Debug, Deserialize)]
struct OrderLineBody {
    sku: String,
    qty: Dec,
}

#[derive(Debug, Deserialize)]
struct OrderBody {
    #[serde(rename = "ref")]
    order_ref: String,
    channel: String,
    ship_by: String,
    lines: Vec<OrderLineBody>,
}

async fn post_order(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let actor = app.tokens.authorize(&headers, Role::Operator)?;
    let b: OrderBody = parse(&body)?;
    let ship_by_ms = parse_rfc3339(&b.ship_by).ok_or_else(|| {
        ApiError::invalid(format!(
            "ship_by: {:?} is not an RFC 3339 time such as 2026-11-29T16:00:00Z",
            b.ship_by
        ))
    })?;
    let new = NewOrder {
        order_ref: b.order_ref,
        channel: b.channel,
        ship_by_ms,
        lines: b
            .lines
            .into_iter()
            .map(|l| NewOrderLine {
                sku: l.sku,
                qty: l.qty,
            })
            .collect(),
    };
    app.call(ApiOp::CreateOrder(new), actor).await
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
}

async fn list_orders(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    let s = app.state();
    let limit = q.limit.unwrap_or(200).min(MAX_LIMIT);
    let mut orders: Vec<_> = s
        .ops
        .orders
        .values()
        .filter(|o| {
            q.status
                .as_deref()
                .is_none_or(|st| stockpost_common::orders::status_name(o.status) == st)
        })
        .collect();
    orders.sort_by_key(|o| std::cmp::Reverse(o.received_at_ms));
    let list: Vec<_> = orders
        .into_iter()
        .take(limit)
        .map(|o| ops::order_json(&s.ops, o))
        .collect();
    Ok(Json(serde_json::json!({ "orders": list })).into_response())
}

async fn get_order(
    State(app): State<AppState>,
    Path(r): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    let r = id("ref", OrderRef::new(r))?;
    let s = app.state();
    let o = s
        .ops
        .orders
        .get(&r)
        .ok_or_else(|| ApiError::not_found(format!("order {r} does not exist")))?;
    Ok(Json(ops::order_json(&s.ops, o)).into_response())
}

async fn cancel_order(
    State(app): State<AppState>,
    Path(r): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let actor = app.tokens.authorize(&headers, Role::Operator)?;
    let r = id("ref", OrderRef::new(r))?;
    app.call(ApiOp::CancelOrder(r), actor).await
}

async fn release_order(
    State(app): State<AppState>,
    Path(r): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let actor = app.tokens.authorize(&headers, Role::Operator)?;
    let r = id("ref", OrderRef::new(r))?;
    app.call(ApiOp::ReleaseOrder(r), actor).await
}

#[derive(Debug, Deserialize)]
struct StockQuery {
    #[serde(default)]
    node: Option<String>,
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    status: Option<String>,
    /// The `next` cursor of the previous page.
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
}

async fn get_stock(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<StockQuery>,
) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    let after = match q.after.as_deref().filter(|v| !v.is_empty()) {
        Some(text) => Some(stock_view::parse_cursor(text)?),
        None => None,
    };
    let limit = match q.limit {
        Some(0) => return Err(ApiError::invalid("limit: must be at least 1")),
        Some(n) if n > stock_view::MAX_PAGE => {
            return Err(ApiError::invalid(format!(
                "limit: at most {} rows per page; follow \"next\" for more",
                stock_view::MAX_PAGE
            )))
        }
        Some(n) => n,
        None => stock_view::DEFAULT_PAGE,
    };
    let filter = stock_view::StockFilter {
        node: q.node.as_deref().filter(|v| !v.is_empty()),
        sku: q.sku.as_deref().filter(|v| !v.is_empty()),
        location: q.location.as_deref().filter(|v| !v.is_empty()),
        status: q.status.as_deref().filter(|v| !v.is_empty()),
    };
    let s = app.state();
    Ok(Json(stock_view::stock_page(&s, &filter, after.as_ref(), limit).to_json()).into_response())
}

/// The nodes answer.
pub fn nodes_json(state: &HubState, now: i64) -> serde_json::Value {
    let mut all: BTreeSet<NodeId> = state.ops.nodes.keys().cloned().collect();
    all.extend(state.nodes.keys().cloned());
    all.extend(state.ops.downlink.keys().cloned());
    let list: Vec<_> = all
        .iter()
        .map(|n| {
            let view = state.nodes.get(n).cloned().unwrap_or_default();
            let master = state.ops.nodes.get(n);
            let applied = state.ledger.applied_seq(n);
            let backlog = view.reported_head.saturating_sub(applied);
            let lag_ms = if backlog > 0 {
                view.last_event_at_ms
                    .or(view.last_seen_ms)
                    .map(|t| (now - t).max(0))
                    .unwrap_or(0)
            } else {
                0
            };
            let (pending, acked) = state
                .ops
                .downlink
                .get(n)
                .map(|d| (d.sender.pending(), d.sender.acked()))
                .unwrap_or((0, 0));
            serde_json::json!({
                "node": n, "name": master.map(|m| m.name.clone()), "priority": master.map(|m| m.priority),
                "registered": master.is_some(), "online": view.online,
                "last_seen": view.last_seen_ms.map(format_ms), "applied_seq": applied,
                "reported_seq": view.reported_head, "uplink_backlog": backlog,
                "pending_downlink": pending, "downlink_acked": acked, "lag_ms": lag_ms,
            })
        })
        .collect();
    serde_json::json!({ "nodes": list })
}

/// `GET /nodes/{node}/snapshot`: what a new or wiped node needs to start (master data, its stock
/// as the hub sees it, its open hub tasks, and the sequence marks).
async fn get_snapshot(
    State(app): State<AppState>,
    Path(node): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    let node = id("node", NodeId::new(node))?;
    let s = app.state();
    if !s.ops.nodes.contains_key(&node) {
        return Err(ApiError::not_found(format!(
            "node {node} is not registered"
        )));
    }
    let items: Vec<_> = s.ops.items.values().map(|r| &r.item).collect();
    let locations: Vec<_> = s
        .ledger
        .locations()
        .filter(|(n, _, _)| **n == node)
        .map(|(_, code, info)| serde_json::json!({"code": code, "kind": info.kind, "pickable": info.pickable, "capacity": info.capacity}))
        .collect();
    let tasks: Vec<_> = s
        .ops
        .tasks
        .values()
        .filter(|t| t.node == node && !t.cancelled)
        .map(|t| &t.spec)
        .collect();
    // Every balance line of the node (no row limit: a cut-short snapshot would seed a wrong
    // local view) and its running totals, so the node's conservation check holds.
    let stock = stock_view::stock_page(
        &s,
        &stock_view::StockFilter {
            node: Some(node.as_str()),
            ..stock_view::StockFilter::default()
        },
        None,
        usize::MAX,
    );
    let totals: Vec<_> = s
        .ledger
        .all_totals()
        .filter(|(n, _, _)| **n == node)
        .map(|(_, sku, t)| serde_json::json!({"sku": sku, "totals": t}))
        .collect();
    let downlink_seq = s
        .ops
        .downlink
        .get(&node)
        .map(|d| d.sender.head())
        .unwrap_or(0);
    Ok(Json(serde_json::json!({
        "node": node, "items": items, "locations": locations, "balances": stock.rows,
        "totals": totals, "tasks": tasks, "applied_seq": s.ledger.applied_seq(&node), "downlink_seq": downlink_seq,
        "at": format_ms(now_ms()),
    }))
    .into_response())
}

async fn get_nodes(State(app): State<AppState>, headers: HeaderMap) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    let s = app.state();
    Ok(Json(nodes_json(&s, now_ms())).into_response())
}

#[derive(Debug, Deserialize)]
struct EventsQuery {
    #[serde(default)]
    node: Option<String>,
    #[serde(default)]
    after: Option<u64>,
    #[serde(default)]
    limit: Option<usize>,
}

fn event_json(e: &crate::store::StoredEvent) -> serde_json::Value {
    let ev = &e.event;
    let mut map = serde_json::Map::new();
    map.insert("node".into(), serde_json::json!(ev.id.node));
    map.insert("seq".into(), serde_json::json!(ev.id.seq));
    map.insert("kind".into(), serde_json::json!(ev.body.kind()));
    map.insert("at".into(), serde_json::json!(format_ms(ev.at_ms)));
    map.insert(
        "received_at".into(),
        serde_json::json!(format_ms(e.received_at_ms)),
    );
    map.insert("operator".into(), serde_json::json!(ev.operator));
    map.insert("station".into(), serde_json::json!(ev.station));
    map.insert("task".into(), serde_json::json!(ev.task));
    if let Ok(serde_json::Value::Object(outer)) = serde_json::to_value(&ev.body) {
        for (_, inner) in outer {
            if let serde_json::Value::Object(fields) = inner {
                for (k, v) in fields {
                    map.entry(k).or_insert(v);
                }
            }
        }
    }
    serde_json::Value::Object(map)
}

async fn get_events(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    let limit = q.limit.unwrap_or(100).clamp(1, MAX_LIMIT);
    let events = match q.node.as_deref().filter(|n| !n.is_empty()) {
        Some(n) => {
            let node = id("node", NodeId::new(n))?;
            app.store.events(&node, q.after.unwrap_or(0), limit)?
        }
        None => {
            if q.after.is_some() {
                return Err(ApiError::invalid(
                    "after: give node too; sequences are per node",
                ));
            }
            app.store.all_events(limit)?
        }
    };
    let next = if events.len() == limit && q.node.is_some() {
        events.last().map(|e| e.event.id.seq)
    } else {
        None
    };
    let list: Vec<_> = events.iter().map(event_json).collect();
    Ok(Json(serde_json::json!({ "events": list, "next": next })).into_response())
}

#[derive(Debug, Deserialize)]
struct ExceptionsQuery {
    #[serde(default)]
    open: Option<bool>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    node: Option<String>,
    #[serde(default)]
    order: Option<String>,
}

async fn get_exceptions(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ExceptionsQuery>,
) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    let s = app.state();
    let list: Vec<_> = s
        .ops
        .exceptions
        .iter()
        .rev()
        .filter(|(_, e)| q.open.is_none_or(|o| e.exception.is_open() == o))
        .filter(|(_, e)| {
            q.code
                .as_deref()
                .is_none_or(|c| ops::code_name(&e.exception.code) == c)
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
        .map(|(id, e)| ops::exception_json(*id, e))
        .collect();
    Ok(Json(serde_json::json!({ "exceptions": list })).into_response())
}

#[derive(Debug, Default, Deserialize)]
struct ResolveBody {
    #[serde(default)]
    note: Option<String>,
}

async fn resolve_exception(
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
    app.call(ApiOp::Resolve(ex, b.note), actor).await
}

async fn get_adjustments(State(app): State<AppState>, headers: HeaderMap) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    let s = app.state();
    let list: Vec<_> = s
        .ops
        .adjustments
        .iter()
        .rev()
        .take(MAX_LIMIT)
        .map(|(id, a)| ops::adjustment_json(*id, a))
        .collect();
    Ok(Json(serde_json::json!({ "adjustments": list })).into_response())
}

async fn approve_adjustment(
    State(app): State<AppState>,
    Path(adj): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let actor = app.tokens.authorize(&headers, Role::Approver)?;
    let adj: u64 = id("id", adj.parse::<u64>())?;
    app.call(ApiOp::Decide(adj, true), actor).await
}

async fn reject_adjustment(
    State(app): State<AppState>,
    Path(adj): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let actor = app.tokens.authorize(&headers, Role::Approver)?;
    let adj: u64 = id("id", adj.parse::<u64>())?;
    app.call(ApiOp::Decide(adj, false), actor).await
}

/// The KPIs answer.
pub fn kpis_json(state: &HubState, now: i64) -> serde_json::Value {
    let events: Vec<_> = state.ops.kpi_events.iter().cloned().collect();
    let kpis = compute_kpis(state.ops.orders.values(), &events, now);
    let mut open_by_code: BTreeMap<String, u64> = BTreeMap::new();
    for e in state
        .ops
        .exceptions
        .values()
        .filter(|e| e.exception.is_open())
    {
        *open_by_code
            .entry(ops::code_name(&e.exception.code))
            .or_default() += 1;
    }
    let mut by_status: BTreeMap<&str, u64> = BTreeMap::new();
    for o in state.ops.orders.values() {
        *by_status
            .entry(stockpost_common::orders::status_name(o.status))
            .or_default() += 1;
    }
    let nodes = nodes_json(state, now);
    let sync: Vec<_> = nodes["nodes"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|n| serde_json::json!({"node": n["node"], "lag_ms": n["lag_ms"], "uplink_backlog": n["uplink_backlog"], "pending_downlink": n["pending_downlink"]}))
                .collect()
        })
        .unwrap_or_default();
    serde_json::json!({
        "fill_rate": kpis.fill_rate, "perfect_order_rate": kpis.perfect_order_rate,
        "closed_orders": kpis.closed_orders, "inventory_accuracy": kpis.inventory_accuracy,
        "counts": kpis.counts,
        "return_to_stock": {"count": kpis.return_to_stock.count, "mean_ms": kpis.return_to_stock.mean_ms},
        "split_shipment_rate": kpis.split_shipment_rate, "shipped_orders": kpis.shipped_orders,
        "order_aging": kpis.aging.iter().map(|a| serde_json::json!({"code": ops::code_name(&a.code), "orders": a.orders, "oldest_age_ms": a.oldest_age_ms})).collect::<Vec<_>>(),
        "orders_by_status": by_status,
        "open_exceptions_by_code": open_by_code,
        "sync": sync,
        "at": format_ms(now),
    })
}

async fn get_kpis(State(app): State<AppState>, headers: HeaderMap) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    let s = app.state();
    Ok(Json(kpis_json(&s, now_ms())).into_response())
}

async fn get_kpi_chart(State(app): State<AppState>, headers: HeaderMap) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    let k = {
        let s = app.state();
        kpis_json(&s, now_ms())
    };
    let svg = crate::dashboard::kpi_svg(&k);
    Ok(([(axum::http::header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

async fn get_tasks(State(app): State<AppState>, headers: HeaderMap) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    let s = app.state();
    let list: Vec<_> = s
        .ops
        .tasks
        .iter()
        .rev()
        .take(MAX_LIMIT)
        .map(|(id, t)| serde_json::json!({"id": id, "node": t.node, "kind": t.kind.as_str(), "order": t.order, "doc": t.doc, "created_at": format_ms(t.created_ms), "cancelled": t.cancelled}))
        .collect();
    Ok(Json(serde_json::json!({ "tasks": list })).into_response())
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    #[serde(default)]
    after: Option<u64>,
    #[serde(default)]
    limit: Option<usize>,
}

async fn get_audit(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<AuditQuery>,
) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    let limit = q.limit.unwrap_or(100).clamp(1, MAX_LIMIT);
    let rows = app.store.audit(q.after.unwrap_or(0), limit)?;
    let next = (rows.len() == limit)
        .then(|| rows.last().map(|(id, _)| *id))
        .flatten();
    let list: Vec<_> = rows
        .into_iter()
        .map(|(id, mut v)| {
            if let Some(obj) = v.as_object_mut() {
                obj.insert("id".into(), serde_json::json!(id));
                if let Some(at) = obj.get("at_ms").and_then(|a| a.as_i64()) {
                    obj.insert("at".into(), serde_json::json!(format_ms(at)));
                }
            }
            v
        })
        .collect();
    Ok(Json(serde_json::json!({ "audit": list, "next": next })).into_response())
}

async fn get_dead_letters(State(app): State<AppState>, headers: HeaderMap) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    Ok(Json(serde_json::json!({ "dead_letters": app.webhooks.dead_letters() })).into_response())
}

async fn metrics(State(app): State<AppState>) -> Response {
    let c = &app.ingest.counters;
    let mut out = String::new();
    let mut counter = |name: &str, help: &str, v: u64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
        );
    };
    counter(
        "stockpost_hub_events_applied_total",
        "Node events applied to the ledger.",
        c.events_applied.load(Ordering::Relaxed),
    );
    counter(
        "stockpost_hub_duplicate_batches_total",
        "Batches that were already applied.",
        c.duplicate_batches.load(Ordering::Relaxed),
    );
    counter(
        "stockpost_hub_sequence_reused_batches_total",
        "Batches whose sequence numbers were applied before with different events (not applied; a sequence_reused exception).",
        c.sequence_reused_batches.load(Ordering::Relaxed),
    );
    counter(
        "stockpost_hub_gap_batches_total",
        "Batches that arrived after a gap.",
        c.gap_batches.load(Ordering::Relaxed),
    );
    counter(
        "stockpost_hub_quarantined_total",
        "Messages or events quarantined.",
        c.quarantined.load(Ordering::Relaxed),
    );
    counter(
        "stockpost_hub_commits_total",
        "Durable commits of the ingest writer.",
        c.commits.load(Ordering::Relaxed),
    );
    counter(
        "stockpost_hub_commit_failures_total",
        "Failed commits.",
        c.commit_failures.load(Ordering::Relaxed),
    );
    counter(
        "stockpost_hub_mqtt_received_total",
        "MQTT messages received.",
        app.mqtt.received.load(Ordering::Relaxed),
    );
    counter(
        "stockpost_hub_mqtt_rejected_total",
        "MQTT messages rejected.",
        app.mqtt.rejected.load(Ordering::Relaxed),
    );
    counter(
        "stockpost_hub_downlink_items_sent_total",
        "Downlink items published, resends included.",
        app.mqtt.downlink_sent.load(Ordering::Relaxed),
    );
    counter(
        "stockpost_hub_webhooks_delivered_total",
        "Webhook deliveries that succeeded.",
        app.webhooks.delivered.load(Ordering::Relaxed),
    );
    counter(
        "stockpost_hub_webhooks_failed_attempts_total",
        "Webhook attempts that failed.",
        app.webhooks.failed_attempts.load(Ordering::Relaxed),
    );
    counter(
        "stockpost_hub_webhooks_dead_lettered_total",
        "Webhook deliveries given up.",
        app.webhooks.dead_lettered.load(Ordering::Relaxed),
    );
    counter(
        "stockpost_hub_webhooks_deferred_total",
        "Webhook deliveries left in the outbox for the next rescan because the send queue was full.",
        app.webhooks.deferred.load(Ordering::Relaxed),
    );
    counter(
        "stockpost_hub_webhooks_store_failures_total",
        "Webhook outbox or dead-letter writes that failed (such a delivery is sent again after a restart).",
        app.webhooks.store_failures.load(Ordering::Relaxed),
    );
    let _ = writeln!(out, "# HELP stockpost_hub_webhooks_pending Webhook deliveries in the outbox, not yet delivered or given up.\n# TYPE stockpost_hub_webhooks_pending gauge\nstockpost_hub_webhooks_pending {}", app.webhooks.pending.load(Ordering::Relaxed));
    let _ = writeln!(out, "# HELP stockpost_hub_mqtt_connected Whether the hub is connected to the broker.\n# TYPE stockpost_hub_mqtt_connected gauge\nstockpost_hub_mqtt_connected {}", u8::from(app.mqtt.connected.load(Ordering::Relaxed)));
    let (nodes, by_code) = {
        let s = app.state();
        let nodes = nodes_json(&s, now_ms());
        let mut by_code: BTreeMap<String, u64> = BTreeMap::new();
        for e in s.ops.exceptions.values().filter(|e| e.exception.is_open()) {
            *by_code
                .entry(ops::code_name(&e.exception.code))
                .or_default() += 1;
        }
        (nodes, by_code)
    };
    let _ = writeln!(out, "# HELP stockpost_hub_node_lag_ms Sync lag per node.\n# TYPE stockpost_hub_node_lag_ms gauge");
    let list = nodes["nodes"].as_array().cloned().unwrap_or_default();
    for n in &list {
        let _ = writeln!(
            out,
            "stockpost_hub_node_lag_ms{{node=\"{}\"}} {}",
            n["node"].as_str().unwrap_or(""),
            n["lag_ms"]
        );
    }
    let _ = writeln!(out, "# HELP stockpost_hub_node_uplink_backlog Events a node reported and the hub has not applied.\n# TYPE stockpost_hub_node_uplink_backlog gauge");
    for n in &list {
        let _ = writeln!(
            out,
            "stockpost_hub_node_uplink_backlog{{node=\"{}\"}} {}",
            n["node"].as_str().unwrap_or(""),
            n["uplink_backlog"]
        );
    }
    let _ = writeln!(out, "# HELP stockpost_hub_node_pending_downlink Downlink items not yet acked by the node.\n# TYPE stockpost_hub_node_pending_downlink gauge");
    for n in &list {
        let _ = writeln!(
            out,
            "stockpost_hub_node_pending_downlink{{node=\"{}\"}} {}",
            n["node"].as_str().unwrap_or(""),
            n["pending_downlink"]
        );
    }
    let _ = writeln!(out, "# HELP stockpost_hub_open_exceptions Open exceptions by code.\n# TYPE stockpost_hub_open_exceptions gauge");
    for (code, n) in by_code {
        let _ = writeln!(out, "stockpost_hub_open_exceptions{{code=\"{code}\"}} {n}");
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        out,
    )
        .into_response()
}
