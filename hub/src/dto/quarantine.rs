//! Quarantined incidents (`GET /quarantine`).

use crate::time::format_ms;
use serde_json::{json, Value};
use stockpost_engine::records::QuarantineRecord;

fn hex(bytes: &[u8]) -> String {
    crate::auth::hex(bytes)
}

/// One incident: what arrived (digest and first bytes, as hex and as far as it is text), why,
/// from where, when and how often.
pub fn record(id: u64, q: &QuarantineRecord) -> Value {
    let text: String = String::from_utf8_lossy(&q.head)
        .chars()
        .map(|c| if c.is_control() { '.' } else { c })
        .collect();
    json!({
        "id": id, "kind": q.kind.name(), "reason": q.reason, "node": q.node, "seq": q.seq,
        "sha256": hex(&q.digest), "bytes": q.len, "head_hex": hex(&q.head), "head_text": text,
        "first_seen": format_ms(q.first_seen_ms), "last_seen": format_ms(q.last_seen_ms),
        "count": q.count, "exception": q.exception,
    })
}
