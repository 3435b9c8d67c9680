//! KPIs central operations expect, computed from order history and node events. Rates are
//! `Dec` fractions between 0 and 1 with four decimal places (`None` when there is nothing to
//! measure); times are integer milliseconds. No floats.
//!
//! Definitions:
//! - **Fill rate**: units shipped (capped at the ordered quantity per line) / units ordered,
//!   over closed orders that were not cancelled (shipped, or partially shipped and closed short).
//! - **Perfect order rate**: of those orders, the share shipped complete, without any exception
//!   and with every shipment at or before `ship_by`.
//! - **Inventory accuracy**: count results with zero variance / all count results.
//! - **Return-to-stock cycle time**: from a return received to its restock disposition (same
//!   node, RMA and SKU; node clock), mean (rounded down) and median (the lower middle value).
//! - **Split shipment rate**: orders with shipments from more than one node / orders with a
//!   shipment.
//! - **Order aging by exception code**: for open orders (not closed, not cancelled) with an open
//!   exception, per code: how many orders and the age of the oldest (now − received).

use super::order::Order;
use crate::domain::{
    Dec, Disposition, DocRef, Event, EventBody, ExceptionCode, NodeId, OrderStatus, Sku,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Decimal places of a rate.
pub const RATE_SCALE: u32 = 4;

/// Return-to-stock cycle time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CycleTime {
    /// Returns restocked.
    pub count: u64,
    /// Mean, ms.
    pub mean_ms: Option<i64>,
    /// Median, ms.
    pub p50_ms: Option<i64>,
}

/// Aging of open orders with one exception code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionAging {
    /// The code.
    pub code: ExceptionCode,
    /// Open orders with an open exception of this code.
    pub orders: u64,
    /// Age of the oldest of them, ms.
    pub oldest_age_ms: i64,
}

/// The KPIs, serialisable to JSON for `GET /kpis`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Kpis {
    /// Fill rate.
    pub fill_rate: Option<Dec>,
    /// Perfect order rate.
    pub perfect_order_rate: Option<Dec>,
    /// Closed, not cancelled orders measured by the two rates above.
    pub closed_orders: u64,
    /// Inventory accuracy.
    pub inventory_accuracy: Option<Dec>,
    /// Count results measured.
    pub counts: u64,
    /// Return-to-stock cycle time.
    pub return_to_stock: CycleTime,
    /// Split shipment rate.
    pub split_shipment_rate: Option<Dec>,
    /// Orders with at least one shipment.
    pub shipped_orders: u64,
    /// Order aging by exception code, sorted by code.
    pub aging: Vec<ExceptionAging>,
}

/// `num / den` rounded to [`RATE_SCALE`] places; `None` when `den` is zero.
pub fn rate(num: Dec, den: Dec) -> Option<Dec> {
    if den.is_zero() {
        return None;
    }
    let value = num.get().checked_div(den.get())?;
    Dec::new(value.round_dp(RATE_SCALE)).ok()
}

fn count_rate(num: u64, den: u64) -> Option<Dec> {
    rate(
        Dec::new(Decimal::from(num)).ok()?,
        Dec::new(Decimal::from(den)).ok()?,
    )
}

fn add(a: Dec, b: Dec) -> Dec {
    a.checked_add(b).unwrap_or(a)
}

