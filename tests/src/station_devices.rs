//! Simulated devices plugged into a [`StationAgent`]'s stations, wired to the station runtime
//! exactly as `[[stations]]` devices are (the same drivers, the same attach calls): a barcode
//! scanner and a continuous scale on the far end of real ptys, and the TCP ZPL printer
//! simulator. Once a station has a scanner plugged in, [`StationAgent::ok`] and
//! [`StationAgent::scan`] go through it instead of the HTTP scan API, and
//! [`crate::shift::weigh`] puts the carton on the plugged-in scale, so the same shift helpers
//! drive either path.

use crate::pty_scanner::PtyScanner;
use crate::sim::printer::PrinterSim;
use crate::sim::scale::{frames, ContinuousScaleSim};
use crate::station::StationAgent;
use anyhow::{anyhow, Context};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use stockpost_agent::devices::printer::{PrinterDriver, PrinterOptions};
use stockpost_agent::devices::scale::{ScaleDriver, ScaleOptions, ScaleSnapshot};
use stockpost_agent::devices::spool::Spool;
use stockpost_agent::devices::{BackoffConfig, Connector};
use stockpost_common::scale::ScaleProtocol;
use tokio::sync::{broadcast, watch};

/// How long a weighing may take to come back as a station update.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// Quick reconnects: the simulators are local.
const BACKOFF: BackoffConfig = BackoffConfig {
    initial_ms: 10,
    max_ms: 100,
};

/// How often the simulated continuous scale sends a frame.
const SCALE_INTERVAL: Duration = Duration::from_millis(20);

/// The devices plugged into an agent's stations, by station id.
#[derive(Debug, Default)]
pub struct DeviceRoutes {
    scanners: BTreeMap<String, PtyScanner>,
    scales: BTreeMap<String, ContinuousScaleSim>,
}

impl DeviceRoutes {
    /// The scanner plugged into `station`, if any.
    pub fn scanner(&mut self, station: &str) -> Option<&mut PtyScanner> {
        self.scanners.get_mut(station)
    }

    /// Pulls every cable.
    pub fn unplug_all(self) {
        for (_, scale) in self.scales {
            scale.unplug();
        }
        drop(self.scanners);
    }
}

/// A generic continuous scale's frame showing `kg` gross, stable (`ST,GS,+0001.250kg`).
pub fn generic_frame(kg: Decimal) -> Vec<u8> {
    let text = format!("{:.3}", kg.abs().round_dp(3));
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, "000"));
    let sign = if kg.is_sign_negative() { '-' } else { '+' };
    frames::generic(&format!("ST,GS,{sign}{whole:0>4}.{fraction}kg"))
}

/// The station's `last_error`, or `Null`.
fn last_error(state: &Value) -> Value {
    state.get("last_error").cloned().unwrap_or(Value::Null)
}

impl StationAgent {
    /// Plugs a pty barcode scanner into `station`; from now on [`StationAgent::ok`] and
    /// [`StationAgent::scan`] at that station go through it.
    pub async fn plug_scanner(&mut self, station: &str) -> anyhow::Result<()> {
        let scanner = PtyScanner::attach(self, station).await?;
        self.routes
            .get_mut()
            .scanners
            .insert(station.to_string(), scanner);
        Ok(())
    }

    /// Plugs a continuous scale (generic protocol, a frame every 20 ms) into `station`, showing
    /// an empty platform; [`crate::shift::weigh`] at that station then puts the carton on it.
    /// Returns the driver's readings as the station sees them.
    pub async fn plug_scale(
        &mut self,
        station: &str,
    ) -> anyhow::Result<watch::Receiver<Option<ScaleSnapshot>>> {
        let (plug, connector) = Connector::handoff(1);
        let driver = ScaleDriver::spawn(
            ScaleOptions {
                poll_interval: Duration::from_millis(10),
                response_timeout: Duration::from_millis(300),
                backoff: BACKOFF,
                ..ScaleOptions::new(ScaleProtocol::Generic)
            },
            connector,
        );
        let readings = driver.reading.clone();
        let stations = Arc::clone(&self.node.stations);
        self.devices.attach_scale(&stations, station, driver);
        let sim =
            ContinuousScaleSim::plug(&plug, &[], generic_frame(Decimal::ZERO), SCALE_INTERVAL)
                .await
                .context("plugging the pty scale")?;
        self.routes
            .get_mut()
            .scales
            .insert(station.to_string(), sim);
        Ok(readings)
    }

