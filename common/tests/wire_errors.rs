//! One test per way an envelope can be rejected, plus the documented header layout.

mod support;

use stockpost_common::domain::{IdError, NodeId};
use stockpost_common::wire::{
    decode, decode_with_keys, encode, encode_with_limits, Envelope, Inconsistency, Kind, Limits,
    Message, SyncKey, WireError, SUPPORTED_VERSIONS, TAG_LEN,
};
use support::{event, frame, key, node, retag, sample_bodies, sample_downlink_items, R};

const BATCH: u8 = 1;
const ACK: u8 = 2;
const NODE_STATUS: u8 = 4;
const DOWNLINK: u8 = 5;

fn limits() -> Limits {
    Limits::default()
}

/// A valid one-event batch at `seq` on the sample node.
fn batch(seq: u64) -> R<Envelope> {
    let (_, body) = sample_bodies()?
        .into_iter()
        .nth(2)
        .ok_or("no pick sample")?;
    Ok(Envelope {
        node: node()?,
        seq,
        message: Message::EventBatch {
            events: vec![event(seq, body)?],
        },
    })
}

/// The postcard body of a batch of events at these sequences, by hand (no consistency checks).
fn batch_body(seqs: &[u64]) -> R<Vec<u8>> {
    let (_, body) = sample_bodies()?
        .into_iter()
        .nth(2)
        .ok_or("no pick sample")?;
    let mut events = Vec::new();
    for &s in seqs {
        events.push(event(s, body.clone())?);
    }
    Ok(postcard::to_allocvec(&events)?)
}

fn rejected(bytes: &[u8]) -> WireError {
    match decode(bytes, &limits(), &key()) {
        Ok(env) => panic!("expected a rejection, decoded {env:?}"),
        Err(e) => e,
    }
}

fn inconsistency(err: WireError) -> Inconsistency {
    match err {
        WireError::Inconsistent { source, .. } => source,
        other => panic!("expected an inconsistency, got {other:?}"),
    }
}

#[test]
fn the_header_layout_is_exactly_as_documented() -> R<()> {
    let bytes = encode(
        &Message::Ack { applied_seq: 5 },
        &NodeId::new("N1")?,
        5,
        &key(),
    )?;
    let signed = [
        b'S', b'P', b'W', // magic
        2,    // version
        2,    // kind: ack
        2, b'N', b'1', // node id, length-prefixed
        0, 0, 0, 0, 0, 0, 0, 5, // seq, u64 big-endian
        0, 0, 0, 1, // body length, u32 big-endian
        5, // body: postcard varint 5
    ];
    assert_eq!(bytes.len(), signed.len() + TAG_LEN);
    assert_eq!(&bytes[..signed.len()], &signed);
    assert_eq!(&bytes[signed.len()..], &key().tag(&signed));
    Ok(())
}

#[test]
fn a_valid_envelope_decodes_to_what_was_encoded() -> R<()> {
    let env = batch(42)?;
    assert_eq!(decode(&env.encode(&key())?, &limits(), &key())?, env);
    Ok(())
}

#[test]
fn an_empty_input_is_rejected_as_truncated() {
    assert_eq!(
        rejected(&[]),
        WireError::Truncated {
            field: "magic",
            needed: 3,
            available: 0
        }
    );
}

#[test]
fn an_envelope_cut_inside_the_header_says_which_field_it_ends_in() -> R<()> {
    let bytes = batch(42)?.encode(&key())?;
    // magic 3 + version 1 + kind 1 + node len 1 + "DC-EAST" 7 + 3 of the 8 seq bytes.
    let err = rejected(&bytes[..16]);
    assert_eq!(
        err,
        WireError::Truncated {
            field: "sequence",
            needed: 8,
            available: 3
        }
    );
    assert_eq!(
        err.to_string(),
        "envelope is truncated: it ends inside the sequence (8 bytes needed, 3 left)"
    );
    Ok(())
}

#[test]
fn bytes_without_the_magic_are_rejected_as_not_an_envelope() -> R<()> {
    let mut bytes = batch(42)?.encode(&key())?;
    bytes[0] = b'{';
    assert_eq!(
        rejected(&bytes),
        WireError::BadMagic {
            found: [b'{', b'P', b'W']
        }
    );
    Ok(())
}

