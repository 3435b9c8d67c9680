//! Barcode scanner driver: serial / USB-CDC or raw TCP, framed by the pure
//! [`ScannerFramer`](stockpost_common::scanner_framing::ScannerFramer), each payload delivered
//! into a bounded `mpsc` channel.
//!
//! TCP: `tcp = "0.0.0.0:4001"` *listens* and accepts one scanner connection at a time (the usual
//! setup for network scanners and serial device servers in "TCP client" mode: the scanner dials
//! the station); `tcp_connect = "10.0.0.20:4001"` dials a device server in "TCP server" mode.
//!
//! Back-pressure: when the consumer is slow, the driver waits for room in the channel instead of
//! dropping scans (the device or OS buffers meanwhile). The task ends when the receiver is
//! dropped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;
use stockpost_common::scanner_framing::{ScannerFramer, ScannerFramingConfig, Terminator};
use tokio::io::AsyncReadExt;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::config_error::from_table;
use super::serial::{FlowControl, Parity, SerialFields, SERIAL_KEYS};
use super::status::{set_error, set_link};
use super::{
    Backoff, BackoffConfig, Connector, DeviceConfigError, DeviceStatus, DeviceStream, LinkState,
};

const DEVICE: &str = "scanner";

/// One scan as the scanner sent it (prefix/suffix/terminator removed; AIM id and `<GS>` kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// The payload bytes; parse with `stockpost_common::scan_payload::classify_payload`.
    pub payload: Vec<u8>,
    /// Wall-clock time the frame was completed.
    pub received_at: SystemTime,
}

/// `terminator` values in config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TerminatorName {
    /// `CR`, `LF` or `CRLF`.
    #[default]
    AnyLineEnd,
    /// `CR`.
    Cr,
    /// `LF`.
    Lf,
    /// `CRLF`.
    Crlf,
    /// `TAB`.
    Tab,
    /// `ETX` (0x03), typically with `prefix = "\u0002"`.
    Etx,
    /// No terminator: `idle_timeout_ms` ends a scan.
    None,
}

/// `[stations.scanner]` as written in agent.toml.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ScannerConfig {
    /// Serial device path (selects the serial transport).
    pub serial: Option<String>,
    /// Baud rate (default 9600).
    pub baud: Option<u32>,
    /// 7 or 8 (default 8).
    pub data_bits: Option<u8>,
    /// `none` | `even` | `odd`.
    pub parity: Option<Parity>,
    /// 1 or 2.
    pub stop_bits: Option<u8>,
    /// `none` | `software` | `hardware`.
    pub flow_control: Option<FlowControl>,
    /// Exclusive open (default true).
    pub exclusive: Option<bool>,
    /// Listen address for network scanners (one connection at a time).
    pub tcp: Option<String>,
    /// Dial-out address (device server in TCP server mode).
    pub tcp_connect: Option<String>,
    /// Frame terminator.
    pub terminator: TerminatorName,
    /// End a scan after this many ms without bytes (required with `terminator = "none"`).
    pub idle_timeout_ms: Option<u64>,
    /// Clear bit 7 (7-bit scanners read by an 8-bit port).
    pub mask_7bit: bool,
    /// Preamble to strip.
    pub prefix: String,
    /// Postamble to strip.
    pub suffix: String,
    /// Longest payload accepted.
    pub max_frame_len: usize,
    /// Drop a repeat of the same payload within this many ms of its first read (0 = keep all,
    /// the default: the station's own filter drops double-fires knowing whether the first scan
    /// was accepted).
    pub duplicate_window_ms: u64,
    /// Scans buffered between driver and consumer.
    pub channel_capacity: usize,
    /// Read buffer size.
    pub read_buffer_bytes: usize,
    /// TCP connect timeout.
    pub connect_timeout_ms: u64,
    /// First reconnect delay.
    pub backoff_initial_ms: u64,
    /// Longest reconnect delay.
    pub backoff_max_ms: u64,
}

