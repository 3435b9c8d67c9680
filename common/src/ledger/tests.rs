#![allow(clippy::unwrap_used)]

use super::*;
use crate::domain::{
    ContainerId, Disposition, DocRef, EventBody, LocationKind, MovePurpose, NonNegQty, OperatorId,
    PackLine, Qty, ReasonCode, StockRef,
};
use proptest::prelude::*;
use std::str::FromStr;

pub(super) fn node(n: &str) -> NodeId {
    NodeId::new(n).unwrap()
}
pub(super) fn sku(s: &str) -> Sku {
    Sku::new(s).unwrap()
}
pub(super) fn loc(l: &str) -> LocationCode {
    LocationCode::new(l).unwrap()
}
fn qty(q: &str) -> Qty {
    Qty::from_str(q).unwrap()
}
pub(super) fn dec(q: &str) -> Dec {
    Dec::from_str(q).unwrap()
}
fn tote(t: &str) -> ContainerId {
    ContainerId::new(t).unwrap()
}
fn order(o: &str) -> OrderRef {
    OrderRef::new(o).unwrap()
}
pub(super) fn ev(n: &str, seq: u64, body: EventBody) -> Event {
    Event {
        id: EventId { node: node(n), seq },
        at_ms: 1_700_000_000_000 + seq as i64,
        operator: Some(OperatorId::new("op-1").unwrap()),
        station: None,
        task: None,
        body,
    }
}
pub(super) fn receive(l: &str, s: &str, q: &str) -> EventBody {
    EventBody::Receive {
        location: loc(l),
        stock: StockRef::plain(sku(s)),
        qty: qty(q),
        status: StockStatus::Available,
        inbound: None,
    }
}
fn pick(l: &str, s: &str, q: &str, t: &str, o: &str) -> EventBody {
    EventBody::Pick {
        from: loc(l),
        to: tote(t),
        stock: StockRef::plain(sku(s)),
        qty: qty(q),
        order: order(o),
    }
}
pub(super) fn pickable(ledger: &mut Ledger, n: &str, l: &str) {
    ledger.set_location(
        &node(n),
        &loc(l),
        LocationInfo {
            kind: LocationKind::Pick,
            pickable: true,
            capacity: None,
        },
    );
}
pub(super) fn key(n: &str, place: Place, s: &str, status: StockStatus) -> StockKey {
    StockKey {
        node: node(n),
        place,
        stock: StockRef::plain(sku(s)),
        status,
    }
}

#[test]
fn a_receipt_puts_stock_on_hand_at_the_location() {
    let mut ledger = Ledger::new();
    let applied = ledger
        .apply(&ev("N1", 1, receive("A-01", "MUG", "10")))
        .unwrap();
    let k = key(
        "N1",
        Place::Location(loc("A-01")),
        "MUG",
        StockStatus::Available,
    );
    assert_eq!(ledger.balance(&k), dec("10"));
    assert_eq!(
        applied.changes,
        vec![BalanceChange {
            key: k,
            before: Dec::ZERO,
            after: dec("10")
        }]
    );
    assert_eq!(ledger.on_hand(&node("N1"), &sku("MUG")), dec("10"));
    assert_eq!(ledger.applied_seq(&node("N1")), 1);
}

#[test]
fn an_event_applied_twice_is_detected_by_its_id_and_changes_nothing() {
    let mut ledger = Ledger::new();
    let e = ev("N1", 1, receive("A-01", "MUG", "10"));
    ledger.apply(&e).unwrap();
    let before = ledger.clone();
    assert_eq!(
        ledger.apply(&e),
        Err(ApplyError::Duplicate {
            node: node("N1"),
            seq: 1,
            applied: 1
        })
    );
    assert_eq!(ledger, before);
}

#[test]
fn an_event_after_a_gap_is_refused_until_the_missing_one_arrives() {
    let mut ledger = Ledger::new();
    let third = ev("N1", 3, receive("A-01", "MUG", "1"));
    assert!(matches!(
        ledger.apply(&third),
        Err(ApplyError::Gap { expected: 1, .. })
    ));
    assert_eq!(ledger, Ledger::new());
}

