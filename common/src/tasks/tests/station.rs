#![allow(clippy::unwrap_used)]

use super::world::*;
use crate::tasks::{ErrorCode, ExpectScan, Input, TaskKind, TaskStatus};

#[test]
fn a_scan_before_sign_in_is_rejected_and_asks_for_a_badge() {
    let mut dr = Driver::new(world(), "hh-1", &[TaskKind::Pick]);
    let msg = dr.rejected("L:A-01-01", ErrorCode::NotSignedIn);
    assert!(msg.contains("badge"));
    assert_eq!(dr.expect_scan(), ExpectScan::Operator);
    assert_eq!(
        dr.station.last_error().map(|e| e.code),
        Some(ErrorCode::NotSignedIn)
    );
}

#[test]
fn sign_in_gives_the_most_urgent_task_the_station_can_do() {
    let mut v = world();
    let mut low = task(
        "PICK-LOW",
        TaskKind::Pick,
        vec![line("PEN", "1", Some("A-01-02"))],
    );
    low.order = Some(order("SO-1"));
    low.container = Some(tote("TOTE-1"));
    let mut late = low.clone();
    late.id = tid("PICK-LATE");
    late.priority = 5;
    late.due_ms = Some(T0 + 10_000_000);
    let mut soon = low.clone();
    soon.id = tid("PICK-SOON");
    soon.priority = 5;
    soon.due_ms = Some(T0 + 1_000);
    let count = {
        let mut c = task("COUNT-1", TaskKind::Count, vec![]);
        c.priority = 9;
        c.locations = vec![loc("A-01-01")];
        c
    };
    for t in [low, late, soon, count] {
        v.put_spec(t);
    }
    let mut dr = Driver::new(v, "hh-1", &[TaskKind::Pick]);
    dr.ok("U:op-17");
    let view = dr.station.view(&dr.view);
    assert_eq!(view.operator.map(|o| o.to_string()), Some("op-17".into()));
    assert_eq!(
        view.task.map(|t| t.id.to_string()),
        Some("PICK-SOON".into())
    );
    assert_eq!(view.expect.scan, ExpectScan::Location);
    assert_eq!(
        dr.view.task(&tid("PICK-SOON")).map(|r| r.progress.status),
        Some(TaskStatus::InProgress)
    );
}

#[test]
fn next_skips_to_another_task_and_logout_gives_the_task_back() {
    let mut v = world();
    for (id, p) in [("PICK-A", 2), ("PICK-B", 1)] {
        let mut t = task(id, TaskKind::Pick, vec![line("PEN", "1", Some("A-01-02"))]);
        t.order = Some(order("SO-1"));
        t.container = Some(tote("TOTE-1"));
        t.priority = p;
        v.put_spec(t);
    }
    let mut dr = Driver::new(v, "hh-1", &[TaskKind::Pick]);
    dr.ok("U:op-1");
    let current = |dr: &Driver| {
        dr.station
            .work()
            .map(|w| w.record.spec.id.to_string())
            .unwrap_or_default()
    };
    assert_eq!(current(&dr), "PICK-A");
    dr.ok("C:NEXT");
    assert_eq!(current(&dr), "PICK-B");
    assert_eq!(
        dr.view.task(&tid("PICK-A")).map(|r| r.progress.status),
        Some(TaskStatus::Open)
    );
    dr.ok("C:NEXT");
    assert_eq!(current(&dr), "PICK-A");
    dr.ok("C:LOGOUT");
    assert!(dr.station.operator().is_none());
    assert_eq!(
        dr.view
            .task(&tid("PICK-A"))
            .map(|r| r.progress.station.clone()),
        Some(None)
    );
}

#[test]
fn next_with_no_other_task_is_rejected() {
    let mut dr = Driver::new(world(), "hh-1", &[TaskKind::Pick]);
    dr.ok("U:op-1");
    dr.rejected("C:NEXT", ErrorCode::NoTask);
}

#[test]
fn a_station_does_not_take_tasks_of_kinds_it_is_not_configured_for() {
    let mut v = world();
    let mut t = task(
        "PICK-A",
        TaskKind::Pick,
        vec![line("PEN", "1", Some("A-01-02"))],
    );
    t.order = Some(order("SO-1"));
    v.put_spec(t);
    let mut dr = Driver::new(v, "pack-1", &[TaskKind::Pack, TaskKind::Ship]);
    dr.ok("U:op-1");
    assert!(dr.station.work().is_none());
    assert_eq!(dr.expect_scan(), ExpectScan::Task);
}

