//! Authenticated sync (docs/security.md): whoever can publish on the broker but does not hold a
//! node's credential cannot change the books, prune a node's outbox or move a node's row. Each
//! case runs through the hub's embedded broker (as another node, DC-B, whose box was taken
//! over: the embedded broker has no topic ACL) and through a real Mosquitto without an ACL, as
//! an anonymous client — the broker is not trusted either way. The embedded broker itself
//! refuses anonymous clients, wrong passwords and the hub's client id without the hub's secret.
//!
//! The story of each run: the hub holds DC-A with a credential the agent does not have (an old
//! one), so nothing the agent sends is applied and its events stay in its outbox; a forger
//! publishes a well-formed batch, an Ack covering the agent's events, and statuses for DC-A
//! and for made-up nodes, all tagged with a key of its own. Nothing changes but counters and
//! one exception per node; then the hub is given the agent's credential and everything the
//! agent recorded arrives, exactly once.

#![allow(clippy::unwrap_used)]

use rumqttc::{AsyncClient, Event as MqttEvent, EventLoop, MqttOptions, Packet, QoS};
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
use stockpost_tests::keys::{test_key, test_key_hex};
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

/// An MQTT client of `addr` with client id `id`, logged in with `login` when given.
fn client(addr: &str, id: &str, login: Option<(String, String)>) -> (AsyncClient, EventLoop) {
    let (host, port) = addr.rsplit_once(':').unwrap();
    let mut options = MqttOptions::new(id, host, port.parse().unwrap());
    options.set_keep_alive(Duration::from_secs(5));
    if let Some((user, password)) = login {
        options.set_credentials(user, password);
    }
    AsyncClient::new(options, 64)
}

/// What the broker answers to a CONNECT: `Ok` once accepted, the error otherwise.
async fn connect(eventloop: &mut EventLoop) -> Result<(), String> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), eventloop.poll()).await {
            Ok(Ok(MqttEvent::Incoming(Packet::ConnAck(_)))) => return Ok(()),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => return Err("no CONNACK within 10 s".into()),
        }
    }
}

/// Publishes `messages` (topic, payload, retained) as client `forger` logged in with `login`,
/// and waits for each PUBACK.
async fn publish_as(
    addr: &str,
    login: Option<(String, String)>,
    messages: Vec<(String, Vec<u8>, bool)>,
) {
    let (client, mut eventloop) = client(addr, "forger", login);
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

/// A forged offline status for `node` and online statuses for 20 made-up nodes, retained.
fn forged_statuses(node: &NodeId) -> Vec<(String, Vec<u8>, bool)> {
    let status = |n: &NodeId, online: bool, seq: u64| {
        let message = Message::NodeStatus {
            online,
            outbox_pending: 0,
            last_seq: seq,
        };
        (topics::status(n), forged(message, n, seq), true)
    };
    let mut out = vec![status(node, false, 99)];
    for i in 0..20 {
        out.push(status(
            &NodeId::new(format!("FORGED-{i}")).unwrap(),
            true,
            1,
        ));
    }
    out
}

/// The SKUs of the events the hub holds for `node`, in order.
fn skus(hub: &HubNode, node: &NodeId) -> Vec<String> {
    hub.reader
        .events(node, 0, 100)
        .unwrap()
        .into_iter()
        .map(|e| match e.event.body {
            EventBody::Receive { stock, .. } => stock.sku.to_string(),
            other => format!("{other:?}"),
        })
        .collect()
}

/// After the forgeries: no row for a made-up node, `node`'s row not moved by the forged status,
/// one `unauthenticated_message` exception for `node`, no other incident.
async fn assert_nothing_else_moved(hub: &HubNode, api: &Api, node: &NodeId) {
    let nodes = api.ok("GET", "/api/v1/nodes", ADMIN, None).await.unwrap();
    let rows = nodes["nodes"].as_array().cloned().unwrap_or_default();
    assert!(
        rows.iter()
            .all(|r| !r["node"].as_str().unwrap_or("").starts_with("FORGED")),
        "a forged status made a node row: {rows:?}"
    );
    let live = hub.view().live.nodes.get(node).cloned();
    assert!(
        live.is_none_or(|l| l.reported_head != 99),
        "the forged status reached the node's row"
    );
    let raised = exceptions(api, "unauthenticated_message").await;
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0]["node"], node.as_str());
    assert!(exceptions(api, "unknown_node").await.is_empty());
    assert!(!hub
        .view()
        .books
        .exceptions
        .values()
        .any(|e| e.exception.code == ExceptionCode::PoisonMessage));
}