#[test]
fn an_unknown_version_is_rejected_with_the_versions_we_support() -> R<()> {
    let bytes = frame(3, ACK, b"DC-EAST", 5, &[5]);
    let err = rejected(&bytes);
    assert_eq!(
        err,
        WireError::UnsupportedVersion {
            found: 3,
            supported: SUPPORTED_VERSIONS
        }
    );
    assert_eq!(
        err.to_string(),
        "wire format version 3 is not supported; this build reads version(s) [2]"
    );
    assert_eq!(err.label(), "unsupported_version");
    Ok(())
}

#[test]
fn an_unknown_kind_code_is_rejected_and_code_zero_is_reserved() {
    assert_eq!(
        rejected(&frame(2, 0, b"DC-EAST", 5, &[5])),
        WireError::UnknownKind { code: 0 }
    );
    assert_eq!(
        rejected(&frame(2, 7, b"DC-EAST", 5, &[5])),
        WireError::UnknownKind { code: 7 }
    );
}

#[test]
fn an_invalid_node_id_in_the_header_is_rejected_with_the_reason() {
    assert!(matches!(
        rejected(&frame(2, ACK, b"dc-east", 5, &[5])),
        WireError::InvalidNodeId(IdError::BadChar { found: 'd', .. })
    ));
    assert!(matches!(
        rejected(&frame(2, ACK, b"", 5, &[5])),
        WireError::InvalidNodeId(IdError::Empty { .. })
    ));
    assert!(matches!(
        rejected(&frame(2, ACK, b"DC\xFFEAST", 5, &[5])),
        WireError::InvalidNodeId(IdError::BadChar {
            found: '\u{FF}',
            ..
        })
    ));
    assert!(matches!(
        rejected(&frame(2, ACK, &[b'A'; 33], 5, &[5])),
        WireError::InvalidNodeId(IdError::TooLong { len: 33, .. })
    ));
}

#[test]
fn an_envelope_with_a_truncated_body_is_rejected_as_a_body_length_mismatch() -> R<()> {
    let bytes = batch(42)?.encode(&key())?;
    let cut = &bytes[..bytes.len() - 1];
    assert!(matches!(
        rejected(cut),
        WireError::BodyLength { declared, actual } if usize::try_from(declared)? == actual + 1
    ));
    Ok(())
}

#[test]
fn an_envelope_with_leftover_bytes_is_rejected() -> R<()> {
    let mut bytes = batch(42)?.encode(&key())?;
    bytes.push(0);
    assert!(matches!(
        rejected(&bytes),
        WireError::BodyLength { declared, actual } if usize::try_from(declared)? + 1 == actual
    ));
    Ok(())
}

#[test]
fn a_body_with_leftover_bytes_after_its_value_is_rejected() {
    // An ack body is one varint; the header declares two bytes.
    assert_eq!(
        rejected(&frame(2, ACK, b"DC-EAST", 5, &[5, 0])),
        WireError::LeftoverBytes {
            kind: Kind::Ack,
            count: 1
        }
    );
}

#[test]
fn a_body_that_is_not_valid_postcard_is_rejected_as_a_body_error() {
    // `online` must be 0 or 1.
    assert_eq!(
        rejected(&frame(2, NODE_STATUS, b"DC-EAST", 5, &[2, 0, 5])),
        WireError::Body {
            kind: Kind::NodeStatus,
            source: postcard::Error::DeserializeBadBool
        }
    );
    assert_eq!(
        rejected(&frame(2, ACK, b"DC-EAST", 5, &[])),
        WireError::Body {
            kind: Kind::Ack,
            source: postcard::Error::DeserializeUnexpectedEnd
        }
    );
}

#[test]
fn an_invalid_id_inside_an_event_is_rejected_as_a_body_error() -> R<()> {
    let mut bytes = batch(42)?.encode(&key())?;
    let at = bytes
        .windows(8)
        .position(|w| w == b"MUG-BLUE")
        .ok_or("sku not found")?;
    bytes[at] = b'm';
    retag(&mut bytes);
    assert!(matches!(
        rejected(&bytes),
        WireError::Body {
            kind: Kind::EventBatch,
            ..
        }
    ));
    Ok(())
}

