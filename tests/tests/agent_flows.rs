//! End-to-end station flows through the agent's HTTP scan API: each test drives a flow by
//! scans, then checks the recorded events (outbox) and the stock (`GET /api/v1/stock`).

#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::str::FromStr;
use stockpost_common::domain::{ContainerId, DocRef, LocationCode, OrderRef, TaskId};
use stockpost_common::domain::{Dec, EventBody, MovePurpose, Place, ReasonCode};
use stockpost_common::tasks::TaskKind;
use stockpost_common::wire::DownlinkItem;
use stockpost_tests::fleet::record_receipt;
use stockpost_tests::station::{
    http, mug, pen, task_line as line, task_spec as spec, StationAgent, STATIONS,
};

fn d(s: &str) -> Dec {
    Dec::from_str(s).unwrap()
}

/// Events of the outbox after `after` (a seq), as bodies.
fn bodies_after(a: &StationAgent, after: u64) -> Vec<EventBody> {
    a.outbox()
        .unwrap()
        .into_iter()
        .filter(|e| e.id.seq > after && !e.body.is_task_report())
        .map(|e| e.body)
        .collect()
}

fn head(a: &StationAgent) -> u64 {
    stockpost_agent::writer::lock(a.node.writer.state()).head
}

/// How many stock events (not task reports) the outbox holds.
fn stock_count(a: &StationAgent) -> usize {
    a.outbox()
        .unwrap()
        .iter()
        .filter(|e| !e.body.is_task_report())
        .count()
}

/// Picks SO-1 (3 MUG-BLUE from P-01-01) into TOTE-1 at hh-1.
async fn pick_so1(a: &StationAgent) {
    record_receipt(&a.node.writer, "P-01-01", "MUG-BLUE", "10")
        .await
        .unwrap();
    let mut t = spec(
        "PK-1",
        TaskKind::Pick,
        vec![line("MUG-BLUE", "3", Some("P-01-01"), None)],
    );
    t.order = Some(OrderRef::new("SO-1").unwrap());
    a.task(t).await.unwrap();
    a.ok("hh-1", "U:op-1").await.unwrap();
    a.ok("hh-1", "T:TOTE-1").await.unwrap();
    a.ok("hh-1", "L:P-01-01").await.unwrap();
    a.ok("hh-1", &mug()).await.unwrap();
    a.ok("hh-1", "Q:3").await.unwrap();
    a.ok("hh-1", "C:CONFIRM").await.unwrap();
    a.ok("hh-1", "T:TOTE-1").await.unwrap();
}

