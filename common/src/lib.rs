//! Stockpost's pure core.
//!
//! Everything in this crate is deterministic: no IO, no clock reads, no randomness.
//! Time and randomness are passed in by the caller (architecture invariant 1).

pub mod check_digit;
pub mod config_error;
pub mod domain;
pub mod gs1;
pub mod label;
pub mod ledger;
pub mod orders;
pub mod scale;
pub mod scan_payload;
pub mod scanner_framing;
pub mod sync;
pub mod tasks;
pub mod wire;
