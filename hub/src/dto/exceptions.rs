//! Exceptions and adjustments.

use super::code_name;
use crate::time::format_ms;
use serde_json::{json, Value};
use stockpost_engine::records::{StoredAdjustment, StoredException};

/// An exception.
pub fn exception(id: u64, s: &StoredException) -> Value {
    let e = &s.exception;
    json!({
        "id": id, "code": code_name(&e.code), "message": e.message, "node": e.node, "sku": e.sku,
        "location": e.location, "order": e.order,
        "source": e.source.as_ref().map(|s| json!({"node": s.node, "seq": s.seq})),
        "at": format_ms(e.at_ms), "open": e.is_open(),
        "resolved_at": e.resolved_at_ms.map(format_ms),
        "resolved_by": s.resolved_by, "note": s.note,
    })
}

/// An adjustment.
pub fn adjustment(id: u64, s: &StoredAdjustment) -> Value {
    let a = &s.adjustment;
    json!({
        "id": id, "node": a.node, "place": a.place, "sku": a.sku, "delta": a.delta,
        "reason": code_name(&a.reason), "value": a.value, "status": code_name(&a.status),
        "requested_by": a.requested_by, "at": format_ms(a.at_ms),
        "decided_by": a.decided_by, "decided_at": a.decided_at_ms.map(format_ms),
        "exception": s.exception, "source": {"node": a.source.node, "seq": a.source.seq},
        "doc": a.doc,
    })
}