async fn agent(dir: &std::path::Path) -> StationAgent {
    let a = StationAgent::start(dir, STATIONS).await.unwrap();
    a.seed_world().await.unwrap();
    a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blind_receipt_and_its_putaway_through_http_record_receive_and_move_and_the_stock_follows(
) {
    let dir = tempfile::tempdir().unwrap();
    let a = agent(dir.path()).await;

    let s = a.ok("hh-1", "U:op-1").await.unwrap();
    assert_eq!(s["operator"], "op-1");
    assert_eq!(s["expect"]["scan"], "task");
    let s = a.ok("hh-1", &mug()).await.unwrap();
    assert_eq!(s["task"]["kind"], "receive");
    a.ok("hh-1", "Q:5").await.unwrap();
    a.ok("hh-1", "C:CONFIRM").await.unwrap();
    assert_eq!(a.on_hand("MUG-BLUE", "DOCK-1").await.unwrap(), d("5"));
    // Closing the blind receipt directs the station to the putaway it created.
    let s = a.ok("hh-1", "C:CONFIRM").await.unwrap();
    assert_eq!(s["task"]["kind"], "putaway", "{s}");
    assert_eq!(s["expect"]["scan"], "item");
    let s = a.ok("hh-1", &mug()).await.unwrap();
    assert_eq!(s["expect"]["scan"], "location");
    let to = s["expect"]["location"].as_str().unwrap().to_string();
    a.ok("hh-1", &format!("L:{to}")).await.unwrap();

    assert_eq!(a.on_hand("MUG-BLUE", "DOCK-1").await.unwrap(), d("0"));
    assert_eq!(a.on_hand("MUG-BLUE", &to).await.unwrap(), d("5"));
    let all = a.outbox().unwrap();
    let seqs: Vec<u64> = all.iter().map(|e| e.id.seq).collect();
    assert_eq!(
        seqs,
        (1..=all.len() as u64).collect::<Vec<_>>(),
        "numbered gaplessly"
    );
    // The node reports both tasks it made, and that both finished, beside the stock events.
    let reports: Vec<String> = all
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::TaskDefined { spec } => Some(format!("defined {}", spec.kind.as_str())),
            EventBody::TaskProgress { task, status, .. } => {
                let kind = if task.as_str().contains("PUT") {
                    "putaway"
                } else {
                    "receive"
                };
                Some(format!("{kind} {status:?}"))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        reports.first().map(String::as_str),
        Some("defined receive"),
        "{reports:?}"
    );
    assert!(
        reports.contains(&"defined putaway".to_string()),
        "{reports:?}"
    );
    assert_eq!(
        reports.iter().filter(|r| r.ends_with("Done")).count(),
        2,
        "both tasks finished: {reports:?}"
    );
    let events: Vec<_> = all
        .into_iter()
        .filter(|e| !e.body.is_task_report())
        .collect();
    assert_eq!(events.len(), 2, "one receive and one move");
    assert!(matches!(&events[0].body, EventBody::Receive { qty, .. } if qty.get() == d("5")));
    assert!(matches!(
        &events[1].body,
        EventBody::Move { purpose: MovePurpose::Putaway, to: Place::Location(l), .. } if l.as_str() == to
    ));
    assert!(events
        .iter()
        .all(|e| e.operator.as_ref().map(|o| o.as_str()) == Some("op-1")
            && e.station.as_ref().map(|s| s.as_str()) == Some("hh-1")));

    let tasks = a.get("/api/v1/tasks").await.unwrap();
    let kinds: Vec<(String, String)> = tasks["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["kind"].as_str().unwrap().to_string(),
                t["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        kinds.contains(&("receive".into(), "done".into())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("putaway".into(), "done".into())),
        "{kinds:?}"
    );
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_scan_is_a_200_refusal_that_changes_nothing_and_shows_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let a = agent(dir.path()).await;
    let v = a
        .refused("hh-1", "L:A-01-01", "not_signed_in")
        .await
        .unwrap();
    assert_eq!(v["station"]["last_error"]["code"], "not_signed_in");
    assert!(v["error"]["message"].as_str().unwrap().contains("badge"));
    a.ok("hh-1", "U:op-1").await.unwrap();
    let v = a.refused("hh-1", "C:CONFIRM", "no_task").await.unwrap();
    assert_eq!(v["station"]["operator"], "op-1");
    let v = a.refused("hh-1", "Q:abc", "unreadable_scan").await.unwrap();
    assert_eq!(v["station"]["last_error"]["code"], "unreadable_scan");
    let state = a.get("/api/v1/stations/hh-1").await.unwrap();
    assert_eq!(state["expect"]["scan"], "task");
    assert!(a.outbox().unwrap().is_empty(), "a refusal records nothing");
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_station_is_404_and_a_malformed_body_is_400_with_the_contract_error() {
    let dir = tempfile::tempdir().unwrap();
    let a = agent(dir.path()).await;
    let (status, v) = http(
        a.addr,
        "POST",
        "/api/v1/stations/nope/scan",
        Some("{\"data\":\"U:x\"}"),
    )
    .await
    .unwrap();
    assert_eq!(
        (status, v["error"]["code"].clone()),
        (404, Value::from("unknown_station"))
    );
    let (status, _) = http(a.addr, "GET", "/api/v1/stations/nope", None)
        .await
        .unwrap();
    assert_eq!(status, 404);
    for bad in [
        "",
        "{",
        "{\"data\": 5}",
        "{\"dat\": \"U:x\"}",
        "[]",
        "{\"data\": \"U:x\\r\\n\"}",
    ] {
        let (status, v) = http(a.addr, "POST", "/api/v1/stations/hh-1/scan", Some(bad))
            .await
            .unwrap();
        assert_eq!(status, 400, "{bad}: {v}");
        assert_eq!(v["error"]["code"], "invalid_body", "{bad}");
        assert!(!v["error"]["message"].as_str().unwrap().is_empty());
    }
    let state = a.get("/api/v1/stations/hh-1").await.unwrap();
    assert_eq!(state["operator"], Value::Null, "nothing was signed in");
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_fired_scan_counts_once_and_a_repeat_after_the_window_counts_again() {
    let dir = tempfile::tempdir().unwrap();
    let a = StationAgent::start(
        dir.path(),
        "[[stations]]\nid = \"hh-1\"\nkinds = [\"receive\"]\nreceiving_location = \"DOCK-1\"\nduplicate_window_ms = 400\n",
    )
    .await
    .unwrap();
    a.seed_world().await.unwrap();
    a.ok("hh-1", "U:op-1").await.unwrap();
    a.ok("hh-1", &mug()).await.unwrap();
    let v = a.scan("hh-1", &mug()).await.unwrap();
    assert_eq!(v["duplicate"], true, "{v}");
    // After the window the same scan is an intended repeat. Wait on the clock, not a sleep:
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(450);
    tokio::time::sleep_until(deadline).await;
    a.ok("hh-1", &mug()).await.unwrap();
    a.ok("hh-1", "C:CONFIRM").await.unwrap();
    assert_eq!(a.on_hand("MUG-BLUE", "DOCK-1").await.unwrap(), d("2"));
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeat_of_a_refused_scan_inside_the_window_is_handled_again_and_not_called_a_duplicate()
{
    let dir = tempfile::tempdir().unwrap();
    // A window of a minute: every repeat below is inside it.
    let a = StationAgent::start(
        dir.path(),
        "[[stations]]\nid = \"hh-1\"\nkinds = [\"receive\"]\nreceiving_location = \"DOCK-1\"\nduplicate_window_ms = 60000\n",
    )
    .await
    .unwrap();
    a.seed_world().await.unwrap();
    // Nobody is signed in: the product scan is refused, and so is its repeat.
    for attempt in 0..2 {
        let v = a.scan("hh-1", &mug()).await.unwrap();
        assert_eq!(v["accepted"], false, "attempt {attempt}: {v}");
        assert_eq!(v.get("duplicate"), None, "attempt {attempt}: {v}");
        assert!(v["error"]["code"].is_string(), "attempt {attempt}: {v}");
    }
    // An accepted scan's repeat is the double-fire the filter is for.
    a.ok("hh-1", "U:op-1").await.unwrap();
    let v = a.scan("hh-1", "U:op-1").await.unwrap();
    assert_eq!(v["duplicate"], true, "{v}");
    // The product scan, refused twice before, now counts once.
    a.ok("hh-1", &mug()).await.unwrap();
    let v = a.scan("hh-1", &mug()).await.unwrap();
    assert_eq!(v["duplicate"], true, "{v}");
    a.ok("hh-1", "C:CONFIRM").await.unwrap();
    assert_eq!(a.on_hand("MUG-BLUE", "DOCK-1").await.unwrap(), d("1"));
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiving_against_a_notice_refuses_an_over_receipt_and_closes_when_complete() {
    let dir = tempfile::tempdir().unwrap();
    let a = agent(dir.path()).await;
    let mut t = spec(
        "RCV-1",
        TaskKind::Receive,
        vec![line("MUG-BLUE", "24", None, None)],
    );
    t.doc = Some(DocRef::new("ASN-1001").unwrap());
    a.task(t).await.unwrap();
    let s = a.ok("hh-1", "U:op-1").await.unwrap();
    assert_eq!(s["task"]["ref"], "ASN-1001", "{s}");
    a.ok("hh-1", &stockpost_tests::station::mug_case())
        .await
        .unwrap();
    a.ok("hh-1", "Q:2").await.unwrap();
    a.refused("hh-1", &mug(), "over_receipt").await.unwrap();
    a.ok("hh-1", "C:CONFIRM").await.unwrap();
    assert_eq!(a.on_hand("MUG-BLUE", "DOCK-1").await.unwrap(), d("24"));
    let ev = bodies_after(&a, 0);
    assert_eq!(ev.len(), 1);
    assert!(
        matches!(&ev[0], EventBody::Receive { qty, inbound: Some(doc), .. } if qty.get() == d("24") && doc.as_str() == "ASN-1001")
    );
    let tasks = a.get("/api/v1/tasks?kind=receive").await.unwrap();
    assert_eq!(tasks["tasks"][0]["status"], "done", "{tasks}");
    let open_putaways = a
        .get("/api/v1/tasks?kind=putaway&status=open")
        .await
        .unwrap();
    assert_eq!(open_putaways["tasks"].as_array().unwrap().len(), 1);
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn picking_checks_location_and_item_and_a_short_pick_records_what_was_found() {
    let dir = tempfile::tempdir().unwrap();
    let a = agent(dir.path()).await;
    record_receipt(&a.node.writer, "P-01-01", "MUG-BLUE", "10")
        .await
        .unwrap();
    record_receipt(&a.node.writer, "A-01-02", "PEN-RED", "1")
        .await
        .unwrap();
    let before = head(&a);
    let mut t = spec(
        "PK-1",
        TaskKind::Pick,
        vec![
            line("MUG-BLUE", "3", Some("P-01-01"), None),
            line("PEN-RED", "2", Some("A-01-02"), None),
        ],
    );
    t.order = Some(OrderRef::new("SO-1").unwrap());
    a.task(t).await.unwrap();
    let s = a.ok("hh-1", "U:op-1").await.unwrap();
    assert_eq!(s["task"]["kind"], "pick");
    assert_eq!(s["expect"]["scan"], "container");
    a.ok("hh-1", "T:TOTE-1").await.unwrap();
    let v = a
        .refused("hh-1", "L:A-01-01", "wrong_location")
        .await
        .unwrap();
    assert!(v["error"]["message"].as_str().unwrap().contains("P-01-01"));
    let s = a.ok("hh-1", "L:P-01-01").await.unwrap();
    assert_eq!(s["expect"]["sku"], "MUG-BLUE");
    a.refused("hh-1", &pen(), "wrong_item").await.unwrap();
    a.ok("hh-1", &mug()).await.unwrap();
    a.refused("hh-1", "Q:4", "over_pick").await.unwrap();
    a.ok("hh-1", "Q:3").await.unwrap();
    a.ok("hh-1", "C:CONFIRM").await.unwrap();
    a.ok("hh-1", "L:A-01-02").await.unwrap();
    a.ok("hh-1", &pen()).await.unwrap();
    a.refused("hh-1", "C:CONFIRM", "pick_incomplete")
        .await
        .unwrap();
    a.ok("hh-1", "C:SHORT").await.unwrap();
    a.refused("hh-1", "T:TOTE-2", "wrong_container")
        .await
        .unwrap();
    let s = a.ok("hh-1", "T:TOTE-1").await.unwrap();
    assert_eq!(s["task"], Value::Null, "{s}");

    let ev = bodies_after(&a, before);
    assert_eq!(ev.len(), 3, "{ev:?}");
    assert!(
        matches!(&ev[0], EventBody::Pick { qty, to, .. } if qty.get() == d("3") && to.as_str() == "TOTE-1")
    );
    assert!(matches!(&ev[1], EventBody::Pick { qty, .. } if qty.get() == d("1")));
    assert!(
        matches!(&ev[2], EventBody::ShortPick { expected, picked, .. } if expected.get() == d("2") && picked.get() == d("1"))
    );
    assert_eq!(a.on_hand("MUG-BLUE", "P-01-01").await.unwrap(), d("7"));
    assert_eq!(a.on_hand("PEN-RED", "A-01-02").await.unwrap(), d("0"));
    assert_eq!(a.on_hand("MUG-BLUE", "TOTE-1").await.unwrap(), d("3"));
    let tasks = a.get("/api/v1/tasks?kind=pick").await.unwrap();
    assert_eq!(tasks["tasks"][0]["status"], "done");
    assert_eq!(tasks["tasks"][0]["lines"][1]["done"], "1");
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packing_check_weighs_the_carton_requests_a_label_and_the_carton_ships_at_the_dock() {
    let dir = tempfile::tempdir().unwrap();
    let a = agent(dir.path()).await;
    pick_so1(&a).await;
    let before = head(&a);
    let mut t = spec(
        "PACK-SO-1",
        TaskKind::Pack,
        vec![line("MUG-BLUE", "3", None, None)],
    );
    t.order = Some(OrderRef::new("SO-1").unwrap());
    t.container = Some(ContainerId::new("TOTE-1").unwrap());
    a.task(t).await.unwrap();
    let s = a.ok("pack-1", "U:op-2").await.unwrap();
    assert_eq!(s["task"]["kind"], "pack", "{s}");
    a.ok("pack-1", "T:TOTE-1").await.unwrap();
    a.refused("pack-1", &pen(), "wrong_item").await.unwrap();
    a.ok("pack-1", &mug()).await.unwrap();
    a.ok("pack-1", "Q:3").await.unwrap();
    let s = a.ok("pack-1", "T:CARTON-1").await.unwrap();
    assert_eq!(s["expect"]["scan"], "weight", "{s}");
    // Expected: 3 × 0.350 + 0.200 tare = 1.250 kg ± 5 %.
    let weigh = |kg: &'static str, stable: bool| {
        let body = serde_json::json!({"kg": kg, "stable": stable}).to_string();
        let addr = a.addr;
        async move {
            http(addr, "POST", "/api/v1/stations/pack-1/weight", Some(&body))
                .await
                .unwrap()
        }
    };
    let stocked = stock_count(&a);
    let (status, v) = weigh("1.400", true).await;
    assert_eq!(
        (status, v["error"]["code"].clone()),
        (200, Value::from("weight_mismatch")),
        "{v}"
    );
    let (_, v) = weigh("1.260", false).await;
    assert_eq!(v["error"]["code"], "weight_unstable");
    assert_eq!(stock_count(&a), stocked, "refused weighings record nothing");
    let (_, v) = weigh("1.260", true).await;
    assert_eq!(v["accepted"], true, "{v}");
    assert_eq!(
        v["station"]["task"]["kind"], "ship",
        "the station is directed to the shipment"
    );
    let ev = bodies_after(&a, before);
    assert!(
        matches!(&ev[..], [EventBody::Pack { carton, measured_kg: Some(m), .. }] if carton.as_str() == "CARTON-1" && m.get() == d("1.260")),
        "{ev:?}"
    );
    let metrics = http_text_get(&a, "/metrics").await;
    assert!(
        metrics.contains("stockpost_agent_station_steps_total{flow=\"pack\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("stockpost_agent_station_errors_total{code=\"weight_mismatch\"} 1"));

    a.refused("pack-1", "T:CARTON-9", "unknown_container")
        .await
        .unwrap();
    a.ok("pack-1", "T:CARTON-1").await.unwrap();
    let ev = bodies_after(&a, before);
    assert!(
        matches!(&ev[1], EventBody::Ship { container, order, .. } if container.as_str() == "CARTON-1" && order.as_str() == "SO-1"),
        "{ev:?}"
    );
    assert_eq!(a.on_hand("MUG-BLUE", "CARTON-1").await.unwrap(), d("0"));
    assert_eq!(a.on_hand("MUG-BLUE", "TOTE-1").await.unwrap(), d("0"));
    a.stop().await;
}

async fn http_text_get(a: &StationAgent, path: &str) -> String {
    stockpost_tests::station::http_text(a.addr, "GET", path, None)
        .await
        .unwrap()
        .1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blind_count_records_counted_against_book_and_the_variance_changes_the_stock() {
    let dir = tempfile::tempdir().unwrap();
    let a = agent(dir.path()).await;
    record_receipt(&a.node.writer, "A-01-01", "MUG-BLUE", "5")
        .await
        .unwrap();
    let before = head(&a);
    let mut t = spec("CNT-1", TaskKind::Count, vec![]);
    t.locations = vec![LocationCode::new("A-01-01").unwrap()];
    a.task(t).await.unwrap();
    let s = a.ok("hh-1", "U:op-1").await.unwrap();
    assert_eq!(s["task"]["kind"], "count");
    assert_eq!(
        s["expect"].get("qty"),
        None,
        "a blind count never shows the book"
    );
    a.refused("hh-1", "L:A-01-02", "wrong_location")
        .await
        .unwrap();
    a.ok("hh-1", "L:A-01-01").await.unwrap();
    a.ok("hh-1", &mug()).await.unwrap();
    a.ok("hh-1", "Q:4").await.unwrap();
    a.ok("hh-1", "C:CONFIRM").await.unwrap();
    let ev = bodies_after(&a, before);
    assert!(
        matches!(&ev[..], [EventBody::CountResult { counted, expected, .. }] if counted.get() == d("4") && expected.get() == d("5")),
        "{ev:?}"
    );
    assert_eq!(a.on_hand("MUG-BLUE", "A-01-01").await.unwrap(), d("4"));
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replenishment_moves_stock_from_reserve_to_the_forward_location() {
    let dir = tempfile::tempdir().unwrap();
    let a = agent(dir.path()).await;
    record_receipt(&a.node.writer, "A-01-01", "MUG-BLUE", "8")
        .await
        .unwrap();
    let before = head(&a);
    a.task(spec(
        "REP-1",
        TaskKind::Replenish,
        vec![line("MUG-BLUE", "5", Some("A-01-01"), Some("P-01-01"))],
    ))
    .await
    .unwrap();
    let s = a.ok("hh-1", "U:op-1").await.unwrap();
    assert_eq!(s["task"]["kind"], "replenish");
    a.refused("hh-1", "L:A-01-02", "wrong_location")
        .await
        .unwrap();
    a.ok("hh-1", "L:A-01-01").await.unwrap();
    a.ok("hh-1", &mug()).await.unwrap();
    a.ok("hh-1", "Q:5").await.unwrap();
    a.ok("hh-1", "C:CONFIRM").await.unwrap();
    a.refused("hh-1", "L:A-01-02", "wrong_location")
        .await
        .unwrap();
    a.ok("hh-1", "L:P-01-01").await.unwrap();
    let ev = bodies_after(&a, before);
    assert!(
        matches!(&ev[..], [EventBody::Move { purpose: MovePurpose::Replenish, qty, .. }] if qty.get() == d("5")),
        "{ev:?}"
    );
    assert_eq!(a.on_hand("MUG-BLUE", "A-01-01").await.unwrap(), d("3"));
    assert_eq!(a.on_hand("MUG-BLUE", "P-01-01").await.unwrap(), d("5"));
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_is_received_and_dispositioned_per_item() {
    let dir = tempfile::tempdir().unwrap();
    let a = agent(dir.path()).await;
    let mut t = spec(
        "RET-77",
        TaskKind::Return,
        vec![
            line("MUG-BLUE", "2", None, None),
            line("PEN-RED", "1", None, None),
        ],
    );
    t.doc = Some(DocRef::new("RMA-77").unwrap());
    t.order = Some(OrderRef::new("SO-5001").unwrap());
    a.task(t).await.unwrap();
    let s = a.ok("hh-1", "U:op-1").await.unwrap();
    assert_eq!(s["task"]["kind"], "return");
    a.refused("hh-1", "O:SO-9", "wrong_order").await.unwrap();
    a.ok("hh-1", "O:RMA-77").await.unwrap();
    a.ok("hh-1", &mug()).await.unwrap();
    a.ok("hh-1", "C:RESTOCK").await.unwrap();
    a.ok("hh-1", &mug()).await.unwrap();
    a.ok("hh-1", "C:QUARANTINE").await.unwrap();
    a.ok("hh-1", &pen()).await.unwrap();
    let s = a.ok("hh-1", "C:SCRAP").await.unwrap();
    assert_eq!(s["task"], Value::Null, "the return closed: {s}");
    let ev = bodies_after(&a, 0);
    let returns = ev
        .iter()
        .filter(|e| matches!(e, EventBody::ReturnReceive { .. }))
        .count();
    let dispositions = ev
        .iter()
        .filter(|e| matches!(e, EventBody::Disposition { .. }))
        .count();
    assert_eq!((returns, dispositions), (3, 3), "{ev:?}");
    // Restocked and quarantined mugs are on hand at the returns location; the pen was scrapped.
    assert_eq!(a.on_hand("MUG-BLUE", "RET-1").await.unwrap(), d("2"));
    assert_eq!(a.on_hand("PEN-RED", "RET-1").await.unwrap(), d("0"));
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_cancelled_by_the_hub_leaves_the_station_and_is_not_offered_again() {
    let dir = tempfile::tempdir().unwrap();
    let a = agent(dir.path()).await;
    record_receipt(&a.node.writer, "P-01-01", "MUG-BLUE", "10")
        .await
        .unwrap();
    let mut t = spec(
        "PK-9",
        TaskKind::Pick,
        vec![line("MUG-BLUE", "1", Some("P-01-01"), None)],
    );
    t.order = Some(OrderRef::new("SO-9").unwrap());
    a.task(t).await.unwrap();
    let s = a.ok("hh-1", "U:op-1").await.unwrap();
    assert_eq!(s["task"]["id"], "PK-9");
    a.downlink(vec![DownlinkItem::TaskCancel {
        task: TaskId::new("PK-9").unwrap(),
    }])
    .await
    .unwrap();
    let s = a.get("/api/v1/stations/hh-1").await.unwrap();
    assert_eq!(s["task"], Value::Null, "{s}");
    assert_eq!(s["operator"], "op-1");
    a.refused("hh-1", "C:NEXT", "no_task").await.unwrap();
    let tasks = a.get("/api/v1/tasks?kind=pick").await.unwrap();
    assert_eq!(tasks["tasks"][0]["status"], "cancelled");
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_operator_is_signed_out_and_confirmed_progress_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let a = StationAgent::start(
        dir.path(),
        "[[stations]]\nid = \"hh-1\"\nkinds = [\"receive\"]\nreceiving_location = \"DOCK-1\"\nidle_logout_secs = 1\n",
    )
    .await
    .unwrap();
    a.seed_world().await.unwrap();
    a.ok("hh-1", "U:op-1").await.unwrap();
    a.ok("hh-1", &mug()).await.unwrap();
    a.ok("hh-1", "C:CONFIRM").await.unwrap();
    a.ok("hh-1", &mug()).await.unwrap(); // not confirmed: dropped at sign-out
    let s = a
        .wait_station("hh-1", |s| s["operator"].is_null())
        .await
        .unwrap();
    assert_eq!(s["expect"]["scan"], "operator");
    assert_eq!(a.on_hand("MUG-BLUE", "DOCK-1").await.unwrap(), d("1"));
    let tasks = a.get("/api/v1/tasks?kind=receive").await.unwrap();
    assert_eq!(tasks["tasks"][0]["status"], "in_progress", "{tasks}");
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_adjustment_is_reversed_by_the_node_as_an_adjust_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let a = agent(dir.path()).await;
    record_receipt(&a.node.writer, "P-01-01", "MUG-BLUE", "10")
        .await
        .unwrap();
    let before = head(&a);
    let reversal = DownlinkItem::ReverseAdjustment {
        adjustment: DocRef::new("ADJ-4").unwrap(),
        place: Place::Location(LocationCode::new("P-01-01").unwrap()),
        stock: stockpost_common::domain::StockRef::plain(
            stockpost_common::domain::Sku::new("MUG-BLUE").unwrap(),
        ),
        status: stockpost_common::domain::StockStatus::Available,
        delta: d("4"),
    };
    let seq = a.downlink(vec![reversal.clone()]).await.unwrap();
    // The same item again (a resend) is a duplicate: booked once.
    a.node.writer.downlink(seq, vec![reversal]).await.unwrap();
    let ev = bodies_after(&a, before);
    assert!(
        matches!(&ev[..], [EventBody::Adjust { delta, reason: ReasonCode::AdjustmentReversed, adjustment: Some(doc), .. }]
            if *delta == d("-4") && doc.as_str() == "ADJ-4"),
        "{ev:?}"
    );
    assert_eq!(a.on_hand("MUG-BLUE", "P-01-01").await.unwrap(), d("6"));
    a.stop().await;
}
