//! Scale driver: one task per scale, any supported protocol, publishing the latest normalised
//! [`WeightReading`] with its stability verdict and a freshness timestamp on a `watch` channel.
//!
//! * Request/response protocols (MT-SICS, NCI, CAS ECR): one command at a time, each with a
//!   response timeout; input is drained before every command so a late answer to an earlier
//!   command is never taken for the current one. MT-SICS sends `@` after every connect and
//!   accepts the unsolicited `I4 A "<SNR>"` line at any time.
//! * Continuous protocols (Toledo, CAS 22-byte, generic): whatever was buffered before the
//!   connection is discarded (serial ports are also flushed on open), then every read cycle
//!   takes all bytes available and publishes only the newest complete frame.
//! * Overload, underload, device errors (`Error 10b`, NCI status bits) are readings with a
//!   [`ScaleCondition`](stockpost_common::scale::ScaleCondition) and no value; `ES`/`EL`/`S I`,
//!   `?`, NAKs, bad frames and timeouts are counted and shown as `last_error` in the status.
//!   After `max_consecutive_timeouts` silent polls (or silent continuous periods) the link is
//!   dropped and reopened with back-off, as after an unplug (EOF/EIO).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;
use stockpost_common::scale::cas::{EcrMessage, EcrPoll, EcrStep};
use stockpost_common::scale::mt_sics::{self, GeneralError, Response};
use stockpost_common::scale::nci::{self, NciResponse};
use stockpost_common::scale::{
    DecoderOptions, Framer, FramerOptions, ScaleDecoder, ScaleMessage, ScaleProtocol, Stability,
    StabilityRule, WeightReading,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::config_error::from_table;
use super::serial::{FlowControl, Parity, SerialFields, SERIAL_KEYS};
use super::status::{set_error, set_link};
use super::{
    Backoff, BackoffConfig, Connector, DeviceConfigError, DeviceStatus, DeviceStream, LinkState,
};

const DEVICE: &str = "scale";
/// Reads per drain at most (a drain stops earlier when nothing more is buffered).
const DRAIN_READS_MAX: usize = 256;

/// The latest reading and what the driver concluded from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleSnapshot {
    /// The normalised reading (value, unit, protocol flag, net/gross, condition, tare).
    pub reading: WeightReading,
    /// Stable according to the configured [`StabilityRule`] (not just the protocol flag).
    pub stable: bool,
    /// When the reading arrived (monotonic): check freshness before using it.
    pub at: Instant,
    /// Wall-clock time of the reading, for records.
    pub received_at: SystemTime,
    /// 1 for the first published reading, +1 for each later one.
    pub seq: u64,
}

impl ScaleSnapshot {
    /// How old the reading is.
    pub fn age(&self) -> Duration {
        self.at.elapsed()
    }

    /// Usable for a weighing step: stable, usable condition, and younger than `max_age`.
    pub fn is_fresh_and_stable(&self, max_age: Duration) -> bool {
        self.stable && self.reading.is_usable() && self.age() <= max_age
    }
}

/// MT-SICS poll command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MtSicsPoll {
    /// `SI`: weight immediately (stable or dynamic) — the default, gives live feedback.
    #[default]
    Si,
    /// `S`: stable weight only (the scale waits for stability; use a longer timeout).
    S,
}

/// `stability` values in config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StabilityName {
    /// The protocol's stability flag.
    #[default]
    Flag,
    /// `stable_frames` equal consecutive readings, flag ignored.
    Consecutive,
    /// Flag set on `stable_frames` equal consecutive readings.
    FlagAndConsecutive,
}

