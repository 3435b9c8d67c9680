//! The order lifecycle:
//!
//! ```text
//! received ─allocate─▶ allocated | backordered ─release─▶ released ─pick─▶ picking ─▶ picked
//!   ─pack─▶ packed ─ship─▶ shipped | partially shipped
//! any state before shipped ─cancel─▶ cancelled
//! ```
//!
//! Commands (allocate, release, cancel, close short) are checked: an illegal one is a
//! [`LifecycleError`] and changes nothing. Node events (pick, short pick, pack, ship) are
//! facts: their quantities are always recorded; the status then follows from the quantities.
//! When the status cannot follow (a pick for an order never released, a pack after the order
//! shipped) the quantities are still recorded, the status stays, and the error is returned so
//! the hub can log it. A cancelled order stays cancelled whatever arrives.
//!
//! Backordered orders with something allocated may be released: the allocated part is picked
//! and shipped (the order ends `partially shipped` unless the rest is allocated later).

use super::order::{Order, Shipment};
use super::plan::{PickTaskPlan, PlanLine, PutBackPlan};
use crate::domain::{
    ContainerId, Dec, Event, EventBody, ExceptionCode, NodeId, OrderRef, OrderStatus, Sku,
};
use crate::ledger::Stock;
use serde::{Deserialize, Serialize};

/// Why a lifecycle step is not possible.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    /// The step is not allowed from the order's status.
    #[error("order {order}: cannot {action} an order that is {from}")]
    IllegalTransition {
        /// The order.
        order: OrderRef,
        /// Its status.
        from: &'static str,
        /// What was attempted (`allocate`, `release`, `pick`, …).
        action: &'static str,
    },
    /// Release with nothing allocated that was not already released.
    #[error("order {order}: nothing is allocated that has not been released already")]
    NothingToRelease {
        /// The order.
        order: OrderRef,
    },
    /// A node event for a different order.
    #[error("order {order}: the {kind} event is for order {other}")]
    WrongOrder {
        /// The order.
        order: OrderRef,
        /// The event kind.
        kind: &'static str,
        /// The order the event names.
        other: OrderRef,
    },
    /// A node event that does not concern an order.
    #[error("a {kind} event does not concern an order")]
    NotAnOrderEvent {
        /// The event kind.
        kind: &'static str,
    },
    /// A node event for an order the hub does not know.
    #[error("the {kind} event from {node} names order {order}, which the hub does not know")]
    UnknownOrder {
        /// The order.
        order: OrderRef,
        /// The event kind.
        kind: &'static str,
        /// The node.
        node: NodeId,
    },
}

/// The snake_case name of a status, as in the API.
pub fn status_name(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Received => "received",
        OrderStatus::Allocated => "allocated",
        OrderStatus::Backordered => "backordered",
        OrderStatus::Released => "released",
        OrderStatus::Picking => "picking",
        OrderStatus::Picked => "picked",
        OrderStatus::Packed => "packed",
        OrderStatus::Shipped => "shipped",
        OrderStatus::PartiallyShipped => "partially shipped",
        OrderStatus::Cancelled => "cancelled",
    }
}

/// A status change, for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The order.
    pub order: OrderRef,
    /// Status before.
    pub from: OrderStatus,
    /// Status after (may equal `from`).
    pub to: OrderStatus,
}

