//! CAS scales (devices.md §1.4): the ECR request protocol (ENQ → ACK → DC1 → framed weight with
//! BCC) used by PD-II / AP-1 / SW-II / ER, and the 22-byte continuous indicator output
//! `ST,GS,1<lamp>,0001.234 kg<CR><LF>` of the CI series and NT-200.

use super::framing::{push_masked, Framer, FramerOptions, FramerStats, LineEnd, LineFramer};
use super::reading::{
    parse_weight_number, show_bytes, FrameError, ScaleCondition, WeightReading, WeightUnit,
};

const ECR: &str = "cas-ecr";
const C22: &str = "cas-22";

/// `<SOH>`.
pub const SOH: u8 = 0x01;
/// `<STX>`.
pub const STX: u8 = 0x02;
/// `<ETX>`.
pub const ETX: u8 = 0x03;
/// `<EOT>`.
pub const EOT: u8 = 0x04;
/// `<ENQ>`: the host's "are you there".
pub const ENQ: u8 = 0x05;
/// `<ACK>`.
pub const ACK: u8 = 0x06;
/// `<NAK>`.
pub const NAK: u8 = 0x15;
/// `<DC1>`: request the weight.
pub const DC1: u8 = 0x11;

/// One message from a CAS ECR scale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EcrMessage {
    /// `<ACK>` to `<ENQ>`: send `<DC1>` next.
    Ack,
    /// `<NAK>` to `<ENQ>`: repeat `<ENQ>`.
    Nak,
    /// The weight frame.
    Weight(WeightReading),
}

/// Incremental framer for ECR replies. Output frames are `[ACK]`, `[NAK]`, or
/// `[SOH] STX … BCC ETX EOT`.
#[derive(Debug, Clone)]
pub struct EcrFramer {
    options: FramerOptions,
    buf: Vec<u8>,
    stats: FramerStats,
}

impl EcrFramer {
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

impl Framer for EcrFramer {
    fn push(&mut self, bytes: &[u8]) {
        push_masked(&mut self.buf, bytes, self.options.mask_7bit);
    }

    fn next_frame(&mut self) -> Option<Vec<u8>> {
        loop {
            let start = self
                .buf
                .iter()
                .position(|&b| matches!(b, ACK | NAK | SOH | STX));
            let Some(start) = start else {
                let n = self.buf.len();
                self.discard(n);
                return None;
            };
            self.discard(start);
            let first = *self.buf.first()?;
            if first == ACK || first == NAK {
                self.buf.drain(..1);
                return Some(vec![first]);
            }
            if first == SOH {
                match self.buf.get(1) {
                    None => return None,
                    Some(&STX) => {}
                    Some(_) => {
                        self.discard(1);
                        continue;
                    }
                }
            }
            let end = self.buf.windows(2).position(|w| w == [ETX, EOT]);
            match end {
                Some(p) if p + 2 <= self.options.max_frame_len => {
                    return Some(self.buf.drain(..p + 2).collect());
                }
                Some(p) => {
                    self.stats.dropped_frames += 1;
                    self.discard(p + 2);
                }
                None if self.buf.len() > self.options.max_frame_len => {
                    self.stats.dropped_frames += 1;
                    self.discard(1);
                }
                None => return None,
            }
        }
    }

    fn stats(&self) -> FramerStats {
        self.stats
    }
}

/// XOR of all bytes: the ECR block check character over STA … U0.
pub fn bcc(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |acc, b| acc ^ b)
}

