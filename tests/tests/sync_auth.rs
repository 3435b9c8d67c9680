//! Authenticated sync (docs/security.md): whoever can publish on the broker but does not hold a
//! node's credential cannot change the books, prune a node's outbox or move a node's row. Each
//! case runs through the hub's embedded broker (which lets anonymous clients in) and through a
//! real Mosquitto without an ACL — the broker is not trusted either way.
//!
//! The story of each run: the hub holds DC-A with a credential the agent does not have (an old
//! one), so nothing the agent sends is applied and its events stay in its outbox; a forger
//! publishes a well-formed batch, an Ack covering the agent's events, and statuses for DC-A
//! and for made-up nodes, all tagged with a key of its own. Nothing changes but counters and
//! one exception per node; then the hub is given the agent's credential and everything the
//! agent recorded arrives, exactly once.

#![allow(clippy::unwrap_used)]

use rumqttc::{AsyncClient, Event as MqttEvent, MqttOptions, Packet, QoS};
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::time::Duration;
use stockpost_agent::node::AgentNode;
use stockpost_agent::writer::lock as agent_lock;
use stockpost_common::domain::{
    Event, EventBody, EventId, ExceptionCode, LocationCode, NodeId, OperatorId, Qty, Sku, StockRef,
    StockStatus,
};
use stockpost_common::sync::topics;
use stockpost_common::wire::{self, Message, SyncKey};
use stockpost_hub::node::HubNode;
use stockpost_tests::fleet::{agent_config, eventually, init_tracing, record_receipt};
use stockpost_tests::hubapi::{hub_config_with_api, Api, ADMIN};
use stockpost_tests::keys::test_key_hex;
use stockpost_tests::mosquitto::{free_port, Mosquitto};

const NODE: &str = "DC-A";

fn forger_key() -> SyncKey {
    SyncKey::from_bytes([0x42; 32])
}

fn forged_batch(node: &NodeId, seq: u64) -> Vec<u8> {
    let event = Event {
        id: EventId {
            node: node.clone(),
            seq,
        },
        at_ms: 1_790_000_000_000,
        operator: OperatorId::new("op-forger").ok(),
        station: None,
        task: None,
        body: EventBody::Receive {
            location: LocationCode::new("RCV-1").unwrap(),
            stock: StockRef::plain(Sku::new("FORGED").unwrap()),
            qty: Qty::from_str("3000").unwrap(),
            status: StockStatus::Available,
            inbound: None,
        },
    };
    let message = Message::EventBatch {
        events: vec![event],
    };
    wire::encode(&message, node, seq, &forger_key()).unwrap()
}

fn forged(message: Message, node: &NodeId, seq: u64) -> Vec<u8> {
    wire::encode(&message, node, seq, &forger_key()).unwrap()
}

/// Publishes `messages` (topic, payload, retained) as an anonymous client and waits for each
/// PUBACK.
async fn publish_as_stranger(addr: &str, messages: Vec<(String, Vec<u8>, bool)>) {
    let (host, port) = addr.rsplit_once(':').unwrap();
    let mut options = MqttOptions::new("stranger", host, port.parse().unwrap());
    options.set_keep_alive(Duration::from_secs(5));
    let (client, mut eventloop) = AsyncClient::new(options, 64);
    let total = messages.len();
    for (topic, payload, retain) in messages {
        client
            .publish(topic, QoS::AtLeastOnce, retain, payload)
            .await
            .unwrap();
    }
    let mut acked = 0;
    let waited = tokio::time::timeout(Duration::from_secs(20), async {
        while acked < total {
            if let Ok(MqttEvent::Incoming(Packet::PubAck(_))) = eventloop.poll().await {
                acked += 1;
            }
        }
    })
    .await;
    assert!(
        waited.is_ok(),
        "the broker acked {acked} of {total} publishes"
    );
    let _ = client.disconnect().await;
}

async fn exceptions(api: &Api, code: &str) -> Vec<serde_json::Value> {
    let page = api
        .ok(
            "GET",
            &format!("/api/v1/exceptions?code={code}"),
            ADMIN,
            None,
        )
        .await
        .unwrap();
    page["exceptions"].as_array().cloned().unwrap_or_default()
}

