//! The station runtime: one station machine per `[[stations]]` entry.
//!
//! Every input — a device scan, an API scan, a scale reading, an idle timeout — takes the same
//! path: the station's duplicate-fire filter (scans only), classification, then ONE writer step
//! that runs the pure station machine against the live state and commits the step's events,
//! task updates, created tasks and the station's new state in one durable batch before it is
//! answered; the labels an accepted step asks for go into the print spool in that same batch.
//! After every step the station's new state is broadcast to the page's live-update stream.

pub mod dedupe;
pub mod devices;
pub mod http;
pub mod metrics;
pub mod page;
mod step;
pub mod view;

use crate::devices::spool::Spool;
use crate::devices::{DeviceStatus, LinkState};
use crate::writer::{lock, StepOutcome, WriterError, WriterHandle};
use dedupe::{Admit, DuplicateFilter};
use metrics::StationMetrics;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use stockpost_common::domain::StationId;
use stockpost_common::scale::WeightReading;
use stockpost_common::scan_payload::classify_payload;
use stockpost_common::tasks::{ExpectScan, Input, PrintLabel, StationConfig};
use tokio::sync::{broadcast, watch};

/// How many state updates a slow page may fall behind before it skips to the latest.
pub const EVENTS_CAPACITY: usize = 16;

/// Why an input could not be handled at all (a wrong scan is not an error: see [`StepAnswer`]).
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// No such station in agent.toml.
    #[error("there is no station {0:?} at this node")]
    UnknownStation(String),
    /// The step could not be written; nothing was recorded.
    #[error(transparent)]
    Writer(#[from] WriterError),
}

/// The answer to one input.
#[derive(Debug, Clone)]
pub struct StepAnswer {
    /// The step was committed durably (or was a double-fire of one that was).
    pub accepted: bool,
    /// The input was a scanner double-fire and was not counted again.
    pub duplicate: bool,
    /// Why it was refused (`{"code", "message"}`).
    pub error: Option<Value>,
    /// The station state after the step.
    pub station: Value,
    /// The flow the step belonged to (`none` for sign-in and rejected steps).
    pub flow: String,
}

impl StepAnswer {
    /// The contract JSON: `{"accepted", "station", "error"?}`.
    pub fn to_json(&self) -> Value {
        let mut v = json!({"accepted": self.accepted, "station": self.station});
        if let Some(e) = &self.error {
            v["error"] = e.clone();
        }
        if self.duplicate {
            v["duplicate"] = Value::Bool(true);
        }
        v
    }
}

/// One configured station's runtime parts.
#[derive(Debug)]
struct Slot {
    id: StationId,
    filter: Mutex<DuplicateFilter>,
    /// One scan at a time per station, from the filter to the outcome: a double-fire waits
    /// for the first scan's answer and is suppressed only if that one was accepted.
    scanning: tokio::sync::Mutex<()>,
    updates: broadcast::Sender<Arc<str>>,
    /// The node's print spool when this station has a label printer: accepted steps add their
    /// labels to it in their own commit.
    spool: Mutex<Option<Spool>>,
    idle_logout_ms: i64,
    last_input_ms: AtomicI64,
}

/// The station runtime (cheap to share behind an `Arc`).
#[derive(Debug)]
pub struct StationRuntime {
    writer: WriterHandle,
    slots: BTreeMap<String, Arc<Slot>>,
    /// Counters for `/metrics`.
    pub metrics: Arc<StationMetrics>,
    origin: Instant,
    devices: Mutex<Vec<(String, &'static str, watch::Receiver<DeviceStatus>)>>,
}

/// Wall-clock Unix milliseconds (the node clock the events carry).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A station's settings the runtime needs besides the machine's config.
#[derive(Debug, Clone)]
pub struct SlotSettings {
    /// The machine's configuration.
    pub config: StationConfig,
    /// Duplicate-fire window, ms (0 = off).
    pub duplicate_window_ms: u64,
    /// Idle sign-out, seconds (0 = never).
    pub idle_logout_secs: u64,
}

impl StationRuntime {
    /// A runtime for `stations` over `writer`.
    pub fn new(writer: WriterHandle, stations: &[SlotSettings]) -> Self {
        let slots = stations
            .iter()
            .map(|s| {
                let (updates, _) = broadcast::channel(EVENTS_CAPACITY);
                let slot = Slot {
                    id: s.config.id.clone(),
                    filter: Mutex::new(DuplicateFilter::new(s.duplicate_window_ms)),
                    scanning: tokio::sync::Mutex::new(()),
                    updates,
                    spool: Mutex::new(None),
                    idle_logout_ms: i64::try_from(s.idle_logout_secs.saturating_mul(1000))
                        .unwrap_or(i64::MAX),
                    last_input_ms: AtomicI64::new(now_ms()),
                };
                (s.config.id.to_string(), Arc::new(slot))
            })
            .collect();
        Self {
            writer,
            slots,
            metrics: Arc::new(StationMetrics::default()),
            origin: Instant::now(),
            devices: Mutex::new(Vec::new()),
        }
    }

