//! Property tests: random input sequences against a small world.
//!
//! - a rejected step never changes the station (checked by the driver on every step);
//! - no double counting: for every task, the quantities in its events equal its recorded
//!   progress, and no line's progress exceeds its quantity;
//! - an accepted `C:CONFIRM` repeated at once adds no events;
//! - the book never goes negative (no `NegativeBalance` flag), and conservation holds.

#![allow(clippy::unwrap_used)]

use super::world::*;
use crate::domain::StationId;
use crate::domain::{Dec, EventBody};
use crate::scale::{ScaleCondition, WeightReading, WeightUnit};
use crate::scan_payload::{classify_payload, Command};
use crate::tasks::{InMemoryView, Input, Outcome, Station, StationConfig, TaskKind, TaskRecord};
use proptest::prelude::*;

fn inputs() -> Vec<Input> {
    let scans = [
        "U:op-1".to_string(),
        "U:op-2".into(),
        "L:A-01-01".into(),
        "L:A-01-02".into(),
        "L:R-01-01".into(),
        "L:R-01-02".into(),
        "L:DOCK-1".into(),
        "L:A-01-03".into(),
        mug_each(),
        mug_each(),
        mug_each(),
        mug_case(),
        pen_each(),
        pen_each(),
        pill("L1"),
        "Q:1".into(),
        "Q:2".into(),
        "Q:3".into(),
        "Q:5".into(),
        "C:CONFIRM".into(),
        "C:CONFIRM".into(),
        "C:CONFIRM".into(),
        "C:SHORT".into(),
        "C:CANCEL".into(),
        "C:NEXT".into(),
        "C:LOGOUT".into(),
        "C:RESTOCK".into(),
        "C:SCRAP".into(),
        "T:TOTE-1".into(),
        "T:TOTE-2".into(),
        "T:CARTON-1".into(),
        "O:SO-1".into(),
        "O:RMA-1".into(),
    ];
    let mut out: Vec<Input> = scans
        .iter()
        .map(|s| Input::Scan(classify_payload(s.as_bytes()).unwrap()))
        .collect();
    out.push(Input::Timeout);
    out.push(Input::Command(Command::Confirm));
    for (kg, stable) in [
        ("1.250", true),
        ("0.220", true),
        ("0.220", false),
        ("9", true),
    ] {
        out.push(Input::Weight(WeightReading {
            value: Some(d(kg).get()),
            unit: WeightUnit::Kg,
            stable,
            net: None,
            condition: ScaleCondition::Ok,
            tare: None,
        }));
    }
    out
}

fn small_world() -> InMemoryView {
    let mut v = world();
    stock(&mut v, "MUG-BLUE", "A-01-01", "5");
    stock(&mut v, "PEN", "A-01-02", "2");
    stock(&mut v, "MUG-BLUE", "R-01-01", "10");
    let mut pick = task(
        "PICK-1",
        TaskKind::Pick,
        vec![
            line("MUG-BLUE", "3", Some("A-01-01")),
            line("PEN", "4", Some("A-01-02")),
        ],
    );
    pick.order = Some(order("SO-1"));
    pick.priority = 5;
    v.put_spec(pick);
    let mut pack = task("PACK-1", TaskKind::Pack, vec![line("MUG-BLUE", "3", None)]);
    pack.order = Some(order("SO-1"));
    pack.container = Some(tote("TOTE-1"));
    v.put_spec(pack);
    v.apply(
        EventBody::Pick {
            from: loc("A-01-02"),
            to: tote("TOTE-2"),
            stock: crate::domain::StockRef::plain(sku("PEN")),
            qty: q("1"),
            order: order("SO-2"),
        },
        T0,
        None,
        None,
        None,
    )
    .unwrap();
    let mut pack2 = task("PACK-2", TaskKind::Pack, vec![line("PEN", "1", None)]);
    pack2.order = Some(order("SO-2"));
    pack2.container = Some(tote("TOTE-2"));
    pack2.priority = 9;
    v.put_spec(pack2);
    let mut rcv = task(
        "RCV-1",
        TaskKind::Receive,
        vec![line("MUG-BLUE", "12", None), line("PEN", "2", None)],
    );
    rcv.doc = Some(doc("ASN-1"));
    v.put_spec(rcv);
    let mut cnt = task("CNT-1", TaskKind::Count, vec![]);
    cnt.locations = vec![loc("A-01-01"), loc("A-01-02")];
    v.put_spec(cnt);
    let mut rpl = task(
        "RPL-1",
        TaskKind::Replenish,
        vec![line("MUG-BLUE", "4", Some("R-01-01"))],
    );
    rpl.lines[0].to = Some(loc("A-01-01"));
    v.put_spec(rpl);
    let mut ret = task("RET-1", TaskKind::Return, vec![line("MUG-BLUE", "1", None)]);
    ret.doc = Some(doc("RMA-1"));
    v.put_spec(ret);
    v
}

