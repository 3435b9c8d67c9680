//! The hub's ops API over HTTP: auth and roles, validation, allocation under concurrency,
//! authority rules (negative balance, short pick), adjustment approval with audit, webhooks.
//! Node events are fed straight into the ingest writer; no broker is needed.

#![allow(clippy::unwrap_used)]

use serde_json::json;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use stockpost_common::domain::{
    ContainerId, Dec, EventBody, LocationCode, NonNegQty, OrderRef, Place, Qty, ReasonCode, Sku,
    StockRef, StockStatus,
};
use stockpost_hub::node::HubNode;
use stockpost_tests::fleet::{eventually, init_tracing};
use stockpost_tests::hubapi::{
    hub_config_with_api, inject, Api, ADMIN, APPROVER, OPERATOR, VIEWER,
};

/// No broker listens here: the hub keeps retrying in the background; the API works anyway.
const NO_BROKER: &str = "127.0.0.1:9";

async fn start(dir: &std::path::Path, extra: &str) -> (HubNode, Api) {
    init_tracing();
    let hub = HubNode::start(hub_config_with_api(dir, NO_BROKER, extra).unwrap())
        .await
        .unwrap();
    let api = Api::new(&hub).unwrap();
    (hub, api)
}

fn receive(location: &str, sku: &str, qty: &str) -> EventBody {
    EventBody::Receive {
        location: LocationCode::new(location).unwrap(),
        stock: StockRef::plain(Sku::new(sku).unwrap()),
        qty: Qty::from_str(qty).unwrap(),
        status: StockStatus::Available,
        inbound: None,
    }
}

