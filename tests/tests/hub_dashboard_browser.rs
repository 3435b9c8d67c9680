//! The hub dashboard in headless Chromium (playwright-core, tests/browser/hub_dashboard.mjs):
//! nodes, stock search, orders, KPI chart, the quarantine panel and resolving an exception from
//! the queue. Under `CI=true` a missing part fails the test; elsewhere it is skipped, with a
//! message, only when node, Chromium or `npm ci` in tests/browser is missing.

#![allow(clippy::unwrap_used)]

use serde_json::json;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;
use stockpost_common::domain::{
    Dec, EventBody, LocationCode, MovePurpose, Place, Qty, ReasonCode, Sku, StockRef, StockStatus,
};
use stockpost_hub::node::HubNode;
use stockpost_tests::hubapi::{
    hub_config_with_api, inject, send_batch, Api, ADMIN, APPROVER, OPERATOR, VIEWER,
};
use stockpost_tests::shift::{poll, WAIT};

fn browser_ready(dir: &Path) -> Option<String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Some(format!("chromium not found at {chromium}"));
    }
    if std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_err()
    {
        return Some("node is not installed".into());
    }
    if !dir.join("node_modules/playwright-core").exists() {
        return Some("run `npm ci` in tests/browser first (scripts/test.sh does)".into());
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_in_chromium_shows_nodes_stock_orders_kpis_and_quarantine_resolves_an_exception_and_approves_an_adjustment(
) {
    let browser_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    if let Some(why) = browser_ready(&browser_dir) {
        stockpost_tests::real::skip_because(&why);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let hub = HubNode::start(hub_config_with_api(dir.path(), "127.0.0.1:9", "").unwrap())
        .await
        .unwrap();
    let api = Api::new(&hub).unwrap();
    api.ok(
        "PUT",
        "/api/v1/items/MUG",
        OPERATOR,
        Some(json!({"description": "Blue mug"})),
    )
    .await
    .unwrap();
    api.ok(
        "PUT",
        "/api/v1/nodes/DC-EAST",
        ADMIN,
        Some(json!({"name": "DC East", "priority": 1})),
    )
    .await
    .unwrap();
    api.ok(
        "PUT",
        "/api/v1/nodes/DC-EAST/locations/A-01",
        OPERATOR,
        Some(json!({"kind": "reserve"})),
    )
    .await
    .unwrap();
    let sku = Sku::new("MUG").unwrap();
    inject(
        &hub,
        "DC-EAST",
        vec![
            EventBody::Receive {
                location: LocationCode::new("A-01").unwrap(),
                stock: StockRef::plain(sku.clone()),
                qty: Qty::from_str("5").unwrap(),
                status: StockStatus::Available,
                inbound: None,
            },
            EventBody::Adjust {
                place: Place::Location(LocationCode::new("A-01").unwrap()),
                stock: StockRef::plain(sku.clone()),
                status: StockStatus::Available,
                delta: Dec::from_str("200").unwrap(),
                reason: ReasonCode::Found,
                adjustment: None,
            },
            EventBody::Move {
                from: Place::Location(LocationCode::new("B-01").unwrap()),
                to: Place::Location(LocationCode::new("A-01").unwrap()),
                stock: StockRef::plain(sku),
                status: StockStatus::Available,
                qty: Qty::from_str("1").unwrap(),
                purpose: MovePurpose::Internal,
                reason: None,
            },
        ],
    )
    .await
    .unwrap();
    // A node that was never registered: its events are quarantined, not applied.
    send_batch(
        &hub,
        "DC-GHOST",
        vec![EventBody::Receive {
            location: LocationCode::new("A-01").unwrap(),
            stock: StockRef::plain(Sku::new("MUG").unwrap()),
            qty: Qty::from_str("9").unwrap(),
            status: StockStatus::Available,
            inbound: None,
        }],
    )
    .await
    .unwrap();
    poll(
        WAIT,
        "the unknown node's batch to be quarantined",
        || async {
            let q = api.ok("GET", "/api/v1/quarantine", VIEWER, None).await?;
            Ok((q["quarantine"].as_array().map_or(0, Vec::len) == 1).then_some(()))
        },
    )
    .await
    .unwrap();
    api.ok("POST", "/api/v1/orders", OPERATOR,
        Some(json!({"ref": "SO-1", "channel": "web", "ship_by": "2030-01-01T00:00:00Z", "lines": [{"sku": "MUG", "qty": "2"}]})))
        .await
        .unwrap();
    let open = api
        .ok("GET", "/api/v1/exceptions?open=true", VIEWER, None)
        .await
        .unwrap();
    assert!(!open["exceptions"].as_array().unwrap().is_empty());

    let script = browser_dir.join("hub_dashboard.mjs");
    let base = format!("http://{}", hub.http_addr);
    let run = tokio::process::Command::new("node")
        .arg(&script)
        .arg(&base)
        .arg(APPROVER)
        .current_dir(&browser_dir)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(90), run)
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser run failed: {stdout}\n{stderr}"
    );
    let result: serde_json::Value =
        serde_json::from_str(stdout.trim().lines().last().unwrap()).unwrap();
    assert_eq!(result["ok"], true, "{result}");
    assert!(result["stock_rows"].as_u64().unwrap() >= 1, "{result}");
    assert_eq!(result["order_status"], "released", "{result}");
    assert_eq!(result["quarantine_node"], "DC-GHOST", "{result}");
    let id: u64 = result["resolved"].as_str().unwrap().parse().unwrap();
    let ex = api
        .ok("GET", "/api/v1/exceptions?open=false", VIEWER, None)
        .await
        .unwrap();
    assert!(
        ex["exceptions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["id"] == id && e["resolved_by"] == "approver"),
        "{ex}"
    );
    assert_eq!(result["approved"], true, "{result}");
    assert_eq!(
        result["live_charts"], 3,
        "throughput, backlog, exceptions: {result}"
    );
    let adj = api
        .ok("GET", "/api/v1/adjustments", VIEWER, None)
        .await
        .unwrap();
    assert_eq!(adj["adjustments"][0]["status"], "approved", "{adj}");
    hub.stop().await;
}
