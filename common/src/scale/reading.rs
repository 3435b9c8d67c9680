//! The normalised weight reading every scale protocol parses into, plus exact unit conversion.

use rust_decimal::Decimal;

/// The unit a scale reported its weight in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum WeightUnit {
    /// Gram.
    G,
    /// Kilogram.
    Kg,
    /// Avoirdupois pound (exactly 0.45359237 kg).
    Lb,
    /// Avoirdupois ounce (exactly 0.028349523125 kg).
    Oz,
    /// Metric tonne (1000 kg).
    T,
    /// Anything else the device sent (`mg`, `ct`, `pcs`, or no unit at all), kept verbatim.
    Other(String),
}

impl WeightUnit {
    /// Maps a unit text from the wire to a unit, case-insensitively for the known metric/imperial
    /// units (`Kg`, `KG`, `LB` are common on indicators). Surrounding spaces are ignored.
    pub fn from_wire(text: &str) -> Self {
        let t = text.trim();
        match t.to_ascii_lowercase().as_str() {
            "g" => Self::G,
            "kg" => Self::Kg,
            "lb" | "lbs" => Self::Lb,
            "oz" => Self::Oz,
            "t" => Self::T,
            _ => Self::Other(t.to_string()),
        }
    }

    /// How many kilograms one of this unit is, exactly; `None` for [`WeightUnit::Other`].
    pub fn kg_factor(&self) -> Option<Decimal> {
        match self {
            Self::G => Some(Decimal::new(1, 3)),
            Self::Kg => Some(Decimal::ONE),
            Self::Lb => Some(Decimal::new(45_359_237, 8)),
            Self::Oz => Some(Decimal::new(28_349_523_125, 12)),
            Self::T => Some(Decimal::new(1000, 0)),
            Self::Other(_) => None,
        }
    }

    /// The conventional symbol (`g`, `kg`, `lb`, `oz`, `t`) or the verbatim text of `Other`.
    pub fn symbol(&self) -> &str {
        match self {
            Self::G => "g",
            Self::Kg => "kg",
            Self::Lb => "lb",
            Self::Oz => "oz",
            Self::T => "t",
            Self::Other(s) => s,
        }
    }
}

/// Where a device error was raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceErrorSource {
    /// MT-SICS trigger `b`: the weigh module / load cell.
    WeighModule,
    /// MT-SICS trigger `t`: the terminal.
    Terminal,
    /// NCI status: RAM error.
    Ram,
    /// NCI status: ROM error.
    Rom,
    /// NCI status: EEPROM error.
    Eeprom,
    /// NCI status: faulty calibration.
    Calibration,
}

/// What state the scale reported, beyond the weight itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScaleCondition {
    /// A usable weight.
    Ok,
    /// Weighing range exceeded.
    Overload,
    /// Below the weighing range (e.g. pan removed).
    Underload,
    /// Out of range, and the protocol does not say which side (Toledo SWB bit 2).
    OutOfRange,
    /// Zero error / initial zero error (NCI `----`, NCI status byte 3 bit 3).
    ZeroError,
    /// The scale has not been zeroed since power-up (Toledo SWB bit 6): the value is not trustworthy.
    NotZeroedSincePowerUp,
    /// A device error in place of the weight. `code` is the protocol's error number (0 when the
    /// protocol only reports a flag).
    DeviceError {
        /// Protocol error number (MT-SICS `Error <code><b|t>`), 0 for flag-only protocols.
        code: u16,
        /// Which part of the device raised it.
        source: DeviceErrorSource,
    },
}