impl Default for ScannerConfig {
    fn default() -> Self {
        let b = BackoffConfig::default();
        Self {
            serial: None,
            baud: None,
            data_bits: None,
            parity: None,
            stop_bits: None,
            flow_control: None,
            exclusive: None,
            tcp: None,
            tcp_connect: None,
            terminator: TerminatorName::AnyLineEnd,
            idle_timeout_ms: None,
            mask_7bit: false,
            prefix: String::new(),
            suffix: String::new(),
            max_frame_len: 4096,
            duplicate_window_ms: 0,
            channel_capacity: 64,
            read_buffer_bytes: 1024,
            connect_timeout_ms: 3000,
            backoff_initial_ms: b.initial_ms,
            backoff_max_ms: b.max_ms,
        }
    }
}

const KEYS: [&str; 14] = [
    "tcp",
    "tcp_connect",
    "terminator",
    "idle_timeout_ms",
    "mask_7bit",
    "prefix",
    "suffix",
    "max_frame_len",
    "duplicate_window_ms",
    "channel_capacity",
    "read_buffer_bytes",
    "connect_timeout_ms",
    "backoff_initial_ms",
    "backoff_max_ms",
];

impl ScannerConfig {
    /// Parses and validates a station's `scanner` table.
    pub fn from_toml(value: &toml::Value) -> Result<Self, DeviceConfigError> {
        let known: Vec<&str> = KEYS.iter().chain(SERIAL_KEYS.iter()).copied().collect();
        let config: Self = from_table(DEVICE, value, &known)?;
        config.options()?;
        config.connector()?;
        Ok(config)
    }

    /// The connector for the configured transport (exactly one of `serial`, `tcp`, `tcp_connect`).
    pub fn connector(&self) -> Result<Connector, DeviceConfigError> {
        let serial = SerialFields {
            serial: self.serial.clone(),
            baud: self.baud,
            data_bits: self.data_bits,
            parity: self.parity,
            stop_bits: self.stop_bits,
            flow_control: self.flow_control,
            exclusive: self.exclusive,
        }
        .settings(DEVICE)?;
        match (serial, &self.tcp, &self.tcp_connect) {
            (Some(s), None, None) => Ok(Connector::Serial(s)),
            (None, Some(addr), None) => Ok(Connector::TcpListen {
                addr: addr.clone(),
                listener: None,
            }),
            (None, None, Some(addr)) => Ok(Connector::TcpConnect {
                addr: addr.clone(),
                timeout: Duration::from_millis(self.connect_timeout_ms.max(1)),
            }),
            _ => Err(DeviceConfigError::invalid(
                DEVICE,
                "serial",
                "set exactly one of `serial`, `tcp` (listen) or `tcp_connect`",
            )),
        }
    }

    /// The driver options; validated.
    pub fn options(&self) -> Result<ScannerOptions, DeviceConfigError> {
        let terminator = match self.terminator {
            TerminatorName::AnyLineEnd => Terminator::AnyLineEnd,
            TerminatorName::Cr => Terminator::Cr,
            TerminatorName::Lf => Terminator::Lf,
            TerminatorName::Crlf => Terminator::CrLf,
            TerminatorName::Tab => Terminator::Tab,
            TerminatorName::Etx => Terminator::Bytes(vec![0x03]),
            TerminatorName::None => Terminator::None,
        };
        if terminator == Terminator::None && self.idle_timeout_ms.is_none() {
            return Err(DeviceConfigError::invalid(
                DEVICE,
                "idle_timeout_ms",
                "required when terminator = \"none\" (50 is typical)",
            ));
        }
        if self.idle_timeout_ms == Some(0) {
            return Err(DeviceConfigError::invalid(
                DEVICE,
                "idle_timeout_ms",
                "must be at least 1",
            ));
        }
        if !(1..=65_536).contains(&self.max_frame_len) {
            return Err(DeviceConfigError::invalid(
                DEVICE,
                "max_frame_len",
                "must be 1..=65536",
            ));
        }
        if !(1..=10_000).contains(&self.channel_capacity) {
            return Err(DeviceConfigError::invalid(
                DEVICE,
                "channel_capacity",
                "must be 1..=10000",
            ));
        }
        if !(16..=65_536).contains(&self.read_buffer_bytes) {
            return Err(DeviceConfigError::invalid(
                DEVICE,
                "read_buffer_bytes",
                "must be 16..=65536",
            ));
        }
        let backoff = BackoffConfig {
            initial_ms: self.backoff_initial_ms,
            max_ms: self.backoff_max_ms,
        };
        backoff.validate(DEVICE)?;
        Ok(ScannerOptions {
            framing: ScannerFramingConfig {
                terminator,
                idle_timeout_ms: self.idle_timeout_ms,
                mask_7bit: self.mask_7bit,
                strip_bom_nul: true,
                prefix: self.prefix.as_bytes().to_vec(),
                suffix: self.suffix.as_bytes().to_vec(),
                max_frame_len: self.max_frame_len,
                duplicate_window_ms: (self.duplicate_window_ms > 0)
                    .then_some(self.duplicate_window_ms),
            },
            channel_capacity: self.channel_capacity,
            read_buffer_bytes: self.read_buffer_bytes,
            backoff,
        })
    }
}

