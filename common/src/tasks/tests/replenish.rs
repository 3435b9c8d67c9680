#![allow(clippy::unwrap_used)]

use super::world::*;
use crate::domain::{EventBody, MovePurpose};
use crate::tasks::{replenishment_needed, ErrorCode, MinMaxRule, TaskKind, TaskStatus};

fn rule() -> MinMaxRule {
    MinMaxRule {
        sku: sku("MUG-BLUE"),
        location: loc("A-01-01"),
        min: nn("2"),
        max: q("10"),
        priority: 3,
    }
}

#[test]
fn min_max_creates_a_replenish_task_from_reserve_when_at_or_below_min() {
    let mut v = world();
    stock(&mut v, "MUG-BLUE", "A-01-01", "2");
    stock(&mut v, "MUG-BLUE", "R-01-01", "5");
    stock(&mut v, "MUG-BLUE", "R-01-02", "20");
    let tasks = replenishment_needed(&v, &[rule()], T0);
    assert_eq!(tasks.len(), 1);
    let t = &tasks[0];
    assert_eq!(t.kind, TaskKind::Replenish);
    assert_eq!(t.priority, 3);
    let lines: Vec<_> = t
        .lines
        .iter()
        .map(|l| (l.location.clone().unwrap().to_string(), l.qty.to_string()))
        .collect();
    assert_eq!(
        lines,
        vec![
            ("R-01-01".to_string(), "5".to_string()),
            ("R-01-02".into(), "3".into())
        ]
    );
    // Not twice while a task is open.
    v.put_spec(t.clone());
    assert!(replenishment_needed(&v, &[rule()], T0 + 1).is_empty());
}

#[test]
fn min_max_does_nothing_above_min_or_without_reserve_stock() {
    let mut v = world();
    stock(&mut v, "MUG-BLUE", "A-01-01", "3");
    stock(&mut v, "MUG-BLUE", "R-01-01", "5");
    assert!(replenishment_needed(&v, &[rule()], T0).is_empty());
    let mut v = world();
    stock(&mut v, "MUG-BLUE", "A-01-02", "30");
    assert!(replenishment_needed(&v, &[rule()], T0).is_empty());
}

#[test]
fn a_replenishment_moves_stock_from_reserve_to_the_forward_location() {
    let mut v = world();
    stock(&mut v, "MUG-BLUE", "R-01-01", "5");
    let tasks = replenishment_needed(&v, &[rule()], T0);
    let id = tasks[0].id.clone();
    v.put_spec(tasks[0].clone());
    let mut dr = Driver::new(v, "hh-1", &[TaskKind::Replenish]);
    dr.ok("U:op-1");
    dr.rejected("L:R-01-02", ErrorCode::WrongLocation);
    dr.ok("L:R-01-01");
    dr.rejected(&pen_each(), ErrorCode::WrongItem);
    dr.ok(&mug_each());
    dr.rejected("Q:6", ErrorCode::OverPick);
    dr.ok("Q:5");
    dr.ok("C:CONFIRM");
    dr.rejected("L:A-01-02", ErrorCode::WrongLocation);
    let ev = dr.ok("L:A-01-01");
    assert!(matches!(
        &ev[0],
        EventBody::Move { purpose: MovePurpose::Replenish, reason: None, qty, .. } if *qty == q("5")
    ));
    assert_eq!(at(&dr.view, "MUG-BLUE", "A-01-01"), d("5"));
    assert_eq!(
        dr.view.task(&id).map(|r| r.progress.status),
        Some(TaskStatus::Done)
    );
}
