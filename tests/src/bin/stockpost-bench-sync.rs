//! Sync benchmarks through a real Mosquitto (started on a free port): hub ingest with 1, 10 and 100
//! simulated nodes (durable at the hub), catch-up of a real agent that queued 100,000 events while
//! offline, and raw Mosquitto QoS 1 throughput on this machine as the reference.
//!
//! Run: cargo run --release -p stockpost-tests --bin stockpost-bench-sync [-- --quick]
//! Prints a Markdown table (docs/benchmarks.md). `-- --nodes 100` runs only the hub ingest with
//! that many nodes (for profiling); every ingest row is followed by the timer-driven work that
//! happened in it (hub: commits, duplicate and gap batches; nodes: resend requests received and
//! ack timeouts fired), which must stay near zero on a healthy run.

use std::time::{Duration, Instant};
use stockpost_agent::node::AgentNode;
use stockpost_agent::writer::lock as agent_lock;
use stockpost_common::domain::NodeId;
use stockpost_hub::node::HubNode;
use stockpost_tests::bench_sync::{
    check_and_report, node_ids, raw_mosquitto, register_nodes, run_nodes, start_hub,
};
use stockpost_tests::fleet::{agent_config, hub_config, record_receipts_in_bulk};
use stockpost_tests::mosquitto::Mosquitto;

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
    let hub = start_hub(config).await?;
    let ids = node_ids(nodes, "")?;
    register_nodes(&hub, &ids).await?;
    let (stats, elapsed) = run_nodes(ids, per_node, broker.port()).await?;
    let total = per_node * nodes as u64;
    check_and_report(&hub, &format!("{nodes} node(s)"), total, stats)?;
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
    // Since the hub quarantines the events of nodes it does not know, the node is registered first.
    let node = NodeId::new("CATCHUP")?;
    register_nodes(&hub, std::slice::from_ref(&node)).await?;
    let started = Instant::now();
    let agent = AgentNode::start(agent_config(
        "CATCHUP",
        &agent_dir,
        &broker.addr().to_string(),
    )?)
    .await?;
    loop {
        let applied = hub.applied_seq(&node);
        let acked = agent_lock(agent.writer.state()).acked;
        if applied >= events && acked >= events {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(120),
            "catch-up: after 120 s the hub applied {applied} and the agent holds the ack for {acked} of {events}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = started.elapsed();
    agent.stop().await;
    hub.stop().await;
    Ok((recorded, elapsed))
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
