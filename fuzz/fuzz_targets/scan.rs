//! Feeds arbitrary bytes to the scan parser and the station payload classifier: neither may
//! panic on any input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use stockpost_common::gs1::parse_scan;
use stockpost_common::scan_payload::classify_payload;

fuzz_target!(|data: &[u8]| {
    let _ = parse_scan(data);
    let _ = classify_payload(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = stockpost_common::gs1::parse_bracketed(text);
        let _ = stockpost_common::gs1::parse_digital_link(text);
    }
});