/// One weight reading, normalised across protocols.
///
/// A negative `value` is a valid reading (net weight after tare); only the protocol's own
/// range/error flags make a reading unusable, and those are in `condition` with `value = None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightReading {
    /// The weight, `None` for overload/underload/error frames.
    pub value: Option<Decimal>,
    /// Unit of `value` and `tare`.
    pub unit: WeightUnit,
    /// True when the protocol's stability flag says so (not "N equal frames": see `Stability`).
    pub stable: bool,
    /// `Some(true)` net, `Some(false)` gross, `None` when the protocol does not say.
    pub net: Option<bool>,
    /// Range / error state.
    pub condition: ScaleCondition,
    /// Tare weight, when the protocol reports one.
    pub tare: Option<Decimal>,
}

impl WeightReading {
    /// A usable reading (condition `Ok` and a value).
    pub fn is_usable(&self) -> bool {
        self.condition == ScaleCondition::Ok && self.value.is_some()
    }

    /// The value converted to kilograms, exactly (no rounding).
    pub fn value_kg(&self) -> Result<Decimal, ConversionError> {
        let value = self.value.ok_or(ConversionError::NoValue)?;
        to_kg(value, &self.unit)
    }

    /// The tare converted to kilograms, exactly.
    pub fn tare_kg(&self) -> Result<Decimal, ConversionError> {
        let tare = self.tare.ok_or(ConversionError::NoValue)?;
        to_kg(tare, &self.unit)
    }
}

/// Why a weight could not be converted to kilograms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConversionError {
    /// The reading carries no value (overload, error, …).
    #[error("weight value: absent (the reading is an overload/underload/error frame)")]
    NoValue,
    /// The unit is not a mass unit we know.
    #[error("weight unit: `{0}` has no known conversion to kg")]
    UnknownUnit(String),
    /// The exact product does not fit a `Decimal` (28 significant digits).
    #[error("weight value: the exact kg value does not fit 28 significant digits")]
    Inexact,
}

/// Converts `value` in `unit` to kilograms without rounding.
pub fn to_kg(value: Decimal, unit: &WeightUnit) -> Result<Decimal, ConversionError> {
    let factor = unit
        .kg_factor()
        .ok_or_else(|| ConversionError::UnknownUnit(unit.symbol().to_string()))?;
    exact_mul(value, factor).ok_or(ConversionError::Inexact)
}

/// Multiplies two decimals and returns `None` instead of rounding when the exact product does not
/// fit (rust_decimal's own `*` silently rounds beyond 28 digits).
pub fn exact_mul(a: Decimal, b: Decimal) -> Option<Decimal> {
    let mut mantissa = a.mantissa().checked_mul(b.mantissa())?;
    let mut scale = a.scale() + b.scale();
    loop {
        if scale <= Decimal::MAX_SCALE {
            if let Ok(d) = Decimal::try_from_i128_with_scale(mantissa, scale) {
                return Some(d.normalize());
            }
        }
        if scale > 0 && mantissa % 10 == 0 {
            mantissa /= 10;
            scale -= 1;
        } else {
            return None;
        }
    }
}

/// Parses a weight number as scales send it: optional sign, digits, at most one decimal point,
/// surrounding spaces allowed, spaces between sign and digits allowed (`-  1.5`). No exponent, no
/// underscores. Returns a reason text on failure (callers wrap it into their field error).
pub(crate) fn parse_weight_number(text: &str) -> Result<Decimal, String> {
    let t = text.trim_matches(' ');
    let (negative, rest) = match t.as_bytes().first() {
        Some(b'-') => (true, t.get(1..).unwrap_or("").trim_start_matches(' ')),
        Some(b'+') => (false, t.get(1..).unwrap_or("").trim_start_matches(' ')),
        _ => (false, t),
    };
    if rest.is_empty() {
        return Err(format!("`{text}` holds no digits"));
    }
    let mut digits = 0usize;
    let mut points = 0usize;
    for b in rest.bytes() {
        match b {
            b'0'..=b'9' => digits += 1,
            b'.' => points += 1,
            _ => return Err(format!("`{}` is not a decimal number", text.escape_debug())),
        }
    }
    if digits == 0 || points > 1 {
        return Err(format!("`{}` is not a decimal number", text.escape_debug()));
    }
    if digits > 28 {
        return Err(format!("`{text}` has more than 28 digits"));
    }
    let s = rest.strip_suffix('.').unwrap_or(rest);
    let s = if let Some(frac) = s.strip_prefix('.') {
        format!("0.{frac}")
    } else {
        s.to_string()
    };
    let d = Decimal::from_str_exact(&s).map_err(|e| format!("`{text}`: {e}"))?;
    Ok(if negative { -d } else { d })
}

