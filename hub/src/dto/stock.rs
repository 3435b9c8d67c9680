//! Stock rows (`GET /stock`, snapshots).

use super::code_name;
use serde_json::{json, Value};
use stockpost_common::domain::Place;
use stockpost_engine::read::stock::StockRow;

/// One balance line with its share of reservations and holds.
pub fn row(r: &StockRow) -> Value {
    let key = &r.key;
    let (location, container) = match &key.place {
        Place::Location(c) => (Some(c.to_string()), None),
        Place::Container(c) => (None, Some(c.to_string())),
    };
    json!({
        "node": key.node, "location": location, "container": container, "sku": key.stock.sku,
        "lot": key.stock.lot, "serial": key.stock.serial, "expiry": key.stock.expiry.map(|d| d.to_string()),
        "status": code_name(&key.status), "on_hand": r.on_hand, "reserved": r.reserved,
        "held": r.held, "available": r.available,
    })
}
