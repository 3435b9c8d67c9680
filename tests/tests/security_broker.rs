//! Broker security through a real Mosquitto started from the shipped `config/mosquitto.conf`
//! and `config/mosquitto.acl` (rewritten only in paths and ports), with a CA and server
//! certificate generated in Rust: agents and the hub sync over TLS with their credentials; a
//! node cannot publish as another node (the broker drops it) and an envelope naming another
//! node than its topic is quarantined by the hub; unauthenticated or wrong-password clients are
//! refused at CONNECT; a plain-TCP client cannot use the TLS listener.
//!
//! The HTTP side (missing or wrong token → 401, a role too low → 403, JSON error bodies) is
//! `a_missing_or_unknown_token_gets_401_and_a_role_too_low_gets_403` in tests/tests/hub_api.rs.

#![allow(clippy::unwrap_used)]

use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, Event as MqttEvent, EventLoop, MqttOptions,
    Packet, QoS, Transport,
};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;
use stockpost_agent::node::AgentNode;
use stockpost_common::domain::{
    Event, EventBody, EventId, LocationCode, NodeId, OperatorId, Qty, Sku, StockRef, StockStatus,
};
use stockpost_common::sync::topics;
use stockpost_common::wire::{self, Message};
use stockpost_hub::node::HubNode;
use stockpost_tests::fleet::{agent_config, eventually, hub_config, init_tracing, record_receipt};
use stockpost_tests::hubapi::register;
use stockpost_tests::mosquitto::{mosquitto_binary, Mosquitto};

const HUB_USER: &str = "stockpost-hub";
const HUB_PASSWORD: &str = "hub-secret-0123";
const A_PASSWORD: &str = "node-a-secret-0123";
const B_PASSWORD: &str = "node-b-secret-0123";

/// A Mosquitto from the shipped files, TLS material, and password files for the hub and nodes.
struct Secured {
    broker: Mosquitto,
    dir: tempfile::TempDir,
    ca: PathBuf,
}

impl Secured {
    fn start() -> Option<Self> {
        mosquitto_binary()?;
        let dir = tempfile::tempdir().unwrap();
        let tls = stockpost_tests::certs::generate(&dir.path().join("certs")).unwrap();
        let users = [
            (HUB_USER, HUB_PASSWORD),
            ("DC-A", A_PASSWORD),
            ("DC-B", B_PASSWORD),
        ]
        .map(|(u, p)| (u.to_string(), p.to_string()));
        let broker = Mosquitto::start_shipped(&dir.path().join("broker"), &tls, &users).unwrap();
        for (user, password) in &users {
            std::fs::write(dir.path().join(format!("{user}.password")), password).unwrap();
        }
        Some(Self {
            broker,
            ca: tls.ca,
            dir,
        })
    }

    fn tls_addr(&self) -> SocketAddr {
        self.broker.tls_addr().unwrap()
    }

    fn password_file(&self, user: &str) -> PathBuf {
        self.dir.path().join(format!("{user}.password"))
    }

    /// The hub, over TLS, as `stockpost-hub`.
    async fn hub(&self) -> HubNode {
        let mut config =
            hub_config(&self.dir.path().join("hub"), &self.tls_addr().to_string()).unwrap();
        config.mqtt.username = Some(HUB_USER.into());
        config.mqtt.password_file = Some(self.password_file(HUB_USER));
        config.mqtt.tls_ca_file = Some(self.ca.clone());
        let hub = HubNode::start(config).await.unwrap();
        register(&hub, &["DC-A", "DC-B"]).await.unwrap();
        hub
    }

    /// An agent over TLS with its own credentials (username = node id).
    async fn agent(&self, node: &str) -> AgentNode {
        let mut config = agent_config(
            node,
            &self.dir.path().join(node),
            &self.tls_addr().to_string(),
        )
        .unwrap();
        config.mqtt.username = Some(node.into());
        config.mqtt.password_file = Some(self.password_file(node));
        config.mqtt.tls_ca_file = Some(self.ca.clone());
        AgentNode::start(config).await.unwrap()
    }

    /// A raw MQTT client on `addr`, with TLS trusting the test CA when `tls`.
    fn client(
        &self,
        addr: SocketAddr,
        id: &str,
        credentials: Option<(&str, &str)>,
        tls: bool,
    ) -> (AsyncClient, EventLoop) {
        let mut options = MqttOptions::new(id, addr.ip().to_string(), addr.port());
        options.set_keep_alive(Duration::from_secs(5));
        if let Some((user, password)) = credentials {
            options.set_credentials(user, password);
        }
        if tls {
            let ca = std::fs::read(&self.ca).unwrap();
            options.set_transport(Transport::tls(ca, None, None));
        }
        AsyncClient::new(options, 16)
    }
}

/// Polls until the CONNECT is answered: Ok on a ConnAck, the error otherwise.
async fn connect(eventloop: &mut EventLoop) -> Result<(), ConnectionError> {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match eventloop.poll().await {
                Ok(MqttEvent::Incoming(Packet::ConnAck(_))) => return Ok(()),
                Ok(_) => continue,
                Err(e) => return Err(e),
            }
        }
    })
    .await
    .expect("no answer to CONNECT within 10 s")
}

