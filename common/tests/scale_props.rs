//! Property tests: no scale framer or parser panics on arbitrary bytes, and every framer
//! resynchronises after random garbage.

use proptest::prelude::*;
use stockpost_common::scale::{
    parse_frame, DecoderOptions, Framer, FramerOptions, ScaleDecoder, ScaleProtocol,
};

/// One valid frame per protocol, each carrying 12.345 kg.
fn valid_frame(protocol: ScaleProtocol) -> &'static [u8] {
    match protocol {
        ScaleProtocol::MtSics => b"S S     12.345 kg\r\n",
        ScaleProtocol::Toledo => &[
            0x02, 0x2D, 0x30, 0x20, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x30, 0x30, 0x30, 0x30,
            0x30, 0x30, 0x0D, 0x25,
        ],
        ScaleProtocol::Nci => b"\n0012.345kg\r\n00\r\x03",
        ScaleProtocol::CasEcr => &[
            0x01, 0x02, 0x53, 0x20, 0x31, 0x32, 0x2E, 0x33, 0x34, 0x35, 0x6B, 0x67, 0x60, 0x03,
            0x04,
        ],
        ScaleProtocol::Cas22 => b"ST,GS,1\xc4,0012.345 kg\r\n",
        ScaleProtocol::Generic => b"ST,GS,+0012.345kg\r\n",
    }
}

fn options(mask_7bit: bool, max_frame_len: usize) -> DecoderOptions {
    DecoderOptions {
        framer: FramerOptions {
            max_frame_len,
            mask_7bit,
        },
        toledo_checksum: true,
    }
}

fn protocol() -> impl Strategy<Value = ScaleProtocol> {
    prop::sample::select(ScaleProtocol::ALL.to_vec())
}

#[test]
fn the_valid_frames_used_by_the_properties_parse_to_12_345_kg() {
    for p in ScaleProtocol::ALL {
        let mut dec = ScaleDecoder::new(p, options(false, 256));
        dec.push(valid_frame(p));
        let r = dec.latest_reading();
        assert_eq!(
            r.and_then(|r| r.value_kg().ok()),
            Some(rust_decimal::Decimal::new(12345, 3)),
            "{p}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_parser_panics_on_arbitrary_bytes(p in protocol(), bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = parse_frame(p, &bytes);
    }

    #[test]
    fn no_framer_panics_on_arbitrary_chunks(
        p in protocol(),
        mask in any::<bool>(),
        max in 0usize..64,
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..8),
    ) {
        let mut dec = ScaleDecoder::new(p, options(mask, max));
        for chunk in &chunks {
            dec.push(chunk);
            while let Some(frame) = dec.next_frame() {
                let _ = dec.parse(&frame);
            }
        }
    }

    #[test]
    fn framers_resync_after_random_garbage(
        p in protocol(),
        garbage in prop::collection::vec(any::<u8>(), 0..300),
        chunk in 1usize..64,
        mask in any::<bool>(),
    ) {
        let mut stream = garbage;
        stream.extend_from_slice(b"\r\n");
        for _ in 0..3 {
            stream.extend_from_slice(valid_frame(p));
        }
        let mut dec = ScaleDecoder::new(p, options(mask, 256));
        let mut last = None;
        for piece in stream.chunks(chunk) {
            dec.push(piece);
            if let Some(r) = dec.latest_reading() {
                last = Some(r);
            }
        }
        // Garbage may spoil at most the first valid frame; the last one always survives.
        prop_assert_eq!(
            last.and_then(|r| r.value_kg().ok()),
            Some(rust_decimal::Decimal::new(12345, 3))
        );
    }
}
