//! Scanner framing on arbitrary bytes, terminators, timings and options: must never panic and
//! never return a frame longer than the configured maximum.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stockpost_common::scanner_framing::{ScannerFramer, ScannerFramingConfig, Terminator};

fuzz_target!(|data: &[u8]| {
    let [a, b, c, rest @ ..] = data else {
        return;
    };
    let terminator = match a % 7 {
        0 => Terminator::AnyLineEnd,
        1 => Terminator::Cr,
        2 => Terminator::Lf,
        3 => Terminator::CrLf,
        4 => Terminator::Tab,
        5 => Terminator::Bytes(vec![*b, *c]),
        _ => Terminator::None,
    };
    let max = usize::from(*b % 64);
    let mut framer = ScannerFramer::new(ScannerFramingConfig {
        terminator,
        idle_timeout_ms: (a & 0x08 != 0).then_some(u64::from(*c % 100)),
        mask_7bit: a & 0x10 != 0,
        strip_bom_nul: a & 0x20 != 0,
        prefix: if a & 0x40 != 0 { vec![*b] } else { Vec::new() },
        suffix: if a & 0x80 != 0 { vec![*c] } else { Vec::new() },
        max_frame_len: max,
        duplicate_window_ms: Some(u64::from(*c) * 4),
    });
    let mut now: u64 = 0;
    for chunk in rest.chunks(usize::from(*c % 9) + 1) {
        now = now.wrapping_add(u64::from(chunk[0]));
        framer.push(chunk, now);
        while let Some(frame) = framer.next_frame(now) {
            assert!(frame.len() <= max);
        }
    }
});
