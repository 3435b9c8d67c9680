//! Every station flow end-to-end through a scanner on a real pty: the station's scanner driver
//! reads the pty slave, the test writes scans into the master as a serial scanner with AIM
//! symbology identifiers and a CR suffix sends them (GS1 data with `<GS>` separators), and
//! each test checks the events the flow recorded (kinds, quantities, lots, locations, in order,
//! from the outbox) and the stock in the agent's view (`GET /api/v1/stock`).
//!
//! Commands the operator gives (`C:CONFIRM`, `C:SHORT`, dispositions, …) are command barcodes
//! on the station's sheet, scanned like any other label: every step here is a scan.
//! Set-up that is not the flow under test (stock already on hand, a carton already packed)
//! goes through the writer or the HTTP scan API.

#![allow(clippy::unwrap_used)]

use stockpost_common::domain::{DocRef, EventBody, LocationCode, Lot, OrderRef, Place, StockRef};
use stockpost_common::tasks::TaskKind;
use stockpost_tests::fleet::record_receipt;
use stockpost_tests::pty_scanner::gs1::{datamatrix, ean13, gs1_128};
use stockpost_tests::pty_scanner::PtyScanner;
use stockpost_tests::station::{
    gtin14, handset, mug, mug_case, pen, task_line as line, task_spec as spec, tracked_items,
    vaccine, StationAgent, STATIONS,
};

fn place(p: &Place) -> String {
    match p {
        Place::Location(l) => l.to_string(),
        Place::Container(c) => c.to_string(),
    }
}

fn stock(s: &StockRef) -> String {
    let mut out = s.sku.to_string();
    if let Some(l) = &s.lot {
        out.push_str(&format!(" lot={l}"));
    }
    if let Some(x) = &s.serial {
        out.push_str(&format!(" serial={x}"));
    }
    if let Some(d) = &s.expiry {
        out.push_str(&format!(" exp={d}"));
    }
    out
}

/// One line per event: kind, stock, quantity, places and what else the flow decides.
fn show(e: &EventBody) -> String {
    match e {
        EventBody::Receive {
            location,
            stock: s,
            qty,
            status,
            inbound,
        } => format!(
            "receive {} x{qty} @{location} {status:?}{}",
            stock(s),
            inbound
                .as_ref()
                .map(|d| format!(" for {d}"))
                .unwrap_or_default()
        ),
        EventBody::Move {
            from,
            to,
            stock: s,
            status,
            qty,
            purpose,
            reason,
        } => format!(
            "move {} x{qty} {}->{} {status:?} {purpose:?}{}",
            stock(s),
            place(from),
            place(to),
            reason.map(|r| format!(" {r:?}")).unwrap_or_default()
        ),
        EventBody::Pick {
            from,
            to,
            stock: s,
            qty,
            order,
        } => format!("pick {} x{qty} {from}->{to} for {order}", stock(s)),
        EventBody::ShortPick {
            location,
            stock: s,
            expected,
            picked,
            order,
        } => format!(
            "short_pick {} @{location} expected {expected} picked {picked} for {order}",
            stock(s)
        ),
        EventBody::Ship {
            container,
            order,
            sscc,
            lines,
        } => format!(
            "ship {container} for {order} sscc={} lines={}",
            sscc.as_deref().unwrap_or("-"),
            lines.len()
        ),
        EventBody::CountResult {
            location,
            stock: s,
            status,
            counted,
            expected,
        } => format!(
            "count {} @{location} {status:?} counted {counted} book {expected}",
            stock(s)
        ),
        EventBody::ReturnReceive {
            location,
            stock: s,
            qty,
            rma,
            order,
        } => format!(
            "return {} x{qty} @{location} rma {rma}{}",
            stock(s),
            order
                .as_ref()
                .map(|o| format!(" order {o}"))
                .unwrap_or_default()
        ),
        EventBody::Disposition {
            location,
            stock: s,
            qty,
            disposition,
            rma,
        } => format!(
            "disposition {} x{qty} @{location} {disposition:?} rma {rma}",
            stock(s)
        ),
        other => format!("{} {other:?}", other.kind()),
    }
}

