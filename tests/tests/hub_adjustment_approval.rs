//! Approval before effect, end to end (issue #13): a node books a gain worth more than the
//! approval threshold; the hub holds it back from availability, so an order cannot be promised
//! it; an approver rejects it; the node receives `ReverseAdjustment` over a real Mosquitto, books
//! the opposite change and syncs it back; the hub then shows the adjustment `reversed`, nothing
//! held, the original on hand, a recount on its way to the node, and the decision in the audit.

#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use std::str::FromStr;
use stockpost_agent::writer::{PlannedEvent, StepFn, StepOutcome};
use stockpost_common::domain::{
    Dec, EventBody, LocationCode, Place, ReasonCode, Sku, StockRef, StockStatus,
};
use stockpost_hub::node::HubNode;
use stockpost_tests::fleet::{init_tracing, record_receipt};
use stockpost_tests::hubapi::{hub_config_with_api, Api, ADMIN, APPROVER, OPERATOR, VIEWER};
use stockpost_tests::mosquitto::Mosquitto;
use stockpost_tests::shift::{poll, wait_outbox_empty, WAIT};
use stockpost_tests::station::{StationAgent, STATIONS};

const EAST: &str = "DC-EAST";

fn d(s: &str) -> Dec {
    Dec::from_str(s).unwrap()
}

async fn master_data(api: &Api) {
    api.ok(
        "PUT",
        "/api/v1/items/MUG-BLUE",
        OPERATOR,
        Some(json!({"description": "Blue mug", "unit_value": "4.00"})),
    )
    .await
    .unwrap();
    api.ok(
        "PUT",
        &format!("/api/v1/nodes/{EAST}"),
        ADMIN,
        Some(json!({"name": EAST, "priority": 1, "credential": stockpost_tests::keys::test_key_hex(EAST)})),
    )
    .await
    .unwrap();
    api.ok(
        "PUT",
        &format!("/api/v1/nodes/{EAST}/locations/A-01-01"),
        OPERATOR,
        Some(json!({"kind": "reserve", "pickable": true})),
    )
    .await
    .unwrap();
}

/// Books `delta` of MUG-BLUE at A-01-01 on the node, as a count or a found item would.
async fn adjust_on_the_node(agent: &StationAgent, delta: &str) {
    let delta = d(delta);
    let step: StepFn = Box::new(move |_state, plan| {
        plan.events.push(PlannedEvent {
            body: EventBody::Adjust {
                place: Place::Location(LocationCode::new("A-01-01").unwrap()),
                stock: StockRef::plain(Sku::new("MUG-BLUE").unwrap()),
                status: StockStatus::Available,
                delta,
                reason: ReasonCode::Found,
                adjustment: None,
            },
            operator: None,
            station: None,
            task: None,
        });
        Ok(Value::Null)
    });
    match agent.node.writer.step(0, step).await.unwrap() {
        StepOutcome::Committed(_) => {}
        StepOutcome::Rejected(r) => panic!("the adjustment was refused: {}", r.message),
    }
}

