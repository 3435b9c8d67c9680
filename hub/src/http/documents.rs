//! `POST /nodes/{node}/inbound`, `GET /inbound/{doc}`, `POST /returns`.

use super::{id, parse, ApiResult, AppState};
use crate::dto;
use crate::http::error::ApiError;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use stockpost_common::domain::{Date, Dec, DocRef, Lot, NodeId, OrderRef, Qty, Sku};
use stockpost_common::orders::Role;
use stockpost_engine::records::DocLine;
use stockpost_engine::ApiCommand;

/// Most lines a document may have.
pub const MAX_LINES: usize = 500;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
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
    if lines.len() > MAX_LINES {
        return Err(ApiError::invalid(format!(
            "lines: at most {MAX_LINES} lines are allowed"
        )));
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
#[serde(deny_unknown_fields)]
struct InboundBody {
    #[serde(rename = "ref")]
    doc: String,
    lines: Vec<LineBody>,
}

/// `POST /nodes/{node}/inbound`.
pub(crate) async fn post_inbound(
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
    app.call(ApiCommand::CreateInbound { node, doc, lines }, actor)
        .await
}

/// `GET /inbound/{doc}`.
pub(crate) async fn get_inbound(
    State(app): State<AppState>,
    Path(doc): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    let doc = id("ref", DocRef::new(doc))?;
    let model = app.model();
    let r = model
        .books
        .inbound
        .get(&doc)
        .ok_or_else(|| ApiError::not_found(format!("inbound notice {doc} does not exist")))?;
    Ok(Json(dto::documents::document(r, false)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReturnBody {
    rma: String,
    #[serde(default)]
    order_ref: Option<String>,
    node: String,
    lines: Vec<LineBody>,
}

/// `POST /returns`.
pub(crate) async fn post_return(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let actor = app.tokens.authorize(&headers, Role::Operator)?;
    let b: ReturnBody = parse(&body)?;
    let rma = id("rma", DocRef::new(b.rma))?;
    let node = id("node", NodeId::new(b.node))?;
    let order = match b.order_ref {
        Some(o) => Some(id("order_ref", OrderRef::new(o))?),
        None => None,
    };
    let lines = doc_lines(b.lines)?;
    app.call(
        ApiCommand::CreateReturn {
            node,
            rma,
            order,
            lines,
        },
        actor,
    )
    .await
}
