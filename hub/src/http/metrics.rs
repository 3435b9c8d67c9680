//! `GET /metrics`: Prometheus text (docs/operations.md lists what to alert on).

use super::AppState;
use crate::dto;
use crate::time::now_ms;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

fn counter(out: &mut String, name: &str, help: &str, v: u64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
    );
}

fn gauge(out: &mut String, name: &str, help: &str, v: u64) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
}

fn per_node(out: &mut String, name: &str, help: &str, rows: &[(String, String)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    for (node, v) in rows {
        let _ = writeln!(out, "{name}{{node=\"{node}\"}} {v}");
    }
}

/// `GET /metrics`.
pub(crate) async fn metrics(State(app): State<AppState>) -> Response {
    let model = app.model();
    let s = model.live.stats;
    let w = &app.writer.counters;
    let mut out = String::new();
    let o = &mut out;
    gauge(
        o,
        "stockpost_hub_store_write_failing",
        "1 while the store's last commit failed (disk full, I/O error); /healthz is 503 meanwhile.",
        u64::from(app.reader.write_failure().is_some()),
    );
    counter(
        o,
        "stockpost_hub_events_applied_total",
        "Node events applied to the ledger.",
        s.events_applied,
    );
    counter(
        o,
        "stockpost_hub_duplicate_batches_total",
        "Batches that were already applied.",
        s.duplicate_batches,
    );
    counter(o, "stockpost_hub_sequence_reused_batches_total", "Batches whose sequence numbers were applied before with different events (not applied; a sequence_reused exception).", s.sequence_reused_batches);
    counter(
        o,
        "stockpost_hub_gap_batches_total",
        "Batches that arrived after a gap.",
        s.gap_batches,
    );
    counter(
        o,
        "stockpost_hub_quarantined_total",
        "Messages or events quarantined (repeats of a known incident included).",
        s.quarantined,
    );
    counter(
        o,
        "stockpost_hub_quarantine_dropped_total",
        "Quarantine records dropped to keep the quarantine within its bounds.",
        s.quarantine_dropped,
    );
    counter(
        o,
        "stockpost_hub_unknown_node_batches_total",
        "Batches from nodes that are not registered (not applied).",
        s.unknown_node_batches,
    );
    counter(
        o,
        "stockpost_hub_commits_total",
        "Durable commits of the writer.",
        w.commits.load(Ordering::Relaxed),
    );
    counter(
        o,
        "stockpost_hub_commit_failures_total",
        "Rounds that were not committed (nothing of them was kept).",
        w.commit_failures.load(Ordering::Relaxed),
    );
    counter(
        o,
        "stockpost_hub_mqtt_received_total",
        "MQTT messages received.",
        app.mqtt.received.load(Ordering::Relaxed),
    );
    counter(
        o,
        "stockpost_hub_mqtt_rejected_total",
        "MQTT messages rejected.",
        app.mqtt.rejected.load(Ordering::Relaxed),
    );
    counter(
        o,
        "stockpost_hub_unauthenticated_messages_total",
        "MQTT messages on a node's topic that failed authentication (dropped without effect).",
        app.mqtt.unauthenticated.load(Ordering::Relaxed),
    );
    #[cfg(feature = "embedded-broker")]
    counter(
        o,
        "stockpost_hub_broker_full_refused_total",
        "Connections the embedded broker's gate closed at once because its connection limit was reached.",
        crate::broker_gate::counters().refused_full.load(Ordering::Relaxed),
    );
    #[cfg(feature = "embedded-broker")]
    counter(
        o,
        "stockpost_hub_broker_accept_errors_total",
        "Failed accepts of the embedded broker's gate (out of file handles, ...).",
        crate::broker_gate::counters()
            .accept_errors
            .load(Ordering::Relaxed),
    );
    #[cfg(feature = "embedded-broker")]
    counter(
        o,
        "stockpost_hub_broker_refused_total",
        "CONNECTs the embedded broker refused (anonymous, unknown node, wrong password, or the hub's client id without its secret).",
        crate::broker::refused_total(),
    );
    counter(
        o,
        "stockpost_hub_unsigned_dropped_total",
        "Acks, resend requests and downlink not sent because the node has no sync credential.",
        app.mqtt.unsigned_dropped.load(Ordering::Relaxed),
    );
    counter(
        o,
        "stockpost_hub_downlink_items_sent_total",
        "Downlink items published, resends included.",
        app.mqtt.downlink_sent.load(Ordering::Relaxed),
    );
    let h = &app.webhooks;
    counter(
        o,
        "stockpost_hub_webhooks_delivered_total",
        "Webhook deliveries that succeeded.",
        h.delivered.load(Ordering::Relaxed),
    );
    counter(
        o,
        "stockpost_hub_webhooks_failed_attempts_total",
        "Webhook attempts that failed.",
        h.failed_attempts.load(Ordering::Relaxed),
    );
    counter(
        o,
        "stockpost_hub_webhooks_dead_lettered_total",
        "Webhook deliveries given up.",
        h.dead_lettered.load(Ordering::Relaxed),
    );
    counter(
        o,
        "stockpost_hub_webhooks_store_failures_total",
        "Webhook outcomes the writer could not take (the delivery is sent again later).",
        h.store_failures.load(Ordering::Relaxed),
    );
    gauge(
        o,
        "stockpost_hub_webhooks_pending",
        "Webhook deliveries in the outbox, not yet delivered or given up.",
        app.reader.outbox(usize::MAX).map_or(0, |v| v.len() as u64),
    );
    gauge(
        o,
        "stockpost_hub_mqtt_connected",
        "Whether the hub is connected to the broker.",
        u64::from(app.mqtt.connected.load(Ordering::Relaxed)),
    );
    gauge(
        o,
        "stockpost_hub_quarantine_records",
        "Quarantine records kept.",
        model.books.quarantine.len() as u64,
    );
    let nodes = dto::nodes::nodes(&model, now_ms());
    let list = nodes["nodes"].as_array().cloned().unwrap_or_default();
    let column = |field: &str| -> Vec<(String, String)> {
        list.iter()
            .map(|n| {
                (
                    n["node"].as_str().unwrap_or("").to_string(),
                    n[field].to_string(),
                )
            })
            .collect()
    };
    per_node(
        o,
        "stockpost_hub_node_lag_ms",
        "Sync lag per node.",
        &column("lag_ms"),
    );
    per_node(
        o,
        "stockpost_hub_node_uplink_backlog",
        "Events a node reported and the hub has not applied.",
        &column("uplink_backlog"),
    );
    per_node(
        o,
        "stockpost_hub_node_pending_downlink",
        "Downlink items not yet acked by the node.",
        &column("pending_downlink"),
    );
    let online: Vec<(String, String)> = list
        .iter()
        .filter(|n| n["registered"] == true)
        .map(|n| {
            let up = u8::from(n["online"] == true);
            (n["node"].as_str().unwrap_or("").to_string(), up.to_string())
        })
        .collect();
    per_node(
        o,
        "stockpost_hub_node_online",
        "1 while a registered node's last status said online (its MQTT last will says offline).",
        &online,
    );
    let mut by_code: BTreeMap<String, u64> = BTreeMap::new();
    for e in model
        .books
        .exceptions
        .values()
        .filter(|e| e.exception.is_open())
    {
        *by_code
            .entry(dto::code_name(&e.exception.code))
            .or_default() += 1;
    }
    let _ = writeln!(o, "# HELP stockpost_hub_open_exceptions Open exceptions by code.\n# TYPE stockpost_hub_open_exceptions gauge");
    for (code, n) in by_code {
        let _ = writeln!(o, "stockpost_hub_open_exceptions{{code=\"{code}\"}} {n}");
    }
    o.push_str(&app.front.metrics("stockpost_hub_http_rejections_total"));
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        out,
    )
        .into_response()
}
