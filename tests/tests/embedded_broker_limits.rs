//! The embedded broker degrades cleanly when it is full (docs/configuration.md, "The embedded
//! broker"): 1,100 logged-in connections followed by duplicate client ids — which made rumqttd
//! 0.20 panic and never accept again — leave it accepting the hub and the nodes. The gate in
//! front of rumqttd closes the connections over its limit at once and counts them; once the
//! flood is gone a node connects and syncs as before.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::Ordering;
use std::time::Duration;
use stockpost_agent::node::AgentNode;
use stockpost_common::domain::NodeId;
use stockpost_hub::node::HubNode;
use stockpost_tests::fleet::{agent_config, eventually, init_tracing, record_receipt};
use stockpost_tests::hubapi::{hub_config_with_api, register};
use stockpost_tests::keys::test_key;
use stockpost_tests::mosquitto::free_port;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Connects and logs in; `Some(stream)` when the broker accepted (CONNACK 0), `None` when the
/// connection was closed or refused.
async fn log_in(addr: &str, client_id: &str, user: &str, password: &str) -> Option<TcpStream> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    stream
        .write_all(&stockpost_hub::broker::connect_packet(
            client_id, user, password,
        ))
        .await
        .ok()?;
    let mut connack = [0u8; 4];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut connack));
    match read.await {
        Ok(Ok(_)) if connack == [0x20, 0x02, 0x00, 0x00] => Some(stream),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eleven_hundred_connections_and_duplicate_client_ids_leave_the_embedded_broker_serving_the_hub_and_nodes(
) {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let addr = format!("127.0.0.1:{}", free_port().unwrap());
    let mut config = hub_config_with_api(&dir.path().join("hub"), &addr, "").unwrap();
    config.mqtt.embedded_broker = true;
    let hub = HubNode::start(config).await.unwrap();
    register(&hub, &["DC-A", "DC-B"]).await.unwrap();
    let password = test_key("DC-B").broker_password();

    // A taken-over node's login opens 1,100 sessions.
    let mut open = Vec::new();
    let mut closed = 0;
    for i in 0..1_100 {
        match log_in(&addr, &format!("flood-{i}"), "DC-B", &password).await {
            Some(s) => open.push(s),
            None => closed += 1,
        }
    }
    assert!(open.len() < 1_000, "{} sessions were let in", open.len());
    assert!(closed >= 100, "only {closed} connections were refused");
    let gate = stockpost_hub::broker_gate::counters();
    assert!(gate.refused_full.load(Ordering::Relaxed) >= 100);

    // Make room, then take over open sessions' client ids.
    open.truncate(open.len() - 100);
    let mut taken_over = 0;
    for i in 0..50 {
        if let Some(s) = log_in(&addr, &format!("flood-{i}"), "DC-B", &password).await {
            open.push(s);
            taken_over += 1;
        }
    }
    assert!(taken_over > 0, "no duplicate client id got in");

    // The hub was never thrown off, and a node connects and syncs through the crowd.
    assert!(hub.mqtt_counters.connected.load(Ordering::Relaxed));
    let agent = AgentNode::start(agent_config("DC-A", &dir.path().join("agent"), &addr).unwrap())
        .await
        .unwrap();
    record_receipt(&agent.writer, "RCV-1", "MUG", "1")
        .await
        .unwrap();
    let node = NodeId::new("DC-A").unwrap();
    assert!(
        eventually(Duration::from_secs(60), || hub.applied_seq(&node) == 1).await,
        "the node's event did not arrive while the broker was crowded"
    );

    // The flood leaves; the broker takes new logins again.
    drop(open);
    let back = eventually(Duration::from_secs(30), || {
        gate.open.load(Ordering::Relaxed) <= 2
    })
    .await;
    assert!(
        back,
        "{} gate slots still open",
        gate.open.load(Ordering::Relaxed)
    );
    assert!(log_in(&addr, "after-the-flood", "DC-B", &password)
        .await
        .is_some());
    assert_eq!(hub.mqtt_counters.connects.load(Ordering::Relaxed), 1);
    agent.stop().await;
    hub.stop().await;
}
