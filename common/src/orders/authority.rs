//! The hub's authority rules (system.md §6): a node's physical events are facts. The hub has
//! already applied the event to its [`Ledger`]; [`assess`] records it on the order it names and
//! adds exceptions and corrective plans. It never refuses or changes the fact.
//!
//! Rules:
//! - A balance that **goes** negative (it was zero or more before the event) → `negative_stock`
//!   and, for a location, a count task. Further events on an already negative line raise nothing.
//! - Reservations at a node exceeding what is available there → `negative_stock` (no task:
//!   the orders reserved there may short-pick, which is handled when it happens).
//! - A pick for a cancelled or closed order → `pick_of_cancelled_order` and a put-back task;
//!   a shipment of a cancelled order → `pick_of_cancelled_order` (someone must call the
//!   customer or recall the carton).
//! - A short pick → `short_pick`, a count task at the location, and re-allocation of what the
//!   node gave up (as far as the line still needs it) to **another** node with available
//!   stock (released at once as a pick task when the order is already released); what no
//!   node has → `backorder`.
//! - A pack whose measured weight is outside tolerance of the expected weight →
//!   `weight_mismatch`.
//! - A count whose counted quantity differs from the book → `count_variance`.
//! - Stock adjusted with reason damaged, or put in status damaged → `damaged`.
//!
//! Determinism: exceptions are stamped with the node event and the node's clock, order lists
//! are kept sorted, and re-allocation ranks nodes by the short pick's own time, so the same
//! node streams in any interleaving give the same orders and exceptions — as long as the
//! availability the re-allocation sees at other nodes does not depend on the interleaving
//! (it does not for picks against reservations; an adjustment racing a re-allocation for the
//! same stock is a genuine race whose outcome depends on arrival order).

use super::allocation::{record, reserve_lines, sync_backorders, NodeInfo};
use super::exception::Exception;
use super::lifecycle::{
    apply_fact, rederive_status, take_unreleased, LifecycleError, NodeFact, Progress,
};
use super::order::Order;
use super::plan::{CountTaskPlan, PickTaskPlan, PlanLine, PutBackPlan};
use crate::domain::{
    Dec, Event, EventBody, ExceptionCode, OrderStatus, Place, ReasonCode, StockStatus,
};
use crate::ledger::{Applied, Flag, Stock};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// How far a measured carton weight may be from the expected one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightTolerance {
    /// Percentage of the expected weight.
    pub pct: Dec,
    /// Never less than this many kilograms (small cartons, scale resolution).
    pub min_kg: Dec,
}

impl WeightTolerance {
    /// The allowed difference for an expected weight.
    pub fn allowed(&self, expected_kg: Dec) -> Dec {
        let by_pct = Dec::new(
            (expected_kg.get() * self.pct.get() / Decimal::ONE_HUNDRED).round_dp(Dec::MAX_SCALE),
        )
        .unwrap_or(self.min_kg);
        if by_pct > self.min_kg {
            by_pct
        } else {
            self.min_kg
        }
    }

    /// True when `measured` is within tolerance of `expected`.
    pub fn accepts(&self, measured_kg: Dec, expected_kg: Dec) -> bool {
        let diff = (measured_kg.get() - expected_kg.get()).abs();
        diff <= self.allowed(expected_kg).get()
    }
}

/// What the rules need besides the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorityContext<'a> {
    /// Node master data, for re-allocation.
    pub nodes: &'a [NodeInfo],
    /// Check-weighing tolerance.
    pub weight: WeightTolerance,
}

/// Everything the rules raised for one event. Every list is sorted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Assessment {
    /// Exceptions raised (those about an order are also added to it).
    pub exceptions: Vec<Exception>,
    /// Count tasks to create.
    pub counts: Vec<CountTaskPlan>,
    /// Put-back tasks to create.
    pub put_backs: Vec<PutBackPlan>,
    /// Pick tasks for re-allocated quantities.
    pub picks: Vec<PickTaskPlan>,
    /// Order status changes, for the audit trail.
    pub progress: Vec<Progress>,
    /// Lifecycle problems (logged; the fact was recorded anyway).
    #[serde(skip)]
    pub errors: Vec<LifecycleError>,
}

impl Assessment {
    fn sort(&mut self) {
        self.exceptions.sort();
        self.exceptions.dedup();
        self.counts.sort();
        self.counts.dedup();
        self.put_backs.sort();
        self.picks.sort();
    }
}

