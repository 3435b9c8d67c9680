//! Decodes arbitrary bytes as a wire envelope. Decoding must never panic; whatever decodes must
//! re-encode to exactly the same bytes (the wire is canonical) and decode again to the same value.
//!
//! Run: `cargo +nightly fuzz run wire_decode` from `fuzz/`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use stockpost_common::wire::{decode, encode_with_limits, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let Ok(envelope) = decode(data, &limits) else {
        return;
    };
    let again = match encode_with_limits(&envelope.message, &envelope.node, envelope.seq, &limits)
    {
        Ok(bytes) => bytes,
        Err(e) => panic!("decoded {envelope:?} but it does not re-encode: {e}"),
    };
    assert_eq!(again, data, "re-encoding differs from the decoded bytes");
    match decode(&again, &limits) {
        Ok(back) => assert_eq!(back, envelope, "second decode differs"),
        Err(e) => panic!("re-encoded bytes do not decode: {e}"),
    }
});