/// What the driver needs besides its connector.
#[derive(Debug, Clone)]
pub struct ScannerOptions {
    /// Framing (terminator, idle timeout, 7-bit, prefix/suffix, duplicate window).
    pub framing: ScannerFramingConfig,
    /// Capacity of the scan channel.
    pub channel_capacity: usize,
    /// Read buffer size.
    pub read_buffer_bytes: usize,
    /// Reconnect back-off.
    pub backoff: BackoffConfig,
}

impl Default for ScannerOptions {
    fn default() -> Self {
        #[allow(clippy::unwrap_used)] // the default config is valid; checked by a unit test
        ScannerConfig::default().options().unwrap()
    }
}

/// Counters, readable at any time.
#[derive(Debug, Default)]
pub struct ScannerCounters {
    frames: AtomicU64,
    duplicates_dropped: AtomicU64,
    oversize_dropped: AtomicU64,
    errors: AtomicU64,
}

/// A snapshot of [`ScannerCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScannerStats {
    /// Scans delivered.
    pub frames: u64,
    /// Repeats dropped by the duplicate window.
    pub duplicates_dropped: u64,
    /// Over-long frames dropped.
    pub oversize_dropped: u64,
    /// Connection failures and IO errors.
    pub errors: u64,
}

impl ScannerCounters {
    fn snapshot(&self) -> ScannerStats {
        ScannerStats {
            frames: self.frames.load(Ordering::Relaxed),
            duplicates_dropped: self.duplicates_dropped.load(Ordering::Relaxed),
            oversize_dropped: self.oversize_dropped.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
        }
    }
}

/// The running driver: read scans from `scans`, watch `status`.
#[derive(Debug)]
pub struct ScannerHandle {
    /// Scans in arrival order.
    pub scans: mpsc::Receiver<Scan>,
    /// Link status and last error.
    pub status: watch::Receiver<DeviceStatus>,
    counters: Arc<ScannerCounters>,
    task: JoinHandle<()>,
}

impl ScannerHandle {
    /// Current counters.
    pub fn stats(&self) -> ScannerStats {
        self.counters.snapshot()
    }

    /// Stops the driver (closes the port).
    pub fn shutdown(self) {
        self.task.abort();
    }
}

/// The scanner driver task.
#[derive(Debug)]
pub struct ScannerDriver;

impl ScannerDriver {
    /// Spawns the driver on the current tokio runtime.
    pub fn spawn(options: ScannerOptions, connector: Connector) -> ScannerHandle {
        let (tx, scans) = mpsc::channel(options.channel_capacity.max(1));
        let (status_tx, status) = watch::channel(DeviceStatus::initial());
        let counters = Arc::new(ScannerCounters::default());
        let task = tokio::spawn(run(options, connector, tx, status_tx, counters.clone()));
        ScannerHandle {
            scans,
            status,
            counters,
            task,
        }
    }
}