/// Waits until the hub applied everything the node has recorded.
async fn synced(api: &Api, agent: &StationAgent) {
    let head = wait_outbox_empty(agent).await.unwrap();
    poll(WAIT, "the hub to apply the node's head", || async {
        let nodes = api.ok("GET", "/api/v1/nodes", VIEWER, None).await?;
        let ok = nodes["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|n| n["node"] == EAST && n["applied_seq"] == head);
        Ok(ok.then_some(()))
    })
    .await
    .unwrap();
}

/// (on hand, reserved, held, available) of MUG-BLUE at A-01-01, as the hub shows it.
async fn line(api: &Api) -> (Dec, Dec, Dec, Dec) {
    let v = api
        .ok(
            "GET",
            "/api/v1/stock?node=DC-EAST&sku=MUG-BLUE&location=A-01-01",
            VIEWER,
            None,
        )
        .await
        .unwrap();
    let b = &v["balances"][0];
    let f = |k: &str| d(b[k].as_str().unwrap_or("0"));
    (f("on_hand"), f("reserved"), f("held"), f("available"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gain_above_the_threshold_is_not_promised_to_an_order_and_a_rejected_one_is_reversed_by_the_node(
) {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(&dir.path().join("broker")).unwrap();
    let mqtt = broker.addr().to_string();
    let hub = HubNode::start(hub_config_with_api(&dir.path().join("hub"), &mqtt, "").unwrap())
        .await
        .unwrap();
    let api = Api::new(&hub).unwrap();
    master_data(&api).await;
    let agent = StationAgent::start_node(&dir.path().join("east"), EAST, &mqtt, STATIONS)
        .await
        .unwrap();

    record_receipt(&agent.node.writer, "A-01-01", "MUG-BLUE", "10")
        .await
        .unwrap();
    // +29 × 4.00 = 116.00, above the threshold of 100.
    adjust_on_the_node(&agent, "29").await;
    synced(&api, &agent).await;
    let adjustments = api
        .ok("GET", "/api/v1/adjustments", VIEWER, None)
        .await
        .unwrap();
    let adj = &adjustments["adjustments"][0];
    assert_eq!(adj["status"], "pending_approval", "{adjustments}");
    assert_eq!(line(&api).await, (d("39"), d("0"), d("29"), d("10")));

    // An order for 12: only the 10 that were there before the gain can be promised.
    api.ok(
        "POST",
        "/api/v1/orders",
        OPERATOR,
        Some(json!({
        "ref": "SO-1", "channel": "web", "ship_by": "2030-01-01T00:00:00Z",
        "lines": [{"sku": "MUG-BLUE", "qty": "12"}]})),
    )
    .await
    .unwrap();
    let order = api
        .ok("GET", "/api/v1/orders/SO-1", VIEWER, None)
        .await
        .unwrap();
    let allocated = d(order["lines"][0]["allocated"].as_str().unwrap());
    assert!(allocated <= d("10"), "the held gain was promised: {order}");
    let (_, reserved, held, available) = line(&api).await;
    assert_eq!((reserved, held), (allocated, d("29")));
    assert_eq!(available, d("10").checked_sub(allocated).unwrap());

    // The approver rejects it: the node books the opposite, the hold ends when that arrives.
    let id = adj["id"].as_u64().unwrap();
    let decided = api
        .ok(
            "POST",
            &format!("/api/v1/adjustments/{id}/reject"),
            APPROVER,
            None,
        )
        .await
        .unwrap();
    assert_eq!(decided["status"], "rejected", "{decided}");
    poll(WAIT, "the node's reversal to reach the hub", || async {
        let v = api.ok("GET", "/api/v1/adjustments", VIEWER, None).await?;
        Ok((v["adjustments"][0]["status"] == "reversed").then_some(()))
    })
    .await
    .unwrap();
    let (on_hand, _, held, _) = line(&api).await;
    assert_eq!((on_hand, held), (d("10"), d("0")));
    {
        let state = stockpost_agent::writer::lock(agent.node.writer.state());
        let node = stockpost_common::domain::NodeId::new(EAST).unwrap();
        let local: Vec<_> = state
            .ledger
            .balances()
            .filter(|(k, _)| k.node == node)
            .map(|(_, v)| v)
            .collect();
        assert_eq!(local, vec![d("10")], "the node booked the reversal once");
    }
    // A recount of the line goes to the node; the decision is audited.
    poll(WAIT, "the recount to reach the node", || async {
        let v = agent.get("/api/v1/tasks?kind=count").await?;
        Ok((!v["tasks"]
            .as_array()
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .is_empty())
        .then_some(()))
    })
    .await
    .unwrap();
    let audit = api
        .ok("GET", "/api/v1/audit?limit=1000", VIEWER, None)
        .await
        .unwrap();
    assert!(
        audit["audit"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["actor"] == "approver"
                && e["action"].as_str().unwrap_or("").contains("reject")),
        "{audit}"
    );
    agent.stop().await;
    hub.stop().await;
}
