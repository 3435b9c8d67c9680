#![allow(clippy::unwrap_used)]

use super::world::*;
use crate::domain::{EventBody, StockRef};
use crate::scale::{ScaleCondition, WeightReading, WeightUnit};
use crate::tasks::{ErrorCode, ExpectScan, Input, Outcome, TaskKind, TaskStatus};

fn reading(kg: &str, stable: bool) -> Input {
    Input::Weight(WeightReading {
        value: Some(d(kg).get()),
        unit: WeightUnit::Kg,
        stable,
        net: None,
        condition: ScaleCondition::Ok,
        tare: None,
    })
}

fn picked_tote() -> Driver {
    let mut v = world();
    stock(&mut v, "MUG-BLUE", "A-01-01", "10");
    stock(&mut v, "PEN", "A-01-02", "10");
    for (s, n, from) in [("MUG-BLUE", "3", "A-01-01"), ("PEN", "1", "A-01-02")] {
        v.apply(
            EventBody::Pick {
                from: loc(from),
                to: tote("TOTE-1"),
                stock: StockRef::plain(sku(s)),
                qty: q(n),
                order: order("SO-1"),
            },
            T0,
            None,
            None,
            None,
        )
        .unwrap();
    }
    let mut t = task(
        "PACK-1",
        TaskKind::Pack,
        vec![line("MUG-BLUE", "3", None), line("PEN", "1", None)],
    );
    t.order = Some(order("SO-1"));
    t.container = Some(tote("TOTE-1"));
    v.put_spec(t);
    let mut dr = Driver::new(v, "pack-1", &[TaskKind::Pack, TaskKind::Ship]);
    dr.ok("U:op-1");
    dr
}

fn weigh(dr: &mut Driver, kg: &str, stable: bool) -> Outcome {
    dr.input(reading(kg, stable))
}

#[test]
fn pack_verifies_items_weighs_the_carton_prints_a_label_and_then_ships_it() {
    let mut dr = picked_tote();
    assert_eq!(dr.expect_scan(), ExpectScan::Container);
    dr.ok("T:TOTE-1");
    assert_eq!(dr.expect_scan(), ExpectScan::Item);
    dr.ok(&mug_each());
    dr.ok("Q:3");
    dr.ok(&pen_each());
    assert_eq!(dr.expect_scan(), ExpectScan::Container);
    dr.ok("T:CARTON-1");
    assert_eq!(dr.expect_scan(), ExpectScan::Weight);
    // 3 × 0.350 + 1 × 0.020 + 0.200 tare = 1.270 kg, ± 5 %.
    let out = weigh(&mut dr, "1.300", true);
    let Outcome::Accepted(a) = out else {
        panic!("{out:?}")
    };
    assert!(matches!(
        &a.events[0],
        EventBody::Pack { measured_kg: Some(m), expected_kg: Some(e), lines, .. }
            if *m == nn("1.300") && *e == nn("1.270") && lines.len() == 2
    ));
    assert_eq!(a.print.len(), 1);
    assert_eq!(a.print[0].carton, tote("CARTON-1"));
    assert_eq!(
        dr.view.task(&tid("PACK-1")).map(|r| r.progress.status),
        Some(TaskStatus::Done)
    );
    // The station is directed to the ship task it just created.
    assert_eq!(dr.expect_scan(), ExpectScan::Label);
    dr.rejected("T:CARTON-2", ErrorCode::UnknownContainer);
    let ev = dr.ok("T:CARTON-1");
    assert!(matches!(&ev[0], EventBody::Ship { lines, sscc: None, .. } if lines.len() == 2));
    assert!(dr.view.container_stock(&tote("CARTON-1")).is_empty());
}

#[test]
fn a_weight_outside_tolerance_is_a_weight_mismatch_and_changes_nothing() {
    let mut dr = picked_tote();
    dr.ok("T:TOTE-1");
    dr.ok(&mug_each());
    dr.ok("Q:3");
    dr.ok(&pen_each());
    dr.ok("T:CARTON-1");
    let out = weigh(&mut dr, "1.400", true);
    assert_eq!(out.error().map(|e| e.code), Some(ErrorCode::WeightMismatch));
    assert!(
        out.error()
            .unwrap()
            .message
            .contains("kg is outside 1.270 kg ± 0.0635 kg"),
        "{:?}",
        out.error()
    );
    let out = weigh(&mut dr, "1.270", false);
    assert_eq!(out.error().map(|e| e.code), Some(ErrorCode::WeightUnstable));
    assert_eq!(dr.expect_scan(), ExpectScan::Weight);
    assert!(dr.events.is_empty());
    assert!(weigh(&mut dr, "1.250", true).accepted().is_some());
}

#[test]
fn pack_rejects_items_not_in_the_order_and_too_many() {
    let mut dr = picked_tote();
    dr.rejected("T:TOTE-2", ErrorCode::WrongContainer);
    dr.rejected("O:SO-2", ErrorCode::WrongOrder);
    dr.ok("O:SO-1");
    dr.rejected(&pill("L1"), ErrorCode::WrongItem);
    dr.ok(&pen_each());
    dr.rejected(&pen_each(), ErrorCode::OverPack);
    let out = weigh(&mut dr, "1.0", true);
    assert_eq!(
        out.error().map(|e| e.code),
        Some(ErrorCode::UnexpectedWeight)
    );
}

#[test]
fn a_ship_label_with_an_sscc_is_recorded_on_the_ship_event() {
    let mut v = world();
    stock(&mut v, "PEN", "A-01-02", "1");
    let sscc = format!(
        "09501101000000001{}",
        crate::check_digit::gs1_check_digit("09501101000000001").unwrap()
    );
    v.apply(
        EventBody::Pick {
            from: loc("A-01-02"),
            to: tote(&sscc),
            stock: StockRef::plain(sku("PEN")),
            qty: q("1"),
            order: order("SO-9"),
        },
        T0,
        None,
        None,
        None,
    )
    .unwrap();
    let mut t = task("SHIP-9", TaskKind::Ship, vec![line("PEN", "1", None)]);
    t.order = Some(order("SO-9"));
    t.container = Some(tote(&sscc));
    v.put_spec(t);
    let mut dr = Driver::new(v, "dock-1", &[TaskKind::Ship]);
    dr.ok("U:op-1");
    let ev = dr.ok(&format!("]C100{sscc}"));
    assert!(matches!(&ev[0], EventBody::Ship { sscc: Some(s), .. } if s == &sscc));
}