async fn run(
    options: ScannerOptions,
    mut connector: Connector,
    tx: mpsc::Sender<Scan>,
    status: watch::Sender<DeviceStatus>,
    counters: Arc<ScannerCounters>,
) {
    let mut backoff = Backoff::new(options.backoff);
    let clock = Instant::now();
    let described = connector.describe();
    loop {
        set_link(&status, LinkState::Connecting);
        let connected = tokio::select! {
            r = connector.connect() => r,
            () = tx.closed() => return,
        };
        let error = match connected {
            Ok(stream) => {
                set_link(&status, LinkState::Connected);
                backoff.reset();
                tracing::info!(device = DEVICE, link = %described, "scanner connected");
                match session(&options, stream, &tx, &counters, clock).await {
                    SessionEnd::ReceiverGone => return,
                    SessionEnd::Lost(e) => e,
                }
            }
            Err(e) => format!("connect: {e}"),
        };
        counters.errors.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(device = DEVICE, link = %described, error = %error, "scanner lost; reconnecting");
        set_error(&status, error);
        set_link(&status, LinkState::Disconnected);
        let delay = backoff.next_delay();
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = tx.closed() => return,
        }
    }
}

enum SessionEnd {
    ReceiverGone,
    Lost(String),
}

fn now_ms(clock: Instant) -> u64 {
    u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX)
}

async fn session(
    options: &ScannerOptions,
    mut stream: DeviceStream,
    tx: &mpsc::Sender<Scan>,
    counters: &ScannerCounters,
    clock: Instant,
) -> SessionEnd {
    let mut framer = ScannerFramer::new(options.framing.clone());
    let mut buf = vec![0u8; options.read_buffer_bytes.max(16)];
    let idle = options.framing.idle_timeout_ms.map(Duration::from_millis);
    let mut seen = framer.stats();
    loop {
        let read = async {
            match idle {
                Some(idle) => tokio::time::timeout(idle, stream.read(&mut buf)).await.ok(),
                None => Some(stream.read(&mut buf).await),
            }
        };
        let read = tokio::select! {
            r = read => r,
            () = tx.closed() => return SessionEnd::ReceiverGone,
        };
        match read {
            None => {} // idle: let the framer end a partial frame
            Some(Ok(0)) => return SessionEnd::Lost("the device closed the stream (EOF)".into()),
            Some(Ok(n)) => framer.push(buf.get(..n).unwrap_or_default(), now_ms(clock)),
            Some(Err(e)) => return SessionEnd::Lost(format!("read: {e}")),
        }
        while let Some(payload) = framer.next_frame(now_ms(clock)) {
            counters.frames.fetch_add(1, Ordering::Relaxed);
            let scan = Scan {
                payload,
                received_at: SystemTime::now(),
            };
            if tx.send(scan).await.is_err() {
                return SessionEnd::ReceiverGone;
            }
        }
        let stats = framer.stats();
        counters.duplicates_dropped.fetch_add(
            stats.duplicate_frames - seen.duplicate_frames,
            Ordering::Relaxed,
        );
        counters.oversize_dropped.fetch_add(
            stats.oversize_frames - seen.oversize_frames,
            Ordering::Relaxed,
        );
        seen = stats;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ScannerConfig, DeviceConfigError> {
        ScannerConfig::from_toml(&toml::from_str::<toml::Value>(text).unwrap())
    }

    #[test]
    fn the_default_options_are_valid() {
        let _ = ScannerOptions::default();
    }

    #[test]
    fn a_serial_scanner_config_parses() {
        let c =
            parse("serial = \"/dev/ttyACM0\"\nbaud = 9600\nterminator = \"cr\"\nmask_7bit = true")
                .unwrap();
        assert!(matches!(c.connector().unwrap(), Connector::Serial(_)));
        assert!(c.options().unwrap().framing.mask_7bit);
    }

    #[test]
    fn a_typo_is_rejected_naming_the_key() {
        let e = parse("serial = \"/dev/ttyACM0\"\nterminater = \"cr\"").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("scanner: unknown key `terminater`"),
            "{e}"
        );
    }

    #[test]
    fn two_transports_are_rejected() {
        let e = parse("serial = \"/dev/ttyACM0\"\ntcp = \"0.0.0.0:4001\"").unwrap_err();
        assert!(e.to_string().starts_with("scanner.serial:"), "{e}");
    }

    #[test]
    fn no_terminator_needs_an_idle_timeout() {
        let e = parse("tcp = \"0.0.0.0:4001\"\nterminator = \"none\"").unwrap_err();
        assert!(e.to_string().starts_with("scanner.idle_timeout_ms:"), "{e}");
    }
}
