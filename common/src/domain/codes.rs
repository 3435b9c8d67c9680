//! Stock statuses, reason codes, exception codes and order statuses.
//!
//! These enums travel on the wire: variants are only ever appended (postcard encodes the
//! variant index), never reordered or removed.

use serde::{Deserialize, Serialize};

/// The status of a quantity of stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StockStatus {
    /// Usable: counts towards available stock in pickable locations.
    Available,
    /// Held for quality inspection.
    QualityHold,
    /// Quarantined.
    Quarantine,
    /// Damaged.
    Damaged,
    /// Returned, waiting for a disposition.
    ReturnPending,
    /// On its way between nodes.
    InTransit,
}

impl StockStatus {
    /// Every status, in wire order.
    pub const ALL: [StockStatus; 6] = [
        StockStatus::Available,
        StockStatus::QualityHold,
        StockStatus::Quarantine,
        StockStatus::Damaged,
        StockStatus::ReturnPending,
        StockStatus::InTransit,
    ];

    /// True when stock in this status is held (physically there but not usable).
    pub fn is_held(self) -> bool {
        self != StockStatus::Available
    }
}

/// Why a quantity changed outside the normal flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// Found damaged.
    Damaged,
    /// Lost or missing.
    Lost,
    /// Found (more than the book says).
    Found,
    /// Difference found by a cycle count.
    CountVariance,
    /// Past its expiry date.
    Expired,
    /// Correction of an earlier mistake.
    Correction,
    /// Put on hold for quality inspection.
    QualityHold,
    /// Released after inspection.
    Released,
    /// Putaway to a location other than the suggested one.
    LocationOverride,
    /// Location full.
    LocationFull,
    /// Customer return.
    CustomerReturn,
    /// Other, explained in a note.
    Other,
    /// The reversal of an adjustment the hub's approver rejected (booked by the node when the
    /// hub asks for it, never reviewed again).
    AdjustmentReversed,
}

/// Something that needs a person's attention, grouped in KPIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionCode {
    /// Less was picked than asked for.
    ShortPick,
    /// A carton's weight was outside the expected tolerance.
    WeightMismatch,
    /// A balance went below zero.
    NegativeStock,
    /// A scanned barcode matched no item.
    UnknownBarcode,
    /// Stock found damaged.
    Damaged,
    /// An order is late against its cut-off.
    LateAgainstCutoff,
    /// Stock was picked for an order that had been cancelled.
    PickOfCancelledOrder,
    /// A count differed from the book.
    CountVariance,
    /// An adjustment above the approval threshold waits for an approver.
    AdjustmentNeedsApproval,
    /// A message from a node could not be applied and was quarantined.
    PoisonMessage,
    /// No stock anywhere to allocate an order line.
    Backorder,
    /// A node sent events under sequence numbers the hub had already applied with different
    /// content (a wiped node that restarted without a bootstrap): they were not applied.
    SequenceReused,
    /// Goods were received against an inbound notice or return that was closed or fully
    /// received already (the receipt is a fact and was applied).
    OverReceipt,
    /// A message arrived for a node that was never registered with `PUT /nodes/{node}`: it
    /// was not applied.
    UnknownNode,
    /// A message on a node's topic failed authentication (its tag is not the node's
    /// credential's, or the node has no credential): it was dropped without effect. Someone
    /// who can publish on the broker is forging messages, or the node runs with an old
    /// credential.
    UnauthenticatedMessage,
}

/// The lifecycle status of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Accepted and validated.
    Received,
    /// Stock reserved at one or more nodes.
    Allocated,
    /// Waiting for stock.
    Backordered,
    /// Pick tasks sent to nodes.
    Released,
    /// Picking has started.
    Picking,
    /// Everything picked.
    Picked,
    /// Everything packed.
    Packed,
    /// Everything shipped.
    Shipped,
    /// Some shipments left, others still open or short.
    PartiallyShipped,
    /// Cancelled.
    Cancelled,
}

/// What happens to a returned item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// Back to sellable stock at a location.
    Restock {
        /// Where it is put.
        to: super::location::LocationCode,
    },
    /// Held for refurbishment.
    Refurbish,
    /// Quarantined.
    Quarantine,
    /// Sent back to the vendor: leaves our stock.
    VendorReturn,
    /// Written off: leaves our stock.
    WriteOff,
}
