//! The shift. Every operator step is a barcode scan written into a station's pty scanner or a
//! carton put on its pty scale, read by the agent's own drivers; labels come out of each pack
//! station's TCP printer simulator. The hub is driven only through its HTTP API.
//!
//! Stock: DC-EAST receives 6 mugs, DC-WEST 4 mugs and 10 pens, DC-NORTH 10 notebooks.
//! SO-1001 (8 mugs) is split: DC-EAST 6 + DC-WEST 2; DC-EAST finds only 5 (short pick), the
//! hub re-allocates the 1 to DC-WEST and DC-EAST counts the empty shelf. SO-1002 (3 pens) ships
//! from DC-WEST, SO-1003 (4 notebooks) from DC-NORTH while it is offline. DC-EAST's carton is
//! first put on the scale out of tolerance (refused) and re-weighed. One mug comes back on
//! RMA-1 and is restocked. `check.rs` holds the final state this leaves.

use super::check::{settle, settle_node, stock};
use super::report::{compact, Progress};
use super::setup::World;
use super::{EAST, NODES, NORTH, WEST};
use crate::shift::{
    pack, pick, poll, put_away_all, receive, return_items, ship, sign_in, take, wait_task, weigh,
    PickLine, Scan, WAIT,
};
use crate::station::{gtin14, mug, mug_case, pen, StationAgent};
use anyhow::{anyhow, bail, ensure};
use serde_json::{json, Value};
use std::time::Duration;

/// How many progress steps [`run`] prints.
pub const STEPS: usize = 15;

/// The notebook's each GTIN.
pub fn notebook() -> String {
    gtin14("0950110153202")
}

async fn master_data(w: &World) -> anyhow::Result<()> {
    let (api, t) = (&w.api, w.token.as_str());
    let items = [
        json!({"sku": "MUG-BLUE", "description": "Blue mug 350 ml",
               "gtins": [{"gtin": mug(), "pack": "each", "qty_per_pack": "1"},
                         {"gtin": mug_case(), "pack": "case", "qty_per_pack": "12"}],
               "tracking": "none", "unit_weight_kg": "0.350", "weight_tolerance_pct": "5",
               "unit_value": "4.00"}),
        json!({"sku": "PEN-RED", "description": "Red pen",
               "gtins": [{"gtin": pen(), "pack": "each", "qty_per_pack": "1"}],
               "tracking": "none", "unit_weight_kg": "0.010", "weight_tolerance_pct": "5",
               "unit_value": "1.50"}),
        json!({"sku": "NOTE-A5", "description": "A5 notebook",
               "gtins": [{"gtin": notebook(), "pack": "each", "qty_per_pack": "1"}],
               "tracking": "none", "unit_weight_kg": "0.250", "weight_tolerance_pct": "5",
               "unit_value": "3.20"}),
    ];
    for mut item in items {
        let sku = item["sku"].as_str().unwrap_or_default().to_string();
        if let Some(o) = item.as_object_mut() {
            o.remove("sku");
        }
        api.ok("PUT", &format!("/api/v1/items/{sku}"), t, Some(item))
            .await?;
    }
    for (node, priority) in [(EAST, 1), (WEST, 2), (NORTH, 3)] {
        api.ok(
            "PUT",
            &format!("/api/v1/nodes/{node}"),
            t,
            Some(json!({"name": node, "priority": priority, "credential": crate::keys::test_key_hex(node)})),
        )
        .await?;
        for (code, kind, pickable) in [
            ("DOCK-1", "receiving", false),
            ("A-01-01", "reserve", true),
            ("A-01-02", "reserve", true),
            ("PACK-1", "pack", false),
            ("SHIP-1", "ship", false),
            ("RET-1", "returns", false),
        ] {
            api.ok(
                "PUT",
                &format!("/api/v1/nodes/{node}/locations/{code}"),
                t,
                Some(json!({"kind": kind, "pickable": pickable})),
            )
            .await?;
        }
    }
    Ok(())
}

