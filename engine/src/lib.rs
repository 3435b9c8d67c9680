//! stockpost-engine: the hub's decisions as a pure engine.
//!
//! Commands come in ([`command::Command`]: one per API operation, node batch, downlink ack,
//! webhook outcome and timer tick); the engine reads and writes the books through one
//! [`repo::UnitOfWork`] per commit round, and answers with a [`command::Reply`] or an
//! [`error::EngineError`] that keeps a rejected command ([`error::Rejection`], with a kind the
//! HTTP layer maps to a status) apart from an internal failure (the round is not committed).
//! After the round is committed the engine gives the effects to carry out
//! ([`engine::Effect`]: acks and resend requests, downlink messages, webhook deliveries).
//!
//! No IO, no JSON, no HTTP, no clock: times come in [`settings::Now`]. The domain rules it
//! applies live in `stockpost_common` (ledger, orders, authority, approval).
//!
//! Capabilities, one module each: [`catalog`] (items, nodes, locations), [`orders`],
//! [`documents`] (inbound notices and returns), [`exceptions`], [`adjustments`] (approval before
//! effect), [`tasks`] (every node's tasks), [`downlink`], [`audit`], [`kpi`] (the KPI window),
//! [`webhooks`] (staging), [`quarantine`], [`ingest`] (node batches) and [`snapshot`] (what a new
//! or wiped node is given). [`read`] is the read model published after each commit.

pub mod adjustments;
pub mod audit;
pub mod catalog;
pub mod command;
pub mod credentials;
pub mod documents;
pub mod downlink;
pub mod engine;
pub mod error;
pub mod exceptions;
pub mod ingest;
pub mod kpi;
pub mod orders;
pub mod quarantine;
pub mod read;
pub mod records;
pub mod repo;
mod rules;
pub mod settings;
pub mod snapshot;
pub mod tasks;
#[cfg(test)]
mod tests;
pub mod webhooks;

pub use command::{ApiCommand, Command, Reply};
pub use engine::{Effect, Engine};
pub use error::{EngineError, RejectKind, Rejection};
pub use settings::{Now, Settings};
