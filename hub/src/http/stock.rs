//! `GET /stock?node=&sku=&location=&status=&after=&limit=`: balance lines in pages, in (node,
//! SKU, line) order, with the cursor of the last line (docs/api.md). Served from the read
//! model: a page starts where its cursor points (no walk from the first line).

use super::{id, ApiResult, AppState};
use crate::dto;
use crate::http::error::ApiError;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use stockpost_common::domain::{LocationCode, NodeId, Sku, StockStatus};
use stockpost_common::ledger::{decode_cursor, encode_cursor, StockKey};
use stockpost_common::orders::Role;
use stockpost_engine::read::stock::{stock_page, StockFilter};

/// Rows per page when the request names no limit.
pub const DEFAULT_PAGE: usize = 1_000;

/// The most rows one page may have.
pub const MAX_PAGE: usize = 10_000;

#[derive(Debug, Deserialize)]
pub(crate) struct StockQuery {
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

/// Reads a cursor given as `after`; a clear 400 when it is not one this hub handed out.
pub fn parse_cursor(text: &str) -> Result<StockKey, ApiError> {
    decode_cursor(text).map_err(|e| {
        ApiError::invalid(format!(
            "after: not a cursor from a previous page ({e}); pass the \"next\" value as it was given"
        ))
    })
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|v| !v.is_empty())
}

fn filter(q: &StockQuery) -> Result<StockFilter, ApiError> {
    Ok(StockFilter {
        node: given(&q.node)
            .map(|n| id("node", NodeId::new(n)))
            .transpose()?,
        sku: given(&q.sku).map(|s| id("sku", Sku::new(s))).transpose()?,
        location: given(&q.location)
            .map(|l| id("location", LocationCode::new(l)))
            .transpose()?,
        status: given(&q.status)
            .map(|s| {
                StockStatus::ALL
                    .into_iter()
                    .find(|st| dto::code_name(st) == s)
                    .ok_or_else(|| {
                        ApiError::invalid(format!("status: {s:?} is not a stock status"))
                    })
            })
            .transpose()?,
    })
}

/// `GET /stock`.
pub(crate) async fn get_stock(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<StockQuery>,
) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    let after = given(&q.after).map(parse_cursor).transpose()?;
    let limit = match q.limit {
        Some(0) => return Err(ApiError::invalid("limit: must be at least 1")),
        Some(n) if n > MAX_PAGE => {
            return Err(ApiError::invalid(format!(
                "limit: at most {MAX_PAGE} rows per page; follow \"next\" for more"
            )))
        }
        Some(n) => n,
        None => DEFAULT_PAGE,
    };
    let filter = filter(&q)?;
    let model = app.model();
    let page = stock_page(&model.books.stock, &filter, after.as_ref(), limit);
    let rows: Vec<_> = page.rows.iter().map(dto::stock::row).collect();
    let next = page.next.as_ref().map(encode_cursor);
    Ok(Json(serde_json::json!({ "balances": rows, "next": next })).into_response())
}
