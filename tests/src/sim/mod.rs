//! Device simulators for the driver tests: pseudo-terminal devices on the far end of
//! `tokio_serial::SerialStream::pair()` (scanner, scales) and a TCP ZPL printer.
//!
//! The driver gets the pty slave (a real tty) through a hand-off connector; the simulator keeps
//! the master. Unplug = drop the simulator (the driver reads EOF/EIO); replug = plug a new pair.
//! Ptys move bytes instantly and keep everything written: baud, parity errors and UART overruns
//! cannot be simulated (devices.md §4.4), so parity is injected as bit 7 set on the bytes.

pub mod printer;
pub mod scale;
pub mod scanner;

use std::io;

use stockpost_agent::devices::DeviceStream;
use tokio::sync::mpsc;
use tokio_serial::SerialStream;

/// A fresh pty pair: the slave is handed to the driver, the master is returned.
pub async fn plug(handoff: &mpsc::Sender<DeviceStream>) -> io::Result<SerialStream> {
    let (master, slave) = SerialStream::pair().map_err(io::Error::other)?;
    handoff
        .send(Box::new(slave))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the driver is gone"))?;
    Ok(master)
}

/// Sets bit 7 of every byte so that each byte has even parity over 8 bits: what a 7E1 device
/// looks like to an 8N1 port.
pub fn with_even_parity(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .map(|&b| {
            let b = b & 0x7F;
            if b.count_ones() % 2 == 1 {
                b | 0x80
            } else {
                b
            }
        })
        .collect()
}
