//! The warehouse domain: identifiers, quantities, locations, items, codes and events.

pub mod codes;
pub mod date;
pub mod decimal;
pub mod event;
pub mod gtin;
pub mod ids;
pub mod item;
pub mod location;

pub use codes::{Disposition, ExceptionCode, OrderStatus, ReasonCode, StockStatus};
pub use date::Date;
pub use decimal::{Dec, DecError, NonNegQty, Qty};
pub use event::{Event, EventBody, EventError, EventId, MovePurpose, PackLine, Place, StockRef};
pub use gtin::Gtin;
pub use ids::{
    ContainerId, DocRef, IdError, Lot, NodeId, OperatorId, OrderRef, Serial, Sku, StationId, TaskId,
};
pub use item::{Item, ItemGtin, PackLevel, Tracking};
pub use location::{LocationCode, LocationInfo, LocationKind};
