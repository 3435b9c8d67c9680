//! Scales on a pty: request/response ones (MT-SICS, NCI, CAS ECR) answer commands from a
//! script; continuous ones (Toledo, CAS 22-byte, generic) stream the current frame at a fixed
//! interval, optionally after a backlog of stale frames that a late reader finds queued.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use stockpost_agent::devices::DeviceStream;
use stockpost_common::scale::ScaleProtocol;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_serial::{SerialPort, SerialStream};

/// Frame builders (the bytes real devices send; see devices.md §1).
pub mod frames {
    /// Toledo SWB bit: net weight.
    pub const NET: u8 = 0x01;
    /// Toledo SWB bit: negative.
    pub const NEGATIVE: u8 = 0x02;
    /// Toledo SWB bit: out of range.
    pub const OUT_OF_RANGE: u8 = 0x04;
    /// Toledo SWB bit: motion.
    pub const MOTION: u8 = 0x08;

    /// An MT-SICS line with `<CR><LF>`.
    pub fn mt(line: &str) -> Vec<u8> {
        format!("{line}\r\n").into_bytes()
    }

    /// An 18-byte Toledo frame, kg, `XXX.XXX` (display in grams), with checksum.
    pub fn toledo(display: u32, tare: u32, swb_flags: u8) -> Vec<u8> {
        let mut f = vec![0x02, 0x2D, 0x30 | swb_flags, 0x20];
        f.extend(format!("{:06}{:06}", display % 1_000_000, tare % 1_000_000).bytes());
        f.push(0x0D);
        let sum: u32 = f.iter().map(|&b| u32::from(b & 0x7F)).sum();
        f.push(((128 - sum % 128) % 128) as u8);
        f
    }

    /// A Toledo frame whose checksum is wrong.
    pub fn toledo_bad_checksum(display: u32) -> Vec<u8> {
        let mut f = toledo(display, 0, 0);
        if let Some(last) = f.last_mut() {
            *last = (*last + 1) & 0x7F;
        }
        f
    }

    /// An NCI reply to `W`: `<LF>weight<CR><LF>status<CR><ETX>`.
    pub fn nci(weight: &str, status: &str) -> Vec<u8> {
        format!("\n{weight}\r\n{status}\r\x03").into_bytes()
    }

    /// A CAS ECR weight frame: `SOH STX STA SIGN W5..W0 U1 U0 BCC ETX EOT`.
    pub fn cas_ecr(sta: u8, sign: u8, weight6: &str, unit2: &str) -> Vec<u8> {
        let mut data = vec![sta, sign];
        data.extend(weight6.bytes());
        data.extend(unit2.bytes());
        let bcc = data.iter().fold(0u8, |a, b| a ^ b);
        let mut f = vec![0x01, 0x02];
        f.extend(data);
        f.extend([bcc, 0x03, 0x04]);
        f
    }

    /// A CAS 22-byte frame `ST,GS,1<lamp>,0001.234 kg<CR><LF>`.
    pub fn cas22(header: &str, mode: &str, lamp: u8, weight8: &str, unit3: &str) -> Vec<u8> {
        let mut f = format!("{header},{mode},1").into_bytes();
        f.push(lamp);
        f.push(b',');
        f.extend(weight8.bytes());
        f.extend(unit3.bytes());
        f.extend(b"\r\n");
        f
    }

    /// A generic indicator line with `<CR><LF>`.
    pub fn generic(line: &str) -> Vec<u8> {
        format!("{line}\r\n").into_bytes()
    }
}

/// What a polled scale answers.
#[derive(Debug, Default)]
pub struct PolledScript {
    /// Replies to the weigh command (`SI`/`S`, `W`, `DC1`), in order.
    pub replies: VecDeque<Vec<u8>>,
    /// Reply once `replies` is empty.
    pub fallback: Vec<u8>,
    /// CAS ECR: replies to `ENQ` (ACK when empty).
    pub enq_replies: VecDeque<u8>,
    /// Answer nothing (a wedged or powered-off scale).
    pub silent: bool,
    /// Sent once, just before the next reply (e.g. an unsolicited `I4 A "…"` power-up line).
    pub unsolicited: Option<Vec<u8>>,
    /// Every command received, without terminator.
    pub commands: Vec<Vec<u8>>,
}

/// A request/response scale.
#[derive(Debug)]
pub struct PolledScaleSim {
    script: Arc<Mutex<PolledScript>>,
    task: JoinHandle<()>,
}

