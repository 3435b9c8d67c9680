//! The undo journal and the approval holds (journal.rs, reserve.rs).

#![allow(clippy::unwrap_used)]

use super::tests::{an_order, dec, ev, events, key, node, pickable, receive, sku, SKUS};
use super::*;
use proptest::prelude::*;

#[test]
fn a_hold_takes_its_quantity_out_of_availability_until_it_ends() {
    let mut ledger = Ledger::new();
    pickable(&mut ledger, "N1", "A-01");
    ledger
        .apply(&ev("N1", 1, receive("A-01", "MUG", "30")))
        .unwrap();
    let (n, s) = (node("N1"), sku("MUG"));
    ledger.hold(&n, &s, 7, dec("29"));
    assert_eq!(ledger.available(&n, &s), dec("1"));
    assert_eq!(
        ledger.pickable_on_hand(&n, &s),
        dec("30"),
        "the units are on hand"
    );
    let refused = ledger.reserve(&n, &s, &OrderRef::new("SO-1").unwrap(), dec("2"));
    assert!(
        matches!(refused, Err(ReserveError::Insufficient { .. })),
        "{refused:?}"
    );
    assert_eq!(ledger.unhold(&n, &s, 7), dec("29"));
    assert_eq!(ledger.available(&n, &s), dec("30"));
    assert_eq!(ledger.unhold(&n, &s, 7), Dec::ZERO, "a hold ends once");
}

#[test]
fn the_journal_lists_the_keys_an_event_changed() {
    let mut ledger = Ledger::new();
    pickable(&mut ledger, "N1", "A-01");
    ledger.start_journal();
    ledger
        .apply(&ev("N1", 1, receive("A-01", "MUG", "3")))
        .unwrap();
    let changes = ledger.take_changes();
    assert_eq!(
        changes.balances.into_iter().collect::<Vec<_>>(),
        vec![key(
            "N1",
            Place::Location(LocationCode::new("A-01").unwrap()),
            "MUG",
            StockStatus::Available
        )]
    );
    assert!(changes.applied.contains(&node("N1")));
    assert!(changes.stock.contains(&(node("N1"), sku("MUG"))));
    assert!(ledger.take_changes().is_empty(), "taken once");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn rolling_back_to_a_mark_restores_the_ledger_exactly(
        before in events(),
        after in events(),
        requests in prop::collection::vec((prop::sample::select(&SKUS[..]), an_order(), 1i64..15, any::<bool>()), 0..10),
    ) {
        let mut ledger = Ledger::new();
        pickable(&mut ledger, "N1", "A-01");
        for e in &before {
            ledger.apply(e).unwrap();
        }
        ledger.start_journal();
        let snapshot = ledger.clone();
        let mark = ledger.journal_mark();
        let n = node("N1");
        // Streams of `after` continue where `before` stopped, or are refused as duplicates.
        for e in &after {
            let _ = ledger.apply(e);
        }
        pickable(&mut ledger, "N1", "A-02");
        for (i, (s, o, q, hold)) in requests.into_iter().enumerate() {
            let s = sku(s);
            let q = Dec::from_int(q).unwrap();
            if hold {
                ledger.hold(&n, &s, i as u64, q);
            } else {
                let _ = ledger.reserve(&n, &s, &o, q);
                let _ = ledger.release_part(&n, &s, &o, Dec::ONE);
            }
        }
        ledger.rollback_to(mark);
        prop_assert_eq!(&ledger, &snapshot);
        prop_assert_eq!(
            ledger.negative_balances().collect::<Vec<_>>(),
            snapshot.negative_balances().collect::<Vec<_>>()
        );
        for s in SKUS {
            prop_assert_eq!(ledger.available(&n, &sku(s)), snapshot.available(&n, &sku(s)));
        }
    }

    #[test]
    fn the_changed_keys_hold_exactly_the_lines_that_differ(before in events(), after in events()) {
        let mut ledger = Ledger::new();
        pickable(&mut ledger, "N1", "A-01");
        for e in &before {
            ledger.apply(e).unwrap();
        }
        let snapshot = ledger.clone();
        ledger.start_journal();
        for e in &after {
            let _ = ledger.apply(e);
        }
        let changes = ledger.take_changes();
        let mut differ: Vec<&StockKey> = ledger
            .balances()
            .map(|(k, _)| k)
            .chain(snapshot.balances().map(|(k, _)| k))
            .filter(|k| ledger.balance(k) != snapshot.balance(k))
            .collect();
        differ.sort();
        differ.dedup();
        for k in differ {
            prop_assert!(changes.balances.contains(k), "{k:?} changed but is not listed");
        }
    }
}