async fn forged_messages_change_nothing_and_the_real_events_arrive_once(
    hub: HubNode,
    broker: &str,
    dir: &std::path::Path,
    forger: Option<(String, String)>,
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
    ];
    messages.extend(forged_statuses(&node));
    let before = hub.view().live.stats.unauthenticated_messages;
    publish_as(broker, forger, messages).await;
    let counted = eventually(Duration::from_secs(30), || {
        // The engine's count: the writer handled them (raised and committed), not only the
        // MQTT side saw them.
        hub.view().live.stats.unauthenticated_messages >= before + 22
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
    assert_nothing_else_moved(&hub, &api, &node).await;

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
    assert_eq!(skus(&hub, &node), vec!["MUG", "MUG", "MUG"]);
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
    let hub = HubNode::start(config.clone()).await.unwrap();
    // The embedded broker lets in only registered nodes, so a mis-keyed agent never gets as far
    // as the hub here; the forger holds DC-B's broker login (DC-B's box was taken over; the
    // embedded broker has no topic ACL), not DC-A's credential.
    stockpost_tests::hubapi::register(&hub, &[NODE, "DC-B"])
        .await
        .unwrap();
    let forger = Some(("DC-B".to_string(), test_key("DC-B").broker_password()));
    let api = Api::new(&hub).unwrap();
    let node = NodeId::new(NODE).unwrap();
    let agent = AgentNode::start(agent_config(NODE, &dir.path().join("agent"), &addr).unwrap())
        .await
        .unwrap();
    record_receipt(&agent.writer, "RCV-1", "MUG", "1")
        .await
        .unwrap();
    assert!(eventually(Duration::from_secs(30), || hub.applied_seq(&node) == 1).await);

    // A well-formed batch under DC-A's next sequence, a status for DC-A, statuses for made-up
    // nodes: refused by the hub.
    let mut messages = vec![(topics::up(&node), forged_batch(&node, 2), false)];
    messages.extend(forged_statuses(&node));
    publish_as(&addr, forger.clone(), messages).await;
    let counted = eventually(Duration::from_secs(30), || {
        hub.view().live.stats.unauthenticated_messages >= 22
    })
    .await;
    assert!(counted, "the hub did not count the forged messages");
    assert_eq!(hub.applied_seq(&node), 1);
    assert_nothing_else_moved(&hub, &api, &node).await;
    // DC-A's real event 2 is the one the hub applies.
    record_receipt(&agent.writer, "RCV-1", "MUG", "1")
        .await
        .unwrap();
    assert!(eventually(Duration::from_secs(30), || hub.applied_seq(&node) == 2).await);
    assert_eq!(skus(&hub, &node), vec!["MUG", "MUG"]);

    // A forged Ack while the hub is down (the embedded broker lives on in this process): the
    // agent drops it and keeps its two unacked events, which the restarted hub then applies.
    hub.stop().await;
    for _ in 0..2 {
        record_receipt(&agent.writer, "RCV-1", "MUG", "1")
            .await
            .unwrap();
    }
    let ack = forged(Message::Ack { applied_seq: 4 }, &node, 4);
    publish_as(&addr, forger, vec![(topics::down(&node), ack, false)]).await;
    let dropped = eventually(Duration::from_secs(30), || {
        agent.link_counters.unauthenticated.load(Ordering::Relaxed) >= 1
    })
    .await;
    assert!(dropped, "the agent did not count the forged Ack");
    assert_eq!(agent_lock(agent.writer.state()).acked, 2);
    assert_eq!(agent.store.outbox_len().unwrap(), 2);
    let hub = HubNode::start(config).await.unwrap();
    let synced = eventually(Duration::from_secs(60), || {
        hub.applied_seq(&node) == 4 && agent_lock(agent.writer.state()).acked == 4
    })
    .await;
    assert!(synced, "hub applied {}", hub.applied_seq(&node));
    assert_eq!(skus(&hub, &node), vec!["MUG"; 4]);
    agent.stop().await;
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_broker_refuses_strangers_wrong_passwords_and_the_hubs_client_id() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let addr = format!("127.0.0.1:{}", free_port().unwrap());
    let mut config = hub_config_with_api(&dir.path().join("hub"), &addr, "").unwrap();
    config.mqtt.embedded_broker = true;
    let hub_id = config.mqtt.client_id.clone();
    let hub = HubNode::start(config).await.unwrap();
    stockpost_tests::hubapi::register(&hub, &[NODE])
        .await
        .unwrap();
    let connected = eventually(Duration::from_secs(30), || {
        hub.mqtt_counters.connected.load(Ordering::Relaxed)
    })
    .await;
    assert!(connected);
    let right = test_key(NODE).broker_password();
    let refused: [(&str, Option<(String, String)>); 5] = [
        ("anonymous", None),
        ("wrong-password", Some((NODE.into(), "guess".into()))),
        ("unknown-node", Some(("DC-NOWHERE".into(), right.clone()))),
        (
            "the sync key itself",
            Some((NODE.into(), test_key_hex(NODE))),
        ),
        // The hub's client id, even with a node's valid login: it would kick the hub off.
        (hub_id.as_str(), Some((NODE.into(), right.clone()))),
    ];
    for (id, login) in refused {
        let (_c, mut eventloop) = client(&addr, id, login);
        assert!(
            connect(&mut eventloop).await.is_err(),
            "{id}: the embedded broker let it in"
        );
    }
    let (_c, mut eventloop) = client(
        &addr,
        "stockpost-agent-DC-WEST",
        Some((NODE.into(), right.clone())),
    );
    assert!(
        connect(&mut eventloop).await.is_err(),
        "another node's agent client id"
    );
    // The node itself gets in; the hub was never kicked off.
    let (_c, mut eventloop) = client(&addr, "stockpost-agent-DC-A", Some((NODE.into(), right)));
    assert_eq!(connect(&mut eventloop).await, Ok(()));
    assert_eq!(hub.mqtt_counters.connects.load(Ordering::Relaxed), 1);
    assert!(hub.mqtt_counters.connected.load(Ordering::Relaxed));
    // Anonymous CONNECTs are refused by rumqttd before the login check, so they are not in the
    // count; the five others are.
    assert!(stockpost_hub::broker::refused_total() >= 5);
    let metrics = Api::new(&hub)
        .unwrap()
        .call("GET", "/metrics", None, None)
        .await
        .unwrap()
        .1
        .to_string();
    assert!(
        metrics.contains("stockpost_hub_broker_refused_total"),
        "{metrics}"
    );
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_batches_acks_and_statuses_through_mosquitto_change_nothing_and_are_reported() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(&dir.path().join("broker")).unwrap();
    let addr = broker.addr().to_string();
    let config = hub_config_with_api(&dir.path().join("hub"), &addr, "").unwrap();
    let hub = HubNode::start(config).await.unwrap();
    forged_messages_change_nothing_and_the_real_events_arrive_once(hub, &addr, dir.path(), None)
        .await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_without_its_credential_file_records_steps_says_why_and_syncs_once_the_file_appears()
{
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let addr = format!("127.0.0.1:{}", free_port().unwrap());
    let mut config = hub_config_with_api(&dir.path().join("hub"), &addr, "").unwrap();
    config.mqtt.embedded_broker = true;
    let hub = HubNode::start(config).await.unwrap();
    stockpost_tests::hubapi::register(&hub, &[NODE])
        .await
        .unwrap();
    let mut agent_config = agent_config(NODE, &dir.path().join("agent"), &addr).unwrap();
    let file = dir.path().join("later.key");
    agent_config.sync.credential_file = Some(file.clone());
    let agent = AgentNode::start(agent_config).await.unwrap();
    record_receipt(&agent.writer, "RCV-1", "MUG", "1")
        .await
        .unwrap();
    let said = eventually(Duration::from_secs(30), || {
        agent
            .link_status
            .borrow()
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("sync.credential_file"))
    })
    .await;
    assert!(said, "status: {:?}", agent.link_status.borrow());
    let node = NodeId::new(NODE).unwrap();
    assert_eq!(hub.applied_seq(&node), 0);
    stockpost_tests::keys::write_key(&file, &test_key(NODE)).unwrap();
    let synced = eventually(Duration::from_secs(30), || hub.applied_seq(&node) == 1).await;
    assert!(
        synced,
        "the event did not arrive once the credential was there"
    );
    assert!(agent.link_status.borrow().last_error.is_none());
    agent.stop().await;
    hub.stop().await;
}