impl PolledScaleSim {
    /// Plugs a scale speaking `protocol` into the driver's hand-off connector.
    pub async fn plug(
        handoff: &mpsc::Sender<DeviceStream>,
        protocol: ScaleProtocol,
        script: PolledScript,
    ) -> io::Result<Self> {
        let port = super::plug(handoff).await?;
        let script = Arc::new(Mutex::new(script));
        let task = tokio::spawn(answer(port, protocol, script.clone()));
        Ok(Self { script, task })
    }

    /// Changes the script.
    pub fn with<R>(&self, f: impl FnOnce(&mut PolledScript) -> R) -> R {
        let mut guard = self.script.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    /// The commands received so far.
    pub fn commands(&self) -> Vec<Vec<u8>> {
        self.with(|s| s.commands.clone())
    }

    /// Pulls the cable.
    pub fn unplug(self) {
        self.task.abort();
    }
}

impl Drop for PolledScaleSim {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(mut port: SerialStream, protocol: ScaleProtocol, script: Arc<Mutex<PolledScript>>) {
    let mut pending = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        let n = match port.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        pending.extend_from_slice(&buf[..n]);
        let mut commands = Vec::new();
        match protocol {
            ScaleProtocol::MtSics => {
                while let Some(p) = pending.windows(2).position(|w| w == b"\r\n") {
                    commands.push(pending.drain(..p + 2).take(p).collect::<Vec<u8>>());
                }
            }
            ScaleProtocol::Nci => {
                while let Some(p) = pending.iter().position(|&b| b == b'\r') {
                    commands.push(pending.drain(..=p).take(p).collect::<Vec<u8>>());
                }
            }
            _ => commands.extend(pending.drain(..).map(|b| vec![b])),
        }
        for command in commands {
            let reply = {
                let mut s = script.lock().unwrap_or_else(|e| e.into_inner());
                s.commands.push(command.clone());
                if s.silent {
                    continue;
                }
                let weigh = |s: &mut PolledScript| {
                    let mut r = s.unsolicited.take().unwrap_or_default();
                    r.extend(s.replies.pop_front().unwrap_or_else(|| s.fallback.clone()));
                    r
                };
                match (protocol, command.as_slice()) {
                    (ScaleProtocol::MtSics, b"@") => frames::mt("I4 A \"B021002593\""),
                    (ScaleProtocol::MtSics, b"SI" | b"S") => weigh(&mut s),
                    (ScaleProtocol::MtSics, _) => frames::mt("ES"),
                    (ScaleProtocol::Nci, b"W") => weigh(&mut s),
                    (ScaleProtocol::Nci, _) => b"\n?\r\x03".to_vec(),
                    (_, [0x05]) => vec![s.enq_replies.pop_front().unwrap_or(0x06)],
                    (_, [0x11]) => weigh(&mut s),
                    _ => Vec::new(),
                }
            };
            if port.write_all(&reply).await.is_err() {
                return;
            }
        }
    }
}

/// A continuous-output scale.
#[derive(Debug)]
pub struct ContinuousScaleSim {
    frame: watch::Sender<Vec<u8>>,
    task: JoinHandle<()>,
}

impl ContinuousScaleSim {
    /// Plugs a scale that first has `backlog` queued (written before the driver reads, like
    /// minutes of output a pty keeps for a late reader), then sends `frame` every `interval`.
    pub async fn plug(
        handoff: &mpsc::Sender<DeviceStream>,
        backlog: &[u8],
        frame: Vec<u8>,
        interval: Duration,
    ) -> io::Result<Self> {
        let (mut master, slave) = SerialStream::pair().map_err(io::Error::other)?;
        if !backlog.is_empty() {
            master.write_all(backlog).await?;
            master.flush().await?;
            // The pty moves bytes to the slave asynchronously: wait until all are queued there.
            let queued = tokio::time::timeout(Duration::from_secs(2), async {
                while (slave.bytes_to_read().unwrap_or(0) as usize) < backlog.len() {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            })
            .await;
            if queued.is_err() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "backlog not queued in the pty",
                ));
            }
        }
        handoff
            .send(Box::new(slave))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the driver is gone"))?;
        let (tx, mut rx) = watch::channel(frame);
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            loop {
                tick.tick().await;
                let f = rx.borrow_and_update().clone();
                if master.write_all(&f).await.is_err() {
                    return;
                }
            }
        });
        Ok(Self { frame: tx, task })
    }

    /// Changes what the scale sends from now on.
    pub fn set_frame(&self, frame: Vec<u8>) {
        self.frame.send_replace(frame);
    }

    /// Pulls the cable.
    pub fn unplug(self) {
        self.task.abort();
    }
}

impl Drop for ContinuousScaleSim {
    fn drop(&mut self) {
        self.task.abort();
    }
}
