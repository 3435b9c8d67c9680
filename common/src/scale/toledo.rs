//! Mettler Toledo "Toledo Continuous" output (also emulated by Ohaus, Rice Lake, Fairbanks, …).
//!
//! Frame: `<STX> SWA SWB SWC <weight 6> [<tare 6>] <CR> [<checksum>]` — 18 bytes in full, 12 for
//! the short form without tare, one less each without the checksum. See devices.md §1.2.
//! Constant bits of the status words are not validated (vendors differ); bit 7 is parity and
//! is always ignored by the parser.

use rust_decimal::Decimal;

use super::framing::{push_masked, Framer, FramerOptions, FramerStats};
use super::reading::{show_bytes, FrameError, ScaleCondition, WeightReading, WeightUnit};

const PROTOCOL: &str = "toledo";
const STX: u8 = 0x02;
const CR: u8 = 0x0D;
/// Index of `<CR>` from `<STX>` in a short frame (no tare).
const SHORT_CR: usize = 10;
/// Index of `<CR>` from `<STX>` in a full frame.
const FULL_CR: usize = 16;

/// Toledo framer settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ToledoOptions {
    /// Shared options (`max_frame_len` is not used: the frame length is fixed).
    pub framer: FramerOptions,
    /// The device appends a checksum byte after `<CR>`; frames failing it are dropped.
    pub checksum: bool,
}

/// Incremental framer for Toledo continuous frames; output frames start with `<STX>` and end
/// with `<CR>` (the checksum, when configured, is verified and removed).
#[derive(Debug, Clone)]
pub struct ToledoFramer {
    options: ToledoOptions,
    buf: Vec<u8>,
    stats: FramerStats,
}

