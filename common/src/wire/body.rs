//! The postcard body of each message kind.
//!
//! A body is the kind's fields in order, postcard-encoded, with no enum tag (the kind is in the
//! header): `EventBatch` is `Vec<Event>`, `Ack` is `u64`, `NodeStatus` is `(bool, u64, u64)`, …
//! Lists are decoded with a bound checked before any element is read.

use super::error::WireError;
use super::limits::Limits;
use super::message::{Kind, Message};
use serde::de::{self, DeserializeSeed, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

/// Encodes the body of `message`.
pub(crate) fn encode_body(message: &Message) -> Result<Vec<u8>, WireError> {
    let kind = message.kind();
    let bytes = match message {
        Message::EventBatch { events } => postcard::to_allocvec(events),
        Message::Ack { applied_seq } => postcard::to_allocvec(applied_seq),
        Message::ResendRequest { from_seq } => postcard::to_allocvec(from_seq),
        Message::NodeStatus {
            online,
            outbox_pending,
            last_seq,
        } => postcard::to_allocvec(&(online, outbox_pending, last_seq)),
        Message::Downlink { items } => postcard::to_allocvec(items),
        Message::DownlinkAck { applied_seq } => postcard::to_allocvec(applied_seq),
    };
    bytes.map_err(|source| WireError::Encode { kind, source })
}

/// Decodes a body of `kind` that must use exactly all of `body`.
pub(crate) fn decode_body(kind: Kind, body: &[u8], limits: &Limits) -> Result<Message, WireError> {
    let too_many: Cell<Option<usize>> = Cell::new(None);
    let mut de = postcard::Deserializer::from_bytes(body);
    let decoded =
        match kind {
            Kind::EventBatch => BoundedVec::new(limits.max_events_per_batch, &too_many)
                .deserialize(&mut de)
                .map(|events| Message::EventBatch { events }),
            Kind::Ack => u64::deserialize(&mut de).map(|applied_seq| Message::Ack { applied_seq }),
            Kind::ResendRequest => {
                u64::deserialize(&mut de).map(|from_seq| Message::ResendRequest { from_seq })
            }
            Kind::NodeStatus => <(bool, u64, u64)>::deserialize(&mut de).map(
                |(online, outbox_pending, last_seq)| Message::NodeStatus {
                    online,
                    outbox_pending,
                    last_seq,
                },
            ),
            Kind::Downlink => BoundedVec::new(limits.max_downlink_items, &too_many)
                .deserialize(&mut de)
                .map(|items| Message::Downlink { items }),
            Kind::DownlinkAck => {
                u64::deserialize(&mut de).map(|applied_seq| Message::DownlinkAck { applied_seq })
            }
        };
    let message = decoded.map_err(|source| match too_many.get() {
        Some(count) => {
            let (what, max) = match kind {
                Kind::Downlink => ("items", limits.max_downlink_items),
                _ => ("events", limits.max_events_per_batch),
            };
            WireError::TooMany {
                kind,
                what,
                count,
                max,
            }
        }
        None => WireError::Body { kind, source },
    })?;
    let rest = de
        .finalize()
        .map_err(|source| WireError::Body { kind, source })?;
    if !rest.is_empty() {
        return Err(WireError::LeftoverBytes {
            kind,
            count: rest.len(),
        });
    }
    Ok(message)
}

/// Deserialises a `Vec<T>` of at most `max` elements. The declared length is checked before
/// any element is read or any memory reserved; a violation is recorded in `too_many` (postcard
/// errors cannot carry it) so the caller can report it precisely.
struct BoundedVec<'c, T> {
    max: usize,
    too_many: &'c Cell<Option<usize>>,
    element: PhantomData<fn() -> T>,
}

impl<'c, T> BoundedVec<'c, T> {
    fn new(max: usize, too_many: &'c Cell<Option<usize>>) -> Self {
        Self {
            max,
            too_many,
            element: PhantomData,
        }
    }
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for BoundedVec<'_, T> {
    type Value = Vec<T>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<T>, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for BoundedVec<'_, T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a sequence of at most {} elements", self.max)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        // postcard reports the declared length, unless it exceeds the bytes left (then the
        // sequence cannot decode anyway, and the loop below still enforces the bound).
        let declared = seq.size_hint();
        if let Some(count) = declared.filter(|&n| n > self.max) {
            self.too_many.set(Some(count));
            return Err(de::Error::custom("too many elements"));
        }
        let mut out = Vec::with_capacity(declared.unwrap_or(0).min(self.max));
        while let Some(element) = seq.next_element()? {
            if out.len() >= self.max {
                self.too_many.set(Some(out.len().saturating_add(1)));
                return Err(de::Error::custom("too many elements"));
            }
            out.push(element);
        }
        Ok(out)
    }
}
