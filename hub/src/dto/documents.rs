//! Inbound notices and returns.

use serde_json::{json, Value};
use stockpost_common::domain::Dec;
use stockpost_engine::records::DocRecord;

/// An inbound notice (`is_return` false) or a return.
pub fn document(r: &DocRecord, is_return: bool) -> Value {
    let lines: Vec<Value> = r
        .lines
        .iter()
        .map(|l| {
            json!({"sku": l.sku, "qty": l.qty, "lot": l.lot, "expiry": l.expiry.map(|d| d.to_string()),
                   "received": r.received.get(&l.sku).copied().unwrap_or(Dec::ZERO)})
        })
        .collect();
    let status = r.status().name();
    if is_return {
        json!({"rma": r.doc, "order_ref": r.order, "node": r.node, "status": status, "task": r.task, "lines": lines})
    } else {
        json!({"ref": r.doc, "node": r.node, "status": status, "task": r.task, "lines": lines})
    }
}
