//! NCI / Avery Weigh-Tronix / Brecknell "SCP-01" replies (devices.md §1.3).
//!
//! Replies: `<LF>weight+unit<CR><LF>status…<CR><ETX>` for `W`, `<LF>status…<CR><ETX>` for `S`/`Z`,
//! `<LF>?<CR><ETX>` for an unknown command. Over capacity is `^^^^`, under capacity `____`, zero
//! error `----` in the weight field. Status bytes: at least two; bit 6 of byte 2 (and later
//! bytes) announces one more; bit 7 is parity and is ignored.

use rust_decimal::Decimal;

use super::framing::{push_masked, Framer, FramerOptions, FramerStats};
use super::reading::{
    parse_weight_number, show_bytes, DeviceErrorSource, FrameError, ScaleCondition, WeightReading,
    WeightUnit,
};

const PROTOCOL: &str = "nci";
const LF: u8 = 0x0A;
const CR: u8 = 0x0D;
const ETX: u8 = 0x03;

/// Host commands (each followed by `<CR>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// `W`: weight and status.
    Weigh,
    /// `S`: status only.
    Status,
    /// `Z`: zero.
    Zero,
    /// `T`: tare.
    Tare,
    /// `U`: change units.
    ChangeUnits,
    /// `H`: high-resolution weight.
    HighResolution,
}

impl Command {
    /// The bytes to send.
    pub fn encode(self) -> [u8; 2] {
        let c = match self {
            Self::Weigh => b'W',
            Self::Status => b'S',
            Self::Zero => b'Z',
            Self::Tare => b'T',
            Self::ChangeUnits => b'U',
            Self::HighResolution => b'H',
        };
        [c, CR]
    }
}

/// Decoded status bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NciStatus {
    /// Byte 1 bit 0.
    pub motion: bool,
    /// Byte 1 bit 1.
    pub at_zero: bool,
    /// Byte 1 bit 2.
    pub ram_error: bool,
    /// Byte 1 bit 3.
    pub eeprom_error: bool,
    /// Byte 2 bit 0.
    pub under_capacity: bool,
    /// Byte 2 bit 1.
    pub over_capacity: bool,
    /// Byte 2 bit 2.
    pub rom_error: bool,
    /// Byte 2 bit 3.
    pub faulty_calibration: bool,
    /// Byte 3 bits 0–1 (0 low … 3 high), when byte 3 was sent.
    pub range: Option<u8>,
    /// Byte 3 bit 2, when byte 3 was sent.
    pub net: Option<bool>,
    /// Byte 3 bit 3.
    pub initial_zero_error: bool,
    /// The status bytes as received (parity bit cleared).
    pub raw: Vec<u8>,
}

impl NciStatus {
    fn device_error(&self) -> Option<DeviceErrorSource> {
        if self.ram_error {
            Some(DeviceErrorSource::Ram)
        } else if self.rom_error {
            Some(DeviceErrorSource::Rom)
        } else if self.eeprom_error {
            Some(DeviceErrorSource::Eeprom)
        } else if self.faulty_calibration {
            Some(DeviceErrorSource::Calibration)
        } else {
            None
        }
    }
}

/// One parsed reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NciResponse {
    /// Weight line + status (reply to `W`/`H`).
    Weight {
        /// The normalised reading.
        reading: WeightReading,
        /// The decoded status.
        status: NciStatus,
    },
    /// Units line + status (reply to `U`).
    Units {
        /// The new unit.
        unit: WeightUnit,
        /// The decoded status.
        status: NciStatus,
    },
    /// Status only (reply to `S`, `Z`).
    Status(NciStatus),
    /// `?`: the scale did not understand the command.
    UnknownCommand,
}

impl NciResponse {
    /// The weight reading, for weight replies.
    pub fn reading(&self) -> Option<&WeightReading> {
        match self {
            Self::Weight { reading, .. } => Some(reading),
            _ => None,
        }
    }
}

/// Incremental framer: output frames run from `<LF>` to `<ETX>` inclusive.
#[derive(Debug, Clone)]
pub struct NciFramer {
    options: FramerOptions,
    buf: Vec<u8>,
    stats: FramerStats,
}

impl NciFramer {
    /// A framer with the given options.
    pub fn new(options: FramerOptions) -> Self {
        Self {
            options,
            buf: Vec::new(),
            stats: FramerStats::default(),
        }
    }

