//! A hub for fault tests: ingest only (store, ingest writer, MQTT), killed with SIGKILL by the test.
//!
//! Usage: stockpost-sim-hub <data-dir> <mqtt host:port> [node to register …]

use std::io::Write;
use stockpost_hub::node::HubNode;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, mqtt, nodes @ ..] = args.as_slice() else {
        anyhow::bail!("usage: stockpost-sim-hub <data-dir> <mqtt host:port> [node …]");
    };
    let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
    let config = stockpost_tests::fleet::hub_config(std::path::Path::new(dir), mqtt)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let hub = HubNode::start(config).await?;
        stockpost_tests::hubapi::register(&hub, &nodes).await?;
        writeln!(std::io::stdout(), "READY")?;
        std::io::stdout().flush()?;
        let _ = tokio::signal::ctrl_c().await;
        hub.stop().await;
        Ok(())
    })
}