/// The quantities a node event reports for an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeFact<'a> {
    /// Picked into a tote.
    Pick {
        /// The item.
        sku: &'a Sku,
        /// How much.
        qty: Dec,
        /// Into which tote.
        tote: &'a ContainerId,
    },
    /// Found missing.
    ShortPick {
        /// The item.
        sku: &'a Sku,
        /// Expected minus picked.
        short: Dec,
    },
    /// Packed into a carton.
    Pack {
        /// The carton.
        carton: &'a ContainerId,
        /// Its measured weight.
        measured_kg: Option<Dec>,
        /// What.
        lines: Vec<(&'a Sku, Dec)>,
    },
    /// Shipped.
    Ship {
        /// The carton.
        container: &'a ContainerId,
        /// Its SSCC.
        sscc: Option<&'a String>,
        /// What.
        lines: Vec<(&'a Sku, Dec)>,
    },
}

impl<'a> NodeFact<'a> {
    /// The order-related fact in `body` and the order it names; `None` for other events.
    pub fn of(body: &'a EventBody) -> Option<(&'a OrderRef, NodeFact<'a>)> {
        match body {
            EventBody::Pick {
                stock,
                qty,
                order,
                to,
                ..
            } => Some((
                order,
                NodeFact::Pick {
                    sku: &stock.sku,
                    qty: qty.get(),
                    tote: to,
                },
            )),
            EventBody::ShortPick {
                stock,
                expected,
                picked,
                order,
                ..
            } => {
                let short = expected
                    .get()
                    .checked_sub(picked.get())
                    .filter(|d| !d.is_negative())
                    .unwrap_or(Dec::ZERO);
                Some((
                    order,
                    NodeFact::ShortPick {
                        sku: &stock.sku,
                        short,
                    },
                ))
            }
            EventBody::Pack {
                carton,
                order,
                lines,
                measured_kg,
                ..
            } => Some((
                order,
                NodeFact::Pack {
                    carton,
                    measured_kg: measured_kg.map(|m| m.get()),
                    lines: lines.iter().map(|l| (&l.stock.sku, l.qty.get())).collect(),
                },
            )),
            EventBody::Ship {
                container,
                order,
                sscc,
                lines,
            } => Some((
                order,
                NodeFact::Ship {
                    container,
                    sscc: sscc.as_ref(),
                    lines: lines.iter().map(|l| (&l.stock.sku, l.qty.get())).collect(),
                },
            )),
            _ => None,
        }
    }
}

fn add(a: Dec, b: Dec) -> Dec {
    a.checked_add(b).unwrap_or(a)
}

fn sub_floor(a: Dec, b: Dec, floor: Dec) -> Dec {
    let r = a.checked_sub(b).unwrap_or(a);
    if r < floor {
        floor
    } else {
        r
    }
}

fn positive(d: Dec) -> bool {
    !d.is_negative() && !d.is_zero()
}

fn illegal(order: &Order, action: &'static str) -> LifecycleError {
    LifecycleError::IllegalTransition {
        order: order.order_ref.clone(),
        from: status_name(order.status),
        action,
    }
}

/// Every allocated quantity not yet released, as pick task plans (one per node, sorted), and
/// marks it released.
pub(crate) fn take_unreleased(order: &mut Order) -> Vec<PickTaskPlan> {
    let order_ref = order.order_ref.clone();
    let mut plans = Vec::new();
    for (node, lines) in order.allocations.iter_mut() {
        let mut plan_lines = Vec::new();
        for (sku, line) in lines.iter_mut() {
            let open = line
                .allocated
                .checked_sub(line.released)
                .unwrap_or(Dec::ZERO);
            if positive(open) {
                plan_lines.push(PlanLine {
                    sku: sku.clone(),
                    qty: open,
                });
                line.released = line.allocated;
            }
        }
        if !plan_lines.is_empty() {
            plans.push(PickTaskPlan {
                node: node.clone(),
                order: order_ref.clone(),
                lines: plan_lines,
            });
        }
    }
    plans
}

/// Releases what is allocated and not yet released: one pick task plan per node.
///
/// Legal from `allocated`, `backordered` (with something allocated) → `released`; and from the
/// later open states (picking … partially shipped) after a remainder was allocated, where the
/// status stays.
pub fn release(order: &mut Order) -> Result<Vec<PickTaskPlan>, LifecycleError> {
    let legal = matches!(
        order.status,
        OrderStatus::Allocated
            | OrderStatus::Backordered
            | OrderStatus::Released
            | OrderStatus::Picking
            | OrderStatus::Picked
            | OrderStatus::Packed
            | OrderStatus::PartiallyShipped
    );
    if !legal || order.is_closed() {
        return Err(illegal(order, "release"));
    }
    let plans = take_unreleased(order);
    if plans.is_empty() {
        return Err(LifecycleError::NothingToRelease {
            order: order.order_ref.clone(),
        });
    }
    if matches!(
        order.status,
        OrderStatus::Allocated | OrderStatus::Backordered
    ) {
        order.status = OrderStatus::Released;
    }
    Ok(plans)
}

/// What cancelling or closing an order released and what must be put back.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CancelOutcome {
    /// Reservations released: (node, sku, qty), sorted.
    pub released: Vec<(NodeId, Sku, Dec)>,
    /// Picked stock that will not ship, per node.
    pub put_back: Vec<PutBackPlan>,
}

