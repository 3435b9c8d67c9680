//! Sync through a real Mosquitto: every acknowledged step reaches the hub's ledger exactly once
//! and in order, and the agent's outbox drains.

#![allow(clippy::unwrap_used)]

use std::time::Duration;
use stockpost_agent::node::AgentNode;
use stockpost_agent::writer::lock as agent_lock;
use stockpost_common::domain::{Dec, NodeId, Sku};
use stockpost_hub::node::HubNode;
use stockpost_tests::fleet::{agent_config, eventually, hub_config, init_tracing, record_receipt};
use stockpost_tests::hubapi::register;
use stockpost_tests::mosquitto::Mosquitto;
use stockpost_tests::proxy::Proxy;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_step_reaches_the_hub_once_in_order_and_the_outbox_drains() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(&dir.path().join("broker")).unwrap();
    let addr = broker.addr().to_string();
    let hub = HubNode::start(hub_config(&dir.path().join("hub"), &addr).unwrap())
        .await
        .unwrap();
    register(&hub, &["DC-EAST"]).await.unwrap();
    let agent =
        AgentNode::start(agent_config("DC-EAST", &dir.path().join("agent"), &addr).unwrap())
            .await
            .unwrap();

    let mut acknowledged = Vec::new();
    for _ in 0..300 {
        acknowledged.push(
            record_receipt(&agent.writer, "RCV-1", "MUG", "2")
                .await
                .unwrap(),
        );
    }
    assert_eq!(
        acknowledged,
        (1..=300).collect::<Vec<u64>>(),
        "steps are numbered gaplessly"
    );

    let node = NodeId::new("DC-EAST").unwrap();
    let applied = eventually(Duration::from_secs(30), || hub.applied_seq(&node) == 300).await;
    assert!(applied, "hub applied {}", hub.applied_seq(&node));
    let drained = eventually(Duration::from_secs(30), || {
        let s = agent_lock(agent.writer.state());
        s.acked == 300
    })
    .await;
    assert!(drained, "agent outbox still holds entries");
    assert_eq!(agent.store.outbox_len().unwrap(), 0);

    let events = hub.reader.events(&node, 0, 1000).unwrap();
    assert_eq!(
        events.iter().map(|e| e.event.id.seq).collect::<Vec<_>>(),
        (1..=300).collect::<Vec<u64>>()
    );
    let on_hand = hub
        .view()
        .books
        .stock
        .on_hand(&node, &Sku::new("MUG").unwrap());
    assert_eq!(on_hand, Dec::from_int(600).unwrap());
    agent.stop().await;
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_steps_taken_during_a_silent_network_cut_and_a_broker_restart_arrive_exactly_once() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Mosquitto::start(&dir.path().join("broker")).unwrap();
    let proxy = Proxy::start(broker.addr()).await.unwrap();
    let hub =
        HubNode::start(hub_config(&dir.path().join("hub"), &broker.addr().to_string()).unwrap())
            .await
            .unwrap();
    register(&hub, &["DC-WEST"]).await.unwrap();
    let agent = AgentNode::start(
        agent_config(
            "DC-WEST",
            &dir.path().join("agent"),
            &proxy.addr().to_string(),
        )
        .unwrap(),
    )
    .await
    .unwrap();
    let node = NodeId::new("DC-WEST").unwrap();

    for _ in 0..50 {
        record_receipt(&agent.writer, "RCV-1", "CUP", "1")
            .await
            .unwrap();
    }
    // The network dies silently: nothing is closed, nothing arrives. Work goes on offline.
    proxy.cut();
    for _ in 0..100 {
        record_receipt(&agent.writer, "RCV-1", "CUP", "1")
            .await
            .unwrap();
    }
    // The broker restarts while the node is cut off.
    broker.restart().unwrap();
    for _ in 0..50 {
        record_receipt(&agent.writer, "RCV-1", "CUP", "1")
            .await
            .unwrap();
    }
    proxy.heal();

    let applied = eventually(Duration::from_secs(60), || hub.applied_seq(&node) == 200).await;
    if !applied {
        eprintln!("BROKER LOG:\n{}", broker.log());
    }
    assert!(
        applied,
        "hub applied {}; agent link {:?}, sent {} batches, {} connects; hub received {}, rejected {}, connects {}, dup {}, gaps {}",
        hub.applied_seq(&node),
        *agent.link_status.borrow(),
        agent.link_counters.batches_sent.load(std::sync::atomic::Ordering::Relaxed),
        agent.link_counters.connects.load(std::sync::atomic::Ordering::Relaxed),
        hub.mqtt_counters.received.load(std::sync::atomic::Ordering::Relaxed),
        hub.mqtt_counters.rejected.load(std::sync::atomic::Ordering::Relaxed),
        hub.mqtt_counters.connects.load(std::sync::atomic::Ordering::Relaxed),
        hub.view().live.stats.duplicate_batches,
        hub.view().live.stats.gap_batches,
    );
    let drained = eventually(Duration::from_secs(60), || {
        agent_lock(agent.writer.state()).acked == 200
    })
    .await;
    assert!(
        drained,
        "agent acked {}",
        agent_lock(agent.writer.state()).acked
    );
    let events = hub.reader.events(&node, 0, 1000).unwrap();
    assert_eq!(
        events.iter().map(|e| e.event.id.seq).collect::<Vec<_>>(),
        (1..=200).collect::<Vec<u64>>()
    );
    assert_eq!(
        hub.view()
            .books
            .stock
            .on_hand(&node, &Sku::new("CUP").unwrap()),
        Dec::from_int(200).unwrap()
    );
    agent.stop().await;
    hub.stop().await;
}