fn positive(d: Dec) -> bool {
    !d.is_negative() && !d.is_zero()
}

/// Applies the authority rules to `event`, which the hub has just applied to `ledger` with
/// the outcome `applied`. The order the event names (if any) is passed as `order` and updated.
///
/// Call it exactly once per event, and only when [`Ledger::apply`] returned `Ok` (a duplicate
/// or a gap changed nothing, so there is nothing to assess).
pub fn assess<S: Stock + ?Sized>(
    event: &Event,
    applied: &Applied,
    order: Option<&mut Order>,
    ledger: &mut S,
    ctx: &AuthorityContext<'_>,
) -> Assessment {
    let mut out = Assessment::default();
    let node = &event.id.node;
    let at = event.at_ms;
    let base = |code, message: String| {
        Exception::new(code, message, at)
            .from_event(&event.id)
            .at_node(node)
    };

    for flag in &applied.flags {
        match flag {
            Flag::NegativeBalance { key, balance } => {
                let newly = applied
                    .changes
                    .iter()
                    .any(|c| &c.key == key && !c.before.is_negative());
                if !newly {
                    continue;
                }
                let (place_text, location) = match &key.place {
                    Place::Location(code) => (format!("location {code}"), Some(code)),
                    Place::Container(id) => (format!("container {id}"), None),
                };
                let mut ex = base(
                    ExceptionCode::NegativeStock,
                    format!(
                        "{} of {} at {place_text} on {node} went to {balance}; count it",
                        status_text(key.status),
                        key.stock.sku
                    ),
                )
                .for_sku(&key.stock.sku);
                if let Some(code) = location {
                    ex = ex.at_location(code);
                    out.counts.push(CountTaskPlan {
                        node: node.clone(),
                        location: code.clone(),
                        sku: key.stock.sku.clone(),
                    });
                }
                out.exceptions.push(ex);
            }
            Flag::ReservedExceedsAvailable {
                node: n,
                sku,
                reserved,
                available,
            } => {
                out.exceptions.push(
                    Exception::new(
                        ExceptionCode::NegativeStock,
                        format!(
                            "{reserved} of {sku} is reserved at {n} but only {available} is available; orders reserved there may short-pick"
                        ),
                        at,
                    )
                    .from_event(&event.id)
                    .at_node(n)
                    .for_sku(sku),
                );
            }
        }
    }

    match &event.body {
        EventBody::CountResult {
            location,
            stock,
            counted,
            expected,
            ..
        } if counted != expected => {
            out.exceptions.push(
                base(
                    ExceptionCode::CountVariance,
                    format!(
                        "{} of {} counted at {location} on {node}; the book said {}",
                        counted, stock.sku, expected
                    ),
                )
                .for_sku(&stock.sku)
                .at_location(location),
            );
        }
        EventBody::Adjust {
            place,
            stock,
            delta,
            reason: ReasonCode::Damaged,
            ..
        } => {
            let mut ex = base(
                ExceptionCode::Damaged,
                format!("{} of {} adjusted as damaged on {node}", delta, stock.sku),
            )
            .for_sku(&stock.sku);
            if let Place::Location(code) = place {
                ex = ex.at_location(code);
            }
            out.exceptions.push(ex);
        }
        EventBody::StatusChange {
            place,
            stock,
            qty,
            to: StockStatus::Damaged,
            ..
        } => {
            let mut ex = base(
                ExceptionCode::Damaged,
                format!("{} of {} marked damaged on {node}", qty, stock.sku),
            )
            .for_sku(&stock.sku);
            if let Place::Location(code) = place {
                ex = ex.at_location(code);
            }
            out.exceptions.push(ex);
        }
        _ => {}
    }

    if let Some((order_ref, fact)) = NodeFact::of(&event.body) {
        match order.filter(|o| &o.order_ref == order_ref) {
            None => out.errors.push(LifecycleError::UnknownOrder {
                order: order_ref.clone(),
                kind: event.body.kind(),
                node: node.clone(),
            }),
            Some(order) => {
                let mut raised = order_rules(event, &fact, order, ledger, ctx, &mut out);
                for ex in raised.drain(..) {
                    order.add_exception(ex.clone());
                    out.exceptions.push(ex);
                }
            }
        }
    }
    out.sort();
    out
}

