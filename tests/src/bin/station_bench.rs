//! Station step benchmark: scan → durable acknowledged step through the agent's HTTP scan API.
//!
//! 1. Paced: 200 steps/s spread over 8 stations (each a sequential operator doing blind receipts:
//!    product scan, C:CONFIRM, …); reports p50/p99/max latency of the HTTP round trip.
//! 2. Saturated: 32 stations as fast as they can; reports durable steps/s (group commit).
//!
//! Each operator keeps one HTTP/1.1 keep-alive connection (reqwest), as a handheld's browser does.
//!
//! Run: `cargo run --release -p stockpost-tests --bin station_bench [-- --seconds 10]`.

use anyhow::Context;
use std::sync::Arc;
use std::time::{Duration, Instant};
use stockpost_tests::station::{mug, StationAgent};
use tokio::sync::Mutex;

fn stations(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "[[stations]]\nid = \"hh-{i}\"\nkinds = [\"receive\"]\nreceiving_location = \"DOCK-1\"\nduplicate_window_ms = 0\n\n"
            )
        })
        .collect()
}

async fn operator(
    agent: Arc<StationAgent>,
    station: String,
    interval: Option<Duration>,
    until: Instant,
    latencies: Arc<Mutex<Vec<Duration>>>,
) -> anyhow::Result<u64> {
    // One keep-alive connection per operator, as a handheld's browser keeps one open.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(10))
        .build()?;
    let url = format!("http://{}/api/v1/stations/{station}/scan", agent.addr);
    let scan = |data: String| {
        let request = client.post(&url).json(&serde_json::json!({ "data": data }));
        async move {
            let answer: serde_json::Value =
                request.send().await?.error_for_status()?.json().await?;
            anyhow::ensure!(answer["accepted"] == true, "refused: {answer}");
            Ok::<_, anyhow::Error>(())
        }
    };
    scan("U:op-1".to_string()).await?;
    let mut steps = 0u64;
    let mut tick = interval.map(tokio::time::interval);
    let payloads = [mug(), "C:CONFIRM".to_string()];
    let mut i = 0usize;
    let mut local = Vec::new();
    while Instant::now() < until {
        if let Some(t) = tick.as_mut() {
            t.tick().await;
        }
        let start = Instant::now();
        scan(payloads[i % 2].clone()).await?;
        local.push(start.elapsed());
        i += 1;
        steps += 1;
    }
    latencies.lock().await.extend(local);
    Ok(steps)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

async fn run(
    agent: &Arc<StationAgent>,
    n: usize,
    interval: Option<Duration>,
    seconds: u64,
) -> anyhow::Result<(u64, Vec<Duration>, Duration)> {
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    let until = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for i in 0..n {
        tasks.push(tokio::spawn(operator(
            Arc::clone(agent),
            format!("hh-{i}"),
            interval,
            until,
            Arc::clone(&latencies),
        )));
    }
    let mut steps = 0;
    for t in tasks {
        steps += t.await??;
    }
    let elapsed = start.elapsed();
    let mut l = latencies.lock().await.clone();
    l.sort();
    Ok((steps, l, elapsed))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let seconds: u64 = std::env::args()
        .skip_while(|a| a != "--seconds")
        .nth(1)
        .map(|s| s.parse())
        .transpose()
        .context("--seconds")?
        .unwrap_or(10);
    let dir = std::env::temp_dir().join(format!("station-bench-{}", std::process::id()));
    let agent = Arc::new(StationAgent::start(&dir, &stations(32)).await?);
    agent.seed_world().await?;

    // 200 steps/s over 8 stations = one step per station every 40 ms.
    let (steps, l, elapsed) = run(&agent, 8, Some(Duration::from_millis(40)), seconds).await?;
    println!(
        "paced: {steps} steps in {:.1} s ({:.0} steps/s); latency p50 {:?} p99 {:?} max {:?}",
        elapsed.as_secs_f64(),
        steps as f64 / elapsed.as_secs_f64(),
        pct(&l, 0.50),
        pct(&l, 0.99),
        l.last().copied().unwrap_or_default()
    );
    let (steps, l, elapsed) = run(&agent, 32, None, seconds).await?;
    println!(
        "saturated (32 stations): {steps} steps in {:.1} s = {:.0} durable steps/s; latency p50 {:?} p99 {:?}",
        elapsed.as_secs_f64(),
        steps as f64 / elapsed.as_secs_f64(),
        pct(&l, 0.50),
        pct(&l, 0.99),
    );
    let _ = std::fs::remove_dir_all(&dir);
    std::process::exit(0)
}
