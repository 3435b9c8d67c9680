//! Property tests for scanner framing: no panics, and resync after garbage.

use proptest::prelude::*;
use stockpost_common::scanner_framing::{ScannerFramer, ScannerFramingConfig, Terminator};

fn terminator() -> impl Strategy<Value = Terminator> {
    prop_oneof![
        Just(Terminator::AnyLineEnd),
        Just(Terminator::Cr),
        Just(Terminator::Lf),
        Just(Terminator::CrLf),
        Just(Terminator::Tab),
        prop::collection::vec(any::<u8>(), 0..3).prop_map(Terminator::Bytes),
        Just(Terminator::None),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_scanner_framer_never_panics(
        term in terminator(),
        idle in prop::option::of(0u64..100),
        mask in any::<bool>(),
        max in 0usize..32,
        window in prop::option::of(0u64..500),
        prefix in prop::collection::vec(any::<u8>(), 0..3),
        suffix in prop::collection::vec(any::<u8>(), 0..3),
        pushes in prop::collection::vec((prop::collection::vec(any::<u8>(), 0..40), any::<u64>()), 0..8),
    ) {
        let mut f = ScannerFramer::new(ScannerFramingConfig {
            terminator: term,
            idle_timeout_ms: idle,
            mask_7bit: mask,
            strip_bom_nul: true,
            prefix,
            suffix,
            max_frame_len: max,
            duplicate_window_ms: window,
        });
        for (bytes, now) in &pushes {
            f.push(bytes, *now);
            while let Some(frame) = f.next_frame(*now) {
                prop_assert!(frame.len() <= max);
            }
        }
    }

    #[test]
    fn the_scanner_framer_resyncs_after_garbage(
        garbage in prop::collection::vec(any::<u8>(), 0..200),
        chunk in 1usize..32,
    ) {
        let mut f = ScannerFramer::new(ScannerFramingConfig {
            max_frame_len: 64,
            ..Default::default()
        });
        let mut stream = garbage;
        stream.extend_from_slice(b"\r]C100376104250021234569\r");
        let mut last = None;
        for piece in stream.chunks(chunk) {
            f.push(piece, 0);
            while let Some(frame) = f.next_frame(0) {
                last = Some(frame);
            }
        }
        prop_assert_eq!(last, Some(b"]C100376104250021234569".to_vec()));
    }
}
