//! Every scale framer and parser on arbitrary bytes: must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stockpost_common::scale::{
    parse_frame, DecoderOptions, Framer, FramerOptions, ScaleDecoder, ScaleProtocol,
};

fuzz_target!(|data: &[u8]| {
    let Some((&control, bytes)) = data.split_first() else {
        return;
    };
    let options = DecoderOptions {
        framer: FramerOptions {
            max_frame_len: usize::from(control & 0x3F) + 1,
            mask_7bit: control & 0x40 != 0,
        },
        toledo_checksum: control & 0x80 != 0,
    };
    for protocol in ScaleProtocol::ALL {
        // Parsers on the raw input.
        let _ = parse_frame(protocol, bytes);
        // Framers fed in uneven chunks, then the frames parsed.
        let mut decoder = ScaleDecoder::new(protocol, options);
        for chunk in bytes.chunks(usize::from(control % 7) + 1) {
            decoder.push(chunk);
            while let Some(frame) = decoder.next_frame() {
                let _ = decoder.parse(&frame);
            }
        }
        let _ = decoder.latest_reading();
    }
});