/// Computes the KPIs from every order and the node events (for counts and returns).
pub fn compute_kpis<'a, 'e>(
    orders: impl IntoIterator<Item = &'a Order>,
    events: impl IntoIterator<Item = &'e Event> + Clone,
    now_ms: i64,
) -> Kpis {
    let mut kpis = Kpis::default();
    let mut ordered = Dec::ZERO;
    let mut shipped = Dec::ZERO;
    let mut perfect = 0u64;
    let mut split = 0u64;
    let mut aging: BTreeMap<ExceptionCode, (u64, i64)> = BTreeMap::new();

    for order in orders {
        let cancelled = order.status == OrderStatus::Cancelled;
        if order.is_closed() && !cancelled {
            kpis.closed_orders += 1;
            for line in &order.lines {
                ordered = add(ordered, line.qty);
                shipped = add(shipped, line.shipped.min(line.qty));
            }
            let complete = order.lines.iter().all(|l| l.shipped >= l.qty);
            let on_time = order
                .shipments
                .iter()
                .all(|s| s.shipped_at_ms <= order.ship_by_ms);
            if complete && on_time && order.exceptions.is_empty() {
                perfect += 1;
            }
        }
        if !order.shipments.is_empty() {
            kpis.shipped_orders += 1;
            let nodes: BTreeSet<&NodeId> = order.shipments.iter().map(|s| &s.node).collect();
            if nodes.len() > 1 {
                split += 1;
            }
        }
        if !order.is_closed() && !cancelled {
            let codes: BTreeSet<ExceptionCode> = order
                .exceptions
                .iter()
                .filter(|e| e.is_open())
                .map(|e| e.code)
                .collect();
            let age = now_ms.saturating_sub(order.received_at_ms).max(0);
            for code in codes {
                let slot = aging.entry(code).or_insert((0, 0));
                slot.0 += 1;
                slot.1 = slot.1.max(age);
            }
        }
    }
    kpis.fill_rate = rate(shipped, ordered);
    kpis.perfect_order_rate = count_rate(perfect, kpis.closed_orders);
    kpis.split_shipment_rate = count_rate(split, kpis.shipped_orders);
    kpis.aging = aging
        .into_iter()
        .map(|(code, (orders, oldest_age_ms))| ExceptionAging {
            code,
            orders,
            oldest_age_ms,
        })
        .collect();

    let mut exact = 0u64;
    let mut received: BTreeMap<(&NodeId, &DocRef, &Sku), i64> = BTreeMap::new();
    let mut cycles: Vec<i64> = Vec::new();
    for event in events.clone() {
        match &event.body {
            EventBody::CountResult {
                counted, expected, ..
            } => {
                kpis.counts += 1;
                if counted == expected {
                    exact += 1;
                }
            }
            EventBody::ReturnReceive { stock, rma, .. } => {
                let slot = received
                    .entry((&event.id.node, rma, &stock.sku))
                    .or_insert(event.at_ms);
                *slot = (*slot).min(event.at_ms);
            }
            _ => {}
        }
    }
    for event in events {
        if let EventBody::Disposition {
            stock,
            rma,
            disposition: Disposition::Restock { .. },
            ..
        } = &event.body
        {
            if let Some(at) = received.get(&(&event.id.node, rma, &stock.sku)) {
                cycles.push(event.at_ms.saturating_sub(*at).max(0));
            }
        }
    }
    kpis.inventory_accuracy = count_rate(exact, kpis.counts);
    cycles.sort_unstable();
    let n = cycles.len();
    kpis.return_to_stock = CycleTime {
        count: n as u64,
        mean_ms: (n > 0)
            .then(|| cycles.iter().map(|c| i128::from(*c)).sum::<i128>() / n as i128)
            .and_then(|m| i64::try_from(m).ok()),
        p50_ms: n
            .checked_sub(1)
            .and_then(|last| cycles.get(last / 2))
            .copied(),
    };
    kpis
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::{
        ContainerId, EventId, LocationCode, NonNegQty, OrderRef, Qty, StockRef, StockStatus,
    };
    use crate::orders::exception::Exception;
    use crate::orders::order::{NewOrder, NewOrderLine, Shipment};
    use std::str::FromStr;

    fn dec(s: &str) -> Dec {
        Dec::from_str(s).unwrap()
    }

    fn order(r: &str, qty: &str, shipped: &[(&str, &str, i64)], closed: bool) -> Order {
        let new = NewOrder {
            order_ref: r.into(),
            channel: "web".into(),
            ship_by_ms: 1_000,
            lines: vec![NewOrderLine {
                sku: "MUG".into(),
                qty: dec(qty),
            }],
        };
        let mut o = Order::accept(&new, |_| true, 0).unwrap();
        for (i, (n, q, at)) in shipped.iter().enumerate() {
            let node = NodeId::new(*n).unwrap();
            let line = o.node_line_mut(&node, &Sku::new("MUG").unwrap());
            line.allocated = add(line.allocated, dec(q));
            line.picked = line.allocated;
            line.packed = line.allocated;
            line.shipped = line.allocated;
            o.add_shipment(Shipment {
                event: EventId {
                    node,
                    seq: i as u64 + 1,
                },
                node: NodeId::new(*n).unwrap(),
                container: ContainerId::new(format!("C-{i}")).unwrap(),
                sscc: None,
                weight_kg: None,
                shipped_at_ms: *at,
            });
        }
        o.refresh_lines();
        o.status = if o.lines[0].shipped >= o.lines[0].qty {
            OrderStatus::Shipped
        } else {
            OrderStatus::PartiallyShipped
        };
        if closed {
            o.closed_at_ms = Some(2_000);
        }
        o
    }

    fn ev(seq: u64, at_ms: i64, body: EventBody) -> Event {
        Event {
            id: EventId {
                node: NodeId::new("EAST").unwrap(),
                seq,
            },
            at_ms,
            operator: None,
            station: None,
            task: None,
            body,
        }
    }

    fn count(seq: u64, counted: &str, expected: &str) -> Event {
        ev(
            seq,
            0,
            EventBody::CountResult {
                location: LocationCode::new("A-1").unwrap(),
                stock: StockRef::plain(Sku::new("MUG").unwrap()),
                status: StockStatus::Available,
                counted: NonNegQty::from_str(counted).unwrap(),
                expected: NonNegQty::from_str(expected).unwrap(),
            },
        )
    }

    fn ret(seq: u64, at: i64, rma: &str) -> Event {
        ev(
            seq,
            at,
            EventBody::ReturnReceive {
                location: LocationCode::new("R-1").unwrap(),
                stock: StockRef::plain(Sku::new("MUG").unwrap()),
                qty: Qty::from_str("1").unwrap(),
                rma: DocRef::new(rma).unwrap(),
                order: None,
            },
        )
    }

    fn restock(seq: u64, at: i64, rma: &str) -> Event {
        ev(
            seq,
            at,
            EventBody::Disposition {
                location: LocationCode::new("R-1").unwrap(),
                stock: StockRef::plain(Sku::new("MUG").unwrap()),
                qty: Qty::from_str("1").unwrap(),
                disposition: Disposition::Restock {
                    to: LocationCode::new("A-1").unwrap(),
                },
                rma: DocRef::new(rma).unwrap(),
            },
        )
    }

    #[test]
    fn fill_rate_counts_shipped_units_of_closed_orders_only() {
        let orders = [
            order("SO-1", "4", &[("EAST", "4", 500)], true),
            order("SO-2", "4", &[("EAST", "2", 500)], true),
            order("SO-3", "4", &[("EAST", "1", 500)], false),
        ];
        let k = compute_kpis(&orders, &[], 0);
        assert_eq!(k.closed_orders, 2);
        assert_eq!(k.fill_rate, Some(dec("0.75")));
    }

    #[test]
    fn a_perfect_order_is_complete_on_time_and_without_exceptions() {
        let late = order("SO-2", "1", &[("EAST", "1", 1_500)], true);
        let mut with_exception = order("SO-3", "1", &[("EAST", "1", 500)], true);
        with_exception.add_exception(Exception::new(ExceptionCode::WeightMismatch, "x", 0));
        let orders = [
            order("SO-1", "1", &[("EAST", "1", 1_000)], true),
            late,
            with_exception,
            order("SO-4", "2", &[("EAST", "1", 500)], true),
        ];
        let k = compute_kpis(&orders, &[], 0);
        assert_eq!(k.perfect_order_rate, Some(dec("0.25")));
    }

    #[test]
    fn split_shipment_rate_counts_orders_shipped_from_more_than_one_node() {
        let orders = [
            order("SO-1", "2", &[("EAST", "1", 0), ("WEST", "1", 0)], true),
            order("SO-2", "2", &[("EAST", "1", 0), ("EAST", "1", 0)], true),
            order("SO-3", "2", &[], false),
        ];
        let k = compute_kpis(&orders, &[], 0);
        assert_eq!(k.shipped_orders, 2);
        assert_eq!(k.split_shipment_rate, Some(dec("0.5")));
    }

    #[test]
    fn inventory_accuracy_is_the_share_of_counts_without_variance() {
        let events = [count(1, "3", "3"), count(2, "2", "3"), count(3, "0", "0")];
        let k = compute_kpis(&[], &events, 0);
        assert_eq!(k.counts, 3);
        assert_eq!(k.inventory_accuracy, Some(dec("0.6667")));
    }

    #[test]
    fn return_to_stock_cycle_time_pairs_returns_with_their_restock() {
        let events = [
            ret(1, 1_000, "RMA-1"),
            ret(2, 2_000, "RMA-2"),
            ret(3, 3_000, "RMA-3"),
            restock(4, 4_000, "RMA-1"),
            restock(5, 3_000, "RMA-2"),
            restock(6, 13_000, "RMA-3"),
            restock(7, 13_000, "RMA-9"),
        ];
        let k = compute_kpis(&[], &events, 0);
        assert_eq!(
            k.return_to_stock,
            CycleTime {
                count: 3,
                mean_ms: Some(4_666),
                p50_ms: Some(3_000),
            }
        );
    }

    #[test]
    fn order_aging_groups_open_orders_by_open_exception_code() {
        let mut a = order("SO-1", "2", &[], false);
        a.received_at_ms = 100;
        a.add_exception(Exception::new(ExceptionCode::Backorder, "x", 100));
        a.add_exception(Exception::new(ExceptionCode::ShortPick, "y", 100));
        let mut b = order("SO-2", "2", &[], false);
        b.received_at_ms = 500;
        b.add_exception(Exception::new(ExceptionCode::Backorder, "x", 500));
        let mut resolved = Exception::new(ExceptionCode::WeightMismatch, "z", 0);
        resolved.resolved_at_ms = Some(1);
        b.add_exception(resolved);
        let mut closed = order("SO-3", "2", &[], true);
        closed.add_exception(Exception::new(ExceptionCode::Backorder, "x", 0));
        let k = compute_kpis(&[a, b, closed], &[], 1_000);
        assert_eq!(
            k.aging,
            vec![
                ExceptionAging {
                    code: ExceptionCode::ShortPick,
                    orders: 1,
                    oldest_age_ms: 900
                },
                ExceptionAging {
                    code: ExceptionCode::Backorder,
                    orders: 2,
                    oldest_age_ms: 900
                },
            ]
        );
    }

    #[test]
    fn with_nothing_to_measure_rates_are_absent_and_json_has_no_floats() {
        let k = compute_kpis(&[], &[], 0);
        assert_eq!(k.fill_rate, None);
        let orders = [order("SO-1", "3", &[("EAST", "2", 0)], true)];
        let json = serde_json::to_value(compute_kpis(&orders, &[], 0)).unwrap();
        assert_eq!(json["fill_rate"], "0.6667");
        assert_eq!(json["return_to_stock"]["count"], 0);
        let _ = OrderRef::new("SO-1").unwrap();
    }
}
