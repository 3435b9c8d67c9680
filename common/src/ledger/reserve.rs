//! The two overlays on available stock: reservations for orders, and quantities held back while
//! an adjustment waits for approval (system.md §6: an adjustment above the approval threshold
//! changes no available quantity until it is approved).
//!
//! Available = on hand with status available in pickable locations − reserved − held.

use super::key::NodeSku;
use super::Ledger;
use crate::domain::{Dec, NodeId, OrderRef, Sku};
use std::collections::BTreeMap;

/// Why a reservation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReserveError {
    /// Not enough available stock.
    #[error("only {available} of {sku} is available at {node}; {requested} was requested")]
    Insufficient {
        /// The node.
        node: NodeId,
        /// The item.
        sku: Sku,
        /// What was asked.
        requested: Dec,
        /// What is available.
        available: Dec,
    },
    /// Zero or negative request.
    #[error("a reservation must be for a positive quantity, not {0}")]
    NotPositive(Dec),
}

fn positive(d: Dec) -> bool {
    !d.is_negative() && !d.is_zero()
}

fn sum<K>(map: Option<&BTreeMap<K, Dec>>) -> Dec {
    map.map(|m| {
        m.values()
            .fold(Dec::ZERO, |a, v| a.checked_add(*v).unwrap_or(a))
    })
    .unwrap_or(Dec::ZERO)
}

impl Ledger {
    /// Reserved for orders at `node`.
    pub fn reserved(&self, node: &NodeId, sku: &Sku) -> Dec {
        sum(self.reservations.get(&(node.clone(), sku.clone())))
    }

    /// Held back from availability at `node` for adjustments that wait for approval.
    pub fn held_for_approval(&self, node: &NodeId, sku: &Sku) -> Dec {
        sum(self.held.get(&(node.clone(), sku.clone())))
    }

    /// What can still be promised: pickable on hand − reserved − held (may be negative after
    /// physical events; see [`super::Flag::ReservedExceedsAvailable`]).
    pub fn available(&self, node: &NodeId, sku: &Sku) -> Dec {
        self.pickable_on_hand(node, sku)
            .checked_sub(self.reserved(node, sku))
            .and_then(|d| d.checked_sub(self.held_for_approval(node, sku)))
            .unwrap_or(Dec::ZERO)
    }

    /// Reserves `qty` of `sku` at `node` for `order`; refused when not enough is available.
    pub fn reserve(
        &mut self,
        node: &NodeId,
        sku: &Sku,
        order: &OrderRef,
        qty: Dec,
    ) -> Result<(), ReserveError> {
        if !positive(qty) {
            return Err(ReserveError::NotPositive(qty));
        }
        let available = self.available(node, sku);
        if qty > available {
            return Err(ReserveError::Insufficient {
                node: node.clone(),
                sku: sku.clone(),
                requested: qty,
                available,
            });
        }
        let orders = self.reservations_mut(&(node.clone(), sku.clone()));
        let current = orders.get(order).copied().unwrap_or(Dec::ZERO);
        // qty <= available, which is bounded; the sum stays in range.
        orders.insert(order.clone(), current.checked_add(qty).unwrap_or(current));
        Ok(())
    }

    /// Releases what is reserved for `order` of `sku` at `node`; returns the released quantity.
    pub fn release(&mut self, node: &NodeId, sku: &Sku, order: &OrderRef) -> Dec {
        let ns = (node.clone(), sku.clone());
        if !self
            .reservations
            .get(&ns)
            .is_some_and(|o| o.contains_key(order))
        {
            return Dec::ZERO;
        }
        let released = self
            .reservations_mut(&ns)
            .remove(order)
            .unwrap_or(Dec::ZERO);
        self.tidy_reservations(&ns);
        released
    }

    /// Releases at most `qty` of what is reserved for `order` of `sku` at `node` (the rest
    /// stays reserved); returns the released quantity. Zero or negative `qty` releases nothing.
    pub fn release_part(&mut self, node: &NodeId, sku: &Sku, order: &OrderRef, qty: Dec) -> Dec {
        if !positive(qty) {
            return Dec::ZERO;
        }
        let held = self.reserved_for(node, sku, order);
        let released = if qty < held { qty } else { held };
        if released.is_zero() {
            return Dec::ZERO;
        }
        self.consume_reservation(node, sku, order, released);
        released
    }

    /// Puts back a reservation read from durable storage (the hub's store), without the
    /// availability check: physical events may since have left less available than is
    /// reserved, which [`super::Flag::ReservedExceedsAvailable`] reports. Zero or negative `qty`
    /// does nothing.
    pub fn restore_reservation(&mut self, node: &NodeId, sku: &Sku, order: &OrderRef, qty: Dec) {
        if !positive(qty) {
            return;
        }
        self.reservations_mut(&(node.clone(), sku.clone()))
            .insert(order.clone(), qty);
    }

    /// What is reserved for `order` of `sku` at `node`.
    pub fn reserved_for(&self, node: &NodeId, sku: &Sku, order: &OrderRef) -> Dec {
        self.reservations
            .get(&(node.clone(), sku.clone()))
            .and_then(|orders| orders.get(order))
            .copied()
            .unwrap_or(Dec::ZERO)
    }

    pub(super) fn consume_reservation(
        &mut self,
        node: &NodeId,
        sku: &Sku,
        order: &OrderRef,
        qty: Dec,
    ) {
        let ns: NodeSku = (node.clone(), sku.clone());
        let Some(current) = self
            .reservations
            .get(&ns)
            .and_then(|o| o.get(order))
            .copied()
        else {
            return;
        };
        let left = current.checked_sub(qty).unwrap_or(Dec::ZERO);
        let orders = self.reservations_mut(&ns);
        if positive(left) {
            orders.insert(order.clone(), left);
        } else {
            orders.remove(order);
        }
        self.tidy_reservations(&ns);
    }

    /// Holds `qty` of `sku` at `node` back from availability for adjustment `id` (replacing
    /// any earlier hold of that adjustment). Zero or negative `qty` holds nothing.
    pub fn hold(&mut self, node: &NodeId, sku: &Sku, id: u64, qty: Dec) {
        if !positive(qty) {
            return;
        }
        self.held_mut(&(node.clone(), sku.clone())).insert(id, qty);
    }

    /// Ends the hold of adjustment `id`; returns what it held.
    pub fn unhold(&mut self, node: &NodeId, sku: &Sku, id: u64) -> Dec {
        let ns = (node.clone(), sku.clone());
        if !self.held.get(&ns).is_some_and(|h| h.contains_key(&id)) {
            return Dec::ZERO;
        }
        let released = self.held_mut(&ns).remove(&id).unwrap_or(Dec::ZERO);
        self.tidy_held(&ns);
        released
    }

    /// Every hold of `sku` at `node`: adjustment id → quantity.
    pub fn holds(&self, node: &NodeId, sku: &Sku) -> Vec<(u64, Dec)> {
        self.held
            .get(&(node.clone(), sku.clone()))
            .map(|h| h.iter().map(|(id, q)| (*id, *q)).collect())
            .unwrap_or_default()
    }

    /// Every reservation of `sku` at `node`: order → quantity.
    pub fn reservations_of(&self, node: &NodeId, sku: &Sku) -> Vec<(OrderRef, Dec)> {
        self.reservations
            .get(&(node.clone(), sku.clone()))
            .map(|o| o.iter().map(|(r, q)| (r.clone(), *q)).collect())
            .unwrap_or_default()
    }
}
