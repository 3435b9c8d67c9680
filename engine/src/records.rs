//! The records the hub keeps, as the engine reads and writes them through the repository. How a
//! backend stores them (trees and keys, tables and columns) is the backend's business; the
//! embedded backend's layout is `hub/src/repo/layout.rs`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use stockpost_common::domain::{
    Date, Dec, DocRef, Event, EventId, Item, Lot, NodeId, OrderRef, Place, Qty, Sku, StockRef,
    StockStatus,
};
use stockpost_common::orders::{Adjustment, Exception};
use stockpost_common::tasks::{LineProgress, TaskKind, TaskSpec, TaskStatus};

/// An item with what the hub alone needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemRecord {
    /// The item as nodes get it.
    pub item: Item,
    /// Value of one base unit, for adjustment approval.
    pub unit_value: Dec,
}

/// Node master data: a node exists for the hub once it is registered with these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeMaster {
    /// Display name.
    pub name: String,
    /// Lower is preferred for allocation.
    pub priority: u32,
    /// Accepting orders.
    pub active: bool,
    /// Carrier cut-off, ms after midnight UTC.
    pub cutoff_ms_of_day: Option<i64>,
}

/// A node's sync credential as the hub keeps it (apart from its master data, so no read of
/// the nodes ever carries it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeCredential {
    /// The key that tags and checks every message of the node.
    pub key: stockpost_common::wire::SyncKey,
    /// Hub clock when it was issued or set, Unix ms.
    pub issued_at_ms: i64,
}

/// An event as the hub keeps it: with the time it arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// The event as the node recorded it.
    pub event: Event,
    /// Hub clock when it was applied, Unix ms.
    pub received_at_ms: i64,
}

/// Who made a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskOrigin {
    /// The hub sent it down.
    Hub,
    /// The node made it and reported it (`task_defined`).
    Node,
}

/// A task of a node as the hub knows it: its definition, who made it and how far it got (from
/// the node's `task_progress` reports).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubTask {
    /// Where.
    pub node: NodeId,
    /// The task.
    pub spec: TaskSpec,
    /// Who made it.
    pub origin: TaskOrigin,
    /// Where it stands.
    pub status: TaskStatus,
    /// Progress per line (or count location), as last reported.
    pub lines: Vec<LineProgress>,
    /// Follow-up tasks it made, as last reported.
    pub spawned: u32,
    /// Hub clock when the hub made it or first heard of it, Unix ms.
    pub created_ms: i64,
}

impl HubTask {
    /// The task's kind.
    pub fn kind(&self) -> TaskKind {
        self.spec.kind
    }

    /// Open or in progress.
    pub fn is_open(&self) -> bool {
        self.status.is_open()
    }
}

/// One expected line of an inbound notice or a return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocLine {
    /// Item.
    pub sku: Sku,
    /// Quantity.
    pub qty: Qty,
    /// Lot, if known.
    pub lot: Option<Lot>,
    /// Expiry, if known.
    pub expiry: Option<Date>,
}

/// An inbound notice (expected receipt) or a return authorisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocRecord {
    /// ASN or RMA.
    pub doc: DocRef,
    /// The node receiving it.
    pub node: NodeId,
    /// The order it returns (returns only).
    pub order: Option<OrderRef>,
    /// Expected.
    pub lines: Vec<DocLine>,
    /// Received so far, per SKU.
    pub received: BTreeMap<Sku, Dec>,
    /// The task sent down.
    pub task: stockpost_common::domain::TaskId,
    /// Hub clock, Unix ms.
    pub created_ms: i64,
}

/// Where a document stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocStatus {
    /// Nothing received.
    Expected,
    /// Some lines received, not all.
    Receiving,
    /// Every line received in full.
    Received,
}

impl DocStatus {
    /// `expected`, `receiving`, `received`.
    pub fn name(self) -> &'static str {
        match self {
            DocStatus::Expected => "expected",
            DocStatus::Receiving => "receiving",
            DocStatus::Received => "received",
        }
    }
}

impl DocRecord {
    /// Expected, receiving or received.
    pub fn status(&self) -> DocStatus {
        if self.received.is_empty() {
            return DocStatus::Expected;
        }
        if self.is_complete() {
            DocStatus::Received
        } else {
            DocStatus::Receiving
        }
    }

    /// Every line received in full.
    pub fn is_complete(&self) -> bool {
        self.lines
            .iter()
            .all(|l| self.received.get(&l.sku).is_some_and(|r| *r >= l.qty.get()))
    }

    /// What is still expected of `sku` (zero when not on the document or received in full).
    pub fn outstanding(&self, sku: &Sku) -> Dec {
        let expected = self
            .lines
            .iter()
            .filter(|l| &l.sku == sku)
            .fold(Dec::ZERO, |a, l| a.checked_add(l.qty.get()).unwrap_or(a));
        let got = self.received.get(sku).copied().unwrap_or(Dec::ZERO);
        let left = expected.checked_sub(got).unwrap_or(Dec::ZERO);
        if left.is_negative() {
            Dec::ZERO
        } else {
            left
        }
    }
}

