//! Webhook bodies, and the stored form of deliveries and dead letters (the `webhook_outbox` and
//! `webhook_dead` trees keep JSON, unchanged since webhooks were made durable).

use super::exceptions::exception;
use crate::time::format_ms;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use stockpost_common::domain::EventBody;
use stockpost_engine::records::{DeadLetter, Delivery, StoredException, WebhookEvent};

/// The `data` of a webhook event.
pub fn data(event: &WebhookEvent) -> Value {
    match event {
        WebhookEvent::ShipmentConfirmed { event } => match &event.body {
            EventBody::Ship {
                container,
                order,
                sscc,
                lines,
            } => json!({
                "order": order, "node": event.id.node, "container": container, "sscc": sscc,
                "lines": lines.iter().map(|l| json!({"sku": l.stock.sku, "qty": l.qty})).collect::<Vec<_>>(),
                "shipped_at": format_ms(event.at_ms),
            }),
            _ => Value::Null,
        },
        WebhookEvent::InventoryChanged {
            node,
            sku,
            source,
            kind,
            on_hand,
            reserved,
            available,
        } => json!({
            "node": node, "sku": sku, "event": {"node": source.node, "seq": source.seq, "kind": kind},
            "on_hand": on_hand, "reserved": reserved, "available": available,
        }),
        WebhookEvent::ExceptionRaised { id, exception: e } => {
            let mut v = exception(
                *id,
                &StoredException {
                    exception: e.clone(),
                    resolved_by: None,
                    note: None,
                },
            );
            if let Some(obj) = v.as_object_mut() {
                for k in ["source", "open", "resolved_at", "resolved_by", "note"] {
                    obj.remove(k);
                }
            }
            v
        }
    }
}

/// A delivery as stored and sent: the body is `{"id", "event", "at", "data"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredDelivery {
    /// Delivery id (`X-Stockpost-Delivery`).
    pub id: u64,
    /// The receiver.
    pub url: String,
    /// The event kind.
    pub event: String,
    /// The body sent.
    pub body: Value,
}

impl StoredDelivery {
    /// The stored form of a staged delivery.
    pub fn of(d: &Delivery) -> Self {
        Self {
            id: d.id,
            url: d.url.clone(),
            event: d.event.name().to_string(),
            body: json!({"id": d.id, "event": d.event.name(), "at": format_ms(d.at_ms), "data": data(&d.event)}),
        }
    }
}

/// A dead letter as stored and shown by `GET /webhooks/dead-letters`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredDeadLetter {
    /// Delivery id.
    pub id: u64,
    /// The receiver.
    pub url: String,
    /// The event kind.
    pub event: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last error.
    pub last_error: String,
    /// The body that was sent.
    pub body: Value,
    /// When it was given up, RFC 3339.
    pub at: String,
}

impl StoredDeadLetter {
    /// The dead letter of a stored delivery.
    pub fn of(d: StoredDelivery, letter: &DeadLetter) -> Self {
        Self {
            id: d.id,
            url: d.url,
            event: d.event,
            attempts: letter.attempts,
            last_error: letter.last_error.clone(),
            body: d.body,
            at: format_ms(letter.at_ms),
        }
    }
}
