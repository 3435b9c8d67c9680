//! The envelope: a fixed, hand-written header followed by the postcard body.
//!
//! | offset      | size | field        | encoding                                        |
//! |-------------|------|--------------|-------------------------------------------------|
//! | 0           | 3    | magic        | `b"SPW"`                                        |
//! | 3           | 1    | version      | u8, currently 2                                 |
//! | 4           | 1    | kind         | u8 kind code ([`Kind::code`])                   |
//! | 5           | 1    | node id len  | u8, `n` (1..=32)                                |
//! | 6           | n    | node id      | ASCII, a valid `NodeId`                         |
//! | 6 + n       | 8    | seq          | u64 big-endian; meaning per kind                |
//! | 14 + n      | 4    | body len     | u32 big-endian, `b`                             |
//! | 18 + n      | b    | body         | postcard ([`Message`] fields of the kind)       |
//! | 18 + n + b  | 32   | tag          | HMAC-SHA256 of bytes `0 .. 18 + n + b`, keyed   |
//! |             |      |              | with the node's [`SyncKey`]                     |
//!
//! The envelope ends exactly at the end of the tag: nothing may follow it. Version 1 was the
//! same without the tag; it is refused.

use super::auth::{SyncKey, TAG_LEN};
use super::body::{decode_body, encode_body};
use super::consistency::check;
use super::error::WireError;
use super::limits::Limits;
use super::message::{Kind, Message};
use crate::domain::{IdError, NodeId};

/// The first three bytes of every envelope.
pub const MAGIC: [u8; 3] = *b"SPW";

/// The format version this build writes.
pub const VERSION: u8 = 2;

/// The format versions this build reads.
pub const SUPPORTED_VERSIONS: &[u8] = &[2];

/// Header bytes besides the node id: magic 3, version 1, kind 1, node id length 1, seq 8,
/// body length 4.
pub const HEADER_FIXED_LEN: usize = 3 + 1 + 1 + 1 + 8 + 4;

/// A decoded envelope: who it is from or for, its sequence number and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The node: the sender of an uplink message, the recipient of a downlink one.
    pub node: NodeId,
    /// The header's sequence number; its meaning depends on the kind (see [`Message`]).
    pub seq: u64,
    /// The message.
    pub message: Message,
}

impl Envelope {
    /// The message's kind.
    pub fn kind(&self) -> Kind {
        self.message.kind()
    }

    /// Encodes this envelope with the default limits, tagged with `key`.
    pub fn encode(&self, key: &SyncKey) -> Result<Vec<u8>, WireError> {
        encode(&self.message, &self.node, self.seq, key)
    }
}

/// Encodes `message` for `node` with header sequence `seq`, within the default [`Limits`],
/// tagged with the node's `key`.
pub fn encode(
    message: &Message,
    node: &NodeId,
    seq: u64,
    key: &SyncKey,
) -> Result<Vec<u8>, WireError> {
    encode_with_limits(message, node, seq, key, &Limits::DEFAULT)
}

/// Encodes `message` for `node` with header sequence `seq`, within `limits`, tagged with the
/// node's `key`. Refuses whatever [`decode`] with the same limits would reject, so what
/// encodes also decodes.
pub fn encode_with_limits(
    message: &Message,
    node: &NodeId,
    seq: u64,
    key: &SyncKey,
    limits: &Limits,
) -> Result<Vec<u8>, WireError> {
    let kind = message.kind();
    check_counts(message, limits)?;
    check(message, node, seq).map_err(|source| WireError::Inconsistent { kind, source })?;
    let body = encode_body(message)?;
    let node_bytes = node.as_str().as_bytes();
    let node_len = u8::try_from(node_bytes.len()).map_err(|_| {
        WireError::InvalidNodeId(IdError::TooLong {
            kind: "node id",
            len: node_bytes.len(),
            max: NodeId::MAX_LEN,
        })
    })?;
    let size = HEADER_FIXED_LEN
        .saturating_add(node_bytes.len())
        .saturating_add(body.len())
        .saturating_add(TAG_LEN);
    let body_len = u32::try_from(body.len()).map_err(|_| WireError::Oversize {
        size,
        max: limits.max_envelope_bytes,
    })?;
    if size > limits.max_envelope_bytes {
        return Err(WireError::Oversize {
            size,
            max: limits.max_envelope_bytes,
        });
    }
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.push(kind.code());
    out.push(node_len);
    out.extend_from_slice(node_bytes);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&body_len.to_be_bytes());
    out.extend_from_slice(&body);
    let tag = key.tag(&out);
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Decodes one envelope that must span exactly all of `bytes`, enforcing `limits`, and that
/// must carry a valid tag under `key` (a node decoding what its hub sent).
pub fn decode(bytes: &[u8], limits: &Limits, key: &SyncKey) -> Result<Envelope, WireError> {
    decode_with_keys(bytes, limits, |_| Some(key.clone()))
}

