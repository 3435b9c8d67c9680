//! Corrective and fulfilment plans: plain data the hub turns into tasks for a node.

use crate::domain::{ContainerId, Dec, LocationCode, NodeId, OrderRef, Sku};
use serde::{Deserialize, Serialize};

/// One item and quantity of a plan.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PlanLine {
    /// The item.
    pub sku: Sku,
    /// How much, in base units (always positive).
    pub qty: Dec,
}

/// Pick what was reserved for an order at one node. The node chooses the locations.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PickTaskPlan {
    /// Where.
    pub node: NodeId,
    /// For which order.
    pub order: OrderRef,
    /// What, sorted by SKU.
    pub lines: Vec<PlanLine>,
}

/// Count one item at one location (after a negative balance or a short pick).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CountTaskPlan {
    /// Where.
    pub node: NodeId,
    /// Which location.
    pub location: LocationCode,
    /// Which item.
    pub sku: Sku,
}

/// Put picked stock of an order that will not ship back into storage.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PutBackPlan {
    /// Where.
    pub node: NodeId,
    /// The order the stock was picked for.
    pub order: OrderRef,
    /// The totes and cartons the stock was picked or packed into at that node, sorted (it is
    /// in one of them unless it shipped).
    pub containers: Vec<ContainerId>,
    /// What, sorted by SKU.
    pub lines: Vec<PlanLine>,
}
