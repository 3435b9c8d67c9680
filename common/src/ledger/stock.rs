//! [`Stock`]: what the order and authority rules need of the books. [`Ledger`] is the in-memory
//! implementation (the agent's local view, the hub's embedded repository); a database-backed
//! repository implements the same operations over its tables, so the rules run unchanged on
//! either.

use super::{Applied, ApplyError, Ledger, ReserveError, StockKey};
use crate::domain::{Dec, Event, EventId, LocationCode, LocationInfo, NodeId, OrderRef, Sku};

/// The authoritative stock: balances, the reservation and approval-hold overlays, locations and
/// each node's applied sequence. See the `ledger` module docs for the rules every
/// implementation keeps.
pub trait Stock {
    /// Applies a node event; on error nothing changes.
    fn apply(&mut self, event: &Event) -> Result<Applied, ApplyError>;
    /// Moves a node's stream past an event that could not be applied.
    fn mark_quarantined(&mut self, id: &EventId) -> Result<(), ApplyError>;
    /// The highest sequence applied (or quarantined) for `node`.
    fn applied_seq(&self, node: &NodeId) -> u64;
    /// One balance line.
    fn balance(&self, key: &StockKey) -> Dec;
    /// On hand in every place and status.
    fn on_hand(&self, node: &NodeId, sku: &Sku) -> Dec;
    /// On hand, available status, pickable locations, before the overlays.
    fn pickable_on_hand(&self, node: &NodeId, sku: &Sku) -> Dec;
    /// Reserved for orders.
    fn reserved(&self, node: &NodeId, sku: &Sku) -> Dec;
    /// Reserved for one order.
    fn reserved_for(&self, node: &NodeId, sku: &Sku, order: &OrderRef) -> Dec;
    /// Held for adjustments waiting for approval.
    fn held_for_approval(&self, node: &NodeId, sku: &Sku) -> Dec;
    /// Pickable on hand − reserved − held.
    fn available(&self, node: &NodeId, sku: &Sku) -> Dec;
    /// Reserves for an order; refused beyond what is available.
    fn reserve(
        &mut self,
        node: &NodeId,
        sku: &Sku,
        order: &OrderRef,
        qty: Dec,
    ) -> Result<(), ReserveError>;
    /// Releases an order's reservation; returns what was released.
    fn release(&mut self, node: &NodeId, sku: &Sku, order: &OrderRef) -> Dec;
    /// Releases at most `qty` of an order's reservation; returns what was released.
    fn release_part(&mut self, node: &NodeId, sku: &Sku, order: &OrderRef, qty: Dec) -> Dec;
    /// Holds a quantity back for adjustment `id`.
    fn hold(&mut self, node: &NodeId, sku: &Sku, id: u64, qty: Dec);
    /// Ends adjustment `id`'s hold; returns what it held.
    fn unhold(&mut self, node: &NodeId, sku: &Sku, id: u64) -> Dec;
    /// A location's master data.
    fn location(&self, node: &NodeId, code: &LocationCode) -> Option<LocationInfo>;
    /// Sets a location's master data.
    fn set_location(&mut self, node: &NodeId, code: &LocationCode, info: LocationInfo);
    /// Every location of `node`, in code order.
    fn locations_of(&self, node: &NodeId) -> Vec<(LocationCode, LocationInfo)>;
}

impl Stock for Ledger {
    fn apply(&mut self, event: &Event) -> Result<Applied, ApplyError> {
        Ledger::apply(self, event)
    }
    fn mark_quarantined(&mut self, id: &EventId) -> Result<(), ApplyError> {
        Ledger::mark_quarantined(self, id)
    }
    fn applied_seq(&self, node: &NodeId) -> u64 {
        Ledger::applied_seq(self, node)
    }
    fn balance(&self, key: &StockKey) -> Dec {
        Ledger::balance(self, key)
    }
    fn on_hand(&self, node: &NodeId, sku: &Sku) -> Dec {
        Ledger::on_hand(self, node, sku)
    }
    fn pickable_on_hand(&self, node: &NodeId, sku: &Sku) -> Dec {
        Ledger::pickable_on_hand(self, node, sku)
    }
    fn reserved(&self, node: &NodeId, sku: &Sku) -> Dec {
        Ledger::reserved(self, node, sku)
    }
    fn reserved_for(&self, node: &NodeId, sku: &Sku, order: &OrderRef) -> Dec {
        Ledger::reserved_for(self, node, sku, order)
    }
    fn held_for_approval(&self, node: &NodeId, sku: &Sku) -> Dec {
        Ledger::held_for_approval(self, node, sku)
    }
    fn available(&self, node: &NodeId, sku: &Sku) -> Dec {
        Ledger::available(self, node, sku)
    }
    fn reserve(
        &mut self,
        node: &NodeId,
        sku: &Sku,
        order: &OrderRef,
        qty: Dec,
    ) -> Result<(), ReserveError> {
        Ledger::reserve(self, node, sku, order, qty)
    }
    fn release(&mut self, node: &NodeId, sku: &Sku, order: &OrderRef) -> Dec {
        Ledger::release(self, node, sku, order)
    }
    fn release_part(&mut self, node: &NodeId, sku: &Sku, order: &OrderRef, qty: Dec) -> Dec {
        Ledger::release_part(self, node, sku, order, qty)
    }
    fn hold(&mut self, node: &NodeId, sku: &Sku, id: u64, qty: Dec) {
        Ledger::hold(self, node, sku, id, qty)
    }
    fn unhold(&mut self, node: &NodeId, sku: &Sku, id: u64) -> Dec {
        Ledger::unhold(self, node, sku, id)
    }
    fn location(&self, node: &NodeId, code: &LocationCode) -> Option<LocationInfo> {
        Ledger::location(self, node, code).cloned()
    }
    fn set_location(&mut self, node: &NodeId, code: &LocationCode, info: LocationInfo) {
        Ledger::set_location(self, node, code, info)
    }
    fn locations_of(&self, node: &NodeId) -> Vec<(LocationCode, LocationInfo)> {
        self.locations()
            .filter(|(n, _, _)| *n == node)
            .map(|(_, c, i)| (c.clone(), i.clone()))
            .collect()
    }
}
