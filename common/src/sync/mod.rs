//! The sync protocol's logic, without IO: a [`Sender`] of a numbered stream (the agent's outbox
//! uplink, the hub's downlink to a node) and a [`Receiver`] that applies it strictly in order
//! (the hub's ingest per node, the agent's downlink).
//!
//! Both are state machines in the style of quinn-proto: inputs are method calls carrying `now`
//! (milliseconds on any monotonic clock the caller owns), outputs are polled
//! (`poll_transmit`, `poll_timeout`, `take_prune`). The IO loops around them read the store,
//! publish over MQTT and commit; these types decide what to send and when.
//!
//! The rules (docs/protocol.md):
//! - Items carry a gapless sequence starting at 1. The receiver applies item `n` only after
//!   `1..n`, and acks the highest contiguous sequence it has committed durably.
//! - The sender keeps every item until it is acked (the ack is the only thing that prunes), and
//!   resends from the last ack after a reconnect, an ack timeout or a resend request.
//! - Duplicates are expected (MQTT QoS 1, resends): the receiver skips what it applied and acks
//!   again; a batch that starts beyond what it has makes it ask for a resend.

mod address;
mod receiver;
mod sender;
#[cfg(test)]
mod sim_tests;
pub mod topics;

pub use address::split_host_port;
pub use receiver::{BatchVerdict, Receiver, ReceiverConfig, ReceiverTransmit};
pub use sender::{ProtocolError, SendRange, Sender, SenderConfig};
