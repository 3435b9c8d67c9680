//! Running agents and a hub in-process for system tests and benchmarks.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;
use stockpost_agent::config::AgentConfig;
use stockpost_agent::writer::{PlannedEvent, StepFn, StepOutcome, WriterHandle};
use stockpost_common::domain::{
    EventBody, LocationCode, OperatorId, Qty, Sku, StockRef, StockStatus,
};
use stockpost_hub::config::HubConfig;

/// An agent configuration for tests: store under `dir`, broker at `mqtt`.
pub fn agent_config(node: &str, dir: &Path, mqtt: &str) -> anyhow::Result<AgentConfig> {
    let text = format!(
        "node_id = \"{node}\"\ndata_dir = \"{}\"\n[mqtt]\naddress = \"{mqtt}\"\nkeep_alive_secs = 5\nreconnect_min_ms = 50\nreconnect_max_ms = 1000\n[sync]\nack_timeout_ms = 3000\n{}",
        dir.display(),
        crate::keys::credential_line(dir, node)?
    );
    Ok(AgentConfig::from_toml(
        &text,
        Path::new("test-agent.toml"),
        &[],
    )?)
}

/// An agent configuration for tests whose `[hub]` section is `hub` (TOML lines, e.g.
/// `url = "http://127.0.0.1:8080"`), with short bootstrap retries.
pub fn agent_config_with_hub(
    node: &str,
    dir: &Path,
    mqtt: &str,
    hub: &str,
) -> anyhow::Result<AgentConfig> {
    let text = format!(
        "node_id = \"{node}\"\ndata_dir = \"{}\"\n[hub]\n{hub}\nconnect_timeout_ms = 1000\nrequest_timeout_ms = 5000\nretry_min_ms = 50\nretry_max_ms = 300\n[mqtt]\naddress = \"{mqtt}\"\nkeep_alive_secs = 5\nreconnect_min_ms = 50\nreconnect_max_ms = 1000\n[sync]\nack_timeout_ms = 3000\n{}",
        dir.display(),
        crate::keys::credential_line(dir, node)?
    );
    Ok(AgentConfig::from_toml(
        &text,
        Path::new("test-agent.toml"),
        &[],
    )?)
}

/// A hub configuration for tests (HTTP on a free port).
pub fn hub_config(dir: &Path, mqtt: &str) -> anyhow::Result<HubConfig> {
    let text = format!(
        "data_dir = \"{}\"\n[http]\nlisten = \"127.0.0.1:0\"\n[mqtt]\naddress = \"{mqtt}\"\nclient_id = \"stockpost-hub-test\"\nkeep_alive_secs = 5\nreconnect_min_ms = 50\nreconnect_max_ms = 1000\n[ingest]\nresend_interval_ms = 200\n",
        dir.display()
    );
    Ok(HubConfig::from_toml(
        &text,
        Path::new("test-hub.toml"),
        &[],
    )?)
}

/// A step that records one receipt of `qty` of `sku` into `location`.
pub fn receipt(location: &str, sku: &str, qty: &str) -> anyhow::Result<StepFn> {
    let body = EventBody::Receive {
        location: LocationCode::new(location)?,
        stock: StockRef::plain(Sku::new(sku)?),
        qty: Qty::from_str(qty)?,
        status: StockStatus::Available,
        inbound: None,
    };
    let operator = OperatorId::new("op-test")?;
    Ok(Box::new(move |_state, plan| {
        plan.events.push(PlannedEvent {
            body,
            operator: Some(operator),
            station: None,
            task: None,
        });
        Ok(serde_json::Value::Null)
    }))
}

/// Records a receipt and returns its sequence number once it is durable.
pub async fn record_receipt(
    writer: &WriterHandle,
    location: &str,
    sku: &str,
    qty: &str,
) -> anyhow::Result<u64> {
    match writer.step(0, receipt(location, sku, qty)?).await? {
        StepOutcome::Committed(done) => done
            .events
            .last()
            .map(|id| id.seq)
            .ok_or_else(|| anyhow::anyhow!("the step recorded no event")),
        StepOutcome::Rejected(r) => anyhow::bail!("rejected: {}", r.message),
    }
}

/// Records `steps` steps of `per_step` one-unit receipts of `sku` into `location`, up to 64 steps in
/// flight at once (so the writer groups them into shared commits), and returns once all are durable.
pub async fn record_receipts_in_bulk(
    writer: &WriterHandle,
    steps: u64,
    per_step: usize,
    location: &str,
    sku: &str,
) -> anyhow::Result<()> {
    let location = LocationCode::new(location)?;
    let stock = StockRef::plain(Sku::new(sku)?);
    let one = Qty::from_str("1")?;
    let mut pending = Vec::new();
    for n in 0..steps {
        let (location, stock, writer) = (location.clone(), stock.clone(), writer.clone());
        pending.push(tokio::spawn(async move {
            let step: StepFn = Box::new(move |_state, plan| {
                for _ in 0..per_step {
                    plan.events.push(PlannedEvent {
                        body: EventBody::Receive {
                            location: location.clone(),
                            stock: stock.clone(),
                            qty: one,
                            status: StockStatus::Available,
                            inbound: None,
                        },
                        operator: None,
                        station: None,
                        task: None,
                    });
                }
                Ok(serde_json::Value::Null)
            });
            writer.step(0, step).await
        }));
        if pending.len() >= 64 || n + 1 == steps {
            for p in pending.drain(..) {
                match p.await?? {
                    StepOutcome::Committed(_) => {}
                    StepOutcome::Rejected(r) => anyhow::bail!("step rejected: {}", r.message),
                }
            }
        }
    }
    Ok(())
}

/// Waits until `check` is true, polling every 20 ms, for at most `timeout`.
pub async fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends `tracing` output of a test to the test's captured output (`RUST_LOG`, default `warn`).
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
}
