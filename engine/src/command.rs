//! What the engine is asked to do, and what it answers.

use crate::records::{
    DeadLetter, DocLine, DocRecord, ItemRecord, NodeMaster, StoredAdjustment, StoredException,
};
use std::sync::Arc;
use stockpost_common::domain::{
    Dec, DocRef, Event, LocationCode, LocationInfo, NodeId, OrderRef, OrderStatus, Sku,
};
use stockpost_common::orders::{Actor, NewOrder, Order};
use stockpost_common::wire::SyncKey;

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
    /// A message on a node's topic that failed authentication: dropped and counted; raised
    /// once per incident as an `unauthenticated_message` exception (an `unknown_node` one when
    /// the node is not registered); it moves nothing.
    Unauthenticated {
        /// The node its header and topic name.
        node: NodeId,
        /// The header's sequence.
        seq: u64,
        /// It came on the node's status topic (from an unregistered node it is only counted:
        /// forged statuses under made-up node names raise nothing).
        status: bool,
        /// Why (the wire error's sentence).
        reason: String,
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

/// What a node registration does with the node's sync credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialChoice {
    /// Set this credential (the caller provisioned it); replaces the node's current one.
    Set(SyncKey),
    /// Keep the node's credential; a node that has none gets this one (freshly drawn by the
    /// caller) and the reply shows it.
    KeepOrIssue(SyncKey),
}

/// A change asked for through the ops API (one per operation).
#[derive(Debug, Clone)]
pub enum ApiCommand {
    /// `PUT /items/{sku}`.
    PutItem(Box<ItemRecord>),
    /// `PUT /nodes/{node}`, with what to do with the node's sync credential.
    PutNode(NodeId, NodeMaster, CredentialChoice),
    /// `POST /nodes/{node}/credential`: a new sync credential for a registered node (drawn by
    /// the caller); the old one stops working at once.
    IssueCredential(NodeId, SyncKey),
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
    /// The node as registered, with its sync credential when this registration issued one
    /// (shown once: no read gives it again).
    Node(NodeId, NodeMaster, Option<SyncKey>),
    /// A new sync credential for the node (shown once).
    Credential(NodeId, SyncKey),
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
