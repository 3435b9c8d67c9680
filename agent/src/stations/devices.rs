//! Connects a station's devices to the runtime: scans from the scanner driver take the same
//! path as API scans; stable scale readings are fed while the station waits for a weight; a
//! station with a printer gets the node's durable print spool, into which its accepted steps put
//! their labels (rendered to ZPL) in the step's own commit, and the printer driver prints from.

use super::StationRuntime;
use crate::config::AgentConfig;
use crate::devices::printer::{PrinterConfig, PrinterDriver, PrinterHandle};
use crate::devices::scale::{ScaleConfig, ScaleDriver, ScaleHandle};
use crate::devices::scanner::{ScannerConfig, ScannerDriver, ScannerHandle};
use crate::devices::spool::Spool;
use crate::devices::{DeviceConfigError, DeviceStatus};
use std::sync::Arc;
use stockpost_common::label::sscc::Sscc;
use stockpost_common::label::templates::{logistic_label, LogisticLabel};
use stockpost_common::label::zpl::{Escaping, ZplBuilder};
use stockpost_common::tasks::{ExpectScan, PrintLabel};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Why a station's devices could not start.
#[derive(Debug, thiserror::Error)]
pub enum DevicesError {
    /// A device table in `[[stations]]` is invalid.
    #[error("stations[{station}].{device}: {source}")]
    Config {
        /// Station id.
        station: String,
        /// scanner, scale or printer.
        device: &'static str,
        /// Why.
        source: DeviceConfigError,
    },
    /// The print spool could not be opened.
    #[error("print spool: {0}")]
    Spool(String),
}

/// The running device tasks of every station; dropping it stops them.
#[derive(Debug, Default)]
pub struct Devices {
    tasks: Vec<JoinHandle<()>>,
    printers: Vec<PrinterHandle>,
}

impl Drop for Devices {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Devices {
    /// Starts the drivers configured in `config.stations`.
    pub fn start(
        config: &AgentConfig,
        runtime: &Arc<StationRuntime>,
        spool_store: Option<Arc<dyn stockpost_store::Store>>,
    ) -> Result<Self, DevicesError> {
        let mut devices = Devices::default();
        let mut spool_used_by: Option<String> = None;
        for s in &config.stations {
            let err = |device: &'static str| {
                let station = s.id.clone();
                move |source| DevicesError::Config {
                    station,
                    device,
                    source,
                }
            };
            if let Some(v) = &s.scanner {
                let c = ScannerConfig::from_toml(v).map_err(err("scanner"))?;
                let h = ScannerDriver::spawn(
                    c.options().map_err(err("scanner"))?,
                    c.connector().map_err(err("scanner"))?,
                );
                devices.attach_scanner(runtime, &s.id, h);
            }
            if let Some(v) = &s.scale {
                let c = ScaleConfig::from_toml(v).map_err(err("scale"))?;
                let h = ScaleDriver::spawn(
                    c.options().map_err(err("scale"))?,
                    c.connector().map_err(err("scale"))?,
                );
                devices.attach_scale(runtime, &s.id, h);
            }
            if let (Some(v), Some(store)) = (&s.printer, &spool_store) {
                if let Some(other) = &spool_used_by {
                    tracing::error!(station = %s.id, first = %other, "only one station per node can have a printer for now; this printer is not used");
                    continue;
                }
                let c = PrinterConfig::from_toml(v).map_err(err("printer"))?;
                let spool = Spool::open(Arc::clone(store))
                    .map_err(|e| DevicesError::Spool(e.to_string()))?;
                let h = PrinterDriver::spawn(
                    c.options().map_err(err("printer"))?,
                    c.connector().map_err(err("printer"))?,
                    spool.clone(),
                );
                devices.attach_printer(runtime, &s.id, spool, h);
                spool_used_by = Some(s.id.clone());
            }
        }
        Ok(devices)
    }

    /// Feeds a running scanner driver's scans to `station`.
    pub fn attach_scanner(
        &mut self,
        runtime: &Arc<StationRuntime>,
        station: &str,
        mut handle: ScannerHandle,
    ) {
        runtime.watch_device(station, "scanner", handle.status.clone());
        let runtime = Arc::clone(runtime);
        let station = station.to_string();
        self.tasks.push(tokio::spawn(async move {
            while let Some(scan) = handle.scans.recv().await {
                match runtime.scan(&station, &scan.payload).await {
                    Ok(a) if !a.accepted => {
                        tracing::info!(station = %station, error = ?a.error, "device scan refused");
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::error!(station = %station, error = %e, "device scan not recorded")
                    }
                }
            }
        }));
    }

