//! What the sync benchmarks share (`stockpost-bench-sync`, `stockpost-bench-reads`): simulated
//! nodes (the real `Sender` state machine, the real wire format, a real MQTT client each, events
//! held in memory), a hub started and told about them, and raw Mosquitto QoS 1 throughput as the
//! reference.

use crate::mosquitto::Mosquitto;
use anyhow::Context;
use rumqttc::{AsyncClient, Event as MqttEvent, MqttOptions, Packet, QoS};
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use stockpost_common::domain::{
    Event, EventBody, EventId, LocationCode, NodeId, Qty, Sku, StockRef, StockStatus,
};
use stockpost_common::orders::{Actor, Role};
use stockpost_common::sync::{topics, Sender, SenderConfig};
use stockpost_common::wire::{self, Limits, Message};
use stockpost_engine::records::NodeMaster;
use stockpost_engine::{ApiCommand, Command};
use stockpost_hub::config::HubConfig;
use stockpost_hub::node::HubNode;
use stockpost_hub::writer::Request;

/// How many SKUs a simulated node receives into (event `seq` receives `SKU-{seq % SKUS}`).
pub const SKUS: u64 = 500;

/// The receipt a simulated node records as its event `seq`: one unit of `SKU-{seq % 500}` into
/// `RCV-1`.
pub fn receipt(node: &NodeId, seq: u64) -> anyhow::Result<Event> {
    Ok(Event {
        id: EventId {
            node: node.clone(),
            seq,
        },
        at_ms: 1_800_000_000_000,
        operator: None,
        station: None,
        task: None,
        body: EventBody::Receive {
            location: LocationCode::new("RCV-1")?,
            stock: StockRef::plain(Sku::new(format!("SKU-{}", seq % SKUS))?),
            qty: Qty::from_str("1")?,
            status: StockStatus::Available,
            inbound: None,
        },
    })
}

/// What simulated nodes saw besides acks: the signs of waiting on a timer or a lost message.
#[derive(Debug, Default, Clone, Copy)]
pub struct NodeStats {
    /// Resend requests the nodes got from the hub.
    pub resend_requests: u64,
    /// Ack timeouts that fired at the nodes.
    pub ack_timeouts: u64,
    /// Event batches the nodes published.
    pub batches_sent: u64,
}

impl NodeStats {
    fn add(&mut self, s: NodeStats) {
        self.resend_requests += s.resend_requests;
        self.ack_timeouts += s.ack_timeouts;
        self.batches_sent += s.batches_sent;
    }
}

/// A simulated node: events in memory, the real `Sender` state machine (the agent's defaults: 500
/// events per batch, 4,000 in flight), a real MQTT client. Returns once the hub acked all `events`.
pub async fn sim_node(node: NodeId, events: u64, mqtt: (String, u16)) -> anyhow::Result<NodeStats> {
    let key = crate::keys::test_key(node.as_str());
    let mut stats = NodeStats::default();
    let mut options = MqttOptions::new(format!("bench-{node}"), mqtt.0, mqtt.1);
    options
        .set_clean_session(false)
        .set_keep_alive(Duration::from_secs(30))
        .set_max_packet_size(2 << 20, 2 << 20)
        .set_inflight(100)
        .set_request_channel_capacity(64);
    let (client, mut eventloop) = AsyncClient::new(options, 64);
    let mut sender = Sender::new(
        SenderConfig {
            max_batch: 500,
            max_in_flight: 4_000,
            ack_timeout_ms: 10_000,
        },
        0,
        events,
    );
    let started = Instant::now();
    let now = || u64::try_from(started.elapsed().as_millis()).unwrap_or(0);
    loop {
        match eventloop.poll().await {
            Ok(MqttEvent::Incoming(Packet::ConnAck(_))) => {
                client
                    .subscribe(topics::down(&node), QoS::AtLeastOnce)
                    .await?;
                sender.connected(now());
            }
            Ok(MqttEvent::Incoming(Packet::Publish(p))) => {
                if let Ok(env) = wire::decode(&p.payload, &Limits::DEFAULT, &key) {
                    match env.message {
                        Message::Ack { applied_seq } => sender.on_ack(applied_seq, now())?,
                        Message::ResendRequest { from_seq } => {
                            stats.resend_requests += 1;
                            sender.on_resend_request(from_seq, now())?
                        }
                        _ => {}
                    }
                }
            }
            Ok(_) => {}
            Err(e) => return Err(e).context("sim node connection"),
        }
        if sender
            .poll_timeout()
            .is_some_and(|deadline| now() >= deadline)
        {
            stats.ack_timeouts += 1;
        }
        sender.handle_timeout(now());
        while let Some(range) = sender.poll_transmit(now()) {
            stats.batches_sent += 1;
            let batch: Vec<Event> = (range.first..=range.last)
                .map(|s| receipt(&node, s))
                .collect::<anyhow::Result<_>>()?;
            let bytes = wire::encode(
                &Message::EventBatch { events: batch },
                &node,
                range.first,
                &key,
            )?;
            client.try_publish(topics::up(&node), QoS::AtLeastOnce, false, bytes)?;
        }
        let _ = sender.take_prune();
        if sender.acked() == events {
            return Ok(stats);
        }
    }
}

