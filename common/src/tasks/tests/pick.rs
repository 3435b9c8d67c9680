#![allow(clippy::unwrap_used)]

use super::world::*;
use crate::domain::{EventBody, StockRef};
use crate::tasks::{ErrorCode, ExpectScan, TaskKind, TaskStatus};

fn two_line_pick() -> Driver {
    let mut v = world();
    stock(&mut v, "MUG-BLUE", "A-01-01", "10");
    stock(&mut v, "PEN", "A-01-02", "2");
    let mut t = task(
        "PICK-1",
        TaskKind::Pick,
        vec![
            line("MUG-BLUE", "3", Some("A-01-01")),
            line("PEN", "4", Some("A-01-02")),
        ],
    );
    t.order = Some(order("SO-5001"));
    v.put_spec(t);
    let mut dr = Driver::new(v, "hh-1", &[TaskKind::Pick]);
    dr.ok("U:op-17");
    dr
}

#[test]
fn a_pick_goes_tote_location_item_confirm_short_and_tote() {
    let mut dr = two_line_pick();
    assert_eq!(dr.expect_scan(), ExpectScan::Container);
    dr.ok("T:TOTE-9");
    assert_eq!(dr.expect_scan(), ExpectScan::Location);
    dr.ok("L:A-01-01");
    assert_eq!(dr.expect_scan(), ExpectScan::Item);
    dr.ok(&mug_each());
    assert_eq!(dr.expect_scan(), ExpectScan::QuantityOrConfirm);
    dr.ok("Q:3");
    let ev = dr.ok("C:CONFIRM");
    assert_eq!(
        ev,
        vec![EventBody::Pick {
            from: loc("A-01-01"),
            to: tote("TOTE-9"),
            stock: StockRef::plain(sku("MUG-BLUE")),
            qty: q("3"),
            order: order("SO-5001"),
        }]
    );
    dr.ok("L:A-01-02");
    dr.ok(&pen_each());
    dr.ok(&pen_each());
    let ev = dr.ok("C:SHORT");
    assert_eq!(ev.len(), 2);
    assert!(matches!(&ev[0], EventBody::Pick { qty, .. } if *qty == q("2")));
    assert!(
        matches!(&ev[1], EventBody::ShortPick { expected, picked, .. } if *expected == q("4") && *picked == nn("2"))
    );
    assert_eq!(dr.expect_scan(), ExpectScan::Container);
    dr.rejected("T:TOTE-8", ErrorCode::WrongContainer);
    dr.ok("T:TOTE-9");
    assert_eq!(
        dr.view.task(&tid("PICK-1")).map(|r| r.progress.status),
        Some(TaskStatus::Done)
    );
    assert_eq!(at(&dr.view, "MUG-BLUE", "A-01-01"), d("7"));
    assert_eq!(at(&dr.view, "PEN", "A-01-02"), d("0"));
}

#[test]
fn finishing_a_pick_creates_the_pack_task_for_the_tote_with_what_was_picked() {
    let mut dr = two_line_pick();
    dr.ok("T:TOTE-9");
    dr.ok("L:A-01-01");
    dr.ok(&mug_each());
    dr.ok("Q:3");
    dr.ok("C:CONFIRM");
    dr.ok("L:A-01-02");
    dr.ok(&pen_each());
    dr.ok("C:SHORT");
    assert!(
        dr.view.task(&tid("PICK-1-PACK")).is_none(),
        "not before the tote is scanned"
    );
    dr.ok("T:TOTE-9");
    let pack = dr.view.task(&tid("PICK-1-PACK")).unwrap();
    assert_eq!(pack.spec.kind, TaskKind::Pack);
    assert_eq!(pack.spec.order, Some(order("SO-5001")));
    assert_eq!(pack.spec.container, Some(tote("TOTE-9")));
    let lines: Vec<(String, String)> = pack
        .spec
        .lines
        .iter()
        .map(|l| (l.sku.to_string(), l.qty.to_string()))
        .collect();
    assert_eq!(
        lines,
        vec![("MUG-BLUE".into(), "3".into()), ("PEN".into(), "1".into())],
        "the short line packs what was found"
    );
    assert_eq!(pack.progress.status, TaskStatus::Open);
}

#[test]
fn a_pick_short_with_nothing_found_creates_no_pack_task() {
    let mut v = world();
    stock(&mut v, "MUG-BLUE", "A-01-01", "10");
    let mut t = task(
        "PICK-2",
        TaskKind::Pick,
        vec![line("MUG-BLUE", "3", Some("A-01-01"))],
    );
    t.order = Some(order("SO-5002"));
    v.put_spec(t);
    let mut dr = Driver::new(v, "hh-1", &[TaskKind::Pick]);
    dr.ok("U:op-17");
    dr.ok("T:TOTE-3");
    dr.ok("L:A-01-01");
    dr.ok("C:SHORT");
    dr.ok("T:TOTE-3");
    assert!(dr.view.task(&tid("PICK-2-PACK")).is_none());
}

#[test]
fn a_wrong_location_is_rejected_naming_both_locations() {
    let mut dr = two_line_pick();
    dr.ok("T:TOTE-9");
    let msg = dr.rejected("L:A-01-03", ErrorCode::WrongLocation);
    assert_eq!(msg, "Wrong location: scan A-01-01, you scanned A-01-03");
    dr.rejected("L:Z-99", ErrorCode::UnknownLocation);
}

#[test]
fn a_wrong_item_is_rejected_and_changes_nothing() {
    let mut dr = two_line_pick();
    dr.ok("T:TOTE-9");
    dr.ok("L:A-01-01");
    let msg = dr.rejected(&pen_each(), ErrorCode::WrongItem);
    assert!(msg.contains("pick MUG-BLUE"), "{msg}");
    dr.rejected("0950110153999", ErrorCode::UnknownBarcode);
}

