//! A station's barcode scanner on the far end of a real pty: the station's scanner driver
//! (configured as a real serial scanner is — CR suffix, AIM symbology identifiers on, 8-bit,
//! no preamble) reads the pty slave, and the test writes scans into the master as the scanner
//! would. Each scan's outcome is read from the station's live state updates (the stream the
//! station page shows), so a test waits for exactly the answer to the scan it wrote.

use anyhow::{anyhow, Context};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use stockpost_agent::devices::scanner::{ScannerConfig, ScannerDriver, TerminatorName};
use stockpost_agent::devices::Connector;
use tokio::sync::broadcast;

use crate::sim::scanner::ScannerSim;
use crate::station::StationAgent;

/// How long a scan may take to come back as a station update.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// The `[stations.scanner]` settings these tests run the driver with: suffix CR (devices.md's
/// recommended setup), fast reconnects, and the driver's double-fire filter off, because tests
/// scan the same payload (`C:CONFIRM`, a product) faster than a person can (the filter has its
/// own tests).
pub fn scanner_config() -> ScannerConfig {
    ScannerConfig {
        terminator: TerminatorName::Cr,
        duplicate_window_ms: 0,
        backoff_initial_ms: 10,
        backoff_max_ms: 100,
        ..ScannerConfig::default()
    }
}

/// The simulated scanner of one station.
#[derive(Debug)]
pub struct PtyScanner {
    station: String,
    sim: ScannerSim,
    updates: broadcast::Receiver<Arc<str>>,
}

impl PtyScanner {
    /// Starts a scanner driver for `station` with [`scanner_config`], attaches it to the
    /// station as `[[stations]]` devices are, and plugs a fresh pty into it.
    pub async fn attach(agent: &mut StationAgent, station: &str) -> anyhow::Result<Self> {
        let stations = Arc::clone(&agent.node.stations);
        let (plug, connector) = Connector::handoff(1);
        let driver = ScannerDriver::spawn(scanner_config().options()?, connector);
        agent.devices.attach_scanner(&stations, station, driver);
        let updates = stations.subscribe(station)?;
        let sim = ScannerSim::plug(&plug, b"\r")
            .await
            .context("plugging the pty scanner")?;
        Ok(Self {
            station: station.to_string(),
            sim,
            updates,
        })
    }

    /// Writes one scan (payload + CR, one write) without waiting for its answer.
    pub async fn send(&mut self, payload: &str) -> anyhow::Result<()> {
        Ok(self.sim.scan(payload.as_bytes()).await?)
    }

    /// Writes one scan and returns the station state published for it (accepted or refused;
    /// a refusal carries `last_error`). Updates left over from earlier inputs are discarded
    /// first, so only drive the station from this scanner while using it.
    pub async fn scan(&mut self, payload: &str) -> anyhow::Result<Value> {
        while let Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)) = self.updates.try_recv() {
        }
        self.send(payload).await?;
        let next = async {
            loop {
                match self.updates.recv().await {
                    Ok(text) => return serde_json::from_str::<Value>(&text).map_err(Into::into),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => {
                        return Err(anyhow!("station {} is gone", self.station))
                    }
                }
            }
        };
        tokio::time::timeout(ANSWER_TIMEOUT, next)
            .await
            .map_err(|_| anyhow!("no answer from {} to the scan {payload:?}", self.station))?
    }

    /// Scans and requires acceptance; returns the new station state.
    pub async fn ok(&mut self, payload: &str) -> anyhow::Result<Value> {
        let s = self.scan(payload).await?;
        if s.get("last_error").is_some_and(|e| !e.is_null()) {
            return Err(anyhow!(
                "scan {payload:?} at {} was refused: {s}",
                self.station
            ));
        }
        Ok(s)
    }

    /// Scans every payload in order, each one required to be accepted; returns the last state.
    pub async fn ok_all(&mut self, payloads: &[&str]) -> anyhow::Result<Value> {
        let mut last = Value::Null;
        for p in payloads {
            last = self.ok(p).await?;
        }
        Ok(last)
    }

    /// Scans and requires a refusal with `code`; returns the station state showing it.
    pub async fn refused(&mut self, payload: &str, code: &str) -> anyhow::Result<Value> {
        let s = self.scan(payload).await?;
        if s["last_error"]["code"] != code {
            return Err(anyhow!(
                "scan {payload:?} at {}: expected refusal {code}, got {s}",
                self.station
            ));
        }
        Ok(s)
    }
}

/// GS1 element strings as a scanner with AIM symbology identifiers on transmits them:
/// `]C1` (GS1-128) or `]d2` (GS1 DataMatrix) first, FNC1 separators as `<GS>` (0x1D) after
/// variable-length values that are not last.
pub mod gs1 {
    /// The group separator a scanner sends for FNC1 between fields.
    pub const GS: char = '\u{1d}';

    /// A GS1-128 symbol's transmission from bracketed HRI like `(01)…(10)LOT`: fixed-length
    /// AIs (00, 01, 02, 17) run on, a variable-length one is followed by GS unless last.
    pub fn gs1_128(fields: &[(&str, &str)]) -> String {
        transmit("]C1", fields)
    }

    /// The same data as a GS1 DataMatrix transmits it.
    pub fn datamatrix(fields: &[(&str, &str)]) -> String {
        transmit("]d2", fields)
    }

    /// An EAN-13 symbol's transmission (`]E0` + 13 digits) of a GTIN-14 with a leading 0.
    pub fn ean13(gtin14: &str) -> String {
        format!("]E0{}", gtin14.strip_prefix('0').unwrap_or(gtin14))
    }

    fn transmit(aim: &str, fields: &[(&str, &str)]) -> String {
        const FIXED: [&str; 6] = ["00", "01", "02", "11", "15", "17"];
        let mut out = aim.to_string();
        for (i, (ai, value)) in fields.iter().enumerate() {
            out.push_str(ai);
            out.push_str(value);
            if !FIXED.contains(ai) && i + 1 < fields.len() {
                out.push(GS);
            }
        }
        out
    }
}
