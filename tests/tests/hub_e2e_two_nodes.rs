//! Issue #7's acceptance: two agents and the hub through a real Mosquitto run a whole shift —
//! inbound → putaway → an order allocated across both nodes → picks with one short → pack with
//! check-weigh → ship → a return → restock — and the hub's stock, order statuses, exceptions
//! and KPIs match the values worked out by hand below.
//!
//! Every operator step is a scan (or a weighing) through the agents' station API; the hub is
//! driven and read only through its HTTP API.

#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use stockpost_hub::node::HubNode;
use stockpost_tests::fleet::init_tracing;
use stockpost_tests::hubapi::{hub_config_with_api, Api, ADMIN, OPERATOR, VIEWER};
use stockpost_tests::mosquitto::Mosquitto;
use stockpost_tests::shift::{
    pack, pick, poll, put_away_all, receive, return_items, ship, sign_in, take, wait_outbox_empty,
    wait_task, weigh, PickLine, Scan, WAIT,
};
use stockpost_tests::station::{mug, mug_case, pen, StationAgent, STATIONS};

const EAST: &str = "DC-EAST";
const WEST: &str = "DC-WEST";

/// Items, nodes and locations through the hub's API (they reach the agents on the downlink).
async fn master_data(api: &Api) {
    api.ok(
        "PUT",
        "/api/v1/items/MUG-BLUE",
        OPERATOR,
        Some(json!({
            "description": "Blue mug 350 ml",
            "gtins": [{"gtin": mug(), "pack": "each", "qty_per_pack": "1"},
                      {"gtin": mug_case(), "pack": "case", "qty_per_pack": "12"}],
            "tracking": "none", "unit_weight_kg": "0.350", "weight_tolerance_pct": "5",
            "unit_value": "4.00"})),
    )
    .await
    .unwrap();
    api.ok(
        "PUT",
        "/api/v1/items/PEN-RED",
        OPERATOR,
        Some(json!({
            "description": "Red pen",
            "gtins": [{"gtin": pen(), "pack": "each", "qty_per_pack": "1"}],
            "tracking": "none", "unit_weight_kg": "0.010", "weight_tolerance_pct": "5",
            "unit_value": "1.50"})),
    )
    .await
    .unwrap();
    for (node, priority) in [(EAST, 1), (WEST, 2)] {
        api.ok(
            "PUT",
            &format!("/api/v1/nodes/{node}"),
            ADMIN,
            Some(json!({"name": node, "priority": priority, "credential": stockpost_tests::keys::test_key_hex(node)})),
        )
        .await
        .unwrap();
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
                OPERATOR,
                Some(json!({"kind": kind, "pickable": pickable})),
            )
            .await
            .unwrap();
        }
    }
}

/// Waits until both agents' outboxes are empty, the hub applied each node's head and has no
/// downlink pending; returns the heads (east, west).
async fn settle(api: &Api, east: &StationAgent, west: &StationAgent) {
    let e = wait_outbox_empty(east).await.unwrap();
    let w = wait_outbox_empty(west).await.unwrap();
    poll(WAIT, "the hub to apply both heads", || async {
        let nodes = api.ok("GET", "/api/v1/nodes", VIEWER, None).await?;
        let ok = nodes["nodes"].as_array().into_iter().flatten().all(|n| {
            let head = if n["node"] == EAST { e } else { w };
            n["applied_seq"] == head && n["pending_downlink"] == 0
        });
        Ok(ok.then_some(()))
    })
    .await
    .unwrap();
}