#[test]
fn picking_more_than_the_line_asks_is_rejected() {
    let mut dr = two_line_pick();
    dr.ok("T:TOTE-9");
    dr.ok("L:A-01-01");
    dr.ok(&mug_each());
    dr.rejected(&mug_case(), ErrorCode::OverPick);
    dr.rejected("Q:4", ErrorCode::OverPick);
}

#[test]
fn picking_more_than_the_book_shows_is_rejected_in_favour_of_a_short() {
    let mut dr = two_line_pick();
    dr.ok("T:TOTE-9");
    dr.ok("L:A-01-01");
    dr.ok(&mug_each());
    dr.ok("Q:3");
    dr.ok("C:CONFIRM");
    dr.ok("L:A-01-02");
    dr.ok(&pen_each());
    dr.ok(&pen_each());
    dr.rejected(&pen_each(), ErrorCode::InsufficientStock);
}

#[test]
fn confirm_before_the_line_is_complete_is_rejected() {
    let mut dr = two_line_pick();
    dr.ok("T:TOTE-9");
    dr.ok("L:A-01-01");
    dr.rejected("C:CONFIRM", ErrorCode::NothingToConfirm);
    dr.ok(&mug_each());
    dr.rejected("C:CONFIRM", ErrorCode::PickIncomplete);
}

#[test]
fn a_repeated_confirm_adds_nothing() {
    let mut dr = two_line_pick();
    dr.ok("T:TOTE-9");
    dr.ok("L:A-01-01");
    dr.ok(&mug_each());
    dr.ok("Q:3");
    assert_eq!(dr.ok("C:CONFIRM").len(), 1);
    dr.rejected("C:CONFIRM", ErrorCode::UnexpectedScan);
    assert_eq!(at(&dr.view, "MUG-BLUE", "A-01-01"), d("7"));
}

#[test]
fn a_quantity_before_any_item_is_rejected() {
    let mut dr = two_line_pick();
    dr.ok("T:TOTE-9");
    dr.ok("L:A-01-01");
    dr.rejected("Q:2", ErrorCode::QuantityWithoutItem);
}

#[test]
fn cancel_drops_the_unconfirmed_scans_of_a_line() {
    let mut dr = two_line_pick();
    dr.ok("T:TOTE-9");
    dr.ok("L:A-01-01");
    dr.ok(&mug_each());
    dr.ok("Q:2");
    assert!(dr.ok("C:CANCEL").is_empty());
    dr.rejected("Q:3", ErrorCode::QuantityWithoutItem);
    assert_eq!(dr.expect_scan(), ExpectScan::Item);
}

#[test]
fn a_pick_into_a_task_tote_starts_at_the_first_location() {
    let mut v = world();
    stock(&mut v, "PEN", "A-01-02", "2");
    let mut t = task(
        "PICK-2",
        TaskKind::Pick,
        vec![line("PEN", "1", Some("A-01-02"))],
    );
    t.order = Some(order("SO-2"));
    t.container = Some(tote("TOTE-2"));
    v.put_spec(t);
    let mut dr = Driver::new(v, "hh-1", &[TaskKind::Pick]);
    dr.ok("U:op-17");
    assert_eq!(dr.expect_scan(), ExpectScan::Location);
}

#[test]
fn a_confirm_after_another_station_took_the_stock_is_rejected_so_the_book_stays_positive() {
    use crate::domain::StationId;
    use crate::scan_payload::classify_payload;
    use crate::tasks::{Input, Station, StationConfig};
    let mut v = world();
    stock(&mut v, "PEN", "A-01-02", "2");
    for (id, o) in [("PICK-A", "SO-A"), ("PICK-B", "SO-B")] {
        let mut t = task(id, TaskKind::Pick, vec![line("PEN", "2", Some("A-01-02"))]);
        t.order = Some(order(o));
        t.container = Some(tote(&format!("TOTE-{o}")));
        v.put_spec(t);
    }
    let mut a = Station::new(StationConfig::new(
        StationId::new("hh-a").unwrap(),
        vec![TaskKind::Pick],
    ));
    let mut b = Station::new(StationConfig::new(
        StationId::new("hh-b").unwrap(),
        vec![TaskKind::Pick],
    ));
    let mut now = T0;
    let mut run = |s: &mut Station, v: &mut crate::tasks::InMemoryView, text: &str| {
        now += 1;
        let input = Input::Scan(classify_payload(text.as_bytes()).unwrap());
        let out = s.handle(v, input, now);
        if let Some(acc) = out.accepted() {
            v.apply_accepted(acc, now).unwrap();
        }
        out
    };
    let pen = pen_each();
    for text in ["U:a", "L:A-01-02", pen.as_str(), pen.as_str()] {
        assert!(run(&mut a, &mut v, text).accepted().is_some(), "{text}");
    }
    for text in ["U:b", "L:A-01-02", pen.as_str(), pen.as_str(), "C:CONFIRM"] {
        assert!(run(&mut b, &mut v, text).accepted().is_some(), "{text}");
    }
    let out = run(&mut a, &mut v, "C:CONFIRM");
    assert_eq!(
        out.error().map(|e| e.code),
        Some(ErrorCode::InsufficientStock)
    );
    assert!(run(&mut a, &mut v, "C:CANCEL").accepted().is_some());
    assert!(run(&mut a, &mut v, "C:SHORT").accepted().is_some());
    assert_eq!(at(&v, "PEN", "A-01-02"), d("0"));
    assert_eq!(v.ledger().negative_balances().count(), 0);
}
