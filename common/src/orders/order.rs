//! The order model: what a channel sends (`NewOrder`), how it is validated, and the order's
//! state at the hub (`Order`).
//!
//! Validation choices:
//! - At most [`MAX_ORDER_LINES`] lines as sent, at least one.
//! - Every quantity must be greater than zero; SKUs must be valid identifiers and known (the
//!   caller passes a lookup, since item master data lives in the hub's store).
//! - Lines with the same SKU are **merged** (quantities added, first position kept): a channel
//!   that sends `MUG x1, MUG x2` means three mugs, and rejecting it helps nobody.
//! - Errors name the field as sent: `lines[2].qty: must be greater than zero`.

use super::exception::Exception;
use super::plan::PlanLine;
use crate::domain::{ContainerId, Dec, EventId, NodeId, OrderRef, OrderStatus, Sku};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The most lines an order may carry as sent.
pub const MAX_ORDER_LINES: usize = 500;
/// The longest channel name, in characters.
pub const MAX_CHANNEL_LEN: usize = 32;

/// One line of an order as sent by a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOrderLine {
    /// The item, as text (checked during validation so the error can name the line).
    pub sku: String,
    /// How many base units.
    pub qty: Dec,
}

/// An order as sent by a channel (`POST /orders`), before validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOrder {
    /// The order reference.
    #[serde(rename = "ref")]
    pub order_ref: String,
    /// The sales channel (`web`, `store`, …).
    pub channel: String,
    /// When it must ship by, Unix ms (the hub converts the RFC 3339 text).
    pub ship_by_ms: i64,
    /// What is ordered.
    pub lines: Vec<NewOrderLine>,
}

/// What is wrong with one field of a new order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderProblem {
    /// Empty text or no lines.
    #[error("must not be empty")]
    Empty,
    /// Too many lines or characters.
    #[error("{len} given; at most {max} are allowed")]
    TooMany {
        /// How many.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A quantity of zero or less.
    #[error("must be greater than zero")]
    NotPositive,
    /// Not a valid identifier.
    #[error("{0}")]
    Invalid(String),
    /// A SKU without item master data.
    #[error("{0} is not a known item")]
    UnknownSku(Sku),
    /// Merged quantities too large.
    #[error("the quantities of {0} add up to more than can be represented")]
    Overflow(Sku),
}

/// Why a new order was refused: the field, as sent, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct OrderError {
    /// The field path, e.g. `lines[2].qty`.
    pub field: String,
    /// What is wrong.
    pub problem: OrderProblem,
}

impl OrderError {
    fn new(field: impl Into<String>, problem: OrderProblem) -> Self {
        Self {
            field: field.into(),
            problem,
        }
    }
}

/// Progress of one SKU of an order at one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NodeLine {
    /// Assigned to this node: reserved plus already picked. Reduced by a short pick.
    pub allocated: Dec,
    /// Of `allocated`, how much has been sent to the node in pick task plans.
    pub released: Dec,
    /// Picked (node fact).
    pub picked: Dec,
    /// Found missing by the node (node fact).
    pub short: Dec,
    /// Packed (node fact).
    pub packed: Dec,
    /// Shipped (node fact).
    pub shipped: Dec,
}

/// One line of an order with its progress over all nodes (derived from the allocations).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// The item.
    pub sku: Sku,
    /// Ordered.
    pub qty: Dec,
    /// Assigned to nodes.
    pub allocated: Dec,
    /// Picked.
    pub picked: Dec,
    /// Packed.
    pub packed: Dec,
    /// Shipped.
    pub shipped: Dec,
    /// Ordered but not assigned to any node (zero once cancelled or closed).
    pub backordered: Dec,
}

/// A carton that left a node.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Shipment {
    /// The ship event (sort key).
    pub event: EventId,
    /// The node it left.
    pub node: NodeId,
    /// The carton.
    pub container: ContainerId,
    /// The SSCC on its label.
    pub sscc: Option<String>,
    /// The weight measured when it was packed, when known.
    pub weight_kg: Option<Dec>,
    /// When it shipped (node clock), Unix ms.
    pub shipped_at_ms: i64,
}

/// What is allocated at one node (`POST /orders` answer: `allocations`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeAllocation {
    /// The node.
    pub node: NodeId,
    /// Per SKU, the allocated quantity.
    pub lines: Vec<PlanLine>,
}