#[test]
fn a_pick_beyond_the_balance_is_applied_and_flagged_never_clamped() {
    let mut ledger = Ledger::new();
    ledger
        .apply(&ev("N1", 1, receive("A-01", "MUG", "2")))
        .unwrap();
    let applied = ledger
        .apply(&ev("N1", 2, pick("A-01", "MUG", "3", "T1", "SO-1")))
        .unwrap();
    let k = key(
        "N1",
        Place::Location(loc("A-01")),
        "MUG",
        StockStatus::Available,
    );
    assert_eq!(ledger.balance(&k), dec("-1"));
    assert!(applied.flags.contains(&Flag::NegativeBalance {
        key: k.clone(),
        balance: dec("-1")
    }));
    assert_eq!(ledger.negative_balances().collect::<Vec<_>>(), vec![&k]);
    assert_eq!(
        ledger.balance(&key(
            "N1",
            Place::Container(tote("T1")),
            "MUG",
            StockStatus::Available
        )),
        dec("3")
    );
    ledger.check_conservation().unwrap();
}

#[test]
fn a_negative_balance_is_no_longer_listed_once_a_receipt_covers_it() {
    let mut ledger = Ledger::new();
    ledger
        .apply(&ev("N1", 1, pick("A-01", "MUG", "1", "T1", "SO-1")))
        .unwrap();
    assert_eq!(ledger.negative_balances().count(), 1);
    ledger
        .apply(&ev("N1", 2, receive("A-01", "MUG", "5")))
        .unwrap();
    assert_eq!(ledger.negative_balances().count(), 0);
}

#[test]
fn an_invalid_event_is_refused_with_the_field_and_changes_nothing() {
    let mut ledger = Ledger::new();
    let body = EventBody::Move {
        from: Place::Location(loc("A-01")),
        to: Place::Location(loc("A-01")),
        stock: StockRef::plain(sku("MUG")),
        status: StockStatus::Available,
        qty: qty("1"),
        purpose: MovePurpose::Internal,
        reason: None,
    };
    let err = ledger.apply(&ev("N1", 1, body)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "event 1 of node N1 is invalid: to: a move must go to a different place than it comes from"
    );
    assert_eq!(ledger.applied_seq(&node("N1")), 0);
}

#[test]
fn a_quarantined_event_lets_the_stream_move_on_without_effect() {
    let mut ledger = Ledger::new();
    ledger
        .mark_quarantined(&EventId {
            node: node("N1"),
            seq: 1,
        })
        .unwrap();
    ledger
        .apply(&ev("N1", 2, receive("A-01", "MUG", "1")))
        .unwrap();
    assert_eq!(ledger.on_hand(&node("N1"), &sku("MUG")), dec("1"));
}

#[test]
fn available_counts_only_available_status_in_pickable_locations_minus_reserved() {
    let mut ledger = Ledger::new();
    let n = node("N1");
    let s = sku("MUG");
    ledger
        .apply(&ev("N1", 1, receive("A-01", "MUG", "10")))
        .unwrap();
    ledger
        .apply(&ev("N1", 2, receive("R-01", "MUG", "4")))
        .unwrap();
    // No master data yet: nothing can be promised.
    assert_eq!(ledger.available(&n, &s), Dec::ZERO);
    pickable(&mut ledger, "N1", "A-01");
    assert_eq!(ledger.available(&n, &s), dec("10"));
    ledger
        .apply(&ev(
            "N1",
            3,
            EventBody::StatusChange {
                place: Place::Location(loc("A-01")),
                stock: StockRef::plain(s.clone()),
                qty: qty("3"),
                from: StockStatus::Available,
                to: StockStatus::QualityHold,
                reason: ReasonCode::QualityHold,
            },
        ))
        .unwrap();
    assert_eq!(ledger.available(&n, &s), dec("7"));
    assert_eq!(ledger.held(&n, &s), dec("3"));
    assert_eq!(ledger.on_hand(&n, &s), dec("14"));
    ledger.reserve(&n, &s, &order("SO-1"), dec("5")).unwrap();
    assert_eq!(ledger.available(&n, &s), dec("2"));
    assert!(matches!(
        ledger.reserve(&n, &s, &order("SO-2"), dec("3")),
        Err(ReserveError::Insufficient { .. })
    ));
}

