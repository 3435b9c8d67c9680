//! The messages a node and the hub exchange, and their kind codes.
//!
//! **Append-only.** A kind's numeric code is on the wire (header byte 4) and never changes or gets
//! reused; new kinds take the next free code. The variants of [`DownlinkItem`] are encoded by
//! their index (postcard), so new variants are only ever appended at the end. A field is never
//! added to or removed from an existing message or variant: that is a new format version.

use crate::domain::{
    Dec, DocRef, Event, Item, LocationCode, LocationInfo, OrderRef, Place, StockRef, StockStatus,
    TaskId,
};
use crate::tasks::TaskSpec;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The kind of a message: byte 4 of the envelope header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// Code 1, node → hub: a batch of contiguous events from the node's outbox.
    EventBatch,
    /// Code 2, hub → node: the highest contiguous event sequence the hub applied durably.
    Ack,
    /// Code 3, hub → node: the hub saw a gap; resend from this sequence.
    ResendRequest,
    /// Code 4, node → hub: the node's status (retained message and MQTT last will).
    NodeStatus,
    /// Code 5, hub → node: master data changes, cancellations and approvals.
    Downlink,
    /// Code 6, node → hub: the highest contiguous downlink sequence the node applied durably.
    DownlinkAck,
}

/// Which way a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Node → hub. The header's node id is the sender.
    Uplink,
    /// Hub → node. The header's node id is the recipient.
    Downlink,
}

impl Kind {
    /// Every kind, in code order.
    pub const ALL: [Kind; 6] = [
        Kind::EventBatch,
        Kind::Ack,
        Kind::ResendRequest,
        Kind::NodeStatus,
        Kind::Downlink,
        Kind::DownlinkAck,
    ];

    /// The code on the wire. Code 0 is reserved and never valid.
    pub fn code(self) -> u8 {
        match self {
            Kind::EventBatch => 1,
            Kind::Ack => 2,
            Kind::ResendRequest => 3,
            Kind::NodeStatus => 4,
            Kind::Downlink => 5,
            Kind::DownlinkAck => 6,
        }
    }

    /// The kind with this code, if any.
    pub fn from_code(code: u8) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// A short snake_case name, for logs and metrics labels.
    pub fn name(self) -> &'static str {
        match self {
            Kind::EventBatch => "event_batch",
            Kind::Ack => "ack",
            Kind::ResendRequest => "resend_request",
            Kind::NodeStatus => "node_status",
            Kind::Downlink => "downlink",
            Kind::DownlinkAck => "downlink_ack",
        }
    }

    /// Which way messages of this kind travel.
    pub fn direction(self) -> Direction {
        match self {
            Kind::EventBatch | Kind::NodeStatus | Kind::DownlinkAck => Direction::Uplink,
            Kind::Ack | Kind::ResendRequest | Kind::Downlink => Direction::Downlink,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One change the hub sends down to a node. Variants are append-only (their index is on the
/// wire); tasks will be appended here when the task model exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)]
pub enum DownlinkItem {
    /// Index 0: item master data, created or replaced as a whole.
    ItemUpsert(Item),
    /// Index 1: a location, created or replaced.
    LocationUpsert {
        /// The location.
        code: LocationCode,
        /// Its kind, pickable flag and capacity.
        info: LocationInfo,
    },
    /// Index 2: an order was cancelled; stop working on it.
    Cancel {
        /// The order.
        order: OrderRef,
    },
    /// Index 3: an adjustment that needed approval was approved.
    AdjustmentApproved {
        /// The adjustment document.
        adjustment: DocRef,
    },
    /// A task for the node (receive, putaway, pick, count, replenish, return, …).
    Task(TaskSpec),
    /// A task withdrawn by the hub (e.g. its order was cancelled before picking started).
    TaskCancel {
        /// The task.
        task: TaskId,
    },
    /// An approver rejected an adjustment (or a count variance) of this node: the node books
    /// the opposite change, an `adjust` event with reason `adjustment_reversed` and this
    /// `adjustment` reference, so the node's and the hub's books return to what they were.
    ReverseAdjustment {
        /// The hub's reference of the rejected adjustment (`ADJ-<id>`).
        adjustment: DocRef,
        /// Where the rejected change was booked.
        place: Place,
        /// What.
        stock: StockRef,
        /// In which status.
        status: StockStatus,
        /// The rejected change (the node books its negation).
        delta: Dec,
    },
}

/// A message, without its envelope. The envelope's sequence number (`seq`) must agree with
/// the body, as stated on each variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Node → hub. `seq` is the first event's sequence; the events are the node's own, non-empty
    /// and contiguous (`seq`, `seq + 1`, …).
    EventBatch {
        /// The events, in sequence order.
        events: Vec<Event>,
    },
    /// Hub → node. `seq == applied_seq`.
    Ack {
        /// Highest contiguous event sequence durably applied by the hub (0: none yet).
        applied_seq: u64,
    },
    /// Hub → node. `seq == from_seq`, at least 1.
    ResendRequest {
        /// Resend every event from this sequence on.
        from_seq: u64,
    },
    /// Node → hub (retained; also the MQTT last will with `online: false`). `seq == last_seq`.
    NodeStatus {
        /// Whether the node is connected.
        online: bool,
        /// Events in the outbox not yet acked by the hub.
        outbox_pending: u64,
        /// The node's last recorded event sequence (0: none yet).
        last_seq: u64,
    },
    /// Hub → node. `seq` is the downlink sequence of the first item; the items are non-empty
    /// and numbered contiguously (`seq`, `seq + 1`, …).
    Downlink {
        /// The changes, in downlink sequence order.
        items: Vec<DownlinkItem>,
    },
    /// Node → hub. `seq == applied_seq`.
    DownlinkAck {
        /// Highest contiguous downlink sequence durably applied by the node (0: none yet).
        applied_seq: u64,
    },
}

impl Message {
    /// This message's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Message::EventBatch { .. } => Kind::EventBatch,
            Message::Ack { .. } => Kind::Ack,
            Message::ResendRequest { .. } => Kind::ResendRequest,
            Message::NodeStatus { .. } => Kind::NodeStatus,
            Message::Downlink { .. } => Kind::Downlink,
            Message::DownlinkAck { .. } => Kind::DownlinkAck,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_codes_are_frozen_and_zero_is_reserved() {
        let codes: Vec<(u8, &str)> = Kind::ALL.iter().map(|k| (k.code(), k.name())).collect();
        assert_eq!(
            codes,
            [
                (1, "event_batch"),
                (2, "ack"),
                (3, "resend_request"),
                (4, "node_status"),
                (5, "downlink"),
                (6, "downlink_ack"),
            ]
        );
        assert_eq!(Kind::from_code(0), None);
        assert_eq!(Kind::from_code(7), None);
        for kind in Kind::ALL {
            assert_eq!(Kind::from_code(kind.code()), Some(kind));
        }
    }
}
