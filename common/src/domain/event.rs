//! The event model: the append-only ledger of everything that happened to stock at a node.
//!
//! Events travel on the wire inside the versioned envelope (see `wire`). Their postcard encoding
//! is frozen by golden fixtures: fields are never added to existing variants, and new variants
//! are only appended at the end of [`EventBody`].

use super::codes::{Disposition, ReasonCode, StockStatus};
use super::date::Date;
use super::decimal::{Dec, NonNegQty, Qty};
use super::ids::{
    ContainerId, DocRef, Lot, NodeId, OperatorId, OrderRef, Serial, Sku, StationId, TaskId,
};
use super::location::LocationCode;
use crate::tasks::{LineProgress, TaskSpec, TaskStatus};
use serde::{Deserialize, Serialize};

/// Identifies one event: the node that recorded it and its gapless per-node sequence number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EventId {
    /// The node that recorded the event.
    pub node: NodeId,
    /// Its position in that node's stream, starting at 1.
    pub seq: u64,
}

/// What identifies a unit of stock apart from where it is and its status.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StockRef {
    /// The item.
    pub sku: Sku,
    /// Lot, for lot-tracked items.
    pub lot: Option<Lot>,
    /// Serial, for serial-tracked items.
    pub serial: Option<Serial>,
    /// Expiry date, for expiry-controlled items.
    pub expiry: Option<Date>,
}

impl StockRef {
    /// An untracked item.
    pub fn plain(sku: Sku) -> Self {
        Self {
            sku,
            lot: None,
            serial: None,
            expiry: None,
        }
    }
}

/// Where stock is: a location, or a container (tote, carton, pallet) after picking.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    /// A storage location.
    Location(LocationCode),
    /// A tote, carton or pallet.
    Container(ContainerId),
}

/// Why stock moved between locations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MovePurpose {
    /// From receiving to storage.
    Putaway,
    /// From reserve to a forward pick face.
    Replenish,
    /// Any other internal move.
    Internal,
}

/// One line of a pack or ship event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackLine {
    /// The stock.
    pub stock: StockRef,
    /// How much, in base units.
    pub qty: Qty,
}

/// The most lines a pack or ship event may carry.
pub const MAX_LINES_PER_EVENT: usize = 500;

