//! Stockpost's pure core.
//!
//! Everything in this crate is deterministic: no IO, no clock reads, no randomness.
//! Time and randomness are passed in by the caller (architecture invariant 1).

pub mod check_digit;
pub mod gs1;
pub mod label;
pub mod scale;
pub mod scanner_framing;
