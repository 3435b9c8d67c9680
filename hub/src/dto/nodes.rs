//! Nodes (`GET /nodes`) and their snapshot.

use super::stock::row;
use crate::time::format_ms;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use stockpost_common::domain::NodeId;
use stockpost_engine::read::ReadModel;
use stockpost_engine::snapshot::NodeSnapshot;

/// Every registered node, with its link and sync marks, at hub time `now`.
pub fn nodes(model: &ReadModel, now: i64) -> Value {
    let books = &model.books;
    let mut all: BTreeSet<NodeId> = books.nodes.keys().cloned().collect();
    all.extend(model.live.nodes.keys().cloned());
    let list: Vec<Value> = all
        .iter()
        .map(|n| {
            let live = model.live.nodes.get(n).cloned().unwrap_or_default();
            let master = books.nodes.get(n);
            let applied = books.stock.applied_seq(n);
            let backlog = live.reported_head.saturating_sub(applied);
            let lag_ms = if backlog > 0 {
                live.last_event_at_ms
                    .or(live.last_seen_ms)
                    .map(|t| (now - t).max(0))
                    .unwrap_or(0)
            } else {
                0
            };
            let marks = books.downlink.get(n).map(|m| **m).unwrap_or_default();
            json!({
                "node": n, "name": master.map(|m| m.name.clone()), "priority": master.map(|m| m.priority),
                "registered": master.is_some(), "online": live.online,
                "last_seen": live.last_seen_ms.map(format_ms), "applied_seq": applied,
                "reported_seq": live.reported_head, "uplink_backlog": backlog,
                "pending_downlink": marks.pending(), "downlink_acked": marks.acked, "lag_ms": lag_ms,
            })
        })
        .collect();
    json!({ "nodes": list })
}

/// `GET /nodes/{node}/snapshot`: each task carries its `progress` beside its fields.
pub fn snapshot(s: &NodeSnapshot, now: i64) -> Value {
    let items: Vec<_> = s.items.iter().map(|r| &r.item).collect();
    let locations: Vec<Value> = s
        .locations
        .iter()
        .map(|(code, info)| json!({"code": code, "kind": info.kind, "pickable": info.pickable, "capacity": info.capacity}))
        .collect();
    let balances: Vec<Value> = s.balances.iter().map(row).collect();
    let totals: Vec<Value> = s
        .totals
        .iter()
        .map(|(sku, t)| json!({"sku": sku, "totals": t}))
        .collect();
    let tasks: Vec<Value> = s
        .tasks
        .iter()
        .map(|t| {
            let mut v = serde_json::to_value(&t.spec).unwrap_or(Value::Null);
            if let Some(obj) = v.as_object_mut() {
                obj.insert(
                    "progress".into(),
                    json!({"status": t.status, "lines": t.lines, "spawned": t.spawned}),
                );
            }
            v
        })
        .collect();
    json!({
        "node": s.node, "items": items, "locations": locations, "balances": balances,
        "totals": totals, "tasks": tasks, "applied_seq": s.applied_seq, "downlink_seq": s.downlink_seq,
        "at": format_ms(now),
    })
}
