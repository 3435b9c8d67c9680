//! Orders.

use super::code_name;
use crate::time::format_ms;
use serde_json::{json, Value};
use stockpost_common::orders::{status_name, Order};
use stockpost_engine::read::BooksView;

/// An order as the API shows it; its exceptions carry their ids from `books`.
pub fn order(books: Option<&BooksView>, o: &Order) -> Value {
    let id_of = |e: &stockpost_common::orders::Exception| books.and_then(|b| b.exception_id(e));
    json!({
        "ref": o.order_ref,
        "status": status_name(o.status),
        "channel": o.channel,
        "ship_by": format_ms(o.ship_by_ms),
        "received_at": format_ms(o.received_at_ms),
        "closed_at": o.closed_at_ms.map(format_ms),
        "lines": o.lines.iter().map(|l| json!({
            "sku": l.sku, "qty": l.qty, "allocated": l.allocated, "picked": l.picked,
            "packed": l.packed, "shipped": l.shipped, "backordered": l.backordered,
        })).collect::<Vec<_>>(),
        "allocations": o.allocation_view().iter().map(|a| json!({
            "node": a.node,
            "lines": a.lines.iter().map(|l| json!({"sku": l.sku, "qty": l.qty})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "shipments": o.shipments.iter().map(|s| json!({
            "node": s.node, "container": s.container, "sscc": s.sscc, "weight_kg": s.weight_kg,
            "shipped_at": format_ms(s.shipped_at_ms),
        })).collect::<Vec<_>>(),
        "exceptions": o.exceptions.iter().map(|e| json!({
            "id": id_of(e), "code": code_name(&e.code), "message": e.message, "open": e.is_open(),
        })).collect::<Vec<_>>(),
    })
}