/// Starts a hub on the current runtime and returns once its MQTT client is connected (plus 200 ms
/// for its subscription), so nodes that publish next are heard.
pub async fn start_hub(config: HubConfig) -> anyhow::Result<HubNode> {
    let hub = HubNode::start(config).await?;
    while !hub.mqtt_counters.connected.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(hub)
}

/// The ids of a run's `nodes` simulated nodes: `BENCH-{nodes}-{i}` (plus `tag` when given, so two
/// runs of one size in one broker keep apart sessions).
pub fn node_ids(nodes: usize, tag: &str) -> anyhow::Result<Vec<NodeId>> {
    Ok((0..nodes)
        .map(|i| NodeId::new(format!("BENCH{tag}-{nodes}-{i}")))
        .collect::<Result<_, _>>()?)
}

/// Registers `ids` with the hub the way `PUT /nodes/{node}` does (priority in list order): a
/// production hub knows its nodes (master data for allocation), so the rules see every node on
/// every order-relevant event.
pub async fn register_nodes(hub: &HubNode, ids: &[NodeId]) -> anyhow::Result<()> {
    for (i, node) in ids.iter().enumerate() {
        let (reply, answer) = tokio::sync::oneshot::channel();
        hub.writer
            .tx
            .send(Request {
                command: Command::Api {
                    op: ApiCommand::PutNode(
                        node.clone(),
                        NodeMaster {
                            name: format!("bench node {i}"),
                            priority: u32::try_from(i)?,
                            active: true,
                            cutoff_ms_of_day: None,
                        },
                        stockpost_engine::command::CredentialChoice::Set(crate::keys::test_key(
                            node.as_str(),
                        )),
                    ),
                    actor: Actor {
                        name: "bench".into(),
                        role: Role::Admin,
                    },
                },
                token: None,
                reply: Some(reply),
            })
            .await
            .map_err(|_| anyhow::anyhow!("the hub's writer stopped"))?;
        answer
            .await?
            .map_err(|e| anyhow::anyhow!("registering {node}: {e:?}"))?;
    }
    Ok(())
}

/// Runs one simulated node per id (each sends `per_node` events) on the current runtime and waits
/// until every node holds the hub's ack for all its events; returns their counters and the time.
pub async fn run_nodes(
    ids: Vec<NodeId>,
    per_node: u64,
    broker_port: u16,
) -> anyhow::Result<(NodeStats, Duration)> {
    let started = Instant::now();
    let tasks: Vec<_> = ids
        .into_iter()
        .map(|node| tokio::spawn(sim_node(node, per_node, ("127.0.0.1".into(), broker_port))))
        .collect();
    let mut stats = NodeStats::default();
    for t in tasks {
        stats.add(t.await??);
    }
    Ok((stats, started.elapsed()))
}

/// Checks that the hub applied `total` events and prints the run's timer-driven work (stderr).
pub fn check_and_report(
    hub: &HubNode,
    label: &str,
    total: u64,
    stats: NodeStats,
) -> anyhow::Result<()> {
    let c = hub.view().live.stats;
    let applied = c.events_applied;
    anyhow::ensure!(applied == total, "hub applied {applied} of {total}");
    eprintln!(
        "  {label}: nodes sent {} batches, got {} resend requests, {} ack timeouts fired; hub: {} commits, {} duplicate batches, {} gap batches, {} quarantined",
        stats.batches_sent,
        stats.resend_requests,
        stats.ack_timeouts,
        hub.writer.counters.commits.load(Ordering::Relaxed),
        c.duplicate_batches,
        c.gap_batches,
        c.quarantined,
    );
    Ok(())
}

/// Raw Mosquitto QoS 1 throughput: one publisher → one subscriber, `messages` of 160 bytes;
/// returns the time until the subscriber got them all.
pub async fn raw_mosquitto(messages: u64, broker: &Mosquitto) -> anyhow::Result<Duration> {
    let payload = vec![0x42u8; 160];
    let mut sub_opts = MqttOptions::new("bench-raw-sub", "127.0.0.1", broker.port());
    sub_opts
        .set_clean_session(true)
        .set_inflight(100)
        .set_keep_alive(Duration::from_secs(30));
    let (sub, mut sub_loop) = AsyncClient::new(sub_opts, 64);
    sub.subscribe("bench/raw", QoS::AtLeastOnce).await?;
    loop {
        if let MqttEvent::Incoming(Packet::SubAck(_)) = sub_loop.poll().await? {
            break;
        }
    }
    let mut pub_opts = MqttOptions::new("bench-raw-pub", "127.0.0.1", broker.port());
    pub_opts
        .set_clean_session(true)
        .set_inflight(100)
        .set_keep_alive(Duration::from_secs(30));
    let (publisher, mut pub_loop) = AsyncClient::new(pub_opts, 1024);
    let started = Instant::now();
    let producer = tokio::spawn(async move {
        for _ in 0..messages {
            publisher
                .publish("bench/raw", QoS::AtLeastOnce, false, payload.clone())
                .await?;
        }
        anyhow::Ok(())
    });
    let driver = tokio::spawn(async move {
        loop {
            if pub_loop.poll().await.is_err() {
                return;
            }
        }
    });
    let mut got = 0u64;
    while got < messages {
        if let MqttEvent::Incoming(Packet::Publish(_)) = sub_loop.poll().await? {
            got += 1;
        }
    }
    let elapsed = started.elapsed();
    producer.await??;
    driver.abort();
    Ok(elapsed)
}
