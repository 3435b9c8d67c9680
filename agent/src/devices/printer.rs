//! ZPL label printer driver: raw TCP 9100 (or serial), prints the durable [`Spool`] in order.
//!
//! Per connection: ask `~HS`; only when the printer answers and reports no problem (paper out,
//! pause, head open, ribbon out, buffer full, temperature, corrupt RAM) is the oldest job
//! written (with a write timeout). The job is deleted from the spool only after a following
//! `~HS` says the printer is OK *and* its buffer is empty (no format queued, no labels left in
//! the batch, no partial format): the label has been printed. No `~HS` answer within
//! `status_timeout` means "printer in error" (newer firmware goes silent on media/ribbon out and
//! head open): the driver drops the connection and retries with back-off.
//!
//! Delivery is **at least once**: if the link breaks or the printer stops answering after a
//! job was written but before the printer confirmed it, the job is sent again on the next
//! connection, and a printer that kept the format in its buffer will print it twice. Nothing
//! in raw ZPL lets a host ask "did you print job N?". The opposite loss (deleted but never
//! printed) needs the printer to lose a format after reporting an empty buffer — only a power
//! cut between "buffer empty" and the paper leaving the printer.

use std::time::Duration;

use serde::Deserialize;
use stockpost_common::label::host_status::{
    parse_host_status, reply_is_complete, HostStatus, PrinterProblem, HOST_STATUS_QUERY,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::config_error::from_table;
use super::serial::{FlowControl, Parity, SerialFields, SERIAL_KEYS};
use super::spool::Spool;
use super::{Backoff, BackoffConfig, Connector, DeviceConfigError, DeviceStream, LinkState};

const DEVICE: &str = "printer";
/// Largest `~HS` reply accepted (three short lines in practice).
const MAX_STATUS_BYTES: usize = 4096;

/// What the printer last said about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterState {
    /// Not asked yet on this connection.
    Unknown,
    /// Ready, nothing pending in the printer.
    Ready,
    /// Ready but still printing what it was sent.
    Printing,
    /// `~HS` reported problems (nothing is sent until they clear).
    Problems(Vec<PrinterProblem>),
    /// No (or no parsable) `~HS` answer in time: printer in error (media/ribbon out, head open
    /// on newer firmware), busy or off.
    NoStatusAnswer,
}

/// The printer driver's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterStatus {
    /// Link state.
    pub link: LinkState,
    /// Successful connections so far.
    pub connections: u64,
    /// Printer state from `~HS`.
    pub state: PrinterState,
    /// Last error (IO, timeout, spool).
    pub last_error: Option<String>,
    /// Jobs confirmed printed and removed from the spool.
    pub printed: u64,
    /// Job writes that were not confirmed (link lost or problem after writing): each may have
    /// printed, and will be sent again.
    pub unconfirmed_writes: u64,
}

/// `[stations.printer]` as written in agent.toml.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct PrinterConfig {
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
    /// `none` | `software` | `hardware` (many printers use Xon/Xoff).
    pub flow_control: Option<FlowControl>,
    /// Exclusive open (default true).
    pub exclusive: Option<bool>,
    /// Printer address, e.g. `10.0.0.50:9100`.
    pub tcp: Option<String>,
    /// TCP connect timeout.
    pub connect_timeout_ms: u64,
    /// Timeout for writing one job.
    pub write_timeout_ms: u64,
    /// Timeout for a complete `~HS` answer.
    pub status_timeout_ms: u64,
    /// Status poll interval while the printer reports a problem or is printing.
    pub status_poll_ms: u64,
    /// Status poll interval while idle (no job).
    pub idle_poll_ms: u64,
    /// First reconnect delay.
    pub backoff_initial_ms: u64,
    /// Longest reconnect delay.
    pub backoff_max_ms: u64,
}

impl Default for PrinterConfig {
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
            connect_timeout_ms: 3000,
            write_timeout_ms: 10_000,
            status_timeout_ms: 2000,
            status_poll_ms: 1000,
            idle_poll_ms: 10_000,
            backoff_initial_ms: b.initial_ms,
            backoff_max_ms: b.max_ms,
        }
    }
}

const KEYS: [&str; 8] = [
    "tcp",
    "connect_timeout_ms",
    "write_timeout_ms",
    "status_timeout_ms",
    "status_poll_ms",
    "idle_poll_ms",
    "backoff_initial_ms",
    "backoff_max_ms",
];

impl PrinterConfig {
    /// Parses and validates a station's `printer` table.
    pub fn from_toml(value: &toml::Value) -> Result<Self, DeviceConfigError> {
        let known: Vec<&str> = KEYS.iter().chain(SERIAL_KEYS.iter()).copied().collect();
        let config: Self = from_table(DEVICE, value, &known)?;
        config.options()?;
        config.connector()?;
        Ok(config)
    }