    /// Registers a device's status for `/metrics` and the station list.
    pub fn watch_device(
        &self,
        station: &str,
        kind: &'static str,
        status: watch::Receiver<DeviceStatus>,
    ) {
        self.devices
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((station.to_string(), kind, status));
    }

    /// Every registered device: station, kind, connected, last error.
    pub fn device_status(&self) -> Vec<(String, &'static str, bool, Option<String>)> {
        self.devices
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(s, k, rx)| {
                let d = rx.borrow();
                (
                    s.clone(),
                    *k,
                    d.link == LinkState::Connected,
                    d.last_error.clone(),
                )
            })
            .collect()
    }

    /// Prometheus text of the station counters and device links.
    pub fn render_metrics(&self) -> String {
        let mut out = self.metrics.render();
        out.push_str("# HELP stockpost_agent_device_connected 1 when the station device is connected.\n# TYPE stockpost_agent_device_connected gauge\n");
        for (station, kind, connected, _) in self.device_status() {
            out.push_str(&format!(
                "stockpost_agent_device_connected{{station=\"{station}\",device=\"{kind}\"}} {}\n",
                u8::from(connected)
            ));
        }
        out
    }

    /// True when `station` currently waits for a scan (or weight) of `kind`.
    pub fn expects(&self, station: &str, kind: ExpectScan) -> bool {
        let Some(slot) = self.slots.get(station) else {
            return false;
        };
        let state = lock(self.writer.state());
        state
            .stations
            .get(&slot.id)
            .is_some_and(|s| s.view(&*state).expect.scan == kind)
    }

    /// The configured station ids.
    pub fn station_ids(&self) -> Vec<String> {
        self.slots.keys().cloned().collect()
    }

    fn slot(&self, station: &str) -> Result<&Arc<Slot>, RuntimeError> {
        self.slots
            .get(station)
            .ok_or_else(|| RuntimeError::UnknownStation(station.to_string()))
    }

    /// Connects a station's label printer: accepted steps put their labels into `spool` in the
    /// step's own commit (a label is never lost between the step and the printer), and the
    /// printer driver reading that spool is woken after the commit.
    pub fn set_printer(&self, station: &str, spool: Spool) -> bool {
        match self.slots.get(station) {
            Some(slot) => {
                *slot.spool.lock().unwrap_or_else(|p| p.into_inner()) = Some(spool);
                true
            }
            None => false,
        }
    }

    /// The station's current state JSON.
    pub fn state(&self, station: &str) -> Result<Value, RuntimeError> {
        let slot = self.slot(station)?;
        let state = lock(self.writer.state());
        let view = state
            .stations
            .get(&slot.id)
            .map(|s| s.view(&*state))
            .ok_or_else(|| RuntimeError::UnknownStation(station.to_string()))?;
        Ok(serde_json::to_value(view).unwrap_or(Value::Null))
    }

    /// Live state updates of a station (JSON text of the station state).
    pub fn subscribe(&self, station: &str) -> Result<broadcast::Receiver<Arc<str>>, RuntimeError> {
        Ok(self.slot(station)?.updates.subscribe())
    }

