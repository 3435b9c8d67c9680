//! Allocation: reserving available stock at nodes for an order's lines.
//!
//! Rules, in order of precedence:
//! 1. Only **active** nodes are considered. A node that is offline, or whose cut-off for today
//!    has passed at `now_ms`, is **ranked last** (tier 1), not skipped: stock that ships
//!    tomorrow beats a backorder, but stock that ships today comes first.
//! 2. **Fewest splits**: nodes are chosen greedily; at each step the node that can fill the
//!    most of the remaining lines completely wins (so one node that can fill the whole order
//!    is always chosen when there is one in the best tier).
//! 3. Then node **priority** (lower number first).
//! 4. Then **available stock**: the node that can cover the most remaining units.
//! 5. Ties are broken by node id.
//!
//! Each chosen node gets `min(available, remaining)` of every remaining line, reserved through
//! [`Ledger::reserve`], so no unit is ever promised twice. What no node can cover stays
//! unallocated (backordered). Cut-offs are times of day in UTC.

use super::exception::Exception;
use super::lifecycle::{status_name, LifecycleError};
use super::order::Order;
use crate::domain::{Dec, ExceptionCode, NodeId, OrderRef, OrderStatus, Sku};
use crate::ledger::Stock;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// Master data of a node, as far as allocation cares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// The node.
    pub node: NodeId,
    /// Lower numbers are preferred.
    pub priority: u32,
    /// Connected to the hub now.
    pub online: bool,
    /// Accepting orders at all; inactive nodes are never allocated to.
    pub active: bool,
    /// Daily carrier cut-off as milliseconds after midnight UTC; `None` for no cut-off.
    pub cutoff_ms_of_day: Option<i64>,
}

impl NodeInfo {
    /// True when the node's cut-off for the day of `now_ms` has passed.
    pub fn past_cutoff(&self, now_ms: i64) -> bool {
        self.cutoff_ms_of_day
            .is_some_and(|cutoff| now_ms.rem_euclid(DAY_MS) >= cutoff)
    }

    /// 0 for nodes that can ship today, 1 for offline or late nodes.
    fn tier(&self, now_ms: i64) -> u8 {
        u8::from(!self.online || self.past_cutoff(now_ms))
    }
}

/// One reservation made by allocation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Allocation {
    /// Where.
    pub node: NodeId,
    /// What.
    pub sku: Sku,
    /// How much.
    pub qty: Dec,
}

/// What an allocation run did.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AllocationResult {
    /// Reservations made, sorted by node and SKU.
    pub reserved: Vec<Allocation>,
    /// What could not be allocated, in line order.
    pub backordered: Vec<(Sku, Dec)>,
}

fn min(a: Dec, b: Dec) -> Dec {
    if a < b {
        a
    } else {
        b
    }
}

fn positive(d: Dec) -> bool {
    !d.is_negative() && !d.is_zero()
}

/// How a candidate node ranks: tier, lines it fills completely (more first), priority,
/// units it covers (more first), node id. Smaller is better.
type RankKey<'a> = (u8, Reverse<usize>, u32, Reverse<Dec>, &'a NodeId);