/// The recorded stock events after outbox sequence `after`, one line each, in order (the task
/// reports the node sends beside them are checked in agent_flows).
fn events_after(a: &StationAgent, after: u64) -> Vec<String> {
    a.outbox()
        .unwrap()
        .into_iter()
        .filter(|e| e.id.seq > after && !e.body.is_task_report())
        .map(|e| show(&e.body))
        .collect()
}

fn head(a: &StationAgent) -> u64 {
    stockpost_agent::writer::lock(a.node.writer.state()).head
}

/// How many stock events (not task reports) the outbox holds after sequence `after`.
fn stock_count_after(a: &StationAgent, after: u64) -> usize {
    events_after(a, after).len()
}

async fn agent(dir: &std::path::Path) -> StationAgent {
    let a = StationAgent::start(dir, STATIONS).await.unwrap();
    a.seed_world().await.unwrap();
    a.downlink(tracked_items().unwrap()).await.unwrap();
    a
}

fn lines(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiving_against_a_notice_by_pty_scanner_takes_lot_and_expiry_from_gs1_128_and_closes_the_notice(
) {
    let dir = tempfile::tempdir().unwrap();
    let mut a = agent(dir.path()).await;
    let mut t = spec(
        "RCV-7",
        TaskKind::Receive,
        vec![
            line("VAX-LOT", "30", None, None),
            line("MUG-BLUE", "24", None, None),
        ],
    );
    t.lines[0].lot = Some(Lot::new("L2611A").unwrap());
    t.doc = Some(DocRef::new("ASN-7").unwrap());
    a.task(t).await.unwrap();
    let mut scanner = PtyScanner::attach(&mut a, "hh-1").await.unwrap();

    let s = scanner.ok("U:op-1").await.unwrap();
    assert_eq!(s["task"]["ref"], "ASN-7", "{s}");
    // A plain EAN-13 of a lot-controlled item carries no lot.
    scanner
        .refused(&ean13(&vaccine()), "lot_required")
        .await
        .unwrap();
    // The notice asks for lot L2611A: another lot is refused.
    scanner
        .refused(
            &gs1_128(&[("01", &vaccine()), ("10", "L2612B"), ("17", "271231")]),
            "wrong_lot",
        )
        .await
        .unwrap();
    // (01) GTIN, (10) lot with a GS after it, (17) expiry: one each, then Q:30.
    scanner
        .ok_all(&[
            &gs1_128(&[("01", &vaccine()), ("10", "L2611A"), ("17", "271231")]),
            "Q:30",
            // Two cases of mugs by their case GTIN (12 each) as a GS1 DataMatrix.
            &datamatrix(&[("01", &mug_case())]),
            &datamatrix(&[("01", &mug_case())]),
        ])
        .await
        .unwrap();
    scanner
        .refused(&ean13(&mug()), "over_receipt")
        .await
        .unwrap();
    let s = scanner.ok("C:CONFIRM").await.unwrap();
    assert_ne!(s["task"]["id"], "RCV-7", "the complete notice closed: {s}");

    assert_eq!(
        events_after(&a, 0),
        lines(&[
            "receive VAX-LOT lot=L2611A exp=2027-12-31 x30 @DOCK-1 Available for ASN-7",
            "receive MUG-BLUE x24 @DOCK-1 Available for ASN-7",
        ])
    );
    assert_eq!(
        a.stock_lines("VAX-LOT").await.unwrap(),
        lines(&["DOCK-1 lot=L2611A exp=2027-12-31 available 30"])
    );
    assert_eq!(
        a.stock_lines("MUG-BLUE").await.unwrap(),
        lines(&["DOCK-1 available 24"])
    );
    let tasks = a.get("/api/v1/tasks?kind=receive").await.unwrap();
    assert_eq!(tasks["tasks"][0]["status"], "done", "{tasks}");
    let putaways = a
        .get("/api/v1/tasks?kind=putaway&status=open")
        .await
        .unwrap();
    assert_eq!(putaways["tasks"].as_array().unwrap().len(), 2, "{putaways}");
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blind_receipt_by_pty_scanner_records_each_serial_from_gs1_datamatrix_and_plain_eans() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = agent(dir.path()).await;
    let mut scanner = PtyScanner::attach(&mut a, "hh-1").await.unwrap();

    scanner.ok("U:op-1").await.unwrap();
    let s = scanner.ok(&ean13(&mug())).await.unwrap();
    assert_eq!(
        s["task"]["kind"], "receive",
        "a product scan starts a blind receipt: {s}"
    );
    scanner
        .refused(&ean13(&handset()), "serial_required")
        .await
        .unwrap();
    // (01) GTIN, (21) serial: one unit per serial; the same serial twice is refused.
    let sn1 = datamatrix(&[("01", &handset()), ("21", "SN0001")]);
    let sn2 = datamatrix(&[("01", &handset()), ("21", "SN0002")]);
    scanner.ok(&sn1).await.unwrap();
    scanner.refused(&sn1, "duplicate_serial").await.unwrap();
    scanner
        .ok_all(&[&sn2, &ean13(&mug()), "C:CONFIRM"])
        .await
        .unwrap();
    // Nothing pending: C:CONFIRM closes the blind receipt and directs to the putaway.
    let s = scanner.ok("C:CONFIRM").await.unwrap();
    assert_eq!(s["task"]["kind"], "putaway", "{s}");

    assert_eq!(
        events_after(&a, 0),
        lines(&[
            "receive MUG-BLUE x2 @DOCK-1 Available",
            "receive SCN-SER serial=SN0001 x1 @DOCK-1 Available",
            "receive SCN-SER serial=SN0002 x1 @DOCK-1 Available",
        ])
    );
    assert_eq!(
        a.stock_lines("SCN-SER").await.unwrap(),
        lines(&[
            "DOCK-1 serial=SN0001 available 1",
            "DOCK-1 serial=SN0002 available 1"
        ])
    );
    assert_eq!(
        a.stock_lines("MUG-BLUE").await.unwrap(),
        lines(&["DOCK-1 available 2"])
    );
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn putaway_by_pty_scanner_moves_to_the_suggested_location_or_records_an_override_with_its_reason(
) {
    let dir = tempfile::tempdir().unwrap();
    let mut a = agent(dir.path()).await;
    let mut scanner = PtyScanner::attach(&mut a, "hh-1").await.unwrap();
    let vax = gs1_128(&[("01", &vaccine()), ("10", "L2611A"), ("17", "271231")]);
    scanner
        .ok_all(&["U:op-1", &vax, "Q:10", "C:CONFIRM"])
        .await
        .unwrap();
    scanner
        .ok_all(&[&ean13(&mug()), "Q:5", "C:CONFIRM"])
        .await
        .unwrap();
    let received = head(&a);

    // The first putaway: the lot-controlled item, scanned with its lot.
    let s = scanner.ok("C:CONFIRM").await.unwrap();
    assert_eq!(s["task"]["kind"], "putaway", "{s}");
    scanner
        .refused(&ean13(&vaccine()), "lot_required")
        .await
        .unwrap();
    let s = scanner.ok(&vax).await.unwrap();
    assert_eq!(s["expect"]["scan"], "location", "{s}");
    let suggested = s["expect"]["location"].as_str().unwrap().to_string();
    scanner.refused("L:DOCK-1", "wrong_location").await.unwrap();
    let s = scanner.ok(&format!("L:{suggested}")).await.unwrap();

    // The second: the mugs, to another storage location than the suggested one.
    assert_eq!(s["task"]["kind"], "putaway", "{s}");
    let s = scanner.ok(&ean13(&mug())).await.unwrap();
    let suggested_for_mugs = s["expect"]["location"].as_str().unwrap().to_string();
    let other = ["A-01-01", "A-01-02", "P-01-01"]
        .into_iter()
        .find(|l| *l != suggested_for_mugs && *l != suggested)
        .unwrap();
    let s = scanner.ok(&format!("L:{other}")).await.unwrap();
    assert_eq!(
        s["expect"]["scan"], "quantity_or_confirm",
        "an override asks for confirmation: {s}"
    );
    assert_eq!(
        stock_count_after(&a, received),
        1,
        "nothing recorded before the confirmation"
    );
    scanner.ok("C:CONFIRM").await.unwrap();

    assert_eq!(
        events_after(&a, received),
        vec![
            format!(
                "move VAX-LOT lot=L2611A exp=2027-12-31 x10 DOCK-1->{suggested} Available Putaway"
            ),
            format!("move MUG-BLUE x5 DOCK-1->{other} Available Putaway LocationOverride"),
        ]
    );
    assert_eq!(
        a.stock_lines("VAX-LOT").await.unwrap(),
        vec![format!(
            "{suggested} lot=L2611A exp=2027-12-31 available 10"
        )]
    );
    assert_eq!(
        a.stock_lines("MUG-BLUE").await.unwrap(),
        vec![format!("{other} available 5")]
    );
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn picking_by_pty_scanner_counts_repeated_scans_and_q_shorts_a_line_and_closes_on_the_tote() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = agent(dir.path()).await;
    record_receipt(&a.node.writer, "P-01-01", "MUG-BLUE", "10")
        .await
        .unwrap();
    record_receipt(&a.node.writer, "A-01-01", "MUG-BLUE", "8")
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
            line("MUG-BLUE", "6", Some("A-01-01"), None),
            line("PEN-RED", "2", Some("A-01-02"), None),
        ],
    );
    t.order = Some(OrderRef::new("SO-1").unwrap());
    a.task(t).await.unwrap();
    let mut scanner = PtyScanner::attach(&mut a, "hh-1").await.unwrap();

    let s = scanner.ok("U:op-1").await.unwrap();
    assert_eq!(s["expect"]["scan"], "container", "{s}");
    scanner.ok("T:TOTE-1").await.unwrap();
    scanner
        .refused("L:A-01-02", "wrong_location")
        .await
        .unwrap();
    // Line 1: three scans of the each barcode.
    scanner
        .ok_all(&["L:P-01-01", &ean13(&mug()), &ean13(&mug())])
        .await
        .unwrap();
    scanner
        .refused("C:CONFIRM", "pick_incomplete")
        .await
        .unwrap();
    scanner
        .ok_all(&[&ean13(&mug()), "C:CONFIRM"])
        .await
        .unwrap();
    // Line 2: one scan and Q:6.
    scanner.ok("L:A-01-01").await.unwrap();
    scanner.refused(&ean13(&pen()), "wrong_item").await.unwrap();
    scanner.ok(&ean13(&mug())).await.unwrap();
    scanner.refused("Q:7", "over_pick").await.unwrap();
    scanner.ok_all(&["Q:6", "C:CONFIRM"]).await.unwrap();
    // Line 3: one pen found of two; C:SHORT.
    scanner
        .ok_all(&["L:A-01-02", &ean13(&pen()), "C:SHORT"])
        .await
        .unwrap();
    scanner
        .refused("T:TOTE-2", "wrong_container")
        .await
        .unwrap();
    let s = scanner.ok("T:TOTE-1").await.unwrap();
    assert!(s["task"].is_null(), "{s}");

    assert_eq!(
        events_after(&a, before),
        lines(&[
            "pick MUG-BLUE x3 P-01-01->TOTE-1 for SO-1",
            "pick MUG-BLUE x6 A-01-01->TOTE-1 for SO-1",
            "pick PEN-RED x1 A-01-02->TOTE-1 for SO-1",
            "short_pick PEN-RED @A-01-02 expected 2 picked 1 for SO-1",
        ])
    );
    assert_eq!(
        a.stock_lines("MUG-BLUE").await.unwrap(),
        lines(&[
            "A-01-01 available 2",
            "P-01-01 available 7",
            "TOTE-1 available 9"
        ])
    );
    assert_eq!(
        a.stock_lines("PEN-RED").await.unwrap(),
        lines(&["TOTE-1 available 1"])
    );
    let tasks = a.get("/api/v1/tasks?kind=pick").await.unwrap();
    assert_eq!(tasks["tasks"][0]["status"], "done", "{tasks}");
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipping_by_pty_scanner_ships_the_carton_whose_gs1_128_sscc_label_is_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = agent(dir.path()).await;
    let sscc = gtin14("09501101530000001");
    // Set-up through the HTTP scan API: SO-1's three mugs picked into TOTE-1 and packed into
    // the carton with SSCC `sscc`, weighed in tolerance (1.250 kg expected).
    record_receipt(&a.node.writer, "P-01-01", "MUG-BLUE", "10")
        .await
        .unwrap();
    let mut pick = spec(
        "PK-1",
        TaskKind::Pick,
        vec![line("MUG-BLUE", "3", Some("P-01-01"), None)],
    );
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
    // Finishing the pick created the pack task for TOTE-1 (PK-1-PACK).
    for s in ["U:op-2", "T:TOTE-1", &mug(), "Q:3", &format!("T:{sscc}")] {
        a.ok("pack-1", s).await.unwrap();
    }
    let body = serde_json::json!({"kg": "1.250", "stable": true}).to_string();
    let (_, v) = stockpost_tests::station::http(
        a.addr,
        "POST",
        "/api/v1/stations/pack-1/weight",
        Some(&body),
    )
    .await
    .unwrap();
    assert_eq!(v["station"]["task"]["kind"], "ship", "{v}");
    let packed = head(&a);

    let mut scanner = PtyScanner::attach(&mut a, "pack-1").await.unwrap();
    scanner
        .refused("T:CARTON-9", "unknown_container")
        .await
        .unwrap();
    let s = scanner.ok(&gs1_128(&[("00", &sscc)])).await.unwrap();
    assert!(s["task"].is_null(), "the shipment is done: {s}");

    assert_eq!(
        events_after(&a, packed),
        vec![format!("ship {sscc} for SO-1 sscc={sscc} lines=1")]
    );
    assert_eq!(
        a.stock_lines("MUG-BLUE").await.unwrap(),
        lines(&["P-01-01 available 7"]),
        "the shipped mugs left the node's stock"
    );
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blind_count_by_pty_scanner_records_the_variance_and_an_item_not_found_as_counted_zero() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = agent(dir.path()).await;
    record_receipt(&a.node.writer, "A-01-01", "MUG-BLUE", "5")
        .await
        .unwrap();
    record_receipt(&a.node.writer, "A-01-02", "PEN-RED", "2")
        .await
        .unwrap();
    let before = head(&a);
    let mut t = spec("CNT-1", TaskKind::Count, vec![]);
    t.locations = vec![
        LocationCode::new("A-01-01").unwrap(),
        LocationCode::new("A-01-02").unwrap(),
    ];
    a.task(t).await.unwrap();
    let mut scanner = PtyScanner::attach(&mut a, "hh-1").await.unwrap();

    let s = scanner.ok("U:op-1").await.unwrap();
    assert_eq!(s["task"]["kind"], "count", "{s}");
    assert_eq!(
        s["expect"].get("qty"),
        None,
        "a blind count never shows the book"
    );
    scanner
        .refused("L:P-01-01", "wrong_location")
        .await
        .unwrap();
    // A-01-01: four mugs found (two scans, then Q:4).
    scanner
        .ok_all(&[
            "L:A-01-01",
            &ean13(&mug()),
            &ean13(&mug()),
            "Q:4",
            "C:CONFIRM",
        ])
        .await
        .unwrap();
    // A-01-02: the pens are not there.
    let s = scanner.ok_all(&["L:A-01-02", "C:CONFIRM"]).await.unwrap();
    assert!(s["task"].is_null(), "{s}");

    assert_eq!(
        events_after(&a, before),
        lines(&[
            "count MUG-BLUE @A-01-01 Available counted 4 book 5",
            "count PEN-RED @A-01-02 Available counted 0 book 2",
        ])
    );
    assert_eq!(
        a.stock_lines("MUG-BLUE").await.unwrap(),
        lines(&["A-01-01 available 4"])
    );
    assert!(a.stock_lines("PEN-RED").await.unwrap().is_empty());
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replenishment_by_pty_scanner_moves_stock_from_reserve_to_the_forward_location() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = agent(dir.path()).await;
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
    let mut scanner = PtyScanner::attach(&mut a, "hh-1").await.unwrap();

    let s = scanner.ok("U:op-1").await.unwrap();
    assert_eq!(s["task"]["kind"], "replenish", "{s}");
    scanner
        .refused("L:A-01-02", "wrong_location")
        .await
        .unwrap();
    scanner
        .ok_all(&["L:A-01-01", &ean13(&mug()), "Q:5", "C:CONFIRM"])
        .await
        .unwrap();
    scanner
        .refused("L:A-01-02", "wrong_location")
        .await
        .unwrap();
    let s = scanner.ok("L:P-01-01").await.unwrap();
    assert!(s["task"].is_null(), "{s}");

    assert_eq!(
        events_after(&a, before),
        lines(&["move MUG-BLUE x5 A-01-01->P-01-01 Available Replenish"])
    );
    assert_eq!(
        a.stock_lines("MUG-BLUE").await.unwrap(),
        lines(&["A-01-01 available 3", "P-01-01 available 5"])
    );
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_by_pty_scanner_records_each_of_the_five_dispositions() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = agent(dir.path()).await;
    let mut t = spec(
        "RET-77",
        TaskKind::Return,
        vec![
            line("MUG-BLUE", "3", None, None),
            line("PEN-RED", "2", None, None),
        ],
    );
    t.doc = Some(DocRef::new("RMA-77").unwrap());
    t.order = Some(OrderRef::new("SO-5001").unwrap());
    a.task(t).await.unwrap();
    let mut scanner = PtyScanner::attach(&mut a, "hh-1").await.unwrap();

    let s = scanner.ok("U:op-1").await.unwrap();
    assert_eq!(s["task"]["kind"], "return", "{s}");
    scanner.refused("O:SO-9", "wrong_order").await.unwrap();
    scanner.ok("O:RMA-77").await.unwrap();
    let mug = ean13(&mug());
    let pen = ean13(&pen());
    scanner
        .ok_all(&[
            &mug,
            "C:RESTOCK",
            &mug,
            "C:REFURBISH",
            &mug,
            "C:QUARANTINE",
            &pen,
            "C:VENDOR",
        ])
        .await
        .unwrap();
    // All three mugs are back: a fourth is not expected on the RMA.
    scanner.refused(&mug, "wrong_item").await.unwrap();
    scanner.ok(&pen).await.unwrap();
    let s = scanner.ok("C:SCRAP").await.unwrap();
    assert!(s["task"].is_null(), "the return closed: {s}");

    let restock = "Restock { to: LocationCode(\"RET-1\") }";
    assert_eq!(
        events_after(&a, 0),
        vec![
            "return MUG-BLUE x1 @RET-1 rma RMA-77 order SO-5001".to_string(),
            format!("disposition MUG-BLUE x1 @RET-1 {restock} rma RMA-77"),
            "return MUG-BLUE x1 @RET-1 rma RMA-77 order SO-5001".to_string(),
            "disposition MUG-BLUE x1 @RET-1 Refurbish rma RMA-77".to_string(),
            "return MUG-BLUE x1 @RET-1 rma RMA-77 order SO-5001".to_string(),
            "disposition MUG-BLUE x1 @RET-1 Quarantine rma RMA-77".to_string(),
            "return PEN-RED x1 @RET-1 rma RMA-77 order SO-5001".to_string(),
            "disposition PEN-RED x1 @RET-1 VendorReturn rma RMA-77".to_string(),
            "return PEN-RED x1 @RET-1 rma RMA-77 order SO-5001".to_string(),
            "disposition PEN-RED x1 @RET-1 WriteOff rma RMA-77".to_string(),
        ]
    );
    // Restocked, refurbish (quality hold) and quarantined mugs stay; the pens left stock.
    assert_eq!(
        a.stock_lines("MUG-BLUE").await.unwrap(),
        lines(&[
            "RET-1 available 1",
            "RET-1 quality_hold 1",
            "RET-1 quarantine 1"
        ])
    );
    assert!(a.stock_lines("PEN-RED").await.unwrap().is_empty());
    a.stop().await;
}
