//! The hub's embedded broker (rumqttd, `mqtt.embedded_broker = true`): an agent syncs through
//! it with no other broker running, and after the hub process is killed and started again (its
//! broker with it, every broker session lost) the agent reconnects and the rest arrives exactly
//! once. The second test runs the real `stockpost-hub` binary with the shipped config/hub.toml
//! and the environment overrides.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;
use stockpost_agent::node::AgentNode;
use stockpost_agent::writer::lock as agent_lock;
use stockpost_common::domain::{Dec, NodeId, Sku};
use stockpost_hub::node::HubNode;
use stockpost_tests::fleet::{agent_config, eventually, hub_config, init_tracing, record_receipt};
use stockpost_tests::hubapi::Api;
use stockpost_tests::mosquitto::free_port;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_the_hub_once_through_its_embedded_broker_and_the_outbox_drains() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let addr = format!("127.0.0.1:{}", free_port().unwrap());
    let mut config = hub_config(&dir.path().join("hub"), &addr).unwrap();
    config.mqtt.embedded_broker = true;
    let hub = HubNode::start(config).await.unwrap();
    stockpost_tests::hubapi::register(&hub, &["DC-EAST"])
        .await
        .unwrap();
    let agent =
        AgentNode::start(agent_config("DC-EAST", &dir.path().join("agent"), &addr).unwrap())
            .await
            .unwrap();

    for _ in 0..100 {
        record_receipt(&agent.writer, "RCV-1", "MUG", "2")
            .await
            .unwrap();
    }
    let node = NodeId::new("DC-EAST").unwrap();
    let applied = eventually(Duration::from_secs(30), || hub.applied_seq(&node) == 100).await;
    assert!(applied, "hub applied {}", hub.applied_seq(&node));
    let drained = eventually(Duration::from_secs(30), || {
        agent_lock(agent.writer.state()).acked == 100
    })
    .await;
    assert!(drained, "the agent's outbox was not acked");
    assert_eq!(agent.store.outbox_len().unwrap(), 0);
    let events = hub.reader.events(&node, 0, 1000).unwrap();
    assert_eq!(
        events.iter().map(|e| e.event.id.seq).collect::<Vec<_>>(),
        (1..=100).collect::<Vec<u64>>(),
        "every event once, in order"
    );
    assert_eq!(
        hub.view()
            .books
            .stock
            .on_hand(&node, &Sku::new("MUG").unwrap()),
        Dec::from_int(200).unwrap()
    );
    agent.stop().await;
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_broker_port_stops_the_hub_start_with_an_error_naming_the_address() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let mut config = hub_config(&dir.path().join("hub"), &addr).unwrap();
    config.mqtt.embedded_broker = true;
    let err = HubNode::start(config).await.err().unwrap().to_string();
    assert!(
        err.contains(&addr) && err.contains("embedded_broker"),
        "{err}"
    );
}

/// Builds (if needed) and finds the hub binary in this test's target directory.
fn hub_binary() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args(["build", "-p", "stockpost-hub", "--bin", "stockpost-hub"])
        .current_dir(workspace())
        .status()
        .unwrap();
    assert!(status.success(), "cargo build of stockpost-hub failed");
    let exe = std::env::current_exe().unwrap();
    // target/debug/deps/<test> → target/debug/stockpost-hub
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("stockpost-hub");
    assert!(bin.exists(), "{} not found", bin.display());
    bin
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

const TOKEN: &str = "embedded-broker-admin-token";

/// `stockpost-hub --config config/hub.toml` (the shipped file) with the environment overrides.
fn spawn_hub(bin: &Path, data: &Path, http: &str, mqtt: &str, log: &Path) -> tokio::process::Child {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let err = out.try_clone().unwrap();
    tokio::process::Command::new(bin)
        .arg("--config")
        .arg(workspace().join("config/hub.toml"))
        .env("STOCKPOST_DATA_DIR", data)
        .env("STOCKPOST_HTTP_ADDR", http)
        .env("STOCKPOST_MQTT_ADDR", mqtt)
        .env("STOCKPOST_ADMIN_TOKEN", TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(out)
        .stderr(err)
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

async fn wait_healthy(api: &Api, log: &Path) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok((200, _)) = api.call("GET", "/healthz", None, None).await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the hub did not become healthy; its log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The sequence numbers of every event the hub holds for `node`, through its API.
async fn hub_seqs(api: &Api, node: &str) -> Vec<u64> {
    let mut seqs = Vec::new();
    let mut after = 0;
    loop {
        let Ok(page) = api
            .ok(
                "GET",
                &format!("/api/v1/events?node={node}&after={after}&limit=1000"),
                TOKEN,
                None,
            )
            .await
        else {
            return seqs;
        };
        for e in page["events"].as_array().into_iter().flatten() {
            seqs.extend(e["seq"].as_u64());
        }
        match page["next"].as_u64() {
            Some(next) if next > after => after = next,
            _ => return seqs,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_of_the_hub_process_restarts_its_embedded_broker_and_the_agent_delivers_the_rest_exactly_once(
) {
    init_tracing();
    let bin = hub_binary();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("hub");
    let log = dir.path().join("hub.log");
    let http = format!("127.0.0.1:{}", free_port().unwrap());
    let mqtt = format!("127.0.0.1:{}", free_port().unwrap());
    let api = Api::at(&format!("http://{http}")).unwrap();

    let mut hub = spawn_hub(&bin, &data, &http, &mqtt, &log);
    wait_healthy(&api, &log).await;
    api.ok(
        "PUT",
        "/api/v1/nodes/DC-EAST",
        TOKEN,
        Some(serde_json::json!({"name": "DC East"})),
    )
    .await
    .unwrap();
    // The shipped config's [credentials] dir: the hub wrote the credential it issued under its
    // data directory, and the agent reads it from there (the one-machine setup).
    let mut config = agent_config("DC-EAST", &dir.path().join("agent"), &mqtt).unwrap();
    config.sync.credential_file = Some(data.join("credentials/DC-EAST.key"));
    let agent = AgentNode::start(config).await.unwrap();
    for _ in 0..50 {
        record_receipt(&agent.writer, "RCV-1", "MUG", "1")
            .await
            .unwrap();
    }
    let first = eventually(Duration::from_secs(30), || {
        agent_lock(agent.writer.state()).acked == 50
    })
    .await;
    assert!(
        first,
        "the first 50 were not acked; hub log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );

    // The hub process dies, and its broker with it (every broker session is gone).
    hub.kill().await.unwrap();
    for _ in 0..50 {
        record_receipt(&agent.writer, "RCV-1", "MUG", "1")
            .await
            .unwrap();
    }
    let mut hub = spawn_hub(&bin, &data, &http, &mqtt, &log);
    wait_healthy(&api, &log).await;
    let drained = eventually(Duration::from_secs(60), || {
        agent_lock(agent.writer.state()).acked == 100
    })
    .await;
    assert!(
        drained,
        "the agent's outbox was not acked after the restart (acked {}); hub log:\n{}",
        agent_lock(agent.writer.state()).acked,
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert_eq!(agent.store.outbox_len().unwrap(), 0);
    assert_eq!(
        hub_seqs(&api, "DC-EAST").await,
        (1..=100).collect::<Vec<u64>>(),
        "every event exactly once, in order"
    );
    agent.stop().await;
    hub.kill().await.unwrap();
}