/// Registers nodes with a pickable location each and an item.
async fn master_data(api: &Api, nodes: &[(&str, u32)], sku: &str) {
    api.ok(
        "PUT",
        &format!("/api/v1/items/{sku}"),
        OPERATOR,
        Some(json!({"description": "Blue mug 350 ml", "gtins": [{"gtin": "09501101530003", "pack": "each", "qty_per_pack": "1"}],
                    "tracking": "none", "expiry_controlled": false, "unit_weight_kg": "0.350", "weight_tolerance_pct": "5"})),
    )
    .await
    .unwrap();
    for (node, priority) in nodes {
        api.ok(
            "PUT",
            &format!("/api/v1/nodes/{node}"),
            ADMIN,
            Some(json!({"name": node, "priority": priority, "credential": stockpost_tests::keys::test_key_hex(node)})),
        )
        .await
        .unwrap();
        api.ok(
            "PUT",
            &format!("/api/v1/nodes/{node}/locations/A-01"),
            OPERATOR,
            Some(json!({"kind": "reserve", "pickable": true})),
        )
        .await
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_unknown_token_gets_401_and_a_role_too_low_gets_403() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, api) = start(dir.path(), "").await;
    let (s, body) = api.call("GET", "/api/v1/nodes", None, None).await.unwrap();
    assert_eq!(s, 401);
    assert_eq!(body["error"]["code"], "unauthorized");
    let (s, _) = api
        .call("GET", "/api/v1/nodes", Some("not-a-token-at-all"), None)
        .await
        .unwrap();
    assert_eq!(s, 401);
    let (s, body) = api
        .call(
            "PUT",
            "/api/v1/nodes/DC-EAST",
            Some(OPERATOR),
            Some(json!({"name": "x"})),
        )
        .await
        .unwrap();
    assert_eq!(s, 403, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    let (s, _) = api
        .call(
            "PUT",
            "/api/v1/items/MUG",
            Some(VIEWER),
            Some(json!({"description": "x"})),
        )
        .await
        .unwrap();
    assert_eq!(s, 403);
    // Approving an adjustment needs an approver: a viewer or an operator gets 403 before the
    // adjustment is even looked up, with a JSON error that says why.
    for token in [VIEWER, OPERATOR] {
        let (s, body) = api
            .call("POST", "/api/v1/adjustments/1/approve", Some(token), None)
            .await
            .unwrap();
        assert_eq!(s, 403, "{body}");
        assert_eq!(body["error"]["code"], "forbidden");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    }
    let (s, body) = api
        .call(
            "POST",
            "/api/v1/adjustments/1/approve",
            Some("wrong-token-0123456789"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(s, 401, "{body}");
    assert_eq!(body["error"]["code"], "unauthorized");
    assert!(body["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    // The sha256 form of a token works, and an approver may do what an operator may.
    let (s, _) = api
        .call(
            "PUT",
            "/api/v1/items/MUG",
            Some(APPROVER),
            Some(json!({"description": "x"})),
        )
        .await
        .unwrap();
    assert_eq!(s, 200);
    let (s, _) = api
        .call("GET", "/api/v1/nodes", Some(VIEWER), None)
        .await
        .unwrap();
    assert_eq!(s, 200);
    // Health and metrics need no token.
    let (s, _) = api.call("GET", "/healthz", None, None).await.unwrap();
    assert_eq!(s, 200);
    let (s, text) = api.call("GET", "/metrics", None, None).await.unwrap();
    assert_eq!(s, 200);
    assert!(text
        .as_str()
        .unwrap()
        .contains("stockpost_hub_events_applied_total"));
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_bodies_get_400_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, api) = start(dir.path(), "").await;
    master_data(&api, &[("DC-EAST", 1)], "MUG").await;
    let cases = [
        (
            json!({"ref": "SO-1", "channel": "web", "ship_by": "2026-11-29T16:00:00Z", "lines": [{"sku": "MUG", "qty": 3}]}),
            "lines[0].qty",
        ),
        (
            json!({"ref": "SO-1", "channel": "web", "ship_by": "tomorrow", "lines": [{"sku": "MUG", "qty": "3"}]}),
            "ship_by",
        ),
        (
            json!({"ref": "SO-1", "channel": "web", "ship_by": "2026-11-29T16:00:00Z", "lines": [{"sku": "NOPE", "qty": "3"}]}),
            "lines[0].sku",
        ),
        (
            json!({"ref": "SO-1", "channel": "web", "ship_by": "2026-11-29T16:00:00Z", "lines": [{"sku": "MUG", "qty": "-1"}]}),
            "lines[0].qty",
        ),
        (
            json!({"channel": "web", "ship_by": "2026-11-29T16:00:00Z", "lines": []}),
            "ref",
        ),
    ];
    for (body, field) in cases {
        let (s, answer) = api
            .call("POST", "/api/v1/orders", Some(OPERATOR), Some(body))
            .await
            .unwrap();
        assert_eq!(s, 400, "{answer}");
        assert_eq!(answer["error"]["code"], "invalid_body");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{message:?} names {field}");
    }
    let (s, answer) = api
        .call(
            "PUT",
            "/api/v1/nodes/DC-EAST/locations/A-02",
            Some(OPERATOR),
            Some(json!({"kind": "attic"})),
        )
        .await
        .unwrap();
    assert_eq!(s, 400);
    assert!(answer["error"]["message"]
        .as_str()
        .unwrap()
        .contains("kind"));
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_orders_against_ten_units_never_reserve_more_than_ten() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, api) = start(dir.path(), "[orders]\nauto_release = false\n").await;
    master_data(&api, &[("DC-EAST", 1)], "MUG").await;
    inject(&hub, "DC-EAST", vec![receive("A-01", "MUG", "10")])
        .await
        .unwrap();
    let mut calls = Vec::new();
    for i in 0..20 {
        let api = api.clone();
        calls.push(tokio::spawn(async move {
            api.ok(
                "POST",
                "/api/v1/orders",
                OPERATOR,
                Some(json!({"ref": format!("SO-{i}"), "channel": "web", "ship_by": "2030-01-01T00:00:00Z",
                            "lines": [{"sku": "MUG", "qty": "1"}]})),
            )
            .await
            .unwrap()
        }));
    }
    let mut allocated = 0;
    let mut backordered = 0;
    for c in calls {
        let answer = c.await.unwrap();
        match answer["status"].as_str().unwrap() {
            "allocated" => allocated += 1,
            "backordered" => backordered += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((allocated, backordered), (10, 10));
    let stock = api
        .ok("GET", "/api/v1/stock?node=DC-EAST&sku=MUG", VIEWER, None)
        .await
        .unwrap();
    let line = &stock["balances"][0];
    assert_eq!(line["on_hand"], "10");
    assert_eq!(line["reserved"], "10");
    assert_eq!(line["available"], "0");
    let open = api
        .ok(
            "GET",
            "/api/v1/exceptions?open=true&code=backorder",
            VIEWER,
            None,
        )
        .await
        .unwrap();
    assert_eq!(open["exceptions"].as_array().unwrap().len(), 10);
    hub.stop().await;

    // Reservations survive a restart.
    let (hub, api) = start(dir.path(), "[orders]\nauto_release = false\n").await;
    let stock = api
        .ok("GET", "/api/v1/stock?node=DC-EAST&sku=MUG", VIEWER, None)
        .await
        .unwrap();
    assert_eq!(stock["balances"][0]["reserved"], "10");
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_negative_balance_raises_negative_stock_and_a_count_task() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, api) = start(dir.path(), "").await;
    master_data(&api, &[("DC-EAST", 1)], "MUG").await;
    inject(
        &hub,
        "DC-EAST",
        vec![
            receive("A-01", "MUG", "2"),
            EventBody::Move {
                from: Place::Location(LocationCode::new("A-01").unwrap()),
                to: Place::Location(LocationCode::new("B-01").unwrap()),
                stock: StockRef::plain(Sku::new("MUG").unwrap()),
                status: StockStatus::Available,
                qty: Qty::from_str("5").unwrap(),
                purpose: stockpost_common::domain::MovePurpose::Internal,
                reason: None,
            },
        ],
    )
    .await
    .unwrap();
    let open = api
        .ok(
            "GET",
            "/api/v1/exceptions?open=true&code=negative_stock",
            VIEWER,
            None,
        )
        .await
        .unwrap();
    let list = open["exceptions"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{open}");
    assert_eq!(list[0]["location"], "A-01");
    let tasks = api.ok("GET", "/api/v1/tasks", VIEWER, None).await.unwrap();
    assert!(
        tasks["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["kind"] == "count" && t["node"] == "DC-EAST"),
        "{tasks}"
    );
    // Resolving takes it off the open queue, with the note in the audit trail.
    let id = list[0]["id"].as_u64().unwrap();
    api.ok(
        "POST",
        &format!("/api/v1/exceptions/{id}/resolve"),
        OPERATOR,
        Some(json!({"note": "counted"})),
    )
    .await
    .unwrap();
    let open = api
        .ok(
            "GET",
            "/api/v1/exceptions?open=true&code=negative_stock",
            VIEWER,
            None,
        )
        .await
        .unwrap();
    assert!(open["exceptions"].as_array().unwrap().is_empty());
    let audit = api
        .ok("GET", "/api/v1/audit?limit=1000", VIEWER, None)
        .await
        .unwrap();
    assert!(audit["audit"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["action"] == "exception.resolve" && a["actor"] == "operator"));
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_pick_raises_short_pick_and_re_allocates_the_rest_to_another_node() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, api) = start(dir.path(), "").await;
    master_data(&api, &[("DC-EAST", 1), ("DC-WEST", 2)], "MUG").await;
    inject(&hub, "DC-EAST", vec![receive("A-01", "MUG", "5")])
        .await
        .unwrap();
    inject(&hub, "DC-WEST", vec![receive("A-01", "MUG", "5")])
        .await
        .unwrap();
    let created = api
        .ok("POST", "/api/v1/orders", OPERATOR,
            Some(json!({"ref": "SO-9", "channel": "web", "ship_by": "2030-01-01T00:00:00Z", "lines": [{"sku": "MUG", "qty": "4"}]})))
        .await
        .unwrap();
    assert_eq!(created["allocations"][0]["node"], "DC-EAST", "{created}");
    // The tick releases it.
    let released = eventually(Duration::from_secs(10), || {
        hub.view()
            .books
            .orders
            .get(&OrderRef::new("SO-9").unwrap())
            .is_some_and(|o| o.status == stockpost_common::domain::OrderStatus::Released)
    })
    .await;
    assert!(released);
    inject(
        &hub,
        "DC-EAST",
        vec![
            EventBody::Pick {
                from: LocationCode::new("A-01").unwrap(),
                to: ContainerId::new("TOTE-1").unwrap(),
                stock: StockRef::plain(Sku::new("MUG").unwrap()),
                qty: Qty::from_str("1").unwrap(),
                order: OrderRef::new("SO-9").unwrap(),
            },
            EventBody::ShortPick {
                location: LocationCode::new("A-01").unwrap(),
                stock: StockRef::plain(Sku::new("MUG").unwrap()),
                expected: Qty::from_str("3").unwrap(),
                picked: NonNegQty::try_from(Dec::ZERO).unwrap(),
                order: OrderRef::new("SO-9").unwrap(),
            },
        ],
    )
    .await
    .unwrap();
    let order = api
        .ok("GET", "/api/v1/orders/SO-9", VIEWER, None)
        .await
        .unwrap();
    let codes: Vec<&str> = order["exceptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"short_pick"), "{order}");
    let nodes: Vec<&str> = order["allocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["node"].as_str().unwrap())
        .collect();
    assert!(
        nodes.contains(&"DC-WEST"),
        "the remainder went to DC-WEST: {order}"
    );
    let tasks = api.ok("GET", "/api/v1/tasks", VIEWER, None).await.unwrap();
    let list = tasks["tasks"].as_array().unwrap();
    assert!(
        list.iter()
            .any(|t| t["kind"] == "pick" && t["node"] == "DC-WEST" && t["order"] == "SO-9"),
        "{tasks}"
    );
    assert!(
        list.iter()
            .any(|t| t["kind"] == "count" && t["node"] == "DC-EAST"),
        "{tasks}"
    );
    // Cancelling now puts the picked unit back and frees the reservation.
    let cancelled = api
        .ok("POST", "/api/v1/orders/SO-9/cancel", OPERATOR, None)
        .await
        .unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["put_back_tasks"], 1);
    let stock = api
        .ok("GET", "/api/v1/stock?node=DC-WEST&sku=MUG", VIEWER, None)
        .await
        .unwrap();
    assert_eq!(stock["balances"][0]["reserved"], "0");
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adjustment_above_the_threshold_waits_for_an_approver_and_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, api) = start(dir.path(), "").await;
    master_data(&api, &[("DC-EAST", 1)], "MUG").await;
    inject(
        &hub,
        "DC-EAST",
        vec![
            receive("A-01", "MUG", "500"),
            EventBody::Adjust {
                place: Place::Location(LocationCode::new("A-01").unwrap()),
                stock: StockRef::plain(Sku::new("MUG").unwrap()),
                status: StockStatus::Available,
                delta: Dec::from_str("-300").unwrap(),
                reason: ReasonCode::Lost,
                adjustment: None,
            },
            EventBody::Adjust {
                place: Place::Location(LocationCode::new("A-01").unwrap()),
                stock: StockRef::plain(Sku::new("MUG").unwrap()),
                status: StockStatus::Available,
                delta: Dec::from_str("-2").unwrap(),
                reason: ReasonCode::Damaged,
                adjustment: None,
            },
        ],
    )
    .await
    .unwrap();
    let adjustments = api
        .ok("GET", "/api/v1/adjustments", VIEWER, None)
        .await
        .unwrap();
    let list = adjustments["adjustments"].as_array().unwrap();
    let pending: Vec<_> = list
        .iter()
        .filter(|a| a["status"] == "pending_approval")
        .collect();
    assert_eq!(pending.len(), 1, "{adjustments}");
    assert!(list
        .iter()
        .any(|a| a["status"] == "applied" && a["delta"] == "-2"));
    let id = pending[0]["id"].as_u64().unwrap();
    let (s, _) = api
        .call(
            "POST",
            &format!("/api/v1/adjustments/{id}/approve"),
            Some(OPERATOR),
            None,
        )
        .await
        .unwrap();
    assert_eq!(s, 403);
    let approved = api
        .ok(
            "POST",
            &format!("/api/v1/adjustments/{id}/approve"),
            APPROVER,
            None,
        )
        .await
        .unwrap();
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["decided_by"], "approver");
    let open = api
        .ok(
            "GET",
            "/api/v1/exceptions?open=true&code=adjustment_needs_approval",
            VIEWER,
            None,
        )
        .await
        .unwrap();
    assert!(open["exceptions"].as_array().unwrap().is_empty());
    let audit = api
        .ok("GET", "/api/v1/audit?limit=1000", VIEWER, None)
        .await
        .unwrap();
    let entry = audit["audit"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "adjustment.approve")
        .cloned()
        .unwrap();
    assert_eq!(entry["actor"], "approver");
    assert!(
        entry["before"].is_object() && entry["after"].is_object(),
        "{entry}"
    );
    assert!(entry["at"].as_str().unwrap().ends_with('Z'));
    hub.stop().await;
}

/// (event header, signature header, body) of each delivery.
type Delivery = (String, String, Vec<u8>);

#[derive(Clone, Default)]
struct Received {
    bodies: Arc<Mutex<Vec<Delivery>>>,
    fail_first: Arc<Mutex<bool>>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_signed_retried_after_a_failure_and_dead_lettered_when_the_receiver_is_gone() {
    use axum::http::{HeaderMap, StatusCode};
    let received = Received {
        fail_first: Arc::new(Mutex::new(true)),
        ..Default::default()
    };
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(
                |axum::extract::State(r): axum::extract::State<Received>,
                 headers: HeaderMap,
                 body: axum::body::Bytes| async move {
                    let mut first = r.fail_first.lock().unwrap();
                    if *first {
                        *first = false;
                        return StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    let event = headers
                        .get("x-stockpost-event")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    let sig = headers
                        .get("x-stockpost-signature")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    r.bodies.lock().unwrap().push((event, sig, body.to_vec()));
                    StatusCode::OK
                },
            ),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let dead = stockpost_tests::mosquitto::free_port().unwrap();
    let secret = "a-webhook-secret-0123";
    let extra = format!(
        "[[webhooks]]\nurl = \"http://{addr}/hook\"\nsecret = \"{secret}\"\nevents = [\"exception_raised\", \"inventory_changed\"]\nbackoff_ms = 20\n\n[[webhooks]]\nurl = \"http://127.0.0.1:{dead}/gone\"\nsecret = \"{secret}\"\nevents = [\"exception_raised\"]\nmax_attempts = 2\nbackoff_ms = 10\ntimeout_ms = 500\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let (hub, api) = start(dir.path(), &extra).await;
    master_data(&api, &[("DC-EAST", 1)], "MUG").await;
    api.ok("POST", "/api/v1/orders", OPERATOR,
        Some(json!({"ref": "SO-1", "channel": "web", "ship_by": "2030-01-01T00:00:00Z", "lines": [{"sku": "MUG", "qty": "1"}]})))
        .await
        .unwrap();
    inject(&hub, "DC-EAST", vec![receive("A-01", "MUG", "3")])
        .await
        .unwrap();
    let got = eventually(Duration::from_secs(20), || {
        let b = received.bodies.lock().unwrap();
        b.iter().any(|(e, _, _)| e == "exception_raised")
            && b.iter().any(|(e, _, _)| e == "inventory_changed")
    })
    .await;
    assert!(got, "both kinds arrived after the first delivery failed");
    for (_, sig, body) in received.bodies.lock().unwrap().iter() {
        assert_eq!(sig, &stockpost_hub::webhooks::signature(secret, body));
        let v: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert!(v["event"].is_string() && v["data"].is_object());
    }
    let dead_lettered = eventually(Duration::from_secs(20), || {
        !hub.reader.dead_letters().unwrap_or_default().is_empty()
    })
    .await;
    assert!(dead_lettered);
    let letters = api
        .ok("GET", "/api/v1/webhooks/dead-letters", VIEWER, None)
        .await
        .unwrap();
    let first = &letters["dead_letters"][0];
    assert_eq!(first["event"], "exception_raised");
    assert_eq!(first["attempts"], 2);
    hub.stop().await;
}

fn pack_line(sku: &str, qty: &str) -> stockpost_common::domain::PackLine {
    stockpost_common::domain::PackLine {
        stock: StockRef::plain(Sku::new(sku).unwrap()),
        qty: Qty::from_str(qty).unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_events_drive_an_order_from_released_to_shipped_and_the_kpis_count_it() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, api) = start(dir.path(), "").await;
    master_data(&api, &[("DC-EAST", 1)], "MUG").await;
    inject(&hub, "DC-EAST", vec![receive("A-01", "MUG", "5")])
        .await
        .unwrap();
    api.ok("POST", "/api/v1/orders", OPERATOR,
        Some(json!({"ref": "SO-7", "channel": "web", "ship_by": "2030-01-01T00:00:00Z", "lines": [{"sku": "MUG", "qty": "2"}]})))
        .await
        .unwrap();
    let released = eventually(Duration::from_secs(10), || {
        hub.view()
            .books
            .orders
            .get(&OrderRef::new("SO-7").unwrap())
            .is_some_and(|o| o.status == stockpost_common::domain::OrderStatus::Released)
    })
    .await;
    assert!(released);
    let order = OrderRef::new("SO-7").unwrap();
    inject(
        &hub,
        "DC-EAST",
        vec![EventBody::Pick {
            from: LocationCode::new("A-01").unwrap(),
            to: ContainerId::new("TOTE-7").unwrap(),
            stock: StockRef::plain(Sku::new("MUG").unwrap()),
            qty: Qty::from_str("2").unwrap(),
            order: order.clone(),
        }],
    )
    .await
    .unwrap();
    let view = api
        .ok("GET", "/api/v1/orders/SO-7", VIEWER, None)
        .await
        .unwrap();
    assert_eq!(view["status"], "picked", "{view}");
    inject(
        &hub,
        "DC-EAST",
        vec![
            EventBody::Pack {
                from: ContainerId::new("TOTE-7").unwrap(),
                carton: ContainerId::new("CTN-7").unwrap(),
                order: order.clone(),
                lines: vec![pack_line("MUG", "2")],
                measured_kg: Some(NonNegQty::try_from(Dec::from_str("0.71").unwrap()).unwrap()),
                expected_kg: Some(NonNegQty::try_from(Dec::from_str("0.70").unwrap()).unwrap()),
            },
            EventBody::Ship {
                container: ContainerId::new("CTN-7").unwrap(),
                order: order.clone(),
                sscc: None,
                lines: vec![pack_line("MUG", "2")],
            },
        ],
    )
    .await
    .unwrap();
    let view = api
        .ok("GET", "/api/v1/orders/SO-7", VIEWER, None)
        .await
        .unwrap();
    assert_eq!(view["status"], "shipped", "{view}");
    assert_eq!(view["lines"][0]["shipped"], "2");
    assert_eq!(view["shipments"][0]["node"], "DC-EAST");
    assert!(view["shipments"][0]["shipped_at"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    let kpis = api.ok("GET", "/api/v1/kpis", VIEWER, None).await.unwrap();
    assert_eq!(kpis["shipped_orders"], 1, "{kpis}");
    assert_eq!(kpis["fill_rate"], "1", "{kpis}");
    let stock = api
        .ok(
            "GET",
            "/api/v1/stock?node=DC-EAST&sku=MUG&location=A-01",
            VIEWER,
            None,
        )
        .await
        .unwrap();
    assert_eq!(stock["balances"][0]["on_hand"], "3");
    assert_eq!(stock["balances"][0]["reserved"], "0");
    let events = api
        .ok(
            "GET",
            "/api/v1/events?node=DC-EAST&after=1&limit=2",
            VIEWER,
            None,
        )
        .await
        .unwrap();
    let list = events["events"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["seq"], 2);
    assert_eq!(list[0]["kind"], "pick");
    assert_eq!(list[0]["order"], "SO-7");
    assert_eq!(events["next"], 3);
    let audit = api
        .ok("GET", "/api/v1/audit?limit=1000", VIEWER, None)
        .await
        .unwrap();
    let shipped = audit["audit"].as_array().unwrap().iter().any(|a| {
        a["subject"].as_str().is_some_and(|s| s.contains("SO-7"))
            && a["after"].to_string().contains("shipped")
    });
    assert!(shipped, "{audit}");
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pick_for_a_cancelled_order_raises_an_exception_and_a_put_back_task() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, api) = start(dir.path(), "").await;
    master_data(&api, &[("DC-EAST", 1)], "MUG").await;
    inject(&hub, "DC-EAST", vec![receive("A-01", "MUG", "5")])
        .await
        .unwrap();
    api.ok("POST", "/api/v1/orders", OPERATOR,
        Some(json!({"ref": "SO-8", "channel": "web", "ship_by": "2030-01-01T00:00:00Z", "lines": [{"sku": "MUG", "qty": "2"}]})))
        .await
        .unwrap();
    api.ok("POST", "/api/v1/orders/SO-8/cancel", OPERATOR, None)
        .await
        .unwrap();
    let (s, body) = api
        .call("POST", "/api/v1/orders/SO-8/cancel", Some(OPERATOR), None)
        .await
        .unwrap();
    assert_eq!(s, 409, "{body}");
    // The node had not heard yet and picked anyway: a fact.
    inject(
        &hub,
        "DC-EAST",
        vec![EventBody::Pick {
            from: LocationCode::new("A-01").unwrap(),
            to: ContainerId::new("TOTE-8").unwrap(),
            stock: StockRef::plain(Sku::new("MUG").unwrap()),
            qty: Qty::from_str("2").unwrap(),
            order: OrderRef::new("SO-8").unwrap(),
        }],
    )
    .await
    .unwrap();
    let open = api
        .ok(
            "GET",
            "/api/v1/exceptions?open=true&code=pick_of_cancelled_order",
            VIEWER,
            None,
        )
        .await
        .unwrap();
    assert_eq!(open["exceptions"].as_array().unwrap().len(), 1, "{open}");
    let tasks = api.ok("GET", "/api/v1/tasks", VIEWER, None).await.unwrap();
    assert!(
        tasks["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["kind"] == "putaway" && t["order"] == "SO-8"),
        "{tasks}"
    );
    // A return for it goes down as a return task.
    let rma = api
        .ok("POST", "/api/v1/returns", OPERATOR,
            Some(json!({"rma": "RMA-77", "order_ref": "SO-8", "node": "DC-EAST", "lines": [{"sku": "MUG", "qty": "1"}]})))
        .await
        .unwrap();
    assert_eq!(rma["status"], "expected", "{rma}");
    let tasks = api.ok("GET", "/api/v1/tasks", VIEWER, None).await.unwrap();
    assert!(
        tasks["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["kind"] == "return" && t["doc"] == "RMA-77"),
        "{tasks}"
    );
    hub.stop().await;
}

/// Every page of `GET /api/v1/stock?{query}` with `limit`, following `next`: the rows as
/// `location sku on_hand`, and how many pages there were.
async fn all_stock_pages(api: &Api, query: &str, limit: usize) -> (Vec<String>, usize) {
    let mut rows = Vec::new();
    let mut pages = 0;
    let mut after = String::new();
    loop {
        let page = api
            .ok(
                "GET",
                &format!("/api/v1/stock?{query}&limit={limit}&after={after}"),
                VIEWER,
                None,
            )
            .await
            .unwrap();
        pages += 1;
        let balances = page["balances"].as_array().unwrap();
        assert!(balances.len() <= limit, "{page}");
        rows.extend(balances.iter().map(|b| {
            format!(
                "{} {} {}",
                b["location"].as_str().unwrap(),
                b["sku"].as_str().unwrap(),
                b["on_hand"].as_str().unwrap()
            )
        }));
        match page["next"].as_str() {
            Some(next) => after = next.to_string(),
            None => return (rows, pages),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_is_listed_in_pages_that_follow_next_to_the_last_line_and_bad_paging_is_a_400() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, api) = start(dir.path(), "").await;
    master_data(&api, &[("DC-EAST", 1)], "MUG").await;
    // 25 lines: one per location B-00 … B-24.
    let receipts: Vec<EventBody> = (0..25)
        .map(|i| receive(&format!("B-{i:02}"), "MUG", &format!("{}", i + 1)))
        .collect();
    inject(&hub, "DC-EAST", receipts).await.unwrap();
    let expected: Vec<String> = (0..25).map(|i| format!("B-{i:02} MUG {}", i + 1)).collect();

    let (rows, pages) = all_stock_pages(&api, "node=DC-EAST", 10).await;
    assert_eq!(rows, expected);
    assert_eq!(pages, 3);
    // A page that ends exactly at the last line says so (no empty extra page).
    let (rows, pages) = all_stock_pages(&api, "node=DC-EAST", 5).await;
    assert_eq!((rows.len(), pages), (25, 5));
    // Without a limit everything fits the default page.
    let (rows, pages) = all_stock_pages(&api, "node=DC-EAST", 1000).await;
    assert_eq!((rows, pages), (expected.clone(), 1));

    // A line that appears before the cursor between two pages is not shown twice and nothing
    // after the cursor is skipped.
    let first = api
        .ok("GET", "/api/v1/stock?node=DC-EAST&limit=10", VIEWER, None)
        .await
        .unwrap();
    let next = first["next"].as_str().unwrap().to_string();
    inject(&hub, "DC-EAST", vec![receive("A-99", "MUG", "7")])
        .await
        .unwrap();
    let second = api
        .ok(
            "GET",
            &format!("/api/v1/stock?node=DC-EAST&limit=10&after={next}"),
            VIEWER,
            None,
        )
        .await
        .unwrap();
    assert_eq!(second["balances"][0]["location"], "B-10", "{second}");

    for (query, field) in [
        ("after=zz", "after"),
        ("after=0102", "after"),
        ("limit=0", "limit"),
        ("limit=10001", "limit"),
    ] {
        let (status, body) = api
            .call("GET", &format!("/api/v1/stock?{query}"), Some(VIEWER), None)
            .await
            .unwrap();
        assert_eq!(status, 400, "{query}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{field}:")),
            "{query}: {body}"
        );
    }
    hub.stop().await;
}

/// A webhook receiver that records every attempt's delivery id and answers 503 until it is
/// switched on.
#[derive(Clone, Default)]
struct Switchable {
    up: Arc<Mutex<bool>>,
    attempts: Arc<Mutex<Vec<(u64, bool)>>>,
}

async fn switchable_receiver() -> (Switchable, std::net::SocketAddr) {
    use axum::http::{HeaderMap, StatusCode};
    let r = Switchable::default();
    let app =
        axum::Router::new()
            .route(
                "/hook",
                axum::routing::post(
                    |axum::extract::State(r): axum::extract::State<Switchable>,
                     headers: HeaderMap| async move {
                        let id: u64 = headers
                            .get("x-stockpost-delivery")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(0);
                        let up = *r.up.lock().unwrap();
                        r.attempts.lock().unwrap().push((id, up));
                        if up {
                            StatusCode::OK
                        } else {
                            StatusCode::SERVICE_UNAVAILABLE
                        }
                    },
                ),
            )
            .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (r, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_pending_at_a_hub_restart_is_delivered_after_it_with_the_same_id_and_dead_letters_are_kept(
) {
    let (receiver, addr) = switchable_receiver().await;
    let gone = stockpost_tests::mosquitto::free_port().unwrap();
    let extra = format!(
        "[[webhooks]]\nurl = \"http://{addr}/hook\"\nsecret = \"a-webhook-secret-0123\"\nevents = [\"inventory_changed\"]\nmax_attempts = 1000\nbackoff_ms = 20\ntimeout_ms = 1000\n\n[[webhooks]]\nurl = \"http://127.0.0.1:{gone}/gone\"\nsecret = \"a-webhook-secret-0123\"\nevents = [\"inventory_changed\"]\nmax_attempts = 1\ntimeout_ms = 500\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let (hub, api) = start(dir.path(), &extra).await;
    master_data(&api, &[("DC-EAST", 1)], "MUG").await;
    inject(&hub, "DC-EAST", vec![receive("A-01", "MUG", "3")])
        .await
        .unwrap();
    // The receiver is down: the delivery is being retried; the other one is given up.
    let tried = eventually(Duration::from_secs(20), || {
        receiver.attempts.lock().unwrap().len() >= 2
            && !hub.reader.dead_letters().unwrap_or_default().is_empty()
    })
    .await;
    assert!(tried, "{:?}", receiver.attempts.lock().unwrap());
    let first_id = receiver.attempts.lock().unwrap()[0].0;
    assert!(first_id > 0);
    assert_eq!(hub.reader.outbox(100).unwrap().len(), 1);
    hub.stop().await;

    // The receiver comes back while the hub is down; after the restart the same delivery
    // arrives, and the dead letter is still listed.
    *receiver.up.lock().unwrap() = true;
    let (hub, api) = start(dir.path(), &extra).await;
    let delivered = eventually(Duration::from_secs(20), || {
        receiver
            .attempts
            .lock()
            .unwrap()
            .iter()
            .any(|(id, up)| *up && *id == first_id)
    })
    .await;
    assert!(delivered, "{:?}", receiver.attempts.lock().unwrap());
    let drained = eventually(Duration::from_secs(20), || {
        hub.reader.outbox(100).is_ok_and(|o| o.is_empty())
    })
    .await;
    assert!(drained);
    let letters = api
        .ok("GET", "/api/v1/webhooks/dead-letters", VIEWER, None)
        .await
        .unwrap();
    assert_eq!(
        letters["dead_letters"].as_array().unwrap().len(),
        1,
        "{letters}"
    );
    assert!(letters["dead_letters"][0]["url"]
        .as_str()
        .unwrap()
        .ends_with("/gone"));

    // New deliveries get ids after every id used before the restart.
    let before = receiver.attempts.lock().unwrap().len();
    inject(&hub, "DC-EAST", vec![receive("A-01", "MUG", "1")])
        .await
        .unwrap();
    let next = eventually(Duration::from_secs(20), || {
        receiver.attempts.lock().unwrap().len() > before
    })
    .await;
    assert!(next);
    let newest = receiver.attempts.lock().unwrap()[before].0;
    let dead_id = letters["dead_letters"][0]["id"].as_u64().unwrap();
    assert!(
        newest > first_id.max(dead_id),
        "{newest} after {first_id}, {dead_id}"
    );
    hub.stop().await;
}

fn count_result(location: &str, sku: &str, counted: &str, expected: &str) -> EventBody {
    EventBody::CountResult {
        location: LocationCode::new(location).unwrap(),
        stock: StockRef::plain(Sku::new(sku).unwrap()),
        status: StockStatus::Available,
        counted: NonNegQty::from_str(counted).unwrap(),
        expected: NonNegQty::from_str(expected).unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kpis_after_a_restart_come_from_the_stored_kpi_window_and_an_older_store_builds_it_once(
) {
    let dir = tempfile::tempdir().unwrap();
    let (hub, api) = start(dir.path(), "").await;
    master_data(&api, &[("DC-EAST", 1)], "MUG").await;
    inject(
        &hub,
        "DC-EAST",
        vec![
            receive("A-01", "MUG", "5"),
            count_result("A-01", "MUG", "5", "5"),
            count_result("A-01", "MUG", "4", "5"),
        ],
    )
    .await
    .unwrap();
    let kpis = |api: Api| async move {
        let k = api.ok("GET", "/api/v1/kpis", VIEWER, None).await.unwrap();
        (k["counts"].clone(), k["inventory_accuracy"].clone())
    };
    let before = kpis(api.clone()).await;
    assert_eq!(before.0, 2, "{before:?}");
    hub.stop().await;

    let (hub, api) = start(dir.path(), "").await;
    assert_eq!(kpis(api.clone()).await, before);
    hub.stop().await;

    // A store from before the window was kept: no mark, no window.
    {
        let config = hub_config_with_api(dir.path(), NO_BROKER, "").unwrap();
        let (store, _) = stockpost_hub::repo::open_store(&config).unwrap();
        let mut batch = stockpost_store::WriteBatch::new();
        batch.delete("meta", b"kpi_window".to_vec());
        // A store from before the engine: layout 1, which had no window mark either.
        batch.delete("meta", b"layout".to_vec());
        for key in 0u64..2 {
            batch.delete("kpi_events", key.to_be_bytes().to_vec());
        }
        store.store().commit(batch).unwrap();
        assert_eq!(store.count("kpi_events").unwrap(), 0);
    }
    let (hub, api) = start(dir.path(), "").await;
    assert_eq!(kpis(api.clone()).await, before);
    hub.stop().await;
    let config = hub_config_with_api(dir.path(), NO_BROKER, "").unwrap();
    let (store, _) = stockpost_hub::repo::open_store(&config).unwrap();
    assert_eq!(store.count("kpi_events").unwrap(), 2);
    assert_eq!(store.meta("kpi_window").unwrap(), Some(1));
}