fn wind_down<S: Stock + ?Sized>(order: &mut Order, ledger: &mut S, at_ms: i64) -> CancelOutcome {
    let mut out = CancelOutcome::default();
    let order_ref = order.order_ref.clone();
    let containers = &order.containers;
    for (node, lines) in order.allocations.iter_mut() {
        let mut back = Vec::new();
        for (sku, line) in lines.iter_mut() {
            let released = ledger.release(node, sku, &order_ref);
            if positive(released) {
                out.released.push((node.clone(), sku.clone(), released));
            }
            let unshipped = line.picked.checked_sub(line.shipped).unwrap_or(Dec::ZERO);
            if positive(unshipped) {
                back.push(PlanLine {
                    sku: sku.clone(),
                    qty: unshipped,
                });
            }
            // What stays assigned is what was physically taken.
            line.allocated = line.picked;
            if line.released > line.allocated {
                line.released = line.allocated;
            }
        }
        if !back.is_empty() {
            out.put_back.push(PutBackPlan {
                node: node.clone(),
                order: order_ref.clone(),
                containers: containers
                    .get(node)
                    .map(|c| c.iter().cloned().collect())
                    .unwrap_or_default(),
                lines: back,
            });
        }
    }
    order.closed_at_ms = Some(at_ms);
    order.refresh_lines();
    for ex in order.exceptions.iter_mut() {
        if ex.code == ExceptionCode::Backorder && ex.is_open() {
            ex.resolved_at_ms = Some(at_ms);
        }
    }
    out
}

/// Cancels the order: legal from any status before shipping starts (not from `shipped`,
/// `partially shipped` or `cancelled`). Releases every reservation; picked stock gets a
/// put-back plan per node.
pub fn cancel<S: Stock + ?Sized>(
    order: &mut Order,
    ledger: &mut S,
    at_ms: i64,
) -> Result<CancelOutcome, LifecycleError> {
    if matches!(
        order.status,
        OrderStatus::Shipped | OrderStatus::PartiallyShipped | OrderStatus::Cancelled
    ) || order.is_closed()
    {
        return Err(illegal(order, "cancel"));
    }
    let out = wind_down(order, ledger, at_ms);
    order.status = OrderStatus::Cancelled;
    Ok(out)
}

/// Closes a partially shipped order short: the rest will not ship. Releases what is still
/// reserved and plans put-backs for picked stock that did not ship; the status stays
/// `partially shipped` and the order counts as closed for KPIs.
pub fn close_short<S: Stock + ?Sized>(
    order: &mut Order,
    ledger: &mut S,
    at_ms: i64,
) -> Result<CancelOutcome, LifecycleError> {
    if order.status != OrderStatus::PartiallyShipped || order.is_closed() {
        return Err(illegal(order, "close"));
    }
    Ok(wind_down(order, ledger, at_ms))
}

