//! The key of a stock balance and the running totals used to prove conservation.

use crate::domain::{Dec, NodeId, Place, Sku, StockRef, StockStatus};
use serde::{Deserialize, Serialize};

/// One balance line: (node, place, sku, lot, serial, expiry, status).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StockKey {
    /// The node holding the stock.
    pub node: NodeId,
    /// Where at the node.
    pub place: Place,
    /// Which stock (sku, lot, serial, expiry).
    pub stock: StockRef,
    /// Its status.
    pub status: StockStatus,
}

/// Running totals per (node, sku): every unit that entered or left the node's books.
///
/// Conservation: the sum of a (node, sku)'s balances always equals [`Totals::expected_on_hand`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Totals {
    /// Received from suppliers.
    pub received: Dec,
    /// Received back from customers.
    pub returned: Dec,
    /// Received from other nodes.
    pub transferred_in: Dec,
    /// Gains from adjustments and counts.
    pub adjusted_up: Dec,
    /// Shipped to customers.
    pub shipped: Dec,
    /// Sent to other nodes (in transit until received there).
    pub transferred_out: Dec,
    /// Losses from adjustments and counts.
    pub adjusted_down: Dec,
    /// Returned stock written off.
    pub written_off: Dec,
    /// Returned stock sent back to the vendor.
    pub vendor_returned: Dec,
}

/// Which running total an event moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Received,
    Returned,
    TransferredIn,
    AdjustedUp,
    Shipped,
    TransferredOut,
    AdjustedDown,
    WrittenOff,
    VendorReturned,
}

impl Totals {
    /// What the balances must add up to.
    pub fn expected_on_hand(&self) -> Option<Dec> {
        let inflow = self
            .received
            .checked_add(self.returned)?
            .checked_add(self.transferred_in)?
            .checked_add(self.adjusted_up)?;
        let outflow = self
            .shipped
            .checked_add(self.transferred_out)?
            .checked_add(self.adjusted_down)?
            .checked_add(self.written_off)?
            .checked_add(self.vendor_returned)?;
        inflow.checked_sub(outflow)
    }

    pub(crate) fn field(&mut self, flow: Flow) -> &mut Dec {
        match flow {
            Flow::Received => &mut self.received,
            Flow::Returned => &mut self.returned,
            Flow::TransferredIn => &mut self.transferred_in,
            Flow::AdjustedUp => &mut self.adjusted_up,
            Flow::Shipped => &mut self.shipped,
            Flow::TransferredOut => &mut self.transferred_out,
            Flow::AdjustedDown => &mut self.adjusted_down,
            Flow::WrittenOff => &mut self.written_off,
            Flow::VendorReturned => &mut self.vendor_returned,
        }
    }
}

/// Index key for totals and reservations.
pub(crate) type NodeSku = (NodeId, Sku);
