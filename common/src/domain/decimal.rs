//! `Dec`: an exact decimal that survives every serialisation we use.
//!
//! rust_decimal's own serde impl does not round-trip through postcard (stack-facts.md), and
//! floats are never acceptable for stock. `Dec` serialises as a string ("12.500") in
//! human-readable formats (JSON, TOML) and as `(mantissa: i128, scale: u8)` in binary formats
//! (postcard), so the wire keeps the exact value, including its scale.
//!
//! Values are bounded: at most [`Dec::MAX_SCALE`] decimal places and an absolute value below
//! [`Dec::MAX_ABS`]. That keeps sums of many quantities far from rust_decimal's overflow.

use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Why a number is not an acceptable decimal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecError {
    /// Not a decimal number at all.
    #[error("{text:?} is not a decimal number")]
    NotANumber {
        /// The text that failed to parse.
        text: String,
    },
    /// Too many decimal places.
    #[error("{value} has {scale} decimal places; at most {max} are allowed")]
    TooManyDecimals {
        /// The value.
        value: String,
        /// Its scale.
        scale: u32,
        /// The maximum.
        max: u32,
    },
    /// Too large in absolute value.
    #[error("{value} is too large; the absolute value must be below 1000000000000")]
    TooLarge {
        /// The value.
        value: String,
    },
    /// A binary encoding whose mantissa or scale is out of range.
    #[error("mantissa {mantissa} with scale {scale} is not a valid decimal")]
    BadEncoding {
        /// The mantissa.
        mantissa: i128,
        /// The scale.
        scale: u8,
    },
    /// A value that must be positive was zero or negative.
    #[error("{value} must be greater than zero")]
    NotPositive {
        /// The value.
        value: String,
    },
    /// A value that must not be negative was negative.
    #[error("{value} must not be negative")]
    Negative {
        /// The value.
        value: String,
    },
}

/// An exact, bounded decimal.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Dec(Decimal);

impl Dec {
    /// The most decimal places a value may carry.
    pub const MAX_SCALE: u32 = 6;
    /// Exclusive bound on the absolute value: 10^12.
    pub const MAX_ABS: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, 0);
    /// Zero.
    pub const ZERO: Dec = Dec(Decimal::ZERO);
    /// One.
    pub const ONE: Dec = Dec(Decimal::ONE);

    /// Checks the bounds and wraps `value`.
    pub fn new(value: Decimal) -> Result<Self, DecError> {
        if value.scale() > Self::MAX_SCALE {
            let trimmed = value.normalize();
            if trimmed.scale() > Self::MAX_SCALE {
                return Err(DecError::TooManyDecimals {
                    value: value.to_string(),
                    scale: value.scale(),
                    max: Self::MAX_SCALE,
                });
            }
            return Self::new(trimmed);
        }
        if value.abs() >= Self::MAX_ABS {
            return Err(DecError::TooLarge {
                value: value.to_string(),
            });
        }
        Ok(Self(value))
    }

    /// An integer value (always in range for the integers we use as counts).
    pub fn from_int(value: i64) -> Result<Self, DecError> {
        Self::new(Decimal::from(value))
    }

    /// The underlying decimal.
    pub fn get(self) -> Decimal {
        self.0
    }

    /// True when the value is below zero.
    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    /// True when the value is zero.
    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// Exact sum, or `None` when it leaves the bounds.
    pub fn checked_add(self, other: Dec) -> Option<Dec> {
        self.0.checked_add(other.0).and_then(|v| Dec::new(v).ok())
    }

    /// Exact difference, or `None` when it leaves the bounds.
    pub fn checked_sub(self, other: Dec) -> Option<Dec> {
        self.0.checked_sub(other.0).and_then(|v| Dec::new(v).ok())
    }

    /// Exact product, or `None` when it leaves the bounds or needs more than `MAX_SCALE` places.
    pub fn checked_mul(self, other: Dec) -> Option<Dec> {
        self.0.checked_mul(other.0).and_then(|v| Dec::new(v).ok())
    }

    /// The value with trailing zeros removed, for display and comparison of text.
    pub fn normalized(self) -> Dec {
        Dec(self.0.normalize())
    }

    /// `(mantissa, scale)`: the binary wire form.
    pub fn to_parts(self) -> (i128, u8) {
        // The scale is at most MAX_SCALE (6), so it always fits in a u8.
        (self.0.mantissa(), self.0.scale() as u8)
    }

    /// Rebuilds a value from its binary wire form, checking every bound.
    pub fn from_parts(mantissa: i128, scale: u8) -> Result<Self, DecError> {
        if u32::from(scale) > Self::MAX_SCALE {
            return Err(DecError::BadEncoding { mantissa, scale });
        }
        let value = Decimal::try_from_i128_with_scale(mantissa, u32::from(scale))
            .map_err(|_| DecError::BadEncoding { mantissa, scale })?;
        Self::new(value)
    }
}

impl std::ops::Neg for Dec {
    type Output = Dec;
    /// Negation never leaves the bounds, which are symmetric around zero.
    fn neg(self) -> Dec {
        Dec(-self.0)
    }
}

impl FromStr for Dec {
    type Err = DecError;
    fn from_str(text: &str) -> Result<Self, DecError> {
        let trimmed = text.trim();
        // rust_decimal accepts forms we do not want in a quantity field: exponents, '_' separators.
        let plain = !trimmed.is_empty()
            && trimmed
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'+');
        if !plain {
            return Err(DecError::NotANumber {
                text: text.to_string(),
            });
        }
        let value = Decimal::from_str_exact(trimmed).map_err(|_| DecError::NotANumber {
            text: text.to_string(),
        })?;
        Dec::new(value)
    }
}