/// Parses an ECR frame from [`EcrFramer`].
pub fn parse_ecr_frame(frame: &[u8]) -> Result<EcrMessage, FrameError> {
    match frame {
        [ACK] => return Ok(EcrMessage::Ack),
        [NAK] => return Ok(EcrMessage::Nak),
        _ => {}
    }
    let frame = frame.strip_prefix(&[SOH]).unwrap_or(frame);
    let body = frame
        .strip_prefix(&[STX])
        .ok_or_else(|| FrameError::new(ECR, "frame", "does not start with <STX>"))?;
    let body = body.strip_suffix(&[EOT]).unwrap_or(body);
    let body = body
        .strip_suffix(&[ETX])
        .ok_or_else(|| FrameError::new(ECR, "frame", "does not end with <ETX>"))?;
    let Some((&received, data)) = body.split_last() else {
        return Err(FrameError::new(ECR, "frame", "empty"));
    };
    if data.len() < 10 {
        return Err(FrameError::new(
            ECR,
            "frame",
            format!(
                "{} data bytes, at least 10 expected: {}",
                data.len(),
                show_bytes(data)
            ),
        ));
    }
    let computed = bcc(data);
    if computed != received {
        return Err(FrameError::new(
            ECR,
            "bcc",
            format!("received {received:#04x}, computed {computed:#04x}"),
        ));
    }
    let sta = data.first().copied().unwrap_or(0);
    let sign = data.get(1).copied().unwrap_or(0);
    let weight = data.get(2..data.len() - 2).unwrap_or(&[]);
    let unit = data.get(data.len() - 2..).unwrap_or(&[]);
    let stable = match sta {
        b'S' => true,
        b'U' => false,
        other => {
            return Err(FrameError::new(
                ECR,
                "status",
                format!("{:?} is neither `S` nor `U`", char::from(other)),
            ))
        }
    };
    let unit_text = std::str::from_utf8(unit)
        .ok()
        .filter(|u| u.bytes().all(|b| b.is_ascii_alphabetic() || b == b' '))
        .ok_or_else(|| {
            FrameError::new(ECR, "unit", format!("`{}` is not a unit", show_bytes(unit)))
        })?;
    let unit = WeightUnit::from_wire(unit_text);
    let (value, condition) = match sign {
        b'F' => (None, ScaleCondition::Overload),
        b' ' | b'-' | b'+' => {
            let text = std::str::from_utf8(weight).map_err(|_| {
                FrameError::new(ECR, "weight", format!("not ASCII: {}", show_bytes(weight)))
            })?;
            let v = parse_weight_number(text).map_err(|r| FrameError::new(ECR, "weight", r))?;
            (Some(if sign == b'-' { -v } else { v }), ScaleCondition::Ok)
        }
        other => {
            return Err(FrameError::new(
                ECR,
                "sign",
                format!("{:?} is not ` `, `-` or `F`", char::from(other)),
            ))
        }
    };
    Ok(EcrMessage::Weight(WeightReading {
        value,
        unit,
        stable,
        net: None,
        condition,
        tare: None,
    }))
}

/// What the driver should do next in an ECR poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EcrStep {
    /// Write these bytes (and wait for the next message or a timeout).
    Send(Vec<u8>),
    /// The poll is complete.
    Reading(WeightReading),
    /// Too many `NAK`s / timeouts: give up this poll.
    GiveUp,
}

/// The pure ENQ → ACK → DC1 → frame state machine. Timeouts are the driver's: it calls
/// [`EcrPoll::on_timeout`] when nothing arrived in time.
#[derive(Debug, Clone)]
pub struct EcrPoll {
    max_attempts: u32,
    attempts: u32,
    awaiting_weight: bool,
}

impl EcrPoll {
    /// A poll that sends `<ENQ>` at most `max_attempts` times.
    pub fn new(max_attempts: u32) -> Self {
        Self {
            max_attempts: max_attempts.max(1),
            attempts: 0,
            awaiting_weight: false,
        }
    }

    /// Starts (or restarts) the poll: send `<ENQ>`.
    pub fn start(&mut self) -> EcrStep {
        self.attempts = 1;
        self.awaiting_weight = false;
        EcrStep::Send(vec![ENQ])
    }

    fn retry(&mut self) -> EcrStep {
        if self.attempts >= self.max_attempts {
            return EcrStep::GiveUp;
        }
        self.attempts += 1;
        self.awaiting_weight = false;
        EcrStep::Send(vec![ENQ])
    }

    /// Feeds a parsed message.
    pub fn on_message(&mut self, message: EcrMessage) -> EcrStep {
        match message {
            EcrMessage::Ack if !self.awaiting_weight => {
                self.awaiting_weight = true;
                EcrStep::Send(vec![DC1])
            }
            EcrMessage::Weight(r) if self.awaiting_weight => EcrStep::Reading(r),
            _ => self.retry(),
        }
    }

    /// Nothing arrived in time, or a frame failed to parse.
    pub fn on_timeout(&mut self) -> EcrStep {
        self.retry()
    }
}

/// A line framer for the CAS 22-byte format: strictly `<CR><LF>`, because the lamp byte is binary.
pub fn cas22_framer(options: FramerOptions) -> LineFramer {
    LineFramer::new(options, LineEnd::CrLf)
}

/// A parsed 22-byte frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cas22Frame {
    /// The normalised reading.
    pub reading: WeightReading,
    /// Device id byte (`'1'` …).
    pub device_id: u8,
    /// Lamp status byte (bit 6 stable, bit 2 gross, bit 1 tare, bit 0 zero).
    pub lamp: u8,
}

