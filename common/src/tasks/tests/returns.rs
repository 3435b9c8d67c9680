#![allow(clippy::unwrap_used)]

use super::world::*;
use crate::domain::{Disposition, EventBody, Place, StockRef, StockStatus};
use crate::tasks::{ErrorCode, ExpectScan, LocalView, TaskKind, TaskStatus};

fn rma() -> Driver {
    let mut v = world();
    let mut t = task(
        "RET-1",
        TaskKind::Return,
        vec![line("MUG-BLUE", "2", None), line("PEN", "1", None)],
    );
    t.doc = Some(doc("RMA-77"));
    t.order = Some(order("SO-5001"));
    v.put_spec(t);
    v.set_home(sku("MUG-BLUE"), loc("A-01-01"));
    let mut dr = Driver::new(v, "hh-1", &[TaskKind::Return]);
    dr.ok("U:op-1");
    dr
}

#[test]
fn a_return_records_return_receive_and_disposition_per_item() {
    let mut dr = rma();
    dr.rejected("O:SO-1", ErrorCode::WrongOrder);
    dr.ok("O:RMA-77");
    dr.ok(&mug_each());
    assert_eq!(dr.expect_scan(), ExpectScan::Disposition);
    dr.rejected("C:CONFIRM", ErrorCode::UnexpectedCommand);
    let ev = dr.ok("C:RESTOCK");
    assert_eq!(
        ev,
        vec![
            EventBody::ReturnReceive {
                location: loc("RET-1"),
                stock: StockRef::plain(sku("MUG-BLUE")),
                qty: q("1"),
                rma: doc("RMA-77"),
                order: Some(order("SO-5001")),
            },
            EventBody::Disposition {
                location: loc("RET-1"),
                stock: StockRef::plain(sku("MUG-BLUE")),
                qty: q("1"),
                disposition: Disposition::Restock { to: loc("A-01-01") },
                rma: doc("RMA-77"),
            },
        ]
    );
    assert_eq!(at(&dr.view, "MUG-BLUE", "A-01-01"), d("1"));
    dr.ok(&mug_each());
    dr.ok("C:QUARANTINE");
    assert_eq!(
        dr.view.balance(
            &Place::Location(loc("RET-1")),
            &StockRef::plain(sku("MUG-BLUE")),
            StockStatus::Quarantine
        ),
        d("1")
    );
    dr.ok(&pen_each());
    let ev = dr.ok("C:SCRAP");
    assert!(matches!(
        &ev[1],
        EventBody::Disposition {
            disposition: Disposition::WriteOff,
            ..
        }
    ));
    assert_eq!(
        dr.view.task(&tid("RET-1")).map(|r| r.progress.status),
        Some(TaskStatus::Done)
    );
}

#[test]
fn a_return_rejects_items_not_on_the_rma_and_too_many() {
    let mut dr = rma();
    dr.ok("O:SO-5001");
    dr.rejected("C:RESTOCK", ErrorCode::NothingToConfirm);
    dr.rejected(&pill("L1"), ErrorCode::WrongItem);
    dr.ok(&pen_each());
    dr.rejected(&pen_each(), ErrorCode::OverPick);
    dr.ok("C:VENDOR");
    dr.rejected(&pen_each(), ErrorCode::WrongItem);
    dr.ok("C:SHORT");
    assert_eq!(
        dr.view.task(&tid("RET-1")).map(|r| r.progress.status),
        Some(TaskStatus::Done)
    );
}
