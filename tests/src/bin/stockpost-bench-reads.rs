//! Read latency of the hub's HTTP API while it ingests at full speed: N simulated nodes (100 by
//! default; the machinery of `stockpost-bench-sync`) publish through a real Mosquitto into a real
//! hub, and HTTP clients GET `/api/v1/stock?node=&sku=` and `/api/v1/nodes` for the whole ingest,
//! recording every request's latency (send → whole body received).
//!
//! Run: cargo run --release -p stockpost-tests --bin stockpost-bench-reads [-- options]
//! Options: `--nodes N` (100), `--events N` in all (200,000), `--readers N` (4; each alternates
//! the two GETs), `--interval-ms N` pause after each request (10; 0 = closed loop), `--idle-secs
//! N` (3). In one run it measures, in this order: raw Mosquitto QoS 1 throughput (reference), the
//! ingest without readers (reference), the ingest with readers, and the same GETs against that hub
//! once it is idle (reference). The hub runs on its own Tokio runtime, as it does in its own
//! process; each reader has its own thread and connection. Prints Markdown tables
//! (docs/benchmarks.md).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use stockpost_common::domain::NodeId;
use stockpost_hub::auth::sha256_hex;
use stockpost_hub::config::TokenConfig;
use stockpost_hub::node::HubNode;
use stockpost_tests::bench_sync::{
    check_and_report, node_ids, raw_mosquitto, register_nodes, run_nodes, start_hub, SKUS,
};
use stockpost_tests::fleet::hub_config;
use stockpost_tests::hubapi::VIEWER;
use stockpost_tests::mosquitto::Mosquitto;
use tokio::runtime::Handle;

#[derive(Debug, Clone)]
struct Args {
    nodes: usize,
    events: u64,
    readers: usize,
    interval: Duration,
    idle: Duration,
}

fn flag<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => {
            let v = args
                .get(i + 1)
                .ok_or_else(|| anyhow::anyhow!("{name} needs a value"))?;
            v.parse().map_err(|e| anyhow::anyhow!("{name} {v:?}: {e}"))
        }
    }
}

fn parse_args() -> anyhow::Result<Args> {
    let args: Vec<String> = std::env::args().collect();
    Ok(Args {
        nodes: flag(&args, "--nodes", 100)?,
        events: flag(&args, "--events", 200_000)?,
        readers: flag(&args, "--readers", 4)?,
        interval: Duration::from_millis(flag(&args, "--interval-ms", 10)?),
        idle: Duration::from_secs(flag(&args, "--idle-secs", 3)?),
    })
}

/// Every latency of one endpoint, and what went wrong.
#[derive(Debug, Default)]
struct Samples {
    latencies: Vec<Duration>,
    errors: u64,
    bytes: usize,
}

impl Samples {
    fn merge(&mut self, other: Samples) {
        self.latencies.extend(other.latencies);
        self.errors += other.errors;
        self.bytes = self.bytes.max(other.bytes);
    }
}

/// What the readers recorded: `GET /stock?node=&sku=` and `GET /nodes`.
#[derive(Debug, Default)]
struct Reads {
    stock: Samples,
    nodes: Samples,
    elapsed: Duration,
}

/// A small xorshift, so that each reader asks for its own (node, SKU) pairs.
fn next_random(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// One GET: its latency (send → whole body) and body size, or `None` unless it answered 200.
async fn get(client: &reqwest::Client, url: &str) -> (Duration, Option<usize>) {
    let started = Instant::now();
    let body = async {
        let resp = client.get(url).bearer_auth(VIEWER).send().await.ok()?;
        let ok = resp.status() == reqwest::StatusCode::OK;
        let bytes = resp.bytes().await.ok()?;
        ok.then_some(bytes.len())
    }
    .await;
    (started.elapsed(), body)
}

fn record(samples: &mut Samples, (latency, body): (Duration, Option<usize>)) {
    samples.latencies.push(latency);
    match body {
        Some(n) => samples.bytes = samples.bytes.max(n),
        None => samples.errors += 1,
    }
}

/// One reader: one keep-alive connection, alternating the two GETs until `stop`.
async fn read_loop(
    base: String,
    nodes: Arc<Vec<NodeId>>,
    interval: Duration,
    stop: Arc<AtomicBool>,
    seed: u64,
) -> anyhow::Result<Reads> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let mut reads = Reads::default();
    let mut rng = seed | 1;
    let nodes_url = format!("{base}/api/v1/nodes");
    let started = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let node = &nodes[next_random(&mut rng) as usize % nodes.len()];
        let sku = next_random(&mut rng) % SKUS;
        let url = format!("{base}/api/v1/stock?node={node}&sku=SKU-{sku}");
        record(&mut reads.stock, get(&client, &url).await);
        if !interval.is_zero() {
            tokio::time::sleep(interval).await;
        }
        record(&mut reads.nodes, get(&client, &nodes_url).await);
        if !interval.is_zero() {
            tokio::time::sleep(interval).await;
        }
    }
    reads.elapsed = started.elapsed();
    Ok(reads)
}

/// Readers running on their own threads (one current-thread runtime each) until stopped.
struct Readers {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<anyhow::Result<Reads>>>,
}

