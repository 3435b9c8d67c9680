//! Driving a shift the way operators do: every step is a scan (or a weighing) through an
//! agent's station API (`POST /api/v1/stations/{id}/scan`, the path device scans take), and
//! the helpers follow what the station asks for (`expect`). Shared by the end-to-end tests and
//! `stockpost-demo`.

use crate::station::{http, StationAgent};
use anyhow::{anyhow, bail, Context};
use serde_json::Value;
use std::time::Duration;

/// How long a helper waits for work to arrive from the hub or for sync to settle.
pub const WAIT: Duration = Duration::from_secs(30);

/// One operator action at a product line: scan `gtin`, then set the quantity to `qty`.
#[derive(Debug, Clone)]
pub struct Scan<'a> {
    /// The product barcode.
    pub gtin: &'a str,
    /// The quantity (`Q:<qty>`), in units of the barcode's pack level.
    pub qty: &'a str,
}

fn text(v: &Value) -> Option<&str> {
    v.as_str()
}

/// Polls `check` every 20 ms until it gives `Some`, for at most `timeout`.
pub async fn poll<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the agent has an open task of `kind` whose reference (order, else document,
/// else container) is `reference`; returns the task JSON.
pub async fn wait_task(a: &StationAgent, kind: &str, reference: &str) -> anyhow::Result<Value> {
    poll(WAIT, &format!("a {kind} task for {reference}"), || async {
        let tasks = a.get(&format!("/api/v1/tasks?kind={kind}")).await?;
        Ok(tasks["tasks"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["ref"] == reference && t["status"] == "open")
            .cloned())
    })
    .await
}

/// Signs `operator` in at `station`; returns the station state.
pub async fn sign_in(a: &StationAgent, station: &str, operator: &str) -> anyhow::Result<Value> {
    a.ok(station, &format!("U:{operator}")).await
}

/// Makes `station` work on the task `task_id` (already at the node): skips (`C:NEXT`) until it
/// is the station's task. Returns the station state.
pub async fn take(a: &StationAgent, station: &str, task_id: &str) -> anyhow::Result<Value> {
    let mut s = a.get(&format!("/api/v1/stations/{station}")).await?;
    for _ in 0..32 {
        if s["task"]["id"] == task_id {
            return Ok(s);
        }
        s = a.ok(station, "C:NEXT").await?;
    }
    bail!("station {station} never got task {task_id}; last {s}")
}

/// Receives against the notice the station works on: scans every line with its quantity and
/// confirms. The station then moves on to the putaways the receipt created.
pub async fn receive(a: &StationAgent, station: &str, lines: &[Scan<'_>]) -> anyhow::Result<Value> {
    for l in lines {
        a.ok(station, l.gtin).await?;
        a.ok(station, &format!("Q:{}", l.qty)).await?;
    }
    a.ok(station, "C:CONFIRM").await
}

/// Puts away every open putaway the station is directed to, each to the location the
/// station suggests. Returns (sku, location) per putaway, in order.
pub async fn put_away_all(
    a: &StationAgent,
    station: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut done = Vec::new();
    let mut s = a.get(&format!("/api/v1/stations/{station}")).await?;
    while s["task"]["kind"] == "putaway" {
        let gtin = text(&s["expect"]["gtin"])
            .ok_or_else(|| anyhow!("putaway shows no GTIN: {s}"))?
            .to_string();
        let sku = text(&s["expect"]["sku"]).unwrap_or_default().to_string();
        s = a.ok(station, &gtin).await?;
        let to = text(&s["expect"]["location"])
            .ok_or_else(|| anyhow!("putaway suggests no location: {s}"))?
            .to_string();
        s = a.ok(station, &format!("L:{to}")).await?;
        done.push((sku, to));
    }
    Ok(done)
}

/// What the picker finds at a pick line.
#[derive(Debug, Clone)]
pub struct PickLine<'a> {
    /// The product barcode (each).
    pub gtin: &'a str,
    /// Where the picker goes when the task names no location.
    pub location: &'a str,
    /// How many the picker finds; fewer than asked is a short pick (`C:SHORT`).
    pub found: &'a str,
}

/// Picks the task the station works on into `tote`, one [`PickLine`] per task line in order,
/// then scans the tote to finish. Returns the station state.
pub async fn pick(
    a: &StationAgent,
    station: &str,
    tote: &str,
    lines: &[PickLine<'_>],
) -> anyhow::Result<Value> {
    let s = a.get(&format!("/api/v1/stations/{station}")).await?;
    if s["task"]["kind"] != "pick" {
        bail!("station {station} is not on a pick: {s}");
    }
    if s["expect"]["scan"] == "container" {
        a.ok(station, &format!("T:{tote}")).await?;
    }
    for l in lines {
        let s = a.get(&format!("/api/v1/stations/{station}")).await?;
        let location = text(&s["expect"]["location"]).unwrap_or(l.location);
        let asked: rust_decimal::Decimal = text(&s["expect"]["qty"])
            .and_then(|q| q.parse().ok())
            .ok_or_else(|| anyhow!("pick shows no quantity: {s}"))?;
        let found: rust_decimal::Decimal = l.found.parse().context("found")?;
        a.ok(station, &format!("L:{location}")).await?;
        if !found.is_zero() {
            a.ok(station, l.gtin).await?;
            a.ok(station, &format!("Q:{found}")).await?;
        }
        let command = if found < asked {
            "C:SHORT"
        } else {
            "C:CONFIRM"
        };
        a.ok(station, command).await?;
    }
    a.ok(station, &format!("T:{tote}")).await
}

/// `POST /api/v1/stations/{station}/weight` with a reading; returns the answer JSON. With a
/// scale plugged into the station, a stable reading is a carton put on that scale instead.
pub async fn weigh(
    a: &StationAgent,
    station: &str,
    kg: &str,
    stable: bool,
) -> anyhow::Result<Value> {
    if stable {
        if let Some(answer) = a.weigh_on_scale(station, kg).await? {
            return Ok(answer);
        }
    }
    let body = serde_json::json!({"kg": kg, "stable": stable}).to_string();
    let (status, v) = http(
        a.addr,
        "POST",
        &format!("/api/v1/stations/{station}/weight"),
        Some(&body),
    )
    .await?;
    if status != 200 {
        bail!("weight {kg} at {station}: HTTP {status}: {v}");
    }
    Ok(v)
}

/// Packs `tote` at a pack station: scans the tote (which takes its pack task), verifies every
/// item, scans `carton` and puts it on the scale. Returns the weighing's answer (accepted or
/// not: the caller checks).
pub async fn pack(
    a: &StationAgent,
    station: &str,
    tote: &str,
    items: &[Scan<'_>],
    carton: &str,
    kg: &str,
) -> anyhow::Result<Value> {
    a.ok(station, &format!("T:{tote}")).await?;
    for i in items {
        a.ok(station, i.gtin).await?;
        // One scan counts one; a single item is verified by its scan alone.
        if i.qty != "1" {
            a.ok(station, &format!("Q:{}", i.qty)).await?;
        }
    }
    let s = a.ok(station, &format!("T:{carton}")).await?;
    if s["expect"]["scan"] != "weight" {
        bail!("the pack station does not wait for a weight: {s}");
    }
    weigh(a, station, kg, true).await
}

/// Ships `carton` at the dock (scans its label). Returns the station state.
pub async fn ship(a: &StationAgent, station: &str, carton: &str) -> anyhow::Result<Value> {
    a.ok(station, &format!("T:{carton}")).await
}

/// Receives a return: scans the RMA, then for each (gtin, disposition command) the item and
/// the disposition (`C:RESTOCK`, `C:QUARANTINE`, …). Returns the station state.
pub async fn return_items(
    a: &StationAgent,
    station: &str,
    rma: &str,
    items: &[(&str, &str)],
) -> anyhow::Result<Value> {
    let mut s = a.ok(station, &format!("O:{rma}")).await?;
    for (gtin, disposition) in items {
        a.ok(station, gtin).await?;
        s = a.ok(station, disposition).await?;
    }
    Ok(s)
}

/// Waits until the agent's outbox is empty (everything acked by the hub) and returns its head.
pub async fn wait_outbox_empty(a: &StationAgent) -> anyhow::Result<u64> {
    poll(WAIT, "the agent's outbox to drain", || async {
        let st = a.get("/api/v1/status").await?;
        let pending = st["outbox_pending"].as_u64();
        let head = st["last_seq"].as_u64();
        Ok(match (pending, head) {
            (Some(0), Some(h)) if st["last_acked_seq"].as_u64() == Some(h) => Some(h),
            _ => None,
        })
    })
    .await
}