    fn mono_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// A scan at `station` (from its scanner or the HTTP endpoint: the same path).
    pub async fn scan(&self, station: &str, data: &[u8]) -> Result<StepAnswer, RuntimeError> {
        let slot = Arc::clone(self.slot(station)?);
        self.metrics.scans.fetch_add(1, Ordering::Relaxed);
        let _turn = slot.scanning.lock().await;
        let admitted = {
            let mut f = slot.filter.lock().unwrap_or_else(|p| p.into_inner());
            f.admit(data, self.mono_ms())
        };
        let payload = match admitted {
            Admit::Pass(p) => p,
            Admit::Duplicate => {
                self.metrics.duplicates.fetch_add(1, Ordering::Relaxed);
                return Ok(StepAnswer {
                    accepted: true,
                    duplicate: true,
                    error: None,
                    station: self.state(station)?,
                    flow: "none".into(),
                });
            }
            Admit::TooLong => {
                return self.refuse(
                    &slot,
                    "unreadable_scan",
                    format!(
                        "The scan is too long (more than {} bytes); scan the label again",
                        dedupe::MAX_SCAN_BYTES
                    ),
                )
            }
            Admit::Empty => {
                return self.refuse(
                    &slot,
                    "unreadable_scan",
                    "The scan was empty; scan again".into(),
                )
            }
        };
        let answer = match classify_payload(&payload) {
            Ok(p) => self.input(&slot, Input::Scan(p)).await,
            Err(e) => self.refuse(&slot, "unreadable_scan", format!("Unreadable scan: {e}")),
        };
        // Only a scan that was recorded makes its repeats duplicates.
        let accepted = answer.as_ref().is_ok_and(|a| a.accepted);
        slot.filter
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .outcome(&payload, accepted);
        answer
    }

    /// A reading from the station's scale.
    pub async fn weight(
        &self,
        station: &str,
        reading: WeightReading,
    ) -> Result<StepAnswer, RuntimeError> {
        let slot = Arc::clone(self.slot(station)?);
        self.input(&slot, Input::Weight(reading)).await
    }

    /// Signs out every station idle longer than its `idle_logout_secs`; returns how many.
    pub async fn sign_out_idle(&self) -> usize {
        let now = now_ms();
        let mut n = 0;
        for slot in self.slots.values() {
            if slot.idle_logout_ms <= 0
                || now.saturating_sub(slot.last_input_ms.load(Ordering::Relaxed))
                    < slot.idle_logout_ms
            {
                continue;
            }
            let signed_in = {
                let state = lock(self.writer.state());
                state
                    .stations
                    .get(&slot.id)
                    .is_some_and(|s| s.operator().is_some())
            };
            if signed_in && self.input(slot, Input::Timeout).await.is_ok() {
                n += 1;
            }
        }
        n
    }

    fn refuse(&self, slot: &Slot, code: &str, message: String) -> Result<StepAnswer, RuntimeError> {
        self.metrics.error(code);
        let station = self.state(slot.id.as_str())?;
        let mut shown = station.clone();
        shown["last_error"] = json!({"code": code, "message": message});
        let _ = slot.updates.send(Arc::from(shown.to_string()));
        Ok(StepAnswer {
            accepted: false,
            duplicate: false,
            error: Some(json!({"code": code, "message": message})),
            station: shown,
            flow: "none".into(),
        })
    }

    async fn input(&self, slot: &Arc<Slot>, input: Input) -> Result<StepAnswer, RuntimeError> {
        let now = now_ms();
        slot.last_input_ms.store(now, Ordering::Relaxed);
        let spool = slot.spool.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let f = step::station_step(slot.id.clone(), input, now, spool.clone());
        let outcome = match self.writer.step(now, f).await {
            Ok(o) => o,
            Err(e) => {
                self.metrics.write_failures.fetch_add(1, Ordering::Relaxed);
                return Err(e.into());
            }
        };
        let answer = match outcome {
            StepOutcome::Committed(done) => {
                let flow = done.response["flow"].as_str().unwrap_or("none").to_string();
                self.metrics.step(&flow);
                let labels: Vec<PrintLabel> =
                    serde_json::from_value(done.response["print"].clone()).unwrap_or_default();
                if !labels.is_empty() {
                    match &spool {
                        // Already in the spool, durably: wake the printer driver.
                        Some(spool) => spool.notify(),
                        None => {
                            for label in labels {
                                tracing::warn!(station = %slot.id, carton = %label.carton, "no printer configured; label not printed");
                            }
                        }
                    }
                }
                StepAnswer {
                    accepted: true,
                    duplicate: false,
                    error: None,
                    station: done.response["station"].clone(),
                    flow,
                }
            }
            StepOutcome::Rejected(r) => {
                self.metrics.error(&r.code);
                let station = match r.response.get("station") {
                    Some(s) => s.clone(),
                    None => self.state(slot.id.as_str())?,
                };
                StepAnswer {
                    accepted: false,
                    duplicate: false,
                    error: Some(json!({"code": r.code, "message": r.message})),
                    station,
                    flow: "none".into(),
                }
            }
        };
        let _ = slot.updates.send(Arc::from(answer.station.to_string()));
        Ok(answer)
    }
}
