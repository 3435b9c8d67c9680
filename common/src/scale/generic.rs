//! "Generic" comma-separated continuous strings (Dini Argeo, Triner, Selleton, XK31xx, CAS
//! AND-mode) and the A&D standard format (devices.md §1.5):
//!
//! ```text
//! frame  := [addr2] status "," [mode ","] [sign] weight [","] [spaces] unit CR LF
//! status := ST | US | OL | UL | QT (A&D counting)
//! mode   := GS | NT            (absent in the A&D form `ST,+00081.72  g`)
//! ```

use super::framing::{FramerOptions, LineEnd, LineFramer};
use super::reading::{
    parse_weight_number, show_bytes, FrameError, ScaleCondition, WeightReading, WeightUnit,
};

const PROTOCOL: &str = "generic";

/// A line framer for generic strings (`<CR><LF>`, tolerating a bare `<LF>`).
pub fn framer(options: FramerOptions) -> LineFramer {
    LineFramer::new(options, LineEnd::Lf)
}

/// A parsed generic frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenericFrame {
    /// The normalised reading.
    pub reading: WeightReading,
    /// The 2-character RS-485 address prefix, when present.
    pub address: Option<String>,
}

fn status_of(bytes: &[u8]) -> Option<(ScaleCondition, bool)> {
    match bytes {
        b"ST" | b"QT" => Some((ScaleCondition::Ok, true)),
        b"US" => Some((ScaleCondition::Ok, false)),
        b"OL" => Some((ScaleCondition::Overload, false)),
        b"UL" => Some((ScaleCondition::Underload, false)),
        _ => None,
    }
}

