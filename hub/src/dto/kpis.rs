//! KPIs (`GET /kpis`).

use super::code_name;
use crate::time::format_ms;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use stockpost_common::orders::{compute_kpis, status_name};
use stockpost_engine::read::ReadModel;

/// The KPIs at hub time `now`, from the read model (no copy of the event window).
pub fn kpis(model: &ReadModel, now: i64) -> Value {
    let books = &model.books;
    // References into the shared window: nothing of it is copied.
    let events: Vec<&stockpost_common::domain::Event> =
        books.kpi_events.values().map(|e| &**e).collect();
    let kpis = compute_kpis(
        books.orders.values().map(|o| &**o),
        events.iter().copied(),
        now,
    );
    let mut open_by_code: BTreeMap<String, u64> = BTreeMap::new();
    for e in books.exceptions.values().filter(|e| e.exception.is_open()) {
        *open_by_code
            .entry(code_name(&e.exception.code))
            .or_default() += 1;
    }
    let mut by_status: BTreeMap<&str, u64> = BTreeMap::new();
    for o in books.orders.values() {
        *by_status.entry(status_name(o.status)).or_default() += 1;
    }
    let nodes = super::nodes::nodes(model, now);
    let sync: Vec<Value> = nodes["nodes"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|n| json!({"node": n["node"], "lag_ms": n["lag_ms"], "uplink_backlog": n["uplink_backlog"], "pending_downlink": n["pending_downlink"]}))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "fill_rate": kpis.fill_rate, "perfect_order_rate": kpis.perfect_order_rate,
        "closed_orders": kpis.closed_orders, "inventory_accuracy": kpis.inventory_accuracy,
        "counts": kpis.counts,
        "return_to_stock": {"count": kpis.return_to_stock.count, "mean_ms": kpis.return_to_stock.mean_ms},
        "split_shipment_rate": kpis.split_shipment_rate, "shipped_orders": kpis.shipped_orders,
        "order_aging": kpis.aging.iter().map(|a| json!({"code": code_name(&a.code), "orders": a.orders, "oldest_age_ms": a.oldest_age_ms})).collect::<Vec<_>>(),
        "orders_by_status": by_status,
        "open_exceptions_by_code": open_by_code,
        "sync": sync,
        "at": format_ms(now),
    })
}
