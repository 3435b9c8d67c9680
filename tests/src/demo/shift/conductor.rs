//! The hub side of the shift and its faults: master data, inbound notices, orders arriving in
//! waves over compressed time (one wave per `wave` interval: the simulated clock, not a
//! synchronisation), the offline stretch of one node and the hub restart, and the wait for the
//! end of the shift.

use super::plan::{OrderPlan, Plan, STORAGE};
use super::timeline::Timeline;
use super::world::ShiftWorld;
use crate::shift::poll;
use anyhow::{anyhow, bail, Context};
use serde_json::{json, Value};
use std::time::Duration;

/// How long a fault waits for its condition (the node has work, the node has a backlog).
const FAULT_WAIT: Duration = Duration::from_secs(60);

/// Puts the items, the nodes (priority in order) and their locations.
pub async fn master_data(w: &ShiftWorld, plan: &Plan) -> anyhow::Result<()> {
    let t = w.token.as_str();
    for item in &plan.items {
        let body = json!({"description": format!("Demo item {}", item.sku),
            "gtins": [{"gtin": item.gtin, "pack": "each", "qty_per_pack": "1"}],
            "tracking": "none", "unit_weight_kg": item.weight_kg.to_string(),
            "weight_tolerance_pct": "5", "unit_value": "2.50"});
        w.api()
            .ok("PUT", &format!("/api/v1/items/{}", item.sku), t, Some(body))
            .await?;
    }
    let mut locations = vec![
        ("DOCK-1", "receiving", false),
        ("PACK-1", "pack", false),
        ("SHIP-1", "ship", false),
        ("RET-1", "returns", false),
    ];
    locations.extend(STORAGE.iter().map(|c| (*c, "reserve", true)));
    for (priority, node) in plan.nodes.iter().enumerate() {
        w.api()
            .ok(
                "PUT",
                &format!("/api/v1/nodes/{node}"),
                t,
                Some(json!({
                    "name": node,
                    "priority": priority + 1,
                    "credential": crate::keys::test_key_hex(node),
                })),
            )
            .await?;
        for (code, kind, pickable) in &locations {
            w.api()
                .ok(
                    "PUT",
                    &format!("/api/v1/nodes/{node}/locations/{code}"),
                    t,
                    Some(json!({"kind": kind, "pickable": pickable})),
                )
                .await?;
        }
    }
    Ok(())
}

/// The inbound notice id of node `i`.
pub fn notice(i: usize) -> String {
    format!("ASN-{:02}", i + 1)
}

/// Posts every node's inbound notice.
pub async fn inbound(w: &ShiftWorld, plan: &Plan) -> anyhow::Result<()> {
    for (i, node) in plan.nodes.iter().enumerate() {
        let lines: Vec<Value> = plan.receipts[i]
            .iter()
            .map(|(sku, q)| json!({"sku": sku, "qty": q.to_string()}))
            .collect();
        w.api()
            .ok(
                "POST",
                &format!("/api/v1/nodes/{node}/inbound"),
                &w.token,
                Some(json!({"ref": notice(i), "lines": lines})),
            )
            .await?;
    }
    Ok(())
}

/// Posts `o`. A request that fails without an answer is sent again (twice at most); a
/// repeat that finds the order already there (409) means the first one got through.
async fn post_order(w: &ShiftWorld, o: &OrderPlan) -> anyhow::Result<()> {
    let lines: Vec<Value> = o
        .lines
        .iter()
        .map(|l| json!({"sku": l.sku, "qty": l.qty.to_string()}))
        .collect();
    let body = json!({"ref": o.reference, "channel": o.channel,
        "ship_by": "2030-01-01T00:00:00Z", "lines": lines});
    let mut attempt = 0;
    loop {
        attempt += 1;
        match w
            .api()
            .call("POST", "/api/v1/orders", Some(&w.token), Some(body.clone()))
            .await
        {
            Ok((201, _)) => return Ok(()),
            Ok((409, _)) if attempt > 1 => return Ok(()),
            Ok((status, v)) => bail!("posting {}: HTTP {status}: {v}", o.reference),
            Err(e) if attempt < 3 => tracing::warn!("posting {} again: {e:#}", o.reference),
            Err(e) => return Err(e).with_context(|| format!("posting {}", o.reference)),
        }
    }
}