/// The status the quantities say, for an order that has been released.
fn derived_status(order: &Order, current: OrderStatus) -> OrderStatus {
    let all_shipped = order.lines.iter().all(|l| l.shipped >= l.qty);
    if all_shipped {
        return OrderStatus::Shipped;
    }
    if order.lines.iter().any(|l| positive(l.shipped)) {
        return OrderStatus::PartiallyShipped;
    }
    let node_lines = || order.allocations.values().flat_map(|m| m.values());
    let any_allocated = node_lines().any(|l| positive(l.allocated));
    // Picking is over only when every order line is picked or shorted (a part that was never
    // allocated is still to be picked) and every node picked what it holds.
    let picking_done = any_allocated
        && node_lines().all(|l| l.picked >= l.allocated)
        && order.lines.iter().all(|l| {
            let short = order.total(&l.sku, |n| n.short);
            add(l.picked, short) >= l.qty
        });
    if picking_done && node_lines().all(|l| l.packed >= l.allocated) {
        return OrderStatus::Packed;
    }
    if picking_done {
        return OrderStatus::Picked;
    }
    if node_lines().any(|l| positive(l.picked) || positive(l.short)) {
        return OrderStatus::Picking;
    }
    current
}

/// Re-derives the status of a released, open order from its quantities (after a remainder
/// was re-allocated).
pub(crate) fn rederive_status(order: &mut Order) {
    let open = matches!(
        order.status,
        OrderStatus::Released
            | OrderStatus::Picking
            | OrderStatus::Picked
            | OrderStatus::Packed
            | OrderStatus::PartiallyShipped
    );
    if open && !order.is_closed() {
        order.status = derived_status(order, order.status);
    }
}

/// Records a node's fact about `order` and moves the status on.
///
/// A pick beyond the node's allocation raises the allocation to what was picked (the node
/// took it). A short pick reduces the node's allocation by the missing quantity, never below
/// what it picked, and releases that much of the reservation in `ledger` (re-allocating the
/// remainder is an authority rule, see [`super::authority`]). The quantities are recorded even when an error is returned.
pub fn apply_fact<S: Stock + ?Sized>(
    order: &mut Order,
    node: &NodeId,
    fact: &NodeFact<'_>,
    at_ms: i64,
    event_id: &crate::domain::EventId,
    ledger: &mut S,
) -> Result<Progress, LifecycleError> {
    let from = order.status;
    let action = match fact {
        NodeFact::Pick { sku, qty, tote } => {
            let line = order.node_line_mut(node, sku);
            line.picked = add(line.picked, *qty);
            // A node that picked more than it was given has taken it: what it picked is
            // assigned to it (and needs no pick task).
            if line.allocated < line.picked {
                line.allocated = line.picked;
            }
            if line.released < line.picked {
                line.released = line.picked;
            }
            order
                .containers
                .entry(node.clone())
                .or_default()
                .insert((*tote).clone());
            "pick"
        }
        NodeFact::ShortPick { sku, short } => {
            if positive(*short) {
                let line = order.node_line_mut(node, sku);
                line.short = add(line.short, *short);
                let before = line.allocated;
                line.allocated = sub_floor(line.allocated, *short, line.picked);
                if line.released > line.allocated {
                    line.released = line.allocated;
                }
                let reduction = before.checked_sub(line.allocated).unwrap_or(Dec::ZERO);
                ledger.release_part(node, sku, &order.order_ref, reduction);
            }
            "short-pick"
        }
        NodeFact::Pack {
            carton,
            measured_kg,
            lines,
        } => {
            for (sku, qty) in lines {
                let line = order.node_line_mut(node, sku);
                line.packed = add(line.packed, *qty);
            }
            order
                .containers
                .entry(node.clone())
                .or_default()
                .insert((*carton).clone());
            if let Some(kg) = measured_kg {
                order.cartons.insert((*carton).clone(), *kg);
            }
            "pack"
        }
        NodeFact::Ship {
            container,
            sscc,
            lines,
        } => {
            for (sku, qty) in lines {
                let line = order.node_line_mut(node, sku);
                line.shipped = add(line.shipped, *qty);
            }
            let weight_kg = order.cartons.get(*container).copied();
            order.add_shipment(Shipment {
                event: event_id.clone(),
                node: node.clone(),
                container: (*container).clone(),
                sscc: sscc.cloned(),
                weight_kg,
                shipped_at_ms: at_ms,
            });
            "ship"
        }
    };
    order.refresh_lines();
    let progress = |to| Progress {
        order: order.order_ref.clone(),
        from,
        to,
    };
    match from {
        OrderStatus::Cancelled => Ok(progress(from)),
        _ if order.is_closed() => Ok(progress(from)),
        OrderStatus::Received | OrderStatus::Allocated | OrderStatus::Backordered => {
            Err(illegal(order, action))
        }
        OrderStatus::Shipped => {
            // Facts after completion (an extra carton) still count towards when it closed.
            order.closed_at_ms = order.shipments.iter().map(|s| s.shipped_at_ms).max();
            Err(illegal(order, action))
        }
        OrderStatus::Released
        | OrderStatus::Picking
        | OrderStatus::Picked
        | OrderStatus::Packed
        | OrderStatus::PartiallyShipped => {
            let to = derived_status(order, from);
            order.status = to;
            if to == OrderStatus::Shipped {
                // The latest shipment, not the latest event to arrive: the same whatever the
                // interleaving of node streams.
                order.closed_at_ms = order.shipments.iter().map(|s| s.shipped_at_ms).max();
            }
            Ok(progress(to))
        }
    }
}