/// Station set-ups: everything, or one of the usual splits.
fn station_kinds(n: usize) -> Vec<TaskKind> {
    match n % 5 {
        0 => all_kinds(),
        1 => vec![TaskKind::Receive, TaskKind::Putaway],
        2 => vec![TaskKind::Pack, TaskKind::Ship],
        3 => vec![TaskKind::Pick, TaskKind::Replenish],
        _ => vec![TaskKind::Count, TaskKind::Return, TaskKind::Putaway],
    }
}

fn all_kinds() -> Vec<TaskKind> {
    vec![
        TaskKind::Receive,
        TaskKind::Putaway,
        TaskKind::Pick,
        TaskKind::Pack,
        TaskKind::Ship,
        TaskKind::Count,
        TaskKind::Replenish,
        TaskKind::Return,
    ]
}

/// The quantity an event counts towards its task's progress.
fn counted(kind: TaskKind, e: &EventBody) -> Option<Dec> {
    match (kind, e) {
        (TaskKind::Pick, EventBody::Pick { qty, .. })
        | (TaskKind::Receive, EventBody::Receive { qty, .. })
        | (TaskKind::Return, EventBody::ReturnReceive { qty, .. })
        | (TaskKind::Replenish | TaskKind::Putaway, EventBody::Move { qty, .. }) => Some(qty.get()),
        _ => None,
    }
}

