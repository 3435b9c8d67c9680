//! Builders shared by the hub's unit tests.

use stockpost_common::domain::{
    Event, EventBody, EventId, LocationCode, NodeId, Qty, Sku, StockRef, StockStatus,
};

/// A receipt of `qty` MUG at RCV-1, event `seq` of DC-EAST.
pub(crate) fn receipt(seq: u64, qty: &str) -> Event {
    Event {
        id: EventId {
            node: NodeId::new("DC-EAST").unwrap_or_else(|_| unreachable!()),
            seq,
        },
        at_ms: 1_700_000_000_000,
        operator: None,
        station: None,
        task: None,
        body: EventBody::Receive {
            location: LocationCode::new("RCV-1").unwrap_or_else(|_| unreachable!()),
            stock: StockRef::plain(Sku::new("MUG").unwrap_or_else(|_| unreachable!())),
            qty: qty.parse::<Qty>().unwrap_or_else(|_| unreachable!()),
            status: StockStatus::Available,
            inbound: None,
        },
    }
}