/// True when the offline node has a pick task no station has started yet.
async fn queued_pick(w: &ShiftWorld) -> anyhow::Result<bool> {
    let open = w.nodes[w.offline]
        .agent
        .get("/api/v1/tasks?status=open&kind=pick")
        .await?;
    Ok(open["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|t| t["status"] == "open"))
}

async fn agent_status(w: &ShiftWorld) -> anyhow::Result<Value> {
    w.nodes[w.offline].agent.get("/api/v1/status").await
}

/// The faults and when they happen (wave numbers); each also waits for its condition.
#[derive(Debug)]
struct Faults {
    down: Duration,
    cut: bool,
    healed: bool,
    restarted: bool,
}

impl Faults {
    /// Does what is due at wave `i` of `waves`.
    async fn at(
        &mut self,
        i: usize,
        waves: usize,
        w: &ShiftWorld,
        t: &Timeline,
    ) -> anyhow::Result<()> {
        let node = w.offline_id();
        if !self.cut && i >= waves / 5 {
            // Cut only once the node holds work to go on with offline: a pick still queued.
            if queued_pick(w).await? {
                w.offline_link.cut();
                t.mark(&format!("{node} offline: its network to the broker is cut"));
                self.cut = true;
            }
        } else if self.cut && !self.healed && i >= waves * 3 / 5 {
            self.heal(w, t).await?;
        } else if self.healed && !self.restarted && i >= waves * 4 / 5 {
            self.restart(w, t, self.down).await?;
        }
        Ok(())
    }

    async fn heal(&mut self, w: &ShiftWorld, t: &Timeline) -> anyhow::Result<()> {
        let node = w.offline_id();
        let pending = poll(FAULT_WAIT, &format!("a backlog at {node}"), || async {
            let p = agent_status(w).await?["outbox_pending"]
                .as_u64()
                .unwrap_or(0);
            Ok((p > 0).then_some(p))
        })
        .await?;
        w.offline_link.heal();
        t.mark(&format!(
            "{node} back online with {pending} events in its outbox"
        ));
        self.healed = true;
        Ok(())
    }

    /// Stops the hub, leaves it down for `down` of the shift's clock (the nodes work on),
    /// and starts it again.
    async fn restart(
        &mut self,
        w: &ShiftWorld,
        t: &Timeline,
        down: Duration,
    ) -> anyhow::Result<()> {
        w.stop_hub().await;
        t.mark("hub stopped for a restart");
        tokio::time::sleep(down).await;
        w.start_hub().await?;
        t.mark("hub started again");
        self.restarted = true;
        Ok(())
    }

    /// Whatever did not happen during the waves happens now.
    async fn finish(&mut self, w: &ShiftWorld, t: &Timeline) -> anyhow::Result<()> {
        if !self.cut {
            let node = w.offline_id();
            poll(FAULT_WAIT, &format!("a queued pick at {node}"), || async {
                Ok(queued_pick(w).await?.then_some(()))
            })
            .await?;
            w.offline_link.cut();
            t.mark(&format!("{node} offline: its network to the broker is cut"));
            self.cut = true;
        }
        if !self.healed {
            self.heal(w, t).await?;
        }
        if !self.restarted {
            self.restart(w, t, self.down).await?;
        }
        Ok(())
    }
}

/// Posts the orders in `waves` waves, one every `wave`, with the faults on the way.
pub async fn feed(
    w: &ShiftWorld,
    plan: &Plan,
    t: &Timeline,
    waves: usize,
    wave: Duration,
) -> anyhow::Result<()> {
    let per = plan.orders.len().div_ceil(waves.max(1)).max(1);
    let chunks: Vec<&[OrderPlan]> = plan.orders.chunks(per).collect();
    let mut tick = tokio::time::interval(wave);
    let mut faults = Faults {
        down: wave,
        cut: false,
        healed: false,
        restarted: false,
    };
    for (i, chunk) in chunks.iter().enumerate() {
        tick.tick().await;
        faults.at(i, chunks.len(), w, t).await?;
        for o in *chunk {
            post_order(w, o).await?;
        }
    }
    t.mark(&format!("all {} orders posted", plan.orders.len()));
    faults.finish(w, t).await
}

/// Waits until every order is shipped and the hub has no open task; `deadline` at most.
/// Polls every 100 ms (the hub computes the KPIs for each call).
pub async fn wait_shipped(w: &ShiftWorld, plan: &Plan, deadline: Duration) -> anyhow::Result<()> {
    let want = plan.orders.len() as u64;
    let end = tokio::time::Instant::now() + deadline;
    loop {
        let k = match w.api().ok("GET", "/api/v1/kpis", &w.token, None).await {
            Ok(k) => k,
            Err(e) => {
                tracing::warn!("waiting for the end of the shift: {e:#}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let shipped = k["orders_by_status"]["shipped"].as_u64();
        let last = if shipped == Some(want) {
            let tasks = w.api().ok("GET", "/api/v1/tasks", &w.token, None).await?;
            let open = tasks["tasks"]
                .as_array()
                .ok_or_else(|| anyhow!("no tasks in {tasks}"))?
                .iter()
                .filter(|t| t["status"] == "open" || t["status"] == "in_progress")
                .count();
            if open == 0 {
                return Ok(());
            }
            format!("{open} task(s) still open")
        } else {
            format!(
                "{shipped:?} of {want} orders shipped: {}",
                k["orders_by_status"]
            )
        };
        if tokio::time::Instant::now() >= end {
            bail!("the shift did not end within {deadline:?}: {}", last);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