/// Decodes one envelope that must span exactly all of `bytes`, enforcing `limits`, and that
/// must carry a valid tag under the key `key_of` gives for the node in its header (the hub
/// decoding what any node sent; `None`: the node has no credential).
///
/// Checks, in order: size, magic, version, kind, node id, sequence and body length fields,
/// body and tag lengths against the bytes that follow, the node's key, the tag (before a byte
/// of the body is decoded), the body (postcard, list bounds, no leftover bytes), the body
/// against the header, and canonical form.
pub fn decode_with_keys(
    bytes: &[u8],
    limits: &Limits,
    key_of: impl FnOnce(&NodeId) -> Option<SyncKey>,
) -> Result<Envelope, WireError> {
    if bytes.len() > limits.max_envelope_bytes {
        return Err(WireError::Oversize {
            size: bytes.len(),
            max: limits.max_envelope_bytes,
        });
    }
    let mut reader = Reader { bytes };
    let magic = reader.array::<3>("magic")?;
    if magic != MAGIC {
        return Err(WireError::BadMagic { found: magic });
    }
    let [version] = reader.array::<1>("version")?;
    if !SUPPORTED_VERSIONS.contains(&version) {
        return Err(WireError::UnsupportedVersion {
            found: version,
            supported: SUPPORTED_VERSIONS,
        });
    }
    let [code] = reader.array::<1>("kind")?;
    let kind = Kind::from_code(code).ok_or(WireError::UnknownKind { code })?;
    let [node_len] = reader.array::<1>("node id length")?;
    let node_bytes = reader.take("node id", usize::from(node_len))?;
    // Latin-1 maps each byte to one char, so any non-ASCII byte is reported as a bad character.
    let node_text: String = node_bytes.iter().map(|&b| char::from(b)).collect();
    let node = NodeId::new(node_text).map_err(WireError::InvalidNodeId)?;
    let seq = u64::from_be_bytes(reader.array::<8>("sequence")?);
    let declared = u32::from_be_bytes(reader.array::<4>("body length")?);
    let header_len = HEADER_FIXED_LEN.saturating_add(usize::from(node_len));
    let declared_size = usize::try_from(declared)
        .unwrap_or(usize::MAX)
        .saturating_add(header_len)
        .saturating_add(TAG_LEN);
    if declared_size > limits.max_envelope_bytes {
        return Err(WireError::Oversize {
            size: declared_size,
            max: limits.max_envelope_bytes,
        });
    }
    let rest = reader.bytes;
    let actual = rest.len().saturating_sub(TAG_LEN);
    if rest.len() < TAG_LEN || usize::try_from(declared).ok() != Some(actual) {
        return Err(WireError::BodyLength { declared, actual });
    }
    let (body, tag) = rest.split_at(actual);
    let key = key_of(&node).ok_or_else(|| WireError::UnknownKey {
        node: node.clone(),
        seq,
    })?;
    let signed = bytes
        .get(..bytes.len().saturating_sub(TAG_LEN))
        .unwrap_or_default();
    if !key.verify(signed, tag) {
        return Err(WireError::BadTag { node, kind, seq });
    }
    let message = decode_body(kind, body, limits)?;
    check(&message, &node, seq).map_err(|source| WireError::Inconsistent { kind, source })?;
    if encode_body(&message)? != body {
        return Err(WireError::NonCanonical { kind });
    }
    Ok(Envelope { node, seq, message })
}

/// Counts lists against the limits (the decoder does this while decoding).
fn check_counts(message: &Message, limits: &Limits) -> Result<(), WireError> {
    let (what, count, max) = match message {
        Message::EventBatch { events } => ("events", events.len(), limits.max_events_per_batch),
        Message::Downlink { items } => ("items", items.len(), limits.max_downlink_items),
        _ => return Ok(()),
    };
    if count > max {
        return Err(WireError::TooMany {
            kind: message.kind(),
            what,
            count,
            max,
        });
    }
    Ok(())
}

/// Reads header fields off the front of a slice, with bounds checks.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, field: &'static str, n: usize) -> Result<&'a [u8], WireError> {
        if self.bytes.len() < n {
            return Err(WireError::Truncated {
                field,
                needed: n,
                available: self.bytes.len(),
            });
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], WireError> {
        let head = self.take(field, N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(head);
        Ok(out)
    }
}
