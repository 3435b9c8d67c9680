//! Device drivers: the IO side of scanners, scales and label printers.
//!
//! Each driver is a tokio task around a pure codec of `stockpost-common` (framers, parsers, the
//! ZPL builder, `~HS` parser). A driver owns one [`Connector`] (serial port, TCP, or streams
//! handed in), reconnects with jittered exponential back-off when the device disappears, and
//! publishes what it learns on bounded channels:
//!
//! | driver | output | status |
//! |---|---|---|
//! | [`scanner::ScannerDriver`] | `mpsc::Receiver<Scan>` | `watch` of [`DeviceStatus`] + counters |
//! | [`scale::ScaleDriver`] | `watch` of the latest [`scale::ScaleSnapshot`] | `watch` of [`DeviceStatus`] + counters |
//! | [`printer::PrinterDriver`] | prints the durable [`spool::Spool`] in order | `watch` of [`printer::PrinterStatus`] |
//!
//! Device configuration arrives as `toml::Value` tables in `[[stations]]`; each device config has
//! a `from_toml` that rejects unknown keys and validates, naming the key. See `docs/devices.md`.

pub mod backoff;
pub mod config_error;
pub mod connector;
pub mod printer;
pub mod scale;
pub mod scanner;
pub mod serial;
pub mod spool;
pub mod sscc_counter;
pub mod status;

pub use backoff::{Backoff, BackoffConfig};
pub use config_error::DeviceConfigError;
pub use connector::{Connector, DeviceIo, DeviceStream};
pub use serial::SerialSettings;
pub use status::{DeviceStatus, LinkState};
