//! `stockpost-demo`: the README's one-command demo. A hub, a broker and three agent nodes run
//! in one process under a fresh directory and work a whole shift through the same paths
//! operators and integrations use (station scans, the hub's HTTP API, MQTT sync), printing
//! progress, a summary and — with `--exit` — a check of the hub's final state.
//!
//! - [`setup`]: the broker choice, the hub and the three nodes.
//! - [`script`]: the shift itself.
//! - [`check`]: the expected final state and the comparison.
//! - [`report`]: progress lines and the summary.
//! - [`shift`]: `--shift`, the shift at scale (N nodes, hundreds of orders, faults, report).

pub mod check;
pub mod report;
pub mod script;
pub mod setup;
pub mod shift;

/// The demo's nodes, in allocation priority order.
pub const NORTH: &str = "DC-NORTH";
/// The second node.
pub const EAST: &str = "DC-EAST";
/// The third node.
pub const WEST: &str = "DC-WEST";
/// Every node, in the order they are reported.
pub const NODES: [&str; 3] = [EAST, WEST, NORTH];