/// An exception with who resolved it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredException {
    /// The exception.
    pub exception: Exception,
    /// Who resolved it.
    pub resolved_by: Option<String>,
    /// Their note.
    pub note: Option<String>,
}

/// A stored adjustment and its exception.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAdjustment {
    /// The adjustment.
    pub adjustment: Adjustment,
    /// The `adjustment_needs_approval` exception's id.
    pub exception: Option<u64>,
}

/// The per-node downlink marks: the last item produced and the last item the node acked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownlinkMarks {
    /// Highest downlink sequence produced.
    pub head: u64,
    /// Highest downlink sequence the node applied durably.
    pub acked: u64,
}

impl DownlinkMarks {
    /// Items produced and not yet acked.
    pub fn pending(&self) -> u64 {
        self.head.saturating_sub(self.acked)
    }
}

/// A SHA-256 digest.
pub type Digest = [u8; 32];

/// Why something was quarantined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum QuarantineKind {
    /// A message that does not decode or breaks the protocol (wrong node, wrong kind).
    Poison,
    /// A message from a node that was never registered.
    UnknownNode,
    /// A node event the ledger refused as invalid (the stream stepped over it).
    InvalidEvent,
}

impl QuarantineKind {
    /// `poison`, `unknown_node`, `invalid_event`.
    pub fn name(self) -> &'static str {
        match self {
            QuarantineKind::Poison => "poison",
            QuarantineKind::UnknownNode => "unknown_node",
            QuarantineKind::InvalidEvent => "invalid_event",
        }
    }
}

/// One quarantined incident: what arrived (its digest and first bytes, never the whole
/// payload), why, from where, and how often.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineRecord {
    /// Why.
    pub kind: QuarantineKind,
    /// Identifies the incident: the payload's digest (for unknown nodes: of the node id, so a
    /// node is quarantined once however many messages it sends).
    pub digest: Digest,
    /// The first bytes of the payload (at most [`crate::quarantine::HEAD_BYTES`]).
    pub head: Vec<u8>,
    /// The payload's full length in bytes.
    pub len: u64,
    /// What is wrong, in words.
    pub reason: String,
    /// The node, when the topic or envelope names one.
    pub node: Option<NodeId>,
    /// The sequence, when the envelope header decodes.
    pub seq: Option<u64>,
    /// Hub clock of the first and last time it arrived, Unix ms.
    pub first_seen_ms: i64,
    /// See `first_seen_ms`.
    pub last_seen_ms: i64,
    /// How many times it arrived.
    pub count: u64,
    /// The exception raised for it.
    pub exception: Option<u64>,
}

/// Something to tell webhook receivers (rendered to JSON outside the engine).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WebhookEvent {
    /// A carton left a node.
    ShipmentConfirmed {
        /// The ship event.
        event: Event,
    },
    /// A node's stock of a SKU changed.
    InventoryChanged {
        /// The node.
        node: NodeId,
        /// The item.
        sku: Sku,
        /// The event that changed it.
        source: EventId,
        /// Its kind.
        kind: String,
        /// On hand after it.
        on_hand: Dec,
        /// Reserved after it.
        reserved: Dec,
        /// Available after it.
        available: Dec,
    },
    /// An exception was raised.
    ExceptionRaised {
        /// Its id.
        id: u64,
        /// The exception.
        exception: Exception,
    },
}

impl WebhookEvent {
    /// `shipment_confirmed`, `inventory_changed`, `exception_raised`.
    pub fn name(&self) -> &'static str {
        match self {
            WebhookEvent::ShipmentConfirmed { .. } => "shipment_confirmed",
            WebhookEvent::InventoryChanged { .. } => "inventory_changed",
            WebhookEvent::ExceptionRaised { .. } => "exception_raised",
        }
    }
}

/// A webhook delivery staged in the commit that raised it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Delivery id, unique for the life of the hub's books.
    pub id: u64,
    /// The receiver.
    pub url: String,
    /// What happened.
    pub event: WebhookEvent,
    /// Hub clock when it was staged, Unix ms.
    pub at_ms: i64,
}

/// A delivery that failed every attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Attempts made.
    pub attempts: u32,
    /// The last error.
    pub last_error: String,
    /// When it was given up, Unix ms.
    pub at_ms: i64,
}

/// A rejected adjustment's reversal, as the node is asked to book it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reversal {
    /// Where the rejected change was booked.
    pub place: Place,
    /// What.
    pub stock: StockRef,
    /// In which status.
    pub status: StockStatus,
    /// The rejected change.
    pub delta: Dec,
}