/// What happened. Variants are append-only (their index is on the wire).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)]
pub enum EventBody {
    /// Goods received into a location.
    Receive {
        /// Where they were put down.
        location: LocationCode,
        /// What.
        stock: StockRef,
        /// How much (base units).
        qty: Qty,
        /// Status on receipt (available, or quality hold for inspection).
        status: StockStatus,
        /// The inbound notice, when received against one.
        inbound: Option<DocRef>,
    },
    /// Stock moved between places without changing status.
    Move {
        /// From.
        from: Place,
        /// To.
        to: Place,
        /// What.
        stock: StockRef,
        /// Its status (unchanged).
        status: StockStatus,
        /// How much.
        qty: Qty,
        /// Why.
        purpose: MovePurpose,
        /// Why not the suggested location, when overridden.
        reason: Option<ReasonCode>,
    },
    /// Available stock picked from a location into a container for an order.
    Pick {
        /// From.
        from: LocationCode,
        /// Into which tote.
        to: ContainerId,
        /// What.
        stock: StockRef,
        /// How much.
        qty: Qty,
        /// For which order.
        order: OrderRef,
    },
    /// Less was found than the pick asked for. Moves nothing; the picked part is its own `Pick`.
    ShortPick {
        /// Where.
        location: LocationCode,
        /// What.
        stock: StockRef,
        /// How much was asked for.
        expected: Qty,
        /// How much was actually picked.
        picked: NonNegQty,
        /// For which order.
        order: OrderRef,
    },
    /// Picked stock packed from a tote into a carton and check-weighed.
    Pack {
        /// From which tote.
        from: ContainerId,
        /// Into which carton.
        carton: ContainerId,
        /// For which order.
        order: OrderRef,
        /// What.
        lines: Vec<PackLine>,
        /// The stable weight read from the scale.
        measured_kg: Option<NonNegQty>,
        /// The weight expected from item data and carton tare.
        expected_kg: Option<NonNegQty>,
    },
    /// A carton left the building.
    Ship {
        /// The carton.
        container: ContainerId,
        /// For which order.
        order: OrderRef,
        /// The SSCC on its label.
        sscc: Option<String>,
        /// What it held.
        lines: Vec<PackLine>,
    },
    /// A manual correction of a balance (signed), with a reason.
    Adjust {
        /// Where.
        place: Place,
        /// What.
        stock: StockRef,
        /// Status of the adjusted stock.
        status: StockStatus,
        /// The change, negative for a loss. Never zero.
        delta: Dec,
        /// Why.
        reason: ReasonCode,
        /// The adjustment document, for approval tracking.
        adjustment: Option<DocRef>,
    },
    /// A cycle count of one stock line at a location.
    CountResult {
        /// Where.
        location: LocationCode,
        /// What.
        stock: StockRef,
        /// Status of the counted stock.
        status: StockStatus,
        /// What the operator counted.
        counted: NonNegQty,
        /// What the node's book said at the time.
        expected: NonNegQty,
    },
    /// A customer return received, waiting for a disposition.
    ReturnReceive {
        /// Where it was put down.
        location: LocationCode,
        /// What.
        stock: StockRef,
        /// How much.
        qty: Qty,
        /// The return authorisation.
        rma: DocRef,
        /// The original order, when known.
        order: Option<OrderRef>,
    },
    /// The decision on returned stock.
    Disposition {
        /// Where the returned stock is.
        location: LocationCode,
        /// What.
        stock: StockRef,
        /// How much.
        qty: Qty,
        /// The decision.
        disposition: Disposition,
        /// The return authorisation.
        rma: DocRef,
    },
    /// Stock put on hold or released.
    StatusChange {
        /// Where.
        place: Place,
        /// What.
        stock: StockRef,
        /// How much.
        qty: Qty,
        /// Status before.
        from: StockStatus,
        /// Status after.
        to: StockStatus,
        /// Why.
        reason: ReasonCode,
    },
    /// Stock sent to another node.
    TransferOut {
        /// From where.
        from: Place,
        /// What.
        stock: StockRef,
        /// Its status.
        status: StockStatus,
        /// How much.
        qty: Qty,
        /// The receiving node.
        to_node: NodeId,
    },
    /// Stock received from another node.
    TransferIn {
        /// Into which location.
        to: LocationCode,
        /// What.
        stock: StockRef,
        /// How much.
        qty: Qty,
        /// The sending node.
        from_node: NodeId,
    },
    /// A task the node created itself (a blind receipt, the putaway after a receipt, the pack
    /// task after a pick, the ship task after a pack, a min/max replenishment), or a task whose
    /// definition the node changed, so the hub knows every task a node has. A blind receipt is
    /// reported without its lines (they are a log of its receive events). Moves nothing.
    TaskDefined {
        /// The task as the node defines it now.
        spec: TaskSpec,
    },
    /// A task's status or progress changed at the node (a line advanced or closed, the task
    /// was started, finished or given up). Moves nothing: the stock moves are their own events.
    TaskProgress {
        /// The task.
        task: TaskId,
        /// Its status now.
        status: TaskStatus,
        /// Progress per line (for a count task: per location).
        lines: Vec<LineProgress>,
        /// How many follow-up tasks it created (their ids derive from this number).
        spawned: u32,
    },
}

/// The short name of an event kind, as used in the HTTP API and metrics.
impl EventBody {
    /// `receive`, `move`, `pick`, …
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::Receive { .. } => "receive",
            EventBody::Move { .. } => "move",
            EventBody::Pick { .. } => "pick",
            EventBody::ShortPick { .. } => "short_pick",
            EventBody::Pack { .. } => "pack",
            EventBody::Ship { .. } => "ship",
            EventBody::Adjust { .. } => "adjust",
            EventBody::CountResult { .. } => "count_result",
            EventBody::ReturnReceive { .. } => "return_receive",
            EventBody::Disposition { .. } => "disposition",
            EventBody::StatusChange { .. } => "status_change",
            EventBody::TransferOut { .. } => "transfer_out",
            EventBody::TransferIn { .. } => "transfer_in",
            EventBody::TaskDefined { .. } => "task_defined",
            EventBody::TaskProgress { .. } => "task_progress",
        }
    }

    /// True for the events that report a task (`task_defined`, `task_progress`) rather than a
    /// movement or a count of stock.
    pub fn is_task_report(&self) -> bool {
        matches!(
            self,
            EventBody::TaskDefined { .. } | EventBody::TaskProgress { .. }
        )
    }
}

/// One event with who, where and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Node and sequence.
    pub id: EventId,
    /// The node's clock when the step was acknowledged, Unix milliseconds. Informational: the
    /// order of a node's events is their sequence, never this clock.
    pub at_ms: i64,
    /// Who did it.
    pub operator: Option<OperatorId>,
    /// At which station.
    pub station: Option<StationId>,
    /// The task this step belonged to.
    pub task: Option<TaskId>,
    /// What happened.
    pub body: EventBody,
}

