//! The `stockpost-hub` subcommands' client side against a running hub: CSV imports of items
//! and locations, orders and inbound notices from JSON files.

#![allow(clippy::unwrap_used)]

use std::str::FromStr;
use stockpost_common::domain::{DocRef, EventBody, LocationCode, Qty, Sku, StockRef, StockStatus};
use stockpost_hub::cli::{self, Client};
use stockpost_hub::node::HubNode;
use stockpost_tests::hubapi::{
    hub_config_with_api, inject, register, Api, ADMIN, OPERATOR, VIEWER,
};

/// A hub under `dir` with no broker reachable (the API works anyway).
async fn start_hub(dir: &std::path::Path) -> HubNode {
    HubNode::start(hub_config_with_api(&dir.join("hub"), "127.0.0.1:9", "").unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_imports_and_json_files_create_items_locations_orders_and_inbound_notices() {
    let dir = tempfile::tempdir().unwrap();
    let hub = start_hub(dir.path()).await;
    let api = Api::new(&hub).unwrap();
    api.ok(
        "PUT",
        "/api/v1/nodes/DC-EAST",
        ADMIN,
        Some(serde_json::json!({"name": "East"})),
    )
    .await
    .unwrap();
    let client = Client::new(api.base(), OPERATOR).unwrap();
    let items = dir.path().join("items.csv");
    std::fs::write(
        &items,
        "sku,description,gtin,pack,qty_per_pack,unit_weight_kg\nMUG-BLUE,\"Blue mug, 350 ml\",09501101530003,each,1,0.350\nMUG-BLUE,\"Blue mug, 350 ml\",19501101530000,case,12,0.350\nCUP,Cup,,,,\n",
    )
    .unwrap();
    assert_eq!(
        cli::import_items(&client, items.to_str().unwrap())
            .await
            .unwrap(),
        2
    );
    let mug = api
        .ok("GET", "/api/v1/items/MUG-BLUE", VIEWER, None)
        .await
        .unwrap();
    assert_eq!(mug["description"], "Blue mug, 350 ml");
    assert_eq!(mug["gtins"].as_array().unwrap().len(), 2);

    let locations = dir.path().join("locations.csv");
    std::fs::write(
        &locations,
        "node,code,kind,pickable\nDC-EAST,A-01,reserve,true\nDC-EAST,RCV-1,receiving,\n",
    )
    .unwrap();
    assert_eq!(
        cli::import_locations(&client, locations.to_str().unwrap())
            .await
            .unwrap(),
        2
    );

    let orders = dir.path().join("orders.json");
    std::fs::write(
        &orders,
        r#"[{"ref": "SO-1", "channel": "web", "ship_by": "2030-01-01T00:00:00Z", "lines": [{"sku": "CUP", "qty": "1"}]},
            {"ref": "SO-2", "channel": "web", "ship_by": "2030-01-01T00:00:00Z", "lines": [{"sku": "MUG-BLUE", "qty": "2"}]}]"#,
    )
    .unwrap();
    let made = cli::create_orders(&client, orders.to_str().unwrap())
        .await
        .unwrap();
    assert_eq!(made.len(), 2);
    assert_eq!(made[0]["status"], "backordered");

    let asn = dir.path().join("asn.json");
    std::fs::write(
        &asn,
        r#"{"ref": "ASN-1", "lines": [{"sku": "CUP", "qty": "10"}]}"#,
    )
    .unwrap();
    let made = cli::create_inbound(&client, "DC-EAST", asn.to_str().unwrap())
        .await
        .unwrap();
    assert_eq!(made[0]["status"], "expected");

    // A bad row is reported with the hub's message.
    std::fs::write(
        &orders,
        r#"{"ref": "SO-3", "channel": "web", "ship_by": "soon", "lines": []}"#,
    )
    .unwrap();
    let err = cli::create_orders(&client, orders.to_str().unwrap())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("400") && err.contains("ship_by"), "{err}");
    // A viewer may not import.
    let viewer = Client::new(api.base(), VIEWER).unwrap();
    let err = cli::import_items(&viewer, items.to_str().unwrap())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("403"), "{err}");
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_snapshot_holds_master_data_stock_open_tasks_and_sequence_marks() {
    let dir = tempfile::tempdir().unwrap();
    let hub = start_hub(dir.path()).await;
    let api = Api::new(&hub).unwrap();
    api.ok(
        "PUT",
        "/api/v1/items/CUP",
        OPERATOR,
        Some(serde_json::json!({"description": "Cup"})),
    )
    .await
    .unwrap();
    api.ok(
        "PUT",
        "/api/v1/nodes/DC-EAST",
        ADMIN,
        Some(serde_json::json!({"name": "East"})),
    )
    .await
    .unwrap();
    api.ok(
        "PUT",
        "/api/v1/nodes/DC-EAST/locations/RCV-1",
        OPERATOR,
        Some(serde_json::json!({"kind": "receiving"})),
    )
    .await
    .unwrap();
    api.ok(
        "POST",
        "/api/v1/nodes/DC-EAST/inbound",
        OPERATOR,
        Some(serde_json::json!({"ref": "ASN-9", "lines": [{"sku": "CUP", "qty": "6"}]})),
    )
    .await
    .unwrap();
    let snap = api
        .ok("GET", "/api/v1/nodes/DC-EAST/snapshot", VIEWER, None)
        .await
        .unwrap();
    assert_eq!(snap["items"][0]["sku"], "CUP", "{snap}");
    assert_eq!(snap["locations"][0]["code"], "RCV-1");
    assert_eq!(snap["locations"][0]["pickable"], false);
    assert_eq!(snap["tasks"][0]["kind"], "receive");
    assert_eq!(snap["tasks"][0]["doc"], "ASN-9");
    assert_eq!(snap["downlink_seq"], 3);
    assert_eq!(snap["applied_seq"], 0);
    // Receipts against the notice move its status on.
    let receipt = |qty: &str| EventBody::Receive {
        location: LocationCode::new("RCV-1").unwrap(),
        stock: StockRef::plain(Sku::new("CUP").unwrap()),
        qty: Qty::from_str(qty).unwrap(),
        status: StockStatus::Available,
        inbound: Some(DocRef::new("ASN-9").unwrap()),
    };
    inject(&hub, "DC-EAST", vec![receipt("4")]).await.unwrap();
    let asn = api
        .ok("GET", "/api/v1/inbound/ASN-9", VIEWER, None)
        .await
        .unwrap();
    assert_eq!(asn["status"], "receiving", "{asn}");
    inject(&hub, "DC-EAST", vec![receipt("2")]).await.unwrap();
    let asn = api
        .ok("GET", "/api/v1/inbound/ASN-9", VIEWER, None)
        .await
        .unwrap();
    assert_eq!(asn["status"], "received", "{asn}");
    assert_eq!(asn["lines"][0]["received"], "6");
    let (s, _) = api
        .call("GET", "/api/v1/nodes/NOPE/snapshot", Some(VIEWER), None)
        .await
        .unwrap();
    assert_eq!(s, 404);
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stock_subcommand_follows_every_page_to_the_last_line() {
    let dir = tempfile::tempdir().unwrap();
    let hub = start_hub(dir.path()).await;
    let api = Api::new(&hub).unwrap();
    let receipts: Vec<EventBody> = (1..=5)
        .map(|i| EventBody::Receive {
            location: LocationCode::new(format!("B-0{i}")).unwrap(),
            stock: StockRef::plain(Sku::new("CUP").unwrap()),
            qty: Qty::from_str(&i.to_string()).unwrap(),
            status: StockStatus::Available,
            inbound: None,
        })
        .collect();
    register(&hub, &["DC-EAST"]).await.unwrap();
    inject(&hub, "DC-EAST", receipts).await.unwrap();
    let client = Client::new(api.base(), VIEWER).unwrap();
    // Two lines a page: three requests.
    let rows = cli::all_stock(&client, "node=DC-EAST&sku=CUP", 2)
        .await
        .unwrap();
    let got: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["location"].as_str().unwrap().to_string(),
                r["on_hand"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = (1..=5)
        .map(|i| (format!("B-0{i}"), i.to_string()))
        .collect();
    assert_eq!(got, want);
    hub.stop().await;
}
