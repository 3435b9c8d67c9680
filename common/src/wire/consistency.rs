//! Checks that a message body agrees with its envelope header. Run on encode and on decode,
//! so whatever encodes also decodes.

use super::message::Message;
use crate::domain::NodeId;

/// How a body disagrees with its header (or with itself).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Inconsistency {
    /// An event batch or downlink with nothing in it.
    #[error("the message carries no events or items")]
    Empty,
    /// A sequence number of 0 where sequences start at 1 (first event, first downlink item,
    /// resend request).
    #[error("sequence 0 in the header; sequences start at 1")]
    ZeroSeq,
    /// An event recorded by a node other than the header's.
    #[error("event {index} belongs to node {found}, not to the header's node {header}")]
    OtherNode {
        /// Position in the batch, from 0.
        index: usize,
        /// The event's node.
        found: NodeId,
        /// The header's node.
        header: NodeId,
    },
    /// The first event's sequence is not the header's.
    #[error("the first event has sequence {found} but the header says {header}")]
    FirstSeq {
        /// The header's sequence.
        header: u64,
        /// The first event's sequence.
        found: u64,
    },
    /// Event sequences inside a batch are not contiguous.
    #[error("event {index} has sequence {found}; {expected} was expected (sequences must be contiguous)")]
    NonContiguous {
        /// Position in the batch, from 0.
        index: usize,
        /// The sequence it should have had.
        expected: u64,
        /// The sequence it had.
        found: u64,
    },
    /// The sequences of the batch or downlink would go past `u64::MAX`.
    #[error("sequence {first} plus {count} entries overflows")]
    SeqOverflow {
        /// The first sequence.
        first: u64,
        /// The number of entries.
        count: usize,
    },
    /// A body field that must equal the header's sequence does not.
    #[error("{field} is {found} but the header's sequence is {header}")]
    SeqMismatch {
        /// The body field.
        field: &'static str,
        /// The header's sequence.
        header: u64,
        /// The body field's value.
        found: u64,
    },
}

/// Checks `message` against the header's `node` and `seq`.
pub(crate) fn check(message: &Message, node: &NodeId, seq: u64) -> Result<(), Inconsistency> {
    let equal = |field: &'static str, found: u64| {
        if found == seq {
            Ok(())
        } else {
            Err(Inconsistency::SeqMismatch {
                field,
                header: seq,
                found,
            })
        }
    };
    let numbered = |count: usize| {
        if count == 0 {
            return Err(Inconsistency::Empty);
        }
        if seq == 0 {
            return Err(Inconsistency::ZeroSeq);
        }
        let overflow = Inconsistency::SeqOverflow { first: seq, count };
        let last_offset = u64::try_from(count - 1).map_err(|_| overflow.clone())?;
        seq.checked_add(last_offset).map(|_| ()).ok_or(overflow)
    };
    match message {
        Message::EventBatch { events } => {
            numbered(events.len())?;
            let mut expected = seq;
            for (index, event) in events.iter().enumerate() {
                if &event.id.node != node {
                    return Err(Inconsistency::OtherNode {
                        index,
                        found: event.id.node.clone(),
                        header: node.clone(),
                    });
                }
                if event.id.seq != expected {
                    return Err(if index == 0 {
                        Inconsistency::FirstSeq {
                            header: seq,
                            found: event.id.seq,
                        }
                    } else {
                        Inconsistency::NonContiguous {
                            index,
                            expected,
                            found: event.id.seq,
                        }
                    });
                }
                // Cannot overflow: `numbered` checked seq + len - 1 fits.
                expected = expected.saturating_add(1);
            }
            Ok(())
        }
        Message::Downlink { items } => numbered(items.len()),
        Message::Ack { applied_seq } => equal("applied_seq", *applied_seq),
        Message::DownlinkAck { applied_seq } => equal("applied_seq", *applied_seq),
        Message::ResendRequest { from_seq } => {
            if *from_seq == 0 {
                return Err(Inconsistency::ZeroSeq);
            }
            equal("from_seq", *from_seq)
        }
        Message::NodeStatus { last_seq, .. } => equal("last_seq", *last_seq),
    }
}