/// Why an event is not acceptable, whatever the state of the ledger.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// Sequence numbers start at 1.
    #[error("seq: sequence numbers start at 1")]
    ZeroSeq,
    /// A move to the place it came from.
    #[error("to: a move must go to a different place than it comes from")]
    MoveToSelf,
    /// A status change to the same status.
    #[error("to: the status change goes from {0:?} to the same status")]
    SameStatus(StockStatus),
    /// An adjustment of zero.
    #[error("delta: an adjustment must not be zero")]
    ZeroAdjustment,
    /// Too many or no lines.
    #[error("lines: {count} lines; between 1 and {max} are allowed")]
    Lines {
        /// How many.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A pick into a tote that is the same as the pack carton.
    #[error("carton: packing must go into a different container than the tote ({0})")]
    PackIntoSelf(ContainerId),
    /// A serial-numbered line with a quantity other than one.
    #[error("qty: serial {serial} is one unit; the quantity was {qty}")]
    SerialQty {
        /// The serial.
        serial: Serial,
        /// The quantity.
        qty: Dec,
    },
    /// A transfer to the node itself.
    #[error("to_node: a transfer must go to another node")]
    TransferToSelf,
    /// An SSCC that is not 18 digits with a valid check digit.
    #[error("sscc: {0:?} is not an 18-digit SSCC with a valid check digit")]
    Sscc(String),
    /// A task event with more lines or locations than an event may carry.
    #[error("{field}: {count} entries; at most {max} are allowed")]
    TooMany {
        /// Which list.
        field: &'static str,
        /// How many.
        count: usize,
        /// The limit.
        max: usize,
    },
}

fn at_most(field: &'static str, count: usize) -> Result<(), EventError> {
    if count > MAX_LINES_PER_EVENT {
        return Err(EventError::TooMany {
            field,
            count,
            max: MAX_LINES_PER_EVENT,
        });
    }
    Ok(())
}

impl Event {
    /// Checks rules that the field types cannot express alone.
    pub fn validate(&self) -> Result<(), EventError> {
        if self.id.seq == 0 {
            return Err(EventError::ZeroSeq);
        }
        let serial_one = |stock: &StockRef, qty: Dec| -> Result<(), EventError> {
            match &stock.serial {
                Some(serial) if qty != Dec::ONE => Err(EventError::SerialQty {
                    serial: serial.clone(),
                    qty,
                }),
                _ => Ok(()),
            }
        };
        let lines_ok = |lines: &[PackLine]| -> Result<(), EventError> {
            if lines.is_empty() || lines.len() > MAX_LINES_PER_EVENT {
                return Err(EventError::Lines {
                    count: lines.len(),
                    max: MAX_LINES_PER_EVENT,
                });
            }
            lines
                .iter()
                .try_for_each(|l| serial_one(&l.stock, l.qty.get()))
        };
        match &self.body {
            EventBody::Receive { stock, qty, .. }
            | EventBody::Pick { stock, qty, .. }
            | EventBody::ReturnReceive { stock, qty, .. }
            | EventBody::Disposition { stock, qty, .. }
            | EventBody::StatusChange { stock, qty, .. }
            | EventBody::TransferIn { stock, qty, .. } => serial_one(stock, qty.get())?,
            _ => {}
        }
        match &self.body {
            EventBody::Move {
                from,
                to,
                stock,
                qty,
                ..
            } => {
                if from == to {
                    return Err(EventError::MoveToSelf);
                }
                serial_one(stock, qty.get())
            }
            EventBody::StatusChange { from, to, .. } if from == to => {
                Err(EventError::SameStatus(*from))
            }
            EventBody::Adjust { delta, .. } if delta.is_zero() => Err(EventError::ZeroAdjustment),
            EventBody::Pack {
                from,
                carton,
                lines,
                ..
            } => {
                if from == carton {
                    return Err(EventError::PackIntoSelf(carton.clone()));
                }
                lines_ok(lines)
            }
            EventBody::Ship { lines, sscc, .. } => {
                if let Some(sscc) = sscc {
                    let ok = sscc.len() == 18
                        && sscc.bytes().all(|b| b.is_ascii_digit())
                        && crate::check_digit::has_valid_gs1_check_digit(sscc);
                    if !ok {
                        return Err(EventError::Sscc(sscc.clone()));
                    }
                }
                lines_ok(lines)
            }
            EventBody::TransferOut { to_node, .. } if to_node == &self.id.node => {
                Err(EventError::TransferToSelf)
            }
            EventBody::TaskDefined { spec } => {
                at_most("spec.lines", spec.lines.len())?;
                at_most("spec.locations", spec.locations.len())
            }
            EventBody::TaskProgress { lines, .. } => at_most("lines", lines.len()),
            _ => Ok(()),
        }
    }
}