async fn forged_messages_change_nothing_and_the_real_events_arrive_once(
    hub: HubNode,
    broker: &str,
    dir: &std::path::Path,
) {
    let api = Api::new(&hub).unwrap();
    let node = NodeId::new(NODE).unwrap();
    // The hub holds an old credential for DC-A; the agent has its current one.
    let old = SyncKey::from_bytes([0x17; 32]).to_hex();
    api.ok(
        "PUT",
        &format!("/api/v1/nodes/{NODE}"),
        ADMIN,
        Some(serde_json::json!({"name": NODE, "credential": old})),
    )
    .await
    .unwrap();
    let agent = AgentNode::start(agent_config(NODE, &dir.join("agent"), broker).unwrap())
        .await
        .unwrap();
    for _ in 0..3 {
        record_receipt(&agent.writer, "RCV-1", "MUG", "1")
            .await
            .unwrap();
    }
    // The agent's batches fail authentication at the hub: counted, one exception, not applied.
    let refused = eventually(Duration::from_secs(30), || {
        hub.mqtt_counters.unauthenticated.load(Ordering::Relaxed) >= 1
    })
    .await;
    assert!(refused, "the hub never refused the mis-keyed batches");
    assert_eq!(hub.applied_seq(&node), 0);

    // The forger: a well-formed batch (+3,000 units), an Ack covering the agent's events, an
    // offline status for DC-A and statuses for 20 made-up nodes.
    let mut messages = vec![
        (topics::up(&node), forged_batch(&node, 1), false),
        (
            topics::down(&node),
            forged(Message::Ack { applied_seq: 3 }, &node, 3),
            false,
        ),
        (
            topics::status(&node),
            forged(
                Message::NodeStatus {
                    online: false,
                    outbox_pending: 0,
                    last_seq: 99,
                },
                &node,
                99,
            ),
            true,
        ),
    ];
    for i in 0..20 {
        let made_up = NodeId::new(format!("FORGED-{i}")).unwrap();
        messages.push((
            topics::status(&made_up),
            forged(
                Message::NodeStatus {
                    online: true,
                    outbox_pending: 0,
                    last_seq: 1,
                },
                &made_up,
                1,
            ),
            true,
        ));
    }
    let before = hub.mqtt_counters.unauthenticated.load(Ordering::Relaxed);
    publish_as_stranger(broker, messages).await;
    let counted = eventually(Duration::from_secs(30), || {
        hub.mqtt_counters.unauthenticated.load(Ordering::Relaxed) >= before + 22
    })
    .await;
    assert!(counted, "the hub did not count the forged uplink messages");
    let dropped = eventually(Duration::from_secs(30), || {
        agent.link_counters.unauthenticated.load(Ordering::Relaxed) >= 1
    })
    .await;
    assert!(dropped, "the agent did not count the forged Ack");

    // Nothing moved: no event applied, the outbox intact, no row for a made-up node, DC-A's
    // row not marked offline by the forgery, one exception for DC-A and none for the others.
    assert_eq!(hub.applied_seq(&node), 0);
    assert!(hub.reader.events(&node, 0, 10).unwrap().is_empty());
    assert_eq!(agent_lock(agent.writer.state()).acked, 0);
    assert_eq!(agent.store.outbox_len().unwrap(), 3);
    let nodes = api.ok("GET", "/api/v1/nodes", ADMIN, None).await.unwrap();
    let rows = nodes["nodes"].as_array().cloned().unwrap_or_default();
    assert!(
        rows.iter().all(|r| r["node"] == NODE),
        "a forged status made a node row: {rows:?}"
    );
    let live = hub.view().live.nodes.get(&node).cloned();
    assert!(
        live.is_none_or(|l| l.reported_head != 99),
        "the forged status reached DC-A's row"
    );
    let raised = exceptions(&api, "unauthenticated_message").await;
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0]["node"], NODE);
    assert!(exceptions(&api, "unknown_node").await.is_empty());
    assert!(!hub
        .view()
        .books
        .exceptions
        .values()
        .any(|e| e.exception.code == ExceptionCode::PoisonMessage));

    // The fix: the hub gets the agent's credential; the agent's own events arrive, once.
    api.ok(
        "PUT",
        &format!("/api/v1/nodes/{NODE}"),
        ADMIN,
        Some(serde_json::json!({"name": NODE, "credential": test_key_hex(NODE)})),
    )
    .await
    .unwrap();
    let synced = eventually(Duration::from_secs(60), || {
        hub.applied_seq(&node) == 3 && agent_lock(agent.writer.state()).acked == 3
    })
    .await;
    assert!(synced, "hub applied {}", hub.applied_seq(&node));
    let skus: Vec<String> = hub
        .reader
        .events(&node, 0, 10)
        .unwrap()
        .into_iter()
        .map(|e| match e.event.body {
            EventBody::Receive { stock, .. } => stock.sku.to_string(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(skus, vec!["MUG", "MUG", "MUG"]);
    agent.stop().await;
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_batches_acks_and_statuses_through_the_embedded_broker_change_nothing_and_are_reported(
) {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let addr = format!("127.0.0.1:{}", free_port().unwrap());
    let mut config = hub_config_with_api(&dir.path().join("hub"), &addr, "").unwrap();
    config.mqtt.embedded_broker = true;
    let hub = HubNode::start(config).await.unwrap();
    forged_messages_change_nothing_and_the_real_events_arrive_once(hub, &addr, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_batches_acks_and_statuses_through_mosquitto_change_nothing_and_are_reported() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(&dir.path().join("broker")).unwrap();
    let addr = broker.addr().to_string();
    let config = hub_config_with_api(&dir.path().join("hub"), &addr, "").unwrap();
    let hub = HubNode::start(config).await.unwrap();
    forged_messages_change_nothing_and_the_real_events_arrive_once(hub, &addr, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_registered_without_a_credential_gets_one_once_and_a_rotation_replaces_it() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let drop_dir = dir.path().join("credentials");
    let addr = format!("127.0.0.1:{}", free_port().unwrap());
    let extra = format!("[credentials]\ndir = \"{}\"\n", drop_dir.display());
    let config = hub_config_with_api(&dir.path().join("hub"), &addr, &extra).unwrap();
    let hub = HubNode::start(config).await.unwrap();
    let api = Api::new(&hub).unwrap();
    let put = |body: serde_json::Value| {
        let api = api.clone();
        async move {
            api.ok("PUT", &format!("/api/v1/nodes/{NODE}"), ADMIN, Some(body))
                .await
                .unwrap()
        }
    };
    let first = put(serde_json::json!({"name": NODE})).await;
    let issued = first["credential"].as_str().unwrap().to_string();
    assert!(SyncKey::from_hex(&issued).is_ok(), "{first}");
    // Written for a same-machine agent, owner-only.
    let file = drop_dir.join(format!("{NODE}.key"));
    let written = std::fs::read_to_string(&file).unwrap();
    assert_eq!(written.trim(), issued);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // An update keeps it and does not show it again; no read shows it.
    let again = put(serde_json::json!({"name": NODE, "priority": 2})).await;
    assert!(again.get("credential").is_none(), "{again}");
    let nodes = api.ok("GET", "/api/v1/nodes", ADMIN, None).await.unwrap();
    assert!(!nodes.to_string().contains(&issued));
    // Rotation: a new one, written over the file; the old one is gone.
    let rotated = api
        .ok(
            "POST",
            &format!("/api/v1/nodes/{NODE}/credential"),
            ADMIN,
            None,
        )
        .await
        .unwrap();
    let new = rotated["credential"].as_str().unwrap().to_string();
    assert_ne!(new, issued);
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), new);
    let held = hub
        .view()
        .books
        .credentials
        .get(&NodeId::new(NODE).unwrap())
        .map(|c| c.key.to_hex());
    assert_eq!(held.as_deref(), Some(new.as_str()));
    // A bad credential names the field; an unknown node cannot get one.
    let (status, body) = api
        .call(
            "PUT",
            &format!("/api/v1/nodes/{NODE}"),
            Some(ADMIN),
            Some(serde_json::json!({"name": NODE, "credential": "abc"})),
        )
        .await
        .unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("credential"), "{body}");
    let (status, _) = api
        .call(
            "POST",
            "/api/v1/nodes/DC-NOWHERE/credential",
            Some(ADMIN),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, 404);
    hub.stop().await;
}