/// `[stations.scale]` as written in agent.toml.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ScaleConfig {
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
    /// TCP address to connect to (serial device server, MT-SICS over TCP).
    pub tcp: Option<String>,
    /// Wire protocol (required).
    pub protocol: Option<ScaleProtocol>,
    /// Delay between polls (request/response protocols).
    pub poll_interval_ms: u64,
    /// How long to wait for an answer (or, continuous, for any frame).
    pub response_timeout_ms: u64,
    /// Silent polls/periods in a row before the link is reopened.
    pub max_consecutive_timeouts: u32,
    /// MT-SICS: `si` or `s`.
    pub mt_sics_poll: MtSicsPoll,
    /// CAS ECR: ENQ attempts per poll.
    pub ecr_max_attempts: u32,
    /// Stability rule.
    pub stability: StabilityName,
    /// Frames for the consecutive rules.
    pub stable_frames: u32,
    /// Clear bit 7 (7E1 device through an 8N1 port).
    pub mask_7bit: bool,
    /// Toledo: a checksum byte follows `<CR>`.
    pub toledo_checksum: bool,
    /// Longest frame accepted.
    pub max_frame_len: usize,
    /// Read buffer size.
    pub read_buffer_bytes: usize,
    /// TCP connect timeout.
    pub connect_timeout_ms: u64,
    /// First reconnect delay.
    pub backoff_initial_ms: u64,
    /// Longest reconnect delay.
    pub backoff_max_ms: u64,
}

impl Default for ScaleConfig {
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
            protocol: None,
            poll_interval_ms: 200,
            response_timeout_ms: 1000,
            max_consecutive_timeouts: 3,
            mt_sics_poll: MtSicsPoll::Si,
            ecr_max_attempts: 3,
            stability: StabilityName::Flag,
            stable_frames: 3,
            mask_7bit: false,
            toledo_checksum: false,
            max_frame_len: 256,
            read_buffer_bytes: 4096,
            connect_timeout_ms: 3000,
            backoff_initial_ms: b.initial_ms,
            backoff_max_ms: b.max_ms,
        }
    }
}

const KEYS: [&str; 16] = [
    "tcp",
    "protocol",
    "poll_interval_ms",
    "response_timeout_ms",
    "max_consecutive_timeouts",
    "mt_sics_poll",
    "ecr_max_attempts",
    "stability",
    "stable_frames",
    "mask_7bit",
    "toledo_checksum",
    "max_frame_len",
    "read_buffer_bytes",
    "connect_timeout_ms",
    "backoff_initial_ms",
    "backoff_max_ms",
];

impl ScaleConfig {
    /// Parses and validates a station's `scale` table.
    pub fn from_toml(value: &toml::Value) -> Result<Self, DeviceConfigError> {
        let known: Vec<&str> = KEYS.iter().chain(SERIAL_KEYS.iter()).copied().collect();
        let config: Self = from_table(DEVICE, value, &known)?;
        config.options()?;
        config.connector()?;
        Ok(config)
    }

    /// The connector for the configured transport (exactly one of `serial`, `tcp`).
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
        match (serial, &self.tcp) {
            (Some(s), None) => Ok(Connector::Serial(s)),
            (None, Some(addr)) => Ok(Connector::TcpConnect {
                addr: addr.clone(),
                timeout: Duration::from_millis(self.connect_timeout_ms.max(1)),
            }),
            _ => Err(DeviceConfigError::invalid(
                DEVICE,
                "serial",
                "set exactly one of `serial` or `tcp`",
            )),
        }
    }

    /// The driver options; validated.
    pub fn options(&self) -> Result<ScaleOptions, DeviceConfigError> {
        let protocol = self.protocol.ok_or_else(|| {
            DeviceConfigError::invalid(
                DEVICE,
                "protocol",
                "required: mt-sics, toledo, nci, cas-ecr, cas-22 or generic",
            )
        })?;
        let checks: [(&'static str, bool, &str); 7] = [
            (
                "poll_interval_ms",
                (10..=60_000).contains(&self.poll_interval_ms),
                "must be 10..=60000",
            ),
            (
                "response_timeout_ms",
                (10..=60_000).contains(&self.response_timeout_ms),
                "must be 10..=60000",
            ),
            (
                "max_consecutive_timeouts",
                self.max_consecutive_timeouts >= 1,
                "must be at least 1",
            ),
            (
                "ecr_max_attempts",
                (1..=10).contains(&self.ecr_max_attempts),
                "must be 1..=10",
            ),
            (
                "stable_frames",
                (1..=100).contains(&self.stable_frames),
                "must be 1..=100",
            ),
            (
                "max_frame_len",
                (16..=4096).contains(&self.max_frame_len),
                "must be 16..=4096",
            ),
            (
                "read_buffer_bytes",
                (64..=65_536).contains(&self.read_buffer_bytes),
                "must be 64..=65536",
            ),
        ];
        for (key, ok, reason) in checks {
            if !ok {
                return Err(DeviceConfigError::invalid(DEVICE, key, reason));
            }
        }
        let backoff = BackoffConfig {
            initial_ms: self.backoff_initial_ms,
            max_ms: self.backoff_max_ms,
        };
        backoff.validate(DEVICE)?;
        let stability = match self.stability {
            StabilityName::Flag => StabilityRule::Flag,
            StabilityName::Consecutive => StabilityRule::ConsecutiveEqual(self.stable_frames),
            StabilityName::FlagAndConsecutive => {
                StabilityRule::FlagAndConsecutiveEqual(self.stable_frames)
            }
        };
        Ok(ScaleOptions {
            protocol,
            decoder: DecoderOptions {
                framer: FramerOptions {
                    max_frame_len: self.max_frame_len,
                    mask_7bit: self.mask_7bit,
                },
                toledo_checksum: self.toledo_checksum,
            },
            stability,
            poll_interval: Duration::from_millis(self.poll_interval_ms),
            response_timeout: Duration::from_millis(self.response_timeout_ms),
            max_consecutive_timeouts: self.max_consecutive_timeouts,
            mt_sics_poll: self.mt_sics_poll,
            ecr_max_attempts: self.ecr_max_attempts,
            read_buffer_bytes: self.read_buffer_bytes,
            backoff,
        })
    }
}

