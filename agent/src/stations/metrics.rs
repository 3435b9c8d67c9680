//! Station counters for `/metrics`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Counters of the station runtime.
#[derive(Debug, Default)]
pub struct StationMetrics {
    /// Accepted steps per flow (task kind; `none` for sign-in and the like).
    pub steps: Mutex<BTreeMap<String, u64>>,
    /// Rejected steps per error code.
    pub errors: Mutex<BTreeMap<String, u64>>,
    /// Scans dropped as double-fires.
    pub duplicates: AtomicU64,
    /// Scans received (device and API).
    pub scans: AtomicU64,
    /// Steps that could not be written (storage failed, writer busy).
    pub write_failures: AtomicU64,
}

fn bump(map: &Mutex<BTreeMap<String, u64>>, key: &str) {
    let mut m = map.lock().unwrap_or_else(|p| p.into_inner());
    *m.entry(key.to_string()).or_insert(0) += 1;
}

impl StationMetrics {
    /// Counts an accepted step of `flow`.
    pub fn step(&self, flow: &str) {
        bump(&self.steps, flow);
    }

    /// Counts a rejected step with `code`.
    pub fn error(&self, code: &str) {
        bump(&self.errors, code);
    }

    /// Prometheus text for these counters.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP stockpost_agent_station_steps_total Accepted station steps by flow.\n# TYPE stockpost_agent_station_steps_total counter\n");
        for (flow, n) in self.steps.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            out.push_str(&format!(
                "stockpost_agent_station_steps_total{{flow=\"{flow}\"}} {n}\n"
            ));
        }
        out.push_str("# HELP stockpost_agent_station_errors_total Rejected station steps by error code.\n# TYPE stockpost_agent_station_errors_total counter\n");
        for (code, n) in self.errors.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            out.push_str(&format!(
                "stockpost_agent_station_errors_total{{code=\"{code}\"}} {n}\n"
            ));
        }
        out.push_str(&format!(
            "# TYPE stockpost_agent_scans_total counter\nstockpost_agent_scans_total {}\n\
             # TYPE stockpost_agent_duplicate_scans_total counter\nstockpost_agent_duplicate_scans_total {}\n\
             # TYPE stockpost_agent_step_write_failures_total counter\nstockpost_agent_step_write_failures_total {}\n",
            self.scans.load(Ordering::Relaxed),
            self.duplicates.load(Ordering::Relaxed),
            self.write_failures.load(Ordering::Relaxed),
        ));
        out
    }
}
