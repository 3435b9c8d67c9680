//! Agent start-up and memory with a large local view (issue #5 item 6): 100,000 SKUs and
//! 20,000 locations in the node's local view, plus stock.
//!
//! 1. Fills an agent store in-process through the path master data takes in practice: the
//!    writer's downlink (`ItemUpsert`, `LocationUpsert`) in batches of 32 items (the hub's
//!    default `downlink.max_batch`), then receipts of one SKU into each location (100 events
//!    per step), and stops the node cleanly.
//! 2. Starts a fresh `stockpost-agent` process on that store several times, measures the time
//!    from spawn to the first `200` from `GET /healthz`, and reads `VmRSS`/`VmHWM` from
//!    `/proc/<pid>/status` once it is ready, then stops it with SIGINT (as systemd would with
//!    `KillSignal=SIGINT`; the agent handles Ctrl-C).
//! 3. The same on an empty store, for comparison.
//!
//! Run: `cargo build --release -p stockpost-agent -p stockpost-tests --bin agent_startup_bench
//! && $CARGO_TARGET_DIR/release/agent_startup_bench [--items 100000] [--locations 20000]
//! [--stock 20000] [--runs 3] [--agent path/to/stockpost-agent]`.

use anyhow::{anyhow, bail, Context};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};
use stockpost_agent::config::AgentConfig;
use stockpost_agent::node::AgentNode;
use stockpost_agent::writer::{lock, PlannedEvent, StepOutcome};
use stockpost_common::domain::{
    EventBody, Gtin, Item, ItemGtin, LocationCode, LocationInfo, LocationKind, NonNegQty,
    PackLevel, Qty, Sku, StockRef, StockStatus, Tracking,
};
use stockpost_common::wire::DownlinkItem;
use stockpost_tests::station::{gtin14, http_text, station_config_text, STATIONS};

/// Items per downlink batch: the hub's default `downlink.max_batch`.
const DOWNLINK_BATCH: usize = 32;
/// Receipts per writer step while filling.
const EVENTS_PER_STEP: usize = 100;

fn arg(name: &str, default: u64) -> anyhow::Result<u64> {
    std::env::args()
        .skip_while(|a| a != name)
        .nth(1)
        .map(|s| s.parse::<u64>())
        .transpose()
        .with_context(|| name.to_string())
        .map(|v| v.unwrap_or(default))
}

fn sku(i: u64) -> anyhow::Result<Sku> {
    Ok(Sku::new(format!("SKU-{i:06}"))?)
}

fn location(i: u64) -> anyhow::Result<LocationCode> {
    Ok(LocationCode::new(format!(
        "R{:02}-{:02}-{:02}",
        i / 1000,
        (i / 10) % 100,
        i % 10
    ))?)
}

fn item(i: u64) -> anyhow::Result<Item> {
    let gtin = gtin14(&format!("09{:011}", 50_000_000_000u64 + i));
    Ok(Item {
        sku: sku(i)?,
        description: format!("Benchmark item number {i}, a typical description"),
        gtins: vec![ItemGtin {
            gtin: Gtin::new(gtin.as_str()).map_err(|e| anyhow!("{e}"))?,
            pack: PackLevel::Each,
            qty_per_pack: Qty::from_str("1")?,
        }],
        tracking: Tracking::None,
        expiry_controlled: false,
        unit_weight_kg: Some(NonNegQty::from_str("0.250")?),
        weight_tolerance_pct: Some(NonNegQty::from_str("5")?),
    })
}

fn config_text(dir: &Path, listen: &str) -> String {
    station_config_text(dir, listen, STATIONS)
}

async fn fill(dir: &Path, items: u64, locations: u64, stock: u64) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let config = AgentConfig::from_toml(
        &config_text(dir, "127.0.0.1:0"),
        Path::new("bench-agent.toml"),
        &[],
    )?;
    let node = AgentNode::start(config).await?;
    let mut master = Vec::new();
    for i in 0..locations {
        master.push(DownlinkItem::LocationUpsert {
            code: location(i)?,
            info: LocationInfo {
                kind: if i % 5 == 0 {
                    LocationKind::Pick
                } else {
                    LocationKind::Reserve
                },
                pickable: true,
                capacity: None,
            },
        });
    }
    master.push(DownlinkItem::LocationUpsert {
        code: LocationCode::new("DOCK-1")?,
        info: LocationInfo {
            kind: LocationKind::Receiving,
            pickable: false,
            capacity: None,
        },
    });
    for i in 0..items {
        master.push(DownlinkItem::ItemUpsert(item(i)?));
    }
    let downlink_started = Instant::now();
    let mut batches = 0u64;
    let mut rest = master.into_iter().peekable();
    while rest.peek().is_some() {
        let batch: Vec<DownlinkItem> = rest.by_ref().take(DOWNLINK_BATCH).collect();
        let first = lock(node.writer.state()).down_applied + 1;
        node.writer.downlink(first, batch).await?;
        batches += 1;
    }
    let downlink = downlink_started.elapsed();
    if batches > 0 {
        println!(
            "downlink: {batches} batches of up to {DOWNLINK_BATCH} items in {:.1} s ({:.2} ms per batch)",
            downlink.as_secs_f64(),
            downlink.as_secs_f64() * 1000.0 / batches as f64
        );
    }
    // Stock: one SKU in each of `stock` locations.
    let mut i = 0;
    while i < stock {
        let n = (stock - i).min(EVENTS_PER_STEP as u64);
        let mut bodies = Vec::new();
        for j in i..i + n {
            bodies.push(EventBody::Receive {
                location: location(j % locations.max(1))?,
                stock: StockRef::plain(sku(j % items.max(1))?),
                qty: Qty::from_str("12")?,
                status: StockStatus::Available,
                inbound: None,
            });
        }
        let step = Box::new(
            move |_s: &mut stockpost_agent::writer::AgentState,
                  plan: &mut stockpost_agent::writer::StepPlan| {
                for body in bodies {
                    plan.events.push(PlannedEvent {
                        body,
                        operator: None,
                        station: None,
                        task: None,
                    });
                }
                Ok(serde_json::Value::Null)
            },
        );
        if !matches!(node.writer.step(0, step).await?, StepOutcome::Committed(_)) {
            bail!("a stock step was rejected");
        }
        i += n;
    }
    let (n_locations, balances) = {
        let s = lock(node.writer.state());
        (s.ledger.locations().count(), s.ledger.balances().count())
    };
    let n_items = node.store.count("items")?;
    println!("filled: {n_items} items, {n_locations} locations, {balances} balances");
    node.stop().await;
    Ok(started.elapsed())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn proc_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow!("no {field} in /proc/{pid}/status"))
}