/// Parses one line (without `<CR><LF>`; a trailing one is tolerated).
pub fn parse_frame(line: &[u8]) -> Result<GenericFrame, FrameError> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = std::str::from_utf8(line)
        .ok()
        .filter(|t| t.is_ascii())
        .ok_or_else(|| {
            FrameError::new(PROTOCOL, "line", format!("not ASCII: {}", show_bytes(line)))
        })?;
    let bytes = text.as_bytes();
    let header_at = |i: usize| {
        bytes
            .get(i..i + 3)
            .filter(|h| h.get(2) == Some(&b','))
            .and_then(|h| status_of(h.get(..2).unwrap_or(&[])))
    };
    let (address, (condition, stable), rest) = if let Some(s) = header_at(0) {
        (None, s, text.get(3..).unwrap_or(""))
    } else if let Some(s) = header_at(2) {
        (
            Some(text.get(..2).unwrap_or("").to_string()),
            s,
            text.get(5..).unwrap_or(""),
        )
    } else {
        return Err(FrameError::new(
            PROTOCOL,
            "status",
            format!(
                "`{}` does not start with ST, US, OL, UL or QT and a comma",
                text.escape_debug()
            ),
        ));
    };
    let (net, rest) = match rest.get(..3) {
        Some("GS,") => (Some(false), rest.get(3..).unwrap_or("")),
        Some("NT,") => (Some(true), rest.get(3..).unwrap_or("")),
        Some("VL,") | Some("RZ,") => {
            return Err(FrameError::new(
                PROTOCOL,
                "mode",
                "VL/RZ (microvolts / converter points) are not weights",
            ))
        }
        _ => (None, rest),
    };
    // Weight: sign, spaces, digits and '.'; then optional ',' and spaces; then the unit.
    let number_end = rest
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '+' | '-' | ' ')))
        .unwrap_or(rest.len());
    let number = rest.get(..number_end).unwrap_or("");
    let after = rest.get(number_end..).unwrap_or("");
    let unit_text = after.strip_prefix(',').unwrap_or(after).trim_matches(' ');
    let overload_like = matches!(
        condition,
        ScaleCondition::Overload | ScaleCondition::Underload
    );
    if !overload_like
        && (unit_text.is_empty() || !unit_text.bytes().all(|b| b.is_ascii_alphabetic()))
    {
        return Err(FrameError::new(
            PROTOCOL,
            "unit",
            format!("`{}` is not a unit", unit_text.escape_debug()),
        ));
    }
    let value = if overload_like {
        // `OL,GS,+9999.999kg` / `OL,+9999999E+19`: the number is meaningless.
        None
    } else {
        Some(parse_weight_number(number).map_err(|r| FrameError::new(PROTOCOL, "weight", r))?)
    };
    let unit = if unit_text.bytes().all(|b| b.is_ascii_alphabetic()) {
        WeightUnit::from_wire(unit_text)
    } else {
        WeightUnit::Other(String::new())
    };
    Ok(GenericFrame {
        reading: WeightReading {
            value,
            unit,
            stable,
            net,
            condition,
            tare: None,
        },
        address,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::scale::framing::Framer;
    use rust_decimal::Decimal;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn reading(line: &[u8]) -> WeightReading {
        parse_frame(line).unwrap().reading
    }

    #[test]
    fn a_stable_gross_generic_string_reads_1_234_kg() {
        let bytes = [
            0x53, 0x54, 0x2C, 0x47, 0x53, 0x2C, 0x2B, 0x30, 0x30, 0x30, 0x31, 0x2E, 0x32, 0x33,
            0x34, 0x6B, 0x67, 0x0D, 0x0A,
        ];
        let mut f = framer(FramerOptions::default());
        f.push(&bytes);
        let r = reading(&f.next_frame().unwrap());
        assert_eq!(r.value, Some(d("1.234")));
        assert_eq!(r.unit, WeightUnit::Kg);
        assert!(r.stable);
        assert_eq!(r.net, Some(false));
    }

    #[test]
    fn a_net_negative_string_in_motion_parses() {
        let r = reading(b"US,NT,-0000.120kg\r\n");
        assert_eq!(r.value, Some(d("-0.120")));
        assert!(!r.stable);
        assert_eq!(r.net, Some(true));
    }

    #[test]
    fn overload_and_underload_carry_no_number() {
        let r = reading(b"OL,GS,+9999.999kg");
        assert_eq!(r.condition, ScaleCondition::Overload);
        assert_eq!(r.value, None);
        assert_eq!(
            reading(b"UL,GS,-0000.000kg").condition,
            ScaleCondition::Underload
        );
        assert_eq!(
            reading(b"OL,+9999999E+19").condition,
            ScaleCondition::Overload
        );
    }

    #[test]
    fn the_dini_form_with_a_comma_before_the_unit_parses() {
        let r = reading(b"ST,GS,   1.234,kg");
        assert_eq!(r.value, Some(d("1.234")));
        assert_eq!(r.unit, WeightUnit::Kg);
    }

    #[test]
    fn lower_and_mixed_case_units_are_recognised() {
        assert_eq!(reading(b"ST,GS,+0001.234Kg").unit, WeightUnit::Kg);
        assert_eq!(reading(b"ST,GS,+0001.234 LB").unit, WeightUnit::Lb);
        assert_eq!(reading(b"ST,GS,+0001.234 g").unit, WeightUnit::G);
    }

    #[test]
    fn a_485_address_prefix_is_split_off() {
        let f = parse_frame(b"01ST,GS,   1.234,kg").unwrap();
        assert_eq!(f.address.as_deref(), Some("01"));
        assert_eq!(f.reading.value, Some(d("1.234")));
    }

    #[test]
    fn the_a_and_d_form_without_mode_parses() {
        let r = reading(b"ST,+00081.72  g\r\n");
        assert_eq!(r.value, Some(d("81.72")));
        assert_eq!(r.unit, WeightUnit::G);
        assert_eq!(r.net, None);
        let q = reading(b"QT,+00000012 PC");
        assert_eq!(q.unit, WeightUnit::Other("PC".into()));
    }

    #[test]
    fn malformed_strings_name_the_field() {
        assert_eq!(parse_frame(b"XX,GS,+1kg").unwrap_err().field, "status");
        assert_eq!(parse_frame(b"ST,GS,+1.2.3kg").unwrap_err().field, "weight");
        assert_eq!(parse_frame(b"ST,GS,+1.23").unwrap_err().field, "unit");
        assert_eq!(parse_frame(b"ST,VL,+1.23mv").unwrap_err().field, "mode");
        assert_eq!(parse_frame(b"ST,GS,+1.23k\xffg").unwrap_err().field, "line");
    }
}
