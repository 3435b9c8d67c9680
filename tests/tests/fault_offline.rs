//! A long offline period through a real Mosquitto: a node queues 100,000 events while its network is
//! silently cut, then catches up while the broker is killed and restarted underneath it. Every
//! acknowledged event reaches the hub's ledger exactly once and in order, and the outbox drains.

#![allow(clippy::unwrap_used)]

use std::time::Duration;
use stockpost_agent::node::AgentNode;
use stockpost_agent::writer::lock as agent_lock;
use stockpost_common::domain::{Dec, NodeId, Sku};
use stockpost_hub::node::HubNode;
use stockpost_tests::fleet::{agent_config, eventually, hub_config, record_receipts_in_bulk};
use stockpost_tests::hubapi::register;
use stockpost_tests::mosquitto::Mosquitto;
use stockpost_tests::proxy::Proxy;

const STEPS: u64 = 1_000;
const PER_STEP: usize = 100;
const EVENTS: u64 = STEPS * PER_STEP as u64;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_a_node_offline_with_100000_queued_events_catches_up_exactly_once_across_a_broker_kill(
) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Mosquitto::start(&dir.path().join("broker")).unwrap();
    let proxy = Proxy::start(broker.addr()).await.unwrap();
    let hub =
        HubNode::start(hub_config(&dir.path().join("hub"), &broker.addr().to_string()).unwrap())
            .await
            .unwrap();
    register(&hub, &["DC-LONG"]).await.unwrap();
    let agent = AgentNode::start(
        agent_config(
            "DC-LONG",
            &dir.path().join("agent"),
            &proxy.addr().to_string(),
        )
        .unwrap(),
    )
    .await
    .unwrap();
    let node = NodeId::new("DC-LONG").unwrap();

    // The network dies silently before the shift; the node works the whole shift offline.
    proxy.cut();
    record_receipts_in_bulk(&agent.writer, STEPS, PER_STEP, "RCV-1", "BOX")
        .await
        .unwrap();
    assert_eq!(agent_lock(agent.writer.state()).head, EVENTS);
    assert_eq!(hub.applied_seq(&node), 0);

    // The network comes back; a third of the way through the catch-up the broker is killed -9.
    proxy.heal();
    let a_third = eventually(Duration::from_secs(120), || {
        hub.applied_seq(&node) >= EVENTS / 3
    })
    .await;
    assert!(
        a_third,
        "the catch-up did not start: hub applied {}",
        hub.applied_seq(&node)
    );
    broker.kill().unwrap();
    broker.restart().unwrap();

    let applied = eventually(Duration::from_secs(180), || {
        hub.applied_seq(&node) == EVENTS
    })
    .await;
    assert!(
        applied,
        "hub applied {} of {EVENTS}; agent link {:?}; hub duplicates {}, gaps {}",
        hub.applied_seq(&node),
        *agent.link_status.borrow(),
        hub.view().live.stats.duplicate_batches,
        hub.view().live.stats.gap_batches,
    );
    let drained = eventually(Duration::from_secs(60), || {
        agent_lock(agent.writer.state()).acked == EVENTS
    })
    .await;
    assert!(
        drained,
        "the agent's outbox still holds {} entries",
        EVENTS - agent_lock(agent.writer.state()).acked
    );

    // Exactly once: every unit counted once, and the hub's event log is 1..=EVENTS in order.
    assert_eq!(
        hub.view()
            .books
            .stock
            .on_hand(&node, &Sku::new("BOX").unwrap()),
        Dec::from_int(EVENTS as i64).unwrap()
    );
    let mut next = 1u64;
    while next <= EVENTS {
        let page = hub.reader.events(&node, next - 1, 1000).unwrap();
        assert!(!page.is_empty(), "the hub's log ends before seq {next}");
        for stored in page {
            assert_eq!(stored.event.id.seq, next, "the hub's log is out of order");
            next += 1;
        }
    }
    assert_eq!(next, EVENTS + 1);
    agent.stop().await;
    hub.stop().await;
}