async fn receive_and_put_away(
    p: &Progress,
    a: &StationAgent,
    node: &str,
    doc: &str,
    lines: &[Scan<'_>],
) -> anyhow::Result<()> {
    let t = wait_task(a, "receive", doc).await?;
    sign_in(a, "hh-1", &format!("op-{}", node.to_lowercase())).await?;
    take(a, "hh-1", t["id"].as_str().unwrap_or_default()).await?;
    receive(a, "hh-1", lines).await?;
    for (sku, to) in put_away_all(a, "hh-1").await? {
        p.note(&format!("{node}: put away {sku} to {to}"));
    }
    Ok(())
}

/// The id of the unfinished pick task of `order` at a node (open, or started and put back by
/// a station that skipped past it).
async fn pick_task(a: &StationAgent, order: &str) -> anyhow::Result<String> {
    poll(WAIT, &format!("a pick task for {order}"), || async {
        let tasks = a.get("/api/v1/tasks?kind=pick").await?;
        Ok(tasks["tasks"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["ref"] == order && (t["status"] == "open" || t["status"] == "in_progress"))
            .and_then(|t| t["id"].as_str().map(str::to_string)))
    })
    .await
}

async fn order(w: &World, r: &str) -> anyhow::Result<Value> {
    w.api
        .ok("GET", &format!("/api/v1/orders/{r}"), &w.token, None)
        .await
}

async fn post_order(p: &Progress, w: &World, r: &str, sku: &str, qty: &str) -> anyhow::Result<()> {
    let o = w
        .api
        .ok(
            "POST",
            "/api/v1/orders",
            &w.token,
            Some(
                json!({"ref": r, "channel": "web", "ship_by": "2030-01-01T00:00:00Z",
                        "lines": [{"sku": sku, "qty": qty}]}),
            ),
        )
        .await?;
    let alloc: Vec<String> = o["allocations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            let lines: Vec<String> = a["lines"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|l| format!("{} {}", compact(&l["qty"]), compact(&l["sku"])))
                .collect();
            format!("{} ({})", compact(&a["node"]), lines.join(", "))
        })
        .collect();
    p.note(&format!(
        "{r}: {qty} {sku} → {} to {}",
        compact(&o["status"]),
        alloc.join(" + ")
    ));
    Ok(())
}

