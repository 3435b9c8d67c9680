//! The settings the rules need (from hub.toml) and the times of a round (from the IO shell:
//! the engine reads no clock).

use stockpost_common::orders::{ApprovalPolicy, WeightTolerance};
use stockpost_common::sync::{ReceiverConfig, SenderConfig};

/// A webhook receiver: where deliveries go and which events it wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookTarget {
    /// The receiver's URL.
    pub url: String,
    /// Event names it wants (`shipment_confirmed`, …); empty: all.
    pub events: Vec<String>,
}

/// Bounds of the quarantine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuarantineLimits {
    /// Most records kept per node (and for messages that name no node); the oldest is dropped.
    pub per_node: u64,
    /// Most records kept in all.
    pub total: u64,
}

impl Default for QuarantineLimits {
    fn default() -> Self {
        Self {
            per_node: 100,
            total: 1_000,
        }
    }
}

/// The rule settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Adjustment approval.
    pub policy: ApprovalPolicy,
    /// Check-weighing.
    pub weight: WeightTolerance,
    /// Downlink bounds.
    pub sender: SenderConfig,
    /// Uplink receiver timers.
    pub receiver: ReceiverConfig,
    /// Most pending downlink items per node before API changes for it are refused.
    pub max_pending: u64,
    /// Release allocated orders on the tick.
    pub auto_release: bool,
    /// Webhook receivers (none: no webhook events are built).
    pub hooks: Vec<HookTarget>,
    /// Quarantine bounds.
    pub quarantine: QuarantineLimits,
}

/// The times of one round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// Wall clock, Unix ms.
    pub wall: i64,
    /// Monotonic, ms (timers).
    pub mono: u64,
}
