#![allow(clippy::unwrap_used)]

use super::world::*;
use crate::domain::{Date, EventBody, Lot, StockRef, StockStatus};
use crate::tasks::{ErrorCode, ExpectScan, TaskKind, TaskStatus};

fn asn() -> Driver {
    let mut v = world();
    let mut t = task(
        "RCV-1",
        TaskKind::Receive,
        vec![line("MUG-BLUE", "24", None), line("PILL", "2", None)],
    );
    t.doc = Some(doc("ASN-1001"));
    v.put_spec(t);
    let mut dr = Driver::new(v, "hh-1", &[TaskKind::Receive]);
    dr.ok("U:op-1");
    dr
}

#[test]
fn a_receipt_against_a_notice_records_receive_events_and_creates_putaway_tasks() {
    let mut dr = asn();
    assert_eq!(dr.expect_scan(), ExpectScan::Item);
    dr.ok(&mug_case());
    dr.ok(&mug_case());
    assert_eq!(dr.expect_scan(), ExpectScan::QuantityOrConfirm);
    let ev = dr.ok("C:CONFIRM");
    assert_eq!(
        ev,
        vec![EventBody::Receive {
            location: loc("DOCK-1"),
            stock: StockRef::plain(sku("MUG-BLUE")),
            qty: q("24"),
            status: StockStatus::Available,
            inbound: Some(doc("ASN-1001")),
        }]
    );
    assert!(dr.view.task(&tid("RCV-1-PA1")).is_some());
    dr.ok(&pill("L42"));
    dr.ok("Q:2");
    let ev = dr.ok("C:CONFIRM");
    let EventBody::Receive { stock, qty, .. } = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!(stock.lot, Some(Lot::new("L42").unwrap()));
    assert_eq!(stock.expiry, Some(Date::new(2027, 12, 31).unwrap()));
    assert_eq!(*qty, q("2"));
    assert_eq!(
        dr.view.task(&tid("RCV-1")).map(|r| r.progress.status),
        Some(TaskStatus::Done)
    );
    assert_eq!(at(&dr.view, "MUG-BLUE", "DOCK-1"), d("24"));
}

#[test]
fn over_receipt_against_a_notice_is_rejected() {
    let mut dr = asn();
    dr.ok(&mug_case());
    dr.ok(&mug_case());
    let msg = dr.rejected(&mug_each(), ErrorCode::OverReceipt);
    assert!(msg.contains("ASN-1001 expects 24 of MUG-BLUE"), "{msg}");
    dr.rejected("Q:3", ErrorCode::OverReceipt);
}

#[test]
fn an_item_not_on_the_notice_is_rejected() {
    let mut dr = asn();
    let msg = dr.rejected(&pen_each(), ErrorCode::WrongItem);
    assert!(msg.contains("PEN is not on ASN-1001"), "{msg}");
}

#[test]
fn a_lot_controlled_item_without_a_lot_is_rejected() {
    let mut dr = asn();
    dr.rejected(&pill_each(), ErrorCode::LotRequired);
    let no_expiry = format!("]C101{}10L1", pill_each());
    dr.rejected(&no_expiry, ErrorCode::ExpiryRequired);
}

#[test]
fn a_notice_closes_short_with_the_short_command() {
    let mut dr = asn();
    dr.rejected("C:CONFIRM", ErrorCode::NothingToConfirm);
    dr.ok(&mug_case());
    dr.rejected("C:SHORT", ErrorCode::UnconfirmedScans);
    dr.ok("C:CONFIRM");
    dr.ok("C:SHORT");
    assert_eq!(
        dr.view.task(&tid("RCV-1")).map(|r| r.progress.status),
        Some(TaskStatus::Done)
    );
}

#[test]
fn a_product_scan_with_no_task_starts_a_blind_receipt() {
    let mut dr = Driver::new(world(), "hh-1", &[TaskKind::Receive, TaskKind::Putaway]);
    dr.ok("U:op-1");
    assert_eq!(dr.expect_scan(), ExpectScan::Task);
    dr.ok(&mug_each());
    let blind = dr.station.work().unwrap().record.spec.clone();
    assert!(blind.blind);
    dr.ok(&phone("SN1"));
    dr.rejected(&phone("SN1"), ErrorCode::DuplicateSerial);
    dr.rejected("Q:2", ErrorCode::SerialQuantity);
    dr.ok(&phone("SN2"));
    let ev = dr.ok("C:CONFIRM");
    assert_eq!(ev.len(), 3);
    assert!(ev
        .iter()
        .all(|e| matches!(e, EventBody::Receive { inbound: None, .. })));
    dr.ok("C:CONFIRM");
    let r = dr.view.task(&blind.id).unwrap();
    assert_eq!(r.progress.status, TaskStatus::Done);
    assert!(r.progress.finished_at_ms.is_some(), "{r:?}");
    assert_eq!(r.spec.lines.len(), 3);
    // The three putaway tasks wait for a station.
    assert_eq!(dr.view.open_tasks_of(TaskKind::Putaway).len(), 3);
}