#[test]
fn the_station_state_serialises_to_the_api_shape() {
    let mut v = world();
    let mut t = task(
        "PICK-A",
        TaskKind::Pick,
        vec![line("MUG-BLUE", "3", Some("A-01-01"))],
    );
    t.order = Some(order("SO-5001"));
    t.container = Some(tote("TOTE-1"));
    v.put_spec(t);
    let mut dr = Driver::new(v, "hh-1", &[TaskKind::Pick]);
    dr.ok("U:op-17");
    let json = serde_json::to_value(dr.station.view(&dr.view)).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "station": "hh-1",
            "operator": "op-17",
            "task": {"id": "PICK-A", "kind": "pick", "ref": "SO-5001"},
            "prompt": "Go to A-01-01 and scan the location",
            "expect": {"scan": "location", "location": "A-01-01", "sku": "MUG-BLUE",
                       "gtin": mug_each(), "qty": "3", "done": "0"},
            "last_error": null
        })
    );
    dr.rejected("L:A-01-02", ErrorCode::WrongLocation);
    let json = serde_json::to_value(dr.station.view(&dr.view)).unwrap();
    assert_eq!(json["last_error"]["code"], "wrong_location");
    assert_eq!(
        json["last_error"]["message"],
        "Wrong location: scan A-01-01, you scanned A-01-02"
    );
}

#[test]
fn a_timeout_signs_the_operator_out_and_keeps_confirmed_progress() {
    let mut v = world();
    stock(&mut v, "PEN", "A-01-02", "5");
    let mut t = task(
        "PICK-A",
        TaskKind::Pick,
        vec![
            line("PEN", "1", Some("A-01-02")),
            line("PEN", "1", Some("A-01-02")),
        ],
    );
    t.order = Some(order("SO-1"));
    t.container = Some(tote("TOTE-1"));
    v.put_spec(t);
    let mut dr = Driver::new(v, "hh-1", &[TaskKind::Pick]);
    dr.ok("U:op-1");
    dr.ok("L:A-01-02");
    dr.ok(&pen_each());
    dr.ok("C:CONFIRM");
    dr.input(Input::Timeout);
    assert!(dr.station.operator().is_none());
    let r = dr.view.task(&tid("PICK-A")).unwrap();
    assert_eq!(r.progress.status, TaskStatus::InProgress);
    assert!(r.progress.lines[0].closed);
    dr.ok("U:op-2");
    dr.ok("L:A-01-02");
    dr.ok(&pen_each());
    dr.ok("C:CONFIRM");
    dr.ok("T:TOTE-1");
    assert_eq!(
        dr.view.task(&tid("PICK-A")).map(|r| r.progress.status),
        Some(TaskStatus::Done)
    );
}

#[test]
fn a_station_round_trips_through_json_mid_task_so_the_agent_can_persist_it() {
    let mut v = world();
    stock(&mut v, "PEN", "A-01-02", "5");
    let mut t = task(
        "PICK-A",
        TaskKind::Pick,
        vec![line("PEN", "3", Some("A-01-02"))],
    );
    t.order = Some(order("SO-1"));
    v.put_spec(t);
    let mut dr = Driver::new(v, "hh-1", &[TaskKind::Pick]);
    dr.ok("U:op-1");
    dr.ok("T:TOTE-1");
    dr.ok("L:A-01-02");
    dr.ok(&pen_each());
    let text = serde_json::to_string(&dr.station).unwrap();
    let back: crate::tasks::Station = serde_json::from_str(&text).unwrap();
    assert_eq!(back, dr.station);
    dr.station = back;
    dr.ok("Q:3");
    assert_eq!(dr.ok("C:CONFIRM").len(), 1);
}

#[test]
fn a_task_spec_reads_the_json_the_hub_sends() {
    let spec: crate::tasks::TaskSpec = serde_json::from_str(
        r#"{"id": "RET-9", "kind": "return", "doc": "RMA-77", "order": "SO-5001",
            "priority": 2, "due_ms": 1795000000000,
            "lines": [{"sku": "MUG-BLUE", "qty": "1"}]}"#,
    )
    .unwrap();
    assert_eq!(spec.kind, TaskKind::Return);
    assert_eq!(spec.lines[0].qty, q("1"));
    assert_eq!(spec.reference(), Some("SO-5001".into()));
    let bad: Result<crate::tasks::TaskSpec, _> = serde_json::from_str(
        r#"{"id": "X", "kind": "pick", "lines": [{"sku": "a b", "qty": "1"}]}"#,
    );
    assert!(bad.is_err());
}