/// The hub's non-zero balances as `node location sku status on_hand/reserved/available`.
async fn stock(api: &Api) -> Vec<String> {
    let v = api.ok("GET", "/api/v1/stock", VIEWER, None).await.unwrap();
    let mut out: Vec<String> = v["balances"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["on_hand"] != "0" || b["reserved"] != "0")
        .map(|b| {
            format!(
                "{} {} {} {} {}/{}/{}",
                b["node"].as_str().unwrap(),
                b["location"].as_str().unwrap_or("-"),
                b["sku"].as_str().unwrap(),
                b["status"].as_str().unwrap(),
                b["on_hand"].as_str().unwrap(),
                b["reserved"].as_str().unwrap(),
                b["available"].as_str().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

async fn order(api: &Api, r: &str) -> Value {
    api.ok("GET", &format!("/api/v1/orders/{r}"), VIEWER, None)
        .await
        .unwrap()
}

/// The id of the open pick task of `order` at an agent.
async fn pick_task(a: &StationAgent, order: &str) -> String {
    wait_task(a, "pick", order).await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shift_from_inbound_to_restock_across_two_nodes_leaves_exact_stock_statuses_exceptions_and_kpis(
) {
    init_tracing();
    let Some(_) = stockpost_tests::mosquitto::mosquitto_binary() else {
        stockpost_tests::real::skip_because(
            "mosquitto is not installed (apt-get install mosquitto)",
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(&dir.path().join("broker")).unwrap();
    let addr = broker.addr().to_string();
    let hub = HubNode::start(hub_config_with_api(&dir.path().join("hub"), &addr, "").unwrap())
        .await
        .unwrap();
    let api = Api::new(&hub).unwrap();
    master_data(&api).await;
    let east = StationAgent::start_node(&dir.path().join("east"), EAST, &addr, STATIONS)
        .await
        .unwrap();
    let west = StationAgent::start_node(&dir.path().join("west"), WEST, &addr, STATIONS)
        .await
        .unwrap();
    let (mug, pen) = (mug(), pen());

    // ── Inbound: 6 mugs at east; 4 mugs and 10 pens at west. ────────────────────────────────
    api.ok(
        "POST",
        "/api/v1/nodes/DC-EAST/inbound",
        OPERATOR,
        Some(json!({"ref": "ASN-E1", "lines": [{"sku": "MUG-BLUE", "qty": "6"}]})),
    )
    .await
    .unwrap();
    api.ok("POST", "/api/v1/nodes/DC-WEST/inbound", OPERATOR,
        Some(json!({"ref": "ASN-W1", "lines": [{"sku": "MUG-BLUE", "qty": "4"}, {"sku": "PEN-RED", "qty": "10"}]})))
        .await
        .unwrap();
    let t = wait_task(&east, "receive", "ASN-E1").await.unwrap();
    sign_in(&east, "hh-1", "op-east").await.unwrap();
    take(&east, "hh-1", t["id"].as_str().unwrap())
        .await
        .unwrap();
    receive(
        &east,
        "hh-1",
        &[Scan {
            gtin: &mug,
            qty: "6",
        }],
    )
    .await
    .unwrap();
    let put = put_away_all(&east, "hh-1").await.unwrap();
    assert_eq!(put, vec![("MUG-BLUE".to_string(), "A-01-01".to_string())]);

    let t = wait_task(&west, "receive", "ASN-W1").await.unwrap();
    sign_in(&west, "hh-1", "op-west").await.unwrap();
    take(&west, "hh-1", t["id"].as_str().unwrap())
        .await
        .unwrap();
    receive(
        &west,
        "hh-1",
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
    .await
    .unwrap();
    let put = put_away_all(&west, "hh-1").await.unwrap();
    assert_eq!(
        put,
        vec![
            ("MUG-BLUE".to_string(), "A-01-01".to_string()),
            ("PEN-RED".to_string(), "A-01-02".to_string())
        ],
        "each item to an empty reserve location"
    );
    settle(&api, &east, &west).await;
    for doc in ["ASN-E1", "ASN-W1"] {
        let v = api
            .ok("GET", &format!("/api/v1/inbound/{doc}"), VIEWER, None)
            .await
            .unwrap();
        assert_eq!(v["status"], "received", "{v}");
    }
    assert_eq!(
        stock(&api).await,
        vec![
            "DC-EAST A-01-01 MUG-BLUE available 6/0/6",
            "DC-WEST A-01-01 MUG-BLUE available 4/0/4",
            "DC-WEST A-01-02 PEN-RED available 10/0/10",
        ]
    );

    // ── SO-1001 wants 8 mugs: no node has 8, so east (priority 1) gives 6 and west 2. ───────
    let created = api
        .ok(
            "POST",
            "/api/v1/orders",
            OPERATOR,
            Some(
                json!({"ref": "SO-1001", "channel": "web", "ship_by": "2030-01-01T00:00:00Z",
                        "lines": [{"sku": "MUG-BLUE", "qty": "8"}]}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(created["status"], "allocated", "{created}");
    assert_eq!(
        created["allocations"],
        json!([{"node": EAST, "lines": [{"sku": "MUG-BLUE", "qty": "6"}]},
               {"node": WEST, "lines": [{"sku": "MUG-BLUE", "qty": "2"}]}]),
        "{created}"
    );
    assert_eq!(
        stock(&api).await,
        vec![
            "DC-EAST A-01-01 MUG-BLUE available 6/6/0",
            "DC-WEST A-01-01 MUG-BLUE available 4/2/2",
            "DC-WEST A-01-02 PEN-RED available 10/0/10",
        ],
        "the reservations hold the stock"
    );

    // West picks its 2 in full.
    let w1 = pick_task(&west, "SO-1001").await;
    take(&west, "hh-1", &w1).await.unwrap();
    pick(
        &west,
        "hh-1",
        "TOTE-W1",
        &[PickLine {
            gtin: &mug,
            location: "A-01-01",
            found: "2",
        }],
    )
    .await
    .unwrap();
    // East finds only 5 of 6: a short pick.
    let e1 = pick_task(&east, "SO-1001").await;
    take(&east, "hh-1", &e1).await.unwrap();
    pick(
        &east,
        "hh-1",
        "TOTE-E1",
        &[PickLine {
            gtin: &mug,
            location: "A-01-01",
            found: "5",
        }],
    )
    .await
    .unwrap();
    settle(&api, &east, &west).await;

    // §6: the short-picked 1 is re-allocated to another node with available stock — west has
    // 4 − 2 reserved = 2 available — and released there as a new pick task; nothing is
    // backordered. East gets a count task for the location.
    let so = order(&api, "SO-1001").await;
    let codes: Vec<&str> = so["exceptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["short_pick"], "{so}");
    assert_eq!(so["lines"][0]["backordered"], "0", "{so}");
    assert_eq!(so["lines"][0]["picked"], "7", "{so}");
    let w2 = poll(WAIT, "the re-allocated pick at west", || async {
        let tasks = west.get("/api/v1/tasks?kind=pick").await?;
        Ok(tasks["tasks"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["ref"] == "SO-1001" && t["status"] == "open")
            .map(|t| {
                (
                    t["id"].as_str().unwrap_or("").to_string(),
                    t["lines"][0]["qty"].clone(),
                )
            }))
    })
    .await
    .unwrap();
    assert_eq!(w2.1, "1", "west is asked for the 1 east could not find");
    take(&west, "hh-1", &w2.0).await.unwrap();
    pick(
        &west,
        "hh-1",
        "TOTE-W2",
        &[PickLine {
            gtin: &mug,
            location: "A-01-01",
            found: "1",
        }],
    )
    .await
    .unwrap();

    // East counts A-01-01: the book says 1, the shelf is empty.
    let count = poll(WAIT, "the count task at east", || async {
        let tasks = east.get("/api/v1/tasks?kind=count").await?;
        Ok(tasks["tasks"].as_array().and_then(|l| l.first()).cloned())
    })
    .await
    .unwrap();
    let count_id = count["id"].as_str().unwrap().to_string();
    assert_eq!(count["locations"], json!(["A-01-01"]), "{count}");
    take(&east, "hh-1", &count_id).await.unwrap();
    east.ok("hh-1", "L:A-01-01").await.unwrap();
    east.ok("hh-1", "C:CONFIRM").await.unwrap();

    // ── Pack with check-weigh and ship, every tote (finishing a pick created its pack). ─────
    // East: 5 × 0.350 + 0.200 tare = 1.950 kg ± 5 % (0.0975).
    sign_in(&east, "pack-1", "op-pack-e").await.unwrap();
    let v = pack(
        &east,
        "pack-1",
        "TOTE-E1",
        &[Scan {
            gtin: &mug,
            qty: "5",
        }],
        "CARTON-E1",
        "2.300",
    )
    .await
    .unwrap();
    assert_eq!(
        v["error"]["code"], "weight_mismatch",
        "2.300 kg is out of tolerance: {v}"
    );
    let v = weigh(&east, "pack-1", "1.960", true).await.unwrap();
    assert_eq!(v["accepted"], true, "{v}");
    assert_eq!(v["station"]["task"]["kind"], "ship", "{v}");
    ship(&east, "pack-1", "CARTON-E1").await.unwrap();
    // West: 2 × 0.350 + 0.200 = 0.900 kg; then 1 × 0.350 + 0.200 = 0.550 kg.
    sign_in(&west, "pack-1", "op-pack-w").await.unwrap();
    for (tote, n, carton, kg) in [
        ("TOTE-W1", "2", "CARTON-W1", "0.910"),
        ("TOTE-W2", "1", "CARTON-W2", "0.550"),
    ] {
        let v = pack(
            &west,
            "pack-1",
            tote,
            &[Scan { gtin: &mug, qty: n }],
            carton,
            kg,
        )
        .await
        .unwrap();
        assert_eq!(v["accepted"], true, "{v}");
        ship(&west, "pack-1", carton).await.unwrap();
    }
    settle(&api, &east, &west).await;
    let so = order(&api, "SO-1001").await;
    assert_eq!(so["status"], "shipped", "{so}");
    assert_eq!(so["lines"][0]["shipped"], "8", "{so}");
    let mut shipments: Vec<(String, String)> = so["shipments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["node"].as_str().unwrap().to_string(),
                s["weight_kg"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    shipments.sort();
    assert_eq!(
        shipments,
        vec![
            (EAST.to_string(), "1.96".to_string()),
            (WEST.to_string(), "0.55".to_string()),
            (WEST.to_string(), "0.91".to_string()),
        ]
    );

    // ── SO-1002: 3 pens, only west has pens; picked, packed and shipped without a flaw. ─────
    let created = api
        .ok(
            "POST",
            "/api/v1/orders",
            OPERATOR,
            Some(
                json!({"ref": "SO-1002", "channel": "web", "ship_by": "2030-01-01T00:00:00Z",
                        "lines": [{"sku": "PEN-RED", "qty": "3"}]}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        created["allocations"],
        json!([{"node": WEST, "lines": [{"sku": "PEN-RED", "qty": "3"}]}]),
        "{created}"
    );
    let w3 = pick_task(&west, "SO-1002").await;
    take(&west, "hh-1", &w3).await.unwrap();
    pick(
        &west,
        "hh-1",
        "TOTE-W3",
        &[PickLine {
            gtin: &pen,
            location: "A-01-02",
            found: "3",
        }],
    )
    .await
    .unwrap();
    // 3 × 0.010 + 0.200 = 0.230 kg.
    let v = pack(
        &west,
        "pack-1",
        "TOTE-W3",
        &[Scan {
            gtin: &pen,
            qty: "3",
        }],
        "CARTON-W3",
        "0.231",
    )
    .await
    .unwrap();
    assert_eq!(v["accepted"], true, "{v}");
    ship(&west, "pack-1", "CARTON-W3").await.unwrap();

    // ── A return of 1 mug of SO-1001 at east, restocked. ───────────────────────────────────
    api.ok(
        "POST",
        "/api/v1/returns",
        OPERATOR,
        Some(json!({"rma": "RMA-1", "order_ref": "SO-1001", "node": EAST,
                    "lines": [{"sku": "MUG-BLUE", "qty": "1"}]})),
    )
    .await
    .unwrap();
    let r = wait_task(&east, "return", "SO-1001").await.unwrap();
    take(&east, "hh-1", r["id"].as_str().unwrap())
        .await
        .unwrap();
    let s = return_items(&east, "hh-1", "RMA-1", &[(&mug, "C:RESTOCK")])
        .await
        .unwrap();
    assert_eq!(s["task"], Value::Null, "the return closed: {s}");

    // ── The hub's final state, exactly. ─────────────────────────────────────────────────────
    settle(&api, &east, &west).await;
    // Beside these, the nodes report their tasks (task_defined, task_progress).
    assert_eq!(
        api.stock_event_kinds(EAST, VIEWER).await.unwrap(),
        [
            "receive",
            "move",
            "pick",
            "short_pick",
            "count_result",
            "pack",
            "ship",
            "return_receive",
            "disposition"
        ]
    );
    let mut west_kinds = api.stock_event_kinds(WEST, VIEWER).await.unwrap();
    west_kinds.sort();
    // 2 receives, 2 putaways, 2 picks of SO-1001, 2 packs, 2 ships, and SO-1002's pick, pack
    // and ship.
    assert_eq!(
        west_kinds,
        [
            "move", "move", "pack", "pack", "pack", "pick", "pick", "pick", "receive", "receive",
            "ship", "ship", "ship"
        ]
    );
    assert_eq!(
        stock(&api).await,
        vec![
            // 6 received − 5 picked − 1 counted away = 0 at A-01-01; the restocked mug.
            "DC-EAST RET-1 MUG-BLUE available 1/0/0",
            // 4 received − 2 − 1 picked.
            "DC-WEST A-01-01 MUG-BLUE available 1/0/1",
            // 10 received − 3 picked.
            "DC-WEST A-01-02 PEN-RED available 7/0/7",
        ]
    );
    for (r, status) in [("SO-1001", "shipped"), ("SO-1002", "shipped")] {
        let o = order(&api, r).await;
        assert_eq!(o["status"], status, "{o}");
    }
    let so2 = order(&api, "SO-1002").await;
    assert_eq!(so2["exceptions"], json!([]), "{so2}");

    let ex = api
        .ok("GET", "/api/v1/exceptions", VIEWER, None)
        .await
        .unwrap();
    let mut codes: Vec<(String, String)> = ex["exceptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["code"].as_str().unwrap().to_string(),
                e["node"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect();
    codes.sort();
    assert_eq!(
        codes,
        vec![
            ("count_variance".to_string(), EAST.to_string()),
            ("short_pick".to_string(), EAST.to_string()),
        ],
        "{ex}"
    );

    let k = api.ok("GET", "/api/v1/kpis", VIEWER, None).await.unwrap();
    // Fill rate: (8 + 3 shipped) / (8 + 3 ordered) over the two closed orders.
    assert_eq!(k["fill_rate"], "1", "{k}");
    assert_eq!(k["closed_orders"], 2, "{k}");
    // Perfect orders: SO-1001 has a short-pick exception, SO-1002 is perfect → 1 / 2.
    assert_eq!(k["perfect_order_rate"], "0.50", "{k}");
    // Split shipments: SO-1001 shipped from both nodes, SO-1002 from one → 1 / 2.
    assert_eq!(k["split_shipment_rate"], "0.50", "{k}");
    assert_eq!(k["shipped_orders"], 2, "{k}");
    // Inventory accuracy: the one count found a variance → 0 / 1.
    assert_eq!(k["inventory_accuracy"], "0", "{k}");
    assert_eq!(k["counts"], 1, "{k}");
    // Return to stock: one return restocked.
    assert_eq!(k["return_to_stock"]["count"], 1, "{k}");
    // No open order is waiting with an exception.
    assert_eq!(k["order_aging"], json!([]), "{k}");
    assert_eq!(k["orders_by_status"], json!({"shipped": 2}), "{k}");
    assert_eq!(
        k["open_exceptions_by_code"],
        json!({"count_variance": 1, "short_pick": 1}),
        "{k}"
    );

    east.stop().await;
    west.stop().await;
    hub.stop().await;
    drop(broker);
}
