//! How a driver obtains a byte stream to its device, again and again after every unplug.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::SerialSettings;

/// A bidirectional device byte stream.
pub trait DeviceIo: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> DeviceIo for T {}

/// A boxed device stream (serial port, TCP socket, pseudo-terminal end).
pub type DeviceStream = Box<dyn DeviceIo>;

/// Where a driver gets its stream from. `connect` is called at start and after every loss.
#[derive(Debug)]
pub enum Connector {
    /// Open a serial / USB-CDC port (input buffer cleared on open).
    Serial(SerialSettings),
    /// Connect out to a TCP device (printer on 9100, serial device server, MT-SICS over TCP).
    TcpConnect {
        /// `host:port`.
        addr: String,
        /// Connect timeout.
        timeout: Duration,
    },
    /// Listen on an address and accept one device connection at a time; further connections
    /// wait in the OS backlog until the current one ends.
    TcpListen {
        /// `host:port` to bind.
        addr: String,
        /// Bound lazily on the first `connect`, kept across connections.
        listener: Option<TcpListener>,
    },
    /// Streams handed in by the host program (already-open ports, pseudo-terminals in tests).
    /// Each `connect` waits for the next stream; a closed sender makes `connect` fail.
    Handoff(mpsc::Receiver<DeviceStream>),
}

impl Connector {
    /// A hand-off connector and the sender that feeds it (bounded to `capacity` waiting streams).
    pub fn handoff(capacity: usize) -> (mpsc::Sender<DeviceStream>, Self) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (tx, Self::Handoff(rx))
    }

    /// A listening connector bound now (so the caller learns the port of `127.0.0.1:0`).
    pub async fn tcp_listen_bound(addr: &str) -> io::Result<(Self, SocketAddr)> {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        Ok((
            Self::TcpListen {
                addr: addr.to_string(),
                listener: Some(listener),
            },
            local,
        ))
    }

    /// A short description for logs and status.
    pub fn describe(&self) -> String {
        match self {
            Self::Serial(s) => format!("serial {}", s.path),
            Self::TcpConnect { addr, .. } => format!("tcp {addr}"),
            Self::TcpListen { addr, .. } => format!("tcp listen {addr}"),
            Self::Handoff(_) => "handed-in stream".to_string(),
        }
    }

    /// Whether the stream is a serial port (bytes a real UART would have dropped may be queued
    /// on other transports).
    pub fn is_serial(&self) -> bool {
        matches!(self, Self::Serial(_))
    }

    /// The next stream to the device.
    pub async fn connect(&mut self) -> io::Result<DeviceStream> {
        match self {
            Self::Serial(settings) => {
                let port = settings
                    .open()
                    .map_err(|e| io::Error::other(format!("open {}: {e}", settings.path)))?;
                Ok(Box::new(port))
            }
            Self::TcpConnect { addr, timeout } => {
                let stream = tokio::time::timeout(*timeout, TcpStream::connect(addr.as_str()))
                    .await
                    .map_err(|_| {
                        io::Error::new(
                            io::ErrorKind::TimedOut,
                            format!(
                                "connect {addr}: no answer within {} ms",
                                timeout.as_millis()
                            ),
                        )
                    })??;
                stream.set_nodelay(true)?;
                Ok(Box::new(stream))
            }
            Self::TcpListen { addr, listener } => {
                let l = match listener {
                    Some(l) => l,
                    None => listener.insert(TcpListener::bind(addr.as_str()).await?),
                };
                let (stream, _peer) = l.accept().await?;
                stream.set_nodelay(true)?;
                Ok(Box::new(stream))
            }
            Self::Handoff(rx) => rx.recv().await.ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotConnected,
                    "no more device streams will be handed in",
                )
            }),
        }
    }
}