impl ToledoFramer {
    /// A framer with the given options.
    pub fn new(options: ToledoOptions) -> Self {
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

/// True when the low 7 bits of all bytes sum to a multiple of 128.
pub fn checksum_ok(frame_with_checksum: &[u8]) -> bool {
    frame_with_checksum
        .iter()
        .map(|&b| u32::from(b & 0x7F))
        .sum::<u32>()
        % 128
        == 0
}

/// The checksum byte a device appends to `frame` (STX … CR).
pub fn checksum_for(frame: &[u8]) -> u8 {
    let sum: u32 = frame.iter().map(|&b| u32::from(b & 0x7F)).sum();
    ((128 - sum % 128) % 128) as u8
}

impl Framer for ToledoFramer {
    fn push(&mut self, bytes: &[u8]) {
        push_masked(&mut self.buf, bytes, self.options.framer.mask_7bit);
    }

    fn next_frame(&mut self) -> Option<Vec<u8>> {
        let extra = usize::from(self.options.checksum);
        loop {
            // Resync: drop everything before the next STX.
            match self.buf.iter().position(|&b| b == STX) {
                Some(p) => self.discard(p),
                None => {
                    let n = self.buf.len();
                    self.discard(n);
                    return None;
                }
            }
            // A second STX inside the would-be frame means this one was truncated.
            let window = self.buf.len().min(FULL_CR + 1);
            let inner_stx = self
                .buf
                .get(1..window)
                .and_then(|w| w.iter().position(|&b| b == STX));
            let cr_at = if self.buf.get(SHORT_CR) == Some(&CR) {
                Some(SHORT_CR)
            } else if self.buf.get(FULL_CR) == Some(&CR) {
                Some(FULL_CR)
            } else {
                None
            };
            match (cr_at, inner_stx) {
                (Some(cr), Some(s)) if s + 1 < cr => {
                    self.stats.dropped_frames += 1;
                    self.discard(s + 1);
                }
                (Some(cr), _) => {
                    let total = cr + 1 + extra;
                    if self.buf.len() < total {
                        return None;
                    }
                    let frame: Vec<u8> = self.buf.drain(..total).collect();
                    if self.options.checksum && !checksum_ok(&frame) {
                        self.stats.dropped_frames += 1;
                        self.stats.discarded_bytes += total as u64;
                        continue;
                    }
                    let mut frame = frame;
                    frame.truncate(cr + 1);
                    return Some(frame);
                }
                (None, Some(s)) => {
                    self.stats.dropped_frames += 1;
                    self.discard(s + 1);
                }
                (None, None) => {
                    if self.buf.len() > FULL_CR {
                        // Neither CR position holds a CR: not a frame.
                        self.stats.dropped_frames += 1;
                        self.discard(1);
                    } else {
                        return None;
                    }
                }
            }
        }
    }

    fn stats(&self) -> FramerStats {
        self.stats
    }
}

/// Parses a frame (`<STX>` … `<CR>`, optionally followed by the checksum byte, which is then
/// verified) into a reading.
pub fn parse_frame(frame: &[u8]) -> Result<WeightReading, FrameError> {
    let frame = match frame.len() {
        18 | 12 => {
            if !checksum_ok(frame) {
                return Err(FrameError::new(
                    PROTOCOL,
                    "checksum",
                    format!(
                        "low 7 bits do not sum to a multiple of 128 in {}",
                        show_bytes(frame)
                    ),
                ));
            }
            frame.get(..frame.len() - 1).unwrap_or(frame)
        }
        17 | 11 => frame,
        n => {
            return Err(FrameError::new(
                PROTOCOL,
                "frame",
                format!("length {n}, expected 11, 12, 17 or 18 bytes"),
            ))
        }
    };
    let byte = |i: usize| frame.get(i).copied().unwrap_or(0) & 0x7F;
    if byte(0) != STX {
        return Err(FrameError::new(
            PROTOCOL,
            "stx",
            format!("first byte is {:#04x}", byte(0)),
        ));
    }
    if frame.last().map(|b| b & 0x7F) != Some(CR) {
        return Err(FrameError::new(
            PROTOCOL,
            "cr",
            "frame does not end in <CR>",
        ));
    }
    let (swa, swb, swc) = (byte(1), byte(2), byte(3));
    let decimals: u32;
    let multiplier: i64;
    match swa & 0b111 {
        0b000 => (decimals, multiplier) = (0, 100),
        0b001 => (decimals, multiplier) = (0, 10),
        dp => (decimals, multiplier) = (u32::from(dp) - 2, 1),
    }
    let weight = parse_digits(
        frame.get(4..10).unwrap_or(&[]),
        "weight",
        decimals,
        multiplier,
    )?;
    let tare = if frame.len() == 17 {
        Some(parse_digits(
            frame.get(10..16).unwrap_or(&[]),
            "tare",
            decimals,
            multiplier,
        )?)
    } else {
        None
    };
    let net = swb & 0b0000_0001 != 0;
    let negative = swb & 0b0000_0010 != 0;
    let out_of_range = swb & 0b0000_0100 != 0;
    let motion = swb & 0b0000_1000 != 0;
    let kg = swb & 0b0001_0000 != 0;
    let not_zeroed = swb & 0b0100_0000 != 0;
    let unit = match swc & 0b111 {
        0b000 if kg => WeightUnit::Kg,
        0b000 => WeightUnit::Lb,
        0b001 => WeightUnit::G,
        0b010 => WeightUnit::T,
        0b011 => WeightUnit::Oz,
        0b111 => WeightUnit::Other(String::new()),
        other => WeightUnit::Other(format!("swc-unit-{other}")),
    };
    let condition = if out_of_range {
        ScaleCondition::OutOfRange
    } else if not_zeroed {
        ScaleCondition::NotZeroedSincePowerUp
    } else {
        ScaleCondition::Ok
    };
    Ok(WeightReading {
        value: if out_of_range {
            None
        } else if negative {
            Some(-weight)
        } else {
            Some(weight)
        },
        unit,
        stable: !motion,
        net: Some(net),
        condition,
        tare,
    })
}

/// Six digits (leading spaces allowed), no point, no sign; scaled by the SWA decimal point.
fn parse_digits(
    field: &[u8],
    name: &'static str,
    decimals: u32,
    multiplier: i64,
) -> Result<Decimal, FrameError> {
    let mut n: i64 = 0;
    let mut seen_digit = false;
    for &raw in field {
        let b = raw & 0x7F;
        match b {
            b' ' if !seen_digit => {}
            b'0'..=b'9' => {
                seen_digit = true;
                n = n * 10 + i64::from(b - b'0');
            }
            _ => {
                return Err(FrameError::new(
                    PROTOCOL,
                    name,
                    format!("`{}` is not 6 digits", show_bytes(field)),
                ))
            }
        }
    }
    if !seen_digit {
        return Err(FrameError::new(PROTOCOL, name, "no digits"));
    }
    Ok(Decimal::new(n * multiplier, decimals))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::scale::framing::latest_frame;
    use std::str::FromStr;

    const GROSS: [u8; 18] = [
        0x02, 0x2D, 0x30, 0x20, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x30, 0x30, 0x30, 0x30, 0x30,
        0x30, 0x0D, 0x25,
    ];
    const NET_NEG: [u8; 18] = [
        0x02, 0x2D, 0x3B, 0x20, 0x30, 0x30, 0x30, 0x35, 0x30, 0x30, 0x30, 0x30, 0x31, 0x30, 0x30,
        0x30, 0x0D, 0x23,
    ];

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn with_checksum() -> ToledoFramer {
        ToledoFramer::new(ToledoOptions {
            checksum: true,
            ..ToledoOptions::default()
        })
    }

    #[test]
    fn the_reference_gross_frame_reads_12_345_kg_stable() {
        assert!(checksum_ok(&GROSS));
        let r = parse_frame(&GROSS).unwrap();
        assert_eq!(r.value, Some(d("12.345")));
        assert_eq!(r.unit, WeightUnit::Kg);
        assert!(r.stable);
        assert_eq!(r.net, Some(false));
        assert_eq!(r.tare, Some(d("0")));
        assert_eq!(r.condition, ScaleCondition::Ok);
    }

    #[test]
    fn the_reference_net_frame_reads_minus_0_5_kg_in_motion_with_1_kg_tare() {
        let r = parse_frame(&NET_NEG).unwrap();
        assert_eq!(r.value, Some(d("-0.500")));
        assert!(!r.stable);
        assert_eq!(r.net, Some(true));
        assert_eq!(r.tare, Some(d("1.000")));
    }

    #[test]
    fn frames_come_out_of_the_framer_with_the_checksum_verified() {
        let mut f = with_checksum();
        f.push(&GROSS);
        f.push(&NET_NEG[..9]);
        assert_eq!(f.next_frame(), Some(GROSS[..17].to_vec()));
        assert_eq!(f.next_frame(), None);
        f.push(&NET_NEG[9..]);
        assert_eq!(f.next_frame(), Some(NET_NEG[..17].to_vec()));
    }

    #[test]
    fn a_toledo_frame_with_a_bad_checksum_is_dropped() {
        let mut bad = GROSS;
        bad[17] = 0x26;
        let mut f = with_checksum();
        f.push(&bad);
        f.push(&NET_NEG);
        let frame = f.next_frame().unwrap();
        assert_eq!(parse_frame(&frame).unwrap().net, Some(true));
        assert_eq!(f.next_frame(), None);
        assert_eq!(f.stats().dropped_frames, 1);
        assert_eq!(parse_frame(&bad).unwrap_err().field, "checksum");
    }

    #[test]
    fn garbage_before_stx_is_skipped() {
        let mut f = with_checksum();
        f.push(b"\xff\x00garbage 123\r\n");
        f.push(&GROSS[..5]);
        f.push(&GROSS[5..]);
        assert_eq!(f.next_frame(), Some(GROSS[..17].to_vec()));
        assert!(f.stats().discarded_bytes >= 15);
    }

    #[test]
    fn a_truncated_frame_followed_by_a_good_one_yields_the_good_one() {
        let mut f = with_checksum();
        f.push(&GROSS[..8]);
        f.push(&NET_NEG);
        assert_eq!(f.next_frame(), Some(NET_NEG[..17].to_vec()));
    }

    #[test]
    fn frames_without_checksum_are_framed_when_checksum_is_off() {
        let mut f = ToledoFramer::new(ToledoOptions::default());
        f.push(&GROSS[..17]);
        f.push(&NET_NEG[..17]);
        assert_eq!(f.next_frame(), Some(GROSS[..17].to_vec()));
        assert_eq!(f.next_frame(), Some(NET_NEG[..17].to_vec()));
        assert_eq!(parse_frame(&GROSS[..17]).unwrap().value, Some(d("12.345")));
    }

    #[test]
    fn a_short_frame_without_tare_parses() {
        // STX, SWA dp=XXXX.XX (100), SWB lb, SWC, weight "  1234", CR
        let short = [
            0x02, 0x24, 0x20, 0x20, b' ', b' ', b'1', b'2', b'3', b'4', 0x0D,
        ];
        let mut f = ToledoFramer::new(ToledoOptions::default());
        f.push(&short);
        let frame = f.next_frame().unwrap();
        let r = parse_frame(&frame).unwrap();
        assert_eq!(r.value, Some(d("12.34")));
        assert_eq!(r.unit, WeightUnit::Lb);
        assert_eq!(r.tare, None);
        let mut with = short.to_vec();
        with.push(checksum_for(&short));
        assert!(checksum_ok(&with));
        assert_eq!(parse_frame(&with).unwrap().value, Some(d("12.34")));
    }

    #[test]
    fn the_out_of_range_bit_gives_no_value() {
        let mut frame = GROSS[..17].to_vec();
        frame[2] = 0x34;
        let r = parse_frame(&frame).unwrap();
        assert_eq!(r.condition, ScaleCondition::OutOfRange);
        assert_eq!(r.value, None);
    }

    #[test]
    fn the_power_up_not_zeroed_bit_is_reported() {
        let mut frame = GROSS[..17].to_vec();
        frame[2] = 0x70;
        assert_eq!(
            parse_frame(&frame).unwrap().condition,
            ScaleCondition::NotZeroedSincePowerUp
        );
    }

    #[test]
    fn decimal_point_codes_scale_the_digits() {
        let mut frame = GROSS[..17].to_vec();
        for (code, expected) in [
            (0b000, "1234500"),
            (0b001, "123450"),
            (0b010, "12345"),
            (0b011, "1234.5"),
            (0b100, "123.45"),
            (0b101, "12.345"),
            (0b110, "1.2345"),
            (0b111, "0.12345"),
        ] {
            frame[1] = 0x20 | code;
            assert_eq!(
                parse_frame(&frame).unwrap().value,
                Some(d(expected)),
                "dp code {code}"
            );
        }
    }

    #[test]
    fn parity_bits_are_ignored_and_seven_bit_masking_recovers_frames() {
        let parity: Vec<u8> = GROSS.iter().map(|b| b | 0x80).collect();
        let mut f = ToledoFramer::new(ToledoOptions {
            framer: FramerOptions {
                mask_7bit: true,
                ..FramerOptions::default()
            },
            checksum: true,
        });
        f.push(&parity);
        assert_eq!(
            parse_frame(&f.next_frame().unwrap()).unwrap().value,
            Some(d("12.345"))
        );
    }

    #[test]
    fn units_come_from_swb_and_swc() {
        let mut frame = GROSS[..17].to_vec();
        frame[2] = 0x20;
        assert_eq!(parse_frame(&frame).unwrap().unit, WeightUnit::Lb);
        frame[3] = 0x21;
        assert_eq!(parse_frame(&frame).unwrap().unit, WeightUnit::G);
        frame[3] = 0x22;
        assert_eq!(parse_frame(&frame).unwrap().unit, WeightUnit::T);
        frame[3] = 0x23;
        assert_eq!(parse_frame(&frame).unwrap().unit, WeightUnit::Oz);
    }

    #[test]
    fn latest_wins_returns_only_the_newest_buffered_frame() {
        let mut f = with_checksum();
        for _ in 0..50 {
            f.push(&GROSS);
        }
        f.push(&NET_NEG);
        f.push(&GROSS[..10]);
        let newest = latest_frame(&mut f).unwrap();
        assert_eq!(parse_frame(&newest).unwrap().net, Some(true));
    }

    #[test]
    fn bad_weight_digits_name_the_field() {
        let mut frame = GROSS[..17].to_vec();
        frame[6] = b'x';
        assert_eq!(parse_frame(&frame).unwrap_err().field, "weight");
        let mut frame = GROSS[..17].to_vec();
        frame[12] = b'-';
        assert_eq!(parse_frame(&frame).unwrap_err().field, "tare");
        assert_eq!(parse_frame(&GROSS[..5]).unwrap_err().field, "frame");
    }
}
