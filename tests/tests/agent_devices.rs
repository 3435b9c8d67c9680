//! A pack station driven by its devices: a pty scanner simulator, a pty scale simulator
//! (generic continuous indicator) and the TCP ZPL printer simulator, wired to the station
//! runtime exactly as `[[stations]]` devices are (`stockpost_tests::station_devices`).

#![allow(clippy::unwrap_used)]

use std::str::FromStr;
use std::time::Duration;
use stockpost_common::domain::{Dec, EventBody, OrderRef, TaskId};
use stockpost_common::tasks::{TaskKind, TaskSpec};
use stockpost_tests::fleet::record_receipt;
use stockpost_tests::shift::weigh;
use stockpost_tests::station::{mug, task_line, StationAgent, STATIONS};

/// An agent whose handheld picked SO-1's three mugs into TOTE-1 (through the scan API):
/// finishing the pick created the pack task for TOTE-1.
async fn agent_with_a_picked_tote(dir: &std::path::Path) -> StationAgent {
    let a = StationAgent::start(dir, STATIONS).await.unwrap();
    a.seed_world().await.unwrap();
    record_receipt(&a.node.writer, "P-01-01", "MUG-BLUE", "10")
        .await
        .unwrap();
    let mut pick = TaskSpec::new(TaskId::new("PK-1").unwrap(), TaskKind::Pick);
    pick.lines = vec![task_line("MUG-BLUE", "3", Some("P-01-01"), None)];
    pick.order = Some(OrderRef::new("SO-1").unwrap());
    a.task(pick).await.unwrap();
    for s in [
        "U:op-1",
        "T:TOTE-1",
        "L:P-01-01",
        &mug(),
        "Q:3",
        "C:CONFIRM",
        "T:TOTE-1",
    ] {
        a.ok("hh-1", s).await.unwrap();
    }
    a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pack_station_packs_by_scanner_and_scale_ignores_the_empty_platform_prints_the_label_and_ships_by_scanner(
) {
    let dir = tempfile::tempdir().unwrap();
    let mut a = agent_with_a_picked_tote(dir.path()).await;

    // Devices of pack-1: the packer's scans go through its pty scanner, the carton onto its
    // pty scale (an empty platform until then), the label to the TCP printer simulator.
    a.plug_scanner("pack-1").await.unwrap();
    let mut readings = a.plug_scale("pack-1").await.unwrap();
    let printer_sim = a.plug_printer("pack-1").await.unwrap();

    // Written without waiting for each answer, as a quick operator scans.
    {
        let mut routes = a.routes.lock().await;
        let scan_gun = routes.scanner("pack-1").unwrap();
        for s in ["U:op-2", "T:TOTE-1", &mug(), "Q:3", "T:CARTON-1"] {
            scan_gun.send(s).await.unwrap();
        }
    }
    a.wait_station("pack-1", |s| s["expect"]["scan"] == "weight")
        .await
        .unwrap();
    // Two more stable empty-platform readings reach the station while it waits for a weight:
    // neither is tried as the carton's weight.
    for _ in 0..2 {
        readings
            .wait_for(|r| r.as_ref().is_some_and(|r| r.stable))
            .await
            .unwrap();
        readings.mark_unchanged();
        readings.changed().await.unwrap();
    }
    let s = a.get("/api/v1/stations/pack-1").await.unwrap();
    assert_eq!(s["expect"]["scan"], "weight", "{s}");
    assert!(s["last_error"].is_null(), "an empty scale was weighed: {s}");

    // 3 × 0.350 + 0.200 carton = 1.250 kg ± 5 %: the carton at 1.400 kg is a mismatch.
    let v = weigh(&a, "pack-1", "1.400", true).await.unwrap();
    assert_eq!(v["accepted"], false, "{v}");
    assert_eq!(v["error"]["code"], "weight_mismatch", "{v}");
    assert_eq!(v["station"]["expect"]["scan"], "weight", "{v}");
    let v = weigh(&a, "pack-1", "1.260", true).await.unwrap();
    assert_eq!(v["accepted"], true, "{v}");
    assert_eq!(v["station"]["task"]["kind"], "ship", "{v}");
    assert_eq!(v["station"]["expect"]["scan"], "label", "{v}");

    // The label reaches the printer.
    let mut printed = printer_sim.printed();
    let got = tokio::time::timeout(
        Duration::from_secs(10),
        printed.wait_for(|jobs| jobs.iter().any(|j| j.contains("CARTON-1"))),
    )
    .await
    .is_ok();
    assert!(got, "label printed: {:?}", *printer_sim.printed().borrow());

    // Ship at the dock with the same scanner.
    let s = a.ok("pack-1", "T:CARTON-1").await.unwrap();
    assert!(s["task"].is_null(), "{s}");
    let events: Vec<EventBody> = a.outbox().unwrap().into_iter().map(|e| e.body).collect();
    let packs: Vec<&EventBody> = events
        .iter()
        .filter(|e| matches!(e, EventBody::Pack { .. }))
        .collect();
    assert!(
        matches!(packs[..], [EventBody::Pack { measured_kg: Some(m), .. }] if m.get() == Dec::from_str("1.260").unwrap()),
        "{packs:?}"
    );
    assert!(events.iter().any(
        |e| matches!(e, EventBody::Ship { container, .. } if container.as_str() == "CARTON-1")
    ));
    let metrics = stockpost_tests::station::http_text(a.addr, "GET", "/metrics", None)
        .await
        .unwrap()
        .1;
    assert!(
        metrics
            .contains("stockpost_agent_device_connected{station=\"pack-1\",device=\"scanner\"} 1"),
        "{metrics}"
    );
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_label_is_in_the_print_spool_when_the_weighing_that_asked_for_it_is_answered() {
    use std::sync::Arc;
    use std::time::Duration;
    use stockpost_agent::devices::printer::{PrinterDriver, PrinterOptions};
    use stockpost_agent::devices::spool::Spool;
    use stockpost_agent::devices::{BackoffConfig, Connector};
    use stockpost_tests::shift::{pack, Scan};

    let dir = tempfile::tempdir().unwrap();
    let mut a = agent_with_a_picked_tote(dir.path()).await;
    // The printer is off (nothing listens): whatever is in the spool stays there.
    let off = stockpost_tests::mosquitto::free_port().unwrap();
    let spool = Spool::open(a.node.store.raw().clone()).unwrap();
    let driver = PrinterDriver::spawn(
        PrinterOptions {
            status_timeout: Duration::from_millis(200),
            status_poll: Duration::from_millis(50),
            idle_poll: Duration::from_millis(200),
            write_timeout: Duration::from_secs(1),
            backoff: BackoffConfig {
                initial_ms: 50,
                max_ms: 200,
            },
        },
        Connector::TcpConnect {
            addr: format!("127.0.0.1:{off}"),
            timeout: Duration::from_millis(200),
        },
        spool.clone(),
    );
    let stations = Arc::clone(&a.node.stations);
    a.devices
        .attach_printer(&stations, "pack-1", spool.clone(), driver);
    a.ok("pack-1", "U:op-2").await.unwrap();
    let v = pack(
        &a,
        "pack-1",
        "TOTE-1",
        &[Scan {
            gtin: &mug(),
            qty: "3",
        }],
        "CARTON-1",
        "1.260",
    )
    .await
    .unwrap();
    assert_eq!(v["accepted"], true, "{v}");
    // Answered means committed, and the label was committed with it.
    let jobs = spool.pending(10).await.unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0].reference, "SO-1 CARTON-1");
    assert!(String::from_utf8_lossy(&jobs[0].zpl).contains("CARTON-1"));
    drop(stations); // the runtime holds a writer handle: the node stops when the last one goes
    a.stop().await;
}
