//! stockpost-agent: the warehouse node program.
//!
//! Thin IO loops around the pure state machines of `stockpost-common`: the store (the only
//! module touching the embedded database), the step writer that commits every operator step
//! durably with its outbox entry, the MQTT link, devices and the local HTTP API.

pub mod bootstrap;
pub mod catalog;
pub mod config;
pub mod devices;
pub mod diagnostics;
pub mod http;
pub mod http_auth;
pub mod link;
pub mod node;
pub mod stations;
pub mod stock_index;
pub mod store;
pub mod writer;