/// An order at the hub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// The reference.
    #[serde(rename = "ref")]
    pub order_ref: OrderRef,
    /// The sales channel.
    pub channel: String,
    /// Ship by, Unix ms.
    pub ship_by_ms: i64,
    /// Accepted at, Unix ms.
    pub received_at_ms: i64,
    /// Lifecycle status.
    pub status: OrderStatus,
    /// Lines, in the order sent (merged by SKU), with totals over nodes.
    pub lines: Vec<OrderLine>,
    /// Per node and SKU: the source of truth for the line totals.
    pub allocations: BTreeMap<NodeId, BTreeMap<Sku, NodeLine>>,
    /// Measured weights of packed cartons.
    pub cartons: BTreeMap<ContainerId, Dec>,
    /// Per node, the totes and cartons its picks and packs for this order went into.
    pub containers: BTreeMap<NodeId, BTreeSet<ContainerId>>,
    /// Shipments, sorted by ship event.
    pub shipments: Vec<Shipment>,
    /// Exceptions about this order, sorted (see [`Exception`]).
    pub exceptions: Vec<Exception>,
    /// When the order was closed (shipped complete, closed short or cancelled), Unix ms.
    pub closed_at_ms: Option<i64>,
}

impl Order {
    /// Validates `new` and builds an order in status `received`.
    ///
    /// `known` says whether a SKU has item master data.
    pub fn accept(
        new: &NewOrder,
        known: impl Fn(&Sku) -> bool,
        received_at_ms: i64,
    ) -> Result<Order, OrderError> {
        let order_ref = OrderRef::new(new.order_ref.clone())
            .map_err(|e| OrderError::new("ref", OrderProblem::Invalid(e.to_string())))?;
        let channel = new.channel.trim();
        if channel.is_empty() {
            return Err(OrderError::new("channel", OrderProblem::Empty));
        }
        let channel_len = channel.chars().count();
        if channel_len > MAX_CHANNEL_LEN {
            return Err(OrderError::new(
                "channel",
                OrderProblem::TooMany {
                    len: channel_len,
                    max: MAX_CHANNEL_LEN,
                },
            ));
        }
        if new.lines.is_empty() {
            return Err(OrderError::new("lines", OrderProblem::Empty));
        }
        if new.lines.len() > MAX_ORDER_LINES {
            return Err(OrderError::new(
                "lines",
                OrderProblem::TooMany {
                    len: new.lines.len(),
                    max: MAX_ORDER_LINES,
                },
            ));
        }
        let mut merged: Vec<(Sku, Dec)> = Vec::new();
        for (i, line) in new.lines.iter().enumerate() {
            let sku = Sku::new(line.sku.clone()).map_err(|e| {
                OrderError::new(
                    format!("lines[{i}].sku"),
                    OrderProblem::Invalid(e.to_string()),
                )
            })?;
            if line.qty.is_negative() || line.qty.is_zero() {
                return Err(OrderError::new(
                    format!("lines[{i}].qty"),
                    OrderProblem::NotPositive,
                ));
            }
            if !known(&sku) {
                return Err(OrderError::new(
                    format!("lines[{i}].sku"),
                    OrderProblem::UnknownSku(sku),
                ));
            }
            match merged.iter_mut().find(|(s, _)| *s == sku) {
                Some((_, qty)) => {
                    *qty = qty.checked_add(line.qty).ok_or_else(|| {
                        OrderError::new(
                            format!("lines[{i}].qty"),
                            OrderProblem::Overflow(sku.clone()),
                        )
                    })?;
                }
                None => merged.push((sku, line.qty)),
            }
        }
        let lines = merged
            .into_iter()
            .map(|(sku, qty)| OrderLine {
                sku,
                qty,
                allocated: Dec::ZERO,
                picked: Dec::ZERO,
                packed: Dec::ZERO,
                shipped: Dec::ZERO,
                backordered: qty,
            })
            .collect();
        Ok(Order {
            order_ref,
            channel: channel.to_string(),
            ship_by_ms: new.ship_by_ms,
            received_at_ms,
            status: OrderStatus::Received,
            lines,
            allocations: BTreeMap::new(),
            cartons: BTreeMap::new(),
            containers: BTreeMap::new(),
            shipments: Vec::new(),
            exceptions: Vec::new(),
            closed_at_ms: None,
        })
    }

    /// True once shipped complete, closed short or cancelled.
    pub fn is_closed(&self) -> bool {
        self.closed_at_ms.is_some()
    }

