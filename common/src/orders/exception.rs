//! An exception: something a person must look at, with the context needed to act on it.

use crate::domain::{EventId, ExceptionCode, LocationCode, NodeId, OrderRef, Sku};
use serde::{Deserialize, Serialize};

/// One raised exception. The hub gives it an id when it stores it.
///
/// Field order is the sort order: by the node event that caused it (so the same node streams
/// in any interleaving give the same list), then by code and context.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Exception {
    /// The node event that caused it, when one did.
    pub source: Option<EventId>,
    /// What kind of problem.
    pub code: ExceptionCode,
    /// The node concerned.
    pub node: Option<NodeId>,
    /// The item concerned.
    pub sku: Option<Sku>,
    /// The location concerned.
    pub location: Option<LocationCode>,
    /// The order concerned.
    pub order: Option<OrderRef>,
    /// A sentence a person can act on.
    pub message: String,
    /// When it happened (the node's clock for node events), Unix ms.
    pub at_ms: i64,
    /// When it was resolved, Unix ms; `None` while open.
    pub resolved_at_ms: Option<i64>,
}

impl Exception {
    /// An open exception with no context; add context with the builder methods.
    pub fn new(code: ExceptionCode, message: impl Into<String>, at_ms: i64) -> Self {
        Self {
            source: None,
            code,
            node: None,
            sku: None,
            location: None,
            order: None,
            message: message.into(),
            at_ms,
            resolved_at_ms: None,
        }
    }

    /// Sets the causing event.
    pub fn from_event(mut self, id: &EventId) -> Self {
        self.source = Some(id.clone());
        self
    }

    /// Sets the node.
    pub fn at_node(mut self, node: &NodeId) -> Self {
        self.node = Some(node.clone());
        self
    }

    /// Sets the item.
    pub fn for_sku(mut self, sku: &Sku) -> Self {
        self.sku = Some(sku.clone());
        self
    }

    /// Sets the location.
    pub fn at_location(mut self, location: &LocationCode) -> Self {
        self.location = Some(location.clone());
        self
    }

    /// Sets the order.
    pub fn for_order(mut self, order: &OrderRef) -> Self {
        self.order = Some(order.clone());
        self
    }

    /// True while not resolved.
    pub fn is_open(&self) -> bool {
        self.resolved_at_ms.is_none()
    }
}
