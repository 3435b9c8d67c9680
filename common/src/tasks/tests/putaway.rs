#![allow(clippy::unwrap_used)]

use super::world::*;
use crate::domain::{EventBody, MovePurpose, Place, ReasonCode, StockRef, StockStatus};
use crate::tasks::{ErrorCode, ExpectScan, TaskKind, TaskStatus};

fn putaway(n: &str) -> Driver {
    let mut v = world();
    stock(&mut v, "MUG-BLUE", "DOCK-1", n);
    v.put_spec(task(
        "PA-1",
        TaskKind::Putaway,
        vec![line("MUG-BLUE", n, Some("DOCK-1"))],
    ));
    let mut dr = Driver::new(v, "hh-1", &[TaskKind::Putaway]);
    dr.ok("U:op-1");
    dr
}

#[test]
fn putaway_suggests_the_home_location_and_moves_the_line_there() {
    let mut dr = putaway("12");
    dr.view.set_home(sku("MUG-BLUE"), loc("A-01-01"));
    assert_eq!(dr.expect_scan(), ExpectScan::Item);
    dr.ok(&mug_each());
    let state = dr.station.view(&dr.view);
    assert_eq!(state.expect.scan, ExpectScan::Location);
    assert_eq!(state.expect.location, Some(loc("A-01-01")));
    let ev = dr.ok("L:A-01-01");
    assert_eq!(
        ev,
        vec![EventBody::Move {
            from: Place::Location(loc("DOCK-1")),
            to: Place::Location(loc("A-01-01")),
            stock: StockRef::plain(sku("MUG-BLUE")),
            status: StockStatus::Available,
            qty: q("12"),
            purpose: MovePurpose::Putaway,
            reason: None,
        }]
    );
    assert_eq!(
        dr.view.task(&tid("PA-1")).map(|r| r.progress.status),
        Some(TaskStatus::Done)
    );
}

#[test]
fn putaway_suggests_a_location_holding_the_same_stock_else_an_empty_reserve() {
    let mut dr = putaway("5");
    stock(&mut dr.view, "MUG-BLUE", "R-01-02", "1");
    dr.ok(&mug_each());
    assert_eq!(
        dr.station.view(&dr.view).expect.location,
        Some(loc("R-01-02"))
    );
    let mut dr = putaway("5");
    stock(&mut dr.view, "PEN", "R-01-01", "1");
    dr.ok(&mug_each());
    assert_eq!(
        dr.station.view(&dr.view).expect.location,
        Some(loc("R-01-02"))
    );
}

#[test]
fn putaway_to_another_location_needs_a_confirm_and_records_the_override_reason() {
    let mut dr = putaway("12");
    dr.ok(&mug_each());
    dr.ok("Q:4");
    assert!(dr.ok("L:A-01-03").is_empty());
    assert_eq!(dr.expect_scan(), ExpectScan::QuantityOrConfirm);
    let ev = dr.ok("C:CONFIRM");
    assert!(matches!(
        &ev[0],
        EventBody::Move { reason: Some(ReasonCode::LocationOverride), qty, .. } if *qty == q("4")
    ));
    // The rest of the line is still to do.
    assert_eq!(dr.expect_scan(), ExpectScan::Item);
    assert_eq!(at(&dr.view, "MUG-BLUE", "DOCK-1"), d("8"));
}

#[test]
fn putaway_rejects_the_wrong_item_and_non_storage_locations() {
    let mut dr = putaway("12");
    dr.rejected(&pen_each(), ErrorCode::WrongItem);
    dr.rejected("L:A-01-01", ErrorCode::UnexpectedScan);
    dr.ok(&mug_each());
    dr.rejected("L:PACK-1", ErrorCode::WrongLocation);
    dr.rejected("L:DOCK-1", ErrorCode::WrongLocation);
    dr.rejected("Q:13", ErrorCode::OverPick);
}
