//! The embedded store's layout: every tree, its keys and its values, in one place.
//!
//! Integers in keys are big-endian (they sort as numbers); ids cannot contain 0x00, so
//! `node 0x00 seq` sorts by node, then sequence. Values are postcard unless said otherwise.
//!
//! | tree | key | value |
//! |---|---|---|
//! | `meta` | counter name (`next_exception`, …), `layout`, `kpi_window` | u64 |
//! | `applied` | node | u64: last applied (or stepped-over) sequence |
//! | `events` | `node 0x00 seq` | `StoredEvent` (the ledger; append-only) |
//! | `balances` | postcard `StockKey` | `Dec` |
//! | `totals` | postcard `(node, sku)` | `Totals` |
//! | `locations` | postcard `(node, code)` | `LocationInfo` |
//! | `reservations` | postcard `(node, sku, order)` | `Dec` |
//! | `held` | postcard `(node, sku, adjustment id)` | `Dec` held back for approval |
//! | `items` | sku | `ItemRecord` |
//! | `nodes` | node | `NodeMaster` |
//! | `credentials` | node | `NodeCredential` (the node's sync key and when it was issued) |
//! | `orders` | order ref | `Order` |
//! | `exceptions` | u64 id | `StoredException` |
//! | `adjustments` | u64 id | `StoredAdjustment` |
//! | `audit` | u64 id | JSON `AuditEntry` |
//! | `tasks` | task id | `HubTask` |
//! | `inbound`, `returns` | document ref | `DocRecord` |
//! | `downlink` | `node 0x00 seq` | `DownlinkItem` (not yet acked) |
//! | `down_head`, `down_acked` | node | u64 |
//! | `quarantine` | u64 id | `QuarantineRecord` |
//! | `kpi_events` | u64 position | `Event` (the KPI window) |
//! | `webhook_outbox` | u64 delivery id | JSON `{id, url, event, body}` |
//! | `webhook_dead` | u64 delivery id | JSON dead letter |
//!
//! Layout 2 (this one) differs from layout 1 in `tasks` (task status and progress),
//! `quarantine` (digest and first bytes instead of the whole payload), `reservations` (keyed by
//! node and SKU first) and `held` (new); `migrate.rs` rewrites a layout-1 store at its first
//! open.

use serde::{de::DeserializeOwned, Serialize};
use stockpost_common::domain::NodeId;
use stockpost_engine::repo::RepoError;

/// The layout version this code writes.
pub const LAYOUT: u64 = 2;

/// Every tree.
pub const TREES: &[&str] = &[
    META,
    APPLIED,
    EVENTS,
    BALANCES,
    TOTALS,
    LOCATIONS,
    RESERVATIONS,
    HELD,
    ITEMS,
    NODES,
    CREDENTIALS,
    ORDERS,
    EXCEPTIONS,
    ADJUSTMENTS,
    AUDIT,
    TASKS,
    INBOUND,
    RETURNS,
    DOWNLINK,
    DOWN_HEAD,
    DOWN_ACKED,
    QUARANTINE,
    KPI_EVENTS,
    WEBHOOK_OUTBOX,
    WEBHOOK_DEAD,
];

/// Counters and marks.
pub const META: &str = "meta";
/// Applied sequence per node.
pub const APPLIED: &str = "applied";
/// The event log.
pub const EVENTS: &str = "events";
/// Balance lines.
pub const BALANCES: &str = "balances";
/// Running totals.
pub const TOTALS: &str = "totals";
/// Locations.
pub const LOCATIONS: &str = "locations";
/// Reservations.
pub const RESERVATIONS: &str = "reservations";
/// Approval holds.
pub const HELD: &str = "held";
/// Items.
pub const ITEMS: &str = "items";
/// Nodes.
pub const NODES: &str = "nodes";
/// The nodes' sync credentials.
pub const CREDENTIALS: &str = "credentials";
/// Orders.
pub const ORDERS: &str = "orders";
/// Exceptions.
pub const EXCEPTIONS: &str = "exceptions";
/// Adjustments.
pub const ADJUSTMENTS: &str = "adjustments";
/// Audit trail.
pub const AUDIT: &str = "audit";
/// Tasks.
pub const TASKS: &str = "tasks";
/// Inbound notices.
pub const INBOUND: &str = "inbound";
/// Returns.
pub const RETURNS: &str = "returns";
/// Downlink items.
pub const DOWNLINK: &str = "downlink";
/// Downlink heads.
pub const DOWN_HEAD: &str = "down_head";
/// Downlink acks.
pub const DOWN_ACKED: &str = "down_acked";
/// Quarantine.
pub const QUARANTINE: &str = "quarantine";
/// The KPI window.
pub const KPI_EVENTS: &str = "kpi_events";
/// Webhook outbox.
pub const WEBHOOK_OUTBOX: &str = "webhook_outbox";
/// Webhook dead letters.
pub const WEBHOOK_DEAD: &str = "webhook_dead";