#[test]
fn a_pick_for_an_order_consumes_its_reservation() {
    let mut ledger = Ledger::new();
    let n = node("N1");
    let s = sku("MUG");
    pickable(&mut ledger, "N1", "A-01");
    ledger
        .apply(&ev("N1", 1, receive("A-01", "MUG", "10")))
        .unwrap();
    ledger.reserve(&n, &s, &order("SO-1"), dec("4")).unwrap();
    ledger
        .apply(&ev("N1", 2, pick("A-01", "MUG", "3", "T1", "SO-1")))
        .unwrap();
    assert_eq!(ledger.reserved_for(&n, &s, &order("SO-1")), dec("1"));
    assert_eq!(ledger.available(&n, &s), dec("6"));
}

#[test]
fn a_physical_loss_below_the_reserved_quantity_is_flagged() {
    let mut ledger = Ledger::new();
    let n = node("N1");
    let s = sku("MUG");
    pickable(&mut ledger, "N1", "A-01");
    ledger
        .apply(&ev("N1", 1, receive("A-01", "MUG", "5")))
        .unwrap();
    ledger.reserve(&n, &s, &order("SO-1"), dec("5")).unwrap();
    let applied = ledger
        .apply(&ev(
            "N1",
            2,
            EventBody::Adjust {
                place: Place::Location(loc("A-01")),
                stock: StockRef::plain(s.clone()),
                status: StockStatus::Available,
                delta: dec("-2"),
                reason: ReasonCode::Damaged,
                adjustment: None,
            },
        ))
        .unwrap();
    assert!(applied.flags.iter().any(|f| matches!(
        f,
        Flag::ReservedExceedsAvailable { reserved, available, .. } if *reserved == dec("5") && *available == dec("3")
    )));
    assert_eq!(ledger.available(&n, &s), dec("-2"));
}

#[test]
fn a_full_outbound_flow_ends_with_the_units_shipped_and_nothing_on_hand() {
    let mut ledger = Ledger::new();
    let line = PackLine {
        stock: StockRef::plain(sku("MUG")),
        qty: qty("3"),
    };
    let bodies = vec![
        receive("RCV-1", "MUG", "3"),
        EventBody::Move {
            from: Place::Location(loc("RCV-1")),
            to: Place::Location(loc("A-01")),
            stock: StockRef::plain(sku("MUG")),
            status: StockStatus::Available,
            qty: qty("3"),
            purpose: MovePurpose::Putaway,
            reason: None,
        },
        pick("A-01", "MUG", "3", "T1", "SO-1"),
        EventBody::Pack {
            from: tote("T1"),
            carton: tote("CTN-1"),
            order: order("SO-1"),
            lines: vec![line.clone()],
            measured_kg: Some(NonNegQty::from_str("1.3").unwrap()),
            expected_kg: Some(NonNegQty::from_str("1.25").unwrap()),
        },
        EventBody::Ship {
            container: tote("CTN-1"),
            order: order("SO-1"),
            sscc: Some("376104250021234569".into()),
            lines: vec![line],
        },
    ];
    for (i, body) in bodies.into_iter().enumerate() {
        ledger.apply(&ev("N1", i as u64 + 1, body)).unwrap();
    }
    assert_eq!(ledger.on_hand(&node("N1"), &sku("MUG")), Dec::ZERO);
    assert_eq!(ledger.balances().count(), 0);
    let totals = ledger.totals(&node("N1"), &sku("MUG"));
    assert_eq!((totals.received, totals.shipped), (dec("3"), dec("3")));
    ledger.check_conservation().unwrap();
}