    /// The progress of `sku` at `node`, created empty when absent.
    pub fn node_line_mut(&mut self, node: &NodeId, sku: &Sku) -> &mut NodeLine {
        self.allocations
            .entry(node.clone())
            .or_default()
            .entry(sku.clone())
            .or_default()
    }

    /// The progress of `sku` at `node`.
    pub fn node_line(&self, node: &NodeId, sku: &Sku) -> NodeLine {
        self.allocations
            .get(node)
            .and_then(|lines| lines.get(sku))
            .copied()
            .unwrap_or_default()
    }

    /// Sum of one field of `sku`'s node lines.
    pub fn total(&self, sku: &Sku, field: fn(&NodeLine) -> Dec) -> Dec {
        self.allocations
            .values()
            .filter_map(|lines| lines.get(sku))
            .fold(Dec::ZERO, |acc, l| acc.checked_add(field(l)).unwrap_or(acc))
    }

    /// Ordered minus allocated minus short-closed, per line, never negative. Zero once closed.
    pub fn unallocated(&self) -> Vec<(Sku, Dec)> {
        if self.is_closed() {
            return Vec::new();
        }
        self.lines
            .iter()
            .filter_map(|line| {
                let allocated = self.total(&line.sku, |l| l.allocated);
                let open = line.qty.checked_sub(allocated)?;
                (!open.is_negative() && !open.is_zero()).then(|| (line.sku.clone(), open))
            })
            .collect()
    }

    /// Recomputes the line totals from the per-node progress.
    pub fn refresh_lines(&mut self) {
        let closed = self.is_closed();
        let totals: Vec<(Dec, Dec, Dec, Dec)> = self
            .lines
            .iter()
            .map(|line| {
                (
                    self.total(&line.sku, |l| l.allocated),
                    self.total(&line.sku, |l| l.picked),
                    self.total(&line.sku, |l| l.packed),
                    self.total(&line.sku, |l| l.shipped),
                )
            })
            .collect();
        for (line, (allocated, picked, packed, shipped)) in self.lines.iter_mut().zip(totals) {
            line.allocated = allocated;
            line.picked = picked;
            line.packed = packed;
            line.shipped = shipped;
            let open = line.qty.checked_sub(allocated).unwrap_or(Dec::ZERO);
            line.backordered = if closed || open.is_negative() {
                Dec::ZERO
            } else {
                open
            };
        }
    }

    /// Adds an exception, keeping the list sorted and free of exact duplicates.
    pub fn add_exception(&mut self, exception: Exception) {
        match self.exceptions.binary_search(&exception) {
            Ok(_) => {}
            Err(at) => self.exceptions.insert(at, exception),
        }
    }

    /// Adds a shipment, keeping the list sorted by ship event.
    pub fn add_shipment(&mut self, shipment: Shipment) {
        match self.shipments.binary_search(&shipment) {
            Ok(_) => {}
            Err(at) => self.shipments.insert(at, shipment),
        }
    }

    /// The allocations as the API shows them: per node, the allocated quantity per SKU
    /// (nodes and SKUs sorted, zero lines left out).
    pub fn allocation_view(&self) -> Vec<NodeAllocation> {
        self.allocations
            .iter()
            .map(|(node, lines)| NodeAllocation {
                node: node.clone(),
                lines: lines
                    .iter()
                    .filter(|(_, l)| !l.allocated.is_zero())
                    .map(|(sku, l)| PlanLine {
                        sku: sku.clone(),
                        qty: l.allocated,
                    })
                    .collect(),
            })
            .filter(|a| !a.lines.is_empty())
            .collect()
    }

    /// Ordered units over all lines.
    pub fn units_ordered(&self) -> Dec {
        self.lines
            .iter()
            .fold(Dec::ZERO, |acc, l| acc.checked_add(l.qty).unwrap_or(acc))
    }

    /// Shipped units over all lines.
    pub fn units_shipped(&self) -> Dec {
        self.lines.iter().fold(Dec::ZERO, |acc, l| {
            acc.checked_add(l.shipped).unwrap_or(acc)
        })
    }
}