    fn discard(&mut self, n: usize) {
        let n = n.min(self.buf.len());
        self.buf.drain(..n);
        self.stats.discarded_bytes += n as u64;
    }
}

impl Framer for NciFramer {
    fn push(&mut self, bytes: &[u8]) {
        push_masked(&mut self.buf, bytes, self.options.mask_7bit);
    }

    fn next_frame(&mut self) -> Option<Vec<u8>> {
        loop {
            match self.buf.iter().position(|&b| b == LF) {
                Some(p) => self.discard(p),
                None => {
                    let n = self.buf.len();
                    self.discard(n);
                    return None;
                }
            }
            let Some(etx) = self.buf.iter().position(|&b| b == ETX) else {
                if self.buf.len() > self.options.max_frame_len {
                    self.stats.dropped_frames += 1;
                    self.discard(1);
                    continue;
                }
                return None;
            };
            // An LF not preceded by CR starts a new reply: the one before it was truncated.
            let restart = (1..etx)
                .rev()
                .find(|&i| self.buf.get(i) == Some(&LF) && self.buf.get(i - 1) != Some(&CR));
            if let Some(i) = restart {
                self.stats.dropped_frames += 1;
                self.discard(i);
                continue;
            }
            if etx + 1 > self.options.max_frame_len {
                self.stats.dropped_frames += 1;
                self.discard(etx + 1);
                continue;
            }
            return Some(self.buf.drain(..=etx).collect());
        }
    }

    fn stats(&self) -> FramerStats {
        self.stats
    }
}

/// Parses a reply frame (`<LF>` … `<CR><ETX>`).
pub fn parse_frame(frame: &[u8]) -> Result<NciResponse, FrameError> {
    let masked: Vec<u8> = frame.iter().map(|b| b & 0x7F).collect();
    let body = masked
        .strip_prefix(&[LF])
        .ok_or_else(|| FrameError::new(PROTOCOL, "frame", "does not start with <LF>"))?;
    let body = body
        .strip_suffix(&[CR, ETX])
        .ok_or_else(|| FrameError::new(PROTOCOL, "frame", "does not end with <CR><ETX>"))?;
    let segments: Vec<&[u8]> = split_crlf(body);
    match segments.as_slice() {
        [b"?"] => Ok(NciResponse::UnknownCommand),
        [status] => Ok(NciResponse::Status(parse_status(status)?)),
        [line, status] => {
            let status = parse_status(status)?;
            parse_weight_line(line, status)
        }
        _ => Err(FrameError::new(
            PROTOCOL,
            "frame",
            format!(
                "expected 1 or 2 lines, got {}: {}",
                segments.len(),
                show_bytes(body)
            ),
        )),
    }
}

fn split_crlf(body: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(p) = rest.windows(2).position(|w| w == [CR, LF]) {
        out.push(rest.get(..p).unwrap_or(&[]));
        rest = rest.get(p + 2..).unwrap_or(&[]);
    }
    out.push(rest);
    out
}

/// Decodes the status bytes (at least two; more when bit 6 announces them).
pub fn parse_status(bytes: &[u8]) -> Result<NciStatus, FrameError> {
    let raw: Vec<u8> = bytes.iter().map(|b| b & 0x7F).collect();
    if let Some(bad) = raw.iter().find(|&&b| b & 0x30 != 0x30) {
        return Err(FrameError::new(
            PROTOCOL,
            "status",
            format!("byte {bad:#04x} lacks the always-set bits 4 and 5"),
        ));
    }
    let (Some(&b1), Some(&b2)) = (raw.first(), raw.get(1)) else {
        return Err(FrameError::new(
            PROTOCOL,
            "status",
            format!("{} byte(s), at least 2 required", raw.len()),
        ));
    };
    // Follow the "another byte follows" chain from byte 2 on.
    let mut needed = 2;
    while raw.get(needed - 1).is_some_and(|b| b & 0x40 != 0) {
        needed += 1;
        if raw.len() < needed {
            return Err(FrameError::new(
                PROTOCOL,
                "status",
                format!(
                    "byte {} announced by bit 6 of byte {} but missing",
                    needed,
                    needed - 1
                ),
            ));
        }
    }
    let b3 = raw.get(2).copied();
    Ok(NciStatus {
        motion: b1 & 0x01 != 0,
        at_zero: b1 & 0x02 != 0,
        ram_error: b1 & 0x04 != 0,
        eeprom_error: b1 & 0x08 != 0,
        under_capacity: b2 & 0x01 != 0,
        over_capacity: b2 & 0x02 != 0,
        rom_error: b2 & 0x04 != 0,
        faulty_calibration: b2 & 0x08 != 0,
        range: b3.map(|b| b & 0x03),
        net: b3.map(|b| b & 0x04 != 0),
        initial_zero_error: b3.is_some_and(|b| b & 0x08 != 0),
        raw,
    })
}