#[test]
fn return_dispositions_restock_hold_or_remove_the_returned_units() {
    let mut ledger = Ledger::new();
    let rma = DocRef::new("RMA-1").unwrap();
    ledger
        .apply(&ev(
            "N1",
            1,
            EventBody::ReturnReceive {
                location: loc("RET-1"),
                stock: StockRef::plain(sku("MUG")),
                qty: qty("5"),
                rma: rma.clone(),
                order: None,
            },
        ))
        .unwrap();
    let dispositions = [
        Disposition::Restock { to: loc("A-01") },
        Disposition::Refurbish,
        Disposition::Quarantine,
        Disposition::VendorReturn,
        Disposition::WriteOff,
    ];
    for (i, disposition) in dispositions.into_iter().enumerate() {
        ledger
            .apply(&ev(
                "N1",
                i as u64 + 2,
                EventBody::Disposition {
                    location: loc("RET-1"),
                    stock: StockRef::plain(sku("MUG")),
                    qty: qty("1"),
                    disposition,
                    rma: rma.clone(),
                },
            ))
            .unwrap();
    }
    let n = node("N1");
    let s = sku("MUG");
    assert_eq!(ledger.on_hand(&n, &s), dec("3"));
    assert_eq!(ledger.held(&n, &s), dec("2"));
    let t = ledger.totals(&n, &s);
    assert_eq!(
        (t.returned, t.vendor_returned, t.written_off),
        (dec("5"), dec("1"), dec("1"))
    );
    ledger.check_conservation().unwrap();
}

#[test]
fn a_count_applies_the_variance_the_operator_saw() {
    let mut ledger = Ledger::new();
    ledger
        .apply(&ev("N1", 1, receive("A-01", "MUG", "10")))
        .unwrap();
    ledger
        .apply(&ev(
            "N1",
            2,
            EventBody::CountResult {
                location: loc("A-01"),
                stock: StockRef::plain(sku("MUG")),
                status: StockStatus::Available,
                counted: NonNegQty::from_str("8").unwrap(),
                expected: NonNegQty::from_str("10").unwrap(),
            },
        ))
        .unwrap();
    assert_eq!(ledger.on_hand(&node("N1"), &sku("MUG")), dec("8"));
    assert_eq!(
        ledger.totals(&node("N1"), &sku("MUG")).adjusted_down,
        dec("2")
    );
    ledger.check_conservation().unwrap();
}

#[test]
fn no_float_type_appears_in_the_domain_or_ledger_source() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stack = vec![root.join("domain"), root.join("ledger")];
    let mut checked = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                // Built at run time so this file does not match itself.
                let words = [32, 64].map(|bits| format!("f{bits}"));
                for word in words
                    .iter()
                    .chain([format!("from_f{}", 64), format!("to_f{}", 64)].iter())
                {
                    let found = text
                        .split(|c: char| !c.is_alphanumeric() && c != '_')
                        .any(|token| token == word);
                    assert!(!found, "{} uses {word}", path.display());
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "only {checked} files checked");
}

// ---- property tests -------------------------------------------------------------------

const NODES: [&str; 2] = ["N1", "N2"];
const LOCS: [&str; 4] = ["RCV-1", "A-01", "A-02", "RET-1"];
pub(super) const SKUS: [&str; 2] = ["MUG", "CUP"];
const TOTES: [&str; 3] = ["T1", "T2", "CTN-1"];