/// What the driver needs besides its connector.
#[derive(Debug, Clone)]
pub struct ScaleOptions {
    /// Wire protocol.
    pub protocol: ScaleProtocol,
    /// Framer options (max frame length, 7-bit masking, Toledo checksum).
    pub decoder: DecoderOptions,
    /// When a reading counts as stable.
    pub stability: StabilityRule,
    /// Delay between polls.
    pub poll_interval: Duration,
    /// Answer timeout (continuous: longest silence).
    pub response_timeout: Duration,
    /// Timeouts in a row before reopening the link.
    pub max_consecutive_timeouts: u32,
    /// MT-SICS poll command.
    pub mt_sics_poll: MtSicsPoll,
    /// CAS ECR ENQ attempts per poll.
    pub ecr_max_attempts: u32,
    /// Read buffer size.
    pub read_buffer_bytes: usize,
    /// Reconnect back-off.
    pub backoff: BackoffConfig,
}

impl ScaleOptions {
    /// Defaults for `protocol`.
    pub fn new(protocol: ScaleProtocol) -> Self {
        let config = ScaleConfig {
            protocol: Some(protocol),
            ..ScaleConfig::default()
        };
        #[allow(clippy::unwrap_used)] // the default config is valid; checked by a unit test
        config.options().unwrap()
    }
}

/// Counters.
#[derive(Debug, Default)]
struct Counters {
    readings: AtomicU64,
    frames_skipped: AtomicU64,
    frame_errors: AtomicU64,
    device_errors: AtomicU64,
    timeouts: AtomicU64,
    link_errors: AtomicU64,
}

/// A snapshot of the driver's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScaleStats {
    /// Readings published.
    pub readings: u64,
    /// Complete frames not published because a newer one was buffered (continuous backlog).
    pub frames_skipped: u64,
    /// Frames that failed framing, checksum or parsing.
    pub frame_errors: u64,
    /// Protocol-level refusals: `ES`/`ET`/`EL`/`S I`/`S L`, NCI `?`, CAS NAK give-ups.
    pub device_errors: u64,
    /// Polls without an answer in time (continuous: silent periods).
    pub timeouts: u64,
    /// Connect failures and lost links.
    pub link_errors: u64,
}

/// The running driver.
#[derive(Debug)]
pub struct ScaleHandle {
    /// The latest reading (`None` until the first one).
    pub reading: watch::Receiver<Option<ScaleSnapshot>>,
    /// Link status and last error.
    pub status: watch::Receiver<DeviceStatus>,
    counters: Arc<Counters>,
    task: JoinHandle<()>,
}