    /// Starts a TCP ZPL printer simulator and makes it `station`'s label printer (labels go
    /// through the node's durable spool). Returns the simulator, which shows what it printed.
    pub async fn plug_printer(&mut self, station: &str) -> anyhow::Result<PrinterSim> {
        let sim = PrinterSim::start()
            .await
            .context("starting the printer simulator")?;
        let spool = Spool::open(self.node.store.raw().clone())?;
        let driver = PrinterDriver::spawn(
            PrinterOptions {
                status_timeout: Duration::from_millis(500),
                status_poll: Duration::from_millis(50),
                idle_poll: Duration::from_millis(200),
                write_timeout: Duration::from_secs(2),
                backoff: BACKOFF,
            },
            Connector::TcpConnect {
                addr: sim.addr(),
                timeout: Duration::from_secs(1),
            },
            spool.clone(),
        );
        let stations = Arc::clone(&self.node.stations);
        self.devices
            .attach_printer(&stations, station, spool, driver);
        Ok(sim)
    }

    /// Puts a carton of `kg` on the scale plugged into `station`, waits for the station's
    /// answer to that weighing, and lifts the carton off again. The answer has the scan API's
    /// shape (`accepted`, `error`, `station`). `None` when no scale is plugged in there.
    pub async fn weigh_on_scale(&self, station: &str, kg: &str) -> anyhow::Result<Option<Value>> {
        let routes = self.routes.lock().await;
        let Some(scale) = routes.scales.get(station) else {
            return Ok(None);
        };
        let kg: Decimal = kg.parse().with_context(|| format!("weight {kg:?}"))?;
        let mut updates = self.node.stations.subscribe(station)?;
        let before = self.get(&format!("/api/v1/stations/{station}")).await?;
        if before["expect"]["scan"] != "weight" {
            return Err(anyhow!("{station} does not wait for a weight: {before}"));
        }
        let stale_error = last_error(&before);
        scale.set_frame(generic_frame(kg));
        let answer = async {
            loop {
                let text = match updates.recv().await {
                    Ok(text) => text,
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => {
                        return Err(anyhow!("station {station} is gone"))
                    }
                };
                let state: Value = serde_json::from_str(&text)?;
                if state["expect"]["scan"] != "weight" {
                    return Ok(json!({"accepted": true, "station": state}));
                }
                let error = last_error(&state);
                if !error.is_null() && error != stale_error {
                    return Ok(json!({"accepted": false, "error": error, "station": state}));
                }
            }
        };
        let answer = tokio::time::timeout(ANSWER_TIMEOUT, answer).await;
        // The packer lifts the carton (to fix it, or onto the dock).
        scale.set_frame(generic_frame(Decimal::ZERO));
        answer
            .map_err(|_| anyhow!("no answer from {station} to {kg} kg on its scale"))?
            .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generic_frame_pads_the_weight_to_four_integer_digits_and_three_decimals() {
        let kg = |s: &str| s.parse::<Decimal>().unwrap_or_default();
        assert_eq!(
            generic_frame(kg("1.96")),
            frames::generic("ST,GS,+0001.960kg")
        );
        assert_eq!(
            generic_frame(Decimal::ZERO),
            frames::generic("ST,GS,+0000.000kg")
        );
        assert_eq!(
            generic_frame(kg("-0.5")),
            frames::generic("ST,GS,-0000.500kg")
        );
    }
}