/// Parses a 22-byte frame without its `<CR><LF>` (20 bytes). Longer input is tolerated: garbage
/// before the frame on the same line is ignored by using the last 20 bytes.
pub fn parse_cas22_frame(line: &[u8]) -> Result<Cas22Frame, FrameError> {
    let line = line.strip_suffix(b"\r\n").unwrap_or(line);
    let Some(f) = line.len().checked_sub(20).and_then(|s| line.get(s..)) else {
        return Err(FrameError::new(
            C22,
            "frame",
            format!("{} bytes, 20 expected before <CR><LF>", line.len()),
        ));
    };
    let at = |i: usize| f.get(i).copied().unwrap_or(0);
    for i in [2, 5, 8] {
        if at(i) != b',' {
            return Err(FrameError::new(
                C22,
                "separator",
                format!("byte {i} is not `,`"),
            ));
        }
    }
    let (condition, stable) = match f.get(0..2).unwrap_or(&[]) {
        b"ST" => (ScaleCondition::Ok, true),
        b"US" => (ScaleCondition::Ok, false),
        b"OL" => (ScaleCondition::Overload, false),
        other => {
            return Err(FrameError::new(
                C22,
                "header",
                format!("`{}` is not ST, US or OL", show_bytes(other)),
            ))
        }
    };
    let net = match f.get(3..5).unwrap_or(&[]) {
        b"GS" => false,
        b"NT" => true,
        other => {
            return Err(FrameError::new(
                C22,
                "mode",
                format!("`{}` is not GS or NT", show_bytes(other)),
            ))
        }
    };
    let weight = f.get(9..17).unwrap_or(&[]);
    let unit = f.get(17..20).unwrap_or(&[]);
    let unit_text = std::str::from_utf8(unit)
        .ok()
        .filter(|u| u.bytes().all(|b| b.is_ascii_alphabetic() || b == b' ') && !u.trim().is_empty())
        .ok_or_else(|| {
            FrameError::new(C22, "unit", format!("`{}` is not a unit", show_bytes(unit)))
        })?;
    let value = if condition == ScaleCondition::Overload {
        None
    } else {
        let text = std::str::from_utf8(weight).map_err(|_| {
            FrameError::new(C22, "weight", format!("not ASCII: {}", show_bytes(weight)))
        })?;
        Some(parse_weight_number(text).map_err(|r| FrameError::new(C22, "weight", r))?)
    };
    Ok(Cas22Frame {
        reading: WeightReading {
            value,
            unit: WeightUnit::from_wire(unit_text),
            stable,
            net: Some(net),
            condition,
            tare: None,
        },
        device_id: at(6),
        lamp: at(7),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    const STABLE: [u8; 15] = [
        0x01, 0x02, 0x53, 0x20, 0x30, 0x31, 0x2E, 0x32, 0x33, 0x34, 0x6B, 0x67, 0x65, 0x03, 0x04,
    ];
    const UNSTABLE_NEG: [u8; 15] = [
        0x01, 0x02, 0x55, 0x2D, 0x30, 0x30, 0x2E, 0x31, 0x32, 0x30, 0x6B, 0x67, 0x69, 0x03, 0x04,
    ];

    fn reading(frame: &[u8]) -> WeightReading {
        match parse_ecr_frame(frame).unwrap() {
            EcrMessage::Weight(r) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_bcc_vectors_match() {
        assert_eq!(bcc(&STABLE[2..12]), 0x65);
        assert_eq!(bcc(&UNSTABLE_NEG[2..12]), 0x69);
    }

    #[test]
    fn a_stable_cas_ecr_frame_reads_1_234_kg() {
        let r = reading(&STABLE);
        assert_eq!(r.value, Some(d("1.234")));
        assert_eq!(r.unit, WeightUnit::Kg);
        assert!(r.stable);
    }

    #[test]
    fn an_unstable_negative_cas_ecr_frame_reads_minus_0_120_kg() {
        let r = reading(&UNSTABLE_NEG);
        assert_eq!(r.value, Some(d("-0.120")));
        assert!(!r.stable);
    }

    #[test]
    fn a_cas_ecr_frame_with_a_bad_bcc_is_rejected() {
        let mut bad = STABLE;
        bad[12] = 0x66;
        assert_eq!(parse_ecr_frame(&bad).unwrap_err().field, "bcc");
    }

    #[test]
    fn sign_f_means_overload() {
        let mut data = b"SFFFFFFFkg".to_vec();
        let b = bcc(&data);
        data.insert(0, STX);
        data.extend_from_slice(&[b, ETX, EOT]);
        let r = reading(&data);
        assert_eq!(r.condition, ScaleCondition::Overload);
        assert_eq!(r.value, None);
    }

    #[test]
    fn the_framer_yields_ack_then_the_weight_frame() {
        let mut f = EcrFramer::new(FramerOptions::default());
        f.push(&[0xFF, ACK]);
        f.push(&STABLE[..7]);
        assert_eq!(f.next_frame(), Some(vec![ACK]));
        assert_eq!(f.next_frame(), None);
        f.push(&STABLE[7..]);
        assert_eq!(f.next_frame(), Some(STABLE.to_vec()));
        assert_eq!(parse_ecr_frame(&[NAK]).unwrap(), EcrMessage::Nak);
    }

    #[test]
    fn a_bcc_equal_to_etx_does_not_cut_the_frame() {
        // Find data whose BCC is 0x03.
        let mut data = b"S 01.234kg".to_vec();
        data[9] = b'g' ^ bcc(&data) ^ 0x03;
        assert_eq!(bcc(&data), 0x03);
        let mut frame = vec![SOH, STX];
        frame.extend_from_slice(&data);
        frame.extend_from_slice(&[0x03, ETX, EOT]);
        let mut f = EcrFramer::new(FramerOptions::default());
        f.push(&frame);
        assert_eq!(f.next_frame(), Some(frame));
    }

    #[test]
    fn the_ecr_poll_sends_enq_then_dc1_and_retries_on_nak() {
        let mut poll = EcrPoll::new(2);
        assert_eq!(poll.start(), EcrStep::Send(vec![ENQ]));
        assert_eq!(poll.on_message(EcrMessage::Nak), EcrStep::Send(vec![ENQ]));
        assert_eq!(poll.on_message(EcrMessage::Ack), EcrStep::Send(vec![DC1]));
        let r = reading(&STABLE);
        assert_eq!(
            poll.on_message(EcrMessage::Weight(r.clone())),
            EcrStep::Reading(r)
        );
        assert_eq!(poll.start(), EcrStep::Send(vec![ENQ]));
        assert_eq!(poll.on_timeout(), EcrStep::Send(vec![ENQ]));
        assert_eq!(poll.on_timeout(), EcrStep::GiveUp);
    }

    const C22_FRAME: [u8; 22] = [
        0x53, 0x54, 0x2C, 0x47, 0x53, 0x2C, 0x31, 0xC4, 0x2C, 0x30, 0x30, 0x30, 0x31, 0x2E, 0x32,
        0x33, 0x34, 0x20, 0x6B, 0x67, 0x0D, 0x0A,
    ];

    #[test]
    fn the_cas_22_byte_frame_reads_1_234_kg_gross_stable() {
        let mut f = cas22_framer(FramerOptions::default());
        f.push(&C22_FRAME);
        let frame = f.next_frame().unwrap();
        let parsed = parse_cas22_frame(&frame).unwrap();
        assert_eq!(parsed.reading.value, Some(d("1.234")));
        assert_eq!(parsed.reading.unit, WeightUnit::Kg);
        assert!(parsed.reading.stable);
        assert_eq!(parsed.reading.net, Some(false));
        assert_eq!(parsed.device_id, b'1');
        assert_eq!(parsed.lamp, 0xC4);
    }

    #[test]
    fn a_lamp_byte_equal_to_lf_does_not_split_the_cas_22_frame() {
        let mut frame = C22_FRAME;
        frame[7] = 0x0A;
        let mut f = cas22_framer(FramerOptions::default());
        f.push(&frame);
        let parsed = parse_cas22_frame(&f.next_frame().unwrap()).unwrap();
        assert_eq!(parsed.lamp, 0x0A);
    }

    #[test]
    fn cas_22_overload_net_and_ton_units_parse() {
        let ol = parse_cas22_frame(b"OL,NT,1\xc4,9999.999 kg").unwrap();
        assert_eq!(ol.reading.condition, ScaleCondition::Overload);
        assert_eq!(ol.reading.value, None);
        assert_eq!(ol.reading.net, Some(true));
        let t = parse_cas22_frame(b"US,GS,1\x84,  -1.234  t").unwrap();
        assert_eq!(t.reading.unit, WeightUnit::T);
        assert_eq!(t.reading.value, Some(d("-1.234")));
        assert!(!t.reading.stable);
        assert_eq!(
            parse_cas22_frame(b"XX,GS,1\x84,  -1.234  t")
                .unwrap_err()
                .field,
            "header"
        );
        assert_eq!(parse_cas22_frame(b"ST,GS").unwrap_err().field, "frame");
    }
}