    /// Feeds a running scale driver's stable readings to `station` while it waits for a weight.
    pub fn attach_scale(
        &mut self,
        runtime: &Arc<StationRuntime>,
        station: &str,
        handle: ScaleHandle,
    ) {
        runtime.watch_device(station, "scale", handle.status.clone());
        let runtime = Arc::clone(runtime);
        let station = station.to_string();
        let mut readings = handle.reading.clone();
        self.tasks.push(tokio::spawn(async move {
            let _keep = handle;
            let mut last_tried: Option<rust_decimal::Decimal> = None;
            while readings.changed().await.is_ok() {
                let snapshot = readings.borrow_and_update().clone();
                let Some(s) = snapshot else { continue };
                if !s.stable || !s.reading.is_usable() {
                    continue;
                }
                // An empty platform (zero, or below zero after a tare) is no carton: a
                // continuous scale keeps reporting it while the packer scans, and the carton
                // put back after lifting it is a new weighing.
                if s.reading
                    .value_kg()
                    .is_ok_and(|kg| kg <= rust_decimal::Decimal::ZERO)
                {
                    last_tried = None;
                    continue;
                }
                if !runtime.expects(&station, ExpectScan::Weight) {
                    last_tried = None;
                    continue;
                }
                // The same stable weight is tried once; a new weight (carton fixed) again.
                if last_tried == s.reading.value {
                    continue;
                }
                last_tried = s.reading.value;
                let mut reading = s.reading.clone();
                reading.stable = true;
                match runtime.weight(&station, reading).await {
                    Ok(a) if !a.accepted => {
                        tracing::info!(station = %station, error = ?a.error, "weighing refused");
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::error!(station = %station, error = %e, "weighing not recorded")
                    }
                }
            }
        }));
    }

    /// Makes `handle` (printing from `spool`) `station`'s label printer: the station's accepted
    /// steps put their labels into `spool` in their own commit.
    pub fn attach_printer(
        &mut self,
        runtime: &Arc<StationRuntime>,
        station: &str,
        spool: Spool,
        handle: PrinterHandle,
    ) {
        runtime.set_printer(station, spool);
        let (link_tx, link_rx) = watch::channel(DeviceStatus::initial());
        runtime.watch_device(station, "printer", link_rx);
        let mut status = handle.status.clone();
        self.tasks.push(tokio::spawn(async move {
            while status.changed().await.is_ok() {
                let s = status.borrow_and_update().clone();
                link_tx.send_modify(|d| {
                    d.link = s.link;
                    d.connections = s.connections;
                    d.last_error = s.last_error.clone();
                });
            }
        }));
        self.printers.push(handle);
    }
}

/// The ZPL for a carton: the GS1 logistic label when the carton id is an SSCC, else a plain
/// carton label with the carton id as a Code 128 barcode.
pub fn render(label: &PrintLabel) -> Result<String, String> {
    let lines = vec![
        format!("Order {}", label.order),
        format!("Carton {}", label.carton),
        format!("Weight {} kg", label.weight_kg.get()),
    ];
    if let Some(sscc) = label.sscc.as_deref().and_then(|s| Sscc::parse(s).ok()) {
        let l = LogisticLabel {
            free_form: lines
                .into_iter()
                .map(|l| l.chars().take(34).collect())
                .collect(),
            sscc,
            content_gtin: None,
            count: None,
            batch_lot: None,
            best_before: None,
            net_weight_kg: None,
            copies: 1,
        };
        return logistic_label(&l).map_err(|e| e.to_string());
    }
    let mut b = ZplBuilder::new(812, 1218, Escaping::Hex);
    let mut y = 60;
    for (i, line) in lines.iter().enumerate() {
        b.text(&format!("line{i}"), 40, y, 60, 50, line)
            .map_err(|e| e.to_string())?;
        y += 90;
    }
    b.centred_text("carton", y + 40, 120, 100, label.carton.as_str())
        .map_err(|e| e.to_string())?;
    Ok(b.finish())
}