/// The `meta` key of the layout version.
pub const LAYOUT_KEY: &[u8] = b"layout";
/// The `meta` key marking that the KPI window is kept.
pub const KPI_WINDOW_KEY: &[u8] = b"kpi_window";

/// Encodes a value (or a key) with postcard.
pub fn encode<T: Serialize>(table: &'static str, value: &T) -> Result<Vec<u8>, RepoError> {
    postcard::to_allocvec(value).map_err(|e| RepoError::Corrupt {
        table,
        reason: e.to_string(),
    })
}

/// Decodes a postcard value (or key), refusing leftover bytes.
pub fn decode<T: DeserializeOwned>(table: &'static str, bytes: &[u8]) -> Result<T, RepoError> {
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(RepoError::Corrupt {
            table,
            reason: format!("{} bytes left over", rest.len()),
        }),
        Err(e) => Err(RepoError::Corrupt {
            table,
            reason: e.to_string(),
        }),
    }
}

/// Encodes JSON.
pub fn encode_json<T: Serialize>(table: &'static str, value: &T) -> Result<Vec<u8>, RepoError> {
    serde_json::to_vec(value).map_err(|e| RepoError::Corrupt {
        table,
        reason: e.to_string(),
    })
}

/// Decodes JSON.
pub fn decode_json<T: DeserializeOwned>(table: &'static str, bytes: &[u8]) -> Result<T, RepoError> {
    serde_json::from_slice(bytes).map_err(|e| RepoError::Corrupt {
        table,
        reason: e.to_string(),
    })
}

/// `node 0x00 seq`.
pub fn node_seq(node: &NodeId, seq: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(node.as_str().len() + 9);
    key.extend_from_slice(node.as_str().as_bytes());
    key.push(0);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// The node and sequence of a `node 0x00 seq` key.
pub fn split_node_seq(table: &'static str, key: &[u8]) -> Result<(NodeId, u64), RepoError> {
    let bad = |reason: &str| RepoError::Corrupt {
        table,
        reason: reason.to_string(),
    };
    let split = key
        .iter()
        .position(|b| *b == 0)
        .ok_or_else(|| bad("a key without its 0x00 separator"))?;
    let node = text_id(table, &key[..split], NodeId::new)?;
    let seq = key
        .get(split + 1..)
        .and_then(|s| <[u8; 8]>::try_from(s).ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| bad("a key without an 8-byte sequence"))?;
    Ok((node, seq))
}

/// A big-endian u64 key or value.
pub fn u64_key(n: u64) -> Vec<u8> {
    n.to_be_bytes().to_vec()
}

/// Reads a big-endian u64.
pub fn read_u64(table: &'static str, bytes: &[u8]) -> Result<u64, RepoError> {
    <[u8; 8]>::try_from(bytes)
        .map(u64::from_be_bytes)
        .map_err(|_| RepoError::Corrupt {
            table,
            reason: "not an 8-byte integer".into(),
        })
}

/// An id stored as its text.
pub fn text_id<T, E: std::fmt::Display>(
    table: &'static str,
    bytes: &[u8],
    make: impl FnOnce(String) -> Result<T, E>,
) -> Result<T, RepoError> {
    let text = std::str::from_utf8(bytes).map_err(|e| RepoError::Corrupt {
        table,
        reason: e.to_string(),
    })?;
    make(text.to_string()).map_err(|e| RepoError::Corrupt {
        table,
        reason: e.to_string(),
    })
}
