//! Bootstrap of a new or wiped node over HTTP, and no silent loss from a reused sequence
//! (docs/protocol.md, "Bootstrap"): real Mosquitto, hub and agents in-process.

#![allow(clippy::unwrap_used)]

use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use stockpost_agent::node::AgentNode;
use stockpost_agent::writer::{lock as agent_lock, WriterError};
use stockpost_common::domain::{Dec, NodeId, Sku};
use stockpost_common::ledger::StockKey;
use stockpost_hub::node::HubNode;
use stockpost_tests::fleet::{agent_config_with_hub, eventually, init_tracing, record_receipt};
use stockpost_tests::hubapi::{hub_config_with_api, Api, ADMIN, OPERATOR, VIEWER};
use stockpost_tests::mosquitto::{free_port, Mosquitto};

/// `[hub]` lines for an agent: the hub's URL, a viewer token file, and the policy.
fn hub_section(dir: &Path, url: &str, policy: &str) -> String {
    let token = dir.join("hub-token");
    std::fs::write(&token, format!("{VIEWER}\n")).unwrap();
    format!(
        "url = \"{url}\"\ntoken_file = \"{}\"\nbootstrap = \"{policy}\"",
        token.display()
    )
}

async fn register(api: &Api, node: &str) {
    api.ok(
        "PUT",
        &format!("/api/v1/nodes/{node}"),
        ADMIN,
        Some(json!({"name": node, "priority": 1, "credential": stockpost_tests::keys::test_key_hex(node)})),
    )
    .await
    .unwrap();
    api.ok(
        "PUT",
        &format!("/api/v1/nodes/{node}/locations/RCV-1"),
        OPERATOR,
        Some(json!({"kind": "receiving", "pickable": false})),
    )
    .await
    .unwrap();
}

fn node_balances(ledger: &stockpost_common::ledger::Ledger, node: &NodeId) -> Vec<(StockKey, Dec)> {
    ledger
        .balances()
        .filter(|(k, _)| &k.node == node)
        .map(|(k, v)| (k.clone(), v))
        .collect()
}

async fn sequence_reused(api: &Api, node: &str) -> Vec<serde_json::Value> {
    let body = api
        .ok(
            "GET",
            &format!("/api/v1/exceptions?code=sequence_reused&node={node}"),
            VIEWER,
            None,
        )
        .await
        .unwrap();
    body["exceptions"].as_array().cloned().unwrap_or_default()
}