fn parse_weight_line(line: &[u8], status: NciStatus) -> Result<NciResponse, FrameError> {
    let text = std::str::from_utf8(line).map_err(|_| {
        FrameError::new(
            PROTOCOL,
            "weight",
            format!("not ASCII: {}", show_bytes(line)),
        )
    })?;
    let text = text.trim_matches(' ');
    let unit_start = text
        .rfind(|c: char| !c.is_ascii_alphabetic())
        .map_or(0, |p| p + 1);
    let (number, unit_text) = (
        text.get(..unit_start).unwrap_or(""),
        text.get(unit_start..).unwrap_or(""),
    );
    let number = number.trim_matches(' ');
    if number.is_empty() {
        if unit_text.is_empty() {
            return Err(FrameError::new(PROTOCOL, "weight", "empty weight line"));
        }
        return Ok(NciResponse::Units {
            unit: WeightUnit::from_wire(unit_text),
            status,
        });
    }
    if unit_text.is_empty() {
        return Err(FrameError::new(
            PROTOCOL,
            "unit",
            format!("missing after `{number}`"),
        ));
    }
    let mut unit = WeightUnit::from_wire(unit_text);
    let mut field_condition = None;
    let mut value = None;
    if number.bytes().all(|b| b == b'^') {
        field_condition = Some(ScaleCondition::Overload);
    } else if number.bytes().all(|b| b == b'_') {
        field_condition = Some(ScaleCondition::Underload);
    } else if number.len() >= 2 && number.bytes().all(|b| b == b'-') {
        field_condition = Some(ScaleCondition::ZeroError);
    } else if unit == WeightUnit::Oz && number.contains("lb") {
        // lb-oz form: `12lb 3.5oz` → pounds.
        let (lb, oz) = number.split_once("lb").unwrap_or((number, ""));
        let lb = parse_weight_number(lb).map_err(|r| FrameError::new(PROTOCOL, "weight", r))?;
        let oz = parse_weight_number(oz).map_err(|r| FrameError::new(PROTOCOL, "weight", r))?;
        let oz_in_lb = oz / Decimal::from(16);
        value = Some(if lb.is_sign_negative() {
            lb - oz_in_lb
        } else {
            lb + oz_in_lb
        });
        unit = WeightUnit::Lb;
    } else {
        value =
            Some(parse_weight_number(number).map_err(|r| FrameError::new(PROTOCOL, "weight", r))?);
    }
    let condition = if let Some(source) = status.device_error() {
        ScaleCondition::DeviceError { code: 0, source }
    } else if let Some(c) = field_condition {
        c
    } else if status.over_capacity {
        ScaleCondition::Overload
    } else if status.under_capacity {
        ScaleCondition::Underload
    } else if status.initial_zero_error {
        ScaleCondition::ZeroError
    } else {
        ScaleCondition::Ok
    };
    let reading = WeightReading {
        value: if condition == ScaleCondition::Ok {
            value
        } else {
            None
        },
        unit,
        stable: !status.motion,
        net: status.net,
        condition,
        tare: None,
    };
    Ok(NciResponse::Weight { reading, status })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn one(bytes: &[u8]) -> NciResponse {
        let mut f = NciFramer::new(FramerOptions::default());
        f.push(bytes);
        let frame = f.next_frame().unwrap();
        assert_eq!(f.next_frame(), None);
        parse_frame(&frame).unwrap()
    }

    const STABLE: [u8; 16] = [
        0x0A, 0x30, 0x30, 0x31, 0x32, 0x2E, 0x33, 0x34, 0x6C, 0x62, 0x0D, 0x0A, 0x30, 0x30, 0x0D,
        0x03,
    ];

    #[test]
    fn the_weigh_command_is_w_cr() {
        assert_eq!(Command::Weigh.encode(), [0x57, 0x0D]);
    }

    #[test]
    fn a_stable_nci_reply_reads_12_34_lb() {
        let r = one(&STABLE);
        let reading = r.reading().unwrap();
        assert_eq!(reading.value, Some(d("12.34")));
        assert_eq!(reading.unit, WeightUnit::Lb);
        assert!(reading.stable);
        assert_eq!(reading.condition, ScaleCondition::Ok);
        assert_eq!(reading.net, None);
    }

    #[test]
    fn status_10_means_motion() {
        let r = one(b"\n0012.34lb\r\n10\r\x03");
        assert!(!r.reading().unwrap().stable);
    }

    #[test]
    fn carets_in_the_weight_field_mean_over_capacity() {
        let r = one(b"\n^^^^^^^lb\r\n02\r\x03");
        let reading = r.reading().unwrap();
        assert_eq!(reading.condition, ScaleCondition::Overload);
        assert_eq!(reading.value, None);
    }

    #[test]
    fn underscores_mean_under_capacity_and_dashes_a_zero_error() {
        assert_eq!(
            one(b"\n________lb\r\n01\r\x03")
                .reading()
                .unwrap()
                .condition,
            ScaleCondition::Underload
        );
        assert_eq!(
            one(b"\n--------kg\r\n00\r\x03")
                .reading()
                .unwrap()
                .condition,
            ScaleCondition::ZeroError
        );
    }

    #[test]
    fn a_status_only_reply_at_zero_parses() {
        match one(&[0x0A, 0x32, 0x30, 0x0D, 0x03]) {
            NciResponse::Status(s) => {
                assert!(s.at_zero);
                assert!(!s.motion);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_question_mark_means_unknown_command() {
        assert_eq!(one(&[0x0A, 0x3F, 0x0D, 0x03]), NciResponse::UnknownCommand);
    }

    #[test]
    fn a_third_status_byte_is_read_when_bit_6_of_byte_2_is_set() {
        // byte 2 = 'p' (0x70: bit 6 set), byte 3 = '4' (0x34: net)
        let r = one(b"\n  -1.25kg\r\n0p4\r\x03");
        let NciResponse::Weight { reading, status } = r else {
            panic!("not a weight");
        };
        assert_eq!(status.net, Some(true));
        assert_eq!(status.range, Some(0));
        assert_eq!(reading.net, Some(true));
        assert_eq!(reading.value, Some(d("-1.25")));
        // Announced but missing:
        let err = parse_frame(b"\n0012.34lb\r\n0p\r\x03").unwrap_err();
        assert_eq!(err.field, "status");
    }

    #[test]
    fn device_error_bits_become_device_errors() {
        let r = one(b"\n0012.34lb\r\n40\r\x03");
        assert_eq!(
            r.reading().unwrap().condition,
            ScaleCondition::DeviceError {
                code: 0,
                source: DeviceErrorSource::Ram
            }
        );
    }

    #[test]
    fn the_lb_oz_form_is_converted_to_pounds() {
        let r = one(b"\n12lb 3.5oz\r\n00\r\x03");
        let reading = r.reading().unwrap();
        assert_eq!(reading.unit, WeightUnit::Lb);
        assert_eq!(reading.value, Some(d("12.21875")));
    }

    #[test]
    fn a_units_reply_parses() {
        assert!(matches!(
            one(b"\nkg\r\n00\r\x03"),
            NciResponse::Units {
                unit: WeightUnit::Kg,
                ..
            }
        ));
    }

    #[test]
    fn a_truncated_reply_is_skipped_and_the_next_one_framed() {
        let mut f = NciFramer::new(FramerOptions::default());
        f.push(b"garbage\n0012");
        f.push(&STABLE);
        let frame = f.next_frame().unwrap();
        assert_eq!(frame, STABLE.to_vec());
        assert_eq!(f.stats().dropped_frames, 1);
    }

    #[test]
    fn parity_bits_on_status_bytes_are_ignored() {
        let mut frame = STABLE.to_vec();
        frame[12] |= 0x80;
        frame[13] |= 0x80;
        assert!(parse_frame(&frame).unwrap().reading().unwrap().stable);
    }

    #[test]
    fn a_non_numeric_display_text_is_a_weight_error() {
        assert_eq!(
            parse_frame(b"\nHELLO 1lb\r\n00\r\x03").unwrap_err().field,
            "weight"
        );
        assert_eq!(
            parse_frame(b"\n0012.34lb\r\n0\r\x03").unwrap_err().field,
            "status"
        );
        assert_eq!(
            parse_frame(b"0012.34lb\r\n00\r\x03").unwrap_err().field,
            "frame"
        );
    }
}