/// Reserves `wanted` for `order` by the rules above, never at a node in `exclude`.
/// Returns the reservations made and what remains unallocated.
pub fn reserve_lines<S: Stock + ?Sized>(
    order: &OrderRef,
    wanted: &[(Sku, Dec)],
    ledger: &mut S,
    nodes: &[NodeInfo],
    now_ms: i64,
    exclude: &[NodeId],
) -> AllocationResult {
    let mut remaining: Vec<(Sku, Dec)> = wanted
        .iter()
        .filter(|(_, q)| positive(*q))
        .cloned()
        .collect();
    let mut candidates: Vec<&NodeInfo> = nodes
        .iter()
        .filter(|n| n.active && !exclude.contains(&n.node))
        .collect();
    candidates.sort_by(|a, b| a.node.cmp(&b.node));
    candidates.dedup_by(|a, b| a.node == b.node);
    let mut reserved = Vec::new();
    loop {
        let mut best: Option<(RankKey<'_>, usize)> = None;
        for (index, info) in candidates.iter().enumerate() {
            let mut full = 0usize;
            let mut units = Dec::ZERO;
            for (sku, rem) in &remaining {
                let avail = ledger.available(&info.node, sku);
                if !positive(avail) {
                    continue;
                }
                if avail >= *rem {
                    full += 1;
                }
                units = units.checked_add(min(avail, *rem)).unwrap_or(units);
            }
            if !positive(units) {
                continue;
            }
            let key = (
                info.tier(now_ms),
                Reverse(full),
                info.priority,
                Reverse(units),
                &info.node,
            );
            if best.as_ref().is_none_or(|(k, _)| key < *k) {
                best = Some((key, index));
            }
        }
        let Some((_, index)) = best else { break };
        let node = candidates.remove(index).node.clone();
        for (sku, rem) in remaining.iter_mut() {
            let take = min(ledger.available(&node, sku), *rem);
            if !positive(take) {
                continue;
            }
            if ledger.reserve(&node, sku, order, take).is_ok() {
                *rem = rem.checked_sub(take).unwrap_or(*rem);
                reserved.push(Allocation {
                    node: node.clone(),
                    sku: sku.clone(),
                    qty: take,
                });
            }
        }
        remaining.retain(|(_, q)| positive(*q));
        if remaining.is_empty() {
            break;
        }
    }
    reserved.sort();
    AllocationResult {
        reserved,
        backordered: remaining,
    }
}

/// Adds the reservations to the order's node lines.
pub(crate) fn record(order: &mut Order, reserved: &[Allocation]) {
    for a in reserved {
        let line = order.node_line_mut(&a.node, &a.sku);
        line.allocated = line.allocated.checked_add(a.qty).unwrap_or(line.allocated);
    }
    order.refresh_lines();
}

/// Raises one open `backorder` exception per SKU still unallocated (none when one is already
/// open) and resolves the open ones whose SKU is now fully allocated.
pub(crate) fn sync_backorders(
    order: &mut Order,
    at_ms: i64,
    source: Option<&crate::domain::EventId>,
) {
    let open = order.unallocated();
    for ex in order.exceptions.iter_mut() {
        if ex.code == ExceptionCode::Backorder
            && ex.is_open()
            && !open.iter().any(|(s, _)| Some(s) == ex.sku.as_ref())
        {
            ex.resolved_at_ms = Some(at_ms);
        }
    }
    for (sku, qty) in open {
        let already = order.exceptions.iter().any(|ex| {
            ex.code == ExceptionCode::Backorder && ex.is_open() && ex.sku.as_ref() == Some(&sku)
        });
        if already {
            continue;
        }
        let mut ex = Exception::new(
            ExceptionCode::Backorder,
            format!(
                "{qty} of {sku} for order {} could not be allocated: no node has it available",
                order.order_ref
            ),
            at_ms,
        )
        .for_sku(&sku)
        .for_order(&order.order_ref);
        if let Some(id) = source {
            ex = ex.from_event(id);
        }
        order.add_exception(ex);
    }
}

/// Allocates what is still unallocated of `order`.
///
/// From `received` or `backordered` the order becomes `allocated` (everything reserved) or
/// `backordered` (some or all of it waits for stock; a `backorder` exception is raised per
/// SKU). Later open states (released … partially shipped) may allocate a remainder too; their
/// status does not change (release the new reservations with [`super::lifecycle::release`]).
pub fn allocate<S: Stock + ?Sized>(
    order: &mut Order,
    ledger: &mut S,
    nodes: &[NodeInfo],
    now_ms: i64,
) -> Result<AllocationResult, LifecycleError> {
    let legal = matches!(
        order.status,
        OrderStatus::Received
            | OrderStatus::Backordered
            | OrderStatus::Allocated
            | OrderStatus::Released
            | OrderStatus::Picking
            | OrderStatus::Picked
            | OrderStatus::Packed
            | OrderStatus::PartiallyShipped
    );
    if !legal || order.is_closed() {
        return Err(LifecycleError::IllegalTransition {
            order: order.order_ref.clone(),
            from: status_name(order.status),
            action: "allocate",
        });
    }
    let wanted = order.unallocated();
    let result = reserve_lines(&order.order_ref, &wanted, ledger, nodes, now_ms, &[]);
    record(order, &result.reserved);
    if matches!(
        order.status,
        OrderStatus::Received | OrderStatus::Backordered | OrderStatus::Allocated
    ) {
        order.status = if order.unallocated().is_empty() {
            OrderStatus::Allocated
        } else {
            OrderStatus::Backordered
        };
    }
    sync_backorders(order, now_ms, None);
    Ok(result)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::{
        Event, EventBody, EventId, LocationCode, LocationInfo, LocationKind, Qty, StockRef,
        StockStatus,
    };
    use crate::ledger::Ledger;
    use crate::orders::order::{NewOrder, NewOrderLine};
    use proptest::prelude::*;
    use std::str::FromStr;

    fn dec(s: &str) -> Dec {
        Dec::from_str(s).unwrap()
    }
    fn node(s: &str) -> NodeId {
        NodeId::new(s).unwrap()
    }
    fn sku(s: &str) -> Sku {
        Sku::new(s).unwrap()
    }

    struct Stock {
        ledger: Ledger,
        seq: std::collections::BTreeMap<NodeId, u64>,
    }

    impl Stock {
        fn new() -> Self {
            Stock {
                ledger: Ledger::new(),
                seq: Default::default(),
            }
        }
        fn put(&mut self, n: &str, loc: &str, pickable: bool, s: &str, q: &str, st: StockStatus) {
            let location = LocationCode::new(loc).unwrap();
            self.ledger.set_location(
                &node(n),
                &location,
                LocationInfo {
                    kind: LocationKind::Pick,
                    pickable,
                    capacity: None,
                },
            );
            let seq = self.seq.entry(node(n)).or_insert(0);
            *seq += 1;
            let event = Event {
                id: EventId {
                    node: node(n),
                    seq: *seq,
                },
                at_ms: 0,
                operator: None,
                station: None,
                task: None,
                body: EventBody::Receive {
                    location,
                    stock: StockRef::plain(sku(s)),
                    qty: Qty::from_str(q).unwrap(),
                    status: st,
                    inbound: None,
                },
            };
            self.ledger.apply(&event).unwrap();
        }
        fn avail(&mut self, n: &str, loc: &str, s: &str, q: &str) {
            self.put(n, loc, true, s, q, StockStatus::Available);
        }
    }

    fn info(n: &str, priority: u32) -> NodeInfo {
        NodeInfo {
            node: node(n),
            priority,
            online: true,
            active: true,
            cutoff_ms_of_day: None,
        }
    }

    fn order(r: &str, lines: &[(&str, &str)]) -> Order {
        let new = NewOrder {
            order_ref: r.into(),
            channel: "web".into(),
            ship_by_ms: 0,
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

    fn summary(r: &AllocationResult) -> Vec<(String, String, String)> {
        r.reserved
            .iter()
            .map(|a| (a.node.to_string(), a.sku.to_string(), a.qty.to_string()))
            .collect()
    }

    fn strs(v: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
        v.iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
            .collect()
    }

    #[test]
    fn one_node_that_fills_the_whole_order_beats_a_higher_priority_split() {
        let mut st = Stock::new();
        st.avail("EAST", "A-1", "MUG", "5");
        st.avail("WEST", "A-1", "MUG", "5");
        st.avail("WEST", "A-1", "CUP", "5");
        let nodes = [info("EAST", 1), info("WEST", 2)];
        let mut o = order("SO-1", &[("MUG", "2"), ("CUP", "2")]);
        let r = allocate(&mut o, &mut st.ledger, &nodes, 0).unwrap();
        assert_eq!(
            summary(&r),
            strs(&[("WEST", "CUP", "2"), ("WEST", "MUG", "2")])
        );
        assert_eq!(o.status, OrderStatus::Allocated);
    }

    #[test]
    fn among_nodes_that_can_fill_the_order_the_higher_priority_wins() {
        let mut st = Stock::new();
        st.avail("EAST", "A-1", "MUG", "5");
        st.avail("WEST", "A-1", "MUG", "50");
        let nodes = [info("EAST", 1), info("WEST", 2)];
        let mut o = order("SO-1", &[("MUG", "2")]);
        let r = allocate(&mut o, &mut st.ledger, &nodes, 0).unwrap();
        assert_eq!(summary(&r), strs(&[("EAST", "MUG", "2")]));
    }

    #[test]
    fn equal_priority_prefers_more_stock_then_the_lower_node_id() {
        let mut st = Stock::new();
        st.avail("B", "A-1", "MUG", "3");
        st.avail("C", "A-1", "MUG", "3");
        let nodes = [info("C", 1), info("B", 1)];
        let mut o = order("SO-1", &[("MUG", "5")]);
        let r = allocate(&mut o, &mut st.ledger, &nodes, 0).unwrap();
        assert_eq!(summary(&r), strs(&[("B", "MUG", "3"), ("C", "MUG", "2")]));
    }

    #[test]
    fn a_node_past_its_cutoff_is_used_only_after_nodes_that_ship_today() {
        let mut st = Stock::new();
        st.avail("EAST", "A-1", "MUG", "5");
        st.avail("WEST", "A-1", "MUG", "5");
        let mut east = info("EAST", 1);
        east.cutoff_ms_of_day = Some(15 * 3_600_000);
        let nodes = [east, info("WEST", 2)];
        let now = 2 * DAY_MS + 16 * 3_600_000;
        let mut o = order("SO-1", &[("MUG", "7")]);
        let r = allocate(&mut o, &mut st.ledger, &nodes, now).unwrap();
        assert_eq!(
            summary(&r),
            strs(&[("EAST", "MUG", "2"), ("WEST", "MUG", "5")])
        );
        // Before the cut-off, EAST is first again.
        let mut o = order("SO-2", &[("MUG", "1")]);
        let r = allocate(&mut o, &mut st.ledger, &nodes, 2 * DAY_MS).unwrap();
        assert_eq!(summary(&r), strs(&[("EAST", "MUG", "1")]));
    }

    #[test]
    fn an_inactive_node_is_never_allocated_to_and_an_offline_one_is_ranked_last() {
        let mut st = Stock::new();
        st.avail("EAST", "A-1", "MUG", "5");
        st.avail("WEST", "A-1", "MUG", "5");
        let mut east = info("EAST", 1);
        east.online = false;
        let mut west = info("WEST", 2);
        let mut o = order("SO-1", &[("MUG", "1")]);
        let r = allocate(&mut o, &mut st.ledger, &[east.clone(), west.clone()], 0).unwrap();
        assert_eq!(summary(&r), strs(&[("WEST", "MUG", "1")]));
        west.active = false;
        let mut o = order("SO-2", &[("MUG", "9")]);
        let r = allocate(&mut o, &mut st.ledger, &[east, west], 0).unwrap();
        assert_eq!(summary(&r), strs(&[("EAST", "MUG", "5")]));
    }

    #[test]
    fn partial_stock_is_allocated_and_the_rest_backordered_with_an_exception() {
        let mut st = Stock::new();
        st.avail("EAST", "A-1", "MUG", "2");
        let mut o = order("SO-1", &[("MUG", "5")]);
        let r = allocate(&mut o, &mut st.ledger, &[info("EAST", 1)], 10).unwrap();
        assert_eq!(r.backordered, vec![(sku("MUG"), dec("3"))]);
        assert_eq!(o.status, OrderStatus::Backordered);
        assert_eq!(o.lines[0].allocated, dec("2"));
        assert_eq!(o.lines[0].backordered, dec("3"));
        assert_eq!(o.exceptions.len(), 1);
        assert_eq!(o.exceptions[0].code, ExceptionCode::Backorder);
        // Stock arrives: the second attempt fills the rest and resolves the exception.
        st.avail("EAST", "A-1", "MUG", "3");
        allocate(&mut o, &mut st.ledger, &[info("EAST", 1)], 20).unwrap();
        assert_eq!(o.status, OrderStatus::Allocated);
        assert_eq!(o.exceptions[0].resolved_at_ms, Some(20));
        assert_eq!(
            st.ledger
                .reserved_for(&node("EAST"), &sku("MUG"), &o.order_ref),
            dec("5")
        );
    }

    #[test]
    fn twenty_orders_for_one_unit_against_ten_in_stock_allocate_exactly_ten() {
        let mut st = Stock::new();
        st.avail("EAST", "A-1", "MUG", "6");
        st.avail("WEST", "A-1", "MUG", "4");
        let nodes = [info("EAST", 1), info("WEST", 2)];
        let mut allocated = 0;
        for i in 0..20 {
            let mut o = order(&format!("SO-{i}"), &[("MUG", "1")]);
            allocate(&mut o, &mut st.ledger, &nodes, 0).unwrap();
            if o.status == OrderStatus::Allocated {
                allocated += 1;
            } else {
                assert_eq!(o.status, OrderStatus::Backordered);
            }
        }
        assert_eq!(allocated, 10);
        assert_eq!(st.ledger.available(&node("EAST"), &sku("MUG")), Dec::ZERO);
        assert_eq!(st.ledger.available(&node("WEST"), &sku("MUG")), Dec::ZERO);
    }

    #[test]
    fn held_or_unpickable_stock_is_never_allocated() {
        let mut st = Stock::new();
        st.put("EAST", "R-1", false, "MUG", "5", StockStatus::Available);
        st.put("EAST", "A-1", true, "MUG", "5", StockStatus::QualityHold);
        let mut o = order("SO-1", &[("MUG", "1")]);
        let r = allocate(&mut o, &mut st.ledger, &[info("EAST", 1)], 0).unwrap();
        assert!(r.reserved.is_empty());
        assert_eq!(o.status, OrderStatus::Backordered);
    }

    #[test]
    fn a_cancelled_order_cannot_be_allocated() {
        let mut st = Stock::new();
        let mut o = order("SO-1", &[("MUG", "1")]);
        o.status = OrderStatus::Cancelled;
        let err = allocate(&mut o, &mut st.ledger, &[info("EAST", 1)], 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "order SO-1: cannot allocate an order that is cancelled"
        );
    }

    #[derive(Debug, Clone)]
    struct Scenario {
        stock: Vec<(usize, usize, u32, bool, u8)>,
        orders: Vec<Vec<(usize, u32)>>,
        priorities: Vec<u32>,
    }

    const NODES: [&str; 3] = ["N1", "N2", "N3"];
    const SKUS: [&str; 3] = ["S1", "S2", "S3"];

    fn scenario() -> impl Strategy<Value = Scenario> {
        (
            prop::collection::vec(
                (0..3usize, 0..3usize, 1..20u32, any::<bool>(), 0..3u8),
                0..12,
            ),
            prop::collection::vec(prop::collection::vec((0..3usize, 1..15u32), 1..4), 1..12),
            prop::collection::vec(0..3u32, 3),
        )
            .prop_map(|(stock, orders, priorities)| Scenario {
                stock,
                orders,
                priorities,
            })
    }

    fn run(sc: &Scenario, order_of: &[usize]) -> (Ledger, Vec<Order>) {
        let mut st = Stock::new();
        for (i, (n, s, q, pickable, status)) in sc.stock.iter().enumerate() {
            let status = match status {
                0 | 1 => StockStatus::Available,
                _ => StockStatus::Quarantine,
            };
            let loc = if *pickable {
                format!("P-{i}")
            } else {
                format!("R-{i}")
            };
            st.put(NODES[*n], &loc, *pickable, SKUS[*s], &q.to_string(), status);
        }
        let nodes: Vec<NodeInfo> = NODES
            .iter()
            .zip(&sc.priorities)
            .map(|(n, p)| info(n, *p))
            .collect();
        let mut done = Vec::new();
        for &i in order_of {
            let Some(lines) = sc.orders.get(i) else {
                continue;
            };
            let lines: Vec<(&str, String)> = lines
                .iter()
                .map(|(s, q)| (SKUS[*s], q.to_string()))
                .collect();
            let refs: Vec<(&str, &str)> = lines.iter().map(|(s, q)| (*s, q.as_str())).collect();
            let mut o = order(&format!("SO-{i}"), &refs);
            allocate(&mut o, &mut st.ledger, &nodes, 0).unwrap();
            done.push(o);
        }
        (st.ledger, done)
    }

    proptest! {
        #[test]
        fn allocations_in_any_order_never_reserve_more_than_pickable_available_stock(
            sc in scenario(),
            shuffle in prop::collection::vec(any::<u32>(), 12),
        ) {
            let mut order_of: Vec<usize> = (0..sc.orders.len()).collect();
            order_of.sort_by_key(|i| shuffle.get(*i).copied().unwrap_or(0));
            let (ledger, orders) = run(&sc, &order_of);
            for n in NODES {
                for s in SKUS {
                    let reserved = ledger.reserved(&node(n), &sku(s));
                    let pickable = ledger.pickable_on_hand(&node(n), &sku(s));
                    prop_assert!(reserved <= pickable, "{n}/{s}: {reserved} > {pickable}");
                    let sum = orders.iter().fold(Dec::ZERO, |acc, o| {
                        acc.checked_add(o.node_line(&node(n), &sku(s)).allocated).unwrap()
                    });
                    prop_assert_eq!(sum, reserved);
                }
            }
            for o in &orders {
                for line in &o.lines {
                    prop_assert!(line.allocated <= line.qty);
                    prop_assert_eq!(line.allocated.checked_add(line.backordered).unwrap(), line.qty);
                }
            }
        }

        #[test]
        fn allocation_is_deterministic(sc in scenario()) {
            let order_of: Vec<usize> = (0..sc.orders.len()).collect();
            let (l1, o1) = run(&sc, &order_of);
            let (l2, o2) = run(&sc, &order_of);
            prop_assert_eq!(l1, l2);
            prop_assert_eq!(o1, o2);
        }
    }
}
