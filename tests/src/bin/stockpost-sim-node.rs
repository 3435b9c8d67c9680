//! A simulated warehouse node for fault tests: a real agent (store, step writer, MQTT link) that
//! records receipts until its sequence reaches `--until`, printing `ACK <seq>` on stdout after each
//! step is durable (the oracle), then `DONE` once the hub has acked everything.
//!
//! Usage: stockpost-sim-node <node> <data-dir> <mqtt host:port> <until>

use std::io::Write;
use std::str::FromStr;
use std::time::Duration;
use stockpost_agent::node::AgentNode;
use stockpost_agent::writer::{lock, PlannedEvent, StepOutcome};
use stockpost_common::domain::{EventBody, LocationCode, Qty, Sku, StockRef, StockStatus};

/// The quantity of receipt `seq`: lets the checker see that every event arrived intact.
pub fn qty_for(seq: u64) -> u64 {
    seq % 97 + 1
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, node, dir, mqtt, until] = args.as_slice() else {
        anyhow::bail!("usage: stockpost-sim-node <node> <data-dir> <mqtt host:port> <until>");
    };
    let until: u64 = until.parse()?;
    let config = stockpost_tests::fleet::agent_config(node, std::path::Path::new(dir), mqtt)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let agent = AgentNode::start(config).await?;
        let location = LocationCode::new("RCV-1")?;
        let sku = Sku::new("SIM")?;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "READY")?;
        loop {
            let head = lock(agent.writer.state()).head;
            if head >= until {
                break;
            }
            let location = location.clone();
            let sku = sku.clone();
            let step = Box::new(
                move |state: &mut stockpost_agent::writer::AgentState,
                      plan: &mut stockpost_agent::writer::StepPlan| {
                    let seq = state.head + 1;
                    let qty = Qty::from_str(&qty_for(seq).to_string()).map_err(|e| {
                        stockpost_agent::writer::StepRejected {
                            code: "bad_qty".into(),
                            message: e.to_string(),
                            response: serde_json::Value::Null,
                        }
                    })?;
                    plan.events.push(PlannedEvent {
                        body: EventBody::Receive {
                            location,
                            stock: StockRef::plain(sku),
                            qty,
                            status: StockStatus::Available,
                            inbound: None,
                        },
                        operator: None,
                        station: None,
                        task: None,
                    });
                    Ok(serde_json::Value::Null)
                },
            );
            match agent.writer.step(0, step).await? {
                StepOutcome::Committed(done) => {
                    for id in done.events {
                        writeln!(stdout, "ACK {}", id.seq)?;
                    }
                    stdout.flush()?;
                }
                StepOutcome::Rejected(r) => anyhow::bail!("rejected: {}", r.message),
            }
        }
        loop {
            let acked = lock(agent.writer.state()).acked;
            if acked >= until {
                writeln!(stdout, "DONE")?;
                stdout.flush()?;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        agent.stop().await;
        Ok(())
    })
}
