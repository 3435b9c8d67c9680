//! kill -9 of the `stockpost-agent` process in the middle of a flow: after a restart every
//! acknowledged step is there exactly once, the outbox has no gap, and the station resumes the
//! same task with the same operator.

#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use stockpost_agent::config::AgentConfig;
use stockpost_agent::node::AgentNode;
use stockpost_common::domain::Dec;
use stockpost_tests::station::{http, mug, station_config_text, world, STATIONS};
use tokio::sync::watch;

/// Builds (if needed) and finds the agent binary next to this test's target directory.
fn agent_binary() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args(["build", "-p", "stockpost-agent", "--bin", "stockpost-agent"])
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .status()
        .unwrap();
    assert!(status.success(), "cargo build of stockpost-agent failed");
    let exe = std::env::current_exe().unwrap();
    // target/debug/deps/<test> → target/debug/stockpost-agent
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("stockpost-agent");
    assert!(bin.exists(), "{} not found", bin.display());
    bin
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_healthy(addr: std::net::SocketAddr) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok((200, _)) = http(addr, "GET", "/healthz", None).await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "agent did not become healthy"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn spawn(bin: &Path, config: &Path, log: &Path) -> tokio::process::Child {
    let out = std::fs::File::create(log).unwrap();
    let err = out.try_clone().unwrap();
    tokio::process::Command::new(bin)
        .arg("--config")
        .arg(config)
        .arg("run")
        .stdout(out)
        .stderr(err)
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

async fn scan(addr: std::net::SocketAddr, data: &str) -> anyhow::Result<Value> {
    let body = serde_json::json!({ "data": data }).to_string();
    let (status, v) = http(addr, "POST", "/api/v1/stations/hh-1/scan", Some(&body)).await?;
    anyhow::ensure!(status == 200, "HTTP {status}: {v}");
    anyhow::ensure!(v["accepted"] == true, "refused: {v}");
    Ok(v)
}

async fn stock_and_seq(addr: std::net::SocketAddr) -> (Dec, u64) {
    let (_, stock) = http(
        addr,
        "GET",
        "/api/v1/stock?sku=MUG-BLUE&location=DOCK-1",
        None,
    )
    .await
    .unwrap();
    let on_hand = stock["balances"]
        .as_array()
        .and_then(|b| b.first())
        .and_then(|b| b["on_hand"].as_str())
        .map(|s| Dec::from_str(s).unwrap())
        .unwrap_or(Dec::ZERO);
    let (_, status) = http(addr, "GET", "/api/v1/status", None).await.unwrap();
    (on_hand, status["last_seq"].as_u64().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_crash_by_kill_9_mid_flow_every_acknowledged_step_is_there_once_and_the_flow_resumes(
) {
    let bin = agent_binary();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let http_addr = format!("127.0.0.1:{port}");
    let text = station_config_text(&data, &http_addr, STATIONS);
    let config_path = dir.path().join("agent.toml");
    std::fs::write(&config_path, &text).unwrap();

    // Master data through the downlink path, in-process, before the binary owns the store.
    {
        let config = AgentConfig::from_toml(&text, &config_path, &[]).unwrap();
        let node = AgentNode::start(config).await.unwrap();
        node.writer.downlink(1, world().unwrap()).await.unwrap();
        node.stop().await;
    }

    let addr: std::net::SocketAddr = http_addr.parse().unwrap();
    let mut child = spawn(&bin, &config_path, &dir.path().join("agent-1.log"));
    wait_healthy(addr).await;
    scan(addr, "U:op-1").await.unwrap();
    let first = scan(addr, &mug()).await.unwrap();
    let task = first["station"]["task"]["id"].clone();
    scan(addr, "C:CONFIRM").await.unwrap(); // 1 received
    let (_, seq_1) = stock_and_seq(addr).await;
    scan(addr, &mug()).await.unwrap();
    scan(addr, "C:CONFIRM").await.unwrap(); // 2 received
    let (_, seq_2) = stock_and_seq(addr).await;
    // Every further receipt records the same events: the receive, the putaway task it makes
    // and the receipt's progress report (docs/protocol.md, "Tasks").
    let per_receipt = seq_2 - seq_1;
    assert_eq!(per_receipt, 3, "receive + task_defined + task_progress");

    // Receive one mug per confirm until the process dies under the loop.
    let (acked_tx, mut acked_rx) = watch::channel(2u64);
    let acked_tx = Arc::new(acked_tx);
    let looper = tokio::spawn({
        let acked_tx = Arc::clone(&acked_tx);
        async move {
            let mut acked = 2u64;
            loop {
                if scan(addr, &mug()).await.is_err() {
                    return acked;
                }
                if scan(addr, "C:CONFIRM").await.is_err() {
                    return acked;
                }
                acked += 1;
                acked_tx.send_replace(acked);
            }
        }
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while *acked_rx.borrow() < 40 {
        tokio::time::timeout_at(deadline, acked_rx.changed())
            .await
            .expect("40 steps within a minute")
            .unwrap();
    }
    child.start_kill().unwrap(); // SIGKILL
    child.wait().await.unwrap();
    let acked = looper.await.unwrap();

    let mut child = spawn(&bin, &config_path, &dir.path().join("agent-2.log"));
    wait_healthy(addr).await;
    let (on_hand, last_seq) = stock_and_seq(addr).await;
    let received: u64 = on_hand
        .to_string()
        .split('.')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        received == acked || received == acked + 1,
        "acknowledged {acked} receipts, found {received} (one unacknowledged in-flight step may have landed)"
    );
    assert_eq!(
        last_seq,
        seq_2 + (received - 2) * per_receipt,
        "the same events per receipt: nothing doubled, no gap"
    );

    // The station resumes the same blind receipt with the same operator.
    let (_, state) = http(addr, "GET", "/api/v1/stations/hh-1", None)
        .await
        .unwrap();
    assert_eq!(state["operator"], "op-1", "{state}");
    assert_eq!(state["task"]["id"], task, "{state}");
    scan(addr, &mug()).await.unwrap();
    scan(addr, "C:CONFIRM").await.unwrap();
    let (on_hand_after, last_seq_after) = stock_and_seq(addr).await;
    assert!(on_hand_after > on_hand);
    assert_eq!(
        last_seq_after,
        last_seq + per_receipt,
        "one more receipt's events, numbered next"
    );
    child.start_kill().unwrap();
    child.wait().await.unwrap();
}