    /// The connector (exactly one of `serial`, `tcp`).
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
                "tcp",
                "set exactly one of `tcp` (e.g. \"10.0.0.50:9100\") or `serial`",
            )),
        }
    }

    /// The driver options; validated.
    pub fn options(&self) -> Result<PrinterOptions, DeviceConfigError> {
        for (key, value) in [
            ("connect_timeout_ms", self.connect_timeout_ms),
            ("write_timeout_ms", self.write_timeout_ms),
            ("status_timeout_ms", self.status_timeout_ms),
            ("status_poll_ms", self.status_poll_ms),
            ("idle_poll_ms", self.idle_poll_ms),
        ] {
            if !(10..=600_000).contains(&value) {
                return Err(DeviceConfigError::invalid(
                    DEVICE,
                    key,
                    "must be 10..=600000",
                ));
            }
        }
        let backoff = BackoffConfig {
            initial_ms: self.backoff_initial_ms,
            max_ms: self.backoff_max_ms,
        };
        backoff.validate(DEVICE)?;
        Ok(PrinterOptions {
            write_timeout: Duration::from_millis(self.write_timeout_ms),
            status_timeout: Duration::from_millis(self.status_timeout_ms),
            status_poll: Duration::from_millis(self.status_poll_ms),
            idle_poll: Duration::from_millis(self.idle_poll_ms),
            backoff,
        })
    }
}

/// What the driver needs besides its connector and spool.
#[derive(Debug, Clone)]
pub struct PrinterOptions {
    /// Timeout for writing one job.
    pub write_timeout: Duration,
    /// Timeout for a complete `~HS` answer.
    pub status_timeout: Duration,
    /// Poll interval while a problem is reported or the printer is printing.
    pub status_poll: Duration,
    /// Poll interval while idle.
    pub idle_poll: Duration,
    /// Reconnect back-off.
    pub backoff: BackoffConfig,
}

impl Default for PrinterOptions {
    fn default() -> Self {
        #[allow(clippy::unwrap_used)] // the default config is valid; checked by a unit test
        PrinterConfig::default().options().unwrap()
    }
}

/// The running driver.
#[derive(Debug)]
pub struct PrinterHandle {
    /// Printer status.
    pub status: watch::Receiver<PrinterStatus>,
    task: JoinHandle<()>,
}

impl PrinterHandle {
    /// Stops the driver (also done on drop). Jobs stay in the spool.
    pub fn shutdown(self) {
        self.task.abort();
    }
}

impl Drop for PrinterHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The printer driver task.
#[derive(Debug)]
pub struct PrinterDriver;

impl PrinterDriver {
    /// Spawns the driver; it prints `spool` until shut down.
    pub fn spawn(options: PrinterOptions, connector: Connector, spool: Spool) -> PrinterHandle {
        let (tx, status) = watch::channel(PrinterStatus {
            link: LinkState::Connecting,
            connections: 0,
            state: PrinterState::Unknown,
            last_error: None,
            printed: 0,
            unconfirmed_writes: 0,
        });
        let task = tokio::spawn(run(options, connector, spool, tx));
        PrinterHandle { status, task }
    }
}

