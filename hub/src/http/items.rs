//! `PUT/GET /items/{sku}`, `GET /items`.

use super::{id, parse, ApiResult, AppState, MAX_LIMIT};
use crate::dto;
use crate::http::error::ApiError;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use stockpost_common::domain::{Dec, Item, ItemGtin, NonNegQty, Sku, Tracking};
use stockpost_common::orders::Role;
use stockpost_engine::records::ItemRecord;
use stockpost_engine::ApiCommand;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
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

/// `PUT /items/{sku}`.
pub(crate) async fn put_item(
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
    let record = ItemRecord { item, unit_value };
    app.call(ApiCommand::PutItem(Box::new(record)), actor).await
}

/// `GET /items/{sku}`.
pub(crate) async fn get_item(
    State(app): State<AppState>,
    Path(sku): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    let sku = id("sku", Sku::new(sku))?;
    let model = app.model();
    let r = model
        .books
        .items
        .get(&sku)
        .ok_or_else(|| ApiError::not_found(format!("item {sku} does not exist")))?;
    Ok(Json(dto::catalog::item(r)).into_response())
}

/// `GET /items`.
pub(crate) async fn list_items(State(app): State<AppState>, headers: HeaderMap) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    let model = app.model();
    let items: Vec<_> = model
        .books
        .items
        .values()
        .take(MAX_LIMIT)
        .map(|r| dto::catalog::item(r))
        .collect();
    Ok(Json(serde_json::json!({ "items": items })).into_response())
}
