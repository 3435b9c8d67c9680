//! Sync benchmarks through a real Mosquitto (started on a free port): hub ingest with 1, 10 and 100
//! simulated nodes (durable at the hub), catch-up of a real agent that queued 100,000 events while
//! offline, and raw Mosquitto QoS 1 throughput on this machine as the reference.
//!
//! Run: cargo run --release -p stockpost-tests --bin stockpost-bench-sync [-- --quick]
//! Prints a Markdown table (docs/benchmarks.md). `-- --nodes 100` runs only the hub ingest with
//! that many nodes (for profiling); every ingest row is followed by the timer-driven work that
//! happened in it (hub: commits, duplicate and gap batches; nodes: resend requests received and
//! ack timeouts fired), which must stay near zero on a healthy run.

use anyhow::Context;
use rumqttc::{AsyncClient, Event as MqttEvent, MqttOptions, Packet, QoS};
use std::str::FromStr;
use std::time::{Duration, Instant};
use stockpost_agent::node::AgentNode;
use stockpost_agent::writer::lock as agent_lock;
use stockpost_common::domain::{
    Event, EventBody, EventId, LocationCode, NodeId, Qty, Sku, StockRef, StockStatus,
};
use stockpost_common::orders::{Actor, Role};
use stockpost_common::sync::{topics, Sender, SenderConfig};
use stockpost_common::wire::{self, Limits, Message};
use stockpost_engine::records::NodeMaster;
use stockpost_engine::{ApiCommand, Command};
use stockpost_hub::node::HubNode;
use stockpost_hub::writer::Request;
use stockpost_tests::fleet::{agent_config, hub_config, record_receipts_in_bulk};
use stockpost_tests::mosquitto::Mosquitto;

fn receipt(node: &NodeId, seq: u64) -> anyhow::Result<Event> {
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
            stock: StockRef::plain(Sku::new(format!("SKU-{}", seq % 500))?),
            qty: Qty::from_str("1")?,
            status: StockStatus::Available,
            inbound: None,
        },
    })
}

/// What a simulated node saw besides acks: the signs of waiting on a timer or a lost message.
#[derive(Debug, Default, Clone, Copy)]
struct NodeStats {
    resend_requests: u64,
    ack_timeouts: u64,
    batches_sent: u64,
}

/// A simulated node: events in memory, the real `Sender` state machine, a real MQTT client.
async fn sim_node(node: NodeId, events: u64, mqtt: (String, u16)) -> anyhow::Result<NodeStats> {
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
                if let Ok(env) = wire::decode(&p.payload, &Limits::DEFAULT) {
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
            let bytes = wire::encode(&Message::EventBatch { events: batch }, &node, range.first)?;
            client.try_publish(topics::up(&node), QoS::AtLeastOnce, false, bytes)?;
        }
        let _ = sender.take_prune();
        if sender.acked() == events {
            return Ok(stats);
        }
    }
}

async fn ingest(
    nodes: usize,
    per_node: u64,
    dir: &std::path::Path,
    broker: &Mosquitto,
) -> anyhow::Result<(u64, Duration)> {
    let mut config = hub_config(
        &dir.join(format!("hub-{nodes}")),
        &broker.addr().to_string(),
    )?;
    // Each run's hub is a new hub: under the shared test client id it would resume the previous
    // run's persistent session and get that run's unreleased batches (gaps for nodes it never
    // saw, and resend requests to nodes that are gone).
    config.mqtt.client_id = format!("stockpost-hub-bench-{nodes}");
    let hub = HubNode::start(config).await?;
    // Let the hub subscribe before the nodes publish.
    while !hub
        .mqtt_counters
        .connected
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A production hub knows its nodes (master data for allocation), so the rules see every
    // node on every order-relevant event: register them the way `PUT /nodes/{node}` does.
    let ids: Vec<NodeId> = (0..nodes)
        .map(|i| NodeId::new(format!("BENCH-{nodes}-{i}")))
        .collect::<Result<_, _>>()?;
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
    let started = Instant::now();
    let mut tasks = Vec::new();
    for node in ids {
        tasks.push(tokio::spawn(sim_node(
            node,
            per_node,
            ("127.0.0.1".into(), broker.port()),
        )));
    }
    let mut stats = NodeStats::default();
    for t in tasks {
        let s = t.await??;
        stats.resend_requests += s.resend_requests;
        stats.ack_timeouts += s.ack_timeouts;
        stats.batches_sent += s.batches_sent;
    }
    let elapsed = started.elapsed();
    let total = per_node * nodes as u64;
    let c = hub.view().live.stats;
    let load = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
    let applied = c.events_applied;
    anyhow::ensure!(applied == total, "hub applied {applied} of {total}");
    eprintln!(
        "  {nodes} node(s): nodes sent {} batches, got {} resend requests, {} ack timeouts fired; hub: {} commits, {} duplicate batches, {} gap batches, {} quarantined",
        stats.batches_sent,
        stats.resend_requests,
        stats.ack_timeouts,
        load(&hub.writer.counters.commits),
        c.duplicate_batches,
        c.gap_batches,
        c.quarantined,
    );
    hub.stop().await;
    Ok((total, elapsed))
}