async fn run(
    options: PrinterOptions,
    mut connector: Connector,
    spool: Spool,
    status: watch::Sender<PrinterStatus>,
) {
    let mut backoff = Backoff::new(options.backoff);
    let described = connector.describe();
    loop {
        status.send_modify(|s| s.link = LinkState::Connecting);
        let error = match connector.connect().await {
            Ok(stream) => {
                status.send_modify(|s| {
                    s.link = LinkState::Connected;
                    s.connections += 1;
                    s.state = PrinterState::Unknown;
                });
                backoff.reset();
                tracing::info!(device = DEVICE, link = %described, "printer connected");
                session(&options, stream, &spool, &status).await
            }
            Err(e) => format!("connect: {e}"),
        };
        tracing::warn!(device = DEVICE, link = %described, error = %error, "printer link closed; retrying");
        status.send_modify(|s| {
            s.link = LinkState::Disconnected;
            s.last_error = Some(error);
        });
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

fn set_state(status: &watch::Sender<PrinterStatus>, state: PrinterState) {
    status.send_if_modified(|s| {
        let changed = s.state != state;
        s.state = state;
        changed
    });
}

fn state_of(hs: &HostStatus) -> PrinterState {
    let problems = hs.problems();
    if !problems.is_empty() {
        PrinterState::Problems(problems)
    } else if hs.formats_in_buffer > 0 || hs.labels_remaining > 0 || hs.partial_format_in_progress {
        PrinterState::Printing
    } else {
        PrinterState::Ready
    }
}

/// Runs one connection until it is lost; returns why.
async fn session(
    options: &PrinterOptions,
    mut stream: DeviceStream,
    spool: &Spool,
    status: &watch::Sender<PrinterStatus>,
) -> String {
    loop {
        let state = match query_status(options, &mut stream).await {
            Err(e) => return e,
            Ok(None) => {
                set_state(status, PrinterState::NoStatusAnswer);
                return format!(
                    "no ~HS answer within {} ms: printer in error (media/ribbon out, head open) or off",
                    options.status_timeout.as_millis()
                );
            }
            Ok(Some(hs)) => state_of(&hs),
        };
        let ready = state == PrinterState::Ready;
        set_state(status, state);
        if !ready {
            tokio::time::sleep(options.status_poll).await;
            continue;
        }
        let job = match spool.first().await {
            Ok(job) => job,
            Err(e) => {
                status.send_modify(|s| s.last_error = Some(e.to_string()));
                tokio::time::sleep(options.status_poll).await;
                continue;
            }
        };
        let Some(job) = job else {
            tokio::select! {
                () = spool.notified() => {}
                () = tokio::time::sleep(options.idle_poll) => {}
            }
            continue;
        };
        let written = tokio::time::timeout(options.write_timeout, async {
            stream.write_all(&job.zpl).await?;
            stream.flush().await
        })
        .await;
        match written {
            Err(_) => {
                status.send_modify(|s| s.unconfirmed_writes += 1);
                return format!(
                    "job {}: write not finished within {} ms",
                    job.seq,
                    options.write_timeout.as_millis()
                );
            }
            Ok(Err(e)) => {
                status.send_modify(|s| s.unconfirmed_writes += 1);
                return format!("job {}: write: {e}", job.seq);
            }
            Ok(Ok(())) => {}
        }
        // Confirm: the printer is OK and has nothing of ours left in its buffer.
        loop {
            let hs = match query_status(options, &mut stream).await {
                Err(e) => {
                    status.send_modify(|s| s.unconfirmed_writes += 1);
                    return format!("job {} written, then: {e}", job.seq);
                }
                Ok(None) => {
                    set_state(status, PrinterState::NoStatusAnswer);
                    status.send_modify(|s| s.unconfirmed_writes += 1);
                    return format!("job {} written, then no ~HS answer", job.seq);
                }
                Ok(Some(hs)) => hs,
            };
            let state = state_of(&hs);
            let done = state == PrinterState::Ready;
            set_state(status, state);
            if done {
                break;
            }
            tokio::time::sleep(options.status_poll).await;
        }
        if let Err(e) = spool.remove(job.seq).await {
            // The label printed but stays spooled: it will print again (at-least-once).
            status.send_modify(|s| s.last_error = Some(format!("job {}: {e}", job.seq)));
            tokio::time::sleep(options.status_poll).await;
            continue;
        }
        tracing::info!(device = DEVICE, job = job.seq, reference = %job.reference, "label printed");
        status.send_modify(|s| s.printed += 1);
    }
}

/// Sends `~HS` and reads the three-line answer. `Ok(None)`: no complete, parsable answer in
/// time. `Err`: the link is gone.
async fn query_status(
    options: &PrinterOptions,
    stream: &mut DeviceStream,
) -> Result<Option<HostStatus>, String> {
    let mut buf = [0u8; 512];
    // Discard a late answer to an earlier query.
    loop {
        match tokio::time::timeout(Duration::ZERO, stream.read(&mut buf)).await {
            Err(_) => break,
            Ok(Ok(0)) => return Err("the printer closed the connection".into()),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(format!("read: {e}")),
        }
    }
    let sent = tokio::time::timeout(options.write_timeout, async {
        stream.write_all(HOST_STATUS_QUERY).await?;
        stream.flush().await
    })
    .await;
    match sent {
        Err(_) => return Err("~HS: write timed out".into()),
        Ok(Err(e)) => return Err(format!("~HS: write: {e}")),
        Ok(Ok(())) => {}
    }
    let deadline = tokio::time::Instant::now() + options.status_timeout;
    let mut reply = Vec::new();
    while !reply_is_complete(&reply) {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return Ok(None),
            Ok(Ok(0)) => return Err("the printer closed the connection".into()),
            Ok(Ok(n)) => reply.extend_from_slice(buf.get(..n).unwrap_or_default()),
            Ok(Err(e)) => return Err(format!("read: {e}")),
        }
        if reply.len() > MAX_STATUS_BYTES {
            return Ok(None);
        }
    }
    Ok(parse_host_status(&reply).ok())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_default_options_are_valid() {
        let _ = PrinterOptions::default();
    }

    #[test]
    fn the_shipped_example_parses_and_a_missing_address_is_named() {
        let v: toml::Value = toml::from_str("tcp = \"10.0.0.50:9100\"").unwrap();
        let c = PrinterConfig::from_toml(&v).unwrap();
        assert!(matches!(
            c.connector().unwrap(),
            Connector::TcpConnect { .. }
        ));
        let v: toml::Value = toml::from_str("status_timeout_ms = 500").unwrap();
        let e = PrinterConfig::from_toml(&v).unwrap_err();
        assert!(e.to_string().starts_with("printer.tcp:"), "{e}");
    }
}
