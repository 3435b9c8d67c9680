//! End-to-end station flows through the agent's HTTP scan API: each test drives a flow by
//! scans, then checks the recorded events (outbox) and the stock (`GET /api/v1/stock`).

#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::str::FromStr;
use stockpost_common::domain::{Dec, EventBody, MovePurpose, Place};
use stockpost_tests::station::{http, mug, StationAgent, STATIONS};

fn d(s: &str) -> Dec {
    Dec::from_str(s).unwrap()
}

async fn agent(dir: &std::path::Path) -> StationAgent {
    let a = StationAgent::start(dir, STATIONS).await.unwrap();
    a.seed_world().await.unwrap();
    a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blind_receipt_and_its_putaway_through_http_record_receive_and_move_and_the_stock_follows() {
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
    let events = a.outbox().unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e.id.seq).collect();
    assert_eq!(seqs, vec![1, 2], "one receive and one move, numbered gaplessly");
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
    assert!(kinds.contains(&("receive".into(), "done".into())), "{kinds:?}");
    assert!(kinds.contains(&("putaway".into(), "done".into())), "{kinds:?}");
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_scan_is_a_200_refusal_that_changes_nothing_and_shows_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let a = agent(dir.path()).await;
    let v = a.refused("hh-1", "L:A-01-01", "not_signed_in").await.unwrap();
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
    let (status, v) = http(a.addr, "POST", "/api/v1/stations/nope/scan", Some("{\"data\":\"U:x\"}"))
        .await
        .unwrap();
    assert_eq!((status, v["error"]["code"].clone()), (404, Value::from("unknown_station")));
    let (status, _) = http(a.addr, "GET", "/api/v1/stations/nope", None).await.unwrap();
    assert_eq!(status, 404);
    for bad in ["", "{", "{\"data\": 5}", "{\"dat\": \"U:x\"}", "[]", "{\"data\": \"U:x\\r\\n\"}"] {
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