/// A field of a scale frame that failed to parse, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{protocol} frame: field `{field}`: {reason}")]
pub struct FrameError {
    /// Protocol name (`mt-sics`, `toledo`, …).
    pub protocol: &'static str,
    /// The field that failed (`weight`, `status`, `checksum`, …).
    pub field: &'static str,
    /// Why.
    pub reason: String,
}

impl FrameError {
    pub(crate) fn new(
        protocol: &'static str,
        field: &'static str,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            protocol,
            field,
            reason: reason.into(),
        }
    }
}

/// Renders bytes for error messages: printable ASCII as is, the rest as `\xNN`.
pub(crate) fn show_bytes(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap_or_default()
    }

    #[test]
    fn pounds_convert_to_kilograms_exactly() {
        assert_eq!(to_kg(d("12.34"), &WeightUnit::Lb), Ok(d("5.5973298458")));
        assert_eq!(to_kg(d("1"), &WeightUnit::Oz), Ok(d("0.028349523125")));
        assert_eq!(to_kg(d("1500"), &WeightUnit::G), Ok(d("1.5")));
        assert_eq!(to_kg(d("-0.5"), &WeightUnit::T), Ok(d("-500")));
    }

    #[test]
    fn an_unknown_unit_has_no_kilogram_value() {
        let unit = WeightUnit::from_wire("ct");
        assert_eq!(
            to_kg(d("1"), &unit),
            Err(ConversionError::UnknownUnit("ct".into()))
        );
    }

    #[test]
    fn a_product_that_would_need_rounding_is_refused() {
        let huge = d("1234567890123456789.123456789");
        assert_eq!(to_kg(huge, &WeightUnit::Oz), Err(ConversionError::Inexact));
    }

    #[test]
    fn unit_text_is_matched_case_insensitively() {
        assert_eq!(WeightUnit::from_wire("Kg"), WeightUnit::Kg);
        assert_eq!(WeightUnit::from_wire(" LB"), WeightUnit::Lb);
        assert_eq!(WeightUnit::from_wire("mg"), WeightUnit::Other("mg".into()));
    }

    #[test]
    fn frame_errors_name_the_protocol_the_field_and_the_reason() {
        let e = crate::scale::toledo::parse_frame(b"\x02-0 0123x5000000\r").unwrap_err();
        assert_eq!(
            e.to_string(),
            "toledo frame: field `weight`: `0123x5` is not 6 digits"
        );
        let e = crate::scale::cas::parse_ecr_frame(b"\x02S 01.234kgf\x03\x04").unwrap_err();
        assert_eq!(
            e.to_string(),
            "cas-ecr frame: field `bcc`: received 0x66, computed 0x65"
        );
    }

    #[test]
    fn weight_numbers_accept_signs_spaces_and_a_single_point_only() {
        assert_eq!(parse_weight_number("   -12.345"), Ok(d("-12.345")));
        assert_eq!(parse_weight_number("+0001.234"), Ok(d("1.234")));
        assert_eq!(parse_weight_number("-  1.5"), Ok(d("-1.5")));
        assert_eq!(parse_weight_number(".5"), Ok(d("0.5")));
        assert!(parse_weight_number("1.2.3").is_err());
        assert!(parse_weight_number("1e5").is_err());
        assert!(parse_weight_number("1_000").is_err());
        assert!(parse_weight_number("-").is_err());
        assert!(parse_weight_number("").is_err());
    }
}