/// Polls until the broker PUBACKs our one publish.
async fn until_puback(eventloop: &mut EventLoop) {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let MqttEvent::Incoming(Packet::PubAck(_)) = eventloop.poll().await.unwrap() {
                return;
            }
        }
    })
    .await
    .unwrap();
}

/// An encoded batch of one receipt of `qty` `sku`, claiming to be `node`'s event `seq`.
fn batch(node: &NodeId, seq: u64, sku: &str, qty: &str) -> Vec<u8> {
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
            stock: StockRef::plain(Sku::new(sku).unwrap()),
            qty: Qty::from_str(qty).unwrap(),
            status: StockStatus::Available,
            inbound: None,
        },
    };
    wire::encode(
        &Message::EventBatch {
            events: vec![event],
        },
        node,
        seq,
        &stockpost_tests::keys::test_key(node.as_str()),
    )
    .unwrap()
}

fn skus(hub: &HubNode, node: &NodeId) -> Vec<(u64, String)> {
    hub.reader
        .events(node, 0, 100)
        .unwrap()
        .into_iter()
        .map(|e| {
            let sku = match &e.event.body {
                EventBody::Receive { stock, .. } => stock.sku.to_string(),
                other => format!("{other:?}"),
            };
            (e.event.id.seq, sku)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_with_its_credentials_syncs_to_the_hub_over_tls_through_the_shipped_broker_config()
{
    init_tracing();
    let Some(env) = Secured::start() else {
        stockpost_tests::real::skip_because(
            "mosquitto is not installed (apt-get install mosquitto)",
        );
        return;
    };
    let hub = env.hub().await;
    let agent = env.agent("DC-A").await;
    for _ in 0..20 {
        record_receipt(&agent.writer, "RCV-1", "MUG", "1")
            .await
            .unwrap();
    }
    let node = NodeId::new("DC-A").unwrap();
    let synced = eventually(Duration::from_secs(30), || {
        hub.applied_seq(&node) == 20
            && stockpost_agent::writer::lock(agent.writer.state()).acked == 20
    })
    .await;
    assert!(
        synced,
        "hub applied {}; broker log:\n{}",
        hub.applied_seq(&node),
        env.broker.log()
    );
    assert_eq!(agent.store.outbox_len().unwrap(), 0);
    agent.stop().await;
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_publishing_on_another_nodes_topic_is_dropped_by_the_broker_and_a_mismatched_envelope_is_quarantined(
) {
    init_tracing();
    let Some(env) = Secured::start() else {
        stockpost_tests::real::skip_because(
            "mosquitto is not installed (apt-get install mosquitto)",
        );
        return;
    };
    let hub = env.hub().await;
    // The hub is subscribed: DC-A's own event arrives.
    let agent_a = env.agent("DC-A").await;
    record_receipt(&agent_a.writer, "RCV-1", "MUG", "1")
        .await
        .unwrap();
    let a = NodeId::new("DC-A").unwrap();
    let b = NodeId::new("DC-B").unwrap();
    assert!(eventually(Duration::from_secs(30), || { hub.applied_seq(&a) == 1 }).await);
    // The forger uses DC-A's account; the broker gives every client its user name as client id,
    // so the real DC-A agent leaves first (else the two would take the session from each other).
    agent_a.stop().await;

    // DC-A's credentials, publishing DC-B's event 1 on DC-B's topic: the ACL drops it (MQTT
    // 3.1.1 still PUBACKs it, so the forger cannot even tell).
    let (forger, mut forger_loop) =
        env.client(env.tls_addr(), "forger", Some(("DC-A", A_PASSWORD)), true);
    connect(&mut forger_loop).await.unwrap();
    forger
        .publish(
            topics::up(&b),
            QoS::AtLeastOnce,
            false,
            batch(&b, 1, "FORGED", "999"),
        )
        .await
        .unwrap();
    until_puback(&mut forger_loop).await;

    // On its own topic, an envelope that says DC-B: the hub refuses it and quarantines it.
    let rejected_before = hub
        .mqtt_counters
        .rejected
        .load(std::sync::atomic::Ordering::Relaxed);
    forger
        .publish(
            topics::up(&a),
            QoS::AtLeastOnce,
            false,
            batch(&b, 1, "SMUGGLED", "999"),
        )
        .await
        .unwrap();
    until_puback(&mut forger_loop).await;
    let quarantined = eventually(Duration::from_secs(30), || {
        hub.view().books.quarantine.values().any(|item| {
            item.reason.contains("envelope says node DC-B")
                && item.reason.contains("topic of node DC-A")
        })
    })
    .await;
    assert!(quarantined, "the mismatched envelope was not quarantined");
    assert_eq!(
        hub.mqtt_counters
            .rejected
            .load(std::sync::atomic::Ordering::Relaxed),
        rejected_before + 1
    );

    // Positive control: DC-B's real event 1, sent after the forgery, is the one the hub has.
    let agent_b = env.agent("DC-B").await;
    record_receipt(&agent_b.writer, "RCV-1", "CUP", "1")
        .await
        .unwrap();
    assert!(
        eventually(Duration::from_secs(30), || { hub.applied_seq(&b) == 1 }).await,
        "DC-B's own event did not arrive"
    );
    assert_eq!(skus(&hub, &b), vec![(1, "CUP".to_string())]);
    assert_eq!(skus(&hub, &a), vec![(1, "MUG".to_string())]);
    agent_b.stop().await;
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_credentials_or_with_a_wrong_password_is_refused_at_connect() {
    init_tracing();
    let Some(env) = Secured::start() else {
        stockpost_tests::real::skip_because(
            "mosquitto is not installed (apt-get install mosquitto)",
        );
        return;
    };
    let refused = |r: &Result<(), ConnectionError>| {
        matches!(
            r,
            Err(ConnectionError::ConnectionRefused(
                ConnectReturnCode::NotAuthorized | ConnectReturnCode::BadUserNamePassword
            ))
        )
    };
    let (_c, mut anonymous) = env.client(env.tls_addr(), "anon", None, true);
    let r = connect(&mut anonymous).await;
    assert!(refused(&r), "{r:?}");
    let (_c, mut wrong) = env.client(
        env.tls_addr(),
        "wrong",
        Some(("DC-A", "not-the-password")),
        true,
    );
    let r = connect(&mut wrong).await;
    assert!(refused(&r), "{r:?}");
    // The loopback listener (for a hub on the same box) is no way around it.
    let (_c, mut loopback) = env.client(env.broker.addr(), "anon-loopback", None, false);
    let r = connect(&mut loopback).await;
    assert!(refused(&r), "{r:?}");
    // Control: the right password is accepted.
    let (_c, mut right) = env.client(env.tls_addr(), "right", Some(("DC-A", A_PASSWORD)), true);
    connect(&mut right).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_tcp_client_cannot_connect_to_the_tls_listener() {
    init_tracing();
    let Some(env) = Secured::start() else {
        stockpost_tests::real::skip_because(
            "mosquitto is not installed (apt-get install mosquitto)",
        );
        return;
    };
    let (_c, mut plain) = env.client(env.tls_addr(), "plain", Some(("DC-A", A_PASSWORD)), false);
    let r = connect(&mut plain).await;
    assert!(r.is_err(), "a plain CONNECT to the TLS port was answered");
}

#[test]
fn the_shipped_broker_config_has_a_tls_listener_and_the_per_node_acl() {
    let dir = stockpost_tests::mosquitto::shipped_config_dir();
    let conf = std::fs::read_to_string(dir.join("mosquitto.conf")).unwrap();
    for line in [
        "allow_anonymous false",
        "listener 8883",
        "tls_version tlsv1.2",
        "listener 1883 127.0.0.1",
    ] {
        assert!(conf.lines().any(|l| l.trim() == line), "missing {line:?}");
    }
    let acl = std::fs::read_to_string(dir.join("mosquitto.acl")).unwrap();
    for line in [
        "pattern write stockpost/v1/up/%u",
        "pattern write stockpost/v1/status/%u",
        "pattern read stockpost/v1/down/%u",
    ] {
        assert!(acl.lines().any(|l| l.trim() == line), "missing {line:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_account_connecting_under_the_hubs_client_id_does_not_take_over_the_hubs_session() {
    init_tracing();
    let Some(env) = Secured::start() else {
        stockpost_tests::real::skip_because(
            "mosquitto is not installed (apt-get install mosquitto)",
        );
        return;
    };
    let hub = env.hub().await;
    let up = eventually(Duration::from_secs(30), || {
        hub.mqtt_counters
            .connected
            .load(std::sync::atomic::Ordering::Relaxed)
    })
    .await;
    assert!(up);
    // DC-A's login under the hub's configured client id and the hub's user name as client id:
    // with use_username_as_clientid the broker gives it the id DC-A either way.
    for id in [hub.config.mqtt.client_id.as_str(), HUB_USER] {
        let (_c, mut takeover) = env.client(env.tls_addr(), id, Some(("DC-A", A_PASSWORD)), true);
        connect(&mut takeover).await.unwrap();
    }
    // The hub was not thrown off: still its first connection, and DC-B's event arrives.
    let agent_b = env.agent("DC-B").await;
    record_receipt(&agent_b.writer, "RCV-1", "CUP", "1")
        .await
        .unwrap();
    let b = NodeId::new("DC-B").unwrap();
    assert!(eventually(Duration::from_secs(30), || hub.applied_seq(&b) == 1).await);
    assert_eq!(
        hub.mqtt_counters
            .connects
            .load(std::sync::atomic::Ordering::Relaxed),
        1,
        "the hub was disconnected and reconnected"
    );
    agent_b.stop().await;
    hub.stop().await;
}
