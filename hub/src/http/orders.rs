//! `POST/GET /orders`, `GET /orders/{ref}`, `POST /orders/{ref}/cancel|release`.

use super::{id, parse, ApiResult, AppState};
use crate::dto;
use crate::http::error::ApiError;
use crate::time::parse_rfc3339;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use stockpost_common::domain::{Dec, OrderRef};
use stockpost_common::orders::{status_name, NewOrder, NewOrderLine, Role};
use stockpost_engine::ApiCommand;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderLineBody {
    sku: String,
    qty: Dec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderBody {
    #[serde(rename = "ref")]
    order_ref: String,
    channel: String,
    ship_by: String,
    lines: Vec<OrderLineBody>,
}

/// `POST /orders`.
pub(crate) async fn post_order(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
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
    app.call(ApiCommand::CreateOrder(new), actor).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
}

/// `GET /orders?status=&limit=`: newest first.
pub(crate) async fn list_orders(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    let model = app.model();
    let limit = super::limit_param(q.limit, 200)?;
    let mut orders: Vec<_> = model
        .books
        .orders
        .values()
        .filter(|o| {
            q.status
                .as_deref()
                .is_none_or(|st| status_name(o.status) == st)
        })
        .collect();
    orders.sort_by_key(|o| std::cmp::Reverse(o.received_at_ms));
    let list: Vec<_> = orders
        .into_iter()
        .take(limit)
        .map(|o| dto::orders::order(Some(&model.books), o))
        .collect();
    Ok(Json(serde_json::json!({ "orders": list })).into_response())
}

/// `GET /orders/{ref}`.
pub(crate) async fn get_order(
    State(app): State<AppState>,
    Path(r): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    let r = id("ref", OrderRef::new(r))?;
    let model = app.model();
    let o = model
        .books
        .orders
        .get(&r)
        .ok_or_else(|| ApiError::not_found(format!("order {r} does not exist")))?;
    Ok(Json(dto::orders::order(Some(&model.books), o)).into_response())
}

/// `POST /orders/{ref}/cancel`.
pub(crate) async fn cancel_order(
    State(app): State<AppState>,
    Path(r): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let actor = app.tokens.authorize(&headers, Role::Operator)?;
    let r = id("ref", OrderRef::new(r))?;
    app.call(ApiCommand::CancelOrder(r), actor).await
}

/// `POST /orders/{ref}/release`.
pub(crate) async fn release_order(
    State(app): State<AppState>,
    Path(r): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let actor = app.tokens.authorize(&headers, Role::Operator)?;
    let r = id("ref", OrderRef::new(r))?;
    app.call(ApiCommand::ReleaseOrder(r), actor).await
}