/// The hub's applied sequence for `node`.
async fn hub_applied(w: &World, node: &str) -> anyhow::Result<u64> {
    let nodes = w.api.ok("GET", "/api/v1/nodes", &w.token, None).await?;
    Ok(nodes["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|n| n["node"] == node)
        .and_then(|n| n["applied_seq"].as_u64())
        .unwrap_or(0))
}

/// Waits until `node`'s label printer has printed the label of `carton`; notes it.
async fn label_printed(p: &Progress, w: &World, node: &str, carton: &str) -> anyhow::Result<()> {
    let job = poll(
        WAIT,
        &format!("the label of {carton} at {node}"),
        || async { Ok(w.printed(node).into_iter().find(|j| j.contains(carton))) },
    )
    .await?;
    p.note(&format!(
        "printer at {node} pack-1: label for {carton} printed ({} bytes of ZPL)",
        job.len()
    ));
    Ok(())
}

/// Runs the whole shift, printing progress.
pub async fn run(w: &World, p: &mut Progress) -> anyhow::Result<()> {
    let (mug, pen, note) = (mug(), pen(), notebook());

    p.step(
        "hub: items MUG-BLUE, PEN-RED, NOTE-A5; nodes DC-EAST, DC-WEST, DC-NORTH with locations",
    );
    master_data(w).await?;

    p.step("hub: inbound notices ASN-E1 (6 mugs), ASN-W1 (4 mugs, 10 pens), ASN-N1 (10 notebooks)");
    for (node, doc, lines) in [
        (EAST, "ASN-E1", json!([{"sku": "MUG-BLUE", "qty": "6"}])),
        (
            WEST,
            "ASN-W1",
            json!([{"sku": "MUG-BLUE", "qty": "4"}, {"sku": "PEN-RED", "qty": "10"}]),
        ),
        (NORTH, "ASN-N1", json!([{"sku": "NOTE-A5", "qty": "10"}])),
    ] {
        w.api
            .ok(
                "POST",
                &format!("/api/v1/nodes/{node}/inbound"),
                &w.token,
                Some(json!({"ref": doc, "lines": lines})),
            )
            .await?;
    }

    p.step("DC-EAST, DC-WEST, DC-NORTH receive at DOCK-1 and put away (scans at handheld hh-1)");
    receive_and_put_away(
        p,
        &w.east,
        EAST,
        "ASN-E1",
        &[Scan {
            gtin: &mug,
            qty: "6",
        }],
    )
    .await?;
    receive_and_put_away(
        p,
        &w.west,
        WEST,
        "ASN-W1",
        &[
            Scan {
                gtin: &mug,
                qty: "4",
            },
            Scan {
                gtin: &pen,
                qty: "10",
            },
        ],
    )
    .await?;
    receive_and_put_away(
        p,
        &w.north,
        NORTH,
        "ASN-N1",
        &[Scan {
            gtin: &note,
            qty: "10",
        }],
    )
    .await?;
    settle(w).await?;
    for line in stock(&w.api, &w.token).await? {
        p.note(&format!("hub stock: {line}"));
    }

    p.step("hub: orders SO-1001 (8 mugs), SO-1002 (3 pens), SO-1003 (4 notebooks) allocated");
    post_order(p, w, "SO-1001", "MUG-BLUE", "8").await?;
    post_order(p, w, "SO-1002", "PEN-RED", "3").await?;
    post_order(p, w, "SO-1003", "NOTE-A5", "4").await?;

    p.step("DC-WEST picks its 2 mugs of SO-1001 into TOTE-W1");
    let id = pick_task(&w.west, "SO-1001").await?;
    take(&w.west, "hh-1", &id).await?;
    pick(
        &w.west,
        "hh-1",
        "TOTE-W1",
        &[PickLine {
            gtin: &mug,
            location: "A-01-01",
            found: "2",
        }],
    )
    .await?;

    p.step("DC-EAST picks SO-1001: finds only 5 of 6 mugs at A-01-01 (short pick)");
    let id = pick_task(&w.east, "SO-1001").await?;
    take(&w.east, "hh-1", &id).await?;
    pick(
        &w.east,
        "hh-1",
        "TOTE-E1",
        &[PickLine {
            gtin: &mug,
            location: "A-01-01",
            found: "5",
        }],
    )
    .await?;
    settle(w).await?;
    let so = order(w, "SO-1001").await?;
    let codes: Vec<String> = so["exceptions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| compact(&e["code"]))
        .collect();
    p.note(&format!(
        "hub: SO-1001 exceptions {codes:?}; the missing mug is re-allocated to DC-WEST"
    ));

    p.step("DC-WEST picks the re-allocated mug into TOTE-W2; DC-EAST counts A-01-01 (empty)");
    let w2 = pick_task(&w.west, "SO-1001").await?;
    take(&w.west, "hh-1", &w2).await?;
    pick(
        &w.west,
        "hh-1",
        "TOTE-W2",
        &[PickLine {
            gtin: &mug,
            location: "A-01-01",
            found: "1",
        }],
    )
    .await?;
    let count = poll(WAIT, "the count task at DC-EAST", || async {
        let tasks = w.east.get("/api/v1/tasks?kind=count").await?;
        Ok(tasks["tasks"]
            .as_array()
            .and_then(|l| l.first())
            .and_then(|t| t["id"].as_str().map(str::to_string)))
    })
    .await?;
    take(&w.east, "hh-1", &count).await?;
    w.east.ok("hh-1", "L:A-01-01").await?;
    w.east.ok("hh-1", "C:CONFIRM").await?;

    p.step("DC-NORTH goes offline (its network to the broker is cut) and keeps working");
    let id = pick_task(&w.north, "SO-1003").await?;
    w.north_link.cut();
    p.step("DC-NORTH, offline, picks, packs (1.205 kg) and ships SO-1003");
    take(&w.north, "hh-1", &id).await?;
    pick(
        &w.north,
        "hh-1",
        "TOTE-N1",
        &[PickLine {
            gtin: &note,
            location: "A-01-01",
            found: "4",
        }],
    )
    .await?;
    sign_in(&w.north, "pack-1", "op-pack-north").await?;
    // 4 × 0.250 + 0.200 tare = 1.200 kg ± 5 %.
    let v = pack(
        &w.north,
        "pack-1",
        "TOTE-N1",
        &[Scan {
            gtin: &note,
            qty: "4",
        }],
        "CARTON-N1",
        "1.205",
    )
    .await?;
    ensure!(v["accepted"] == true, "DC-NORTH's carton was refused: {v}");
    label_printed(p, w, NORTH, "CARTON-N1").await?;
    ship(&w.north, "pack-1", "CARTON-N1").await?;
    let st = w.north.get("/api/v1/status").await?;
    p.note(&format!(
        "DC-NORTH backlog: {} events waiting in its outbox; the hub has applied {} of its {}",
        compact(&st["outbox_pending"]),
        hub_applied(w, NORTH).await?,
        compact(&st["last_seq"]),
    ));

    p.step("DC-EAST packs TOTE-E1: 2.300 kg is out of tolerance, re-weighed 1.960 kg, shipped");
    sign_in(&w.east, "pack-1", "op-pack-east").await?;
    // 5 × 0.350 + 0.200 tare = 1.950 kg ± 5 %.
    let v = pack(
        &w.east,
        "pack-1",
        "TOTE-E1",
        &[Scan {
            gtin: &mug,
            qty: "5",
        }],
        "CARTON-E1",
        "2.300",
    )
    .await?;
    ensure!(
        v["error"]["code"] == "weight_mismatch",
        "2.300 kg was not refused: {v}"
    );
    p.note(&format!(
        "scale at DC-EAST pack-1: 2.300 kg refused ({})",
        compact(&v["error"]["code"])
    ));
    let v = weigh(&w.east, "pack-1", "1.960", true).await?;
    ensure!(v["accepted"] == true, "1.960 kg was refused: {v}");
    p.note("scale at DC-EAST pack-1: 1.960 kg accepted");
    label_printed(p, w, EAST, "CARTON-E1").await?;
    ship(&w.east, "pack-1", "CARTON-E1").await?;

    p.step("DC-WEST packs and ships TOTE-W1 and TOTE-W2 (SO-1001)");
    sign_in(&w.west, "pack-1", "op-pack-west").await?;
    for (tote, n, carton, kg) in [
        ("TOTE-W1", "2", "CARTON-W1", "0.910"),
        ("TOTE-W2", "1", "CARTON-W2", "0.550"),
    ] {
        let v = pack(
            &w.west,
            "pack-1",
            tote,
            &[Scan { gtin: &mug, qty: n }],
            carton,
            kg,
        )
        .await?;
        ensure!(v["accepted"] == true, "{carton} refused: {v}");
        label_printed(p, w, WEST, carton).await?;
        ship(&w.west, "pack-1", carton).await?;
    }

    p.step("DC-WEST picks, packs and ships SO-1002 (3 pens)");
    let id = pick_task(&w.west, "SO-1002").await?;
    take(&w.west, "hh-1", &id).await?;
    pick(
        &w.west,
        "hh-1",
        "TOTE-W3",
        &[PickLine {
            gtin: &pen,
            location: "A-01-02",
            found: "3",
        }],
    )
    .await?;
    // 3 × 0.010 + 0.200 = 0.230 kg.
    let v = pack(
        &w.west,
        "pack-1",
        "TOTE-W3",
        &[Scan {
            gtin: &pen,
            qty: "3",
        }],
        "CARTON-W3",
        "0.231",
    )
    .await?;
    ensure!(v["accepted"] == true, "CARTON-W3 refused: {v}");
    label_printed(p, w, WEST, "CARTON-W3").await?;
    ship(&w.west, "pack-1", "CARTON-W3").await?;

    p.step("hub: RMA-1 returns 1 mug of SO-1001 to DC-EAST; received and restocked");
    w.api
        .ok(
            "POST",
            "/api/v1/returns",
            &w.token,
            Some(json!({"rma": "RMA-1", "order_ref": "SO-1001", "node": EAST,
                        "lines": [{"sku": "MUG-BLUE", "qty": "1"}]})),
        )
        .await?;
    let r = wait_task(&w.east, "return", "SO-1001").await?;
    take(&w.east, "hh-1", r["id"].as_str().unwrap_or_default()).await?;
    let s = return_items(&w.east, "hh-1", "RMA-1", &[(&mug, "C:RESTOCK")]).await?;
    ensure!(s["task"].is_null(), "the return did not close: {s}");

    p.step("DC-NORTH comes back online and catches up");
    w.north_link.heal();
    catch_up(w, p).await?;

    p.step("every node synced: outboxes empty, the hub applied every node's head");
    let heads = settle(w).await?;
    for (node, head) in NODES.iter().zip(heads) {
        p.note(&format!("{node}: {head} events, all applied at the hub"));
    }
    Ok(())
}

/// Prints DC-NORTH's backlog as it drains until the hub has applied its head.
async fn catch_up(w: &World, p: &Progress) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut last: Option<(u64, u64)> = None;
    loop {
        let st = w.north.get("/api/v1/status").await?;
        let pending = st["outbox_pending"]
            .as_u64()
            .ok_or_else(|| anyhow!("no outbox_pending in {st}"))?;
        let head = st["last_seq"].as_u64().unwrap_or(0);
        let applied = hub_applied(w, NORTH).await?;
        if last != Some((pending, applied)) {
            p.note(&format!(
                "DC-NORTH backlog {pending} event(s); the hub has applied {applied} of {head}"
            ));
            last = Some((pending, applied));
        }
        if pending == 0 && applied == head {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("DC-NORTH did not catch up within {WAIT:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    settle_node(&w.api, &w.token, &w.north, NORTH).await?;
    Ok(())
}