async fn catch_up(
    events: u64,
    dir: &std::path::Path,
    broker: &Mosquitto,
) -> anyhow::Result<(Duration, Duration)> {
    // The node works offline: its broker address leads nowhere.
    let dead = stockpost_tests::mosquitto::free_port()?;
    let agent_dir = dir.join("catchup-agent");
    let agent = AgentNode::start(agent_config(
        "CATCHUP",
        &agent_dir,
        &format!("127.0.0.1:{dead}"),
    )?)
    .await?;
    let per_step = 100;
    let recording = Instant::now();
    record_receipts_in_bulk(
        &agent.writer,
        events / per_step,
        per_step as usize,
        "RCV-1",
        "CATCH",
    )
    .await?;
    let recorded = recording.elapsed();
    agent.stop().await;
    // Back online: same store, pointed at the broker with a hub behind it.
    let mut config = hub_config(&dir.join("catchup-hub"), &broker.addr().to_string())?;
    config.mqtt.client_id = "stockpost-hub-bench-catch-up".into();
    let hub = HubNode::start(config).await?;
    while !hub
        .mqtt_counters
        .connected
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let started = Instant::now();
    let agent = AgentNode::start(agent_config(
        "CATCHUP",
        &agent_dir,
        &broker.addr().to_string(),
    )?)
    .await?;
    let node = NodeId::new("CATCHUP")?;
    loop {
        let applied = hub.applied_seq(&node);
        let acked = agent_lock(agent.writer.state()).acked;
        if applied >= events && acked >= events {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = started.elapsed();
    agent.stop().await;
    hub.stop().await;
    Ok((recorded, elapsed))
}

async fn raw_mosquitto(messages: u64, broker: &Mosquitto) -> anyhow::Result<Duration> {
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

fn main() -> anyhow::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let catch_up_only = std::env::args().any(|a| a == "--catch-up-only");
    let args: Vec<String> = std::env::args().collect();
    let only_nodes: Option<usize> = args
        .iter()
        .position(|a| a == "--nodes")
        .and_then(|i| args.get(i + 1))
        .map(|n| n.parse())
        .transpose()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let dir = tempfile::tempdir()?;
        let broker = Mosquitto::start(&dir.path().join("broker"))?;
        println!("| measurement | events | time | rate |");
        println!("|---|---:|---:|---:|");
        let raw_n = if quick { 20_000 } else { 200_000 };
        if catch_up_only {
            let (recorded, elapsed) = catch_up(100_000, dir.path(), &broker).await?;
            println!(
                "| agent records 100000 events offline | 100000 | {:.2} s | catch-up after reconnect: {:.2} s ({:.0} events/s) |",
                recorded.as_secs_f64(),
                elapsed.as_secs_f64(),
                100_000.0 / elapsed.as_secs_f64()
            );
            return anyhow::Ok(());
        }
        if let Some(nodes) = only_nodes {
            let total_events = if quick { 20_000 } else { 200_000 };
            let per_node = total_events / nodes as u64;
            let (total, elapsed) = ingest(nodes, per_node, dir.path(), &broker).await?;
            println!(
                "| hub ingest, {nodes} simulated node(s), durable at the hub | {total} | {:.2} s | {:.0} events/s |",
                elapsed.as_secs_f64(),
                total as f64 / elapsed.as_secs_f64()
            );
            return anyhow::Ok(());
        }
        let raw = raw_mosquitto(raw_n, &broker).await?;
        println!(
            "| raw Mosquitto QoS 1, 160-byte messages, 1 publisher → 1 subscriber | {raw_n} msgs | {:.2} s | {:.0} msg/s |",
            raw.as_secs_f64(),
            raw_n as f64 / raw.as_secs_f64()
        );
        let total_events = if quick { 20_000 } else { 200_000 };
        for nodes in [1usize, 10, 100] {
            let per_node = total_events / nodes as u64;
            let (total, elapsed) = ingest(nodes, per_node, dir.path(), &broker).await?;
            println!(
                "| hub ingest, {nodes} simulated node(s), durable at the hub | {total} | {:.2} s | {:.0} events/s |",
                elapsed.as_secs_f64(),
                total as f64 / elapsed.as_secs_f64()
            );
        }
        let catch = if quick { 10_000 } else { 100_000 };
        let (recorded, elapsed) = catch_up(catch, dir.path(), &broker).await?;
        println!(
            "| agent records {catch} events offline (100 per step, up to 64 steps per commit) | {catch} | {:.2} s | {:.0} events/s |",
            recorded.as_secs_f64(),
            catch as f64 / recorded.as_secs_f64()
        );
        println!(
            "| catch-up after reconnect: all {catch} applied at the hub and acked | {catch} | {:.2} s | {:.0} events/s |",
            elapsed.as_secs_f64(),
            catch as f64 / elapsed.as_secs_f64()
        );
        anyhow::Ok(())
    })
}
