//! Decodes arbitrary text as a stock page cursor (`GET /api/v1/stock?after=`). Decoding must
//! never panic; whatever decodes must re-encode to the same cursor (hex is lowercase, postcard is
//! canonical) and decode again to the same key.
//!
//! Run: `cargo +nightly fuzz run stock_cursor` from `fuzz/`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use stockpost_common::ledger::{decode_cursor, encode_cursor};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(key) = decode_cursor(text) else {
        return;
    };
    let again = encode_cursor(&key);
    assert_eq!(again, text.to_ascii_lowercase(), "re-encoding differs");
    assert_eq!(decode_cursor(&again), Ok(key), "second decode differs");
});
