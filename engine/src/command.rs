//! What the engine is asked to do, and what it answers.

use crate::records::{
    DeadLetter, DocLine, DocRecord, ItemRecord, NodeMaster, StoredAdjustment, StoredException,
};
use std::sync::Arc;
use stockpost_common::domain::{
    Dec, DocRef, Event, LocationCode, LocationInfo, NodeId, OrderRef, OrderStatus, Sku,
};
use stockpost_common::orders::{Actor, NewOrder, Order};

/// One input of the engine.
#[derive(Debug, Clone)]
pub enum Command {
    /// A node's event batch (the topic and the envelope agree on the node).
    NodeBatch {
        /// The node.
        node: NodeId,
        /// Its events, contiguous from `events[0].id.seq`.
        events: Vec<Event>,
    },
    /// A node's status message.
    NodeStatus {
        /// The node.
        node: NodeId,
        /// Online or not (the last will says not).
        online: bool,
        /// Its last recorded sequence.
        head: u64,
        /// Its outbox entries not yet acked.
        pending: u64,
    },
    /// A node acked its downlink up to `applied_seq`.
    DownlinkAck {
        /// The node.
        node: NodeId,
        /// Highest downlink sequence it applied durably.
        applied_seq: u64,
    },
    /// A message that cannot be used (it does not decode, or breaks the protocol).
    Poison {
        /// The node its topic names, if any.
        node: Option<NodeId>,
        /// The sequence its header gives, if it decodes.
        seq: Option<u64>,
        /// What is wrong.
        reason: String,
        /// The payload as it arrived.
        payload: Vec<u8>,
    },
    /// The link to the broker went up or down.
    Link {
        /// Up.
        up: bool,
    },
    /// Timer: downlink resends, release, backorder retries, late orders.
    Tick,
    /// A change asked for through the ops API.
    Api {
        /// What.
        op: ApiCommand,
        /// Who.
        actor: Actor,
    },
    /// The webhook sender finished a delivery: delivered (`dead: None`) or given up.
    WebhookFinished {
        /// The delivery.
        id: u64,
        /// Why it was given up, when it was.
        dead: Option<DeadLetter>,
    },
}

/// A change asked for through the ops API (one per operation).
#[derive(Debug, Clone)]
pub enum ApiCommand {
    /// `PUT /items/{sku}`.
    PutItem(Box<ItemRecord>),
    /// `PUT /nodes/{node}`.
    PutNode(NodeId, NodeMaster),
    /// `PUT /nodes/{node}/locations/{code}`.
    PutLocation(NodeId, LocationCode, LocationInfo),
    /// `POST /nodes/{node}/inbound`.
    CreateInbound {
        /// The receiving node.
        node: NodeId,
        /// The notice's reference.
        doc: DocRef,
        /// Its lines.
        lines: Vec<DocLine>,
    },
    /// `POST /returns`.
    CreateReturn {
        /// The receiving node.
        node: NodeId,
        /// The RMA.
        rma: DocRef,
        /// The order returned, if known.
        order: Option<OrderRef>,
        /// Its lines.
        lines: Vec<DocLine>,
    },
    /// `POST /orders`.
    CreateOrder(NewOrder),
    /// `POST /orders/{ref}/cancel`.
    CancelOrder(OrderRef),
    /// `POST /orders/{ref}/release`.
    ReleaseOrder(OrderRef),
    /// `POST /exceptions/{id}/resolve`.
    ResolveException {
        /// The exception.
        id: u64,
        /// The resolver's note.
        note: Option<String>,
    },
    /// `POST /adjustments/{id}/approve` (`approve: true`) or `/reject`.
    DecideAdjustment {
        /// The adjustment.
        id: u64,
        /// Approve or reject.
        approve: bool,
    },
}

/// What the engine answers to a command (the HTTP layer renders it).
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// Nothing to say (node messages, ticks).
    Done,
    /// The item as stored.
    Item(Arc<ItemRecord>),
    /// The node as registered.
    Node(NodeId, NodeMaster),
    /// The location as set.
    Location(NodeId, LocationCode, LocationInfo),
    /// The document created.
    Document {
        /// It.
        record: DocRecord,
        /// A return (else an inbound notice).
        is_return: bool,
    },
    /// The order created.
    Order(Box<Order>),
    /// The order cancelled.
    Cancelled {
        /// The order.
        order: OrderRef,
        /// Put-back tasks created for picked stock.
        put_back_tasks: usize,
        /// Reservations released: (node, sku, qty).
        released: Vec<(NodeId, Sku, Dec)>,
    },
    /// The order released for picking.
    Released {
        /// The order.
        order: OrderRef,
        /// Its status now.
        status: OrderStatus,
        /// Pick tasks created.
        tasks: usize,
    },
    /// The exception as resolved.
    Exception(u64, StoredException),
    /// The adjustment as decided.
    Adjustment(u64, StoredAdjustment),
}

impl Reply {
    /// True for replies to a creating command (`201 Created`).
    pub fn created(&self) -> bool {
        matches!(self, Reply::Document { .. } | Reply::Order(_))
    }
}