impl ScaleHandle {
    /// Current counters.
    pub fn stats(&self) -> ScaleStats {
        let c = &self.counters;
        ScaleStats {
            readings: c.readings.load(Ordering::Relaxed),
            frames_skipped: c.frames_skipped.load(Ordering::Relaxed),
            frame_errors: c.frame_errors.load(Ordering::Relaxed),
            device_errors: c.device_errors.load(Ordering::Relaxed),
            timeouts: c.timeouts.load(Ordering::Relaxed),
            link_errors: c.link_errors.load(Ordering::Relaxed),
        }
    }

    /// Stops the driver (closes the port). Dropping every `reading` receiver also stops it,
    /// at the next poll or frame.
    pub fn shutdown(self) {
        self.task.abort();
    }
}

/// The scale driver task.
#[derive(Debug)]
pub struct ScaleDriver;

impl ScaleDriver {
    /// Spawns the driver on the current tokio runtime.
    pub fn spawn(options: ScaleOptions, connector: Connector) -> ScaleHandle {
        let (reading_tx, reading) = watch::channel(None);
        let (status_tx, status) = watch::channel(DeviceStatus::initial());
        let counters = Arc::new(Counters::default());
        let driver = Driver {
            stability: Stability::new(options.stability),
            options,
            reading: reading_tx,
            status: status_tx,
            counters: counters.clone(),
            seq: 0,
        };
        let task = tokio::spawn(driver.run(connector));
        ScaleHandle {
            reading,
            status,
            counters,
            task,
        }
    }
}

struct Driver {
    options: ScaleOptions,
    stability: Stability,
    reading: watch::Sender<Option<ScaleSnapshot>>,
    status: watch::Sender<DeviceStatus>,
    counters: Arc<Counters>,
    seq: u64,
}

/// Why a session ended.
type Lost = String;

/// Session end when every receiver of readings was dropped.
const CONSUMER_GONE: &str = "no reader of the scale's readings is left";

/// What one poll produced.
enum PollOutcome {
    Reading(WeightReading),
    DeviceError(String),
    Timeout,
    /// MT-SICS `I4 A "<SNR>"` (answer to `@`).
    Identified,
}

impl Driver {
    async fn run(mut self, mut connector: Connector) {
        let mut backoff = Backoff::new(self.options.backoff);
        let described = connector.describe();
        loop {
            if self.reading.is_closed() {
                return;
            }
            set_link(&self.status, LinkState::Connecting);
            let error = match connector.connect().await {
                Ok(stream) => {
                    set_link(&self.status, LinkState::Connected);
                    backoff.reset();
                    self.stability.reset();
                    tracing::info!(device = DEVICE, link = %described, protocol = %self.options.protocol, "scale connected");
                    self.session(stream).await
                }
                Err(e) => format!("connect: {e}"),
            };
            self.counters.link_errors.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(device = DEVICE, link = %described, error = %error, "scale lost; reconnecting");
            set_error(&self.status, error);
            set_link(&self.status, LinkState::Disconnected);
            if self.reading.is_closed() {
                return;
            }
            tokio::time::sleep(backoff.next_delay()).await;
        }
    }

    fn decoder(&self) -> ScaleDecoder {
        ScaleDecoder::new(self.options.protocol, self.options.decoder)
    }

    fn publish(&mut self, reading: WeightReading) {
        let stable = self.stability.observe(&reading);
        self.seq += 1;
        self.counters.readings.fetch_add(1, Ordering::Relaxed);
        self.reading.send_replace(Some(ScaleSnapshot {
            reading,
            stable,
            at: Instant::now(),
            received_at: SystemTime::now(),
            seq: self.seq,
        }));
    }

    async fn session(&mut self, mut stream: DeviceStream) -> Lost {
        let mut buf = vec![0u8; self.options.read_buffer_bytes.max(64)];
        // Whatever was queued before we connected is stale (pty/TCP backlog, old answers).
        if let Err(e) = drain(&mut stream, &mut buf).await {
            return e;
        }
        if self.options.protocol.is_continuous() {
            self.continuous(stream, buf).await
        } else {
            self.polled(stream, buf).await
        }
    }