/// Applies a node event to `order` (see [`apply_fact`]).
pub fn apply_event<S: Stock + ?Sized>(
    order: &mut Order,
    event: &Event,
    ledger: &mut S,
) -> Result<Progress, LifecycleError> {
    let kind = event.body.kind();
    let Some((order_ref, fact)) = NodeFact::of(&event.body) else {
        return Err(LifecycleError::NotAnOrderEvent { kind });
    };
    if order_ref != &order.order_ref {
        return Err(LifecycleError::WrongOrder {
            order: order.order_ref.clone(),
            kind,
            other: order_ref.clone(),
        });
    }
    apply_fact(order, &event.id.node, &fact, event.at_ms, &event.id, ledger)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::{
        EventId, LocationCode, LocationInfo, LocationKind, NonNegQty, PackLine, Qty, StockRef,
        StockStatus,
    };
    use crate::ledger::Ledger;
    use crate::orders::allocation::{allocate, NodeInfo};
    use crate::orders::order::{NewOrder, NewOrderLine};
    use std::collections::BTreeMap;
    use std::str::FromStr;

    pub fn dec(s: &str) -> Dec {
        Dec::from_str(s).unwrap()
    }
    pub fn node(s: &str) -> NodeId {
        NodeId::new(s).unwrap()
    }
    pub fn sku(s: &str) -> Sku {
        Sku::new(s).unwrap()
    }
    pub fn oref(s: &str) -> OrderRef {
        OrderRef::new(s).unwrap()
    }
    pub fn info(n: &str, priority: u32) -> NodeInfo {
        NodeInfo {
            node: node(n),
            priority,
            online: true,
            active: true,
            cutoff_ms_of_day: None,
        }
    }

    /// A ledger with node event numbering, for tests.
    pub struct Hub {
        pub ledger: Ledger,
        pub seq: BTreeMap<NodeId, u64>,
    }

    impl Hub {
        pub fn new() -> Self {
            Hub {
                ledger: Ledger::new(),
                seq: BTreeMap::new(),
            }
        }
        pub fn next(&mut self, n: &str, body: EventBody) -> Event {
            let seq = self.seq.entry(node(n)).or_insert(0);
            *seq += 1;
            Event {
                id: EventId {
                    node: node(n),
                    seq: *seq,
                },
                at_ms: 1_000 * *seq as i64,
                operator: None,
                station: None,
                task: None,
                body,
            }
        }
        pub fn stock(&mut self, n: &str, loc: &str, s: &str, q: &str) {
            let location = LocationCode::new(loc).unwrap();
            self.ledger.set_location(
                &node(n),
                &location,
                LocationInfo {
                    kind: LocationKind::Pick,
                    pickable: true,
                    capacity: None,
                },
            );
            let e = self.next(
                n,
                EventBody::Receive {
                    location,
                    stock: StockRef::plain(sku(s)),
                    qty: Qty::from_str(q).unwrap(),
                    status: StockStatus::Available,
                    inbound: None,
                },
            );
            self.ledger.apply(&e).unwrap();
        }
    }

    pub fn order(r: &str, lines: &[(&str, &str)]) -> Order {
        let new = NewOrder {
            order_ref: r.into(),
            channel: "web".into(),
            ship_by_ms: 100_000,
            lines: lines
                .iter()
                .map(|(s, q)| NewOrderLine {
                    sku: (*s).into(),
                    qty: dec(q),
                })
                .collect(),
        };
        Order::accept(&new, |_| true, 0).unwrap()
    }

    pub fn pick(loc: &str, s: &str, q: &str, o: &str) -> EventBody {
        EventBody::Pick {
            from: LocationCode::new(loc).unwrap(),
            to: ContainerId::new("TOTE-1").unwrap(),
            stock: StockRef::plain(sku(s)),
            qty: Qty::from_str(q).unwrap(),
            order: oref(o),
        }
    }
    pub fn short(loc: &str, s: &str, expected: &str, picked: &str, o: &str) -> EventBody {
        EventBody::ShortPick {
            location: LocationCode::new(loc).unwrap(),
            stock: StockRef::plain(sku(s)),
            expected: Qty::from_str(expected).unwrap(),
            picked: NonNegQty::from_str(picked).unwrap(),
            order: oref(o),
        }
    }
    pub fn pack(carton: &str, s: &str, q: &str, o: &str, kg: Option<(&str, &str)>) -> EventBody {
        EventBody::Pack {
            from: ContainerId::new("TOTE-1").unwrap(),
            carton: ContainerId::new(carton).unwrap(),
            order: oref(o),
            lines: vec![PackLine {
                stock: StockRef::plain(sku(s)),
                qty: Qty::from_str(q).unwrap(),
            }],
            measured_kg: kg.map(|(m, _)| NonNegQty::from_str(m).unwrap()),
            expected_kg: kg.map(|(_, e)| NonNegQty::from_str(e).unwrap()),
        }
    }
    pub fn ship(carton: &str, s: &str, q: &str, o: &str) -> EventBody {
        EventBody::Ship {
            container: ContainerId::new(carton).unwrap(),
            order: oref(o),
            sscc: None,
            lines: vec![PackLine {
                stock: StockRef::plain(sku(s)),
                qty: Qty::from_str(q).unwrap(),
            }],
        }
    }

    fn step(
        hub: &mut Hub,
        o: &mut Order,
        n: &str,
        body: EventBody,
    ) -> Result<Progress, LifecycleError> {
        let e = hub.next(n, body);
        hub.ledger.apply(&e).unwrap();
        apply_event(o, &e, &mut hub.ledger)
    }

    #[test]
    fn an_order_walks_from_received_to_shipped_driven_by_node_events() {
        let mut hub = Hub::new();
        hub.stock("EAST", "A-1", "MUG", "10");
        let mut o = order("SO-1", &[("MUG", "3")]);
        allocate(&mut o, &mut hub.ledger, &[info("EAST", 1)], 0).unwrap();
        assert_eq!(o.status, OrderStatus::Allocated);
        let view = serde_json::to_value(o.allocation_view()).unwrap();
        assert_eq!(
            view,
            serde_json::json!([{"node": "EAST", "lines": [{"sku": "MUG", "qty": "3"}]}])
        );
        let plans = release(&mut o).unwrap();
        assert_eq!(
            plans,
            vec![PickTaskPlan {
                node: node("EAST"),
                order: oref("SO-1"),
                lines: vec![PlanLine {
                    sku: sku("MUG"),
                    qty: dec("3")
                }]
            }]
        );
        assert_eq!(o.status, OrderStatus::Released);
        let p = step(&mut hub, &mut o, "EAST", pick("A-1", "MUG", "1", "SO-1")).unwrap();
        assert_eq!(
            (p.from, p.to),
            (OrderStatus::Released, OrderStatus::Picking)
        );
        step(&mut hub, &mut o, "EAST", pick("A-1", "MUG", "2", "SO-1")).unwrap();
        assert_eq!(o.status, OrderStatus::Picked);
        assert_eq!(
            hub.ledger
                .reserved_for(&node("EAST"), &sku("MUG"), &oref("SO-1")),
            Dec::ZERO
        );
        step(
            &mut hub,
            &mut o,
            "EAST",
            pack("CTN-1", "MUG", "3", "SO-1", Some(("1.2", "1.2"))),
        )
        .unwrap();
        assert_eq!(o.status, OrderStatus::Packed);
        step(&mut hub, &mut o, "EAST", ship("CTN-1", "MUG", "3", "SO-1")).unwrap();
        assert_eq!(o.status, OrderStatus::Shipped);
        assert_eq!(o.shipments.len(), 1);
        assert_eq!(o.shipments[0].weight_kg, Some(dec("1.2")));
        assert!(o.is_closed());
        assert_eq!(o.lines[0].shipped, dec("3"));
    }

    #[test]
    fn an_order_is_picked_only_when_every_line_is_picked_or_shorted() {
        let mut hub = Hub::new();
        hub.stock("EAST", "A-1", "MUG", "5");
        let mut o = order("SO-1", &[("MUG", "5")]);
        allocate(&mut o, &mut hub.ledger, &[info("EAST", 1)], 0).unwrap();
        release(&mut o).unwrap();
        step(&mut hub, &mut o, "EAST", pick("A-1", "MUG", "1", "SO-1")).unwrap();
        assert_eq!(o.status, OrderStatus::Picking, "1 of 5 picked");
        step(
            &mut hub,
            &mut o,
            "EAST",
            short("A-1", "MUG", "4", "0", "SO-1"),
        )
        .unwrap();
        assert_eq!(o.status, OrderStatus::Picked, "1 picked, 4 shorted");
    }

    #[test]
    fn shipping_part_of_an_order_makes_it_partially_shipped() {
        let mut hub = Hub::new();
        hub.stock("EAST", "A-1", "MUG", "2");
        let mut o = order("SO-1", &[("MUG", "3")]);
        allocate(&mut o, &mut hub.ledger, &[info("EAST", 1)], 0).unwrap();
        assert_eq!(o.status, OrderStatus::Backordered);
        release(&mut o).unwrap();
        assert_eq!(o.status, OrderStatus::Released);
        step(&mut hub, &mut o, "EAST", pick("A-1", "MUG", "2", "SO-1")).unwrap();
        assert_eq!(
            o.status,
            OrderStatus::Picking,
            "2 of 3 picked and 1 backordered is not picked"
        );
        step(
            &mut hub,
            &mut o,
            "EAST",
            pack("CTN-1", "MUG", "2", "SO-1", None),
        )
        .unwrap();
        assert_eq!(o.status, OrderStatus::Picking, "nor packed");
        step(&mut hub, &mut o, "EAST", ship("CTN-1", "MUG", "2", "SO-1")).unwrap();
        assert_eq!(o.status, OrderStatus::PartiallyShipped);
        assert!(!o.is_closed());
        close_short(&mut o, &mut hub.ledger, 99).unwrap();
        assert_eq!(o.closed_at_ms, Some(99));
        assert_eq!(o.lines[0].backordered, Dec::ZERO);
    }

    #[test]
    fn releasing_a_received_order_is_an_illegal_transition() {
        let mut o = order("SO-1", &[("MUG", "3")]);
        assert_eq!(
            release(&mut o).unwrap_err().to_string(),
            "order SO-1: cannot release an order that is received"
        );
    }

    #[test]
    fn releasing_twice_has_nothing_to_release() {
        let mut hub = Hub::new();
        hub.stock("EAST", "A-1", "MUG", "5");
        let mut o = order("SO-1", &[("MUG", "3")]);
        allocate(&mut o, &mut hub.ledger, &[info("EAST", 1)], 0).unwrap();
        release(&mut o).unwrap();
        assert!(matches!(
            release(&mut o),
            Err(LifecycleError::NothingToRelease { .. })
        ));
    }

    #[test]
    fn cancelling_releases_reservations_and_plans_a_put_back_for_picked_stock() {
        let mut hub = Hub::new();
        hub.stock("EAST", "A-1", "MUG", "5");
        let mut o = order("SO-1", &[("MUG", "3")]);
        allocate(&mut o, &mut hub.ledger, &[info("EAST", 1)], 0).unwrap();
        release(&mut o).unwrap();
        step(&mut hub, &mut o, "EAST", pick("A-1", "MUG", "1", "SO-1")).unwrap();
        let out = cancel(&mut o, &mut hub.ledger, 50).unwrap();
        assert_eq!(out.released, vec![(node("EAST"), sku("MUG"), dec("2"))]);
        assert_eq!(out.put_back.len(), 1);
        assert_eq!(out.put_back[0].lines[0].qty, dec("1"));
        assert_eq!(
            out.put_back[0].containers,
            vec![ContainerId::new("TOTE-1").unwrap()]
        );
        assert_eq!(o.status, OrderStatus::Cancelled);
        assert_eq!(hub.ledger.reserved(&node("EAST"), &sku("MUG")), Dec::ZERO);
        assert_eq!(hub.ledger.available(&node("EAST"), &sku("MUG")), dec("4"));
    }

    #[test]
    fn a_shipped_order_cannot_be_cancelled() {
        let mut o = order("SO-1", &[("MUG", "3")]);
        o.status = OrderStatus::Shipped;
        let err = cancel(&mut o, &mut Ledger::new(), 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "order SO-1: cannot cancel an order that is shipped"
        );
    }

    #[test]
    fn a_pick_for_an_unreleased_order_is_recorded_but_is_an_illegal_transition() {
        let mut hub = Hub::new();
        hub.stock("EAST", "A-1", "MUG", "5");
        let mut o = order("SO-1", &[("MUG", "3")]);
        allocate(&mut o, &mut hub.ledger, &[info("EAST", 1)], 0).unwrap();
        let err = step(&mut hub, &mut o, "EAST", pick("A-1", "MUG", "1", "SO-1")).unwrap_err();
        assert!(matches!(
            err,
            LifecycleError::IllegalTransition { action: "pick", .. }
        ));
        assert_eq!(o.status, OrderStatus::Allocated);
        assert_eq!(o.lines[0].picked, dec("1"));
    }

    #[test]
    fn a_short_pick_reduces_the_allocation_and_releases_that_much_reservation() {
        let mut hub = Hub::new();
        hub.stock("EAST", "A-1", "MUG", "5");
        let mut o = order("SO-1", &[("MUG", "3")]);
        allocate(&mut o, &mut hub.ledger, &[info("EAST", 1)], 0).unwrap();
        release(&mut o).unwrap();
        step(&mut hub, &mut o, "EAST", pick("A-1", "MUG", "1", "SO-1")).unwrap();
        step(
            &mut hub,
            &mut o,
            "EAST",
            short("A-1", "MUG", "3", "1", "SO-1"),
        )
        .unwrap();
        assert_eq!(o.lines[0].allocated, dec("1"));
        assert_eq!(o.lines[0].backordered, dec("2"));
        assert_eq!(o.status, OrderStatus::Picked);
        assert_eq!(hub.ledger.reserved(&node("EAST"), &sku("MUG")), Dec::ZERO);
    }

    #[test]
    fn an_event_for_another_order_is_refused() {
        let mut hub = Hub::new();
        let mut o = order("SO-1", &[("MUG", "3")]);
        let e = hub.next("EAST", pick("A-1", "MUG", "1", "SO-2"));
        assert!(matches!(
            apply_event(&mut o, &e, &mut hub.ledger),
            Err(LifecycleError::WrongOrder { .. })
        ));
    }
}
