//! Orders end to end through a real Mosquitto: master data and pick tasks go down to the
//! agents over the per-node downlink, stock comes up from them, and an order split across two
//! nodes reaches both as pick tasks in the agents' stores.

#![allow(clippy::unwrap_used)]

use serde_json::json;
use std::time::Duration;
use stockpost_agent::node::AgentNode;
use stockpost_common::domain::{NodeId, OrderRef, Sku};
use stockpost_common::tasks::{TaskKind, TaskRecord, TaskSpec, TaskStatus};
use stockpost_hub::node::HubNode;
use stockpost_tests::fleet::{agent_config, eventually, init_tracing, record_receipt};
use stockpost_tests::hubapi::{hub_config_with_api, Api, ADMIN, OPERATOR, VIEWER};
use stockpost_tests::mosquitto::Mosquitto;

/// The live (not cancelled) tasks the agent has stored.
fn tasks_of(agent: &AgentNode) -> Vec<TaskSpec> {
    let mut out = Vec::new();
    let _ = agent.store.for_each("tasks", |_, v| {
        if let Ok(t) = serde_json::from_slice::<TaskRecord>(v) {
            if t.progress.status != TaskStatus::Cancelled {
                out.push(t.spec);
            }
        }
        Ok(())
    });
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_split_across_two_nodes_reaches_both_agents_as_pick_tasks_over_mosquitto() {
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
    let east = AgentNode::start(agent_config("DC-EAST", &dir.path().join("east"), &addr).unwrap())
        .await
        .unwrap();
    let west = AgentNode::start(agent_config("DC-WEST", &dir.path().join("west"), &addr).unwrap())
        .await
        .unwrap();

    api.ok(
        "PUT",
        "/api/v1/items/MUG",
        OPERATOR,
        Some(json!({"description": "Blue mug", "gtins": [], "tracking": "none"})),
    )
    .await
    .unwrap();
    for (node, priority) in [("DC-EAST", 1), ("DC-WEST", 2)] {
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
    // 3 at each node; the order wants 5, so it must be split.
    for _ in 0..3 {
        record_receipt(&east.writer, "A-01", "MUG", "1")
            .await
            .unwrap();
        record_receipt(&west.writer, "A-01", "MUG", "1")
            .await
            .unwrap();
    }
    let sku = Sku::new("MUG").unwrap();
    let (e, w) = (
        NodeId::new("DC-EAST").unwrap(),
        NodeId::new("DC-WEST").unwrap(),
    );
    let stocked = eventually(Duration::from_secs(30), || {
        let s = hub.view();
        s.books.stock.available(&e, &sku).to_string() == "3"
            && s.books.stock.available(&w, &sku).to_string() == "3"
    })
    .await;
    assert!(stocked, "the hub sees the agents' stock");

    let created = api
        .ok("POST", "/api/v1/orders", OPERATOR,
            Some(json!({"ref": "SO-5001", "channel": "web", "ship_by": "2030-01-01T00:00:00Z", "lines": [{"sku": "MUG", "qty": "5"}]})))
        .await
        .unwrap();
    assert_eq!(created["status"], "allocated", "{created}");
    assert_eq!(
        created["allocations"].as_array().unwrap().len(),
        2,
        "{created}"
    );

    let order = OrderRef::new("SO-5001").unwrap();
    let arrived = eventually(Duration::from_secs(30), || {
        let has_pick = |a: &AgentNode| {
            tasks_of(a)
                .iter()
                .any(|t| t.kind == TaskKind::Pick && t.order.as_ref() == Some(&order))
        };
        has_pick(&east) && has_pick(&west)
    })
    .await;
    assert!(
        arrived,
        "east tasks {:?}, west tasks {:?}",
        tasks_of(&east),
        tasks_of(&west)
    );
    let qty = |a: &AgentNode| -> String {
        tasks_of(a)
            .iter()
            .filter(|t| t.kind == TaskKind::Pick)
            .flat_map(|t| t.lines.iter().map(|l| l.qty.to_string()))
            .collect::<Vec<_>>()
            .join(",")
    };
    assert_eq!(qty(&east), "3");
    assert_eq!(qty(&west), "2");

    // The agents acked their downlink: nothing is left pending at the hub.
    let acked = eventually(Duration::from_secs(30), || {
        hub.view().books.downlink.values().all(|d| d.pending() == 0)
    })
    .await;
    assert!(acked);
    let nodes = api.ok("GET", "/api/v1/nodes", VIEWER, None).await.unwrap();
    for n in nodes["nodes"].as_array().unwrap() {
        assert_eq!(n["pending_downlink"], 0, "{n}");
        assert_eq!(n["applied_seq"], 3, "{n}");
    }
    let order_view = api
        .ok("GET", "/api/v1/orders/SO-5001", VIEWER, None)
        .await
        .unwrap();
    assert_eq!(order_view["status"], "released", "{order_view}");

    // Cancelling withdraws the tasks on both nodes.
    api.ok("POST", "/api/v1/orders/SO-5001/cancel", OPERATOR, None)
        .await
        .unwrap();
    let withdrawn = eventually(Duration::from_secs(30), || {
        tasks_of(&east)
            .iter()
            .chain(tasks_of(&west).iter())
            .all(|t| t.kind != TaskKind::Pick)
    })
    .await;
    assert!(withdrawn);
    east.stop().await;
    west.stop().await;
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downlink_items_queued_while_no_broker_is_reachable_survive_a_hub_restart_and_arrive() {
    init_tracing();
    let Some(_) = stockpost_tests::mosquitto::mosquitto_binary() else {
        stockpost_tests::real::skip_because(
            "mosquitto is not installed (apt-get install mosquitto)",
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let hub_dir = dir.path().join("hub");
    // First life: no broker. The inbound notice's receive task waits in the downlink.
    let hub = HubNode::start(hub_config_with_api(&hub_dir, "127.0.0.1:9", "").unwrap())
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
        Some(json!({"name": "East", "priority": 1, "credential": stockpost_tests::keys::test_key_hex("DC-EAST")})),
    )
    .await
    .unwrap();
    let asn = api
        .ok("POST", "/api/v1/nodes/DC-EAST/inbound", OPERATOR,
            Some(json!({"ref": "ASN-1001", "lines": [{"sku": "MUG", "qty": "24", "lot": null, "expiry": null}]})))
        .await
        .unwrap();
    assert_eq!(asn["status"], "expected");
    let nodes = api.ok("GET", "/api/v1/nodes", VIEWER, None).await.unwrap();
    assert_eq!(nodes["nodes"][0]["pending_downlink"], 2, "{nodes}");
    hub.stop().await;

    // Second life, with a broker and the agent: the stored items are sent and acked.
    let broker = Mosquitto::start(&dir.path().join("broker")).unwrap();
    let addr = broker.addr().to_string();
    let hub = HubNode::start(hub_config_with_api(&hub_dir, &addr, "").unwrap())
        .await
        .unwrap();
    let east = AgentNode::start(agent_config("DC-EAST", &dir.path().join("east"), &addr).unwrap())
        .await
        .unwrap();
    let arrived = eventually(Duration::from_secs(30), || {
        tasks_of(&east).iter().any(|t| {
            t.kind == TaskKind::Receive && t.doc.as_ref().map(|d| d.as_str()) == Some("ASN-1001")
        })
    })
    .await;
    assert!(arrived, "tasks {:?}", tasks_of(&east));
    let acked = eventually(Duration::from_secs(30), || {
        hub.view().books.downlink.values().all(|d| d.pending() == 0)
    })
    .await;
    assert!(acked);
    east.stop().await;
    hub.stop().await;
}