    async fn continuous(&mut self, mut stream: DeviceStream, mut buf: Vec<u8>) -> Lost {
        let mut decoder = self.decoder();
        let mut dropped_seen = 0;
        let mut silent = 0u32;
        loop {
            if self.reading.is_closed() {
                return CONSUMER_GONE.into();
            }
            let n = match tokio::time::timeout(self.options.response_timeout, stream.read(&mut buf))
                .await
            {
                Err(_) => {
                    self.counters.timeouts.fetch_add(1, Ordering::Relaxed);
                    silent += 1;
                    set_error(
                        &self.status,
                        format!(
                            "no frame for {} ms",
                            self.options.response_timeout.as_millis()
                        ),
                    );
                    if silent >= self.options.max_consecutive_timeouts {
                        return format!("silent for {silent} periods");
                    }
                    continue;
                }
                Ok(Ok(0)) => return "the device closed the stream (EOF)".into(),
                Ok(Ok(n)) => n,
                Ok(Err(e)) => return format!("read: {e}"),
            };
            decoder.push(buf.get(..n).unwrap_or_default());
            // Take everything else already buffered so only the newest frame is published.
            match drain(&mut stream, &mut buf).await {
                Ok(more) => decoder.push(&more),
                Err(e) => return e,
            }
            let mut latest = None;
            let mut frames = 0u64;
            while let Some(message) = decoder.next_message() {
                match message {
                    Ok(m) => {
                        if let Some(r) = m.reading() {
                            frames += 1;
                            latest = Some(r);
                        }
                    }
                    Err(e) => {
                        self.counters.frame_errors.fetch_add(1, Ordering::Relaxed);
                        set_error(&self.status, e.to_string());
                    }
                }
            }
            let dropped = decoder.stats().dropped_frames;
            if dropped > dropped_seen {
                self.counters
                    .frame_errors
                    .fetch_add(dropped - dropped_seen, Ordering::Relaxed);
                set_error(
                    &self.status,
                    format!(
                        "{} frame(s) dropped by the framer (bad checksum, truncated or garbage)",
                        dropped - dropped_seen
                    ),
                );
                dropped_seen = dropped;
            }
            if let Some(r) = latest {
                silent = 0;
                self.counters
                    .frames_skipped
                    .fetch_add(frames.saturating_sub(1), Ordering::Relaxed);
                self.publish(r);
            }
        }
    }

    async fn polled(&mut self, mut stream: DeviceStream, mut buf: Vec<u8>) -> Lost {
        if self.options.protocol == ScaleProtocol::MtSics {
            // `@` cancels whatever the balance was doing; the answer is `I4 A "<SNR>"`.
            let mut decoder = self.decoder();
            if let Err(e) = write(&mut stream, &encode_mt_sics(&mt_sics::Command::Reset)).await {
                return e;
            }
            match self
                .await_mt_sics(&mut stream, &mut buf, &mut decoder, "I4")
                .await
            {
                Ok(PollOutcome::Timeout) => {
                    self.counters.timeouts.fetch_add(1, Ordering::Relaxed);
                    set_error(&self.status, "no answer to `@` (reset)");
                }
                Ok(_) => {}
                Err(e) => return e,
            }
        }
        let mut silent = 0u32;
        loop {
            if self.reading.is_closed() {
                return CONSUMER_GONE.into();
            }
            if let Err(e) = drain(&mut stream, &mut buf).await {
                return e;
            }
            let outcome = match self.poll_once(&mut stream, &mut buf).await {
                Ok(o) => o,
                Err(e) => return e,
            };
            match outcome {
                PollOutcome::Reading(r) => {
                    silent = 0;
                    self.publish(r);
                }
                PollOutcome::DeviceError(e) => {
                    silent = 0;
                    self.counters.device_errors.fetch_add(1, Ordering::Relaxed);
                    set_error(&self.status, e);
                }
                PollOutcome::Identified => silent = 0,
                PollOutcome::Timeout => {
                    silent += 1;
                    self.counters.timeouts.fetch_add(1, Ordering::Relaxed);
                    set_error(
                        &self.status,
                        format!(
                            "no answer within {} ms",
                            self.options.response_timeout.as_millis()
                        ),
                    );
                    if silent >= self.options.max_consecutive_timeouts {
                        return format!("no answer to {silent} polls in a row");
                    }
                }
            }
            tokio::time::sleep(self.options.poll_interval).await;
        }
    }

