//! Serial port settings (always configuration, never constants: devices.md §0) and opening a
//! port with tokio-serial.

use serde::Deserialize;
use tokio_serial::{ClearBuffer, SerialPort, SerialPortBuilderExt, SerialStream};

use super::DeviceConfigError;

/// Parity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Parity {
    /// No parity bit.
    #[default]
    None,
    /// Even parity.
    Even,
    /// Odd parity.
    Odd,
}

/// Flow control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlowControl {
    /// None.
    #[default]
    None,
    /// Xon/Xoff (software).
    Software,
    /// RTS/CTS (hardware).
    Hardware,
}

/// Settings of one serial port: `path`, `baud`, `data_bits` 7/8, `parity`, `stop_bits` 1/2,
/// `flow_control`. USB-CDC devices (`/dev/ttyACM*`) ignore baud and parity, but a value is still
/// required by the OS API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialSettings {
    /// Device path, e.g. `/dev/ttyUSB0` or `/dev/serial/by-id/usb-…` (stable across replug).
    pub path: String,
    /// Baud rate.
    pub baud: u32,
    /// 7 or 8.
    pub data_bits: u8,
    /// Parity.
    pub parity: Parity,
    /// 1 or 2.
    pub stop_bits: u8,
    /// Flow control.
    pub flow_control: FlowControl,
    /// Open exclusively (TIOCEXCL + exclusive flock; default). Turn off only to share a port
    /// with a diagnostic tool: two readers split a stream between them.
    pub exclusive: bool,
}

/// Accepted baud rates.
pub const BAUD_RATES: [u32; 11] = [
    1200, 2400, 4800, 9600, 14400, 19200, 28800, 38400, 57600, 115_200, 230_400,
];

impl SerialSettings {
    /// 9600 8N1, no flow control.
    pub fn new(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            baud: 9600,
            data_bits: 8,
            parity: Parity::None,
            stop_bits: 1,
            flow_control: FlowControl::None,
            exclusive: true,
        }
    }

    /// Checks every field; the error names the key.
    pub fn validate(&self, device: &'static str) -> Result<(), DeviceConfigError> {
        if self.path.trim().is_empty() {
            return Err(DeviceConfigError::invalid(
                device,
                "serial",
                "the device path is empty",
            ));
        }
        if !BAUD_RATES.contains(&self.baud) {
            return Err(DeviceConfigError::invalid(
                device,
                "baud",
                format!("{} is not one of {:?}", self.baud, BAUD_RATES),
            ));
        }
        if !matches!(self.data_bits, 7 | 8) {
            return Err(DeviceConfigError::invalid(
                device,
                "data_bits",
                format!("{} is not 7 or 8", self.data_bits),
            ));
        }
        if !matches!(self.stop_bits, 1 | 2) {
            return Err(DeviceConfigError::invalid(
                device,
                "stop_bits",
                format!("{} is not 1 or 2", self.stop_bits),
            ));
        }
        Ok(())
    }

    /// Opens the port with these settings (exclusive) and discards whatever the OS buffered
    /// before we opened it (stale scans, a continuous scale's backlog).
    pub fn open(&self) -> Result<SerialStream, tokio_serial::Error> {
        let builder = tokio_serial::new(&self.path, self.baud)
            .data_bits(if self.data_bits == 7 {
                tokio_serial::DataBits::Seven
            } else {
                tokio_serial::DataBits::Eight
            })
            .parity(match self.parity {
                Parity::None => tokio_serial::Parity::None,
                Parity::Even => tokio_serial::Parity::Even,
                Parity::Odd => tokio_serial::Parity::Odd,
            })
            .stop_bits(if self.stop_bits == 2 {
                tokio_serial::StopBits::Two
            } else {
                tokio_serial::StopBits::One
            })
            .flow_control(match self.flow_control {
                FlowControl::None => tokio_serial::FlowControl::None,
                FlowControl::Software => tokio_serial::FlowControl::Software,
                FlowControl::Hardware => tokio_serial::FlowControl::Hardware,
            })
            .exclusive(self.exclusive);
        let port = builder.open_native_async()?;
        port.clear(ClearBuffer::Input)?;
        Ok(port)
    }
}

/// The serial keys shared by every device table (flattened into each device's config).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct SerialFields {
    /// Device path; presence selects the serial transport.
    pub serial: Option<String>,
    /// Baud rate (default 9600).
    pub baud: Option<u32>,
    /// 7 or 8 (default 8).
    pub data_bits: Option<u8>,
    /// `none` | `even` | `odd` (default none).
    pub parity: Option<Parity>,
    /// 1 or 2 (default 1).
    pub stop_bits: Option<u8>,
    /// `none` | `software` | `hardware` (default none).
    pub flow_control: Option<FlowControl>,
    /// Exclusive open (default true).
    pub exclusive: Option<bool>,
}

/// Key names of [`SerialFields`].
pub const SERIAL_KEYS: [&str; 7] = [
    "serial",
    "baud",
    "data_bits",
    "parity",
    "stop_bits",
    "flow_control",
    "exclusive",
];

impl SerialFields {
    /// The settings, when `serial` is set; validated.
    pub fn settings(
        &self,
        device: &'static str,
    ) -> Result<Option<SerialSettings>, DeviceConfigError> {
        let Some(path) = &self.serial else {
            if self.baud.is_some()
                || self.data_bits.is_some()
                || self.parity.is_some()
                || self.stop_bits.is_some()
            {
                return Err(DeviceConfigError::invalid(
                    device,
                    "serial",
                    "baud/data_bits/parity/stop_bits are set but no serial device path",
                ));
            }
            return Ok(None);
        };
        let mut s = SerialSettings::new(path.clone());
        if let Some(b) = self.baud {
            s.baud = b;
        }
        if let Some(d) = self.data_bits {
            s.data_bits = d;
        }
        if let Some(p) = self.parity {
            s.parity = p;
        }
        if let Some(sb) = self.stop_bits {
            s.stop_bits = sb;
        }
        if let Some(f) = self.flow_control {
            s.flow_control = f;
        }
        if let Some(x) = self.exclusive {
            s.exclusive = x;
        }
        s.validate(device)?;
        Ok(Some(s))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_seven_bit_even_parity_port_is_accepted_and_nine_bits_are_not() {
        let f = SerialFields {
            serial: Some("/dev/ttyUSB0".into()),
            data_bits: Some(7),
            parity: Some(Parity::Even),
            ..Default::default()
        };
        let s = f.settings("scale").unwrap().unwrap();
        assert_eq!(
            (s.baud, s.data_bits, s.parity, s.stop_bits),
            (9600, 7, Parity::Even, 1)
        );
        let bad = SerialFields {
            data_bits: Some(9),
            ..f
        };
        assert_eq!(
            bad.settings("scale").unwrap_err().to_string(),
            "scale.data_bits: 9 is not 7 or 8"
        );
    }

    #[test]
    fn an_unusual_baud_rate_is_rejected_naming_the_key() {
        let f = SerialFields {
            serial: Some("/dev/ttyUSB0".into()),
            baud: Some(9601),
            ..Default::default()
        };
        assert!(f
            .settings("scanner")
            .unwrap_err()
            .to_string()
            .starts_with("scanner.baud: 9601"));
    }
}