fn small_qty() -> impl Strategy<Value = Qty> {
    (1i64..50, 0u32..3).prop_map(|(m, scale)| {
        Qty::new(Dec::new(rust_decimal::Decimal::new(m, scale)).unwrap()).unwrap()
    })
}
fn a_loc() -> impl Strategy<Value = LocationCode> {
    prop::sample::select(&LOCS[..]).prop_map(loc)
}
fn a_stock() -> impl Strategy<Value = StockRef> {
    (
        prop::sample::select(&SKUS[..]),
        prop::option::of(prop::sample::select(vec!["L1", "L2"])),
    )
        .prop_map(|(s, lot)| StockRef {
            sku: sku(s),
            lot: lot.map(|l| crate::domain::Lot::new(l).unwrap()),
            serial: None,
            expiry: None,
        })
}
fn a_tote() -> impl Strategy<Value = ContainerId> {
    prop::sample::select(&TOTES[..]).prop_map(tote)
}
fn a_place() -> impl Strategy<Value = Place> {
    prop_oneof![
        a_loc().prop_map(Place::Location),
        a_tote().prop_map(Place::Container)
    ]
}
fn a_status() -> impl Strategy<Value = StockStatus> {
    prop::sample::select(&StockStatus::ALL[..])
}
pub(super) fn an_order() -> impl Strategy<Value = OrderRef> {
    prop::sample::select(vec!["SO-1", "SO-2"]).prop_map(order)
}
fn a_disposition() -> impl Strategy<Value = Disposition> {
    prop_oneof![
        a_loc().prop_map(|to| Disposition::Restock { to }),
        Just(Disposition::Refurbish),
        Just(Disposition::Quarantine),
        Just(Disposition::VendorReturn),
        Just(Disposition::WriteOff),
    ]
}
fn a_body() -> impl Strategy<Value = EventBody> {
    prop_oneof![
        3 => (a_loc(), a_stock(), small_qty(), a_status()).prop_map(|(location, stock, qty, status)| EventBody::Receive { location, stock, qty, status, inbound: None }),
        2 => (a_place(), a_place(), a_stock(), a_status(), small_qty()).prop_map(|(from, to, stock, status, qty)| EventBody::Move { from, to, stock, status, qty, purpose: MovePurpose::Internal, reason: None }),
        2 => (a_loc(), a_tote(), a_stock(), small_qty(), an_order()).prop_map(|(from, to, stock, qty, order)| EventBody::Pick { from, to, stock, qty, order }),
        1 => (a_loc(), a_stock(), small_qty(), an_order()).prop_map(|(location, stock, expected, order)| EventBody::ShortPick { location, stock, expected, picked: NonNegQty::new(Dec::ZERO).unwrap(), order }),
        1 => (a_tote(), a_tote(), an_order(), a_stock(), small_qty()).prop_map(|(from, carton, order, stock, qty)| EventBody::Pack { from, carton, order, lines: vec![PackLine { stock, qty }], measured_kg: None, expected_kg: None }),
        1 => (a_tote(), an_order(), a_stock(), small_qty()).prop_map(|(container, order, stock, qty)| EventBody::Ship { container, order, sscc: None, lines: vec![PackLine { stock, qty }] }),
        1 => (a_place(), a_stock(), a_status(), -20i64..20).prop_map(|(place, stock, status, d)| EventBody::Adjust { place, stock, status, delta: Dec::from_int(d).unwrap(), reason: ReasonCode::Correction, adjustment: None }),
        1 => (a_loc(), a_stock(), a_status(), 0i64..20, 0i64..20).prop_map(|(location, stock, status, c, e)| EventBody::CountResult { location, stock, status, counted: NonNegQty::new(Dec::from_int(c).unwrap()).unwrap(), expected: NonNegQty::new(Dec::from_int(e).unwrap()).unwrap() }),
        1 => (a_loc(), a_stock(), small_qty()).prop_map(|(location, stock, qty)| EventBody::ReturnReceive { location, stock, qty, rma: DocRef::new("RMA-1").unwrap(), order: None }),
        1 => (a_loc(), a_stock(), small_qty(), a_disposition()).prop_map(|(location, stock, qty, disposition)| EventBody::Disposition { location, stock, qty, disposition, rma: DocRef::new("RMA-1").unwrap() }),
        1 => (a_place(), a_stock(), small_qty(), a_status(), a_status()).prop_map(|(place, stock, qty, from, to)| EventBody::StatusChange { place, stock, qty, from, to, reason: ReasonCode::QualityHold }),
        1 => (a_place(), a_stock(), a_status(), small_qty()).prop_map(|(from, stock, status, qty)| EventBody::TransferOut { from, stock, status, qty, to_node: node("N9") }),
        1 => (a_loc(), a_stock(), small_qty()).prop_map(|(to, stock, qty)| EventBody::TransferIn { to, stock, qty, from_node: node("N9") }),
    ]
}

