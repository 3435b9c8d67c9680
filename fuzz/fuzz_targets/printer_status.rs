//! The Zebra `~HS` and `~HQES` reply parsers on arbitrary bytes: must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stockpost_common::label::host_status::{parse_host_status, parse_hqes, reply_is_complete};

fuzz_target!(|data: &[u8]| {
    let _ = reply_is_complete(data);
    if let Ok(status) = parse_host_status(data) {
        let _ = status.problems();
    }
    let _ = parse_hqes(data);
});