fn status_text(status: StockStatus) -> &'static str {
    match status {
        StockStatus::Available => "available stock",
        StockStatus::QualityHold => "stock on quality hold",
        StockStatus::Quarantine => "quarantined stock",
        StockStatus::Damaged => "damaged stock",
        StockStatus::ReturnPending => "returned stock",
        StockStatus::InTransit => "stock in transit",
    }
}

/// Records the fact on the order and returns the exceptions about it.
fn order_rules<S: Stock + ?Sized>(
    event: &Event,
    fact: &NodeFact<'_>,
    order: &mut Order,
    ledger: &mut S,
    ctx: &AuthorityContext<'_>,
    out: &mut Assessment,
) -> Vec<Exception> {
    let node = &event.id.node;
    let at = event.at_ms;
    let was_closed = order.status == OrderStatus::Cancelled || order.is_closed();
    let mut raised = Vec::new();
    let order_ref = order.order_ref.clone();
    let base = |code, message: String| {
        Exception::new(code, message, at)
            .from_event(&event.id)
            .at_node(node)
            .for_order(&order_ref)
    };

    let from = order.status;
    let allocated_before = match fact {
        NodeFact::ShortPick { sku, .. } => order.node_line(node, sku).allocated,
        _ => Dec::ZERO,
    };
    if let Err(e) = apply_fact(order, node, fact, at, &event.id, ledger) {
        out.errors.push(e);
    }

    match (&event.body, fact) {
        (EventBody::Pick { from, to, .. }, NodeFact::Pick { sku, qty, .. }) if was_closed => {
            raised.push(
                base(
                    ExceptionCode::PickOfCancelledOrder,
                    format!(
                        "{qty} of {sku} was picked on {node} into {to} for order {}, which is {}; put it back",
                        order.order_ref,
                        if order.status == OrderStatus::Cancelled { "cancelled" } else { "closed" }
                    ),
                )
                .for_sku(sku)
                .at_location(from),
            );
            out.put_backs.push(PutBackPlan {
                node: node.clone(),
                order: order.order_ref.clone(),
                containers: vec![to.clone()],
                lines: vec![PlanLine {
                    sku: (*sku).clone(),
                    qty: *qty,
                }],
            });
        }
        (EventBody::Ship { container, .. }, NodeFact::Ship { .. })
            if from == OrderStatus::Cancelled =>
        {
            raised.push(base(
                ExceptionCode::PickOfCancelledOrder,
                format!(
                    "carton {container} for order {} shipped from {node} after the order was cancelled; contact the customer or recall it",
                    order.order_ref
                ),
            ));
        }
        (EventBody::ShortPick { location, .. }, NodeFact::ShortPick { sku, short })
            if positive(*short) =>
        {
            raised.push(
                base(
                    ExceptionCode::ShortPick,
                    format!(
                        "{short} of {sku} was missing at {location} on {node} for order {}",
                        order.order_ref
                    ),
                )
                .for_sku(sku)
                .at_location(location),
            );
            out.counts.push(CountTaskPlan {
                node: node.clone(),
                location: location.clone(),
                sku: (*sku).clone(),
            });
            // Re-allocate what the node gave up, as far as the line still needs it.
            let given_up = allocated_before
                .checked_sub(order.node_line(node, sku).allocated)
                .unwrap_or(Dec::ZERO);
            let still_needed = order
                .unallocated()
                .into_iter()
                .find(|(s, _)| s == *sku)
                .map(|(_, q)| q)
                .unwrap_or(Dec::ZERO);
            let wanted_qty = given_up.min(still_needed);
            if !was_closed && positive(wanted_qty) {
                let wanted = [((*sku).clone(), wanted_qty)];
                let result = reserve_lines(
                    &order.order_ref,
                    &wanted,
                    ledger,
                    ctx.nodes,
                    at,
                    std::slice::from_ref(node),
                );
                record(order, &result.reserved);
                if order_is_released(order.status) {
                    out.picks.extend(take_unreleased(order));
                    rederive_status(order);
                }
                sync_backorders(order, at, Some(&event.id));
                // The backorder exceptions that sync just raised are already on the order.
                for ex in &order.exceptions {
                    if ex.code == ExceptionCode::Backorder && ex.source.as_ref() == Some(&event.id)
                    {
                        out.exceptions.push(ex.clone());
                    }
                }
            }
        }
        (
            EventBody::Pack {
                carton,
                measured_kg: Some(measured),
                expected_kg: Some(expected),
                ..
            },
            _,
        ) if !ctx.weight.accepts(measured.get(), expected.get()) => {
            raised.push(base(
                ExceptionCode::WeightMismatch,
                format!(
                    "carton {carton} for order {} weighed {measured} kg on {node}; {expected} kg ± {} kg was expected",
                    order.order_ref,
                    ctx.weight.allowed(expected.get())
                ),
            ));
        }
        _ => {}
    }
    if order.status != from {
        out.progress.push(Progress {
            order: order.order_ref.clone(),
            from,
            to: order.status,
        });
    }
    raised
}

