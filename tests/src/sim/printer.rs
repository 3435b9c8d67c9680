//! A ZPL label printer on `127.0.0.1:0` (raw TCP, like port 9100): accumulates formats split on
//! `^XZ`, answers `~HS` with scripted status lines, can go silent (no `~HS` answer, as real
//! firmware does on media out / head open) or reset the connection in the middle of a job.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Flags the printer reports in `~HS`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HsFlags {
    /// String 1 `b`.
    pub paper_out: bool,
    /// String 1 `c`.
    pub paused: bool,
    /// String 2 `o`.
    pub head_open: bool,
    /// String 2 `p`.
    pub ribbon_out: bool,
}

impl HsFlags {
    /// The three `<STX>…<ETX><CR><LF>` lines.
    pub fn reply(&self) -> Vec<u8> {
        let b = |f: bool| u8::from(f);
        format!(
            "\x02030,{},{},1225,000,0,0,0,000,0,0,0\x03\r\n\x02001,0,{},{},0,2,6,0,00000000,1,000\x03\r\n\x021234,0\x03\r\n",
            b(self.paper_out),
            b(self.paused),
            b(self.head_open),
            b(self.ribbon_out)
        )
        .into_bytes()
    }
}

#[derive(Debug, Default)]
struct State {
    flags: HsFlags,
    silent: bool,
    reset_next_job_after: Option<usize>,
    connections: u64,
}

/// The simulated printer.
#[derive(Debug)]
pub struct PrinterSim {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    printed: watch::Receiver<Vec<String>>,
    hs_queries: watch::Receiver<u64>,
    task: JoinHandle<()>,
}

impl PrinterSim {
    /// Starts listening on `127.0.0.1:0`.
    pub async fn start() -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::default()));
        let (printed_tx, printed) = watch::channel(Vec::new());
        let (hs_tx, hs_queries) = watch::channel(0u64);
        let outputs = Arc::new(Outputs {
            printed: printed_tx,
            hs_queries: hs_tx,
        });
        let s = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                lock(&s).connections += 1;
                tokio::spawn(serve(conn, s.clone(), outputs.clone()));
            }
        });
        Ok(Self {
            addr,
            state,
            printed,
            hs_queries,
            task,
        })
    }

    /// `host:port` to configure the driver with.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// Sets the status flags.
    pub fn set_flags(&self, flags: HsFlags) {
        lock(&self.state).flags = flags;
    }

    /// Stops (or resumes) answering `~HS`.
    pub fn set_silent(&self, silent: bool) {
        lock(&self.state).silent = silent;
    }

    /// The next job's connection is reset (RST) after `bytes` bytes of it arrived.
    pub fn reset_next_job_after(&self, bytes: usize) {
        lock(&self.state).reset_next_job_after = Some(bytes);
    }

    /// Completed formats (`^XA … ^XZ`), in the order received.
    pub fn printed(&self) -> watch::Receiver<Vec<String>> {
        self.printed.clone()
    }

    /// `~HS` queries received (a watch, to wait for "asked N more times").
    pub fn hs_queries(&self) -> watch::Receiver<u64> {
        self.hs_queries.clone()
    }

    /// Connections accepted.
    pub fn connections(&self) -> u64 {
        lock(&self.state).connections
    }
}

impl Drop for PrinterSim {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[derive(Debug)]
struct Outputs {
    printed: watch::Sender<Vec<String>>,
    hs_queries: watch::Sender<u64>,
}

async fn serve(mut conn: TcpStream, state: Arc<Mutex<State>>, outputs: Arc<Outputs>) {
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = match conn.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let mut data = &buf[..n];
        let reset = {
            let mut s = lock(&state);
            match s.reset_next_job_after {
                Some(limit) if find(data, b"^XA").is_some() => {
                    s.reset_next_job_after = None;
                    data = &data[..limit.min(data.len())];
                    true
                }
                _ => false,
            }
        };
        pending.extend_from_slice(data);
        if reset {
            // The partial format dies with the connection, as on a real printer.
            let _ = conn.set_zero_linger();
            return;
        }
        while let Some(p) = find(&pending, b"~HS") {
            pending.drain(p..p + 3);
            outputs.hs_queries.send_modify(|n| *n += 1);
            let reply = {
                let s = lock(&state);
                (!s.silent).then(|| s.flags.reply())
            };
            if let Some(reply) = reply {
                if conn.write_all(&reply).await.is_err() {
                    return;
                }
            }
        }
        while let Some(p) = find(&pending, b"^XZ") {
            let format: Vec<u8> = pending.drain(..p + 3).collect();
            let start = find(&format, b"^XA").unwrap_or(0);
            let text = String::from_utf8_lossy(&format[start..]).into_owned();
            outputs.printed.send_modify(|v| v.push(text));
        }
    }
}
