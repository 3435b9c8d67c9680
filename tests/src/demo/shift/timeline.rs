//! What the shift looked like over time: a periodic sampler reads the hub's API (`/nodes`,
//! `/kpis`) and every agent's `/api/v1/status`, keeps the series for the report and drives the
//! progress bar (indicatif, on stderr). Marks note when the faults happened.

use super::world::ShiftWorld;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// One sample. Hub figures are `None` while the hub does not answer (its restart).
#[derive(Debug, Clone)]
pub struct Sample {
    /// Since the shift started.
    pub t_ms: u64,
    /// Events the hub has applied, all nodes.
    pub applied: Option<u64>,
    /// Orders shipped.
    pub shipped_orders: Option<u64>,
    /// Open exceptions by code.
    pub exceptions: Option<BTreeMap<String, u64>>,
    /// Each node's outbox: events committed but not yet acknowledged by the hub.
    pub backlog: Vec<Option<u64>>,
}

/// The samples, the marks and the progress bar.
#[derive(Debug)]
pub struct Timeline {
    start: Instant,
    samples: Mutex<Vec<Sample>>,
    marks: Mutex<Vec<(u64, String)>>,
    bar: ProgressBar,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Timeline {
    /// A timeline for a shift of `orders` orders, its clock starting now.
    pub fn new(orders: u64) -> Self {
        let bar = ProgressBar::new(orders);
        if let Ok(style) = ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} orders shipped · {msg}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        Self {
            start: Instant::now(),
            samples: Mutex::default(),
            marks: Mutex::default(),
            bar,
        }
    }

    /// Milliseconds since the shift started.
    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Prints `line` above the progress bar.
    pub fn note(&self, line: &str) {
        self.bar.suspend(|| println!("{line}"));
    }

    /// Notes `what` and marks it on the charts.
    pub fn mark(&self, what: &str) {
        let t = self.now_ms();
        self.note(&format!("[{:>6.1} s] {what}", t as f64 / 1000.0));
        lock(&self.marks).push((t, what.to_string()));
    }

    /// Every sample so far.
    pub fn samples(&self) -> Vec<Sample> {
        lock(&self.samples).clone()
    }

    /// Every mark so far.
    pub fn marks(&self) -> Vec<(u64, String)> {
        lock(&self.marks).clone()
    }

    /// Takes one sample now and shows it on the progress bar.
    pub async fn sample(&self, w: &ShiftWorld) {
        let t_ms = self.now_ms();
        let nodes = get(w, "/api/v1/nodes").await;
        let kpis = get(w, "/api/v1/kpis").await;
        let applied = nodes.as_ref().map(|n| {
            n["nodes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|n| n["applied_seq"].as_u64())
                .sum()
        });
        let shipped_orders = kpis
            .as_ref()
            .map(|k| k["orders_by_status"]["shipped"].as_u64().unwrap_or(0));
        let exceptions = kpis.as_ref().map(|k| {
            k["open_exceptions_by_code"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(c, n)| (c.clone(), n.as_u64().unwrap_or(0)))
                .collect()
        });
        let mut backlog = Vec::new();
        for n in &w.nodes {
            let st = n.agent.get("/api/v1/status").await.ok();
            backlog.push(st.and_then(|s| s["outbox_pending"].as_u64()));
        }
        let sample = Sample {
            t_ms,
            applied,
            shipped_orders,
            exceptions,
            backlog,
        };
        self.show(&sample, w);
        lock(&self.samples).push(sample);
    }

    fn show(&self, s: &Sample, w: &ShiftWorld) {
        if let Some(n) = s.shipped_orders {
            self.bar.set_position(n);
        }
        let rate = {
            let samples = lock(&self.samples);
            samples
                .iter()
                .rev()
                .find(|p| p.applied.is_some())
                .and_then(|p| Some((p.t_ms, p.applied?)))
                .zip(s.applied)
                .map(|((t0, a0), a1)| {
                    let dt = s.t_ms.saturating_sub(t0).max(1) as f64 / 1000.0;
                    a1.saturating_sub(a0) as f64 / dt
                })
        };
        let backlog: u64 = s.backlog.iter().flatten().sum();
        let offline = s.backlog.get(w.offline).copied().flatten().unwrap_or(0);
        let hub = if s.applied.is_some() {
            ""
        } else {
            " · hub down"
        };
        self.bar.set_message(format!(
            "{} events/s · backlog {backlog} ({} {offline}){hub}",
            rate.map(|r| format!("{r:.0}"))
                .unwrap_or_else(|| "-".into()),
            w.offline_id()
        ));
    }

    /// Samples every `interval` until `done` is set, then once more.
    pub async fn run(&self, w: &ShiftWorld, interval: Duration, done: &AtomicBool) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        while !done.load(Ordering::SeqCst) {
            tick.tick().await;
            self.sample(w).await;
        }
        self.sample(w).await;
    }

    /// Removes the progress bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

async fn get(w: &ShiftWorld, path: &str) -> Option<Value> {
    w.api().ok("GET", path, &w.token, None).await.ok()
}