struct Run {
    ready: Duration,
    rss_kib: u64,
    hwm_kib: u64,
}

fn stop(mut child: Child) -> anyhow::Result<()> {
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if child.try_wait()?.is_some() {
            return Ok(());
        }
        std::thread::yield_now();
    }
    child.kill()?;
    child.wait()?;
    bail!("the agent did not stop on SIGINT within 30 s")
}

async fn start_once(agent: &Path, config: &Path, port: u16) -> anyhow::Result<Run> {
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse()?;
    let started = Instant::now();
    let child = Command::new(agent)
        .arg("--config")
        .arg(config)
        .arg("run")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {}", agent.display()))?;
    let pid = child.id();
    let deadline = started + Duration::from_secs(120);
    let ready = loop {
        if let Ok((200, _)) = http_text(addr, "GET", "/healthz", None).await {
            break started.elapsed();
        }
        if Instant::now() > deadline {
            stop(child)?;
            bail!("the agent was not ready within 120 s");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let run = Run {
        ready,
        rss_kib: proc_kib(pid, "VmRSS:")?,
        hwm_kib: proc_kib(pid, "VmHWM:")?,
    };
    stop(child)?;
    Ok(run)
}

fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            total += if p.is_dir() {
                dir_bytes(&p)
            } else {
                e.metadata().map(|m| m.len()).unwrap_or(0)
            };
        }
    }
    total
}

async fn measure(
    label: &str,
    agent: &Path,
    dir: &Path,
    runs: u64,
) -> anyhow::Result<Vec<(String, Run)>> {
    let port = free_port()?;
    let config = dir.join("agent.toml");
    std::fs::write(&config, config_text(dir, &format!("127.0.0.1:{port}")))?;
    let mut out = Vec::new();
    for i in 1..=runs {
        let r = start_once(agent, &config, port).await?;
        out.push((format!("{label}, start {i}"), r));
    }
    Ok(out)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let items = arg("--items", 100_000)?;
    let locations = arg("--locations", 20_000)?;
    let stock = arg("--stock", 20_000)?;
    let runs = arg("--runs", 3)?;
    let agent: PathBuf = match std::env::args().skip_while(|a| a != "--agent").nth(1) {
        Some(p) => PathBuf::from(p),
        None => std::env::current_exe()?
            .parent()
            .ok_or_else(|| anyhow!("no directory of the benchmark binary"))?
            .join("stockpost-agent"),
    };
    let base = std::env::var_os("STOCKPOST_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join(format!("agent-startup-bench-{}", std::process::id()));
    let big = base.join("big");
    let empty = base.join("empty");
    std::fs::create_dir_all(&big)?;
    std::fs::create_dir_all(&empty)?;

    let filled_in = fill(&big, items, locations, stock).await?;
    println!(
        "fill through the downlink and the writer: {:.1} s; store on disk {:.1} MiB",
        filled_in.as_secs_f64(),
        dir_bytes(&big) as f64 / 1_048_576.0
    );
    fill(&empty, 0, 0, 0).await?;

    let mut rows = measure("empty store", &agent, &empty, runs).await?;
    rows.extend(
        measure(
            &format!("{items} SKUs, {locations} locations, {stock} balances"),
            &agent,
            &big,
            runs,
        )
        .await?,
    );
    println!();
    println!("| run | start-up to /healthz 200 | VmRSS | VmHWM |");
    println!("|---|---:|---:|---:|");
    for (label, r) in &rows {
        println!(
            "| {label} | {:.0} ms | {:.1} MiB | {:.1} MiB |",
            r.ready.as_secs_f64() * 1000.0,
            r.rss_kib as f64 / 1024.0,
            r.hwm_kib as f64 / 1024.0
        );
    }
    let _ = std::fs::remove_dir_all(&base);
    Ok(())
}