impl fmt::Display for Order {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "order {} ({:?})", self.order_ref, self.status)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn new_order(lines: &[(&str, &str)]) -> NewOrder {
        NewOrder {
            order_ref: "SO-5001".into(),
            channel: "web".into(),
            ship_by_ms: 1_000,
            lines: lines
                .iter()
                .map(|(s, q)| NewOrderLine {
                    sku: (*s).into(),
                    qty: Dec::from_str(q).unwrap(),
                })
                .collect(),
        }
    }

    fn any_sku(_: &Sku) -> bool {
        true
    }

    #[test]
    fn a_valid_order_is_received_with_every_unit_backordered_until_allocated() {
        let order = Order::accept(&new_order(&[("MUG-BLUE", "3")]), any_sku, 5).unwrap();
        assert_eq!(order.status, OrderStatus::Received);
        assert_eq!(order.lines.len(), 1);
        assert_eq!(order.lines[0].backordered.to_string(), "3");
        assert_eq!(order.received_at_ms, 5);
    }

    #[test]
    fn a_zero_quantity_is_refused_naming_the_line_and_field() {
        let err = Order::accept(
            &new_order(&[("A", "1"), ("B", "2"), ("C", "0")]),
            any_sku,
            0,
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "lines[2].qty: must be greater than zero");
    }

    #[test]
    fn a_negative_quantity_is_refused() {
        let err = Order::accept(&new_order(&[("A", "-1")]), any_sku, 0).unwrap_err();
        assert_eq!(err.field, "lines[0].qty");
    }

    #[test]
    fn an_order_without_lines_is_refused() {
        let err = Order::accept(&new_order(&[]), any_sku, 0).unwrap_err();
        assert_eq!(err.to_string(), "lines: must not be empty");
    }

    #[test]
    fn too_many_lines_are_refused_with_the_limit() {
        let lines: Vec<(String, &str)> = (0..=MAX_ORDER_LINES)
            .map(|i| (format!("S{i}"), "1"))
            .collect();
        let refs: Vec<(&str, &str)> = lines.iter().map(|(s, q)| (s.as_str(), *q)).collect();
        let err = Order::accept(&new_order(&refs), any_sku, 0).unwrap_err();
        assert_eq!(err.to_string(), "lines: 501 given; at most 500 are allowed");
    }

    #[test]
    fn an_unknown_sku_is_refused_naming_the_line() {
        let known = |s: &Sku| s.as_str() == "A";
        let err = Order::accept(&new_order(&[("A", "1"), ("B", "1")]), known, 0).unwrap_err();
        assert_eq!(err.to_string(), "lines[1].sku: B is not a known item");
    }

    #[test]
    fn an_invalid_sku_is_refused_naming_the_line() {
        let err = Order::accept(&new_order(&[("mug blue", "1")]), any_sku, 0).unwrap_err();
        assert_eq!(err.field, "lines[0].sku");
    }

    #[test]
    fn an_empty_channel_and_a_bad_reference_are_refused_by_name() {
        let mut new = new_order(&[("A", "1")]);
        new.channel = " ".into();
        assert_eq!(
            Order::accept(&new, any_sku, 0).unwrap_err().to_string(),
            "channel: must not be empty"
        );
        let mut new = new_order(&[("A", "1")]);
        new.order_ref = "SO 1".into();
        assert_eq!(Order::accept(&new, any_sku, 0).unwrap_err().field, "ref");
    }

    #[test]
    fn duplicate_sku_lines_are_merged_keeping_the_first_position() {
        let order = Order::accept(
            &new_order(&[("A", "1"), ("B", "2"), ("A", "3")]),
            any_sku,
            0,
        )
        .unwrap();
        let lines: Vec<(String, String)> = order
            .lines
            .iter()
            .map(|l| (l.sku.to_string(), l.qty.to_string()))
            .collect();
        assert_eq!(
            lines,
            [("A".into(), "4".into()), ("B".into(), "2".into())] as [(String, String); 2]
        );
    }

    #[test]
    fn a_new_order_reads_ref_from_json() {
        let json =
            r#"{"ref":"SO-1","channel":"web","ship_by_ms":7,"lines":[{"sku":"A","qty":"3"}]}"#;
        let new: NewOrder = serde_json::from_str(json).unwrap();
        assert_eq!(new.order_ref, "SO-1");
        let order = Order::accept(&new, any_sku, 0).unwrap();
        let out = serde_json::to_value(&order).unwrap();
        assert_eq!(out["ref"], "SO-1");
        assert_eq!(out["status"], "received");
        assert_eq!(out["lines"][0]["qty"], "3");
    }
}
