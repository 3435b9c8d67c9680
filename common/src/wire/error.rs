//! Why bytes are not an acceptable envelope (or a message cannot be encoded).

use super::consistency::Inconsistency;
use super::message::Kind;
use crate::domain::{IdError, NodeId};

/// Why an envelope was rejected. Every variant says what was wrong; [`WireError::label`] gives a
/// stable short name for counting rejects in metrics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The envelope (or the size its header declares) is larger than the limit. Checked before
    /// anything is allocated.
    #[error("envelope is {size} bytes; at most {max} are allowed")]
    Oversize {
        /// The actual or declared size, header included.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The bytes end inside the header.
    #[error("envelope is truncated: it ends inside the {field} ({needed} bytes needed, {available} left)")]
    Truncated {
        /// The header field being read.
        field: &'static str,
        /// Bytes that field needs.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// The first three bytes are not `SPW`.
    #[error("not a Stockpost envelope: the magic bytes are {found:02X?}, not \"SPW\"")]
    BadMagic {
        /// The bytes found.
        found: [u8; 3],
    },
    /// A format version this build does not read.
    #[error(
        "wire format version {found} is not supported; this build reads version(s) {supported:?}"
    )]
    UnsupportedVersion {
        /// The version in the header.
        found: u8,
        /// The versions this build reads.
        supported: &'static [u8],
    },
    /// A message kind code this build does not know.
    #[error("unknown message kind code {code}")]
    UnknownKind {
        /// The code in the header.
        code: u8,
    },
    /// The header's node id is not a valid `NodeId`.
    #[error("the node id in the header is invalid: {0}")]
    InvalidNodeId(#[source] IdError),
    /// The body length in the header is not the number of bytes that follow the header
    /// (the envelope was truncated, or bytes were appended to it).
    #[error("the header declares a {declared}-byte body but {actual} bytes follow the header")]
    BodyLength {
        /// The declared body length.
        declared: u32,
        /// The bytes actually following the header.
        actual: usize,
    },
    /// A list in the body is longer than the limit. Checked before its elements are decoded.
    #[error("{kind}: {count} {what}; at most {max} are allowed")]
    TooMany {
        /// The message kind.
        kind: Kind,
        /// What is counted (`events`, `items`).
        what: &'static str,
        /// How many there are (at least).
        count: usize,
        /// The limit.
        max: usize,
    },
    /// There is no sync credential for the node in the header (decoding side only: the hub has
    /// none registered for it).
    #[error("no sync credential is registered for node {node}")]
    UnknownKey {
        /// The node in the header.
        node: NodeId,
        /// The header's sequence (unauthenticated: for reports only).
        seq: u64,
    },
    /// The tag at the end is not the one the node's credential gives: the message was not made
    /// by a holder of the credential, or was changed on the way.
    #[error("{kind} for node {node}: the authentication tag does not match (forged, altered, or made with another credential)")]
    BadTag {
        /// The node in the header.
        node: NodeId,
        /// The message kind in the header.
        kind: Kind,
        /// The header's sequence (unauthenticated: for reports only).
        seq: u64,
    },
    /// The body is not a valid postcard encoding of the kind's body (including invalid ids,
    /// decimals or dates inside it).
    #[error("{kind}: the body does not decode: {source}")]
    Body {
        /// The message kind.
        kind: Kind,
        /// What postcard reported.
        source: postcard::Error,
    },
    /// The body decoded but did not use all of its bytes.
    #[error("{kind}: {count} leftover bytes after the body")]
    LeftoverBytes {
        /// The message kind.
        kind: Kind,
        /// How many bytes were left.
        count: usize,
    },
    /// The body decoded but is not in canonical form: it re-encodes to different bytes.
    #[error("{kind}: the body is not in canonical form (it re-encodes to different bytes)")]
    NonCanonical {
        /// The message kind.
        kind: Kind,
    },
    /// The body disagrees with the header (or with itself).
    #[error("{kind}: the body disagrees with the header: {source}")]
    Inconsistent {
        /// The message kind.
        kind: Kind,
        /// What disagrees.
        source: Inconsistency,
    },
    /// The body could not be serialised (encoding only; not expected to happen).
    #[error("{kind}: the body cannot be encoded: {source}")]
    Encode {
        /// The message kind.
        kind: Kind,
        /// What postcard reported.
        source: postcard::Error,
    },
}

impl WireError {
    /// A stable snake_case name for the kind of error, for metrics labels.
    pub fn label(&self) -> &'static str {
        match self {
            WireError::Oversize { .. } => "oversize",
            WireError::Truncated { .. } => "truncated",
            WireError::BadMagic { .. } => "bad_magic",
            WireError::UnsupportedVersion { .. } => "unsupported_version",
            WireError::UnknownKind { .. } => "unknown_kind",
            WireError::InvalidNodeId(_) => "invalid_node_id",
            WireError::BodyLength { .. } => "body_length",
            WireError::UnknownKey { .. } => "unknown_key",
            WireError::BadTag { .. } => "bad_tag",
            WireError::TooMany { .. } => "too_many",
            WireError::Body { .. } => "body",
            WireError::LeftoverBytes { .. } => "leftover_bytes",
            WireError::NonCanonical { .. } => "non_canonical",
            WireError::Inconsistent { .. } => "inconsistent",
            WireError::Encode { .. } => "encode",
        }
    }
}