fn check_no_double_counting(
    log: &[(Option<crate::domain::TaskId>, EventBody)],
    tasks: &[TaskRecord],
) -> Result<(), TestCaseError> {
    for r in tasks {
        let kind = r.spec.kind;
        if matches!(kind, TaskKind::Count | TaskKind::Pack | TaskKind::Ship) {
            continue;
        }
        let from_events = log
            .iter()
            .filter(|(t, _)| t.as_ref() == Some(&r.spec.id))
            .filter_map(|(_, e)| counted(kind, e))
            .fold(Dec::ZERO, |a, q| a.checked_add(q).unwrap());
        let from_progress = r
            .progress
            .lines
            .iter()
            .fold(Dec::ZERO, |a, l| a.checked_add(l.done.get()).unwrap());
        prop_assert_eq!(from_events, from_progress, "task {}", r.spec.id);
        for (line, p) in r.spec.lines.iter().zip(&r.progress.lines) {
            prop_assert!(
                p.done.get() <= line.qty.get(),
                "task {} over its line",
                r.spec.id
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn no_input_sequence_double_counts_goes_negative_or_changes_state_on_rejection(
        kinds in 0usize..5,
        picks in proptest::collection::vec(0usize..100, 1..80)
    ) {
        let alphabet = inputs();
        let mut dr = Driver::new(small_world(), "hh-1", &station_kinds(kinds));
        for (n, p) in picks.iter().enumerate() {
            // Sign in first most of the time, so flows get exercised.
            let input = if n == 0 {
                alphabet[0].clone()
            } else {
                alphabet[p % alphabet.len()].clone()
            };
            let is_confirm = matches!(
                &input,
                Input::Scan(crate::scan_payload::StationPayload::Command(Command::Confirm))
                    | Input::Command(Command::Confirm)
            );
            let out = dr.input(input.clone());
            if let (true, Outcome::Accepted(_)) = (is_confirm, &out) {
                let again = dr.input(input);
                if let Outcome::Accepted(a) = again {
                    prop_assert!(a.events.is_empty(), "a repeated confirm emitted {:?}", a.events);
                }
            }
        }
        check_no_double_counting(&dr.log, &dr.view.all_tasks())?;
        prop_assert_eq!(dr.negative_flags, 0);
        prop_assert!(dr.view.ledger().check_conservation().is_ok());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, .. ProptestConfig::default() })]

    #[test]
    fn two_stations_interleaved_never_drive_the_book_negative_or_double_count(
        steps in proptest::collection::vec((0usize..2, 0usize..100), 1..150)
    ) {
        // A contended world: 3 pens, two picks and a replenishment all wanting them.
        let alphabet: Vec<Input> = [
            "U:op-1".to_string(), "L:A-01-02".into(), "L:A-01-02".into(), "L:A-01-02".into(),
            "L:A-01-03".into(), pen_each(), pen_each(), pen_each(), pen_each(), pen_each(),
            "Q:1".into(), "Q:2".into(), "C:CONFIRM".into(), "C:CONFIRM".into(),
            "C:CONFIRM".into(), "C:SHORT".into(), "C:CANCEL".into(), "C:NEXT".into(),
            "T:TOTE-A".into(), "T:TOTE-B".into(),
        ]
        .iter()
        .map(|s| Input::Scan(classify_payload(s.as_bytes()).unwrap()))
        .chain([Input::Timeout])
        .collect();
        let mut view = world();
        stock(&mut view, "PEN", "A-01-02", "3");
        for (id, o) in [("PICK-A", "SO-A"), ("PICK-B", "SO-B")] {
            let mut t = task(id, TaskKind::Pick, vec![line("PEN", "2", Some("A-01-02"))]);
            t.order = Some(order(o));
            t.container = Some(tote(&format!("TOTE-{}", &id[5..])));
            view.put_spec(t);
        }
        let mut rpl = task("RPL-1", TaskKind::Replenish, vec![line("PEN", "2", Some("A-01-02"))]);
        rpl.lines[0].to = Some(loc("A-01-03"));
        view.put_spec(rpl);
        let mut stations: Vec<Station> = ["hh-1", "hh-2"]
            .iter()
            .map(|id| {
                let kinds = vec![TaskKind::Pick, TaskKind::Replenish];
                Station::new(StationConfig::new(StationId::new(*id).unwrap(), kinds))
            })
            .collect();
        let mut log = Vec::new();
        let mut negative = 0usize;
        let mut now = T0;
        let sign_in = [(0usize, 0usize), (1, 0)];
        for (k, p) in sign_in.iter().copied().chain(steps) {
            now += 1000;
            let station = &mut stations[k];
            let before = station.flow_state();
            match station.handle(&view, alphabet[p % alphabet.len()].clone(), now) {
                Outcome::Accepted(a) => {
                    let applied = view.apply_accepted(&a, now).unwrap();
                    negative += applied
                        .iter()
                        .flat_map(|x| x.flags.iter())
                        .filter(|f| matches!(f, crate::ledger::Flag::NegativeBalance { .. }))
                        .count();
                    log.extend(a.events.iter().map(|e| (a.task.clone(), e.clone())));
                }
                Outcome::Rejected(_) => prop_assert_eq!(station.flow_state(), before),
            }
            // No task is worked by both stations at once.
            let a = stations[0].work().map(|w| w.record.spec.id.clone());
            let b = stations[1].work().map(|w| w.record.spec.id.clone());
            prop_assert!(a.is_none() || a != b, "both stations work on {:?}", a);
        }
        check_no_double_counting(&log, &view.all_tasks())?;
        prop_assert_eq!(negative, 0);
        prop_assert!(view.ledger().check_conservation().is_ok());
    }
}

/// The random walks reach every flow's events (so the property above is not vacuous).
#[test]
fn random_walks_over_the_small_world_reach_the_events_of_every_flow() {
    let alphabet = inputs();
    let mut seen = std::collections::BTreeSet::new();
    let mut seed: u64 = 42;
    for walk in 0..400 {
        let mut dr = Driver::new(small_world(), "hh-1", &station_kinds(walk));
        dr.input(alphabet[0].clone());
        for _ in 0..120 {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let i = usize::try_from(seed >> 33).unwrap() % alphabet.len();
            dr.input(alphabet[i].clone());
        }
        seen.extend(dr.log.iter().map(|(_, e)| e.kind()));
    }
    for kind in [
        "pick",
        "short_pick",
        "receive",
        "move",
        "count_result",
        "return_receive",
        "disposition",
        "pack",
        "ship",
    ] {
        assert!(seen.contains(kind), "{kind} never reached: {seen:?}");
    }
}
