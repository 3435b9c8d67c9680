//! The hub's stock listing (`GET /api/v1/stock` and the node snapshot): balance lines with on
//! hand, reserved and available, filtered, in key order, a page at a time.
//!
//! A (node, sku)'s reservation is shown against its pickable available lines in key order, so
//! the split of one line depends on the lines before it; a page therefore walks the lines from
//! the start and emits those after its cursor. The cursor is the last line's key
//! (`stockpost_common::ledger::encode_cursor`): pages stay exact while stock changes between
//! them (no line is shown twice or skipped because others came or went).

use crate::error::ApiError;
use crate::ingest::HubState;
use crate::ops;
use std::collections::BTreeMap;
use stockpost_common::domain::{Dec, NodeId, Place, Sku, StockStatus};
use stockpost_common::ledger::{decode_cursor, encode_cursor, StockKey};

/// Rows per page when the request names no limit.
pub const DEFAULT_PAGE: usize = 1_000;

/// The most rows one page may have.
pub const MAX_PAGE: usize = 10_000;

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct StockFilter<'a> {
    /// Only this node.
    pub node: Option<&'a str>,
    /// Only this SKU.
    pub sku: Option<&'a str>,
    /// Only this location.
    pub location: Option<&'a str>,
    /// Only this status (`available`, `quarantine`, …).
    pub status: Option<&'a str>,
}

/// One page of the listing.
#[derive(Debug, Clone, PartialEq)]
pub struct StockPage {
    /// The rows, in key order.
    pub rows: Vec<serde_json::Value>,
    /// The cursor for the next page, when more lines may follow.
    pub next: Option<String>,
}

impl StockPage {
    /// `{"balances": [...], "next": cursor | null}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "balances": self.rows, "next": self.next })
    }
}

/// Reads a cursor given as `after`; a clear 400 when it is not one this hub handed out.
pub fn parse_cursor(text: &str) -> Result<StockKey, ApiError> {
    decode_cursor(text).map_err(|e| {
        ApiError::invalid(format!(
            "after: not a cursor from a previous page ({e}); pass the \"next\" value as it was given"
        ))
    })
}

/// The lines matching `filter` after `after` (exclusive), at most `limit` of them.
pub fn stock_page(
    state: &HubState,
    filter: &StockFilter<'_>,
    after: Option<&StockKey>,
    limit: usize,
) -> StockPage {
    let ledger = &state.ledger;
    let mut left: BTreeMap<(NodeId, Sku), Dec> = BTreeMap::new();
    let mut rows = Vec::new();
    let mut last: Option<&StockKey> = None;
    for (key, qty) in ledger.balances() {
        if filter.node.is_some_and(|n| n != key.node.as_str()) {
            continue;
        }
        let pickable_available = key.status == StockStatus::Available
            && match &key.place {
                Place::Location(code) => {
                    ledger.location(&key.node, code).is_some_and(|i| i.pickable)
                }
                Place::Container(_) => false,
            };
        let slot = left
            .entry((key.node.clone(), key.stock.sku.clone()))
            .or_insert_with(|| ledger.reserved(&key.node, &key.stock.sku));
        let (reserved, available) = if pickable_available && !qty.is_negative() {
            let r = if *slot < qty { *slot } else { qty };
            *slot = slot.checked_sub(r).unwrap_or(Dec::ZERO);
            (r, qty.checked_sub(r).unwrap_or(Dec::ZERO))
        } else {
            (Dec::ZERO, Dec::ZERO)
        };
        if after.is_some_and(|a| key <= a)
            || filter.sku.is_some_and(|s| s != key.stock.sku.as_str())
            || filter
                .status
                .is_some_and(|s| s != ops::code_name(&key.status))
        {
            continue;
        }
        let (location, container) = match &key.place {
            Place::Location(c) => (Some(c.to_string()), None),
            Place::Container(c) => (None, Some(c.to_string())),
        };
        if filter
            .location
            .is_some_and(|l| Some(l) != location.as_deref())
        {
            continue;
        }
        if rows.len() == limit {
            // A line after a full page: there is a next page.
            return StockPage {
                rows,
                next: last.map(encode_cursor),
            };
        }
        rows.push(serde_json::json!({
            "node": key.node, "location": location, "container": container, "sku": key.stock.sku,
            "lot": key.stock.lot, "serial": key.stock.serial, "expiry": key.stock.expiry.map(|d| d.to_string()),
            "status": ops::code_name(&key.status), "on_hand": qty, "reserved": reserved, "available": available,
        }));
        last = Some(key);
    }
    StockPage { rows, next: None }
}