impl Readers {
    fn start(hub: &HubNode, nodes: &[NodeId], args: &Args) -> anyhow::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let nodes = Arc::new(nodes.to_vec());
        let base = format!("http://{}", hub.http_addr);
        let mut threads = Vec::new();
        for i in 0..args.readers {
            let (base, nodes, stop) = (base.clone(), Arc::clone(&nodes), Arc::clone(&stop));
            let interval = args.interval;
            let thread = std::thread::Builder::new()
                .name(format!("bench-reader-{i}"))
                .spawn(move || {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?
                        .block_on(read_loop(
                            base,
                            nodes,
                            interval,
                            stop,
                            0x9E37_79B9 + i as u64,
                        ))
                })?;
            threads.push(thread);
        }
        Ok(Self { stop, threads })
    }

    async fn finish(self) -> anyhow::Result<Reads> {
        self.stop.store(true, Ordering::Relaxed);
        let threads = self.threads;
        tokio::task::spawn_blocking(move || {
            let mut all = Reads::default();
            for t in threads {
                let r = t
                    .join()
                    .map_err(|_| anyhow::anyhow!("a reader panicked"))??;
                all.stock.merge(r.stock);
                all.nodes.merge(r.nodes);
                all.elapsed = all.elapsed.max(r.elapsed);
            }
            Ok(all)
        })
        .await?
    }
}

/// One ingest of `args.events` from `args.nodes` nodes into a new hub on `hub_rt`, with readers
/// during it when `with_readers`. Returns the hub (still running), the ingest rate and the reads.
async fn ingest(
    hub_rt: &Handle,
    tag: &str,
    args: &Args,
    dir: &std::path::Path,
    broker: &Mosquitto,
    with_readers: bool,
) -> anyhow::Result<(HubNode, f64, Option<Reads>)> {
    let mut config = hub_config(&dir.join(format!("hub-{tag}")), &broker.addr().to_string())?;
    config.mqtt.client_id = format!("stockpost-hub-bench-reads-{tag}");
    config.auth.tokens.push(TokenConfig {
        name: "bench-viewer".into(),
        token: None,
        sha256: Some(sha256_hex(VIEWER)),
        role: "viewer".into(),
    });
    let hub = hub_rt.spawn(start_hub(config)).await??;
    let ids = node_ids(args.nodes, tag)?;
    register_nodes(&hub, &ids).await?;
    let per_node = args.events / args.nodes as u64;
    let total = per_node * args.nodes as u64;
    let readers = if with_readers {
        Some(Readers::start(&hub, &ids, args)?)
    } else {
        None
    };
    let (stats, elapsed) = run_nodes(ids, per_node, broker.port()).await?;
    let reads = match readers {
        Some(r) => Some(r.finish().await?),
        None => None,
    };
    let label = format!(
        "{} nodes, {}",
        args.nodes,
        if with_readers {
            "with readers"
        } else {
            "no readers"
        }
    );
    check_and_report(&hub, &label, total, stats)?;
    println!(
        "| hub ingest, {label} | {total} | {:.2} s | {:.0} events/s |",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    Ok((hub, total as f64 / elapsed.as_secs_f64(), reads))
}

/// The latency at percentile `p` (nearest rank) of sorted samples.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn print_row(endpoint: &str, phase: &str, mut s: Samples, elapsed: Duration) {
    s.latencies.sort();
    let n = s.latencies.len();
    println!(
        "| `{endpoint}` | {phase} | {n} | {:.0}/s | {} | {} | {} | {} | {} B |",
        n as f64 / elapsed.as_secs_f64().max(1e-9),
        ms(percentile(&s.latencies, 50.0)),
        ms(percentile(&s.latencies, 99.0)),
        ms(s.latencies.last().copied().unwrap_or_default()),
        s.errors,
        s.bytes,
    );
}

fn print_reads(phase: &str, reads: Reads) {
    print_row(
        "GET /api/v1/stock?node=&sku=",
        phase,
        reads.stock,
        reads.elapsed,
    );
    print_row("GET /api/v1/nodes", phase, reads.nodes, reads.elapsed);
}

async fn bench(hub_rt: Handle, args: Args) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let broker = Mosquitto::start(&dir.path().join("broker"))?;
    println!("| measurement | events | time | rate |");
    println!("|---|---:|---:|---:|");
    let raw_n = 200_000;
    let raw = raw_mosquitto(raw_n, &broker).await?;
    println!(
        "| raw Mosquitto QoS 1, 160-byte messages, 1 publisher → 1 subscriber | {raw_n} msgs | {:.2} s | {:.0} msg/s |",
        raw.as_secs_f64(),
        raw_n as f64 / raw.as_secs_f64()
    );
    let (reference, alone, _) = ingest(&hub_rt, "R", &args, dir.path(), &broker, false).await?;
    hub_rt.spawn(reference.stop()).await?;
    let (hub, loaded, reads) = ingest(&hub_rt, "L", &args, dir.path(), &broker, true).await?;
    println!(
        "| ingest with readers / without | | | {:.0} % |",
        100.0 * loaded / alone
    );
    let ids = node_ids(args.nodes, "L")?;
    let idle_readers = Readers::start(&hub, &ids, &args)?;
    tokio::time::sleep(args.idle).await;
    let idle = idle_readers.finish().await?;
    hub_rt.spawn(hub.stop()).await?;
    println!();
    println!(
        "{} readers, {} ms pause after each request:",
        args.readers,
        args.interval.as_millis()
    );
    println!();
    println!("| endpoint | phase | requests | rate | p50 | p99 | max | errors | largest body |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    if let Some(reads) = reads {
        print_reads(&format!("during ingest ({} nodes)", args.nodes), reads);
    }
    print_reads("hub idle (reference)", idle);
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    anyhow::ensure!(
        args.nodes > 0 && args.readers > 0,
        "--nodes and --readers must be at least 1"
    );
    // The hub on a runtime of its own (as in its own process); the simulated nodes on this one.
    let hub_rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name("bench-hub")
        .enable_all()
        .build()?;
    let nodes_rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name("bench-nodes")
        .enable_all()
        .build()?;
    nodes_rt.block_on(bench(hub_rt.handle().clone(), args))
}
