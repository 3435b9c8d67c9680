//! stockpost-hub: the central program.
//!
//! Thin IO loops around the pure core: the store (the only module touching the embedded
//! database), the ingest writer that applies node events exactly once and in order, the MQTT
//! side, and the ops HTTP API.

pub mod auth;
#[cfg(feature = "embedded-broker")]
pub mod broker;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod error;
pub mod http;
pub mod ingest;
pub mod mqtt;
pub mod node;
pub mod ops;
pub mod stock_view;
pub mod store;
#[cfg(test)]
mod test_support;
pub mod time;
pub mod webhooks;