/// Numbers valid events per node with gapless sequences (invalid bodies are dropped).
fn streams(bodies: Vec<(usize, EventBody)>) -> Vec<Event> {
    let mut next = [1u64; NODES.len()];
    let mut out = Vec::new();
    for (n, body) in bodies {
        let e = ev(NODES[n], next[n], body);
        if e.validate().is_ok() {
            next[n] += 1;
            out.push(e);
        }
    }
    out
}

pub(super) fn events() -> impl Strategy<Value = Vec<Event>> {
    prop::collection::vec((0..NODES.len(), a_body()), 0..80).prop_map(streams)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn quantities_are_conserved_over_any_event_sequence(events in events()) {
        let mut ledger = Ledger::new();
        pickable(&mut ledger, "N1", "A-01");
        for e in &events {
            ledger.apply(e).unwrap();
            ledger.check_conservation().unwrap();
        }
    }

    #[test]
    fn replaying_the_same_events_in_the_same_order_gives_identical_state(events in events()) {
        let mut a = Ledger::new();
        let mut b = Ledger::new();
        for e in &events {
            let ra = a.apply(e);
            let rb = b.apply(e);
            prop_assert_eq!(ra, rb);
        }
        prop_assert_eq!(a, b);
    }

    #[test]
    fn every_event_applied_a_second_time_is_a_detected_duplicate(events in events()) {
        let mut ledger = Ledger::new();
        for e in &events {
            ledger.apply(e).unwrap();
        }
        let settled = ledger.clone();
        for e in &events {
            let duplicate = matches!(ledger.apply(e), Err(ApplyError::Duplicate { .. }));
            prop_assert!(duplicate);
        }
        prop_assert_eq!(ledger, settled);
    }

    #[test]
    fn any_interleaving_of_node_streams_gives_the_same_state(events in events(), seed in any::<u64>()) {
        // Re-interleave: keep each node's order, shuffle which node goes next.
        let mut per_node: Vec<std::collections::VecDeque<Event>> = vec![Default::default(); NODES.len()];
        for e in &events {
            let i = NODES.iter().position(|n| *n == e.id.node.as_str()).unwrap();
            per_node[i].push_back(e.clone());
        }
        let mut state = seed;
        let mut shuffled = Vec::new();
        while per_node.iter().any(|q| !q.is_empty()) {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let i = (state >> 33) as usize % NODES.len();
            if let Some(e) = per_node[i].pop_front() { shuffled.push(e); }
        }
        let mut a = Ledger::new();
        let mut b = Ledger::new();
        for e in &events { a.apply(e).unwrap(); }
        for e in &shuffled { b.apply(e).unwrap(); }
        prop_assert_eq!(a, b);
    }

    #[test]
    fn negative_balances_are_exactly_the_lines_below_zero(events in events()) {
        let mut ledger = Ledger::new();
        for e in &events {
            ledger.apply(e).unwrap();
        }
        let below: Vec<&StockKey> = ledger.balances().filter(|(_, q)| q.is_negative()).map(|(k, _)| k).collect();
        let flagged: Vec<&StockKey> = ledger.negative_balances().collect();
        prop_assert_eq!(below, flagged);
    }

    #[test]
    fn reservations_never_exceed_what_was_available(
        events in events(),
        requests in prop::collection::vec((prop::sample::select(&SKUS[..]), an_order(), 1i64..15), 0..20),
    ) {
        let mut ledger = Ledger::new();
        pickable(&mut ledger, "N1", "A-01");
        pickable(&mut ledger, "N1", "A-02");
        for e in &events {
            ledger.apply(e).unwrap();
        }
        let n = node("N1");
        for (s, o, q) in requests {
            let s = sku(s);
            let before = ledger.available(&n, &s);
            let q = Dec::from_int(q).unwrap();
            match ledger.reserve(&n, &s, &o, q) {
                Ok(()) => {
                    prop_assert!(q <= before);
                    prop_assert_eq!(ledger.available(&n, &s), before.checked_sub(q).unwrap());
                }
                Err(_) => prop_assert_eq!(ledger.available(&n, &s), before),
            }
            prop_assert!(ledger.reserved(&n, &s) <= ledger.pickable_on_hand(&n, &s).max(ledger.reserved(&n, &s)));
        }
    }

    #[test]
    fn a_ledger_restored_from_its_parts_equals_the_original(events in events()) {
        let mut ledger = Ledger::new();
        pickable(&mut ledger, "N1", "A-01");
        for e in &events {
            ledger.apply(e).unwrap();
        }
        let restored = Ledger::restore(
            ledger.locations().map(|(n, c, i)| (n.clone(), c.clone(), i.clone())),
            ledger.balances().map(|(k, q)| (k.clone(), q)),
            ledger.all_totals().map(|(n, s, t)| (n.clone(), s.clone(), *t)),
            NODES.iter().map(|n| (node(n), ledger.applied_seq(&node(n)))).filter(|(_, s)| *s > 0),
        );
        prop_assert_eq!(restored, ledger);
    }

    #[test]
    fn the_lines_at_a_place_are_those_a_full_scan_finds(events in events()) {
        let mut ledger = Ledger::new();
        pickable(&mut ledger, "N1", "A-01");
        for e in &events {
            ledger.apply(e).unwrap();
        }
        let mut places: Vec<Place> = ledger.balances().map(|(k, _)| k.place.clone()).collect();
        places.push(Place::Location(loc("Z-99")));
        for n in NODES {
            for place in &places {
                let scanned: Vec<(&StockKey, Dec)> = ledger
                    .balances()
                    .filter(|(k, _)| k.node == node(n) && &k.place == place)
                    .collect();
                prop_assert_eq!(ledger.balances_at(&node(n), place), scanned);
            }
        }
    }

    #[test]
    fn the_pickable_index_matches_a_full_recount(events in events(), flip in any::<bool>()) {
        let mut ledger = Ledger::new();
        pickable(&mut ledger, "N1", "A-01");
        for e in &events {
            ledger.apply(e).unwrap();
        }
        if flip {
            ledger.set_location(&node("N1"), &loc("A-01"), LocationInfo { kind: LocationKind::Reserve, pickable: false, capacity: None });
            pickable(&mut ledger, "N1", "A-02");
        }
        for s in SKUS {
            let recount = ledger
                .balances()
                .filter(|(k, _)| k.node == node("N1") && k.stock.sku == sku(s) && k.status == StockStatus::Available)
                .filter(|(k, _)| matches!(&k.place, Place::Location(c) if ledger.location(&k.node, c).is_some_and(|i| i.pickable)))
                .fold(Dec::ZERO, |a, (_, q)| a.checked_add(q).unwrap());
            prop_assert_eq!(ledger.pickable_on_hand(&node("N1"), &sku(s)), recount);
        }
    }

    #[test]
    fn the_on_hand_index_matches_a_full_recount_of_the_balance_lines(events in events()) {
        let mut ledger = Ledger::new();
        pickable(&mut ledger, "N1", "A-01");
        for e in &events {
            ledger.apply(e).unwrap();
            for n in NODES {
                for s in SKUS {
                    let recount = ledger
                        .balances()
                        .filter(|(k, _)| k.node == node(n) && k.stock.sku == sku(s))
                        .fold(Dec::ZERO, |a, (_, q)| a.checked_add(q).unwrap());
                    prop_assert_eq!(ledger.on_hand(&node(n), &sku(s)), recount);
                }
            }
        }
    }
}