impl fmt::Display for Dec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Dec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dec({})", self.0)
    }
}

impl Serialize for Dec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.collect_str(&self.0)
        } else {
            self.to_parts().serialize(serializer)
        }
    }
}

impl<'de> Deserialize<'de> for Dec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let text = String::deserialize(deserializer)?;
            Dec::from_str(&text).map_err(D::Error::custom)
        } else {
            let (mantissa, scale) = <(i128, u8)>::deserialize(deserializer)?;
            Dec::from_parts(mantissa, scale).map_err(D::Error::custom)
        }
    }
}

macro_rules! checked_dec {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "Dec", into = "Dec")]
        pub struct $name(Dec);

        impl $name {
            /// Checks and wraps `value`.
            pub fn new(value: Dec) -> Result<Self, DecError> {
                let check: fn(Dec) -> Result<(), DecError> = $check;
                check(value)?;
                Ok(Self(value))
            }

            /// The value as a `Dec`.
            pub fn get(self) -> Dec {
                self.0
            }
        }

        impl TryFrom<Dec> for $name {
            type Error = DecError;
            fn try_from(value: Dec) -> Result<Self, DecError> {
                Self::new(value)
            }
        }

        impl From<$name> for Dec {
            fn from(value: $name) -> Dec {
                value.0
            }
        }

        impl FromStr for $name {
            type Err = DecError;
            fn from_str(text: &str) -> Result<Self, DecError> {
                Self::new(Dec::from_str(text)?)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

checked_dec!(
    /// A quantity of stock that moves: strictly positive, in the item's base unit (each).
    Qty,
    |v| {
        if v.is_negative() || v.is_zero() {
            Err(DecError::NotPositive { value: v.to_string() })
        } else {
            Ok(())
        }
    }
);

checked_dec!(
    /// A quantity that may be zero but never negative (a counted quantity, a picked amount).
    NonNegQty,
    |v| {
        if v.is_negative() {
            Err(DecError::Negative { value: v.to_string() })
        } else {
            Ok(())
        }
    }
);

impl NonNegQty {
    /// Zero.
    pub const ZERO: NonNegQty = NonNegQty(Dec::ZERO);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Dec {
        match Dec::from_str(text) {
            Ok(d) => d,
            Err(e) => panic!("{text}: {e}"),
        }
    }

    #[test]
    fn max_abs_is_ten_to_the_twelfth() {
        assert_eq!(Dec::MAX_ABS, Decimal::from(1_000_000_000_000_i64));
    }

    #[test]
    fn a_decimal_keeps_its_exact_value_and_scale_through_postcard() -> Result<(), postcard::Error> {
        let value = dec("12345.678");
        let bytes = postcard::to_allocvec(&value)?;
        let back: Dec = postcard::from_bytes(&bytes)?;
        assert_eq!(back.to_string(), "12345.678");
        assert_eq!(back.get().scale(), 3);
        Ok(())
    }

    #[test]
    fn a_decimal_is_a_json_string_never_a_json_number() -> Result<(), serde_json::Error> {
        assert_eq!(serde_json::to_string(&dec("0.350"))?, "\"0.350\"");
        assert!(serde_json::from_str::<Dec>("0.35").is_err());
        Ok(())
    }

    #[test]
    fn exponents_separators_and_empty_text_are_not_numbers() {
        for bad in ["1e3", "1_000", "", " ", "abc", "1.2.3", "NaN"] {
            assert!(Dec::from_str(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn too_many_decimals_and_too_large_values_are_rejected_with_the_reason() {
        assert_eq!(
            Dec::from_str("0.0000001").err().map(|e| e.to_string()),
            Some("0.0000001 has 7 decimal places; at most 6 are allowed".to_string())
        );
        assert!(matches!(
            Dec::from_str("1000000000000"),
            Err(DecError::TooLarge { .. })
        ));
        assert!(Dec::from_str("999999999999.999999").is_ok());
        // Trailing zeros beyond the limit are harmless.
        assert_eq!(dec("1.50000000").to_string(), "1.5");
    }

    #[test]
    fn a_binary_encoding_with_an_out_of_range_scale_is_rejected() {
        assert!(Dec::from_parts(1, 7).is_err());
        assert!(Dec::from_parts(i128::MAX, 0).is_err());
        assert_eq!(
            Dec::from_parts(-120, 3).map(|d| d.to_string()),
            Ok("-0.120".to_string())
        );
    }

    #[test]
    fn a_moving_quantity_must_be_positive() {
        assert!(Qty::from_str("0").is_err());
        assert!(Qty::from_str("-1").is_err());
        assert_eq!(
            Qty::from_str("2.5").map(|q| q.to_string()),
            Ok("2.5".to_string())
        );
        assert!(NonNegQty::from_str("0").is_ok());
        assert!(NonNegQty::from_str("-0.001").is_err());
    }

    #[test]
    fn a_zero_quantity_is_rejected_when_decoded_from_the_wire() -> Result<(), postcard::Error> {
        let bytes = postcard::to_allocvec(&Dec::ZERO)?;
        assert!(postcard::from_bytes::<Qty>(&bytes).is_err());
        Ok(())
    }
}
