//! Progress lines while the shift runs and the summary at the end.

use crate::hubapi::Api;
use serde_json::Value;

/// Numbered progress lines: `[03/12] DC-EAST picks SO-1001 …`.
#[derive(Debug)]
pub struct Progress {
    step: usize,
    total: usize,
}

impl Progress {
    /// A progress printer for `total` steps.
    pub fn new(total: usize) -> Self {
        Self { step: 0, total }
    }

    /// Starts the next step.
    pub fn step(&mut self, what: &str) {
        self.step += 1;
        println!("[{:02}/{:02}] {what}", self.step, self.total);
    }

    /// A detail line under the current step.
    pub fn note(&self, what: &str) {
        println!("        {what}");
    }

    /// How many steps were started.
    pub fn done(&self) -> usize {
        self.step
    }
}

/// Prints the summary: events synced per node, orders by status, exceptions by code, KPIs.
pub async fn summary(api: &Api, token: &str) -> anyhow::Result<()> {
    let nodes = api.ok("GET", "/api/v1/nodes", token, None).await?;
    let orders = api.ok("GET", "/api/v1/orders", token, None).await?;
    let k = api.ok("GET", "/api/v1/kpis", token, None).await?;
    println!();
    println!("── Summary ─────────────────────────────────────────────");
    println!("Events synced to the hub:");
    for n in nodes["nodes"].as_array().into_iter().flatten() {
        println!(
            "  {:<10} {:>4} events applied, {} downlink pending",
            n["node"].as_str().unwrap_or("?"),
            n["applied_seq"],
            n["pending_downlink"]
        );
    }
    println!("Orders:");
    for o in orders["orders"].as_array().into_iter().flatten() {
        println!(
            "  {:<8} {}",
            o["ref"].as_str().unwrap_or("?"),
            o["status"].as_str().unwrap_or("?")
        );
    }
    println!(
        "Open exceptions by code: {}",
        compact(&k["open_exceptions_by_code"])
    );
    println!("KPIs (GET /api/v1/kpis):");
    for key in [
        "fill_rate",
        "perfect_order_rate",
        "split_shipment_rate",
        "inventory_accuracy",
        "shipped_orders",
        "closed_orders",
        "counts",
    ] {
        println!("  {key:<20} {}", compact(&k[key]));
    }
    println!(
        "  {:<20} {}",
        "return_to_stock",
        compact(&k["return_to_stock"])
    );
    println!(
        "  {:<20} {}",
        "orders_by_status",
        compact(&k["orders_by_status"])
    );
    Ok(())
}

/// A JSON value on one line, strings without quotes.
pub fn compact(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_string(),
        other => other.to_string(),
    }
}

/// Prints how many labels each node's pack-station printer printed.
pub fn labels(w: &super::setup::World) {
    let counts: Vec<String> = w
        .printers
        .iter()
        .map(|(node, _)| format!("{node} {}", w.printed(node).len()))
        .collect();
    println!(
        "Labels printed (ZPL printer simulators): {}",
        counts.join(", ")
    );
}