#[test]
fn an_envelope_larger_than_the_limit_is_rejected_before_decoding() -> R<()> {
    let bytes = batch(42)?.encode(&key())?;
    let small = Limits {
        max_envelope_bytes: bytes.len() - 1,
        ..Limits::default()
    };
    assert_eq!(
        decode(&bytes, &small, &key()),
        Err(WireError::Oversize {
            size: bytes.len(),
            max: bytes.len() - 1
        })
    );
    let exact = Limits {
        max_envelope_bytes: bytes.len(),
        ..Limits::default()
    };
    assert!(decode(&bytes, &exact, &key()).is_ok());
    Ok(())
}

#[test]
fn a_header_declaring_a_body_beyond_the_limit_is_rejected_as_oversize() {
    let mut bytes = frame(2, ACK, b"DC-EAST", 5, &[5]);
    let len_at = 6 + 7 + 8;
    bytes[len_at..len_at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(
        rejected(&bytes),
        WireError::Oversize {
            size: usize::try_from(u32::MAX).unwrap_or(usize::MAX) + 6 + 7 + 8 + 4 + TAG_LEN,
            max: Limits::default().max_envelope_bytes
        }
    );
}

#[test]
fn a_batch_with_more_events_than_the_limit_is_rejected_before_its_events_are_decoded() {
    let two = Limits {
        max_events_per_batch: 2,
        ..Limits::default()
    };
    // Declares 3 events, followed by 3 bytes that are not events at all.
    let bytes = frame(2, BATCH, b"DC-EAST", 1, &[3, 0xFF, 0xFF, 0xFF]);
    let err = decode(&bytes, &two, &key());
    assert_eq!(
        err,
        Err(WireError::TooMany {
            kind: Kind::EventBatch,
            what: "events",
            count: 3,
            max: 2
        })
    );
}

#[test]
fn a_downlink_with_more_items_than_the_limit_is_rejected() -> R<()> {
    let items = sample_downlink_items()?;
    let count = items.len();
    let env = Envelope {
        node: node()?,
        seq: 1,
        message: Message::Downlink { items },
    };
    let one = Limits {
        max_downlink_items: 1,
        ..Limits::default()
    };
    assert_eq!(
        decode(&env.encode(&key())?, &one, &key()),
        Err(WireError::TooMany {
            kind: Kind::Downlink,
            what: "items",
            count,
            max: 1
        })
    );
    Ok(())
}

#[test]
fn encoding_refuses_more_events_than_the_limit() -> R<()> {
    let env = batch(42)?;
    let none = Limits {
        max_events_per_batch: 0,
        ..Limits::default()
    };
    assert!(matches!(
        encode_with_limits(&env.message, &env.node, env.seq, &key(), &none),
        Err(WireError::TooMany {
            count: 1,
            max: 0,
            ..
        })
    ));
    Ok(())
}

#[test]
fn encoding_refuses_an_envelope_larger_than_the_limit() -> R<()> {
    let env = batch(42)?;
    let tiny = Limits {
        max_envelope_bytes: 20,
        ..Limits::default()
    };
    assert!(matches!(
        encode_with_limits(&env.message, &env.node, env.seq, &key(), &tiny),
        Err(WireError::Oversize { max: 20, .. })
    ));
    Ok(())
}

#[test]
fn a_batch_with_an_event_from_another_node_is_rejected() -> R<()> {
    let body = batch_body(&[42])?;
    let err = inconsistency(rejected(&frame(2, BATCH, b"DC-WEST", 42, &body)));
    assert_eq!(
        err,
        Inconsistency::OtherNode {
            index: 0,
            found: NodeId::new("DC-EAST")?,
            header: NodeId::new("DC-WEST")?
        }
    );
    Ok(())
}

#[test]
fn a_batch_whose_first_event_is_not_the_header_sequence_is_rejected() -> R<()> {
    let body = batch_body(&[42, 43])?;
    let err = inconsistency(rejected(&frame(2, BATCH, b"DC-EAST", 41, &body)));
    assert_eq!(
        err,
        Inconsistency::FirstSeq {
            header: 41,
            found: 42
        }
    );
    Ok(())
}

#[test]
fn a_batch_with_a_gap_in_its_sequences_is_rejected() -> R<()> {
    let body = batch_body(&[42, 43, 45])?;
    let err = inconsistency(rejected(&frame(2, BATCH, b"DC-EAST", 42, &body)));
    assert_eq!(
        err,
        Inconsistency::NonContiguous {
            index: 2,
            expected: 44,
            found: 45
        }
    );
    Ok(())
}

#[test]
fn a_batch_with_a_repeated_sequence_is_rejected() -> R<()> {
    let body = batch_body(&[42, 42])?;
    let err = inconsistency(rejected(&frame(2, BATCH, b"DC-EAST", 42, &body)));
    assert_eq!(
        err,
        Inconsistency::NonContiguous {
            index: 1,
            expected: 43,
            found: 42
        }
    );
    Ok(())
}

#[test]
fn an_empty_batch_or_downlink_is_rejected() {
    assert_eq!(
        inconsistency(rejected(&frame(2, BATCH, b"DC-EAST", 1, &[0]))),
        Inconsistency::Empty
    );
    assert_eq!(
        inconsistency(rejected(&frame(2, DOWNLINK, b"DC-EAST", 1, &[0]))),
        Inconsistency::Empty
    );
}

#[test]
fn a_batch_starting_at_sequence_zero_is_rejected() -> R<()> {
    let body = batch_body(&[0])?;
    assert_eq!(
        inconsistency(rejected(&frame(2, BATCH, b"DC-EAST", 0, &body))),
        Inconsistency::ZeroSeq
    );
    Ok(())
}

#[test]
fn a_batch_whose_sequences_would_pass_u64_max_is_rejected() -> R<()> {
    let body = batch_body(&[u64::MAX, 0])?;
    assert_eq!(
        inconsistency(rejected(&frame(2, BATCH, b"DC-EAST", u64::MAX, &body))),
        Inconsistency::SeqOverflow {
            first: u64::MAX,
            count: 2
        }
    );
    // A batch ending exactly at u64::MAX is fine.
    let body = batch_body(&[u64::MAX - 1, u64::MAX])?;
    assert!(decode(
        &frame(2, BATCH, b"DC-EAST", u64::MAX - 1, &body),
        &limits(),
        &key()
    )
    .is_ok());
    Ok(())
}

#[test]
fn an_ack_whose_header_sequence_differs_from_its_body_is_rejected() {
    assert_eq!(
        inconsistency(rejected(&frame(2, ACK, b"DC-EAST", 6, &[5]))),
        Inconsistency::SeqMismatch {
            field: "applied_seq",
            header: 6,
            found: 5
        }
    );
}

#[test]
fn a_resend_request_from_sequence_zero_is_rejected() {
    assert_eq!(
        inconsistency(rejected(&frame(2, 3, b"DC-EAST", 0, &[0]))),
        Inconsistency::ZeroSeq
    );
}

#[test]
fn encoding_refuses_a_body_that_disagrees_with_the_header() -> R<()> {
    let env = batch(42)?;
    assert!(matches!(
        encode(&env.message, &env.node, 41, &key()),
        Err(WireError::Inconsistent {
            source: Inconsistency::FirstSeq { .. },
            ..
        })
    ));
    assert!(matches!(
        encode(&env.message, &NodeId::new("DC-WEST")?, 42, &key()),
        Err(WireError::Inconsistent {
            source: Inconsistency::OtherNode { .. },
            ..
        })
    ));
    Ok(())
}

#[test]
fn a_non_canonical_body_is_rejected() {
    // 0x80 0x00 is an over-long varint for 0; the canonical form is 0x00.
    assert_eq!(
        rejected(&frame(2, ACK, b"DC-EAST", 0, &[0x80, 0x00])),
        WireError::NonCanonical { kind: Kind::Ack }
    );
    assert!(decode(&frame(2, ACK, b"DC-EAST", 0, &[0x00]), &limits(), &key()).is_ok());
}

#[test]
fn every_error_has_a_distinct_metrics_label() -> R<()> {
    let errors = [
        WireError::Oversize { size: 2, max: 1 },
        rejected(&[]),
        rejected(b"XYZ"),
        rejected(&frame(3, ACK, b"N", 1, &[1])),
        rejected(&frame(2, 9, b"N", 1, &[1])),
        rejected(&frame(2, ACK, b"n", 1, &[1])),
        rejected(&frame(2, ACK, b"N", 1, &[1, 1])[..20]),
        rejected(&frame(2, ACK, b"N", 1, &[1, 1])),
        rejected(&frame(2, ACK, b"N", 1, &[])),
        rejected(&frame(2, ACK, b"N", 1, &[0x81, 0x00])),
        rejected(&frame(2, ACK, b"N", 2, &[1])),
        decode_with_keys(&frame(2, ACK, b"N", 1, &[1]), &limits(), |_| None)
            .err()
            .ok_or("accepted")?,
        rejected(&{
            let mut b = frame(2, ACK, b"N", 1, &[1]);
            b[20] ^= 1;
            b
        }),
        decode(
            &frame(2, BATCH, b"N", 1, &[3, 0, 0, 0]),
            &Limits {
                max_events_per_batch: 2,
                ..Limits::default()
            },
            &key(),
        )
        .err()
        .ok_or("accepted")?,
    ];
    let labels: std::collections::BTreeSet<&str> = errors.iter().map(|e| e.label()).collect();
    assert_eq!(labels.len(), errors.len(), "{labels:?}");
    Ok(())
}

#[test]
fn a_version_1_envelope_without_a_tag_is_refused_with_the_version_we_read() {
    let err = rejected(&frame(1, ACK, b"DC-EAST", 5, &[5]));
    assert_eq!(
        err,
        WireError::UnsupportedVersion {
            found: 1,
            supported: SUPPORTED_VERSIONS
        }
    );
    assert_eq!(
        err.to_string(),
        "wire format version 1 is not supported; this build reads version(s) [2]"
    );
}

#[test]
fn an_envelope_tagged_with_another_nodes_credential_is_refused_before_its_body_is_read() -> R<()> {
    let other = SyncKey::from_bytes([0x42; 32]);
    let bytes = batch(42)?.encode(&other)?;
    let err = rejected(&bytes);
    assert_eq!(
        err,
        WireError::BadTag {
            node: node()?,
            kind: Kind::EventBatch,
            seq: 42
        }
    );
    assert_eq!(err.label(), "bad_tag");
    assert!(err.to_string().contains("DC-EAST"), "{err}");
    // A body that would not even decode is still reported as an authentication failure:
    // unauthenticated bytes never reach the body decoder.
    let mut garbage = frame(2, ACK, b"DC-EAST", 5, &[0x80, 0x80, 0x80]);
    let n = garbage.len();
    garbage[n - 1] ^= 0xFF;
    assert!(matches!(rejected(&garbage), WireError::BadTag { .. }));
    Ok(())
}

#[test]
fn any_changed_byte_of_a_tagged_envelope_is_refused() -> R<()> {
    let bytes = batch(42)?.encode(&key())?;
    for i in 0..bytes.len() {
        let mut changed = bytes.clone();
        changed[i] ^= 0x01;
        assert!(
            decode(&changed, &limits(), &key()).is_err(),
            "byte {i} changed and the envelope was accepted"
        );
    }
    Ok(())
}

#[test]
fn an_envelope_from_a_node_without_a_credential_is_refused_naming_the_node() -> R<()> {
    let bytes = batch(42)?.encode(&key())?;
    let err = decode_with_keys(&bytes, &limits(), |_| None).err();
    assert_eq!(
        err,
        Some(WireError::UnknownKey {
            node: node()?,
            seq: 42
        })
    );
    let looked_up = std::cell::Cell::new(None);
    let ok = decode_with_keys(&bytes, &limits(), |n| {
        looked_up.set(Some(n.clone()));
        Some(key())
    })?;
    assert_eq!(ok, batch(42)?);
    assert_eq!(looked_up.take(), Some(node()?));
    Ok(())
}
