//! Scale protocols: pure framers and parsers from device bytes to a normalised [`WeightReading`].
//!
//! No IO, no clock: drivers feed received bytes into a framer and hand frames to a parser.

pub mod cas;
pub mod framing;
pub mod generic;
pub mod mt_sics;
pub mod nci;
pub mod reading;
pub mod toledo;

pub use framing::{latest_frame, latest_parsed, Framer, FramerOptions, FramerStats};
pub use reading::{
    ConversionError, DeviceErrorSource, FrameError, ScaleCondition, WeightReading, WeightUnit,
};