/// The time-driven rule: an open order not shipped complete by its `ship_by` gets one open
/// `late_against_cutoff` exception (added to the order and returned; `None` when it is on
/// time, closed, or already flagged). The hub runs it periodically with its clock.
pub fn check_late(order: &mut Order, now_ms: i64) -> Option<Exception> {
    let done =
        order.is_closed() || matches!(order.status, OrderStatus::Cancelled | OrderStatus::Shipped);
    if done || now_ms <= order.ship_by_ms {
        return None;
    }
    let flagged = order
        .exceptions
        .iter()
        .any(|e| e.code == ExceptionCode::LateAgainstCutoff && e.is_open());
    if flagged {
        return None;
    }
    let late_ms = now_ms.saturating_sub(order.ship_by_ms);
    let ex = Exception::new(
        ExceptionCode::LateAgainstCutoff,
        format!(
            "order {} is {} and was due to ship {} min ago",
            order.order_ref,
            super::lifecycle::status_name(order.status),
            late_ms / 60_000
        ),
        now_ms,
    )
    .for_order(&order.order_ref);
    order.add_exception(ex.clone());
    Some(ex)
}

fn order_is_released(status: OrderStatus) -> bool {
    matches!(
        status,
        OrderStatus::Released
            | OrderStatus::Picking
            | OrderStatus::Picked
            | OrderStatus::Packed
            | OrderStatus::PartiallyShipped
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::OrderRef;
    use crate::domain::{LocationCode, NonNegQty, StockRef};
    use crate::ledger::Ledger;
    use crate::orders::allocation::allocate;
    use crate::orders::lifecycle::tests::{
        dec, info, node, order, oref, pack, pick, ship, short, sku, Hub,
    };
    use crate::orders::lifecycle::{cancel, release};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn tolerance() -> WeightTolerance {
        WeightTolerance {
            pct: dec("5"),
            min_kg: dec("0.05"),
        }
    }

    struct World {
        hub: Hub,
        orders: BTreeMap<OrderRef, Order>,
        nodes: Vec<NodeInfo>,
    }

    impl World {
        fn new() -> Self {
            World {
                hub: Hub::new(),
                orders: BTreeMap::new(),
                nodes: vec![info("EAST", 1), info("WEST", 2)],
            }
        }
        fn order(&mut self, r: &str, lines: &[(&str, &str)]) {
            let mut o = order(r, lines);
            allocate(&mut o, &mut self.hub.ledger, &self.nodes, 0).unwrap();
            release(&mut o).unwrap();
            self.orders.insert(oref(r), o);
        }
        fn event(&mut self, n: &str, body: EventBody) -> Assessment {
            let e = self.hub.next(n, body);
            self.apply(&e)
        }
        fn apply(&mut self, e: &Event) -> Assessment {
            let applied = self.hub.ledger.apply(e).unwrap();
            let ctx = AuthorityContext {
                nodes: &self.nodes,
                weight: tolerance(),
            };
            let named = NodeFact::of(&e.body).and_then(|(r, _)| self.orders.get_mut(r));
            assess(e, &applied, named, &mut self.hub.ledger, &ctx)
        }
        fn get(&self, r: &str) -> &Order {
            self.orders.get(&oref(r)).unwrap()
        }
    }

    fn codes(a: &Assessment) -> Vec<ExceptionCode> {
        a.exceptions.iter().map(|e| e.code).collect()
    }

    #[test]
    fn a_pick_that_drives_a_balance_negative_is_applied_and_raises_a_count_task() {
        let mut w = World::new();
        w.hub.stock("EAST", "A-1", "MUG", "1");
        w.order("SO-1", &[("MUG", "1")]);
        let a = w.event("EAST", pick("A-2", "MUG", "1", "SO-1"));
        assert_eq!(codes(&a), vec![ExceptionCode::NegativeStock]);
        assert_eq!(
            a.counts,
            vec![CountTaskPlan {
                node: node("EAST"),
                location: LocationCode::new("A-2").unwrap(),
                sku: sku("MUG"),
            }]
        );
        assert_eq!(w.get("SO-1").lines[0].picked, dec("1"));
        // A second event on the already negative line raises nothing new.
        let a = w.event("EAST", pick("A-2", "MUG", "1", "SO-1"));
        assert!(a.counts.is_empty());
    }

    #[test]
    fn a_pick_for_a_cancelled_order_raises_an_exception_and_a_put_back_task() {
        let mut w = World::new();
        w.hub.stock("EAST", "A-1", "MUG", "5");
        w.order("SO-1", &[("MUG", "2")]);
        let o = w.orders.get_mut(&oref("SO-1")).unwrap();
        cancel(o, &mut w.hub.ledger, 10).unwrap();
        let a = w.event("EAST", pick("A-1", "MUG", "2", "SO-1"));
        assert_eq!(codes(&a), vec![ExceptionCode::PickOfCancelledOrder]);
        assert_eq!(a.put_backs.len(), 1);
        assert_eq!(a.put_backs[0].lines[0].qty, dec("2"));
        assert_eq!(w.get("SO-1").status, OrderStatus::Cancelled);
        assert_eq!(w.get("SO-1").exceptions.len(), 1);
    }

    #[test]
    fn a_shipment_of_a_cancelled_order_is_recorded_and_raises_an_exception() {
        let mut w = World::new();
        w.hub.stock("EAST", "A-1", "MUG", "5");
        w.order("SO-1", &[("MUG", "2")]);
        w.event("EAST", pick("A-1", "MUG", "2", "SO-1"));
        w.event("EAST", pack("CTN-1", "MUG", "2", "SO-1", None));
        let o = w.orders.get_mut(&oref("SO-1")).unwrap();
        let out = cancel(o, &mut w.hub.ledger, 10).unwrap();
        assert_eq!(out.put_back.len(), 1);
        let a = w.event("EAST", ship("CTN-1", "MUG", "2", "SO-1"));
        assert_eq!(codes(&a), vec![ExceptionCode::PickOfCancelledOrder]);
        let o = w.get("SO-1");
        assert_eq!(o.status, OrderStatus::Cancelled);
        assert_eq!(o.lines[0].shipped, dec("2"));
        assert_eq!(o.shipments.len(), 1);
    }

    #[test]
    fn a_short_pick_is_reallocated_to_another_node_with_stock_and_released_at_once() {
        let mut w = World::new();
        w.hub.stock("EAST", "A-1", "MUG", "3");
        w.hub.stock("WEST", "B-1", "MUG", "5");
        w.order("SO-1", &[("MUG", "3")]);
        w.event("EAST", pick("A-1", "MUG", "1", "SO-1"));
        let a = w.event("EAST", short("A-1", "MUG", "3", "1", "SO-1"));
        assert_eq!(codes(&a), vec![ExceptionCode::ShortPick]);
        assert_eq!(a.counts.len(), 1);
        assert_eq!(
            a.picks,
            vec![PickTaskPlan {
                node: node("WEST"),
                order: oref("SO-1"),
                lines: vec![PlanLine {
                    sku: sku("MUG"),
                    qty: dec("2")
                }],
            }]
        );
        let o = w.get("SO-1");
        assert_eq!(o.node_line(&node("WEST"), &sku("MUG")).allocated, dec("2"));
        assert_eq!(o.lines[0].backordered, Dec::ZERO);
        assert_eq!(o.status, OrderStatus::Picking);
        assert_eq!(
            w.hub
                .ledger
                .reserved_for(&node("EAST"), &sku("MUG"), &oref("SO-1")),
            Dec::ZERO
        );
    }

    #[test]
    fn a_short_pick_with_no_stock_elsewhere_is_backordered() {
        let mut w = World::new();
        w.hub.stock("EAST", "A-1", "MUG", "3");
        w.order("SO-1", &[("MUG", "3")]);
        let a = w.event("EAST", short("A-1", "MUG", "3", "0", "SO-1"));
        assert_eq!(
            codes(&a),
            vec![ExceptionCode::ShortPick, ExceptionCode::Backorder]
        );
        assert!(a.picks.is_empty());
        assert_eq!(w.get("SO-1").lines[0].backordered, dec("3"));
    }

    #[test]
    fn a_pack_outside_the_weight_tolerance_raises_a_weight_mismatch() {
        let mut w = World::new();
        w.hub.stock("EAST", "A-1", "MUG", "3");
        w.order("SO-1", &[("MUG", "3")]);
        w.event("EAST", pick("A-1", "MUG", "3", "SO-1"));
        let a = w.event(
            "EAST",
            pack("CTN-1", "MUG", "3", "SO-1", Some(("1.30", "1.20"))),
        );
        assert_eq!(codes(&a), vec![ExceptionCode::WeightMismatch]);
        assert_eq!(w.get("SO-1").status, OrderStatus::Packed);
        let mut w = World::new();
        w.hub.stock("EAST", "A-1", "MUG", "3");
        w.order("SO-1", &[("MUG", "3")]);
        w.event("EAST", pick("A-1", "MUG", "3", "SO-1"));
        let a = w.event(
            "EAST",
            pack("CTN-1", "MUG", "3", "SO-1", Some(("1.25", "1.20"))),
        );
        assert!(a.exceptions.is_empty());
    }

    #[test]
    fn an_open_order_past_its_ship_by_is_flagged_late_once() {
        let mut o = order("SO-1", &[("MUG", "1")]);
        let due = o.ship_by_ms;
        assert_eq!(check_late(&mut o, due), None);
        let ex = check_late(&mut o, due + 30 * 60_000).unwrap();
        assert_eq!(ex.code, ExceptionCode::LateAgainstCutoff);
        assert_eq!(
            ex.message,
            "order SO-1 is received and was due to ship 30 min ago"
        );
        assert_eq!(check_late(&mut o, due + 60 * 60_000), None);
        assert_eq!(o.exceptions.len(), 1);
    }

    #[test]
    fn a_count_with_a_variance_raises_a_count_variance() {
        let mut w = World::new();
        w.hub.stock("EAST", "A-1", "MUG", "3");
        let a = w.event(
            "EAST",
            EventBody::CountResult {
                location: LocationCode::new("A-1").unwrap(),
                stock: StockRef::plain(sku("MUG")),
                status: StockStatus::Available,
                counted: NonNegQty::new(dec("2")).unwrap(),
                expected: NonNegQty::new(dec("3")).unwrap(),
            },
        );
        assert_eq!(codes(&a), vec![ExceptionCode::CountVariance]);
    }

    #[test]
    fn an_event_for_an_unknown_order_is_recorded_as_an_error_not_refused() {
        let mut w = World::new();
        w.hub.stock("EAST", "A-1", "MUG", "3");
        let a = w.event("EAST", pick("A-1", "MUG", "1", "SO-404"));
        assert!(matches!(
            a.errors[..],
            [LifecycleError::UnknownOrder { .. }]
        ));
        assert_eq!(
            w.hub.ledger.pickable_on_hand(&node("EAST"), &sku("MUG")),
            dec("2")
        );
    }

    /// One node's part of fulfilling an order.
    #[derive(Debug, Clone)]
    enum Step {
        /// Pick all, pack, ship.
        Full,
        /// Pick part, short-pick the rest, pack and ship what was picked.
        Short(u32),
        /// Nothing.
        Idle,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            Just(Step::Full),
            (0..5u32).prop_map(Step::Short),
            Just(Step::Idle)
        ]
    }

    /// Builds the world: stock at both nodes, orders allocated and released, some cancelled;
    /// returns the two nodes' event streams.
    fn build(
        steps: &[(Step, Step, bool, u32, u8)],
        noise: &[(bool, u32)],
    ) -> (World, Vec<Event>, Vec<Event>) {
        let mut w = World::new();
        // MUG only at EAST and CUP only at WEST, so orders with both are split; PEN at both,
        // so a short pick of PEN is re-allocated to the other node. Enough stock that a
        // re-allocation never races a pick for a cancelled order (which lowers that node's
        // availability) for the last units.
        w.hub.stock("EAST", "A-1", "MUG", "100");
        w.hub.stock("EAST", "A-1", "PEN", "500");
        w.hub.stock("WEST", "B-1", "CUP", "100");
        w.hub.stock("WEST", "B-1", "PEN", "500");
        let mut streams: BTreeMap<String, Vec<EventBody>> = BTreeMap::new();
        for (i, (east_step, west_step, cancelled, qty, mask)) in steps.iter().enumerate() {
            let r = format!("SO-{i}");
            let q = (qty % 4 + 1).to_string();
            let mut lines: Vec<(&str, &str)> = Vec::new();
            for (bit, s) in ["MUG", "CUP", "PEN"].iter().enumerate() {
                if mask & (1 << bit) != 0 {
                    lines.push((s, q.as_str()));
                }
            }
            if lines.is_empty() {
                lines.push(("PEN", "1"));
            }
            w.order(&r, &lines);
            let o = w.get(&r).clone();
            if *cancelled {
                let o = w.orders.get_mut(&oref(&r)).unwrap();
                cancel(o, &mut w.hub.ledger, 0).unwrap();
            }
            for (n, lines) in &o.allocations {
                let loc = if n.as_str() == "EAST" { "A-1" } else { "B-1" };
                let s = streams.entry(n.to_string()).or_default();
                let step = if n.as_str() == "EAST" {
                    east_step
                } else {
                    west_step
                };
                for (k, line) in lines {
                    let all = line.allocated.to_string();
                    let carton = format!("C-{i}-{k}");
                    match step {
                        Step::Idle => {}
                        Step::Full => {
                            s.push(pick(loc, k.as_str(), &all, &r));
                            s.push(pack(&carton, k.as_str(), &all, &r, Some(("1", "1"))));
                            s.push(ship(&carton, k.as_str(), &all, &r));
                        }
                        Step::Short(p) => {
                            let got = Dec::from_int(i64::from(*p)).unwrap().min(line.allocated);
                            if positive(got) {
                                s.push(pick(loc, k.as_str(), &got.to_string(), &r));
                            }
                            s.push(short(loc, k.as_str(), &all, &got.to_string(), &r));
                            if positive(got) {
                                s.push(pack(
                                    &carton,
                                    k.as_str(),
                                    &got.to_string(),
                                    &r,
                                    Some(("2", "1")),
                                ));
                                s.push(ship(&carton, k.as_str(), &got.to_string(), &r));
                            }
                        }
                    }
                }
            }
        }
        for (east, q) in noise {
            let (n, loc) = if *east {
                ("EAST", "Q-1")
            } else {
                ("WEST", "Q-2")
            };
            streams
                .entry(n.to_string())
                .or_default()
                .push(EventBody::Adjust {
                    place: Place::Location(LocationCode::new(loc).unwrap()),
                    stock: StockRef::plain(sku("MUG")),
                    status: StockStatus::Quarantine,
                    delta: -Dec::from_int(i64::from(q % 3 + 1)).unwrap(),
                    reason: ReasonCode::Lost,
                    adjustment: None,
                });
        }
        let mut events = Vec::new();
        for n in ["EAST", "WEST"] {
            let mut v = Vec::new();
            for body in streams.remove(n).unwrap_or_default() {
                v.push(w.hub.next(n, body));
            }
            events.push(v);
        }
        let west = events.pop().unwrap_or_default();
        let east = events.pop().unwrap_or_default();
        (w, east, west)
    }

    type Outcome = (
        BTreeMap<OrderRef, Order>,
        Vec<Exception>,
        Vec<CountTaskPlan>,
        Vec<PutBackPlan>,
        Vec<PickTaskPlan>,
        Ledger,
    );

    fn run(mut w: World, east: &[Event], west: &[Event], interleave: &[bool]) -> Outcome {
        let (mut i, mut j) = (0, 0);
        let mut all = Assessment::default();
        let mut k = 0;
        while i < east.len() || j < west.len() {
            let take_east =
                j >= west.len() || (i < east.len() && interleave.get(k).copied().unwrap_or(true));
            k += 1;
            let e = if take_east {
                i += 1;
                &east[i - 1]
            } else {
                j += 1;
                &west[j - 1]
            };
            let a = w.apply(e);
            all.exceptions.extend(a.exceptions);
            all.counts.extend(a.counts);
            all.put_backs.extend(a.put_backs);
            all.picks.extend(a.picks);
        }
        all.sort();
        (
            w.orders,
            all.exceptions,
            all.counts,
            all.put_backs,
            all.picks,
            w.hub.ledger,
        )
    }

    proptest! {
        #[test]
        fn any_interleaving_of_two_node_streams_gives_the_same_orders_and_exceptions(
            steps in prop::collection::vec(
                (step(), step(), prop::bool::weighted(0.2), 0..8u32, 1..8u8),
                1..10,
            ),
            noise in prop::collection::vec((any::<bool>(), 0..5u32), 0..4),
            interleave in prop::collection::vec(any::<bool>(), 0..200),
        ) {
            let (w1, east, west) = build(&steps, &noise);
            let (w2, _, _) = build(&steps, &noise);
            let east_first = run(w1, &east, &west, &[]);
            let mixed = run(w2, &east, &west, &interleave);
            prop_assert_eq!(&east_first.0, &mixed.0);
            prop_assert_eq!(&east_first.1, &mixed.1);
            prop_assert_eq!(&east_first.2, &mixed.2);
            prop_assert_eq!(&east_first.3, &mixed.3);
            prop_assert_eq!(&east_first.4, &mixed.4);
        }

        #[test]
        fn reservations_always_match_what_orders_still_need_at_each_node(
            orders in prop::collection::vec((1..8u8, 1..5u32, prop::bool::weighted(0.15)), 1..6),
            events in prop::collection::vec((any::<bool>(), 0..6usize, 0..3usize, 0..4u8, 1..4u32), 0..40),
        ) {
            let mut w = World::new();
            w.hub.stock("EAST", "A-1", "MUG", "8");
            w.hub.stock("EAST", "A-1", "PEN", "8");
            w.hub.stock("WEST", "B-1", "CUP", "8");
            w.hub.stock("WEST", "B-1", "PEN", "8");
            let skus = ["MUG", "CUP", "PEN"];
            let mut refs = Vec::new();
            for (i, (mask, qty, cancelled)) in orders.iter().enumerate() {
                let r = format!("SO-{i}");
                let q = qty.to_string();
                let lines: Vec<(&str, &str)> = skus
                    .iter()
                    .enumerate()
                    .filter(|(bit, _)| mask & (1 << bit) != 0)
                    .map(|(_, s)| (*s, q.as_str()))
                    .collect();
                let mut o = order(&r, &lines);
                allocate(&mut o, &mut w.hub.ledger, &w.nodes, 0).unwrap();
                let _ = release(&mut o);
                if *cancelled {
                    cancel(&mut o, &mut w.hub.ledger, 0).unwrap();
                }
                w.orders.insert(oref(&r), o);
                refs.push(r);
            }
            for (east, o, k, kind, q) in events {
                let (n, loc) = if east { ("EAST", "A-1") } else { ("WEST", "B-1") };
                let r = &refs[o % refs.len()];
                let k = skus[k];
                let q = q.to_string();
                let body = match kind {
                    0 | 1 => pick(loc, k, &q, r),
                    2 => short(loc, k, &q, "0", r),
                    _ => short(loc, k, &q, "1", r),
                };
                w.event(n, body);
                for (r, o) in &w.orders {
                    for (node, lines) in &o.allocations {
                        for (sku, line) in lines {
                            let held = w.hub.ledger.reserved_for(node, sku, r);
                            let need = if o.status == OrderStatus::Cancelled {
                                Dec::ZERO
                            } else {
                                line.allocated
                                    .checked_sub(line.picked)
                                    .filter(|d| !d.is_negative())
                                    .unwrap_or(Dec::ZERO)
                            };
                            prop_assert_eq!(held, need, "{} {} {}: {:?}", r, node, sku, line);
                        }
                    }
                    for line in &o.lines {
                        if !o.is_closed() {
                            prop_assert_eq!(
                                line.allocated.checked_add(line.backordered).unwrap(),
                                line.qty.max(line.allocated)
                            );
                        }
                    }
                }
                for n in ["EAST", "WEST"] {
                    for k in skus {
                        prop_assert!(
                            w.hub.ledger.reserved(&node(n), &sku(k))
                                <= w.hub.ledger.pickable_on_hand(&node(n), &sku(k))
                                || w.hub.ledger.available(&node(n), &sku(k)).is_negative()
                        );
                    }
                }
            }
        }
    }
}
