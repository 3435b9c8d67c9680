//! Decodes arbitrary bytes as a wire envelope. Decoding must never panic; whatever decodes must
//! re-encode to exactly the same bytes (the wire is canonical) and decode again to the same value.
//!
//! Random bytes almost never carry a valid authentication tag, so the input is decoded twice:
//! as it is (the header and tag checks), and with its last 32 bytes replaced by the right tag
//! under the fuzz key (so the body decoder behind the tag check is fuzzed too).
//!
//! Run: `cargo +nightly fuzz run wire_decode` from `fuzz/`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use stockpost_common::wire::{decode, encode_with_limits, Limits, SyncKey, TAG_LEN};

fn check(bytes: &[u8], key: &SyncKey) {
    let limits = Limits::default();
    let Ok(envelope) = decode(bytes, &limits, key) else {
        return;
    };
    let again = match encode_with_limits(
        &envelope.message,
        &envelope.node,
        envelope.seq,
        key,
        &limits,
    ) {
        Ok(bytes) => bytes,
        Err(e) => panic!("decoded {envelope:?} but it does not re-encode: {e}"),
    };
    assert_eq!(again, bytes, "re-encoding differs from the decoded bytes");
    match decode(&again, &limits, key) {
        Ok(back) => assert_eq!(back, envelope, "second decode differs"),
        Err(e) => panic!("re-encoded bytes do not decode: {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let key = SyncKey::from_bytes([0x5A; 32]);
    check(data, &key);
    if data.len() >= TAG_LEN {
        let mut tagged = data.to_vec();
        let signed = data.len() - TAG_LEN;
        let tag = key.tag(&tagged[..signed]);
        tagged[signed..].copy_from_slice(&tag);
        check(&tagged, &key);
    }
});