async fn wait_bootstrapped(agent: &AgentNode) -> bool {
    eventually(Duration::from_secs(20), || {
        !agent_lock(agent.writer.state()).bootstrap_pending
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wiped_node_bootstraps_its_stock_tasks_and_marks_and_its_next_steps_are_applied_once_after_the_mark(
) {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(&dir.path().join("broker")).unwrap();
    let mqtt = broker.addr().to_string();
    let hub = HubNode::start(hub_config_with_api(&dir.path().join("hub"), &mqtt, "").unwrap())
        .await
        .unwrap();
    let api = Api::new(&hub).unwrap();
    register(&api, "DC-EAST").await;
    let hub_section = hub_section(dir.path(), api.base(), "required");
    let data = dir.path().join("agent");
    let node = NodeId::new("DC-EAST").unwrap();

    // First life: a fresh node bootstraps (nothing applied yet), takes steps and syncs.
    let agent =
        AgentNode::start(agent_config_with_hub("DC-EAST", &data, &mqtt, &hub_section).unwrap())
            .await
            .unwrap();
    assert!(
        wait_bootstrapped(&agent).await,
        "the first bootstrap did not finish"
    );
    for _ in 0..5 {
        record_receipt(&agent.writer, "RCV-1", "MUG", "2")
            .await
            .unwrap();
    }
    let synced = eventually(Duration::from_secs(30), || {
        hub.applied_seq(&node) == 5 && agent_lock(agent.writer.state()).acked == 5
    })
    .await;
    assert!(synced, "the first five steps did not sync");
    // An open hub task for the node, sent after its first life's steps.
    let inbound = api
        .ok(
            "POST",
            "/api/v1/nodes/DC-EAST/inbound",
            OPERATOR,
            Some(json!({"ref": "ASN-1", "lines": [{"sku": "MUG", "qty": "24"}]})),
        )
        .await;
    // PUT the item first if the hub insists on known SKUs.
    let inbound = match inbound {
        Ok(v) => v,
        Err(_) => {
            api.ok(
                "PUT",
                "/api/v1/items/MUG",
                OPERATOR,
                Some(json!({"description": "Mug", "gtins": [{"gtin": "09501101530003", "pack": "each", "qty_per_pack": "1"}],
                            "tracking": "none", "expiry_controlled": false})),
            )
            .await
            .unwrap();
            api.ok(
                "POST",
                "/api/v1/nodes/DC-EAST/inbound",
                OPERATOR,
                Some(json!({"ref": "ASN-1", "lines": [{"sku": "MUG", "qty": "24"}]})),
            )
            .await
            .unwrap()
        }
    };
    let task = inbound["task"].as_str().unwrap().to_string();
    agent.stop().await;

    // The node's disk is wiped; it starts again with the same configuration.
    std::fs::remove_dir_all(&data).unwrap();
    let agent =
        AgentNode::start(agent_config_with_hub("DC-EAST", &data, &mqtt, &hub_section).unwrap())
            .await
            .unwrap();
    assert!(
        wait_bootstrapped(&agent).await,
        "the wiped node did not bootstrap"
    );
    {
        let state = agent_lock(agent.writer.state());
        let hub_view = hub.view();
        assert_eq!(
            node_balances(&state.ledger, &node),
            hub_view.books.stock.balances_of(&node),
            "the local stock equals the hub's view"
        );
        assert_eq!((state.head, state.acked), (5, 5), "the uplink mark");
        assert!(
            state.tasks.keys().any(|t| t.as_str() == task),
            "the open hub task {task} is present after the bootstrap"
        );
        assert!(state.ledger.check_conservation().is_ok());
    }

    // Its next steps continue after the mark and are applied exactly once.
    let mut seqs = Vec::new();
    for _ in 0..3 {
        seqs.push(
            record_receipt(&agent.writer, "RCV-1", "MUG", "1")
                .await
                .unwrap(),
        );
    }
    assert_eq!(seqs, vec![6, 7, 8]);
    let applied = eventually(Duration::from_secs(30), || {
        hub.applied_seq(&node) == 8 && agent_lock(agent.writer.state()).acked == 8
    })
    .await;
    assert!(applied, "the steps after the bootstrap did not sync");
    let events = hub.reader.events(&node, 0, 100).unwrap();
    assert_eq!(
        events.iter().map(|e| e.event.id.seq).collect::<Vec<_>>(),
        (1..=8).collect::<Vec<u64>>()
    );
    assert_eq!(
        hub.view()
            .books
            .stock
            .on_hand(&node, &Sku::new("MUG").unwrap()),
        Dec::from_int(13).unwrap()
    );
    assert!(sequence_reused(&api, "DC-EAST").await.is_empty());
    agent.stop().await;
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_node_refuses_steps_with_the_bootstrap_error_while_the_hub_is_down_and_takes_them_once_it_is_up(
) {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(&dir.path().join("broker")).unwrap();
    let mqtt = broker.addr().to_string();
    let hub_port = free_port().unwrap();
    let url = format!("http://127.0.0.1:{hub_port}");
    let section = hub_section(dir.path(), &url, "required");
    let agent = Arc::new(
        AgentNode::start(
            agent_config_with_hub("DC-WEST", &dir.path().join("agent"), &mqtt, &section).unwrap(),
        )
        .await
        .unwrap(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let agent_http = listener.local_addr().unwrap();
    tokio::spawn(stockpost_agent::http::serve(
        Arc::clone(&agent),
        listener,
        std::future::pending(),
    ));

    // The hub is down: steps are refused, nothing is recorded, and /healthz says why.
    let refused = record_receipt(&agent.writer, "RCV-1", "CUP", "1").await;
    assert!(
        matches!(&refused, Err(e) if e.downcast_ref::<WriterError>().is_some_and(|w| matches!(w, WriterError::NotBootstrapped))),
        "{refused:?}"
    );
    assert_eq!(agent_lock(agent.writer.state()).head, 0);
    let http = reqwest::Client::new();
    let health = http
        .get(format!("http://{agent_http}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 503);
    let text = health.text().await.unwrap();
    assert!(
        text.starts_with("waiting for the hub to bootstrap this node"),
        "{text}"
    );
    let failed = eventually(Duration::from_secs(10), || {
        agent
            .bootstrap
            .failures
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    })
    .await;
    assert!(failed, "the unreachable hub is counted as a failed attempt");

    // The hub comes up on that address and the node is registered: the bootstrap completes.
    let mut config = hub_config_with_api(&dir.path().join("hub"), &mqtt, "").unwrap();
    config.http.listen = format!("127.0.0.1:{hub_port}");
    let hub = HubNode::start(config).await.unwrap();
    let api = Api::new(&hub).unwrap();
    register(&api, "DC-WEST").await;
    assert!(
        wait_bootstrapped(&agent).await,
        "the node did not bootstrap once the hub was up"
    );
    let health = http
        .get(format!("http://{agent_http}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let seq = record_receipt(&agent.writer, "RCV-1", "CUP", "1")
        .await
        .unwrap();
    assert_eq!(seq, 1);
    let node = NodeId::new("DC-WEST").unwrap();
    let applied = eventually(Duration::from_secs(30), || hub.applied_seq(&node) == 1).await;
    assert!(
        applied,
        "the step taken after the bootstrap did not reach the hub"
    );
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wiped_node_that_skips_the_bootstrap_and_reuses_sequence_numbers_raises_sequence_reused_instead_of_a_silent_drop(
) {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(&dir.path().join("broker")).unwrap();
    let mqtt = broker.addr().to_string();
    let hub = HubNode::start(hub_config_with_api(&dir.path().join("hub"), &mqtt, "").unwrap())
        .await
        .unwrap();
    let api = Api::new(&hub).unwrap();
    register(&api, "DC-NORTH").await;
    let section = hub_section(dir.path(), api.base(), "skip");
    let data = dir.path().join("agent");
    let node = NodeId::new("DC-NORTH").unwrap();

    let agent =
        AgentNode::start(agent_config_with_hub("DC-NORTH", &data, &mqtt, &section).unwrap())
            .await
            .unwrap();
    for _ in 0..3 {
        record_receipt(&agent.writer, "RCV-1", "MUG", "2")
            .await
            .unwrap();
    }
    let synced = eventually(Duration::from_secs(30), || {
        agent_lock(agent.writer.state()).acked == 3
    })
    .await;
    assert!(synced);
    agent.stop().await;
    assert!(
        sequence_reused(&api, "DC-NORTH").await.is_empty(),
        "resends of the same events are plain duplicates"
    );

    // Wiped, and told to skip the bootstrap: it numbers different events from 1 again.
    std::fs::remove_dir_all(&data).unwrap();
    let agent =
        AgentNode::start(agent_config_with_hub("DC-NORTH", &data, &mqtt, &section).unwrap())
            .await
            .unwrap();
    for _ in 0..2 {
        record_receipt(&agent.writer, "RCV-1", "MUG", "5")
            .await
            .unwrap();
    }
    let raised = eventually(Duration::from_secs(30), || {
        hub.view()
            .books
            .exceptions
            .values()
            .any(|e| e.exception.message.contains("1..=2"))
    })
    .await;
    assert!(
        raised,
        "the reused sequence numbers 1..=2 were not reported"
    );
    assert!(hub.view().live.stats.sequence_reused_batches >= 1);
    let exceptions = sequence_reused(&api, "DC-NORTH").await;
    assert_eq!(exceptions.len(), 1, "{exceptions:?}");
    let message = exceptions[0]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("node DC-NORTH") && message.contains("1..=2"),
        "{message}"
    );
    assert_eq!(exceptions[0]["open"], true);
    {
        let hub_view = hub.view();
        assert_eq!(
            hub_view.books.stock.applied_seq(&node),
            3,
            "nothing new was applied"
        );
        assert_eq!(
            hub_view
                .books
                .stock
                .on_hand(&node, &Sku::new("MUG").unwrap()),
            Dec::from_int(6).unwrap(),
            "the reused events did not change the hub's stock"
        );
    }
    agent.stop().await;
    hub.stop().await;
}
