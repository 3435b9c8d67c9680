//! Scale protocols: pure framers and parsers from device bytes to a normalised [`WeightReading`].
//!
//! No IO, no clock: drivers feed received bytes into a framer ([`Framer::push`]), take frames
//! ([`Framer::next_frame`]) and parse them. Continuous-output scales should use "latest wins"
//! ([`latest_frame`], [`ScaleDecoder::latest_reading`]) so a backlog is never queued.

pub mod cas;
pub mod framing;
pub mod generic;
pub mod mt_sics;
pub mod nci;
pub mod protocol;
pub mod reading;
pub mod stability;
pub mod toledo;

pub use framing::{latest_frame, latest_parsed, Framer, FramerOptions, FramerStats};
pub use protocol::{parse_frame, DecoderOptions, ScaleDecoder, ScaleMessage, ScaleProtocol};
pub use reading::{
    ConversionError, DeviceErrorSource, FrameError, ScaleCondition, WeightReading, WeightUnit,
};
pub use stability::{Stability, StabilityRule};