#[test]
fn a_blind_receipt_without_a_dock_asks_for_the_receiving_location() {
    let mut v = Driver::new(world(), "hh-2", &[TaskKind::Receive]);
    let mut config = v.station.config().clone();
    config.receiving_location = None;
    v.station = crate::tasks::Station::new(config);
    v.ok("U:op-1");
    v.ok(&mug_each());
    v.ok("C:CONFIRM");
    assert_eq!(v.expect_scan(), ExpectScan::Location);
    v.rejected("L:A-01-01", ErrorCode::WrongLocation);
    let ev = v.ok("L:DOCK-1");
    assert_eq!(ev.len(), 1);
}

#[test]
fn a_label_naming_its_contents_by_02_and_37_receives_that_many_in_one_scan() {
    let mut dr = asn();
    // A pallet label: (02) the mug case GTIN (12 each), (37) two cases.
    dr.ok(&format!("]C102{}372", mug_case()));
    let ev = dr.ok("C:CONFIRM");
    let EventBody::Receive { stock, qty, .. } = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!(stock.sku, sku("MUG-BLUE"));
    assert_eq!(*qty, q("24"));
    // Lot and expiry on the same label are captured as on an item barcode.
    dr.ok(&format!("]C102{}17271231372\u{1d}10L9", pill_each()));
    let ev = dr.ok("C:CONFIRM");
    let EventBody::Receive { stock, qty, .. } = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!(stock.lot, Some(Lot::new("L9").unwrap()));
    assert_eq!(*qty, q("2"));
}

#[test]
fn a_contents_label_without_a_count_or_with_a_zero_count_is_refused() {
    let mut dr = asn();
    let no_count = dr.rejected(&format!("]C102{}", mug_case()), ErrorCode::UnknownBarcode);
    assert!(no_count.contains("(37)"), "{no_count}");
    let zero = dr.rejected(
        &format!("]C102{}370", mug_case()),
        ErrorCode::InvalidQuantity,
    );
    assert!(zero.contains("(37)"), "{zero}");
}

#[test]
fn a_contents_label_of_a_serial_controlled_item_asks_for_each_serial() {
    let mut dr = Driver::new(world(), "hh-1", &[TaskKind::Receive]);
    dr.ok("U:op-1");
    dr.rejected(
        &format!("]C102{}375", phone_each()),
        ErrorCode::SerialRequired,
    );
    dr.rejected(
        &format!("]C102{}375\u{1d}21SN-1", phone_each()),
        ErrorCode::SerialQuantity,
    );
}

#[test]
fn a_blind_receipt_worked_all_shift_keeps_its_newest_lines_and_records_every_receipt() {
    use crate::tasks::receive::MAX_BLIND_LINES;
    let mut dr = Driver::new(world(), "hh-1", &[TaskKind::Receive]);
    dr.ok("U:op-1");
    let mut receipts = 0;
    for i in 0..(MAX_BLIND_LINES + 20) {
        dr.ok(&mug_each());
        dr.ok(&format!("Q:{}", i + 1));
        receipts += dr
            .ok("C:CONFIRM")
            .iter()
            .filter(|e| matches!(e, EventBody::Receive { .. }))
            .count();
    }
    assert_eq!(receipts, MAX_BLIND_LINES + 20);
    let record = &dr.station.work().unwrap().record;
    assert_eq!(record.spec.lines.len(), MAX_BLIND_LINES);
    assert_eq!(record.progress.lines.len(), MAX_BLIND_LINES);
    // The newest line is the last receipt; the oldest kept is receipt 21.
    assert_eq!(
        record.spec.lines.last().unwrap().qty,
        q(&format!("{}", MAX_BLIND_LINES + 20))
    );
    assert_eq!(record.spec.lines[0].qty, q("21"));
    assert_eq!(record.progress.spawned as usize, MAX_BLIND_LINES + 20);
}
