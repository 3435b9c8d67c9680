//! Node events (`GET /events`).

use crate::time::format_ms;
use serde_json::{json, Map, Value};
use stockpost_engine::records::StoredEvent;

/// An event: who, where, when, and the fields of its kind at the top level.
pub fn event(e: &StoredEvent) -> Value {
    let ev = &e.event;
    let mut map = Map::new();
    map.insert("node".into(), json!(ev.id.node));
    map.insert("seq".into(), json!(ev.id.seq));
    map.insert("kind".into(), json!(ev.body.kind()));
    map.insert("at".into(), json!(format_ms(ev.at_ms)));
    map.insert("received_at".into(), json!(format_ms(e.received_at_ms)));
    map.insert("operator".into(), json!(ev.operator));
    map.insert("station".into(), json!(ev.station));
    map.insert("task".into(), json!(ev.task));
    if let Ok(Value::Object(outer)) = serde_json::to_value(&ev.body) {
        for (_, inner) in outer {
            if let Value::Object(fields) = inner {
                for (k, v) in fields {
                    map.entry(k).or_insert(v);
                }
            }
        }
    }
    Value::Object(map)
}
