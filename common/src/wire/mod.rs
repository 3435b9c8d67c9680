//! The wire format: how messages between a node and the hub are framed and encoded.
//!
//! Every message travels inside an [`Envelope`]: a fixed, hand-written header (magic `SPW`,
//! format version, message kind, node id, sequence number, body length), a postcard body and
//! an HMAC-SHA256 tag under the node's [`SyncKey`] ([`auth`]). The layout, the kind codes, the
//! limits and the compatibility rules are documented in `docs/wire-format.md`; golden byte
//! fixtures under `common/tests/golden/wire/v2/` freeze the encoding of every message kind and
//! every event variant (`v1/` keeps the old format's, which this build refuses).
//!
//! Decoding never panics and never trusts a length it has not checked: the envelope size is
//! checked before anything else, every header field is read with bounds checks, and list
//! lengths in the body are checked against [`Limits`] before any element is decoded.
//!
//! Compatibility rules, in short:
//! - message kinds ([`Kind`]) and the variants of every enum in a body are **append-only**;
//! - a field is never added to, removed from or reordered in an existing body or variant —
//!   that needs a new format version ([`VERSION`]);
//! - bytes that decode must be canonical: they re-encode to exactly the same bytes.

pub mod auth;
mod body;
mod consistency;
mod envelope;
mod error;
mod limits;
mod message;

pub use auth::{constant_time_eq, KeyError, SyncKey, TAG_LEN};
pub use consistency::Inconsistency;
pub use envelope::{
    decode, decode_with_keys, encode, encode_with_limits, Envelope, HEADER_FIXED_LEN, MAGIC,
    SUPPORTED_VERSIONS, VERSION,
};
pub use error::WireError;
pub use limits::{Limits, MAX_DOWNLINK_ITEMS, MAX_ENVELOPE_BYTES, MAX_EVENTS_PER_BATCH};
pub use message::{Direction, DownlinkItem, Kind, Message};