    async fn poll_once(
        &mut self,
        stream: &mut DeviceStream,
        buf: &mut [u8],
    ) -> Result<PollOutcome, Lost> {
        let mut decoder = self.decoder();
        match self.options.protocol {
            ScaleProtocol::MtSics => {
                let command = match self.options.mt_sics_poll {
                    MtSicsPoll::Si => mt_sics::Command::WeighImmediately,
                    MtSicsPoll::S => mt_sics::Command::Weigh,
                };
                write(stream, &encode_mt_sics(&command)).await?;
                self.await_mt_sics(stream, buf, &mut decoder, "S").await
            }
            ScaleProtocol::Nci => {
                write(stream, &nci::Command::Weigh.encode()).await?;
                let deadline = tokio::time::Instant::now() + self.options.response_timeout;
                loop {
                    let Some(message) = self
                        .next_message(stream, buf, &mut decoder, deadline)
                        .await?
                    else {
                        return Ok(PollOutcome::Timeout);
                    };
                    match message {
                        ScaleMessage::Nci(NciResponse::Weight { reading, .. }) => {
                            return Ok(PollOutcome::Reading(reading))
                        }
                        ScaleMessage::Nci(NciResponse::UnknownCommand) => {
                            return Ok(PollOutcome::DeviceError(
                                "nci: the scale answered `?` (command not understood)".into(),
                            ))
                        }
                        _ => {}
                    }
                }
            }
            ScaleProtocol::CasEcr => {
                let mut poll = EcrPoll::new(self.options.ecr_max_attempts);
                let mut step = poll.start();
                loop {
                    match step {
                        EcrStep::Send(bytes) => {
                            write(stream, &bytes).await?;
                            let deadline =
                                tokio::time::Instant::now() + self.options.response_timeout;
                            step = match self
                                .next_message(stream, buf, &mut decoder, deadline)
                                .await?
                            {
                                Some(ScaleMessage::CasEcr(m)) => {
                                    if m == EcrMessage::Nak {
                                        set_error(&self.status, "cas-ecr: NAK to ENQ");
                                    }
                                    poll.on_message(m)
                                }
                                Some(_) | None => poll.on_timeout(),
                            };
                        }
                        EcrStep::Reading(r) => return Ok(PollOutcome::Reading(r)),
                        EcrStep::GiveUp => {
                            return Ok(PollOutcome::DeviceError(format!(
                            "cas-ecr: no weight after {} ENQ attempts (NAK, bad frame or silence)",
                            self.options.ecr_max_attempts
                        )))
                        }
                    }
                }
            }
            // Continuous protocols never poll.
            ScaleProtocol::Toledo | ScaleProtocol::Cas22 | ScaleProtocol::Generic => {
                Ok(PollOutcome::Timeout)
            }
        }
    }

    /// Reads MT-SICS lines until one answers `family` (`S` for weights, `I4` for `@`).
    async fn await_mt_sics(
        &mut self,
        stream: &mut DeviceStream,
        buf: &mut [u8],
        decoder: &mut ScaleDecoder,
        family: &str,
    ) -> Result<PollOutcome, Lost> {
        let deadline = tokio::time::Instant::now() + self.options.response_timeout;
        loop {
            let Some(message) = self.next_message(stream, buf, decoder, deadline).await? else {
                return Ok(PollOutcome::Timeout);
            };
            let ScaleMessage::MtSics(response) = message else {
                continue;
            };
            if let Some(snr) = response.serial_number() {
                tracing::info!(
                    device = DEVICE,
                    serial_number = snr,
                    "MT-SICS balance identified"
                );
                if family == "I4" {
                    return Ok(PollOutcome::Identified);
                }
                continue; // unsolicited power-up line: keep waiting for our answer
            }
            match &response {
                Response::Error(e) => {
                    let what = match e {
                        GeneralError::Syntax => "ES: command not recognised",
                        GeneralError::Transmission => "ET: transmission error",
                        GeneralError::Logic => "EL: command cannot be executed",
                    };
                    return Ok(PollOutcome::DeviceError(format!("mt-sics {what}")));
                }
                Response::Weight { command, .. } | Response::Status { command, .. }
                    if command == family =>
                {
                    return Ok(match response.reading() {
                        Some(r) => PollOutcome::Reading(r),
                        None => PollOutcome::DeviceError(format!("mt-sics answered {response:?}")),
                    });
                }
                _ => {} // an answer to something else: ignore
            }
        }
    }

