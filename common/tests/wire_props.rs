//! Property tests of the wire format: exact round trips, and no panic or acceptance of damaged
//! bytes. `PROPTEST_CASES=5000 cargo test -p stockpost-common --test wire_props` for a longer run.

mod support;

use proptest::prelude::*;
use stockpost_common::wire::{decode, Envelope, Kind, Limits};
use support::{arb_envelope, frame, key};

fn encoded(env: &Envelope) -> Result<Vec<u8>, TestCaseError> {
    env.encode(&key())
        .map_err(|e| TestCaseError::fail(format!("{env:?} does not encode: {e}")))
}

/// `Dec` compares by value (1.5 == 1.50); `Debug` shows the scale, so compare that too.
fn same_exactly(a: &Envelope, b: &Envelope) -> bool {
    a == b && format!("{a:?}") == format!("{b:?}")
}

proptest! {
    #[test]
    fn every_message_round_trips_exactly_including_decimal_scales(env in arb_envelope()) {
        let bytes = encoded(&env)?;
        let back = decode(&bytes, &Limits::default(), &key())
            .map_err(|e| TestCaseError::fail(format!("does not decode: {e}")))?;
        prop_assert!(same_exactly(&back, &env), "{back:?}\n!=\n{env:?}");
        prop_assert_eq!(encoded(&back)?, bytes);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode(&bytes, &Limits::default(), &key());
    }

    #[test]
    fn decoding_an_arbitrary_body_behind_a_valid_header_never_panics_and_accepts_only_canonical_bytes(
        code in 0u8..8,
        seq in any::<u64>(),
        body in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let bytes = frame(2, code, b"DC-EAST", seq, &body);
        if let Ok(env) = decode(&bytes, &Limits::default(), &key()) {
            prop_assert_eq!(Some(env.kind()), Kind::from_code(code));
            prop_assert_eq!(encoded(&env)?, bytes);
        }
    }

    #[test]
    fn every_truncation_of_an_envelope_is_rejected(env in arb_envelope()) {
        let bytes = encoded(&env)?;
        for cut in 0..bytes.len() {
            prop_assert!(
                decode(&bytes[..cut], &Limits::default(), &key()).is_err(),
                "accepted the first {cut} of {} bytes", bytes.len()
            );
        }
    }

    #[test]
    fn an_envelope_with_any_byte_appended_is_rejected(env in arb_envelope(), extra in any::<u8>()) {
        let mut bytes = encoded(&env)?;
        bytes.push(extra);
        prop_assert!(decode(&bytes, &Limits::default(), &key()).is_err());
    }

    #[test]
    fn a_bit_flip_never_panics_and_anything_accepted_is_canonical(
        env in arb_envelope(),
        position in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let mut bytes = encoded(&env)?;
        let at = position.index(bytes.len());
        if let Some(byte) = bytes.get_mut(at) {
            *byte ^= 1 << bit;
        }
        if let Ok(flipped) = decode(&bytes, &Limits::default(), &key()) {
            prop_assert!(!same_exactly(&flipped, &env), "a flipped bit decoded to the original");
            prop_assert_eq!(encoded(&flipped)?, bytes);
        }
    }
}
