#![allow(clippy::unwrap_used)]

use super::world::*;
use crate::domain::{EventBody, StockRef, StockStatus};
use crate::tasks::{ErrorCode, ExpectScan, TaskKind, TaskStatus};

fn counting() -> Driver {
    let mut v = world();
    stock(&mut v, "MUG-BLUE", "A-01-01", "5");
    stock(&mut v, "PEN", "A-01-01", "2");
    let mut t = task("CNT-1", TaskKind::Count, vec![]);
    t.locations = vec![loc("A-01-01"), loc("A-01-03")];
    v.put_spec(t);
    let mut dr = Driver::new(v, "hh-1", &[TaskKind::Count]);
    dr.ok("U:op-1");
    dr
}

#[test]
fn a_blind_count_records_counted_against_book_for_every_line_and_missing_items() {
    let mut dr = counting();
    assert_eq!(dr.expect_scan(), ExpectScan::Location);
    // The operator is not shown the book quantity.
    assert_eq!(dr.station.view(&dr.view).expect.qty, None);
    dr.rejected("L:A-01-03", ErrorCode::WrongLocation);
    dr.ok("L:A-01-01");
    dr.ok(&mug_each());
    dr.ok("Q:4");
    let ev = dr.ok("C:CONFIRM");
    assert_eq!(
        ev,
        vec![
            EventBody::CountResult {
                location: loc("A-01-01"),
                stock: StockRef::plain(sku("MUG-BLUE")),
                status: StockStatus::Available,
                counted: nn("4"),
                expected: nn("5"),
            },
            EventBody::CountResult {
                location: loc("A-01-01"),
                stock: StockRef::plain(sku("PEN")),
                status: StockStatus::Available,
                counted: nn("0"),
                expected: nn("2"),
            },
        ]
    );
    assert_eq!(at(&dr.view, "MUG-BLUE", "A-01-01"), d("4"));
    assert_eq!(at(&dr.view, "PEN", "A-01-01"), d("0"));
    // A repeated confirm adds nothing.
    dr.rejected("C:CONFIRM", ErrorCode::UnexpectedScan);
    dr.ok("L:A-01-03");
    assert!(dr.ok("C:CONFIRM").is_empty());
    assert_eq!(
        dr.view.task(&tid("CNT-1")).map(|r| r.progress.status),
        Some(TaskStatus::Done)
    );
}

#[test]
fn a_count_finds_stock_the_book_does_not_know() {
    let mut dr = counting();
    dr.ok("L:A-01-01");
    dr.ok(&mug_each());
    dr.ok("Q:5");
    dr.ok(&pen_each());
    dr.ok(&pen_each());
    dr.ok(&pen_each());
    let ev = dr.ok("C:CONFIRM");
    assert_eq!(ev.len(), 2);
    assert_eq!(at(&dr.view, "PEN", "A-01-01"), d("3"));
}