    /// The next parsed message before `deadline`; frame errors are counted and skipped.
    async fn next_message(
        &mut self,
        stream: &mut DeviceStream,
        buf: &mut [u8],
        decoder: &mut ScaleDecoder,
        deadline: tokio::time::Instant,
    ) -> Result<Option<ScaleMessage>, Lost> {
        let mut dropped_seen = decoder.stats().dropped_frames;
        loop {
            while let Some(m) = decoder.next_message() {
                match m {
                    Ok(m) => return Ok(Some(m)),
                    Err(e) => {
                        self.counters.frame_errors.fetch_add(1, Ordering::Relaxed);
                        set_error(&self.status, e.to_string());
                    }
                }
            }
            let dropped = decoder.stats().dropped_frames;
            if dropped > dropped_seen {
                self.counters
                    .frame_errors
                    .fetch_add(dropped - dropped_seen, Ordering::Relaxed);
                dropped_seen = dropped;
            }
            match tokio::time::timeout_at(deadline, stream.read(buf)).await {
                Err(_) => return Ok(None),
                Ok(Ok(0)) => return Err("the device closed the stream (EOF)".into()),
                Ok(Ok(n)) => decoder.push(buf.get(..n).unwrap_or_default()),
                Ok(Err(e)) => return Err(format!("read: {e}")),
            }
        }
    }
}

fn encode_mt_sics(command: &mt_sics::Command) -> Vec<u8> {
    // The commands the driver sends have no parameters and always encode.
    command.encode().unwrap_or_default()
}

async fn write(stream: &mut DeviceStream, bytes: &[u8]) -> Result<(), Lost> {
    stream
        .write_all(bytes)
        .await
        .map_err(|e| format!("write: {e}"))?;
    stream.flush().await.map_err(|e| format!("write: {e}"))
}

/// Reads and returns everything that is buffered right now, without waiting.
async fn drain(stream: &mut DeviceStream, buf: &mut [u8]) -> Result<Vec<u8>, Lost> {
    let mut out = Vec::new();
    for _ in 0..DRAIN_READS_MAX {
        match tokio::time::timeout(Duration::ZERO, stream.read(buf)).await {
            Err(_) => break,
            Ok(Ok(0)) => return Err("the device closed the stream (EOF)".into()),
            Ok(Ok(n)) => out.extend_from_slice(buf.get(..n).unwrap_or_default()),
            Ok(Err(e)) => return Err(format!("read: {e}")),
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ScaleConfig, DeviceConfigError> {
        ScaleConfig::from_toml(&toml::from_str::<toml::Value>(text).unwrap())
    }

    #[test]
    fn default_options_are_valid_for_every_protocol() {
        for p in ScaleProtocol::ALL {
            assert_eq!(ScaleOptions::new(p).protocol, p);
        }
    }

    #[test]
    fn the_shipped_example_parses() {
        let c = parse("serial = \"/dev/ttyUSB0\"\nbaud = 9600\ndata_bits = 8\nparity = \"none\"\nstop_bits = 1\nprotocol = \"mt-sics\"").unwrap();
        assert_eq!(c.options().unwrap().protocol, ScaleProtocol::MtSics);
    }

    #[test]
    fn a_missing_protocol_is_named() {
        let e = parse("serial = \"/dev/ttyUSB0\"").unwrap_err();
        assert!(e.to_string().starts_with("scale.protocol: required"), "{e}");
    }

    #[test]
    fn an_unknown_protocol_is_a_parse_error() {
        let e = parse("serial = \"/dev/ttyUSB0\"\nprotocol = \"sartorius\"").unwrap_err();
        assert!(e.to_string().contains("protocol"), "{e}");
    }
}
