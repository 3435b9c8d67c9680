//! A serial barcode scanner on a pty: sends payloads with a configured terminator, garbage,
//! double fires and 7-bit parity; unplugs by being dropped.

use std::io;

use stockpost_agent::devices::DeviceStream;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio_serial::SerialStream;

/// The simulated scanner (the pty master).
#[derive(Debug)]
pub struct ScannerSim {
    port: SerialStream,
    terminator: Vec<u8>,
}

impl ScannerSim {
    /// Plugs a new scanner into the driver's hand-off connector.
    pub async fn plug(handoff: &mpsc::Sender<DeviceStream>, terminator: &[u8]) -> io::Result<Self> {
        Ok(Self {
            port: super::plug(handoff).await?,
            terminator: terminator.to_vec(),
        })
    }

    /// Wraps an existing pty master (when the driver opens the slave by path).
    pub fn from_master(port: SerialStream, terminator: &[u8]) -> Self {
        Self {
            port,
            terminator: terminator.to_vec(),
        }
    }

    /// One scan: payload + terminator in one write.
    pub async fn scan(&mut self, payload: &[u8]) -> io::Result<()> {
        let mut bytes = payload.to_vec();
        bytes.extend_from_slice(&self.terminator);
        self.raw(&bytes).await
    }

    /// The same scan twice in one burst (a trigger bounce / double read).
    pub async fn double_fire(&mut self, payload: &[u8]) -> io::Result<()> {
        let mut bytes = payload.to_vec();
        bytes.extend_from_slice(&self.terminator);
        let twice = [bytes.clone(), bytes].concat();
        self.raw(&twice).await
    }

    /// A scan from a 7E1 scanner read by an 8N1 port: bit 7 carries even parity.
    pub async fn scan_with_parity_bits(&mut self, payload: &[u8]) -> io::Result<()> {
        let mut bytes = payload.to_vec();
        bytes.extend_from_slice(&self.terminator);
        self.raw(&super::with_even_parity(&bytes)).await
    }

    /// Raw bytes (garbage, partial scans).
    pub async fn raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.port.write_all(bytes).await?;
        self.port.flush().await
    }

    /// Pulls the USB cable: the driver's end reads EOF/EIO.
    pub fn unplug(self) {
        drop(self);
    }
}
