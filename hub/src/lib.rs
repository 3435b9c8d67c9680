//! stockpost-hub: the central program.
//!
//! Thin IO loops around the pure engine (`stockpost_engine`): the embedded repository
//! (`repo`, the only module touching the store), the writer thread that runs each round of
//! commands through the engine and commits it (`writer`), the MQTT side (`mqtt`, and the
//! embedded broker), the ops HTTP API (`http`, with every JSON shape in `dto`), the webhook
//! sender and the CLI.

pub mod auth;
#[cfg(feature = "embedded-broker")]
pub mod broker;
#[cfg(feature = "embedded-broker")]
pub mod broker_gate;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod dto;
pub mod http;
pub mod mqtt;
pub mod node;
pub mod repo;
pub mod time;
pub mod webhooks;
pub mod writer;