#[test]
fn a_gs1_location_barcode_is_accepted_where_its_location_is_expected() {
    let mut v = world();
    stock(&mut v, "PEN", "A-01-02", "5");
    let gln = {
        let body = "950110100001";
        format!(
            "{body}{}",
            crate::check_digit::gs1_check_digit(body).unwrap()
        )
    };
    v.put_gln(&gln, Some("A0102"), loc("A-01-02"));
    let mut t = task(
        "PICK-A",
        TaskKind::Pick,
        vec![line("PEN", "1", Some("A-01-02"))],
    );
    t.order = Some(order("SO-1"));
    t.container = Some(tote("TOTE-1"));
    v.put_spec(t);
    let mut dr = Driver::new(v, "hh-1", &[TaskKind::Pick]);
    dr.ok("U:op-1");
    dr.rejected(&format!("]C1414{gln}"), ErrorCode::UnknownLocation);
    dr.ok(&format!("]C1414{gln}254A0102"));
    assert_eq!(dr.expect_scan(), ExpectScan::Item);
}

#[test]
fn with_no_task_a_carton_label_takes_its_ship_task_and_other_scans_say_there_is_no_task() {
    let mut v = world();
    stock(&mut v, "PEN", "A-01-02", "5");
    for (n, c) in [("1", "CARTON-1"), ("2", "CARTON-2")] {
        v.apply(
            crate::domain::EventBody::Pick {
                from: loc("A-01-02"),
                to: tote(c),
                stock: crate::domain::StockRef::plain(sku("PEN")),
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
    let mut dr = Driver::new(v, "dock-1", &[TaskKind::Ship]);
    dr.ok("U:op-1");
    dr.rejected(&pen_each(), ErrorCode::NoTask);
    dr.rejected("T:CARTON-2", ErrorCode::UnknownContainer);
    dr.rejected("O:SO-404", ErrorCode::UnknownOrder);
    for c in ["CARTON-1", "CARTON-2"] {
        let mut t = task(&format!("SHIP-{c}"), TaskKind::Ship, vec![]);
        t.order = Some(order("SO-1"));
        t.container = Some(tote(c));
        dr.view.put_spec(t);
    }
    // Still idle (work is handed out on sign-in, C:NEXT or when a task ends).
    let ev = dr.ok("T:CARTON-2");
    assert!(
        matches!(&ev[0], crate::domain::EventBody::Ship { lines, .. } if lines[0].qty == q("2"))
    );
    // The station is then directed to the remaining shipment.
    assert_eq!(dr.expect_scan(), ExpectScan::Label);
    let ev = dr.ok("T:CARTON-1");
    assert_eq!(ev.len(), 1);
    assert_eq!(dr.expect_scan(), ExpectScan::Task);
}

#[test]
fn a_task_cancelled_by_the_hub_while_being_worked_is_dropped_without_events() {
    let mut v = world();
    stock(&mut v, "PEN", "A-01-02", "5");
    for id in ["PICK-A", "PICK-B"] {
        let mut t = task(id, TaskKind::Pick, vec![line("PEN", "1", Some("A-01-02"))]);
        t.order = Some(order("SO-1"));
        t.container = Some(tote("TOTE-1"));
        v.put_spec(t);
    }
    let mut dr = Driver::new(v, "hh-1", &[TaskKind::Pick]);
    dr.ok("U:op-1");
    dr.ok("L:A-01-02");
    dr.ok(&pen_each());
    let mut r = dr.view.task(&tid("PICK-A")).unwrap().clone();
    r.progress.status = TaskStatus::Cancelled;
    dr.view.put_task(r);
    assert!(dr.ok("C:CONFIRM").is_empty());
    assert_eq!(
        dr.station.work().map(|w| w.record.spec.id.to_string()),
        Some("PICK-B".into())
    );
    assert_eq!(at(&dr.view, "PEN", "A-01-02"), d("5"));
}

#[test]
fn an_unreadable_scan_is_rejected_with_the_reason_and_changes_nothing() {
    let mut dr = Driver::new(world(), "hh-1", &[TaskKind::Pick]);
    dr.ok("U:op-1");
    let before = dr.station.flow_state();
    let out = dr.station.handle_scan(&dr.view, b"C:FLY", T0);
    let e = out.error().unwrap();
    assert_eq!(e.code, ErrorCode::UnreadableScan);
    assert!(e.message.contains("unknown command"), "{}", e.message);
    assert_eq!(dr.station.flow_state(), before);
    assert!(dr
        .station
        .handle_scan(&dr.view, b"Q:-1", T0)
        .error()
        .is_some());
}
